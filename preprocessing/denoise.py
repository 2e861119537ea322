"""Stationary spectral-gating noise filter (noisereduce) with a measured noise profile."""

from __future__ import annotations

import importlib.abc
import sys

import numpy as np

from .config import PreprocessConfig


def noise_sample(
    y: np.ndarray, flags: np.ndarray, *, frame_len: int, sr: int, cfg: PreprocessConfig
) -> np.ndarray:
    """The take's own noise: the VAD frames not flagged as speech, concatenated.

    In loud noise the VAD calls every frame speech; then the quietest
    cfg.denoise_quiet_fraction of frames (pauses, the pre-roll) stand in as the sample.
    """
    n = min(len(flags), len(y) // frame_len)
    frames = y[: n * frame_len].reshape(n, frame_len)
    quiet = frames[~flags[:n]]
    if len(quiet) * frame_len >= cfg.denoise_min_noise_s * sr:
        return quiet.reshape(-1)
    k = int(n * cfg.denoise_quiet_fraction)
    order = np.argsort(np.mean(frames**2, axis=1))
    return frames[np.sort(order[:k])].reshape(-1)


def reduce_noise(y: np.ndarray, *, sr: int, noise: np.ndarray, cfg: PreprocessConfig) -> np.ndarray:
    """Remove the stationary noise whose spectrum `noise` shows.

    `stationary=True` matters: in its default non-stationary mode noisereduce ignores the
    noise sample altogether. Returns y unchanged when the noise sample is too short to
    describe anything (a clip with no pauses).
    """
    if not cfg.denoise or len(noise) < cfg.denoise_min_noise_s * sr:
        return y
    n_fft = 512
    out = _noisereduce().reduce_noise(
        y=y,
        sr=sr,
        y_noise=noise,
        stationary=True,
        prop_decrease=cfg.denoise_prop_decrease,
        n_fft=n_fft,
        padding=n_fft,  # default 30,000 samples a side costs more than the clip itself
    )
    return np.asarray(out, dtype=np.float32)


def preload() -> None:
    """Import the noise filter's libraries now (scipy.signal: ~0.7 s of CPU here, several
    seconds on a Pi), so that the kiosk's first take does not wait for them. Thread-safe."""
    _noisereduce()


def _noisereduce():
    """The noisereduce module, imported without torch.

    noisereduce imports torch whenever it can, only for a GPU gate malsori never uses (the
    stationary gate is numpy/scipy); that import alone costs ~280 MB and ~2 s, the larger
    part of a score on a Raspberry Pi. Where torch is already loaded (training) nothing is
    hidden from it.
    """
    if "noisereduce" in sys.modules or "torch" in sys.modules:
        import noisereduce

        return noisereduce

    class HideTorch(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ImportError("torch is hidden from noisereduce (not needed for its stationary gate)")
            return None

    hide = HideTorch()
    sys.meta_path.insert(0, hide)
    try:
        import noisereduce
    finally:
        sys.meta_path.remove(hide)
    return noisereduce
