"""`malsori train`: train the Siamese encoder on a corpus or a school's own recordings."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, *, summary: str) -> None:
    from training.train import add_arguments

    p = sub.add_parser(
        "train",
        help=summary,
        description="Train the Siamese encoder on DIR/manifest.csv pairs (synthetic corpus or real "
        "recordings with label / human_score), early-stop on validation AUC, calibrate, save a checkpoint.",
    )
    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from training.train import run as train_run

    return train_run(args)
