"""Issue 14's "text-aware cost" lever, measured (not yet a term of the shipped score).

    .venv/bin/python bench/text_aware_cost.py --realset ~/realset --corpus ~/corpus [--model M]

The pronunciation cost judges an attempt against the phonemes the recognizer *hears in the
reference*. When the text is known (the kiosk, `score --text`, both evaluation sets) the
attempt can also be judged against espeak-ng's phonemes *of the text* (with the reference's
edits, for an edited reference), mapped onto the recognizer's symbols as `train-phonemes
--real` maps them. Prints ROC AUCs (correct vs each wrong kind; pairs ranked by distance) for
the two costs alone and beside the DTW distance at the model's weight: "heard" (the shipped
formula), "text", and their mean. Real-voice pairs whose text has a sound the recognizer has
no symbol for are left out and counted. Uses the sets' image caches (as `evaluate` and
`train` make them); a first run preprocesses.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realset", type=Path, required=True, help="a `malsori make-realset` folder")
    parser.add_argument("--corpus", type=Path, required=True, help="a `malsori make-corpus` folder")
    parser.add_argument("--model", default=str(ROOT / "assets" / "models" / "malsori.pt"))
    args = parser.parse_args()

    from core.errors import MalsoriError
    from core.espeak import phoneme_tokens
    from models import Scorer
    from models.pronunciation import greedy_phonemes, sequence_cost
    from training.dataset import image_utterance, load_images, read_manifest, usable
    from training.metrics import auc
    from training.phoneme_edits import Edit, apply_edits, parse_edits, utterance_items
    from training.real_phonemes import map_symbols
    from training.realeval import pair_record, read_real_pairs
    from training.targets import phoneme_targets

    scorer = Scorer.from_path(args.model)
    pair = scorer.pair
    if pair.recognizer is None:
        print(f"{args.model} has no phoneme recognizer: nothing to compare", file=sys.stderr)
        return 2
    ids = {s: k + 1 for k, s in enumerate(pair.recognizer.symbols)}
    weight = pair.weights.get("pronunciation", 0.0)
    features: dict = {}

    def feats(images: dict, path: str):
        if path not in features:
            features[path] = pair.features(image_utterance(images[path]))
        return features[path]

    def text_cost(attempt_lp, target: list[int]) -> float:  # models.pronunciation's formula, target given
        own = sequence_cost(attempt_lp, greedy_phonemes(attempt_lp, pair.blank_penalty))
        return max(0.0, sequence_cost(attempt_lp, target) - own) / len(target)

    def terms(images: dict, reference: str, attempt: str, target: list[int]) -> tuple[float, float, float]:
        a, b = feats(images, reference), feats(images, attempt)
        d = pair.distance(a, b).terms
        return d["dtw"], d["pronunciation"], text_cost(b.log_probs, target)

    def report(name: str, rows: list, kinds: list, negatives: tuple[str, ...]) -> None:
        t, kinds = np.array(rows), np.array(kinds)
        ways = {"heard": t[:, 1], "text": t[:, 2], "dtw + w·heard (shipped)": t[:, 0] + weight * t[:, 1],
                "dtw + w·text": t[:, 0] + weight * t[:, 2], "dtw + w·mean(heard, text)": t[:, 0] + weight * t[:, 1:].mean(1)}
        print(f"{name}: {len(rows)} pairs; AUC correct vs {' / '.join(negatives)}")
        for label, d in ways.items():
            print(f"  {label:28s} " + " / ".join(f"{auc(-d[kinds == 'correct'], -d[kinds == n]):.3f}" for n in negatives))

    # real voices: espeak-ng references of a known text (+ edits)
    pairs = read_real_pairs(args.realset)
    images = load_images([pair_record(p) for p in pairs], scorer.cfg, cache_dir=args.realset, jobs=1, progress=True)
    said: dict = {}

    def target(row: dict) -> list[int] | None:
        voice, lang = row["ref_voice"].split(":", 1)[1], row["lang"]
        key = (row["ref_text"], voice, row["edits"])
        if key not in said:
            try:
                items = utterance_items(phoneme_tokens(row["ref_text"], voice=voice), lang=lang)
                if row["edits"]:
                    items = apply_edits(list(items), [Edit(pos, old, new, "") for old, new, pos in parse_edits(row["edits"])])
                symbols, _ = map_symbols(items, set(ids), lang=lang)
                said[key] = [ids[s] for s in symbols] if symbols else None
            except (MalsoriError, ValueError):
                said[key] = None
        return said[key]

    for split in ("val", "test"):
        rows, kinds, skipped = [], [], 0
        for p in pairs:
            if (p.row["split"] != split or not p.espeak_ref or p.row["kind"] not in ("correct", "other", "edit1", "edit2")
                    or p.reference not in images or p.attempt not in images):
                continue
            t = target(p.row)
            if not t:
                skipped += 1
                continue
            rows.append(terms(images, p.reference, p.attempt, t))
            kinds.append(p.row["kind"])
        report(f"real voices, {split} ({skipped} pairs left out: a sound without a symbol)", rows, kinds,
               ("other", "edit1", "edit2"))

    # synthetic: the corpus's own phoneme labels of each reference
    records = read_manifest(args.corpus)
    images = load_images(records, scorer.cfg, cache_dir=args.corpus, jobs=1, progress=True)
    labels = phoneme_targets(args.corpus)
    for split in ("val", "test"):
        rows, kinds = [], []
        for r in usable([r for r in records if r.split == split], images):
            t = labels.get(r.reference)
            if not t or any(s not in ids for s in t):
                continue
            rows.append(terms(images, r.reference, r.attempt, [ids[s] for s in t]))
            kinds.append("correct" if r.n_edits == 0 else "edit1" if r.n_edits == 1 else "other" if r.n_edits < 0 else "more")
        report(f"synthetic, {split}", rows, kinds, ("edit1", "other"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
