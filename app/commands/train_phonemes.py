"""`malsori train-phonemes`: train the phoneme recognizer that `malsori train --phonemes` attaches."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, *, summary: str) -> None:
    from training.train_recognizer import add_arguments

    p = sub.add_parser(
        "train-phonemes",
        help=summary,
        description="Train a small phoneme recognizer on the phonemes each corpus file says (CTC), "
        "early-stop on how well its pronunciation cost separates the validation pairs, save it.",
    )
    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from training.train_recognizer import run as phones_run

    return phones_run(args)
