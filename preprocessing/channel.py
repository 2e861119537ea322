"""The reference as the attempt's channel would carry it: pure functions on two mel images.

A take recorded through a narrow channel (an 8 kHz recorder, a telephone band, a cheap
sound card's 8-bit dithered output) has nothing above its band edge, and the channel's
noise floor (dither: a flat hiss ~45 dB under the peak) fills its pauses. A clean TTS
reference keeps both: a correct word then looks wrong because of what the channel could
not carry (espeak-ng's /s/ lives mostly above 4 kHz; at 8 kHz the phoneme recognizer hears
"사" as "아"). Comparing like with like — the reference cut to the attempt's band, and
under the attempt's floor — removes that, and leaves a full-band attempt's pair as it was.

Images are the front end's grayscale mel images: float32 [n_mels, frames] in [0, 1], low
bands at row 0, 0 = cfg.top_db below the take's loudest bin.
"""

from __future__ import annotations

import numpy as np

SILENT = 0.1  # a band whose every frame stays under this (72 dB under the peak at top_db 80) carries nothing
MIN_SILENT_BANDS = 4  # a band edge: at least this many silent bands at the top (≈ 500 Hz at 4 kHz)
QUIET_FRACTION = 0.1  # the noise floor: the mean of the quietest 10 % of frames, per band
FLOOR_MARGIN = 0.05  # a floor matters where the attempt's lies this much (4 dB) over the reference's


def band_edge(image: np.ndarray) -> int:
    """Bands from this row up carry nothing in any frame (a band-limited take); n_mels: none."""
    loud = np.flatnonzero(image.max(axis=1) >= SILENT)
    edge = int(loud[-1]) + 1 if loud.size else 0
    return edge if image.shape[0] - edge >= MIN_SILENT_BANDS else image.shape[0]


def noise_floor(image: np.ndarray) -> np.ndarray:
    """Per band, the mean of the take's quietest frames (by mean over bands): float32 [n_mels]."""
    k = max(1, int(image.shape[1] * QUIET_FRACTION))
    quiet = np.argsort(image.mean(axis=0), kind="stable")[:k]
    return image[:, quiet].mean(axis=1).astype(np.float32)


def through_channel(reference: np.ndarray, attempt: np.ndarray) -> np.ndarray | None:
    """The reference image cut to the attempt's band and lifted to its noise floor, or None when
    the attempt is not band-limited where the reference has sound (then nothing changes).

    The floor is only matched with the band: on full-band noisy takes (a room, a fan) it moved
    the synthetic test split the wrong way (1-edit AUC 0.853 → 0.850), so those are left to
    the noise filter and to training, which sees such noise.
    """
    edge = band_edge(attempt)
    if edge >= attempt.shape[0] or reference[edge:].max(initial=0.0) < SILENT:
        return None
    out = reference.copy()
    out[edge:] = 0.0
    floor = noise_floor(attempt)
    if np.max(floor - noise_floor(out)) > FLOOR_MARGIN:
        # each bin at least the attempt's floor: dB addition of two powers ≈ their maximum (≤ 3 dB off)
        out = np.maximum(out, floor[:, None])
    return out.astype(np.float32)
