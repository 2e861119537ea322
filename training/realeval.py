"""`malsori evaluate --data DIR` on a real-voice set (`malsori make-realset`, training/realset.py).

Per split: the median 0–100 score per kind of pair; ROC AUC of correct vs other item, vs one
edit, vs two edits; top-1 (each take against every espeak-ng reference of its group: does its
own text come out closest?); a row per language and per source; the MFCC-DTW baseline beside
the model. Outputs: a markdown table (printed and written to real_voices.md), metrics.json,
score_histograms.png and pair_scores.csv (every pair's distance and score per method and term,
to fit a calibration on).

AUC and top-1 rank pairs by their distance, so they measure whether the model can *tell*
right from wrong in these voices whatever its calibration; the medians show what a learner
would see (0–100). Both use only espeak-ng references (the same voice on both sides of the
comparison); festival's correct references appear as a median of their own. The model's
scores go through `Scorer.score_pair`, the kiosk's path. MFCC-DTW has no calibration of its own:
its scores use one fitted on this set's train split (correct vs one edit, as `evaluate` does on
the synthetic val split), so its medians are favoured, its AUC and top-1 are not.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .dataset import PairRecord, load_images
from .realset import KINDS, SPLITS, read_pairs
from .metrics import auc

METHODS = ("malsori model", "MFCC-DTW")
NO_TEXT = "malsori model, text unknown"  # the same pairs not told the text (`score REF ATT`); evaluate's too
PER_PAIR_FIELDS = ("reference", "attempt", "kind", "lang", "source", "speaker", "group", "split", "ref_voice")
N_EDITS = {"correct": 0, "correct_narrow": 0, "edit1": 1, "edit2": 2, "other": -1}


@dataclass
class Pair:
    """One row of pairs.csv, with absolute paths and the scores of each method."""

    row: dict
    reference: str
    attempt: str

    @property
    def espeak_ref(self) -> bool:
        return self.row["ref_voice"].startswith("espeak-ng")


def read_real_pairs(data: str | Path) -> list[Pair]:
    """A make-realset folder's pairs.csv rows as Pairs with absolute paths."""
    data = Path(data)
    return [Pair(r, str(data / r["reference"]), str(data / r["attempt"])) for r in read_pairs(data)]


def pair_record(p: Pair) -> PairRecord:
    """The pair as a training.dataset PairRecord (target 1 for correct takes, 0 otherwise)."""
    kind = p.row["kind"]
    return PairRecord(reference=p.reference, attempt=p.attempt, target=1.0 if kind.startswith("correct") else 0.0,
                      kind=kind, n_edits=N_EDITS.get(kind, -1), word=p.row["text"], voice=p.row["ref_voice"],
                      split=p.row["split"], snr_db=None, gain_db=0.0)


def reference_phonemes(pair, row: dict) -> tuple[str, ...] | None:
    """The phonemes the pair's reference says, in the pair scorer's symbols: espeak-ng's of its
    text in its voice (the language's voice for another engine) with the reference's edits;
    None where a sound has no symbol (the pair is then scored as without a text)."""
    from core.espeak import espeak_voice

    known = pair.text_symbols()
    if known is None:
        return None
    engine, _, voice = row["ref_voice"].partition(":")
    voice = voice if engine == "espeak-ng" else espeak_voice(row["lang"])
    return _said(row["ref_text"], row["lang"], voice, row["edits"], known)


@lru_cache(maxsize=None)
def _said(text: str, lang: str, voice: str, edits: str, known: frozenset) -> tuple[str, ...] | None:
    from models.text_phonemes import map_symbols, text_items

    from .phoneme_edits import Edit, apply_edits, parse_edits

    items = text_items(text, lang=lang, voice=voice)
    if items is None:
        return None
    if edits:
        items = apply_edits(list(items), [Edit(pos, old, new, "") for old, new, pos in parse_edits(edits)])
    return map_symbols(items, set(known), lang=lang)[0]


