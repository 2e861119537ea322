"""`malsori evaluate`: the model against MFCC-DTW and a naive Siamese, on held-out words and voices.

Every score of the model goes through `Scorer.score_pair` (the kiosk's path) on images made
by the checkpoint's own `preprocess`; the baselines use the same images. Outputs: a markdown
table (printed and written), metrics.json, roc.png and score_histograms.png.

Metrics (test split unless --split):
* AUC correct vs 1-edit / vs other word: P(score of a correct take > score of the wrong one).
* EER: equal error rate, correct vs every wrong take.
* Spearman(score, −edits): over correct and 1–3-edit takes.
* Gain: the attempt is set to a peak of −21 dBFS, then +20 dB and −20 dB (16-bit, as a
  recording would be); mean and 95th-percentile |Δscore| vs the −21 dBFS take.
* Noise: pink noise at 10 dB SNR (against the speech's power) added to correct attempts;
  median score drop (clean − noisy).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .dataset import ManifestError, PairRecord, image_utterance, load_images, read_manifest, usable
from .figures import save_png
from .metrics import auc, fit_baseline_calibration
from .realeval import NO_TEXT
from .targets import reference_symbols

GAIN_BASE_PEAK = 10 ** (-21 / 20)  # −21 dBFS: +20 dB still fits under full scale
NOISE_SNR_DB = 10.0
TEXT_NOTE = "; told each reference's word, as the kiosk is (pronunciation cost: mean of heard and text)"


@dataclass
class MethodResult:
    name: str
    scores: np.ndarray  # per test pair, 0–100
    note: str = ""
    robustness: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------- metrics


def eer(pos: np.ndarray, neg: np.ndarray) -> float:
    """Equal error rate of "score ≥ t means correct" (pos: correct scores, neg: wrong):
    the smallest, over thresholds t, of max(correct takes rejected, wrong takes accepted)."""
    thresholds = np.concatenate([np.unique(np.concatenate([pos, neg])), [np.inf]])
    frr = np.array([np.mean(pos < t) for t in thresholds])
    far = np.array([np.mean(neg >= t) for t in thresholds])
    return float(np.min(np.maximum(frr, far)))


def roc_curve(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate) over all thresholds, from (0,0) to (1,1)."""
    t = np.unique(np.concatenate([pos, neg, [np.inf]]))[::-1]
    tpr = np.array([np.mean(pos >= x) for x in t])
    fpr = np.array([np.mean(neg >= x) for x in t])
    return np.concatenate([[0.0], fpr, [1.0]]), np.concatenate([[0.0], tpr, [1.0]])


def score_metrics(records: list[PairRecord], scores: np.ndarray) -> dict:
    from scipy.stats import spearmanr

    correct = np.array([r.target >= 0.5 for r in records])
    n_edits = np.array([r.n_edits for r in records])
    edit1 = ~correct & (n_edits == 1)
    other = ~correct & (n_edits <= 0)
    graded = correct | (~correct & (n_edits >= 1))
    rho = spearmanr(scores[graded], -np.where(correct, 0, n_edits)[graded]).statistic if graded.sum() > 2 else math.nan
    return {
        "auc_edit1": auc(scores[correct], scores[edit1]),
        "auc_other": auc(scores[correct], scores[other]),
        "eer": eer(scores[correct], scores[~correct]) if (~correct).any() else math.nan,
        "spearman": float(rho),
        "median_correct": float(np.median(scores[correct])),
        "median_edit1": float(np.median(scores[edit1])) if edit1.any() else math.nan,
        "median_other": float(np.median(scores[other])) if other.any() else math.nan,
    }


# ----------------------------------------------------------------------------- perturbations


def _quantize(y: np.ndarray) -> np.ndarray:
    return (np.clip(np.round(y * 32767), -32768, 32767) / 32767).astype(np.float32)


