"""DC offset and sub-speech rumble (mains hum, handling noise, wind) removed before the VAD.

A cheap USB microphone can add a DC offset or 50/60 Hz hum as loud as the speech; the VAD's
energy gate then hears "noise everywhere" and finds no speech. Speech carries nothing a
listener needs below ~70 Hz (the lowest voices' pitch starts around 80 Hz; Korea's mains hum is 60 Hz).
"""

from __future__ import annotations

import numpy as np

from .config import PreprocessConfig

EDGE_S = 0.1  # extension at each end: longer than the filter rings
ORDER = 4  # |H|² of an order-4 Butterworth: -16 dB at 50 Hz, -10 dB at 60 Hz, -0.7 dB at 100 Hz (80 Hz cut-off)


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
    # Odd extension at both ends (as scipy's filtfilt does): hum that is cut off mid-cycle
    # at the ends of the take would otherwise ring into its first and last 50 ms.
    edge = min(len(y) - 1, int(EDGE_S * sr))
    x = np.concatenate([2 * y[0] - y[edge:0:-1], y, 2 * y[-1] - y[-2 : -edge - 2 : -1]]) if edge > 0 else y
    n = 1 << max(0, (len(x) - 1).bit_length())  # padding to a power of two keeps the FFT fast
    spectrum = np.fft.rfft(x, n=n)
    f = np.fft.rfftfreq(n, d=1.0 / sr)
    with np.errstate(divide="ignore"):
        gain = 1.0 / (1.0 + (cfg.highpass_hz / f) ** (2 * ORDER))
    gain[0] = 0.0
    return np.fft.irfft(spectrum * gain, n=n)[edge : edge + len(y)].astype(np.float32)
