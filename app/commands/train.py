"""`malsori train`: train the Siamese encoder on a corpus or a school's own recordings."""

from __future__ import annotations

import argparse

from . import delegate


def register(sub: argparse._SubParsersAction, *, summary: str) -> None:
    delegate(sub, "train", summary=summary, module="training.train",
             description="Train the Siamese encoder on DIR/manifest.csv pairs (synthetic corpus or real "
                         "recordings with label / human_score), early-stop on validation AUC, calibrate, save a checkpoint.")
