"""Issue 14's "text-aware cost" lever, measured term by term (built in since stop 15: the
pronunciation cost is the mean of "heard" and "text" whenever the text is known).

    .venv/bin/python bench/text_aware_cost.py --realset ~/realset --corpus ~/corpus [--model M]

The pronunciation cost judges an attempt against the phonemes the recognizer *hears in the
reference*. When the text is known (the kiosk, `score --text`, both evaluation sets) the
attempt can also be judged against espeak-ng's phonemes *of the text* (with the reference's
edits, for an edited reference), mapped onto the recognizer's symbols as `train-phonemes
--real` maps them. Prints ROC AUCs (correct vs each wrong kind; pairs ranked by distance) for
the two costs alone and beside the DTW distance at the model's weight: "heard" (the formula
when the text is unknown), "text", and their mean (the formula when it is known). The first
recognizer's term only: a model's voices term (stop 20) is left out of every row. Real-voice pairs whose text has a sound the recognizer has
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

    from models import Scorer
    from models.pronunciation import target_costs
    from training.dataset import load_images, read_manifest, usable
    from training.metrics import auc
    from training.realeval import features_once, pair_record, read_real_pairs, reference_phonemes
    from training.targets import reference_symbols

    scorer = Scorer.from_path(args.model)
    pair = scorer.pair
    if pair.recognizer is None:
        print(f"{args.model} has no phoneme recognizer: nothing to compare", file=sys.stderr)
        return 2
    weight = pair.weights.get("pronunciation", 0.0)

    def terms(features, reference: str, attempt: str, said: tuple[str, ...]) -> tuple[float, float, float]:
        a, b = features(reference), features(attempt)
        d = pair.distance(a, b).terms  # text unknown: the heard reference alone
        return d["dtw"], d["pronunciation"], target_costs(b.log_probs, [pair.symbol_ids(said)], pair.blank_penalty)[0]

    def report(name: str, rows: list, kinds: list, negatives: tuple[str, ...]) -> None:
        t, kinds = np.array(rows), np.array(kinds)
        ways = {"heard": t[:, 1], "text": t[:, 2], "dtw + w·heard (text unknown)": t[:, 0] + weight * t[:, 1],
                "dtw + w·text": t[:, 0] + weight * t[:, 2], "dtw + w·mean (text known)": t[:, 0] + weight * t[:, 1:].mean(1)}
        print(f"{name}: {len(rows)} pairs; AUC correct vs {' / '.join(negatives)}")
        for label, d in ways.items():
            print(f"  {label:28s} " + " / ".join(f"{auc(-d[kinds == 'correct'], -d[kinds == n]):.3f}" for n in negatives))

    # real voices: espeak-ng references of a known text (+ edits)
    pairs = read_real_pairs(args.realset)
    images = load_images([pair_record(p) for p in pairs], scorer.cfg, cache_dir=args.realset, jobs=1, progress=True)
    features = features_once(pair, images)
    for split in ("val", "test"):
        rows, kinds, skipped = [], [], 0
        for p in pairs:
            if (p.row["split"] != split or not p.espeak_ref or p.row["kind"] not in ("correct", "other", "edit1", "edit2")
                    or p.reference not in images or p.attempt not in images):
                continue
            t = reference_phonemes(scorer.pair, p.row)
            if not t:
                skipped += 1
                continue
            rows.append(terms(features, p.reference, p.attempt, t))
            kinds.append(p.row["kind"])
        report(f"real voices, {split} ({skipped} pairs left out: a sound without a symbol)", rows, kinds,
               ("other", "edit1", "edit2"))

    # synthetic: the corpus's own phoneme labels of each reference
    records = read_manifest(args.corpus)
    images = load_images(records, scorer.cfg, cache_dir=args.corpus, jobs=1, progress=True)
    features = features_once(pair, images)
    labels = reference_symbols(pair, args.corpus)
    for split in ("val", "test"):
        rows, kinds = [], []
        for r in usable([r for r in records if r.split == split], images):
            t = labels.get(r.reference)
            if not t:
                continue
            rows.append(terms(features, r.reference, r.attempt, t))
            kinds.append("correct" if r.n_edits == 0 else "edit1" if r.n_edits == 1 else "other" if r.n_edits < 0 else "more")
        report(f"synthetic, {split}", rows, kinds, ("edit1", "other"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
