"""Resampling: the one audio helper the front end and the espeak-ng wrapper both need."""

from __future__ import annotations

import numpy as np


def resample(y: np.ndarray, *, orig_sr: int, sr: int) -> np.ndarray:
    """Band-limited resampling (soxr, as librosa uses); a no-op when the rates match."""
    y = np.asarray(y, dtype=np.float32)
    if orig_sr == sr:
        return y
    import soxr  # directly: going through librosa costs ~1 s of imports at start-up

    return soxr.resample(y, orig_sr, sr, quality="HQ").astype(np.float32)
