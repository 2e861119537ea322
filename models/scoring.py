"""`score_pair(reference, attempt) -> ScoreResult`: the one scoring path for kiosk, CLI and evaluation."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np

from preprocessing import Utterance, load_audio, preprocess
from core.errors import MalsoriError, UsageError

from .checkpoint import ENGINES, Checkpoint, load_checkpoint
from .distance import deviation_curve, worst_segment
from .pair import Features, PairScorer


# What score_pair accepts on each side: Features, a preprocessed Utterance,
# (audio, sample_rate), or a path to an audio file.
Audio = Union[Features, Utterance, tuple, str, os.PathLike]

ENGINE_ENV = "MALSORI_ENGINE"  # which networks serve the kiosk and the CLI: numpy (default) or torch
WORST_SEGMENT_MS = 150  # width of the highlighted "differs most here" window


@dataclass
class ScoreResult:
    score: float  # 0–100, calibrated
    distance: float  # pair distance (0 = identical): DTW cost + weight × phoneme cost + weight × voices cost
    reference_image: np.ndarray = field(repr=False)  # float32 [n_mels, Tr] in [0, 1]
    attempt_image: np.ndarray = field(repr=False)  # float32 [n_mels, Ta]
    reference_speech_s: float
    attempt_speech_s: float
    deviation: np.ndarray = field(repr=False)  # float32 [Ta]: aligned distance per attempt frame
    path: np.ndarray = field(repr=False)  # int [L, 2]: (reference frame, attempt frame) alignment
    hop_s: float  # seconds per image column
    worst_segment_s: tuple[float, float]  # the attempt's span that differs most (image time)
    warnings: list[str] = field(default_factory=list)
    phoneme_cost: float | None = None  # nats per reference phoneme (models.recognizer); None: no recognizer
    voices_cost: float | None = None  # the same from the voices recognizer; None: the model has none
    text_phonemes: tuple[str, ...] | None = None  # the text's phonemes the attempt was also judged against

    def to_dict(self) -> dict:
        """JSON-ready: everything but the images and the alignment path."""
        return {
            "score": round(self.score, 2),
            "distance": round(self.distance, 5),
            "reference_speech_s": round(self.reference_speech_s, 3),
            "attempt_speech_s": round(self.attempt_speech_s, 3),
            "hop_s": self.hop_s,
            "worst_segment_s": [round(t, 3) for t in self.worst_segment_s],
            "deviation": [round(float(v), 4) for v in self.deviation],
            "warnings": list(self.warnings),
            "phoneme_cost": None if self.phoneme_cost is None else round(self.phoneme_cost, 5),
            "voices_cost": None if self.voices_cost is None else round(self.voices_cost, 5),
            "text_phonemes": None if self.text_phonemes is None else list(self.text_phonemes),
        }


class Scorer:
    """A loaded model with its own front end: audio in, `ScoreResult` out. The pair formula
    itself is `self.pair` (models.pair.PairScorer). Thread-compatible for reads."""

    def __init__(self, checkpoint: Checkpoint):
        self.checkpoint = checkpoint
        self.pair: PairScorer = checkpoint.pair
        self.cfg = checkpoint.preprocess
        self._text_phonemes: dict[tuple, tuple[str, ...] | None] = {}

    @classmethod
    def from_path(cls, path: str | os.PathLike, *, engine: str = "torch") -> "Scorer":
        return cls(load_checkpoint(path, engine=engine))

    @classmethod
    def load(cls, path: str | os.PathLike | None = None) -> "Scorer":
        """The one loader of the kiosk and the CLI: `path` or the installed model, its networks
        run by numpy (models.numpy_net: the same scores without importing torch, which alone
        costs ~280 MB and ~2 s to start — too much for a Raspberry Pi). MALSORI_ENGINE=torch
        serves with the torch networks instead, on one thread (a pair is a few small
        convolutions: more threads only fight, on a Pi too)."""
        from core.paths import default_model_path

        engine = os.environ.get(ENGINE_ENV) or "numpy"
        if engine not in ENGINES:
            raise UsageError(f"{ENGINE_ENV}={engine!r}: use one of {', '.join(ENGINES)}")
        if engine == "torch":
            import torch

            torch.set_num_threads(1)
        return cls.from_path(path or default_model_path(), engine=engine)

    def prepare(self, audio: Audio, *, side: str = "audio") -> Utterance:
        """Anything score_pair accepts → Utterance through this model's own front end.

        An error names the side ("reference"/"attempt") and the file, so a user knows
        which of the two recordings to fix.
        """
        if isinstance(audio, Features):
            return audio.utterance
        if isinstance(audio, Utterance):
            return audio
        try:
            if isinstance(audio, tuple):
                y, sr = audio
                return preprocess(np.asarray(y, dtype=np.float32), sr=int(sr), cfg=self.cfg)
            y = load_audio(Path(audio), sr=self.cfg.sample_rate, max_duration_s=self.cfg.max_duration_s)
            return preprocess(y, sr=self.cfg.sample_rate, cfg=self.cfg)
        except MalsoriError as exc:
            # one form for every error: "attempt take.wav: no such file", "attempt take.wav: no speech…"
            if isinstance(audio, tuple):
                raise type(exc)(f"{side}: {exc}") from exc
            message = str(exc).removeprefix(f"{audio}: ")  # the loader's messages start with the path
            raise type(exc)(f"{side} {audio}: {message}") from exc

    def features(self, audio: Audio, *, side: str = "audio") -> Features:
        """Anything score_pair accepts → Features (front end, encoder and recognizer run once)."""
        if isinstance(audio, Features):
            return audio
        return self.pair.features(self.prepare(audio, side=side))

    def text_phonemes(self, text: str, *, lang: str, voice: str | None = None) -> tuple[str, ...] | None:
        """espeak-ng's phonemes of the text the attempt should say, in this model's recognizer
        symbols (models.text_phonemes; made once per text); None when they cannot be had (no
        recognizer, no espeak-ng, a sound without a symbol): the pair is then scored without."""
        known = self.pair.text_symbols()
        if known is None:
            return None
        key = (text, lang, voice)
        if key not in self._text_phonemes:
            from .text_phonemes import map_symbols, text_items

            items = text_items(text, lang=lang, voice=voice)
            if items is None:  # espeak-ng missing or failing (a timeout): ask again next time
                return None
            self._text_phonemes[key] = map_symbols(items, set(known), lang=lang)[0]
        return self._text_phonemes[key]

    def score_pair(self, reference: Audio, attempt: Audio, *, expected: tuple[str, ...] | None = None) -> ScoreResult:
        """The attempt scored against the reference; expected: the text's phonemes
        (`text_phonemes`), when the text is known (the kiosk, `score --text`)."""
        ref_f, att_f = self.features(reference, side="reference"), self.features(attempt, side="attempt")
        ref, att = ref_f.utterance, att_f.utterance
        d = self.pair.distance(ref_f, att_f, expected)
        curve = deviation_curve(d.cost, d.path, n_attempt=att.image.shape[1])
        hop_s = self.cfg.hop_ms / 1000
        w0, w1 = worst_segment(curve, width=round(WORST_SEGMENT_MS / self.cfg.hop_ms))
        return ScoreResult(
            score=self.pair.score(d.value),
            distance=d.value,
            reference_image=ref.image,
            attempt_image=att.image,
            reference_speech_s=ref.speech_duration_s,
            attempt_speech_s=att.speech_duration_s,
            deviation=curve,
            path=d.path,
            hop_s=hop_s,
            worst_segment_s=(w0 * hop_s, w1 * hop_s),
            warnings=[f"reference: {w}" for w in ref.warnings] + list(att.warnings),
            phoneme_cost=d.terms.get("pronunciation"),
            voices_cost=d.terms.get("voices"),
            text_phonemes=expected if expected and set(expected) <= (self.pair.text_symbols() or set()) else None,
        )