def check_val_split(data: str | Path) -> None:
    """A RealsetError unless the set's val split has right takes against espeak-ng references,
    one-edit and other-item pairs: what `train --real-val` ranks (real_metrics' AUCs)."""
    from core.errors import RealsetError

    kinds = {p.row["kind"] for p in read_real_pairs(data) if p.row["split"] == "val"
             and (p.espeak_ref or p.row["kind"] != "correct")}
    missing = sorted({"correct", "edit1", "other"} - kinds)
    if missing:
        raise RealsetError(f"{data}: its val split has no {', '.join(missing)} pairs against espeak-ng references; "
                           "--real-val ranks those (rebuild it with `malsori make-realset`)")


def features_once(pair, images: dict):
    """path → the pair scorer's network outputs of that file's image, made once however many
    pairs the file is in."""
    from .dataset import image_utterance

    made: dict = {}

    def features(path: str):
        if path not in made:
            made[path] = pair.features(image_utterance(images[path]))
        return made[path]

    return features


def realset_images(data: str | Path, cfg, *, jobs: int = 2, progress: bool = True) -> dict:
    """Every file of the set preprocessed with `cfg`, whichever split a command needs: one image
    cache per front end in the set's folder (a cache per split and command used to pile up,
    ~100–200 MB each)."""
    every = read_real_pairs(data)
    return load_images([pair_record(p) for p in every], cfg, cache_dir=Path(data), jobs=jobs, progress=progress)


def split_terms(pair, data: str | Path, split: str, cfg, *, jobs: int = 2,
                progress: bool = True) -> tuple[list[dict], dict[str, np.ndarray]]:
    """Every term of the pair formula (models.pair) for each pair of one split, told the text as
    `evaluate` scores them: (pairs.csv rows, one array per term). What `train --real-val` fits
    the term weights on. cfg: the model's front end (images are cached in the set's folder)."""
    pairs = [p for p in read_real_pairs(data) if p.row["split"] == split]
    images = realset_images(data, cfg, jobs=jobs, progress=progress)
    pairs = [p for p in pairs if p.reference in images and p.attempt in images]
    if not pairs:
        from core.errors import ManifestError

        raise ManifestError(f"{data}: no usable pairs in its {split} split")
    f = features_once(pair, images)
    rows = [pair.terms(f(p.reference), f(p.attempt), reference_phonemes(pair, p.row)) for p in pairs]
    return [p.row for p in pairs], {name: np.array([r[name] for r in rows]) for name in rows[0]}


# ----------------------------------------------------------------------------- metrics (pure)


def real_metrics(rows: list[dict], scores: np.ndarray, distances: np.ndarray) -> dict:
    """Metrics of one method on some pairs.

    rows: pairs.csv rows; scores: 0–100 per row; distances: per row (lower = closer).
    AUC and top-1 use espeak-ng references only and rank by −distance.
    """
    kind = np.array([r["kind"] for r in rows])
    espeak = np.array([r["ref_voice"].startswith("espeak-ng") for r in rows])
    closeness = -np.asarray(distances, float)
    out: dict = {"pairs": len(rows), "takes": len({r["group"] for r in rows})}
    for k in KINDS:
        mask = kind == k
        if k == "correct":
            out["median_correct_festival"] = _median(scores[mask & ~espeak])
            mask = mask & espeak
        out[f"median_{k}"] = _median(scores[mask])
        out[f"median_distance_{k}"] = _median(np.asarray(distances, float)[mask])  # where a calibration must sit
    pos = closeness[(kind == "correct") & espeak]
    for k in ("other", "edit1", "edit2"):
        out[f"auc_{k}"] = auc(pos, closeness[kind == k])
    out["auc_narrow_vs_other"] = auc(closeness[kind == "correct_narrow"], closeness[kind == "other"])
    out.update(top1(rows, distances))
    return out


