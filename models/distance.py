"""Alignment-aware distance between two embedding sequences (DTW over cosine distance)."""

from __future__ import annotations

import numpy as np


def cosine_cost(a, b):
    """Unit-length embeddings [Ta, D], [Tb, D] → cost matrix [Ta, Tb] in [0, 2] (torch tensors
    or numpy arrays: serving without torch uses the same functions)."""
    return 1.0 - a @ b.T


def dtw_path(cost: np.ndarray) -> np.ndarray:
    """Minimum-cost monotone alignment; [(i, j), ...] from (0, 0) to (Ta-1, Tb-1), shape [L, 2].

    Steps (1, 1), (1, 0), (0, 1), all of weight 1 (librosa.sequence.dtw's default). Written
    in numpy, one vectorised pass per row, because librosa's numba version costs ~0.4 s
    to load at start-up; for ~100 × 100 frames this takes about a millisecond.
    """
    c = np.asarray(cost, dtype=np.float64)
    n, m = c.shape
    acc = np.empty((n, m))
    acc[0] = np.cumsum(c[0])
    for i in range(1, n):
        above = acc[i - 1]
        diagonal = np.concatenate(([np.inf], above[:-1]))
        arrive = c[i] + np.minimum(above, diagonal)
        # then any run of horizontal steps: acc[i, j] = min_k<=j arrive[k] + c[i, k+1..j]
        run = np.cumsum(c[i])
        acc[i] = np.minimum.accumulate(arrive - run) + run
    return _backtrack(acc)


def _backtrack(acc: np.ndarray) -> np.ndarray:
    i, j = acc.shape[0] - 1, acc.shape[1] - 1
    path = [(i, j)]
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            step = int(np.argmin((acc[i - 1, j - 1], acc[i - 1, j], acc[i, j - 1])))
            i, j = (i - 1, j - 1) if step == 0 else (i - 1, j) if step == 1 else (i, j - 1)
        path.append((i, j))
    return np.array(path[::-1], dtype=np.int64)


def dtw_distance(a, b, *, power: float = 1.0):
    """Power mean of the costs along the DTW path between two sequences.

    power 1 is the plain mean; 2 (root mean square) lets a short, strongly different stretch
    (one wrong phoneme in a long word) count for more than the same cost spread thinly.
    Returns (distance, path [L, 2], cost matrix). a, b: torch tensors (then the path is found
    on a detached copy and, the distance being a mean over cost cells, gradients flow to
    both embeddings: the training loss uses it as is) or numpy arrays (serving without torch).
    """
    cost = cosine_cost(a, b)
    if isinstance(cost, np.ndarray):
        path = dtw_path(cost)
        along = cost[path[:, 0], path[:, 1]]
        if power == 1.0:
            return along.mean(), path, cost
        return ((np.maximum(along, 0.0) ** power).mean() + 1e-12) ** (1.0 / power), path, cost
    import torch

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
