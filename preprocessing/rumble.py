"""DC offset and sub-speech rumble (mains hum, handling noise, wind) removed before the VAD.

A cheap USB microphone can add a DC offset or 50/60 Hz hum as loud as the speech; the VAD's
energy gate then hears "noise everywhere" and finds no speech. Speech carries nothing a
listener needs below ~70 Hz (the lowest voices' pitch starts around 80 Hz).
"""

from __future__ import annotations

import numpy as np

from .config import PreprocessConfig

ORDER = 6  # Butterworth-like slope: -35 dB at 50 Hz for a 70 Hz cut-off, -0.1 dB at 100 Hz


def remove_rumble(y: np.ndarray, *, sr: int, cfg: PreprocessConfig) -> np.ndarray:
    """float32 (samples,) → the same without DC and with content below cfg.highpass_hz removed.

    A zero-phase high-pass in the frequency domain (|H|² of an order-ORDER Butterworth), so
    nothing shifts in time: speech bounds stay where they were. cfg.highpass_hz = 0 only
    removes the DC offset.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.size == 0:
        return y
    y = y - np.float32(np.mean(y, dtype=np.float64))  # DC first: zero padding below adds no step
    if cfg.highpass_hz <= 0:
        return y
    n = 1 << max(0, (len(y) - 1).bit_length())  # padding to a power of two keeps the FFT fast
    spectrum = np.fft.rfft(y, n=n)
    f = np.fft.rfftfreq(n, d=1.0 / sr)
    with np.errstate(divide="ignore"):
        gain = 1.0 / (1.0 + (cfg.highpass_hz / f) ** (2 * ORDER))
    gain[0] = 0.0
    return np.fft.irfft(spectrum * gain, n=n)[: len(y)].astype(np.float32)
