"""Distance → 0–100 score: a monotone (logistic) map whose parameters live in the checkpoint."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Calibration:
    """score = 100 / (1 + exp((distance - midpoint) / scale)); strictly decreasing in distance.

    midpoint: the distance that scores 50. scale: distance units per logistic unit (> 0).
    """

    midpoint: float
    scale: float

    def __post_init__(self) -> None:
        if not (self.scale > 0 and math.isfinite(self.scale) and math.isfinite(self.midpoint)):
            raise ValueError("calibration needs a finite midpoint and a positive scale")

    def score(self, distance: float) -> float:
        z = (float(distance) - self.midpoint) / self.scale
        return 100.0 / (1.0 + math.exp(min(z, 700.0)))

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Calibration":
        return cls(midpoint=float(data["midpoint"]), scale=float(data["scale"]))

    @classmethod
    def from_anchors(cls, *, good: float, bad: float, good_score: float = 90.0) -> "Calibration":
        """Put distance `good` at `good_score` and `bad` at 100 - good_score (good < bad)."""
        if not good < bad:
            raise ValueError("the 'good' distance must be smaller than the 'bad' one")
        logit = math.log(good_score / (100.0 - good_score))
        return cls(midpoint=(good + bad) / 2.0, scale=(bad - good) / (2.0 * logit))

    @classmethod
    def fit(cls, correct: np.ndarray, wrong: np.ndarray, *, good_score: float = 90.0) -> "Calibration":
        """Median correct distance → `good_score`, median wrong distance → 100 - `good_score`."""
        return cls.from_anchors(good=float(np.median(correct)), bad=float(np.median(wrong)), good_score=good_score)


def calibration_through(d1: float, s1: float, d2: float, s2: float) -> Calibration:
    """The logistic map that scores distance d1 as s1 and d2 as s2 (d1 < d2, 100 > s1 > s2 > 0)."""
    if not (d1 < d2 and 100.0 > s1 > s2 > 0.0):
        raise ValueError("need d1 < d2 and 100 > s1 > s2 > 0")
    z1, z2 = math.log(100.0 / s1 - 1.0), math.log(100.0 / s2 - 1.0)  # z = (d - midpoint) / scale
    scale = (d2 - d1) / (z2 - z1)
    return Calibration(midpoint=d1 - z1 * scale, scale=scale)
