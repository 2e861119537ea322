"""`malsori evaluate` on a tiny espeak-ng corpus: table, metrics and plots for all three methods."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import main
from training.evaluate import add_noise, eer, roc_curve, speech_power, with_peak
from training.metrics import auc


@pytest.fixture(scope="module")
def trained(held_out_training):
    """The shared tiny corpus (its test split: unseen words said by unseen voices) and a model
    trained on it for a few seconds (tests/conftest.py)."""
    data, model, _ = held_out_training
    return data, model


def test_evaluate_cli_writes_table_metrics_and_plots(trained, tmp_path, capsys):
    data, model = trained
    out = tmp_path / "eval"
    rc = main(["evaluate", "--model", str(model), "--data", str(data), "--out", str(out), "--naive-seconds", "1",
               "--robustness-pairs", "3", "--threads", "1", "--jobs", "1", "--no-progress"])
    assert rc == 0
    printed = capsys.readouterr().out
    for method in ("malsori model", "MFCC-DTW", "naive Siamese"):
        assert method in printed
    assert "ROC AUC correct vs 1 edit" in printed
    assert (out / "evaluation.md").read_text(encoding="utf-8").strip() in printed
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    info = metrics["info"]
    assert info["pairs"] == 12 and info["robustness_pairs"] == 3  # 2 words x 2 voices x (right, edit, other)
    assert info["words_also_in_train"] == 0 and info["voices_also_in_train"] == []
    # even a few seconds of training beat chance on unseen words and voices, by a clear margin
    model, mfcc = metrics["malsori model"], metrics["MFCC-DTW"]
    assert model["auc_edit1"] >= 0.75 and model["auc_other"] >= 0.9, model
    assert model["eer"] <= 0.3 and model["spearman"] > 0.3, model  # more edits, lower scores
    assert model["auc_edit1"] >= mfcc["auc_edit1"] + 0.1, (model, mfcc)  # and beat the training-free baseline
    for png in ("roc.png", "score_histograms.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_evaluate_without_a_model_is_a_clear_error(trained, tmp_path, capsys):
    data, _ = trained
    rc = main(["evaluate", "--model", str(tmp_path / "none.pt"), "--data", str(data), "--no-progress"])
    assert rc == 10
    assert "no trained model" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["evaluate", "train", "train-phonemes"])
def test_an_output_that_cannot_be_written_is_refused_before_any_work(trained, tmp_path, capsys, command):
    """Before, `train --out DIR` trained a whole epoch, `evaluate --out FILE` scored every pair,
    and only then failed (evaluate with an internal error)."""
    data, model = trained
    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "results").write_text("not a folder")
    argv = {"evaluate": ["evaluate", "--model", str(model), "--data", str(data), "--out", str(taken / "results")],
            "train": ["train", "--data", str(data), "--out", str(taken)],
            "train-phonemes": ["train-phonemes", "--data", str(data), "--out", str(taken)]}[command]
    assert main([*argv, "--no-progress"]) == 13
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and str(taken) in captured.err
    assert sorted(p.name for p in taken.iterdir()) == ["results"]  # no .state, no partial results


@pytest.mark.parametrize("command", ["train", "train-phonemes"])
def test_a_manifest_given_as_data_is_named_as_a_file_with_its_folder(trained, tmp_path, capsys, command):
    data, _ = trained
    assert main([command, "--data", str(data / "manifest.csv"), "--out", str(tmp_path / "m.pt"), "--no-progress"]) == 16
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a file" in err and f"({data})" in err and "manifest.csv/manifest.csv" not in err


def test_train_phonemes_on_an_empty_folder_points_to_make_corpus_only(tmp_path, capsys):
    """A hand-made manifest (reference, attempt, label) can train the encoder, not the recognizer."""
    assert main(["train-phonemes", "--data", str(tmp_path), "--out", str(tmp_path / "p.pt"), "--no-progress"]) == 16
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "make-corpus" in err and "label" not in err


def test_an_empty_data_folder_names_both_ways_to_fill_it(tmp_path, capsys):
    assert main(["evaluate", "--data", str(tmp_path), "--no-progress"]) == 16
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "make-corpus" in err and "make-realset" in err and "pairs.csv" in err


def test_a_file_given_as_data_is_named_as_a_file_not_told_to_become_a_corpus(tmp_path, capsys):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("reference,attempt\n")
    assert main(["evaluate", "--data", str(pairs), "--no-progress"]) == 16
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is a file" in err and "--out" not in err


@pytest.mark.parametrize("command", ["evaluate", "score", "tts"])
def test_every_option_says_what_it_does_and_its_default(command):
    import argparse

    from app.cli import build_parser

    sub = next(a for a in build_parser(command)._actions if isinstance(a, argparse._SubParsersAction))
    for action in sub.choices[command]._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{command} {action.option_strings}: no help text"
        if action.default not in (None, False, True):
            assert "default" in action.help, f"{command} {action.option_strings}: default {action.default} not shown"


def test_auc_eer_and_roc_on_known_scores():
    pos, neg = np.array([0.9, 0.8, 0.7]), np.array([0.1, 0.75, 0.2])
    assert auc(pos, neg) == pytest.approx(8 / 9)
    assert auc(pos, pos) == pytest.approx(0.5)
    assert eer(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 0.0
    fpr, tpr = roc_curve(pos, neg)
    assert fpr[0] == tpr[0] == 0.0 and fpr[-1] == tpr[-1] == 1.0 and np.all(np.diff(fpr) >= 0)


def test_gain_and_noise_perturbations_hit_their_levels():
    sr = 16_000
    t = np.arange(sr) / sr
    y = (0.3 * np.sin(2 * np.pi * 220 * t) * (t > 0.3)).astype(np.float32)  # silence, then a tone
    assert np.max(np.abs(with_peak(y, 0.09))) == pytest.approx(0.09, rel=1e-3)
    noisy = add_noise(y, sr=sr, snr_db=10.0, rng=np.random.default_rng(0))
    noise_power = np.mean((noisy - y)[: int(0.3 * sr)] ** 2)  # the silent part is noise only
    assert 10 * np.log10(speech_power(y, sr=sr) / noise_power) == pytest.approx(10.0, abs=1.0)


def test_a_target_without_data_is_not_measured_rather_than_missed_and_plots_warn_nothing(tmp_path):
    """Real-voice data has no one-edit pairs: its AUC is n/a, which is neither met nor MISSED,
    and the plot of that panel draws no empty legend (matplotlib warned "No artists with labels")."""
    import math
    import warnings

    from training.dataset import PairRecord
    from training.evaluate import TARGETS, MethodResult, markdown_table, plot_histograms, plot_roc

    records = [PairRecord("r.wav", f"a{i}.wav", target, kind, -1 if kind != "correct" else 0, "w", "v", "test",
                          None, 0.0) for i, (target, kind) in enumerate([(1.0, "correct"), (0.0, "other_word")] * 3)]
    scores = np.array([90.0, 10.0] * 3)
    metrics = {key: math.nan for key in TARGETS} | {"auc_other": 1.0}
    methods = [MethodResult(name, scores, note="n", metrics=dict(metrics)) for name in ("model", "MFCC-DTW")]
    info = {"split": "test", "pairs": 6, "by_kind": {"correct": 3, "other_word": 3}, "words": 1,
            "words_also_in_train": 0, "voices": ["v"], "voices_also_in_train": [], "robustness_pairs": 0,
            "robustness_refused": 0, "seconds": 1.0}
    table = markdown_table(methods, info)
    assert "ROC AUC correct vs 1 edit: not measured" in table
    assert "MISSED" not in table  # auc_other 1.0 is met; the rest has no data
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any matplotlib warning fails the test
        plot_roc(records, methods, tmp_path / "roc.png")
        plot_histograms(records, methods, tmp_path / "hist.png")
    assert (tmp_path / "roc.png").stat().st_size > 0
