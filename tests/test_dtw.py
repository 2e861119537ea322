"""The numpy DTW finds an optimal alignment: the same total cost as librosa's."""

import numpy as np
import pytest
from librosa.sequence import dtw

from models.distance import dtw_path


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (9, 1), (40, 55), (120, 80)])
def test_path_cost_equals_librosa_optimum(shape):
    cost = np.random.default_rng(sum(shape)).random(shape)
    path = dtw_path(cost)
    acc, _ = dtw(C=cost, backtrack=True)
    assert cost[path[:, 0], path[:, 1]].sum() == pytest.approx(acc[-1, -1])
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (shape[0] - 1, shape[1] - 1)
    steps = np.diff(path, axis=0)
    assert np.all((steps >= 0) & (steps <= 1)) and np.all(steps.sum(axis=1) >= 1)


def test_identical_sequences_align_on_the_diagonal():
    x = np.random.default_rng(0).random((30, 4))
    cost = np.abs(x[:, None, :] - x[None, :, :]).sum(-1)
    assert np.array_equal(dtw_path(cost), np.stack([np.arange(30)] * 2, axis=1))
