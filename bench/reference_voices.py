"""The voice gap by engine, told the word or not: a `make-corpus --engines` corpus's pairs grouped
by (attempt engine, reference engine).

    .venv/bin/python bench/reference_voices.py --corpus ~/corpus-voices [--split val] [--model M]

The kiosk's reference is a neural voice (gTTS) whenever it is online; such a corpus has Kokoro
references (a neural voice) with espeak-ng attempts, the nearest case that can be made offline.
For each group prints the pairs, median score of correct / 1-edit / other-word attempts and the
ROC AUC of correct vs other word and vs 1 edit, scored as the kiosk scores (told each
reference's word: the text-aware pronunciation cost) and as `score REF ATT` does (not told).
The val split is the one with Kokoro references (the test split is espeak-ng only); nothing is
fitted on its non-espeak-ng pairs. Uses the corpus's image cache (a first run preprocesses).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]


def engine_of(voice: str, engine: str) -> str:
    """A manifest's voice or ref_voice column → its engine ("kokoro:…" → kokoro, "ko" → espeak-ng)."""
    if ":" in voice:
        return voice.split(":", 1)[0]
    return engine or "espeak-ng"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="a `malsori make-corpus --engines` folder")
    parser.add_argument("--split", default="val")
    parser.add_argument("--model", default=str(ROOT / "assets" / "models" / "malsori.pt"))
    args = parser.parse_args()

    from models import Scorer
    from training.dataset import image_utterance, load_images, read_manifest, usable
    from training.metrics import auc
    from training.targets import reference_symbols

    scorer = Scorer.from_path(args.model)
    with open(args.corpus / "manifest.csv", newline="", encoding="utf-8") as f:
        rows = {(str(args.corpus / r["reference"]), str(args.corpus / r["attempt"])): r for r in csv.DictReader(f)}
    records = [r for r in read_manifest(args.corpus) if r.split == args.split]
    images = load_images(records, scorer.cfg, cache_dir=args.corpus, jobs=1, progress=True)
    said = reference_symbols(scorer.pair, args.corpus)
    feats: dict = {}

    def f(path: str):
        if path not in feats:
            feats[path] = scorer.pair.features(image_utterance(images[path]))
        return feats[path]

    groups: dict = defaultdict(list)
    for r in usable(records, images):
        row = rows[(r.reference, r.attempt)]
        key = (engine_of(row["voice"], row.get("engine", "")), engine_of(row.get("ref_voice", ""), "espeak-ng"))
        kind = "correct" if r.n_edits == 0 else "edit1" if r.n_edits == 1 else "other" if r.n_edits < 0 else "more"
        told = scorer.pair.distance(f(r.reference), f(r.attempt), said.get(r.reference)).value
        blind = scorer.pair.distance(f(r.reference), f(r.attempt)).value
        groups[key].append((kind, told, blind))

    print(f"{args.corpus}, split {args.split}, model {args.model}: told the word / not told")
    print("| attempt / reference | pairs | median correct | median 1 edit | median other | AUC correct vs other | AUC correct vs 1 edit |")
    print("|---|---|---|---|---|---|---|")
    for (att, ref), items in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        kinds = np.array([k for k, _, _ in items])
        cells = []
        for col in (1, 2):
            d = np.array([x[col] for x in items])
            s = np.array([scorer.pair.score(x) for x in d])
            med = [f"{np.median(s[kinds == k]):.1f}" if (kinds == k).any() else "n/a" for k in ("correct", "edit1", "other")]
            aucs = [f"{auc(-d[kinds == 'correct'], -d[kinds == k]):.3f}" if (kinds == k).any() and (kinds == 'correct').any()
                    else "n/a" for k in ("other", "edit1")]
            cells.append(med + aucs)
        print(f"| {att} / {ref} | {len(items)} | " + " | ".join(f"{a} / {b}" for a, b in zip(*cells)) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
