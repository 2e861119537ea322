"""`malsori score`: one pair, a text against an attempt, or a CSV of pairs."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from core.errors import MalsoriError, UsageError

from . import text_language, whole_number

RESULT_FIELDS = ["row", "reference", "attempt", "text", "score", "distance", "reference_speech_s", "attempt_speech_s",
                 "warnings", "error"]
# Each worker process imports torch (~2-3 s, ~500 MB): only a long batch earns that back.
MIN_PAIRS_PER_WORKER = 300


def register(sub: argparse._SubParsersAction, *, summary: str) -> None:
    p = sub.add_parser(
        "score",
        help=summary,
        description="Score a spoken ATTEMPT against a REFERENCE recording (or --text), "
        "or a whole CSV of pairs with --pairs.",
    )
    p.add_argument("files", nargs="*", metavar="FILE", help="REFERENCE ATTEMPT, or just ATTEMPT with --text")
    p.add_argument("--text", help="make the reference from this text with espeak-ng (offline; the voice the model is calibrated on)")
    p.add_argument("--lang", help="language of --text: ko or en "
                   "(default: from its letters, Hangul → ko, Latin → en)")
    p.add_argument("--json", action="store_true", help="print the whole result as JSON")
    p.add_argument("--pairs", type=Path, help="CSV with 'reference' and 'attempt' columns (paths relative to the CSV)")
    p.add_argument("--out", type=Path, help="with --pairs: where to write the results CSV ('-': standard output)")
    p.add_argument("--jobs", type=whole_number(1), help="with --pairs: worker processes "
                   f"(default: one per {MIN_PAIRS_PER_WORKER} pairs, at most one per core)")
    p.add_argument("--model", type=Path, help="checkpoint to use (default: the shipped model)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.pairs:
        # a row's language comes from its own 'lang' cell: a --lang here would be ignored
        if args.files or args.text is not None or args.lang is not None or args.json:
            raise UsageError("--pairs takes no FILE arguments, --text, --lang or --json "
                             "(results go to --out; a row's language goes in its 'lang' column)")
        if not args.out:
            raise UsageError("--pairs needs --out RESULTS.csv (or --out - for standard output)")
        return _score_pairs(args)
    if args.out or args.jobs:
        raise UsageError("--out and --jobs go with --pairs")
    if args.lang is not None and args.text is None:
        raise UsageError("--lang goes with --text")
    if args.text is not None and not args.text.strip():
        raise UsageError("--text is empty: give the word or sentence to say")
    expected = 1 if args.text is not None else 2
    if len(args.files) != expected:
        raise UsageError("give REFERENCE ATTEMPT, or --text TEXT ATTEMPT")
    if any(not name.strip() for name in args.files):  # "" would be read as the current folder
        raise UsageError("an empty FILE argument: give the path of a recording")
    lang = text_language(args.text, args.lang) if args.text is not None else None
    scorer = _load_scorer(args.model)
    if args.text is not None:
        from app.tts import scoring_reference

        ref = scoring_reference(args.text, lang=lang)  # espeak-ng's: the voice the model is calibrated on
        reference = (ref.audio, ref.sr)
        expected = scorer.text_phonemes(args.text, lang=lang)  # the text's own phonemes weigh in too
    else:
        reference, expected = args.files[0], None
    result = scorer.score_pair(reference, args.files[-1], expected=expected)
    for warning in result.warnings:
        print(f"malsori: warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        print(f"{result.score:.1f}")
    return 0


def _load_scorer(model: Path | None):
    from models import Scorer

    return Scorer.load(model)


# --- batch scoring -------------------------------------------------------------------------

_worker_scorer = None


def _init_worker(model_path: str) -> None:
    global _worker_scorer  # one scorer per worker process, loaded once
    _worker_scorer = _load_scorer(Path(model_path))


def _score_chunk(rows: list[dict]) -> list[dict]:
    return score_rows(_worker_scorer, rows)


def score_rows(scorer, rows: list[dict]) -> list[dict]:
    """Score CSV rows; a row's error becomes its 'error' text, never an exception.

    A reference used by several rows (a class saying the same word) goes through the front
    end and the networks once.
    """
    prepared: dict[str, object] = {}
    out = []
    for row in rows:
        result = dict(row)
        try:
            if row.get("error"):
                raise UsageError(row["error"])
            ref = prepared.get(row["reference_path"])
            if ref is None:
                ref = prepared[row["reference_path"]] = scorer.features(Path(row["reference_path"]), side="reference")
            # an optional 'text' column: the word the reference says, judged against as `--text` is
            expected = scorer.text_phonemes(row["text"], lang=row["lang"]) if row.get("text") else None
            r = scorer.score_pair(ref, Path(row["attempt_path"]), expected=expected)
        except MalsoriError as exc:
            result["error"] = f"{type(exc).__name__}: {exc}"
        else:
            result.update(
                score=f"{r.score:.2f}",
                distance=f"{r.distance:.5f}",
                reference_speech_s=f"{r.reference_speech_s:.3f}",
                attempt_speech_s=f"{r.attempt_speech_s:.3f}",
                warnings="; ".join(r.warnings),
                error="",
            )
        out.append(result)
    return out


def read_pairs(path: Path) -> list[dict]:
    """CSV rows → dicts with the row number, the strings as written and resolved paths (and the
    optional text the reference says, with its language)."""
    from core.errors import AudioNotFoundError

    if path.is_dir():
        raise AudioNotFoundError(f"{path}: is a directory; --pairs takes a CSV file")
    if not path.is_file():
        raise AudioNotFoundError(f"{path}: no such pairs file")
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            if reader.fieldnames:  # "Reference", " attempt ": a spreadsheet's header means the same
                reader.fieldnames = [(name or "").strip().casefold() for name in reader.fieldnames]
            if not reader.fieldnames or not {"reference", "attempt"} <= set(reader.fieldnames):
                raise UsageError(f"{path}: needs a header with 'reference' and 'attempt' columns")
            rows = list(reader)
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not a UTF-8 CSV file") from exc
    except csv.Error as exc:
        raise UsageError(f"{path}: not a readable CSV file ({exc})") from exc
    base = path.parent
    pairs = []
    for number, r in enumerate(rows, start=2):  # row 1 is the header
        ref, att = (r.get("reference") or "").strip(), (r.get("attempt") or "").strip()
        missing = [name for name, value in (("reference", ref), ("attempt", att)) if not value]
        text, lang = (r.get("text") or "").strip(), (r.get("lang") or "").strip().casefold() or None
        error = f"row {number}: empty {' and '.join(missing)}" if missing else ""
        if text and not error:  # checked as --text checks its text, the language from 'lang' or the letters
            try:
                lang = text_language(text, lang, given_by="lang", note=False)
            except UsageError as exc:
                error = f"row {number}: {exc}"
        pairs.append({
            "row": number, "reference": ref, "attempt": att,
            "reference_path": str(base / ref), "attempt_path": str(base / att),
            "text": text, "lang": lang, "error": error,
        })
    return pairs


def _refuse_overwriting_pairs(pairs: Path, out: Path) -> None:
    """The results would replace the pairs file, and its extra columns (text, lang, notes) with it."""
    try:
        same = out.exists() and os.path.samefile(pairs, out)
    except OSError:  # the pairs file is missing: read_pairs says so
        same = False
    if same:
        raise UsageError(f"--out {out} is the --pairs file: give the results another name")


def _score_pairs(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from core.fileio import atomic_write_text, check_writable
    from core.paths import default_model_path

    to_stdout = str(args.out) == "-"
    if not to_stdout:
        _refuse_overwriting_pairs(args.pairs, args.out)
        check_writable(args.out)  # before the work, not after it
    pairs = read_pairs(args.pairs)
    model_path = args.model or default_model_path()
    scorer = _load_scorer(model_path)  # fail fast on a missing/corrupt model
    jobs = args.jobs or max(1, min(os.cpu_count() or 1, len(pairs) // MIN_PAIRS_PER_WORKER))
    chunks = [pairs[i : i + 16] for i in range(0, len(pairs), 16)]
    bar = tqdm(total=len(pairs), unit="pair", file=sys.stderr, disable=None)
    results = []
    if jobs == 1:
        for chunk in chunks:
            results += score_rows(scorer, chunk)
            bar.update(len(chunk))
    else:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")  # torch and fork do not mix safely
        with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_init_worker, initargs=(str(model_path),)) as pool:
            for done in pool.map(_score_chunk, chunks):
                results += done
                bar.update(len(done))
    bar.close()

    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=RESULT_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(results)
    if to_stdout:
        sys.stdout.write(buf.getvalue())
    else:
        atomic_write_text(args.out, buf.getvalue())

    failed = [r for r in results if r.get("error")]
    for r in failed:
        print(f"malsori: row {r['row']} failed: {r['error']}", file=sys.stderr)
    print(f"malsori: scored {len(results) - len(failed)} of {len(results)} pairs -> {'standard output' if to_stdout else args.out}",
          file=sys.stderr)
    return 1 if failed else 0
