"""`malsori make-realset`: the real-voice evaluation set from human recordings (training/realset.py)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction, *, summary: str) -> None:
    p = sub.add_parser(
        "make-realset",
        help=summary,
        description="Pair human recordings (klettres-data letters and syllables, asterisk English prompts, "
        "pocketsphinx test phrases; installed by `bash deploy/setup.sh --dev`) with references made from their "
        "transcripts: correct (espeak-ng; festival too for English), other item, one- and two-phoneme edits "
        "(audible only), and the take band-limited to a telephone band. Writes DIR/pairs.csv, DIR/takes/, "
        "DIR/refs/ and DIR/realset.json; a rerun reuses the files that exist. Splits go by source and speaker.",
    )
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder (reused by a rerun)")
    p.add_argument("--langs", nargs="+", metavar="LANG",
                   help="languages to include, e.g. en fr de (default: all; es is reserved and never included)")
    p.add_argument("--sources", nargs="+", choices=["klettres", "asterisk", "pocketsphinx"],
                   help="recording sources (default: all three)")
    p.add_argument("--seed", type=int, default=0, help="random seed: split, other items, edits (default: 0)")
    p.add_argument("--max-takes-per-speaker", type=int, default=200, metavar="N",
                   help="a seeded sample of at most N takes per speaker (default: 200)")
    p.add_argument("--no-festival", dest="festival", action="store_false",
                   help="no festival references for English (espeak-ng only)")
    p.add_argument("--root", type=Path, default=Path("/"), help=argparse.SUPPRESS)  # tests: a fake source tree
    p.add_argument("--jobs", type=int, default=0, help="worker processes (default: one per core)")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from training.realset import SOURCES, RealsetConfig, make_realset

    cfg = RealsetConfig(seed=args.seed, langs=tuple(args.langs or ()), sources=tuple(args.sources or SOURCES),
                        max_takes_per_speaker=args.max_takes_per_speaker, festival=args.festival)
    if cfg.max_takes_per_speaker < 1:
        from core.errors import UsageError

        raise UsageError("--max-takes-per-speaker must be at least 1")
    summary = make_realset(args.out, cfg=cfg, root=args.root, jobs=args.jobs or os.cpu_count() or 1,
                           progress=args.progress)
    c = summary["counts"]
    for r in summary["refused_takes"]:
        print(f"malsori: refused take {r['take']} ({r['lang']}, {r['text']!r}): {r['why']}", file=sys.stderr)
    for r in summary["takes_without_reference"]:
        print(f"malsori: no reference for take {r['take']} ({r['text']!r}): {r['why']}", file=sys.stderr)
    per_split = ", ".join(f"{s} {c[s]['pairs']} pairs / {c[s]['takes']} takes ({' '.join(c[s]['langs'])})"
                          for s in ("train", "val", "test"))
    print(f"malsori: {c['pairs']} pairs from {c['takes']} human takes in {len(c['by_lang'])} languages "
          f"({per_split}); {len(summary['refused_takes'])} takes refused by the front end, "
          f"{len(summary['takes_without_reference'])} without a reference; {summary['generation_s']:.0f} s "
          f"-> {args.out / 'pairs.csv'}", file=sys.stderr)
    return 0
