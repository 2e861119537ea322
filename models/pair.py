"""The pair formula, in one object: two takes → terms → one distance → a 0–100 score.

`PairScorer` owns every network, weight and calibration that turns two takes into a score:

    features(utterance)        → Features: frame embeddings (+ each recognizer's phoneme log-probabilities)
    through_channel(a, b)      → take a as take b's channel carries it (band, floor)
    one_channel(a, b)          → (a, b) heard through one channel: the narrower side's
    terms(a, b[, expected])    → {"dtw": …, "pronunciation": …, "voices": …}: what the networks measure
    combine(terms)             → distance = dtw + Σ weight[term] × term   (floats or arrays)
    distance(a, b[, expected]) → PairDistance: the distance, its terms, the DTW alignment
    score(distance)            → 0–100 through the calibration

`Scorer.score_pair` (the kiosk, the CLI, `malsori evaluate`) and training's validation,
weight fitting and calibration all go through it, so train and serve cannot drift apart.

Adding a term (another network or measurement): compute it in `terms()` under a new name
(and whatever it needs per take in `features()`), list the name in `EXTRA_TERMS` and its
candidate weights in `WEIGHT_GRIDS`. Training fits the weight on the validation pairs and
the checkpoint saves it in `term_weights`; callers do not change.
"""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable

import numpy as np

from preprocessing import Utterance
from preprocessing.channel import through_channel

from .calibration import Calibration
from .distance import dtw_distance
from .pronunciation import pronunciation_cost

if TYPE_CHECKING:  # torch is imported only where torch networks are used
    from .encoder import FrameEncoder
    from .numpy_net import NumpyEncoder, NumpyRecognizer
    from .recognizer import PhonemeRecognizer

