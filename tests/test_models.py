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


def _trained_looking(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Weights moved away from any seed's initialisation, as training would leave them."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=g))
    return module


def test_round_trip_gives_back_the_model_that_was_saved(tmp_path):
    """What was saved is what loads: every weight of both networks, the term weight, the
    calibration, the front end and provenance; and the loaded model scores a pair exactly as
    the in-memory one did."""
    from models.recognizer import PhonemeRecognizer

    torch.manual_seed(0)
    dims = EncoderDims(distance_power=2.0)
    encoder = _trained_looking(FrameEncoder(dims), 1)
    recognizer = _trained_looking(PhonemeRecognizer(dims, ["ko:a", "ko:s", "ko:k"]), 2)
    ckpt = Checkpoint(PairScorer(encoder, Calibration(0.4, 0.07), recognizer, {"pronunciation": 0.3}),
                      PreprocessConfig(vad_aggressiveness=2, top_db=70.0), {"data_hash": "abc"})
    back = load_checkpoint(save_checkpoint(tmp_path / "m.pt", ckpt))

    for saved, loaded in ((ckpt.pair.encoder, back.pair.encoder), (ckpt.pair.recognizer, back.pair.recognizer)):
        want, got = saved.state_dict(), loaded.state_dict()
        assert want.keys() == got.keys()
        for name in want:
            assert torch.equal(want[name], got[name]), name
        assert loaded.dims == saved.dims
    assert tuple(back.pair.recognizer.symbols) == ("ko:a", "ko:s", "ko:k")
    assert back.pair.weights == {"pronunciation": 0.3} and back.pair.calibration == ckpt.pair.calibration
    assert back.preprocess == ckpt.preprocess and back.provenance == {"data_hash": "abc"}

    ref = (pad(speak("사과"), lead_s=0.2, trail_s=0.2), SR)
    att = (pad(speak("사과", voice="ko+f2"), lead_s=0.3, trail_s=0.1), SR)
    before, after = Scorer(ckpt).score_pair(ref, att), Scorer(back).score_pair(ref, att)
    assert after.distance == before.distance and after.phoneme_cost == before.phoneme_cost
    assert after.score == before.score


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
