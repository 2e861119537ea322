"""Alignment-aware distance between two embedding sequences (DTW over cosine distance)."""

from __future__ import annotations

import numpy as np
import torch


def cosine_cost(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Unit-length embeddings [Ta, D], [Tb, D] → cost matrix [Ta, Tb] in [0, 2]."""
    return 1.0 - a @ b.T


def dtw_path(cost: np.ndarray) -> np.ndarray:
    """Minimum-cost monotone alignment; [(i, j), ...] from (0, 0) to (Ta-1, Tb-1), shape [L, 2]."""
    from librosa.sequence import dtw

    _, wp = dtw(C=np.ascontiguousarray(cost, dtype=np.float64), backtrack=True)
    return wp[::-1].copy()


def dtw_distance(
    a: torch.Tensor, b: torch.Tensor, *, power: float = 1.0
) -> tuple[torch.Tensor, np.ndarray, torch.Tensor]:
    """Power mean of the costs along the DTW path between two sequences.

    power 1 is the plain mean; 2 (root mean square) lets a short, strongly different stretch
    (one wrong phoneme in a long word) count for more than the same cost spread thinly.
    Returns (distance, path [L, 2], cost matrix). The path is found on a detached copy;
    the distance is a mean over cost cells, so gradients flow to both embeddings (the
    training loss uses it as is).
    """
    cost = cosine_cost(a, b)
    path = dtw_path(cost.detach().cpu().numpy())
    idx = torch.as_tensor(path, device=cost.device)
    along = cost[idx[:, 0], idx[:, 1]]
    if power == 1.0:
        return along.mean(), path, cost
    return along.clamp(min=0.0).pow(power).mean().add(1e-12).pow(1.0 / power), path, cost


def deviation_curve(cost: np.ndarray, path: np.ndarray, *, n_attempt: int) -> np.ndarray:
    """Per attempt frame: the mean aligned cost, float32 [n_attempt]. High = differs there."""
    sums = np.bincount(path[:, 1], weights=cost[path[:, 0], path[:, 1]], minlength=n_attempt)
    counts = np.bincount(path[:, 1], minlength=n_attempt)
    return np.maximum(sums / np.maximum(counts, 1), 0.0).astype(np.float32)  # float noise can dip below 0


def worst_segment(curve: np.ndarray, *, width: int) -> tuple[int, int]:
    """[start, end) frames of the window of `width` frames with the highest mean deviation."""
    width = max(1, min(width, len(curve)))
    window = np.convolve(curve, np.ones(width) / width, mode="valid")
    start = int(np.argmax(window))
    return start, start + width
