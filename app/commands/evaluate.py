"""`malsori evaluate`: held-out metrics, a markdown table and plots for a model and two baselines."""

from __future__ import annotations

import argparse

from . import delegate


def register(sub: argparse._SubParsersAction, *, summary: str) -> None:
    delegate(sub, "evaluate", summary=summary, module="training.evaluate",
             description="Score the test split of DIR/manifest.csv with a model, the MFCC-DTW baseline and a "
                         "naive 100x100 Siamese; print and write a markdown table and PNG plots. On a real-voice set "
                         "(DIR/pairs.csv from make-realset): per split, medians per kind, AUC, top-1, rows per language and "
                         "source, the model beside MFCC-DTW.")
