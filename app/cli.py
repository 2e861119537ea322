"""`malsori` command line: one subcommand module each, one error policy for all.

Errors a user can cause (`MalsoriError`) become one line on stderr and the exit code the
error class carries (see docs/operations.md, "Exit codes"); anything else is logged with its
traceback to the user log file and reported in one line with exit code 70.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from preprocessing.errors import MalsoriError

# Each module defines register(subparsers) and sets `func` on its parser.
COMMAND_MODULES = [
    "app.commands.score",
    "app.commands.make_corpus",
    "app.commands.tts",
    "app.commands.train",
    "app.commands.train_phonemes",
    "app.commands.evaluate",
    "app.commands.kiosk",
    "app.commands.mic",
]

EXIT_INTERNAL = 70


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="malsori",
        description="Offline pronunciation trainer: score a spoken attempt against a reference.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("malsori")
    except PackageNotFoundError:
        return "(not installed)"


def configure_threads() -> None:
    """Set BLAS thread counts once, before numpy/torch start their pools.

    On 2 cores numpy's and torch's thread pools fight (one forward pass flipped between
    13 ms and 95 ms); one BLAS thread plus torch's own setting is steadier.
    """
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def main(argv: list[str] | None = None) -> int:
    configure_threads()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except MalsoriError as exc:
        print(f"malsori: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("malsori: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # last resort: the user gets one line, the log gets the details
        where = _log_traceback()
        print(f"malsori: internal error: {exc!r} (details in {where})", file=sys.stderr)
        return EXIT_INTERNAL


def _log_traceback() -> str:
    from app.paths import log_path

    path = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(traceback.format_exc())
        return str(path)
    except OSError:
        return "<log not writable>"


if __name__ == "__main__":
    sys.exit(main())
