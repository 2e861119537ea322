"""The pair formula is one object: its terms combine as documented, its weights are fitted to
what separates right from wrong, and the checkpoint keeps every part of it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models import Calibration, Checkpoint, EncoderDims, FrameEncoder, PairScorer, Scorer, load_checkpoint, save_checkpoint
from models.recognizer import PhonemeRecognizer
from preprocessing import PreprocessConfig
from speech import SR, pad, speak


def _auc(correct: np.ndarray):
    """quality(distances) = P(a correct pair is nearer than a wrong one)."""
    def quality(d):
        return float(np.mean(d[correct][:, None] < d[~correct][None, :]))
    return quality


def test_fit_weights_takes_the_term_that_separates_and_leaves_one_that_does_not():
    rng = np.random.default_rng(0)
    correct = np.arange(200) < 100
    dtw = rng.normal(0.5, 0.1, 200)  # no help at all
    helpful = np.where(correct, 0.0, 1.0) + rng.normal(0, 0.3, 200)
    pair = PairScorer(FrameEncoder())
    assert pair.fit_weights({"dtw": dtw, "pronunciation": helpful}, _auc(correct)).weights["pronunciation"] > 0
    noise = rng.normal(0, 1.0, 200)
    dtw_good = np.where(correct, 0.2, 0.8) + rng.normal(0, 0.01, 200)
    assert pair.fit_weights({"dtw": dtw_good, "pronunciation": noise}, _auc(correct)).weights["pronunciation"] == 0
    assert pair.fit_weights({"dtw": dtw}, _auc(correct)) is pair  # no recognizer: nothing to fit


def test_a_saved_pair_scorer_scores_as_its_formula_says(tmp_path):
    torch.manual_seed(0)
    pair = PairScorer(FrameEncoder(), Calibration(0.4, 0.05), PhonemeRecognizer(EncoderDims(), ["a", "b", "s"]),
                      {"pronunciation": 0.2})
    back = load_checkpoint(save_checkpoint(tmp_path / "m.pt", Checkpoint(pair, PreprocessConfig()))).pair
    assert back.weights == {"pronunciation": 0.2} and back.calibration == pair.calibration
    scorer = Scorer(Checkpoint(back, PreprocessConfig()))
    ref = scorer.features((pad(speak("사과"), lead_s=0.3, trail_s=0.3), SR))
    att = scorer.features((pad(speak("바다", voice="ko+m3"), lead_s=0.3, trail_s=0.3), SR))
    d = back.distance(ref, att)
    assert d.value == d.terms["dtw"] + 0.2 * d.terms["pronunciation"]
    result = scorer.score_pair(ref, att)
    assert result.distance == d.value and result.score == pytest.approx(pair.calibration.score(d.value))
    assert result.phoneme_cost == d.terms["pronunciation"]
