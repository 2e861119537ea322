"""Real speech for tests: espeak-ng renders it, these helpers place it in known silence."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from core import espeak

SR = 16_000


@lru_cache(maxsize=64)
def _spoken(text: str, voice: str, speed_wpm: int, pitch: int) -> np.ndarray:
    y = espeak.synthesize(text, voice=voice, speed_wpm=speed_wpm, pitch=pitch, sr=SR)
    y.setflags(write=False)
    return y


def speak(text: str, *, voice: str = "ko", speed_wpm: int = 160, pitch: int = 50) -> np.ndarray:
    """espeak-ng speech, float32 mono 16 kHz, with espeak's own leading/trailing silence cut.

    The first and last samples above 1 % of the peak are the speech bounds, so a caller
    that pads with known silence knows exactly where speech starts and ends.
    """
    y = _spoken(text, voice, speed_wpm, pitch)
    loud = np.flatnonzero(np.abs(y) > 0.01 * np.abs(y).max())
    return y[loud[0] : loud[-1] + 1].copy()


def pad(y: np.ndarray, *, lead_s: float, trail_s: float, sr: int = SR) -> np.ndarray:
    return np.concatenate(
        [np.zeros(int(lead_s * sr), np.float32), y, np.zeros(int(trail_s * sr), np.float32)]
    )


def add_noise(y: np.ndarray, *, snr_db: float, seed: int = 0, colour: str = "white") -> np.ndarray:
    """Noise at `snr_db` below the power of the speech (samples above 1 % of peak): white
    (flat) or pink (1/f power, down to the lowest frequency the clip holds, like room rumble)."""
    rng = np.random.default_rng(seed)
    speech = y[np.abs(y) > 0.01 * np.abs(y).max()]
    noise = rng.standard_normal(len(y)).astype(np.float32)
    if colour == "pink":
        f = np.fft.rfftfreq(len(y))
        f[0] = f[1]  # no infinite DC
        pink = np.fft.irfft(np.fft.rfft(noise) / np.sqrt(f), len(y))
        noise = (pink - pink.mean()).astype(np.float32)
    elif colour != "white":
        raise ValueError(f"unknown noise colour {colour!r}")
    noise *= np.sqrt(np.mean(speech**2) / 10 ** (snr_db / 10)) / noise.std()
    return (y + noise).astype(np.float32)
