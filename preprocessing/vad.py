"""Voice activity detection (webrtcvad) and silence trimming."""

from __future__ import annotations

import numpy as np

from .config import PreprocessConfig
from core.errors import NoSpeechError


def frame_length(*, sr: int, cfg: PreprocessConfig) -> int:
    return sr * cfg.vad_frame_ms // 1000


def speech_flags(y: np.ndarray, *, sr: int, cfg: PreprocessConfig) -> np.ndarray:
    """One bool per VAD frame (cfg.vad_frame_ms long): is there speech?

    A frame is speech when webrtcvad says so AND it is cfg.vad_energy_gate_db above the
    take's noise floor (webrtcvad alone calls steady noise and hum speech). Speech runs
    shorter than cfg.vad_min_run_ms are cleared: a click is not a word.
    """
    import webrtcvad

    n = frame_length(sr=sr, cfg=cfg)
    n_frames = len(y) // n
    if n_frames == 0:
        return np.zeros(0, dtype=bool)
    pcm = (np.clip(y[: n_frames * n], -1.0, 1.0) * 32767).astype("<i2")
    vad = webrtcvad.Vad(cfg.vad_aggressiveness)
    flags = np.fromiter(
        (vad.is_speech(pcm[i * n : (i + 1) * n].tobytes(), sr) for i in range(n_frames)),
        dtype=bool,
        count=n_frames,
    )
    frames = y[: n_frames * n].reshape(n_frames, n).astype(np.float64)
    energy_db = 10.0 * np.log10(np.maximum(np.mean(frames**2, axis=1), 1e-12))
    floor_db = max(float(np.percentile(energy_db, 10)), -100.0)
    flags &= energy_db > floor_db + cfg.vad_energy_gate_db
    return _drop_short_runs(flags, min_run=max(1, -(-cfg.vad_min_run_ms // cfg.vad_frame_ms)))


def _drop_short_runs(flags: np.ndarray, *, min_run: int) -> np.ndarray:
    out = flags.copy()
    edges = np.flatnonzero(np.diff(np.concatenate(([0], flags.astype(np.int8), [0]))))
    for start, end in zip(edges[::2], edges[1::2]):
        if end - start < min_run:
            out[start:end] = False
    return out


def speech_bounds(flags: np.ndarray, *, frame_s: float) -> tuple[float, float] | None:
    """(start_s, end_s) from the first to the last speech frame, or None when all silent."""
    idx = np.flatnonzero(flags)
    if idx.size == 0:
        return None
    return idx[0] * frame_s, (idx[-1] + 1) * frame_s


def trim_silence(
    y: np.ndarray, *, sr: int, cfg: PreprocessConfig, flags: np.ndarray | None = None
) -> tuple[np.ndarray, tuple[float, float]]:
    """Cut leading and trailing non-speech, keeping cfg.vad_pad_ms around the speech.

    Returns the trimmed signal and the detected speech bounds (start_s, end_s) in the
    input's time base (without the padding). Raises NoSpeechError when nothing is speech.
    """
    if flags is None:
        flags = speech_flags(y, sr=sr, cfg=cfg)
    bounds = speech_bounds(flags, frame_s=cfg.vad_frame_ms / 1000)
    if bounds is None:
        raise NoSpeechError("no speech was heard: the recording is silent or only noise")
    pad = cfg.vad_pad_ms / 1000
    i0 = max(0, int((bounds[0] - pad) * sr))
    i1 = min(len(y), int(round((bounds[1] + pad) * sr)))
    return y[i0:i1], bounds
