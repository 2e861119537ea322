"""Checkpoints carry their front end and calibration; bad ones fail loudly; scores are monotone."""

import numpy as np
import pytest
import torch

from models import (
    Calibration,
    Checkpoint,
    EncoderDims,
    FrameEncoder,
    PairScorer,
    Scorer,
    count_parameters,
    load_checkpoint,
    save_checkpoint,
)
from models.checkpoint import FORMAT_VERSION
from preprocessing import PreprocessConfig
from core.errors import ModelError
from speech import SR, pad, speak


def _checkpoint(**cfg):
    torch.manual_seed(0)
    return Checkpoint(PairScorer(FrameEncoder(), Calibration(0.3, 0.05)), PreprocessConfig(**cfg), {"data_hash": "abc"})


def test_round_trip_keeps_weights_front_end_calibration_and_provenance(tmp_path):
    ckpt = _checkpoint(vad_aggressiveness=2, top_db=70.0)
    path = save_checkpoint(tmp_path / "m.pt", ckpt)
    back = load_checkpoint(path)
    assert back.preprocess == ckpt.preprocess
    assert back.pair.calibration == ckpt.pair.calibration
    assert back.provenance == {"data_hash": "abc"}
    ref = (pad(speak("사과"), lead_s=0.2, trail_s=0.2), SR)
    att = (pad(speak("사과", voice="ko+f2"), lead_s=0.3, trail_s=0.1), SR)
    assert Scorer(back).score_pair(ref, att).score == pytest.approx(Scorer(ckpt).score_pair(ref, att).score)


def test_the_encoder_is_small():
    assert count_parameters(FrameEncoder(EncoderDims())) <= 1_000_000


def test_encoder_keeps_one_unit_embedding_per_image_column():
    out = FrameEncoder()(torch.rand(3, 64, 57))
    assert out.shape == (3, 57, 64)
    assert torch.allclose(out.norm(dim=-1), torch.ones(3, 57), atol=1e-5)


def test_missing_checkpoint_says_no_trained_model(tmp_path):
    with pytest.raises(ModelError, match="no trained model"):
        load_checkpoint(tmp_path / "none.pt")


def test_truncated_checkpoint_is_reported_as_corrupt(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", _checkpoint())
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(ModelError, match="corrupt"):
        load_checkpoint(path)


def test_checkpoint_of_another_format_version_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", _checkpoint())
    payload = torch.load(path, weights_only=True)
    payload["format_version"] = FORMAT_VERSION + 1
    torch.save(payload, path)
    with pytest.raises(ModelError, match="format version"):
        load_checkpoint(path)


def test_checkpoint_whose_weights_do_not_fit_its_dims_is_incompatible(tmp_path):
    path = save_checkpoint(tmp_path / "m.pt", _checkpoint())
    payload = torch.load(path, weights_only=True)
    payload["dims"]["embed_dim"] = 32
    torch.save(payload, path)
    with pytest.raises(ModelError, match="incompatible"):
        load_checkpoint(path)


def test_calibration_is_strictly_decreasing_and_bounded():
    cal = Calibration.fit(np.array([0.1, 0.12, 0.15]), np.array([0.4, 0.5, 0.6]))
    d = np.linspace(0, 2, 50)
    scores = np.array([cal.score(x) for x in d])
    assert np.all(np.diff(scores) < 0)
    assert 0 <= scores.min() and scores.max() <= 100
    assert cal.score(0.12) == pytest.approx(90, abs=0.5) and cal.score(0.5) == pytest.approx(10, abs=0.5)


def test_deviation_curve_points_at_the_part_that_differs():
    """Same first word, different second word: the worst segment lies in the second half."""
    scorer = Scorer(_checkpoint())
    gap = np.zeros(int(0.25 * SR), np.float32)
    ref = np.concatenate([speak("사과"), gap, speak("사과")])
    att = np.concatenate([speak("사과"), gap, speak("바다")])
    r = scorer.score_pair((pad(ref, lead_s=0.3, trail_s=0.3), SR), (pad(att, lead_s=0.3, trail_s=0.3), SR))
    assert len(r.deviation) == r.attempt_image.shape[1]
    midpoint = r.attempt_image.shape[1] * r.hop_s / 2
    assert r.worst_segment_s[0] > midpoint
