"""`malsori train --init` keeps the start model's front end: a model fine-tuned from another
is trained on, and saved with, the images its weights were made for."""

from __future__ import annotations

import torch

from app.cli import main
from models import Calibration, Checkpoint, EncoderDims, FrameEncoder, PairScorer, load_checkpoint, save_checkpoint
from preprocessing import PreprocessConfig
from tests.tiny_corpus import make_tiny_corpus


def test_init_keeps_the_start_models_front_end(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    make_tiny_corpus(corpus, words=("바다", "나무", "사과"))
    front_end = PreprocessConfig(n_mels=48, top_db=70.0, vad_aggressiveness=2)  # not the defaults
    torch.manual_seed(0)
    start = tmp_path / "start.pt"
    save_checkpoint(start, Checkpoint(PairScorer(FrameEncoder(EncoderDims(n_mels=48)), Calibration(0.3, 0.05)),
                                      front_end, {"note": "a start model with its own front end"}))
    out = tmp_path / "tuned.pt"
    assert main(["train", "--data", str(corpus), "--out", str(out), "--init", str(start), "--max-epochs", "1",
                 "--steps-per-epoch", "2", "--batch-size", "4", "--threads", "1", "--jobs", "1",
                 "--no-progress"]) == 0
    tuned = load_checkpoint(out)  # a 48-band model saved with a 64-band front end would not even load
    assert tuned.preprocess == front_end
    assert tuned.pair.encoder.dims.n_mels == 48
    assert "val AUC" in capsys.readouterr().out  # it trained and validated on 48-band images
