"""`malsori score`: one pair, a text against an attempt, or a CSV of pairs."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from preprocessing.errors import MalsoriError

RESULT_FIELDS = ["reference", "attempt", "score", "distance", "reference_speech_s", "attempt_speech_s",
                 "warnings", "error"]
MIN_PAIRS_FOR_POOL = 16  # below this, starting worker processes costs more than it saves


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="score an attempt against a reference (0-100)",
        description="Score a spoken ATTEMPT against a REFERENCE recording (or --text), "
        "or a whole CSV of pairs with --pairs.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="REFERENCE ATTEMPT, or just ATTEMPT with --text")
    p.add_argument("--text", help="make the reference from this text with text-to-speech")
    p.add_argument("--lang", default="ko", help="language of --text (default: ko)")
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")
    p.add_argument("--pairs", type=Path, help="CSV with 'reference' and 'attempt' columns (paths relative to the CSV)")
    p.add_argument("--out", type=Path, help="with --pairs: where to write the results CSV")
    p.add_argument("--jobs", type=int, default=0, help="with --pairs: worker processes (default: one per core)")
    p.add_argument("--model", type=Path, help="checkpoint to use (default: the shipped model)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.pairs:
        if args.files or args.text:
            raise UsageError("--pairs takes no FILE arguments and no --text")
        if not args.out:
            raise UsageError("--pairs needs --out RESULTS.csv")
        return _score_pairs(args)
    expected = 1 if args.text else 2
    if len(args.files) != expected:
        raise UsageError("give REFERENCE ATTEMPT, or --text TEXT ATTEMPT")
    scorer = _load_scorer(args.model)
    if args.text:
        from app.tts import get_reference

        ref = get_reference(args.text, lang=args.lang)
        reference = (ref.audio, ref.sr)
    else:
        reference = args.files[0]
    result = scorer.score_pair(reference, args.files[-1])
    for warning in result.warnings:
        print(f"malsori: warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        print(f"{result.score:.1f}")
    return 0


class UsageError(MalsoriError):
    exit_code = 2


def _load_scorer(model: Path | None):
    import torch

    from app.paths import default_model_path
    from models import Scorer

    torch.set_num_threads(1)  # a pair is a few small convolutions: threads only add overhead
    return Scorer.from_path(model or default_model_path())


# --- batch scoring -------------------------------------------------------------------------

_worker_scorer = None


def _init_worker(model_path: str) -> None:
    global _worker_scorer  # one scorer per worker process, loaded once
    _worker_scorer = _load_scorer(Path(model_path))


def _score_row(row: tuple[str, str]) -> dict:
    return score_one(_worker_scorer, *row)


def score_one(scorer, reference: str, attempt: str) -> dict:
    """One CSV row → one results row; an error becomes the row's 'error' text, not an exception."""
    out = {"reference": reference, "attempt": attempt}
    try:
        r = scorer.score_pair(reference, attempt)
    except MalsoriError as exc:
        return {**out, "error": f"{type(exc).__name__}: {exc}"}
    return {
        **out,
        "score": f"{r.score:.2f}",
        "distance": f"{r.distance:.5f}",
        "reference_speech_s": f"{r.reference_speech_s:.3f}",
        "attempt_speech_s": f"{r.attempt_speech_s:.3f}",
        "warnings": "; ".join(r.warnings),
        "error": "",
    }


def read_pairs(path: Path) -> list[tuple[str, str]]:
    from preprocessing.errors import AudioNotFoundError

    if not path.is_file():
        raise AudioNotFoundError(f"{path}: no such pairs file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {"reference", "attempt"} <= set(reader.fieldnames):
                raise UsageError(f"{path}: needs a header with 'reference' and 'attempt' columns")
            rows = list(reader)
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not a UTF-8 CSV file") from exc
    base = path.parent
    return [(str(base / (r["reference"] or "").strip()), str(base / (r["attempt"] or "").strip())) for r in rows]


def _score_pairs(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from app.fileio import atomic_write_text
    from app.paths import default_model_path

    pairs = read_pairs(args.pairs)
    model_path = args.model or default_model_path()
    scorer = _load_scorer(model_path)  # fail fast on a missing/corrupt model
    jobs = args.jobs or os.cpu_count() or 1
    bar = dict(total=len(pairs), unit="pair", file=sys.stderr, disable=None)
    if jobs == 1 or len(pairs) < MIN_PAIRS_FOR_POOL:
        results = [score_one(scorer, *p) for p in tqdm(pairs, **bar)]
    else:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")  # torch and fork do not mix safely
        with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker, initargs=(str(model_path),)) as pool:
            results = list(tqdm(pool.map(_score_row, pairs, chunksize=8), **bar))

    import io

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=RESULT_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(results)
    atomic_write_text(args.out, buf.getvalue())

    failed = [r for r in results if r.get("error")]
    for r in failed:
        print(f"malsori: failed: {r['attempt']}: {r['error']}", file=sys.stderr)
    print(f"malsori: scored {len(results) - len(failed)} of {len(results)} pairs -> {args.out}", file=sys.stderr)
    return 1 if failed else 0