def top1(rows: list[dict], distances: np.ndarray) -> dict:
    """Share of takes whose own text's espeak-ng reference is strictly closest among the group's
    espeak-ng references (own text, other items, edits); takes without a wrong reference are not counted."""
    groups: dict[str, list[tuple[str, float]]] = {}
    for r, d in zip(rows, distances):
        if r["ref_voice"].startswith("espeak-ng") and r["kind"] != "correct_narrow":
            groups.setdefault(r["group"], []).append((r["kind"], float(d)))
    hits = n = 0
    refs = []
    for members in groups.values():
        right = [d for k, d in members if k == "correct"]
        wrong = [d for k, d in members if k != "correct"]
        if not right or not wrong:
            continue
        n += 1
        refs.append(len(members))
        hits += right[0] < min(wrong)
    return {"top1": hits / n if n else math.nan, "top1_takes": n,
            "top1_refs": float(np.mean(refs)) if refs else math.nan}


def _median(x: np.ndarray) -> float:
    return float(np.median(x)) if len(x) else math.nan


# ----------------------------------------------------------------------------- the run


def evaluate_realset(
    model_path: Path,
    data: Path,
    out_dir: Path,
    *,
    splits: tuple[str, ...] = SPLITS,
    jobs: int = 2,
    progress: bool = True,
) -> dict:
    """Score every pair of the chosen splits with the model and MFCC-DTW; print and write the tables."""
    from models import Scorer

    started = time.monotonic()
    data = Path(data)
    all_pairs = read_real_pairs(data)
    wanted = [p for p in all_pairs if p.row["split"] in splits or p.row["split"] == "train"]
    scorer = Scorer.from_path(model_path)
    images = realset_images(data, scorer.cfg, jobs=jobs, progress=progress)
    usable = [p for p in wanted if p.reference in images and p.attempt in images]
    refused = {s: sum(1 for p in wanted if p.row["split"] == s) - sum(1 for p in usable if p.row["split"] == s)
               for s in SPLITS}
    dtw_d, dtw_cal = _mfcc_dtw(usable, images, progress=progress)

    f = features_once(scorer.pair, images)
    report, metrics, plotted, per_pair = [], {}, {}, []
    for split in splits:
        pairs = [p for p in usable if p.row["split"] == split]
        if not pairs:
            continue
        rows = [p.row for p in pairs]
        d, s = _split_scores(pairs, scorer, f, dtw_d, dtw_cal, split=split, progress=progress)
        m = {name: real_metrics(rows, s[name], d[name]) for name in d}
        by = metrics_by(rows, s, d)
        per_pair += pair_score_rows(rows, s, d)
        metrics[split] = {"overall": m, **{f"by_{k}": v for k, v in by.items()}, "refused_pairs": refused[split]}
        plotted[split] = (rows, s)
        report.append(split_table(split, rows, m, by, refused=refused[split]))

    info = {"model": str(model_path), "data": str(data), "seconds": round(time.monotonic() - started, 1),
            "dtw_calibration": "train split" if dtw_cal else "none (no train split): MFCC-DTW medians n/a"}
    text = "\n".join([
        f"Real voices: {data} (model {model_path}). AUC and top-1 rank by pair distance, espeak-ng "
        "references only; medians are 0–100 scores (MFCC-DTW's calibrated on the train split).",
        "",
        *report,
        f"Run took {info['seconds'] / 60:.1f} min.",
        "",
    ])
    _write_outputs(out_dir, text=text, metrics={"info": info, **metrics}, per_pair=per_pair, plotted=plotted)
    print(text)
    return {"info": info, **metrics}


