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


def fit_calibration(records: list[PairRecord], distances: np.ndarray, *, good_score: float, edit_score: float,
                    good_percentile: float = 80.0, what: str = "this model"):
    """Correct pairs' `good_percentile` distance → good_score; median one-edit distance (or
    median wrong distance when there are no edits) → edit_score."""
    from models.calibration import Calibration, calibration_through

    correct = np.array([r.target >= 0.5 for r in records])
    edit1 = np.array([r.target < 0.5 and r.n_edits == 1 for r in records])
    if correct.all() or not correct.any():
        return _placeholder_calibration(distances, what, "its validation pairs are all right or all wrong")
    wrong = distances[edit1] if edit1.any() else distances[~correct]
    d_good = float(np.percentile(distances[correct], good_percentile))
    d_bad = float(np.median(wrong))
    if d_good < d_bad:
        return calibration_through(d_good, good_score, d_bad, edit_score)
    good, bad = float(np.median(distances[correct])), float(np.median(distances[~correct]))
    if good < bad:  # a model that barely separates: fall back to medians
        return Calibration.fit(distances[correct], distances[~correct], good_score=good_score)
    return _placeholder_calibration(distances, what, f"right takes are no closer than wrong ones on its validation "
                                               f"pairs (median distance {good:.3f} vs {bad:.3f})")


def _placeholder_calibration(distances: np.ndarray, what: str, why: str):
    """A map centred on the distances seen, for a model too small or too briefly trained to
    separate right from wrong takes (a tiny corpus, a one-step run): the run still ends with a
    checkpoint, and says its scores mean nothing yet."""
    import sys

    from models.calibration import Calibration

    print(f"malsori: warning: the scores of {what} mean nothing yet: {why}; train longer or on a "
          f"bigger corpus (see docs/training.md)", file=sys.stderr)
    spread = float(np.std(distances)) if len(distances) else 0.0
    centre = float(np.median(distances)) if len(distances) else 0.0
    return Calibration(midpoint=centre, scale=max(spread, 1e-3))


def fit_baseline_calibration(records, distances, what: str = "a baseline"):
    """A baseline's distance → score map, fitted like the model's (90 / 30 anchors)."""
    return fit_calibration(records, np.asarray(distances), good_score=90.0, edit_score=30.0, what=what)
