"""`malsori` command line: one subcommand module each, one error policy for all.

Errors a user can cause (`MalsoriError`) become one line on stderr and the exit code the
error class carries (see docs/operations.md, "Exit codes"); anything else is logged with its
traceback to the user log file and reported in one line with exit code 70.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
import traceback

from core.errors import MalsoriError, OutputError, UsageError
from core.threads import configure_threads

# command → (module, one-line help). A command's module is imported only when that command
# is chosen (or for the full parser): `malsori score` never imports training, and
# `malsori --help` imports no command at all. Each module defines
# register(subparsers, *, summary) and sets `func` on its parser.
COMMANDS = {
    "score": ("app.commands.score", "score an attempt against a reference (0-100)"),
    "make-corpus": ("app.commands.make_corpus",
                    "generate the synthetic training corpus (reference/attempt pairs with labels)"),
    "make-realset": ("app.commands.make_realset",
                     "build the real-voice pair set from human recordings Debian ships (evaluate --data)"),
    "tts": ("app.commands.tts", "make reference voices (gTTS or espeak-ng), pre-cache and manage word lists"),
    "train": ("app.commands.train", "train the scoring model on a corpus folder (manifest.csv + audio)"),
    "train-phonemes": ("app.commands.train_phonemes", "train the phoneme recognizer (CTC) on a make-corpus folder"),
    "evaluate": ("app.commands.evaluate",
                 "evaluate a model on the held-out words/voices of a corpus (vs MFCC-DTW and a naive Siamese)"),
    "kiosk": ("app.commands.kiosk", "launch the full-screen practice kiosk"),
    "mic": ("app.commands.mic", "set up and test the microphone"),
}

EXIT_INTERNAL = 70
EXIT_BROKEN_PIPE = 141  # what a shell reports for a tool that SIGPIPE stopped (128 + 13)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The `malsori` parser. With `command`, only that command's module is imported (the
    others are listed by name and help line); without, every command is complete."""
    parser = argparse.ArgumentParser(
        prog="malsori",
        description="Offline pronunciation trainer: score a spoken attempt against a reference.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, summary) in COMMANDS.items():
        if command is None or name == command:
            importlib.import_module(module).register(sub, summary=summary)
        else:
            sub.add_parser(name, help=summary)
    parser.commands = sub.choices  # each command's own parser: its usage for its own bad options
    return parser


# What a long command leaves behind when Ctrl-C stops it, and how to go on.
AFTER_INTERRUPT = {
    "make-corpus": "the folder holds a partial corpus; run the same command with --force to make it again",
    "make-realset": "run the same command again: it reuses the files already made",
    "train": "OUT.state (written after each finished epoch) lets the same command with --resume go on",
}


def chosen_command(argv: list[str]) -> str:
    """The command an argv names ("" when none: `malsori --help`, a typo)."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else ""
    return ""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("malsori")
    except PackageNotFoundError:
        return "(not installed)"


def main(argv: list[str] | None = None) -> int:
    configure_threads()
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(chosen_command(argv))
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said with the command's usage (`malsori score …`), not the top level's
        parser.commands[args.command].error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return status
    except BrokenPipeError:
        # The reader went away (`malsori ... | head`): stop quietly, as other tools do.
        _drop_stdout()
        return EXIT_BROKEN_PIPE
    except MalsoriError as exc:
        print(f"malsori: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        hint = AFTER_INTERRUPT.get(chosen_command(argv))
        print("malsori: interrupted" + (f": {hint}" if hint else ""), file=sys.stderr)
        return 130
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EIO):  # what a full or failing disk says
            return _internal_error(exc)
        _drop_stdout()  # a full disk under stdout: Python's exit-time flush would fail again
        print(f"malsori: error: cannot write the output: {exc.strerror or exc}", file=sys.stderr)
        return OutputError.exit_code
    except ModuleNotFoundError as exc:
        if exc.name != "torch":
            return _internal_error(exc)
        # setup.sh leaves torch out on a Raspberry Pi: only training and evaluation need it
        print(f"malsori: error: `malsori {args.command}` needs torch, which this installation left out "
              "(the kiosk and `malsori score` do not): bash deploy/setup.sh --train", file=sys.stderr)
        return UsageError.exit_code
    except Exception as exc:  # last resort: the user gets one line, the log gets the details
        return _internal_error(exc)


def _internal_error(exc: Exception) -> int:
    where = _log_traceback()
    print(f"malsori: internal error: {exc!r} (details in {where})", file=sys.stderr)
    return EXIT_INTERNAL


def _drop_stdout() -> None:
    """Point stdout at /dev/null so Python's exit-time flush does not fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real file descriptor (an embedding, a test harness)
        pass


def _log_traceback() -> str:
    from core.paths import log_path

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
