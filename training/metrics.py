"""Validation metrics on -distance (or on scores): the AUCs early stopping and evaluation read."""

from __future__ import annotations

import math

import numpy as np


def auc(pos_scores: np.ndarray, neg_scores: np.ndarray) -> float:
    """P(score of a positive > score of a negative), ties counting half (Mann–Whitney)."""
    from scipy.stats import rankdata

    pos, neg = np.asarray(pos_scores, float), np.asarray(neg_scores, float)
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    ranks = rankdata(np.concatenate([pos, neg]))
    return float((ranks[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def validation_metrics(records: list[PairRecord], distances: np.ndarray) -> dict:
    """AUCs on -distance: correct vs one edit, correct vs other word, correct vs all wrong.

    `val_auc` (the early-stopping metric) is the mean of the edit and other-word AUCs that exist.
    """
    score = -distances
    correct = np.array([r.target >= 0.5 for r in records])
    edit1 = np.array([r.target < 0.5 and r.n_edits == 1 for r in records])
    other = np.array([r.target < 0.5 and r.n_edits <= 0 for r in records])
    m = {
        "auc_edit1": auc(score[correct], score[edit1]),
        "auc_other": auc(score[correct], score[other]),
        "auc_wrong": auc(score[correct], score[~correct]),
    }
    parts = [v for k, v in m.items() if k != "auc_wrong" and not math.isnan(v)]
    m["val_auc"] = float(np.mean(parts)) if parts else m["auc_wrong"]
    return m
