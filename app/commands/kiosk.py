"""`malsori kiosk` (also `python -m app`): the full-screen practice app."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, *, summary: str) -> None:
    p = sub.add_parser(
        "kiosk",
        help=summary,
        description="Launch the practice kiosk: full screen, touch-friendly, operator exit by PIN "
        "(Escape, or hold the title for 3 s).",
    )
    p.add_argument("--windowed", action="store_true", help="an 800x480 window instead of full screen (desktops)")
    p.add_argument("--exit-after-first-frame", action="store_true", help=argparse.SUPPRESS)  # startup benchmark
    p.add_argument("--exit-when-ready", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging

    from app.kiosk.app import OPERATOR_EXIT_CODE, run_kiosk

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    code = run_kiosk(windowed=args.windowed, exit_after_first_frame=args.exit_after_first_frame,
                     exit_when_ready=args.exit_when_ready)
    if code == OPERATOR_EXIT_CODE:
        end_process(code)
    return code


def end_process(code: int) -> None:
    """Flush what is buffered and end the process with `code`, skipping the interpreter's teardown.

    The operator's "Exit kiosk" must reach systemd as OPERATOR_EXIT_CODE: a crash while the
    interpreter tears down Qt and the audio libraries (a SIGSEGV is exit 139) would get the
    kiosk restarted against the operator's wish. The kiosk has nothing left to do by then:
    its window, workers and streams were closed by run_kiosk.
    """
    import logging
    import os
    import sys

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more can reach it
            pass
    os._exit(code)
