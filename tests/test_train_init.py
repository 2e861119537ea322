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


def test_init_refuses_the_options_that_set_up_a_new_network(tmp_path, capsys):
    """--no-band-norm and --distance-power make a new encoder, as --channels does: a fine-tune keeps
    its start's, so with --init they are refused (one line, exit 2) instead of ignored without a word."""
    import argparse

    from training.train import add_arguments, config_from_args

    start = tmp_path / "start.pt"
    save_checkpoint(start, Checkpoint(PairScorer(FrameEncoder(EncoderDims()), Calibration(0.3, 0.05)),
                                      PreprocessConfig(), {}))
    out = tmp_path / "tuned.pt"
    for option in (["--no-band-norm"], ["--distance-power", "1"], ["--distance-power", "2"]):  # 2: the default
        assert main(["train", "--data", str(tmp_path), "--out", str(out), "--init", str(start), *option]) == 2
        err = capsys.readouterr().err
        assert option[0] in err and "--init" in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()

    p = argparse.ArgumentParser()
    add_arguments(p)
    base = ["--data", str(tmp_path), "--out", str(out)]
    new = config_from_args(p.parse_args([*base, "--no-band-norm", "--distance-power", "1"]))
    assert (new.band_norm, new.distance_power) == (False, 1.0)  # a new network takes them
    default = config_from_args(p.parse_args(base))
    assert (default.band_norm, default.distance_power) == (True, 2.0)
    tuned = config_from_args(p.parse_args([*base, "--init", str(start)]))
    assert (tuned.band_norm, tuned.distance_power) == (True, 2.0)