def _mfcc_dtw(usable: list[Pair], images: dict, *, progress: bool) -> tuple[dict, object]:
    """MFCC-DTW: distances everywhere (id(pair) → distance), a calibration from the train split
    (None without one; the model brings its own)."""
    from tqdm import tqdm

    from .baselines import mfcc_dtw_distance
    from .metrics import fit_baseline_calibration

    dtw_d = {id(p): mfcc_dtw_distance(images[p.reference], images[p.attempt])
             for p in tqdm(usable, desc="MFCC-DTW", unit="pair", disable=not progress, leave=False)}
    cal_pairs = [p for p in usable if p.row["split"] == "train" and p.espeak_ref
                 and p.row["kind"] in ("correct", "edit1", "edit2", "other")]
    dtw_cal = fit_baseline_calibration([pair_record(p) for p in cal_pairs], [dtw_d[id(p)] for p in cal_pairs],
                                       "MFCC-DTW") if cal_pairs else None
    return dtw_d, dtw_cal


def _split_scores(pairs: list[Pair], scorer, features, dtw_d: dict, dtw_cal, *, split: str,
                  progress: bool) -> tuple[dict, dict]:
    """Per method (and per term of the model's distance): distances and 0–100 scores of the pairs,
    as arrays in their order. features: path → the network outputs of that file."""
    from tqdm import tqdm

    # the model through its one pair formula (models.pair.PairScorer), as the kiosk scores: with
    # the text the reference says (its edits included) beside it; and without, as `score REF ATT`
    model = [scorer.pair.distance(features(p.reference), features(p.attempt), reference_phonemes(scorer.pair, p.row))
             for p in tqdm(pairs, desc=f"model ({split})", unit="pair", disable=not progress, leave=False)]
    no_text = np.array([scorer.pair.distance(features(p.reference), features(p.attempt)).value for p in pairs])
    d = {"malsori model": np.array([r.value for r in model]), NO_TEXT: no_text,
         "MFCC-DTW": np.array([dtw_d[id(p)] for p in pairs])}
    s = {"malsori model": np.array([scorer.pair.score(x) for x in d["malsori model"]]),
         NO_TEXT: np.array([scorer.pair.score(x) for x in no_text]),
         "MFCC-DTW": np.array([dtw_cal.score(x) for x in d["MFCC-DTW"]]) if dtw_cal else
         np.full(len(pairs), math.nan)}
    # each term of the model's distance alone: which part tells right from wrong in these voices
    for term in model[0].terms:
        d[f"model term: {term}"] = np.array([r.terms[term] for r in model])
        s[f"model term: {term}"] = np.full(len(pairs), math.nan)
    return d, s


def metrics_by(rows: list[dict], scores: dict, distances: dict) -> dict:
    """column ("lang", "source") → its value → method → `real_metrics` of those rows."""
    by = {}
    for column in ("lang", "source"):
        by[column] = {}
        for value in sorted({r[column] for r in rows}):
            idx = np.array([r[column] == value for r in rows])
            sub = [r for r, keep in zip(rows, idx) if keep]
            by[column][value] = {name: real_metrics(sub, scores[name][idx], distances[name][idx])
                                 for name in distances}
    return by


def pair_score_rows(rows: list[dict], scores: dict, distances: dict) -> list[dict]:
    """pair_scores.csv rows: each pair's fields, every method's and term's distance, each method's score."""
    return [{**{k: r[k] for k in PER_PAIR_FIELDS}, **{f"{n} distance": f"{distances[n][i]:.5f}" for n in distances},
             **{f"{n} score": f"{scores[n][i]:.3f}" for n in METHODS}} for i, r in enumerate(rows)]


