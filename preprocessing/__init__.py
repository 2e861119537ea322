"""Front end: pure functions from audio arrays to grayscale mel images.

Knows nothing of Qt, torch or devices. Every stage takes the sample rate explicitly and
its parameters from one frozen `PreprocessConfig`.
"""

from .audio import load_audio, resample
from .config import PreprocessConfig
from core.errors import MalsoriError
from .mel import mel_image
from .pipeline import Utterance, preprocess
from .vad import speech_flags, trim_silence

__all__ = [
    "MalsoriError",
    "PreprocessConfig",
    "Utterance",
    "load_audio",
    "mel_image",
    "preprocess",
    "resample",
    "speech_flags",
    "trim_silence",
]
