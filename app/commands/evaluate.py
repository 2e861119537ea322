"""`malsori evaluate`: held-out metrics, a markdown table and plots for a model and two baselines."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, *, summary: str) -> None:
    from training.evaluate import add_arguments

    p = sub.add_parser(
        "evaluate",
        help=summary,
        description="Score the test split of DIR/manifest.csv with a model, the MFCC-DTW baseline and a "
        "naive 100x100 Siamese; print and write a markdown table and PNG plots. On a real-voice set "
        "(DIR/pairs.csv from make-realset): per split, medians per kind, AUC, top-1, rows per language and "
        "source, the model beside MFCC-DTW.",
    )
    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from training.evaluate import run as evaluate_run

    return evaluate_run(args)