def _write_outputs(out_dir: Path, *, text: str, metrics: dict, per_pair: list[dict], plotted: dict) -> None:
    """real_voices.md, metrics.json, pair_scores.csv (when there are pairs) and score_histograms.png."""
    from core.fileio import atomic_write_json, atomic_write_text

    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / "real_voices.md", text)
    atomic_write_json(out_dir / "metrics.json", _jsonable(metrics))
    if per_pair:
        import csv
        import io

        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(per_pair[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(per_pair)
        atomic_write_text(out_dir / "pair_scores.csv", buf.getvalue())
    plot_histograms(plotted, out_dir / "score_histograms.png")


def _fmt(v, spec: str = "{:.3f}") -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else spec.format(v)


def split_table(split: str, rows: list[dict], m: dict, by: dict, *, refused: int) -> str:
    kinds = {k: sum(r["kind"] == k for r in rows) for k in KINDS}
    langs = sorted({r["lang"] for r in rows})
    lines = [
        f"### Split `{split}`: {len(rows)} pairs from {m['malsori model']['takes']} takes "
        f"({', '.join(f'{k} {v}' for k, v in kinds.items())}); languages {', '.join(langs)}; "
        f"speakers {', '.join(sorted({r['speaker'] for r in rows}))}. "
        f"{refused} pairs left out: the front end refused a file.",
        "",
        "| method | median correct | correct, festival ref | correct, narrow band | other | edit1 | edit2 "
        "| AUC vs other | AUC vs edit1 | AUC vs edit2 | AUC narrow vs other | top-1 |",
        "|---|" + "---|" * 11,
    ]
    for name in m:
        x = m[name]
        lines.append(
            f"| {name} | " + " | ".join(_fmt(x[k], "{:.1f}") for k in (
                "median_correct", "median_correct_festival", "median_correct_narrow", "median_other",
                "median_edit1", "median_edit2"))
            + " | " + " | ".join(_fmt(x[k]) for k in ("auc_other", "auc_edit1", "auc_edit2", "auc_narrow_vs_other"))
            + f" | {_fmt(x['top1'], '{:.0%}')} |")
    lines.append(f"\nTop-1: {m['malsori model']['top1_takes']} takes, each against "
                 f"{_fmt(m['malsori model']['top1_refs'], '{:.1f}')} espeak-ng references on average. "
                 "A `model term` row ranks by that term of the model's distance alone (no score).")
    for column, title in (("lang", "language"), ("source", "source")):
        lines += ["", f"By {title} (model / MFCC-DTW):", "",
                  f"| {title} | takes | median correct | AUC vs other | AUC vs edit1 | AUC vs edit2 | top-1 |",
                  "|---|---|---|---|---|---|---|"]
        for value, mm in by[column].items():
            a, b = mm["malsori model"], mm["MFCC-DTW"]
            cells = [f"{_fmt(a['median_correct'], '{:.1f}')} / {_fmt(b['median_correct'], '{:.1f}')}"]
            cells += [f"{_fmt(a[k])} / {_fmt(b[k])}" for k in ("auc_other", "auc_edit1", "auc_edit2")]
            cells.append(f"{_fmt(a['top1'], '{:.0%}')} / {_fmt(b['top1'], '{:.0%}')}")
            lines.append(f"| {value} | {a['takes']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_histograms(plotted: dict, path: Path) -> None:
    """Score histograms per kind: a row per split, a column per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .figures import save_png

    if not plotted:
        return
    fig, axes = plt.subplots(len(plotted), len(METHODS), figsize=(5.5 * len(METHODS), 3.6 * len(plotted)),
                             squeeze=False)
    bins = np.linspace(0, 100, 26)
    for row, (split, (rows, scores)) in zip(axes, plotted.items()):
        kind = np.array([r["kind"] for r in rows])
        for ax, name in zip(row, METHODS):
            for k in KINDS:
                x = scores[name][kind == k]
                x = x[np.isfinite(x)]
                if len(x):
                    ax.hist(x, bins=bins, histtype="step", lw=1.5, density=True, label=f"{k} ({len(x)})")
            ax.set(title=f"{name}, {split}", xlabel="score (0–100)", ylabel="density")
            ax.legend(fontsize=7)
    fig.tight_layout()
    save_png(fig, path)


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, float) and math.isnan(x):
        return None
    return x
