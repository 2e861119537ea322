"""The one front-end chain: validate → rumble filter → level → noise filter → VAD trim → mel image."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .audio import resample
from .config import PreprocessConfig
from .denoise import noise_sample, reduce_noise
from core.errors import (
    AudioTooLongError,
    EmptyAudioError,
    NonFiniteAudioError,
    NoSpeechError,
    SpeechTooShortError,
)
from .mel import mel_image
from .rumble import remove_rumble
from .vad import frame_length, speech_flags, trim_silence


@dataclass(frozen=True)
class Utterance:
    """A preprocessed take, ready for the model."""

    image: np.ndarray  # float32 [n_mels, frames] in [0, 1]
    speech_start_s: float  # detected speech bounds in the input's time base
    speech_end_s: float
    input_duration_s: float
    warnings: tuple[str, ...] = ()

    @property
    def speech_duration_s(self) -> float:
        return self.speech_end_s - self.speech_start_s


def clipped_fraction(y: np.ndarray, *, cfg: PreprocessConfig) -> float:
    """Fraction of samples at or above full scale (|y| >= cfg.clip_level)."""
    return float(np.mean(np.abs(y) >= cfg.clip_level)) if y.size else 0.0


def check_audio(y: np.ndarray, *, sr: int, cfg: PreprocessConfig) -> list[str]:
    """Raise for audio no score can be made from; return warnings for doubtful audio."""
    if y.size == 0:
        raise EmptyAudioError("the audio holds no samples")
    if not np.all(np.isfinite(y)):
        raise NonFiniteAudioError("the audio contains NaN or infinite samples")
    duration = len(y) / sr
    if duration > cfg.max_duration_s:
        raise AudioTooLongError(
            f"the audio is {duration:.1f} s long; at most {cfg.max_duration_s:.0f} s can be scored"
        )
    warnings = []
    clipped = clipped_fraction(y, cfg=cfg)
    if clipped > cfg.clip_warn_fraction:
        warnings.append(
            f"the recording is clipped ({clipped:.1%} of samples at full scale): "
            "speak a little further from the microphone"
        )
    return warnings


def normalize_peak(y: np.ndarray, *, cfg: PreprocessConfig) -> np.ndarray:
    peak = float(np.max(np.abs(y)))
    if peak < 10 ** (cfg.min_peak_dbfs / 20):
        raise NoSpeechError(
            "no speech was heard: the recording is almost silent (is the microphone muted?)"
        )
    return (y * (cfg.peak_level / peak)).astype(np.float32)


def preprocess(y: np.ndarray, *, sr: int, cfg: PreprocessConfig) -> Utterance:
    """Audio at any rate → Utterance. The kiosk, the CLI and training all call this."""
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError("expected mono audio of shape (samples,)")
    warnings = check_audio(y, sr=sr, cfg=cfg)
    duration = len(y) / sr
    if duration < cfg.min_speech_s:  # too short to hold a word, whatever the VAD would say
        raise SpeechTooShortError(
            f"the recording is only {duration:.2f} s long; say the whole word (at least {cfg.min_speech_s:.1f} s)"
        )
    y = resample(y, orig_sr=sr, sr=cfg.sample_rate)
    sr = cfg.sample_rate
    y = remove_rumble(y, sr=sr, cfg=cfg)
    y = normalize_peak(y, cfg=cfg)

    flags = speech_flags(y, sr=sr, cfg=cfg)
    if not flags.any():
        raise NoSpeechError("no speech was heard: the recording is silent or only noise")
    noise = noise_sample(y, flags, frame_len=frame_length(sr=sr, cfg=cfg), sr=sr, cfg=cfg)
    clean = reduce_noise(y, sr=sr, noise=noise, cfg=cfg)
    if clean is not y:
        flags = speech_flags(clean, sr=sr, cfg=cfg)
    speech, (start, end) = trim_silence(clean, sr=sr, cfg=cfg, flags=flags)
    if end - start < cfg.min_speech_s:
        raise SpeechTooShortError(
            f"only {end - start:.2f} s of speech was heard; say the whole word "
            f"(at least {cfg.min_speech_s:.1f} s)"
        )
    return Utterance(
        image=mel_image(speech, sr=sr, cfg=cfg),
        speech_start_s=start,
        speech_end_s=end,
        input_duration_s=duration,
        warnings=tuple(warnings),
    )
