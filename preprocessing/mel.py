"""The grayscale mel image: log-mel power normalised per utterance to [0, 1]."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .config import PreprocessConfig


@lru_cache(maxsize=8)
def _mel_basis(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)


def n_fft_for(cfg: PreprocessConfig) -> int:
    return 1 << (cfg.win_length - 1).bit_length()


def mel_image(y: np.ndarray, *, sr: int, cfg: PreprocessConfig) -> np.ndarray:
    """float32 [cfg.n_mels, frames] in [0, 1]; one column per cfg.hop_ms, low bands at row 0.

    dB relative to the utterance's own loudest bin, so input gain does not matter;
    everything cfg.top_db below it maps to 0.
    """
    import librosa

    n_fft = n_fft_for(cfg)
    spec = np.abs(
        librosa.stft(y, n_fft=n_fft, hop_length=cfg.hop_length, win_length=cfg.win_length, center=True)
    ) ** 2
    mel = _mel_basis(sr, n_fft, cfg.n_mels, cfg.fmin_hz, cfg.fmax_hz) @ spec
    db = 10.0 * np.log10(np.maximum(mel, 1e-12))
    db -= db.max()
    return np.clip(1.0 + db / cfg.top_db, 0.0, 1.0).astype(np.float32)