def with_peak(y: np.ndarray, peak: float) -> np.ndarray:
    return _quantize(y * (peak / max(float(np.max(np.abs(y))), 1e-9)))


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """1/f noise by shaping white noise in the frequency domain."""
    spec = np.fft.rfft(rng.standard_normal(n))
    spec /= np.sqrt(np.maximum(np.arange(len(spec)), 1.0))
    return np.fft.irfft(spec, n).astype(np.float32)


def speech_power(y: np.ndarray, *, sr: int) -> float:
    """Mean power of the 20 ms frames within 30 dB of the loudest (the speech, not the pauses)."""
    frame = sr // 50
    frames = y[: len(y) // frame * frame].reshape(-1, frame)
    power = np.mean(frames.astype(np.float64) ** 2, axis=1)
    return float(np.mean(power[power >= power.max() * 1e-3]))


def add_noise(y: np.ndarray, *, sr: int, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    noise = pink_noise(len(y), rng)
    noise *= math.sqrt(speech_power(y, sr=sr) / 10 ** (snr_db / 10) / float(np.mean(noise.astype(np.float64) ** 2)))
    y = y + noise
    return _quantize(y / max(1.0, float(np.max(np.abs(y)))))


# ----------------------------------------------------------------------------- the run


@dataclass
class EvalSet:
    """The split under evaluation, the splits the baselines learn from, and every image."""

    all_records: list[PairRecord]
    records: list[PairRecord]  # the pairs scored (the split, or a seeded subset of it)
    train: list[PairRecord]
    val: list[PairRecord]
    images: dict
    refused_pairs: int  # pairs of the split whose file the front end refused (silence)


class Takes:
    """Each file's Utterance and network outputs, made once however many pairs it is in."""

    def __init__(self, scorer, images: dict):
        self.scorer, self.images, self._utt, self._feats = scorer, images, {}, {}

    def utterance(self, path: str):
        if path not in self._utt:
            self._utt[path] = image_utterance(self.images[path])
        return self._utt[path]

    def features(self, path: str):
        if path not in self._feats:
            self._feats[path] = self.scorer.features(self.utterance(path))
        return self._feats[path]


def load_split(cfg, data: Path, split: str, *, max_pairs: int, rng, jobs: int, progress: bool) -> EvalSet:
    """Read the manifest, make every image with the model's front end (cached), pick the split."""
    all_records = read_manifest(data)
    images = load_images(all_records, cfg, cache_dir=Path(data), jobs=jobs, progress=progress)
    in_split = sum(r.split == split for r in all_records)
    all_records = usable(all_records, images)
    records = [r for r in all_records if r.split == split]
    if not records:
        raise ManifestError(f"no usable pairs in the {split!r} split of {data}")
    refused_pairs = in_split - len(records)
    if max_pairs and len(records) > max_pairs:
        records = [records[i] for i in sorted(rng.choice(len(records), max_pairs, replace=False))]
    return EvalSet(all_records, records, [r for r in all_records if r.split == "train"],
                   [r for r in all_records if r.split == "val"], images, refused_pairs)


def baselines(es: EvalSet, *, naive_seconds: float, seed: int, progress: bool) -> tuple[list, dict]:
    """MFCC-DTW and the naive Siamese, calibrated on val like the model: (their MethodResults,
    name → score(reference Utterance, attempt Utterance, its PairRecord) for the robustness checks)."""
    from tqdm import tqdm

    from .baselines import NaiveSiamese, mfcc_dtw_distance

    images = es.images
    cal_recs = es.val[:600] if es.val else es.train[:600]
    dtw_cal = fit_baseline_calibration(cal_recs, [mfcc_dtw(images, r) for r in cal_recs], "MFCC-DTW")
    dtw_scores = np.array([dtw_cal.score(mfcc_dtw(images, r)) for r in
                           tqdm(es.records, desc="MFCC-DTW", unit="pair", disable=not progress, leave=False)])
    naive = NaiveSiamese(seed=seed)
    if es.train:
        naive.fit(es.train, images, seconds=naive_seconds, progress=progress)
    naive_cal = fit_baseline_calibration(cal_recs, [naive.distance(images[r.reference], images[r.attempt])
                                                    for r in cal_recs], "the naive Siamese")
    naive_scores = np.array([naive_cal.score(naive.distance(images[r.reference], images[r.attempt]))
                             for r in es.records])
    methods = [
        MethodResult("MFCC-DTW", dtw_scores, "no training; c1–c13 of the same log-mel image"),
        MethodResult("naive Siamese (prototype)", naive_scores,
                     f"{naive.parameters / 1e6:.1f} M parameters, 100×100 input; trained "
                     f"{naive.train_steps} steps × 32 pairs in {naive.train_seconds:.0f} s"),
    ]
    scorers = {
        "MFCC-DTW": lambda ref_u, att_u, _: dtw_cal.score(mfcc_dtw_distance(ref_u.image, att_u.image)),
        "naive Siamese (prototype)": lambda ref_u, att_u, _: naive_cal.score(naive.distance(ref_u.image, att_u.image)),
    }
    return methods, scorers


def robustness(scorer, es: EvalSet, takes: Takes, scorers: dict, *, rng, pairs: int, progress: bool) -> dict:
    """Gain (±20 dB) and noise (10 dB SNR) on correct attempts, re-preprocessed by the model's
    front end, scored by every method: {gains, drops, checked, refused}."""
    from tqdm import tqdm

    from core.errors import MalsoriError
    from preprocessing import load_audio

    cfg, records = scorer.cfg, es.records
    correct = [r for r in records if r.target >= 0.5]
    pool = records if len(correct) < 10 else correct
    chosen = [pool[i] for i in sorted(rng.choice(len(pool), min(pairs, len(pool)), replace=False))]
    gains, drops, refused = {name: [] for name in scorers}, {name: [] for name in scorers}, 0
    for r in tqdm(chosen, desc="gain/noise", unit="pair", disable=not progress, leave=False):
        y = load_audio(r.attempt, sr=cfg.sample_rate)
        base = with_peak(y, GAIN_BASE_PEAK)
        try:
            versions = {
                "base": scorer.prepare((base, cfg.sample_rate)),
                "up": scorer.prepare((with_peak(y, GAIN_BASE_PEAK * 10), cfg.sample_rate)),
                "down": scorer.prepare((with_peak(y, GAIN_BASE_PEAK / 10), cfg.sample_rate)),
                "noisy": scorer.prepare((add_noise(base, sr=cfg.sample_rate, snr_db=NOISE_SNR_DB, rng=rng),
                                         cfg.sample_rate)),
            }
        except MalsoriError:
            refused += 1
            continue
        ref_u, clean_u = takes.utterance(r.reference), takes.utterance(r.attempt)
        for name, fn in scorers.items():
            s = {k: fn(ref_u, v, r) for k, v in versions.items()}
            gains[name] += [abs(s["up"] - s["base"]), abs(s["down"] - s["base"])]
            drops[name].append(fn(ref_u, clean_u, r) - s["noisy"])
    return {"gains": gains, "drops": drops, "checked": len(chosen) - refused, "refused": refused}


def add_metrics(methods: list[MethodResult], records: list[PairRecord], robust: dict) -> None:
    for m in methods:
        m.metrics = score_metrics(records, m.scores)
        g, drops = np.array(robust["gains"][m.name]), robust["drops"][m.name]
        m.metrics.update(
            gain_mean_abs=float(g.mean()) if len(g) else math.nan,
            gain_p95_abs=float(np.percentile(g, 95)) if len(g) else math.nan,
            noise_median_drop=float(np.median(drops)) if drops else math.nan,
        )


def write_report(out_dir: Path, methods: list[MethodResult], info: dict, records: list[PairRecord]) -> str:
    """evaluation.md, metrics.json, roc.png, score_histograms.png; returns the markdown table."""
    from core.fileio import atomic_write_json, atomic_write_text

    out_dir.mkdir(parents=True, exist_ok=True)
    table = markdown_table(methods, info)
    atomic_write_text(out_dir / "evaluation.md", table)
    atomic_write_json(out_dir / "metrics.json", {"info": info, **{m.name: {**m.metrics, "note": m.note}
                                                                  for m in methods}})
    plot_roc(records, methods, out_dir / "roc.png")
    plot_histograms(records, methods, out_dir / "score_histograms.png")
    return table


def evaluate(
    model_path: Path,
    data: Path,
    out_dir: Path,
    *,
    split: str = "test",
    naive_seconds: float = 180.0,
    robustness_pairs: int = 150,
    max_pairs: int = 0,
    seed: int = 0,
    jobs: int = 2,
    progress: bool = True,
) -> dict:
    """Run every method on `split`; write evaluation.md, metrics.json, roc.png, score_histograms.png."""
    from tqdm import tqdm

    from models import Scorer

    started = time.monotonic()
    scorer = Scorer.from_path(model_path)
    rng = np.random.default_rng(seed)
    es = load_split(scorer.cfg, data, split, max_pairs=max_pairs, rng=rng, jobs=jobs, progress=progress)
    takes = Takes(scorer, es.images)
    said = reference_symbols(scorer.pair, data)  # the word each reference says: the kiosk knows it

    def model(ref, att, r: PairRecord, *, text: bool = True) -> float:  # the kiosk's scoring path
        return scorer.score_pair(ref, att, expected=said.get(r.reference) if text else None).score

    model_scores = np.array([model(takes.features(r.reference), takes.features(r.attempt), r)
                             for r in tqdm(es.records, desc="model", unit="pair", disable=not progress, leave=False)])
    no_text = np.array([model(takes.features(r.reference), takes.features(r.attempt), r, text=False)
                        for r in es.records])
    others, scorers = baselines(es, naive_seconds=naive_seconds, seed=seed, progress=progress)
    methods = [MethodResult("malsori model", model_scores, scorer.pair.describe() + (TEXT_NOTE if said else "")), *others,
               MethodResult(NO_TEXT, no_text, "the same model, not told the word (`score REF ATT`)")]
    scorers = {"malsori model": model, NO_TEXT: lambda ref, att, r: model(ref, att, r, text=False), **scorers}
    robust = robustness(scorer, es, takes, scorers, rng=rng, pairs=robustness_pairs, progress=progress)
    add_metrics(methods, es.records, robust)
    info = split_info(es.all_records, es.records, split)
    info.update(robustness_pairs=robust["checked"], robustness_refused=robust["refused"],
                refused_pairs=es.refused_pairs, seconds=time.monotonic() - started, model=str(model_path),
                data=str(data))
    print(write_report(out_dir, methods, info, es.records))
    return {"info": info, **{m.name: m.metrics for m in methods}}


def mfcc_dtw(images, r: PairRecord) -> float:
    from .baselines import mfcc_dtw_distance

    return mfcc_dtw_distance(images[r.reference], images[r.attempt])


def split_info(all_records: list[PairRecord], records: list[PairRecord], split: str) -> dict:
    train = [r for r in all_records if r.split == "train"]
    words, voices = {r.word for r in records}, {r.voice for r in records if r.voice}
    kinds = {}
    for r in records:
        key = "correct" if r.target >= 0.5 else (f"{r.n_edits}-edit" if r.n_edits > 0 else "other word")
        kinds[key] = kinds.get(key, 0) + 1
    return {
        "split": split,
        "pairs": len(records),
        "by_kind": dict(sorted(kinds.items())),
        "words": len(words),
        "voices": sorted(voices),
        "words_also_in_train": len(words & {r.word for r in train}),
        "voices_also_in_train": sorted(voices & {r.voice for r in train if r.voice}),
    }


TARGETS = {  # metric: (label, format, acceptance test or None)
    "auc_edit1": ("ROC AUC correct vs 1 edit", "{:.3f}", lambda v: v >= 0.90),
    "auc_other": ("ROC AUC correct vs other word", "{:.3f}", lambda v: v >= 0.99),
    "eer": ("EER (correct vs any wrong)", "{:.3f}", None),
    "spearman": ("Spearman(score, −edits)", "{:.3f}", lambda v: v >= 0.8),
    "gain_mean_abs": ("mean abs Δscore, ±20 dB gain", "{:.2f}", lambda v: v <= 1.0),
    "gain_p95_abs": ("95th pct abs Δscore, ±20 dB gain", "{:.2f}", None),
    "noise_median_drop": ("median score drop at 10 dB SNR", "{:.2f}", lambda v: v <= 5.0),
    "median_correct": ("median score: correct", "{:.1f}", None),
    "median_edit1": ("median score: 1 edit", "{:.1f}", None),
    "median_other": ("median score: other word", "{:.1f}", None),
}


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def markdown_table(methods: list[MethodResult], info: dict) -> str:
    names = [m.name for m in methods]
    lines = ["| metric | " + " | ".join(names) + " | target |", "|---|" + "---|" * (len(names) + 1)]
    for key, (label, fmt, ok) in TARGETS.items():
        cells = []
        for m in methods:
            v = m.metrics.get(key, math.nan)
            cells.append("n/a" if _missing(v) else fmt.format(v))
        target = {"auc_edit1": "≥ 0.90 and ≥ DTW + 0.15", "auc_other": "≥ 0.99", "spearman": "≥ 0.8",
                  "gain_mean_abs": "≤ 1", "noise_median_drop": "≤ 5"}.get(key, "")
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {target} |")
    model, dtw = methods[0].metrics, methods[1].metrics
    verdicts = []
    for key, (label, _, ok) in TARGETS.items():
        if ok is None:
            continue
        v = model.get(key, math.nan)
        if _missing(v) or (key == "auc_edit1" and _missing(dtw.get("auc_edit1"))):
            verdicts.append(f"- {label}: not measured (n/a: this data has no such pairs)")
            continue
        passed = ok(v) and (key != "auc_edit1" or v >= dtw["auc_edit1"] + 0.15)
        verdicts.append(f"- {label}: {'met' if passed else 'MISSED'}")
    notes = [f"- **{m.name}**: {m.note}" for m in methods]
    return "\n".join([
        f"Split `{info['split']}`: {info['pairs']} pairs ({', '.join(f'{k} {v}' for k, v in info['by_kind'].items())}), "
        f"{info['words']} words ({info['words_also_in_train']} also in train), voices {', '.join(info['voices']) or 'n/a'} "
        f"(also in train: {', '.join(info['voices_also_in_train']) or 'none'}). "
        f"{info.get('refused_pairs', 0)} pairs left out: the front end refused a file (no speech heard).",
        "",
        *lines,
        "",
        "Acceptance (model):",
        *verdicts,
        "",
        "Methods:",
        *notes,
        f"- gain/noise checks on {info['robustness_pairs']} correct attempts "
        f"({info['robustness_refused']} refused by the front end); run took {info['seconds'] / 60:.1f} min.",
        "",
    ])


def _groups(records: list[PairRecord]) -> list[tuple[str, np.ndarray]]:
    correct = np.array([r.target >= 0.5 for r in records])
    n = np.array([r.n_edits for r in records])
    groups = [("correct", correct)] + [(f"{k} edit{'s' if k > 1 else ''}", ~correct & (n == k)) for k in (1, 2, 3)]
    groups.append(("other word / wrong", ~correct & (n <= 0)))
    return [(name, mask) for name, mask in groups if mask.any()]


def plot_roc(records: list[PairRecord], methods: list[MethodResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    correct = np.array([r.target >= 0.5 for r in records])
    n = np.array([r.n_edits for r in records])
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, (title, neg) in zip(axes, [("correct vs 1 edit", ~correct & (n == 1)),
                                       ("correct vs other word", ~correct & (n <= 0))]):
        for m in methods:
            if neg.any() and correct.any():
                fpr, tpr = roc_curve(m.scores[correct], m.scores[neg])
                ax.plot(fpr, tpr, label=f"{m.name} (AUC {auc(m.scores[correct], m.scores[neg]):.3f})")
        ax.plot([0, 1], [0, 1], color="grey", lw=0.8, ls="--")
        ax.set(title=title, xlabel="wrong takes accepted (FPR)", ylabel="correct takes accepted (TPR)")
        if ax.get_legend_handles_labels()[0]:  # no curve (no such pairs): no empty legend, no warning
            ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    save_png(fig, path)


def plot_histograms(records: list[PairRecord], methods: list[MethodResult], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(methods), figsize=(5 * len(methods), 4), sharey=True)
    bins = np.linspace(0, 100, 26)
    for ax, m in zip(np.atleast_1d(axes), methods):
        for name, mask in _groups(records):
            ax.hist(m.scores[mask], bins=bins, histtype="step", lw=1.5, density=True, label=name)
        ax.set(title=m.name, xlabel="score (0–100)")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    np.atleast_1d(axes)[0].set_ylabel("density")
    fig.tight_layout()
    save_png(fig, path)


# ----------------------------------------------------------------------------- command line


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", type=Path, help="checkpoint to evaluate (default: the shipped model)")
    p.add_argument("--data", type=Path, required=True,
                   help="corpus folder with manifest.csv, or a real-voice set with pairs.csv (make-realset)")
    p.add_argument("--out", type=Path, help="folder for evaluation.md, metrics.json and the plots "
                   "(default: DATA/evaluation)")
    p.add_argument("--split", choices=("train", "val", "test"),
                   help="split to evaluate (default: test; a real-voice set: every split)")
    p.add_argument("--naive-seconds", type=float, default=180.0,
                   help="training time of the naive Siamese baseline (default: 180 s)")
    p.add_argument("--robustness-pairs", type=int, default=150,
                   help="correct attempts for the gain/noise checks (default: 150)")
    p.add_argument("--max-pairs", type=int, default=0, help="evaluate on a seeded subset (default: 0 = all)")
    p.add_argument("--seed", type=int, default=0,
                   help="seeds the --max-pairs subset, the gain/noise attempts and the naive Siamese (default: 0)")
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    p.add_argument("--jobs", type=int, default=2, help="preprocessing worker processes (default: 2)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars on stderr")


def run(args: argparse.Namespace) -> int:
    import torch

    from core.paths import default_model_path

    torch.set_num_threads(max(1, args.threads))
    model = args.model or default_model_path()
    if args.data.exists() and not args.data.is_dir():
        raise ManifestError(f"{args.data}: is a file; --data takes the folder that holds manifest.csv "
                            "(make-corpus) or pairs.csv (make-realset)")
    if not (args.data / "pairs.csv").is_file() and not (args.data / "manifest.csv").is_file():
        raise ManifestError(f"{args.data}: no manifest.csv or pairs.csv: make a corpus with `malsori make-corpus "
                            f"--out {args.data}` or a real-voice set with `malsori make-realset --out {args.data}`")
    from core.fileio import check_writable_dir

    out = check_writable_dir(args.out or args.data / "evaluation")  # before minutes of scoring, not after
    if (args.data / "pairs.csv").is_file() and not (args.data / "manifest.csv").is_file():
        from .realeval import evaluate_realset
        from .realset import SPLITS

        evaluate_realset(model, args.data, out,
                         splits=(args.split,) if args.split else SPLITS, jobs=args.jobs, progress=args.progress)
        return 0
    evaluate(model, args.data, out, split=args.split or "test",
             naive_seconds=args.naive_seconds, robustness_pairs=args.robustness_pairs, max_pairs=args.max_pairs,
             seed=args.seed, jobs=args.jobs, progress=args.progress)
    return 0
