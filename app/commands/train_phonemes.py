"""`malsori train-phonemes`: train the phoneme recognizer that `malsori train --phonemes` attaches."""

from __future__ import annotations

import argparse

from . import delegate


def register(sub: argparse._SubParsersAction, *, summary: str) -> None:
    delegate(sub, "train-phonemes", summary=summary, module="training.train_recognizer",
             description="Train a small phoneme recognizer on the phonemes each corpus file says (CTC), "
                         "early-stop on how well its pronunciation cost separates the validation pairs, save it.")
