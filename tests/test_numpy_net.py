"""The numpy serving networks (models/numpy_net.py) give the torch networks' numbers.

The kiosk and the CLI score with numpy twins of the torch networks (no torch import: a
Raspberry Pi's memory and start-up). Held here to the same scores as torch: the 50 fixed
pairs of tests/test_pair_scores.py with the frozen model, and each network on real
espeak-ng speech with untrained models of other shapes (so a change to the torch encoder
that the numpy copy misses fails here).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from core.errors import ModelError
from models import Scorer, load_checkpoint, numpy_net
from models.encoder import EncoderDims, FrameEncoder
from models.recognizer import LOGIT_SCALE, PhonemeRecognizer, greedy_phonemes, sequence_cost
from preprocessing import PreprocessConfig, preprocess
from speech import SR, pad, speak
from test_pair_scores import EXPECTED, FROZEN_MODEL, REFERENCES, _attempts

IMAGE_CFG = PreprocessConfig()


def _image(text: str, voice: str = "ko") -> np.ndarray:
    return preprocess(pad(speak(text, voice=voice), lead_s=0.3, trail_s=0.3), sr=SR, cfg=IMAGE_CFG).image


def test_fifty_pairs_score_as_with_torch():
    """The serving engine against the torch engine's stored results for the same 50 pairs."""
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))["pairs"]
    scorer = Scorer.from_path(FROZEN_MODEL, engine="numpy")
    got = []
    for text, voice in REFERENCES:
        ref = scorer.features((pad(speak(text, voice=voice), lead_s=0.3, trail_s=0.3), SR), side="reference")
        assert isinstance(ref.embeddings, np.ndarray)  # really the numpy networks
        got += [scorer.score_pair(ref, (attempt, SR)) for _, attempt in _attempts(text, voice)]
    assert len(got) == len(expected) == 50
    for g, e in zip(got, expected):
        where = f"{e['reference']} / {e['attempt']}"
        assert g.score == pytest.approx(e["score"], abs=1e-3), where  # measured: ≤ 4e-5
        assert g.distance == pytest.approx(e["distance"], rel=1e-5, abs=1e-6), where
        assert g.phoneme_cost == pytest.approx(e["phoneme_cost"], rel=1e-4, abs=1e-5), where
        assert list(g.worst_segment_s) == pytest.approx(e["worst_segment_s"]), where


def test_a_checkpoint_that_does_not_fit_is_refused_by_both_engines(tmp_path):
    import torch

    payload = torch.load(FROZEN_MODEL, weights_only=True)
    del payload["state_dict"]["project.bias"]
    torch.save(payload, tmp_path / "broken.pt")
    for engine in ("torch", "numpy"):
        with pytest.raises(ModelError, match="incompatible checkpoint"):
            load_checkpoint(tmp_path / "broken.pt", engine=engine)
    (tmp_path / "cut.pt").write_bytes(FROZEN_MODEL.read_bytes()[:5000])
    for engine in ("torch", "numpy"):
        with pytest.raises(ModelError, match="corrupt or truncated"):
            load_checkpoint(tmp_path / "cut.pt", engine=engine)


def test_reads_a_checkpoint_without_torch_exactly(tmp_path):
    model = FrameEncoder(EncoderDims(channels=(8, 8), context_layers=1))
    payload = {"format": "x", "nested": {"n": 3, "f": 0.5, "list": [1, "a"]}, "state_dict": model.state_dict()}
    torch.save(payload, tmp_path / "m.pt")
    read = numpy_net.read_torch_file(tmp_path / "m.pt")
    assert read["format"] == "x" and read["nested"] == {"n": 3, "f": 0.5, "list": [1, "a"]}
    assert read["state_dict"].keys() == model.state_dict().keys()
    for key, value in model.state_dict().items():
        assert read["state_dict"][key].dtype == np.float32
        np.testing.assert_array_equal(read["state_dict"][key], value.numpy())


def test_refuses_a_pickle_that_builds_other_objects(tmp_path):
    torch.save({"odd": torch.nn.Linear(2, 2)}, tmp_path / "m.pt")  # a whole module, not weights
    with pytest.raises(Exception, match="unexpected"):
        numpy_net.read_torch_file(tmp_path / "m.pt")


@pytest.mark.parametrize("dims", [
    EncoderDims(),
    EncoderDims(channels=(8, 16, 16), embed_dim=32, context_layers=3, context_kernel=3),
    EncoderDims(band_norm=False, context_layers=0),
], ids=["default", "other-shape", "no-band-norm"])
def test_encoder_matches_torch(dims):
    torch.manual_seed(0)
    model = FrameEncoder(dims).eval()
    weights = {k: v.numpy() for k, v in model.state_dict().items()}
    for text in ("사과", "감사합니다"):
        image = _image(text)
        with torch.no_grad():
            expected = model(torch.from_numpy(image)[None])[0].numpy()
        got = numpy_net.encode(weights, dims, image)
        assert got.shape == expected.shape and got.dtype == np.float32
        np.testing.assert_allclose(got, expected, atol=2e-6)


def test_recognizer_and_ctc_cost_match_torch():
    torch.manual_seed(1)
    assert numpy_net.LOGIT_SCALE == LOGIT_SCALE
    recognizer = PhonemeRecognizer(EncoderDims(), symbols=list("abcdefgh")).eval()
    weights = {k: v.numpy() for k, v in recognizer.state_dict().items()}
    image = _image("물 좀 주세요.")
    expected = recognizer.log_probs(image)
    got = numpy_net.recognizer_log_probs(weights, recognizer.dims, image)
    np.testing.assert_allclose(got, expected.numpy(), atol=2e-5)
    sequences = [greedy_phonemes(expected), [3, 3, 1], [2], [], [5] * (image.shape[1] + 5)]  # the last: impossible (cost 0)
    together = numpy_net.ctc_costs(got, sequences)  # one pass over the frames for all five
    for symbols, cost in zip(sequences, together, strict=True):
        assert cost == pytest.approx(sequence_cost(expected, symbols), rel=1e-5, abs=1e-4)
        assert cost == numpy_net.ctc_costs(got, [symbols])[0]  # the same number as alone


_WITHOUT_TORCH = (
    "import importlib.abc, sys\n"
    "class Hide(importlib.abc.MetaPathFinder):  # an installation without torch (a Raspberry Pi's)\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        if name.split('.')[0] == 'torch':\n"
    "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
    "sys.meta_path.insert(0, Hide())\n"
    "from app.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def test_without_torch_score_works_and_training_says_what_to_install(tmp_path):
    root = Path(__file__).resolve().parent.parent
    env = {"MALSORI_HOME": str(tmp_path / "home"), "MALSORI_MODEL": str(FROZEN_MODEL), "PYTHONPATH": str(root),
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    ref, att = tmp_path / "ref.wav", tmp_path / "att.wav"
    sf.write(ref, pad(speak("사과"), lead_s=0.3, trail_s=0.3), SR)
    sf.write(att, pad(speak("사과", voice="ko+m3"), lead_s=0.3, trail_s=0.3), SR)

    def malsori(*args):
        return subprocess.run([sys.executable, "-c", _WITHOUT_TORCH, *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)

    scored = malsori("score", str(ref), str(att))
    assert scored.returncode == 0, scored.stderr
    assert 0 <= float(scored.stdout) <= 100
    train = malsori("train", "--data", str(tmp_path), "--out", str(tmp_path / "m.pt"))
    assert train.returncode == 2
    assert train.stderr.count("\n") == 1 and "needs torch" in train.stderr and "--train" in train.stderr
