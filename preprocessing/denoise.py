"""Stationary spectral-gating noise filter (noisereduce) with a measured noise profile."""

from __future__ import annotations

import numpy as np

from .config import PreprocessConfig


def non_speech(y: np.ndarray, flags: np.ndarray, *, frame_len: int) -> np.ndarray:
    """Concatenate the VAD frames not flagged as speech: the take's own noise sample."""
    n = min(len(flags), len(y) // frame_len)
    frames = y[: n * frame_len].reshape(n, frame_len)
    return frames[~flags[:n]].reshape(-1)


def reduce_noise(y: np.ndarray, *, sr: int, noise: np.ndarray, cfg: PreprocessConfig) -> np.ndarray:
    """Remove the stationary noise whose spectrum `noise` shows.

    `stationary=True` matters: in its default non-stationary mode noisereduce ignores the
    noise sample altogether. Returns y unchanged when the noise sample is too short to
    describe anything (a clip with no pauses).
    """
    if not cfg.denoise or len(noise) < cfg.denoise_min_noise_s * sr:
        return y
    import noisereduce

    n_fft = 512
    out = noisereduce.reduce_noise(
        y=y,
        sr=sr,
        y_noise=noise,
        stationary=True,
        prop_decrease=cfg.denoise_prop_decrease,
        n_fft=n_fft,
        padding=n_fft,  # default 30,000 samples a side costs more than the clip itself
    )
    return np.asarray(out, dtype=np.float32)
