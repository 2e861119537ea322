"""Thread set-up shared by every entry point (the CLI, `python -m training.train`)."""

from __future__ import annotations

import os


def configure_threads() -> None:
    """Set BLAS thread counts once, before numpy/torch start their pools.

    On 2 cores numpy's and torch's thread pools fight (one forward pass flipped between
    13 ms and 95 ms); one BLAS thread plus torch's own setting is steadier.
    """
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
