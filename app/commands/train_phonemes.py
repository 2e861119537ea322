"""`malsori train-phonemes`: train the phoneme recognizer that `malsori train --phonemes` attaches."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    from training.phones import add_arguments

    p = sub.add_parser(
        "train-phonemes",
        help="train the phoneme recognizer (CTC) on a make-corpus folder",
        description="Train a small phoneme recognizer on the phonemes each corpus file says (CTC), "
        "early-stop on how well its pronunciation cost separates the validation pairs, save it.",
    )
    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from training.phones import run as phones_run

    return phones_run(args)
