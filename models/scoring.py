"""`score_pair(reference, attempt) -> ScoreResult`: the one scoring path for kiosk, CLI and evaluation."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import numpy as np
import torch

from preprocessing import Utterance, load_audio, preprocess
from preprocessing.errors import MalsoriError

from .calibration import Calibration
from .checkpoint import Checkpoint, load_checkpoint
from .distance import deviation_curve, dtw_distance, worst_segment
from .phonemes import pronunciation_cost


@dataclass(frozen=True)
class Features:
    """A take as the networks see it: made once by `Scorer.features`, reusable for every
    pair it is in (a reference scored against a class's takes)."""

    utterance: Utterance
    embeddings: torch.Tensor  # unit-length frame embeddings [T, D]
    log_probs: torch.Tensor | None  # phoneme log-probabilities [T, 1 + symbols]; None: no recognizer


# What score_pair accepts on each side: Features, a preprocessed Utterance,
# (audio, sample_rate), or a path to an audio file.
Audio = Union[Features, Utterance, tuple, str, os.PathLike]

WORST_SEGMENT_MS = 150  # width of the highlighted "differs most here" window


@dataclass
class ScoreResult:
    score: float  # 0–100, calibrated
    distance: float  # pair distance (0 = identical): DTW cost + weight × phoneme cost
    reference_image: np.ndarray = field(repr=False)  # float32 [n_mels, Tr] in [0, 1]
    attempt_image: np.ndarray = field(repr=False)  # float32 [n_mels, Ta]
    reference_speech_s: float
    attempt_speech_s: float
    deviation: np.ndarray = field(repr=False)  # float32 [Ta]: aligned distance per attempt frame
    path: np.ndarray = field(repr=False)  # int [L, 2]: (reference frame, attempt frame) alignment
    hop_s: float  # seconds per image column
    worst_segment_s: tuple[float, float]  # the attempt's span that differs most (image time)
    warnings: list[str] = field(default_factory=list)
    phoneme_cost: float | None = None  # nats per reference phoneme (models.phonemes); None: no recognizer

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
        }


class Scorer:
    """A loaded model with its own front end and calibration. Thread-compatible for reads."""

    def __init__(self, checkpoint: Checkpoint):
        self.checkpoint = checkpoint
        self.model = checkpoint.model.eval()
        self.cfg = checkpoint.preprocess
        self.calibration: Calibration = checkpoint.calibration
        self.phonemes = checkpoint.phonemes

    @classmethod
    def from_path(cls, path: str | os.PathLike) -> "Scorer":
        return cls(load_checkpoint(path))

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
            where = side if isinstance(audio, tuple) or str(audio) in str(exc) else f"{side} {audio}"
            raise type(exc)(f"{where}: {exc}") from exc

    @torch.no_grad()
    def embed(self, image: np.ndarray) -> torch.Tensor:
        """float32 [n_mels, T] → unit-length embeddings [T, D]."""
        return self.model(torch.from_numpy(image).unsqueeze(0))[0]

    @torch.no_grad()
    def features(self, audio: Audio, *, side: str = "audio") -> Features:
        """Anything score_pair accepts → Features (front end, encoder and recognizer run once)."""
        if isinstance(audio, Features):
            return audio
        utt = self.prepare(audio, side=side)
        log_probs = self.phonemes.log_probs(utt.image) if self.phonemes is not None else None
        return Features(utt, self.embed(utt.image), log_probs)

    @torch.no_grad()
    def score_pair(self, reference: Audio, attempt: Audio) -> ScoreResult:
        ref_f, att_f = self.features(reference, side="reference"), self.features(attempt, side="attempt")
        ref, att = ref_f.utterance, att_f.utterance
        distance, path, cost = dtw_distance(ref_f.embeddings, att_f.embeddings, power=self.model.dims.distance_power)
        distance, phoneme_cost = float(distance), None
        if self.phonemes is not None:
            phoneme_cost = pronunciation_cost(ref_f.log_probs, att_f.log_probs)
            distance += self.checkpoint.phoneme_weight * phoneme_cost
        curve = deviation_curve(cost.numpy(), path, n_attempt=att.image.shape[1])
        hop_s = self.cfg.hop_ms / 1000
        w0, w1 = worst_segment(curve, width=round(WORST_SEGMENT_MS / self.cfg.hop_ms))
        return ScoreResult(
            score=self.calibration.score(distance),
            distance=distance,
            reference_image=ref.image,
            attempt_image=att.image,
            reference_speech_s=ref.speech_duration_s,
            attempt_speech_s=att.speech_duration_s,
            deviation=curve,
            path=path,
            hop_s=hop_s,
            worst_segment_s=(w0 * hop_s, w1 * hop_s),
            warnings=[f"reference: {w}" for w in ref.warnings] + list(att.warnings),
            phoneme_cost=phoneme_cost,
        )