# Terms added to the DTW distance, in the order they are added (the order fixes the float sums).
# "pronunciation": the recognizer trained on espeak-ng (fine distinctions: ㄷ/ㄸ, ㅓ/ㅗ); "voices":
# a second recognizer trained on many voices and people (hears a real person's right take as right).
EXTRA_TERMS = ("pronunciation", "voices")
# The weights training tries for each extra term (ties: the smaller weight).
WEIGHT_GRIDS = {"pronunciation": (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
                "voices": (0.0, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)}


@dataclass(frozen=True)
class Features:
    """A take as the networks see it: made once, reusable for every pair it is in."""

    utterance: Utterance
    embeddings: "torch.Tensor | np.ndarray"  # unit-length frame embeddings [T, D]
    log_probs: "torch.Tensor | np.ndarray | None"  # phoneme log-probabilities [T, 1 + symbols]; None: no recognizer
    voices_log_probs: "torch.Tensor | np.ndarray | None" = None  # the same from the voices recognizer


@dataclass(frozen=True)
class PairDistance:
    value: float  # the pair distance: combine(terms)
    terms: dict[str, float]  # "dtw" and every extra term the scorer has
    path: np.ndarray  # int [L, 2]: (frame of a, frame of b) DTW alignment
    cost: np.ndarray  # float32 [Ta, Tb]: cosine cost of every frame pair (the deviation curve's source)


@dataclass(frozen=True)
class PairScorer:
    """Encoder (+ optional phoneme recognizers) + term weights + calibration.

    The DTW distance has weight 1 (its scale is the calibration's business); every extra term
    has a weight in `weights` (absent = 0). calibration may be None while a model is still
    being trained (terms and distances work, scores do not).

    The networks are torch modules (training, evaluation) or their numpy twins from
    models.numpy_net (`load_checkpoint(..., engine="numpy")`: the kiosk and the CLI, which
    then never import torch). Both answer `encoder.embed(image)` and
    `recognizer.log_probs(image)`, and every step below works on either kind of array, so
    the formula is this one; tests/test_numpy_net.py holds the two to the same scores.
    """

    encoder: "FrameEncoder | NumpyEncoder"
    calibration: Calibration | None = None
    recognizer: "PhonemeRecognizer | NumpyRecognizer | None" = None
    weights: dict[str, float] = field(default_factory=dict)
    blank_penalty: float = 0.0  # nats off the blank when the recognizer reads a take (models.pronunciation)
    voices: "PhonemeRecognizer | NumpyRecognizer | None" = None  # the second recognizer: many voices and people
    voices_blank_penalty: float = 0.0

    # --- what the networks see

    def features(self, utterance: Utterance) -> Features:
        """A preprocessed take → its embeddings (and phoneme log-probabilities), on the CPU."""
        embeddings = self.encoder.embed(utterance.image)
        log_probs = self.recognizer.log_probs(utterance.image) if self.recognizer is not None else None
        voices = self.voices.log_probs(utterance.image) if self.voices is not None else None
        return Features(utterance, embeddings, log_probs, voices)

    def through_channel(self, reference: Features, attempt: Features) -> Features:
        """The reference as the attempt's channel would carry it (preprocessing.channel): cut to
        the attempt's band, under its noise floor, when the attempt is band-limited (an 8 kHz or
        telephone recording); else the reference itself, untouched (no network runs)."""
        image = through_channel(reference.utterance.image, attempt.utterance.image)
        return reference if image is None else self.features(replace(reference.utterance, image=image))

    def one_channel(self, a: Features, b: Features) -> tuple[Features, Features]:
        """(a, b) heard through one channel: a through b's when b is band-limited, else b through
        a's (a reference recorded narrow against a full-band take)."""
        heard = self.through_channel(a, b)
        if heard is a:
            return a, self.through_channel(b, a)
        return heard, b

    # --- the formula

    def text_symbols(self) -> frozenset[str] | None:
        """The symbols a text's phonemes are written in for this scorer (models.text_phonemes):
        the first recognizer's (the voices one's when it is alone); None without a recognizer."""
        recognizer = self.recognizer or self.voices
        return frozenset(recognizer.symbols) if recognizer is not None else None

    def symbol_ids(self, symbols: tuple[str, ...] | None, recognizer=None) -> list[int] | None:
        """Recognizer symbols ("ko:a", …: models.text_phonemes) → their log-probability columns in
        `recognizer` (default: the first); None without symbols, a recognizer, or when one is not
        the recognizer's."""
        recognizer = recognizer or self.recognizer
        if not symbols or recognizer is None:
            return None
        column = {s: k + 1 for k, s in enumerate(recognizer.symbols)}  # 0 is the CTC blank
        if any(s not in column for s in symbols):
            return None
        return [column[s] for s in symbols]

    def distance(self, a: Features, b: Features, expected: tuple[str, ...] | None = None) -> PairDistance:
        """The pair distance of take b (an attempt) against take a (its reference), the two heard
        through one channel: a through b's when b is band-limited, else b through a's (a
        reference recorded narrow, e.g. a teacher's phone recording, against a full-band take).
        expected: the text's phonemes in the recognizer's symbols (models.text_phonemes), when
        the text is known: the pronunciation term then also judges the attempt against them."""
        made = a
        a, b = self.one_channel(a, b)
        # a reference heard through the attempt's channel is also read as made (pronunciation_cost)
        as_made = made if a is not made else None
        with _no_grad(a.embeddings):
            dtw, path, cost = dtw_distance(a.embeddings, b.embeddings, power=self.encoder.dims.distance_power)
            terms = {"dtw": float(dtw)}
            if self.recognizer is not None:
                terms["pronunciation"] = pronunciation_cost(a.log_probs, b.log_probs, self.blank_penalty,
                                                            self.symbol_ids(expected),
                                                            as_made.log_probs if as_made else None)
            if self.voices is not None:
                terms["voices"] = pronunciation_cost(a.voices_log_probs, b.voices_log_probs, self.voices_blank_penalty,
                                                     self.symbol_ids(expected, self.voices),
                                                     as_made.voices_log_probs if as_made else None)
        return PairDistance(self.combine(terms), terms, path, np.asarray(cost))

    def terms(self, a: Features, b: Features, expected: tuple[str, ...] | None = None) -> dict[str, float]:
        return self.distance(a, b, expected).terms

    def combine(self, terms: dict):
        """dtw + Σ weight × term, for one pair (floats) or many (arrays of the same shape)."""
        total = terms["dtw"]
        for name in EXTRA_TERMS:
            if name in terms:
                total = total + self.weights.get(name, 0.0) * terms[name]
        return total

    def score(self, distance: float) -> float:
        """Distance → 0–100 through the calibration."""
        if self.calibration is None:
            raise ValueError("this pair scorer has no calibration yet")
        return self.calibration.score(distance)

    # --- fitting (training calls these on the validation pairs)

    def fit_weights(self, terms: dict[str, np.ndarray], quality: Callable[[np.ndarray], float]) -> "PairScorer":
        """Each extra term's weight from its grid, the one whose combined distances have the best
        `quality` (e.g. the validation AUC; ties: the smaller weight), one term after the other in
        EXTRA_TERMS order. terms: one array per term over the pairs."""
        fitted = self
        for name in EXTRA_TERMS:
            if name not in terms:
                continue
            tried = [(quality(replace(fitted, weights={**fitted.weights, name: w}).combine(terms)), -w)
                     for w in WEIGHT_GRIDS[name]]
            fitted = replace(fitted, weights={**fitted.weights, name: -max(tried)[1]})
        return fitted

    def weight_options(self, terms: dict) -> list[dict[str, float]]:
        """Every combination of grid weights for the extra terms in `terms` (smallest first): what
        a fit that judges the terms together chooses from (training.train.fit_weights_for_people)."""
        names = [n for n in EXTRA_TERMS if n in terms]
        return [{**self.weights, **dict(zip(names, ws))} for ws in itertools.product(*(WEIGHT_GRIDS[n] for n in names))]

    def with_calibration(self, calibration: Calibration) -> "PairScorer":
        return replace(self, calibration=calibration)

    # --- description

    def parameters(self) -> int:
        return sum(_count(n) for n in (self.encoder, self.recognizer, self.voices) if n is not None)

    def describe(self) -> str:
        """One line for reports: parameters and the formula."""
        how = f"{self.parameters():,} parameters, frame encoder + DTW"
        if self.recognizer is not None:
            how += f" + {self.weights.get('pronunciation', 0.0):g} × phoneme-recognizer pronunciation cost"
        if self.voices is not None:
            how += f" + {self.weights.get('voices', 0.0):g} × voices-recognizer pronunciation cost"
        return how


def _no_grad(array):
    """torch.no_grad() for torch tensors; nothing to do for numpy arrays (no torch import)."""
    if isinstance(array, np.ndarray):
        return contextlib.nullcontext()
    import torch

    return torch.no_grad()


def _count(network) -> int:
    if hasattr(network, "weights"):  # a numpy twin
        return sum(int(w.size) for w in network.weights.values())
    from .encoder import count_parameters

    return count_parameters(network)
