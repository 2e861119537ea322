"""Training: seconds on a tiny espeak-ng corpus generalise to words and voices never seen; the
saved checkpoint is the model train() validated; resume, fine-tune and the commands work;
manifests of real recordings are accepted."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from models import Checkpoint, FrameEncoder, PairScorer, Scorer, count_parameters, load_checkpoint
from models.calibration import calibration_through
from models.distance import dtw_distance
from models.pair import WEIGHT_GRIDS
from tests.tiny_corpus import make_tiny_corpus
from training.dataset import (
    BalanceConfig,
    BalancedPairSampler,
    ManifestError,
    load_images,
    read_manifest,
    usable,
)
from training.metrics import auc
from training.train import TrainConfig, train
from preprocessing import PreprocessConfig


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    make_tiny_corpus(out, words=("바다", "나무", "사과", "하늘"))
    return out


@pytest.fixture(scope="module")
def tiny_images(tiny):
    records = read_manifest(tiny)
    images = load_images(records, PreprocessConfig(), cache_dir=tiny, progress=False)
    return usable(records, images), images


def _config(tiny, out, **kw):
    base = dict(data=str(tiny), out=str(out), steps_per_epoch=6, max_epochs=2, batch_size=6, patience=5,
                threads=1, jobs=1, progress=False, val_max_pairs=50)
    return TrainConfig(**{**base, **kw})


def with_pronunciation_weight(ckpt: Checkpoint, weight: float) -> Checkpoint:
    """The same checkpoint with another weight on the phoneme recognizer's pronunciation cost."""
    pair = dataclasses.replace(ckpt.pair, weights={**ckpt.pair.weights, "pronunciation": weight})
    return dataclasses.replace(ckpt, pair=pair)


def held_out_aucs(scorer, records) -> dict:
    """ROC AUC of -distance on `records`: correct takes vs one-vowel edits, vs other words, vs both."""
    features = {}

    def f(path):
        return features.setdefault(path, scorer.features(path))

    closeness = {r.attempt: -scorer.score_pair(f(r.reference), f(r.attempt)).distance for r in records}
    right = [closeness[r.attempt] for r in records if r.kind == "correct"]
    kinds = {k: [closeness[r.attempt] for r in records if r.kind == k] for k in ("edit", "other_word")}
    return {"edit": auc(right, kinds["edit"]), "other_word": auc(right, kinds["other_word"]),
            "wrong": auc(right, kinds["edit"] + kinds["other_word"])}


def test_a_few_seconds_of_training_generalise_to_unseen_words_and_voices(held_out_training):
    """Not memorising: on words and voices it never saw, the trained encoder ranks a right take
    above a one-vowel mistake clearly better than chance and than the same network untrained."""
    data, model_path, _ = held_out_training
    records = read_manifest(data)
    test = [r for r in records if r.split == "test"]
    seen = [r for r in records if r.split != "test"]
    assert {r.word for r in test}.isdisjoint(r.word for r in seen)
    assert {r.voice for r in test}.isdisjoint(r.voice for r in seen)

    trained = load_checkpoint(model_path)
    torch.manual_seed(0)  # train() starts from this seed's weights
    start = FrameEncoder(trained.pair.encoder.dims)
    untrained = Checkpoint(PairScorer(start, trained.pair.calibration), trained.preprocess, {})
    after, before = held_out_aucs(Scorer(trained), test), held_out_aucs(Scorer(untrained), test)
    assert after["edit"] >= 0.75 and after["wrong"] >= 0.85, after  # chance is 0.5
    # learned, not inherited from a lucky start (seeds 0-4: 0.81-0.94, up from 0.63-0.75)
    assert after["edit"] > before["edit"] and after["wrong"] > before["wrong"], (before, after)


def test_the_saved_model_is_the_one_train_validated(held_out_training):
    """Train/serve parity: the checkpoint, scored through Scorer like the kiosk does, gives the
    validation AUCs train() reported for the epoch it kept."""
    data, model_path, summary = held_out_training
    val = [r for r in read_manifest(data) if r.split == "val"]
    served = held_out_aucs(Scorer.from_path(model_path), val)
    assert served["edit"] == pytest.approx(summary["val_metrics"]["auc_edit1"], abs=1e-6)
    assert served["other_word"] == pytest.approx(summary["val_metrics"]["auc_other"], abs=1e-6)


def test_train_writes_a_calibrated_checkpoint_that_scores_and_resumes(tiny, tmp_path):
    out = tmp_path / "model.pt"
    summary = train(_config(tiny, out))
    assert out.is_file() and (tmp_path / "model.pt.state").is_file()
    assert summary["epochs_run"] == 2 and summary["parameters"] <= 1_000_000

    ckpt = load_checkpoint(out)
    assert ckpt.provenance["config"]["seed"] == 0
    assert ckpt.provenance["dataset_hash"] == summary["dataset_hash"]
    assert len(ckpt.provenance["history"]) == 2
    assert count_parameters(ckpt.pair.encoder) == summary["parameters"]

    # --resume continues from the saved epoch instead of starting over
    resumed = train(_config(tiny, out, max_epochs=3, resume=True))
    assert resumed["epochs_run"] == 3
    assert len(load_checkpoint(out).provenance["history"]) == 3

    # --init fine-tunes a trained model (e.g. the shipped one on a school's takes)
    tuned_path = tmp_path / "tuned.pt"
    before = load_checkpoint(out).pair.encoder.state_dict()
    train(_config(tiny, tuned_path, init=str(out), max_epochs=1, lr=1e-9))
    tuned = load_checkpoint(tuned_path)
    assert tuned.provenance["config"]["init"] == str(out)
    for name, weight in tuned.pair.encoder.state_dict().items():
        torch.testing.assert_close(weight, before[name], atol=1e-5, rtol=0)  # started from those weights

    # a fine-tune of that fine-tune records the whole chain back to the run from scratch
    again = tmp_path / "again.pt"
    train(_config(tiny, again, init=str(tuned_path), max_epochs=1, lr=1e-9))
    chain = load_checkpoint(again).provenance["started_from"]
    assert chain["config"]["init"] == str(out) and chain["dataset_hash"] == summary["dataset_hash"]
    assert not chain["started_from"]["config"]["init"] and chain["started_from"]["started_from"] is None
    assert "history" not in chain and "history" not in chain["started_from"]


def test_resume_without_state_is_a_clear_error(tiny, tmp_path):
    with pytest.raises(ManifestError, match="no training state"):
        train(_config(tiny, tmp_path / "none.pt", resume=True))


def test_real_recordings_manifest_with_human_scores_and_no_split(tiny, tmp_path):
    rows = list(csv.DictReader(open(tiny / "manifest.csv", encoding="utf-8")))
    real = tmp_path / "school"
    real.mkdir()
    with open(real / "manifest.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["reference", "attempt", "human_score"])
        w.writeheader()
        for row in rows:
            w.writerow({"reference": str(tiny / row["reference"]), "attempt": str(tiny / row["attempt"]),
                        "human_score": 92 if row["label"] == "1" else 15})
    records = read_manifest(real)
    assert {r.split for r in records} <= {"train", "val", "test"}
    by_ref = {}
    for r in records:
        by_ref.setdefault(r.reference, set()).add(r.split)
    assert all(len(s) == 1 for s in by_ref.values())  # one reference never straddles splits
    assert [r.target for r in records[:3]] == [0.92, 0.15, 0.15]
    assert read_manifest(real) == records  # deterministic


def test_manifest_without_labels_is_refused(tmp_path):
    (tmp_path / "manifest.csv").write_text("reference,attempt\na.wav,b.wav\n", encoding="utf-8")
    with pytest.raises(ManifestError, match="label or human_score"):
        read_manifest(tmp_path)
    with pytest.raises(ManifestError, match="not found"):
        read_manifest(tmp_path / "missing")


def test_balanced_sampler_draws_half_correct(tiny_images):
    records, _ = tiny_images
    sampler = BalancedPairSampler(records, balance=BalanceConfig(edit_share=0.5), seed=1)
    batch = sampler.batch(20)
    labels = np.array([records[i].label for i in batch])
    assert labels.sum() == 10
    assert {records[i].kind for i in batch if records[i].label == 0} == {"edit", "other_word"}
    for right, wrong in sampler.matched(8):  # same word said right and wrong
        assert records[right].reference == records[wrong].reference
        assert records[right].label == 1 and records[wrong].label == 0


def test_power_mean_distance_weighs_a_local_difference_more():
    a = torch.nn.functional.normalize(torch.randn(20, 8), dim=-1)
    b = a.clone()
    b[8:11] = -a[8:11]  # three frames of twenty differ completely
    mean, _, _ = dtw_distance(a, b)
    rms, _, _ = dtw_distance(a, b, power=2.0)
    assert float(rms) > float(mean) > 0.0
    assert float(dtw_distance(a, a, power=2.0)[0]) == pytest.approx(0.0, abs=1e-5)
    for power in (1.0, 2.0):  # the DTW distance does not care which side is the reference
        assert float(dtw_distance(b, a, power=power)[0]) == pytest.approx(float(dtw_distance(a, b, power=power)[0]))


def test_image_cache_is_reused(tiny, tiny_images):
    records, images = tiny_images
    assert list(tiny.glob(".malsori-images-*.npz"))
    again = load_images(read_manifest(tiny), PreprocessConfig(), cache_dir=tiny, progress=False)
    some = records[0].attempt
    np.testing.assert_array_equal(again[some], images[some])


def test_image_cache_is_remade_after_a_front_end_code_change(tiny, tmp_path, monkeypatch, capsys):
    """Editing preprocessing/'s code (config untouched) must not serve the images the old code made."""
    import shutil

    import preprocessing
    import training.dataset as dataset

    package = tmp_path / "preprocessing"
    shutil.copytree(preprocessing.__path__[0], package, ignore=shutil.ignore_patterns("__pycache__"))
    before = dataset.front_end_code_version(package)
    with open(package / "mel.py", "a", encoding="utf-8") as f:
        f.write("\n# a front-end change that leaves PreprocessConfig alone\n")
    after = dataset.front_end_code_version(package)
    assert after != before

    records = read_manifest(tiny)[:2]
    cache = tmp_path / "cache"
    cache.mkdir()
    load_images(records, PreprocessConfig(), cache_dir=cache, progress=False)
    load_images(records, PreprocessConfig(), cache_dir=cache, progress=False)
    assert len(list(cache.glob(".malsori-images-*.npz"))) == 1  # same code: reused
    monkeypatch.setattr(dataset, "front_end_code_version", lambda package=None: after)
    capsys.readouterr()
    load_images(records, PreprocessConfig(), cache_dir=cache, progress=False)
    assert len(list(cache.glob(".malsori-images-*.npz"))) == 2  # new code: new images
    assert "1 other image cache(s)" in capsys.readouterr().err  # the old one's space is pointed out


def test_calibration_through_two_anchors():
    cal = calibration_through(0.1, 90.0, 0.3, 30.0)
    assert cal.score(0.1) == pytest.approx(90.0) and cal.score(0.3) == pytest.approx(30.0)
    assert cal.score(0.0) > 90.0 and cal.score(1.0) < 1.0


def test_training_calibration_is_graded_three_in_four_right_takes_green_a_mistake_at_amber():
    """train's map: 75 (the kiosk's green) at the 75th-percentile distance of right val takes,
    50 (amber) at the median one-mistake distance; wrong words fall far below, not all at 0."""
    from training.dataset import PairRecord
    from training.metrics import fit_calibration

    def rec(target, n_edits):
        return PairRecord("r.wav", "a.wav", target, "correct" if target else "edit", n_edits, "w", "v", "val", None, 0.0)

    right, one_edit, other = np.linspace(0.1, 0.6, 11), np.array([0.7, 0.8, 0.9]), np.array([1.5, 1.8])
    records = [rec(1.0, 0)] * 11 + [rec(0.0, 1)] * 3 + [rec(0.0, -1)] * 2
    cfg = TrainConfig(data="", out="")
    cal = fit_calibration(records, np.concatenate([right, one_edit, other]), good_score=cfg.good_score,
                          edit_score=cfg.edit_score, good_percentile=cfg.good_percentile)
    assert cal.score(np.percentile(right, 75)) == pytest.approx(75.0)
    assert cal.score(0.8) == pytest.approx(50.0)
    assert 90.0 < cal.score(0.1) < 100.0 and 0.5 < cal.score(1.5) < 20.0  # graded at both ends


@pytest.mark.parametrize("case", ["wrong_closer", "all_right"])
def test_a_model_that_does_not_separate_still_gets_a_map_and_says_its_scores_mean_nothing(capsys, case):
    """A tiny corpus or a one-step run (docs/training.md's quick example) used to end in an internal
    error when right val takes were no closer than wrong ones, and no checkpoint was written."""
    from training.dataset import PairRecord
    from training.metrics import fit_calibration

    def rec(target, n_edits):
        return PairRecord("r.wav", "a.wav", target, "correct" if target else "edit", n_edits, "w", "v", "val", None, 0.0)

    if case == "wrong_closer":
        records, distances = [rec(1.0, 0)] * 3 + [rec(0.0, 1)] * 3, np.array([0.3, 0.4, 0.5, 0.1, 0.2, 0.3])
    else:
        records, distances = [rec(1.0, 0)] * 3, np.array([0.1, 0.2, 0.3])
    cal = fit_calibration(records, distances, good_score=75.0, edit_score=50.0)
    assert 0.0 < cal.score(float(np.median(distances))) < 100.0 and cal.score(0.0) > cal.score(1.0)
    assert "mean nothing yet" in capsys.readouterr().err


def _frames(symbols: list[int], n_symbols: int = 6) -> torch.Tensor:
    """Log-probabilities of a confident recognizer hearing `symbols`: 3 frames each, then a blank."""
    rows = []
    for s in symbols:
        rows += [s] * 3 + [0]
    p = torch.full((len(rows), n_symbols + 1), 0.1 / n_symbols)
    p[torch.arange(len(rows)), torch.tensor(rows, dtype=torch.long)] = 0.9
    return p.log()


def test_pronunciation_cost_is_zero_for_the_same_phonemes_and_grows_with_each_wrong_one():
    from models.recognizer import greedy_phonemes, pronunciation_cost

    reference = _frames([1, 2, 3])
    assert greedy_phonemes(reference) == [1, 2, 3]
    assert pronunciation_cost(reference, _frames([1, 2, 3])) == pytest.approx(0.0, abs=1e-3)
    one_wrong = pronunciation_cost(reference, _frames([1, 4, 3]))
    assert one_wrong > 1.0  # nats per reference phoneme
    assert pronunciation_cost(reference, _frames([5, 4, 6])) > 2 * one_wrong
    assert pronunciation_cost(_frames([]), _frames([1, 2])) == 0.0  # nothing heard: DTW alone decides


def test_a_reference_heard_through_a_narrow_channel_is_also_read_as_made():
    """The band-limited copy of a reference may lose a sound the attempt still says (or the full
    band may hold one the attempt's channel cannot carry): the attempt is judged against the
    nearer of the two readings, and a wrong attempt still costs against both."""
    from models.recognizer import pronunciation_cost

    as_made, through_channel = _frames([1, 2, 3]), _frames([1, 3])
    right = _frames([1, 2, 3])
    assert pronunciation_cost(through_channel, right) > 0.5
    assert pronunciation_cost(through_channel, right, reference_as_made_lp=as_made) == pytest.approx(0.0, abs=1e-3)
    wrong = _frames([5, 4, 6])
    assert pronunciation_cost(through_channel, wrong, reference_as_made_lp=as_made) > 2.0
    assert pronunciation_cost(_frames([]), right, reference_as_made_lp=as_made) == pytest.approx(0.0, abs=1e-3)


def test_a_blank_penalty_reads_a_short_sound_the_blank_would_swallow():
    """A vowel whose frames all lean to the blank (0.6 against 0.4) vanishes from the plain
    reading; taking 0.7 nats off the blank reads it, in torch and in numpy alike, and a take
    that says the vowel then costs nothing against that reference."""
    from models.recognizer import greedy_phonemes, pronunciation_cost

    p = torch.full((9, 5), 1e-4)
    p[:3, 1] = 1.0  # "g", clearly
    p[3:6, 0], p[3:6, 2] = 0.6, 0.4  # "u", faint: the blank wins every frame
    p[6:, 3] = 1.0  # "L"
    reference = (p / p.sum(1, keepdim=True)).log()
    says_u = _frames([1, 2, 3], n_symbols=4)
    assert greedy_phonemes(reference) == [1, 3]
    assert greedy_phonemes(reference, 0.7) == [1, 2, 3] == greedy_phonemes(reference.numpy(), 0.7)
    assert pronunciation_cost(reference, says_u) > 1.0
    assert pronunciation_cost(reference, says_u, 0.7) == pytest.approx(0.0, abs=1e-2)
    assert greedy_phonemes(reference, 0.0) == [1, 3] and reference[4, 0] > reference[4, 2]  # input untouched


def test_phoneme_recognizer_learns_and_joins_a_trained_model(tiny, tmp_path):
    from training.train_recognizer import PhonemeTrainConfig, load_recognizer, train_phonemes

    rec_path = tmp_path / "phonemes.pt"
    train_phonemes(PhonemeTrainConfig(data=str(tiny), out=str(rec_path), steps_per_epoch=8, max_epochs=2,
                                      batch_size=8, patience=5, threads=1, jobs=1, progress=False))
    recognizer, provenance = load_recognizer(rec_path)
    history = provenance["history"]
    assert history[1]["loss"] < history[0]["loss"]  # the CTC loss falls
    assert all(s.startswith("ko:") for s in recognizer.symbols)

    model_path, joined_path = tmp_path / "model.pt", tmp_path / "joined.pt"
    train(_config(tiny, model_path, max_epochs=1))
    # --init with --max-epochs 0: the trained model as it is, plus the recognizer and a fitted weight
    summary = train(_config(tiny, joined_path, init=str(model_path), max_epochs=0, phonemes=str(rec_path)))
    plain, joined = load_checkpoint(model_path), load_checkpoint(joined_path)
    assert joined.pair.recognizer is not None and joined.pair.weights["pronunciation"] == summary["phoneme_weight"]
    for name, weight in joined.pair.encoder.state_dict().items():
        torch.testing.assert_close(weight, plain.pair.encoder.state_dict()[name])
    assert summary["parameters"] == count_parameters(joined.pair.encoder) + count_parameters(joined.pair.recognizer)

    # what the recognizer does to a pair, as behaviour: an identical take stays at distance 0;
    # a mistake's distance never drops below the DTW alone and never falls as its weight grows
    r = next(x for x in read_manifest(tiny) if x.kind == "edit")
    same = Scorer(joined).score_pair(r.reference, r.reference)
    assert same.distance == pytest.approx(0.0, abs=1e-4) and same.phoneme_cost == pytest.approx(0.0, abs=1e-4)
    dtw_only = Scorer(plain).score_pair(r.reference, r.attempt)
    assert dtw_only.phoneme_cost is None
    weighted = [Scorer(with_pronunciation_weight(joined, w)).score_pair(r.reference, r.attempt)
                for w in (0.0, 0.5, 2.0)]
    assert weighted[0].distance == pytest.approx(dtw_only.distance, rel=1e-6)  # weight 0: DTW alone
    assert weighted[0].distance <= weighted[1].distance <= weighted[2].distance  # (a recognizer this
    # barely trained may hear nothing: test_shipped_model checks a real one makes the gap strict)

    # fine-tuning a model that has a recognizer keeps it (a school's retrain must not lose it)
    tuned_path = tmp_path / "tuned.pt"
    train(_config(tiny, tuned_path, init=str(joined_path), max_epochs=0))
    assert load_checkpoint(tuned_path).pair.recognizer is not None


def test_the_train_and_train_phonemes_commands(tiny, tmp_path, capsys):
    """What an operator types: each command trains, writes its file, says how it went in one
    line, and a bad corpus folder is one error line with the manifest's exit code."""
    from app.cli import main

    quick = ["--max-epochs", "1", "--steps-per-epoch", "2", "--threads", "1", "--jobs", "1", "--no-progress"]
    recognizer = tmp_path / "phonemes.pt"
    assert main(["train-phonemes", "--data", str(tiny), "--out", str(recognizer), "--batch-size", "8", *quick]) == 0
    said = capsys.readouterr().out.splitlines()  # an "epoch 1: …" line, then the summary
    assert said[-1].startswith("best epoch 1 of 1") and str(recognizer) in said[-1] and recognizer.is_file()
    from training.train_recognizer import load_recognizer

    config = load_recognizer(recognizer)[1]["config"]  # as files written before: numbers, not "not given"
    assert (config["real"], config["real_share"], config["real_val_weight"]) == ("", 0.25, 0.5)

    model = tmp_path / "model.pt"
    assert main(["train", "--data", str(tiny), "--out", str(model), "--phonemes", str(recognizer),
                 "--batch-size", "6", "--seed", "3", *quick]) == 0
    said = capsys.readouterr().out.splitlines()
    assert said[-2].startswith("best epoch 1 of 1") and str(model) in said[-2]
    assert said[-1].startswith("with ") and "× phoneme recognizer" in said[-1] and "val AUC 1-edit" in said[-1]
    ckpt = load_checkpoint(model)
    assert ckpt.pair.recognizer is not None
    assert ckpt.provenance["config"]["seed"] == 3 and ckpt.provenance["config"]["steps_per_epoch"] == 2

    for command in ("train", "train-phonemes"):
        assert main([command, "--data", str(tmp_path / "no-corpus"), "--out", str(tmp_path / "x.pt"), *quick]) == 16
        err = capsys.readouterr().err
        assert err.startswith("malsori: error:") and err.count("\n") == 1 and "not found" in err

    for command in ("train", "train-phonemes"):  # a fine-tune keeps its start's shape: a shape option is refused
        assert main([command, "--data", str(tiny), "--out", str(tmp_path / "x.pt"), "--init", str(model),
                     "--embed-dim", "32", *quick]) == 2
        err = capsys.readouterr().err
        assert "--embed-dim" in err and "--init" in err and err.count("\n") == 1
    assert not (tmp_path / "x.pt").exists()


def test_the_blank_penalty_travels_in_the_checkpoint_and_older_files_read_without_it(tmp_path):
    from pathlib import Path

    from models import save_checkpoint

    frozen = Path(__file__).resolve().parent / "data" / "malsori-frozen.pt"  # written before the setting
    old = load_checkpoint(frozen)
    assert old.pair.blank_penalty == 0.0 and load_checkpoint(frozen, engine="numpy").pair.blank_penalty == 0.0
    out = tmp_path / "penalised.pt"
    save_checkpoint(out, dataclasses.replace(old, pair=dataclasses.replace(old.pair, blank_penalty=0.7)))
    for engine in ("torch", "numpy"):
        assert load_checkpoint(out, engine=engine).pair.blank_penalty == 0.7


def test_train_writes_the_blank_penalty_it_was_given(tiny, tmp_path):
    from pathlib import Path

    frozen = Path(__file__).resolve().parent / "data" / "malsori-frozen.pt"
    out = tmp_path / "read.pt"
    train(_config(tiny, out, init=str(frozen), max_epochs=0, blank_penalty=0.7))
    assert load_checkpoint(out).pair.blank_penalty == 0.7
    assert load_checkpoint(out).provenance["config"]["blank_penalty"] == 0.7
    again = tmp_path / "again.pt"  # --init brings its reading along unless told otherwise
    train(_config(tiny, again, init=str(out), max_epochs=0))
    assert load_checkpoint(again).pair.blank_penalty == 0.7
    train(_config(tiny, again, init=str(out), max_epochs=0, blank_penalty=0.0))
    assert load_checkpoint(again).pair.blank_penalty == 0.0
    from core.errors import UsageError

    with pytest.raises(UsageError, match="--phonemes"):  # no recognizer to read with: refused before training
        train(_config(tiny, tmp_path / "never.pt", blank_penalty=0.7))
    assert not (tmp_path / "never.pt").exists()


VOICES = Path(__file__).resolve().parents[1] / "assets" / "models" / "candidates" / "voices-recognizer.pt"


def test_train_puts_a_voices_recognizer_beside_the_first(tiny, tmp_path):
    """`train --voices`: the second recognizer joins the model that --init brought (its first
    recognizer kept), with its own blank penalty and a fitted weight; both engines read it."""
    frozen = Path(__file__).resolve().parent / "data" / "malsori-frozen.pt"
    out = tmp_path / "two.pt"
    summary = train(_config(tiny, out, init=str(frozen), max_epochs=0, voices=str(VOICES), voices_blank_penalty=0.8))
    assert summary["voices_weight"] in WEIGHT_GRIDS["voices"] and summary["voices"]["config"] is not None
    for engine in ("torch", "numpy"):
        pair = load_checkpoint(out, engine=engine).pair
        assert pair.recognizer is not None and pair.voices is not None and pair.voices_blank_penalty == 0.8
        assert pair.weights["voices"] == summary["voices_weight"]
    again = tmp_path / "again.pt"  # a fine-tune keeps both recognizers and their readings
    train(_config(tiny, again, init=str(out), max_epochs=0))
    kept = load_checkpoint(again).pair
    assert kept.voices is not None and kept.voices_blank_penalty == 0.8
    from core.errors import UsageError

    with pytest.raises(UsageError, match="--voices"):  # no voices recognizer to read with
        train(_config(tiny, tmp_path / "never.pt", init=str(frozen), voices_blank_penalty=0.8))
    with pytest.raises(UsageError, match="--real-val"):  # no recognizer whose weight it could choose
        train(_config(tiny, tmp_path / "never.pt", real_val=str(tmp_path)))
    other = tmp_path / "other-symbols.pt"  # a recognizer of another vocabulary: refused before training
    payload = torch.load(VOICES, weights_only=True)
    payload["symbols"] = ["x:" + s for s in payload["symbols"]]
    torch.save(payload, other)
    with pytest.raises(UsageError, match="symbols"):
        train(_config(tiny, tmp_path / "never.pt", init=str(frozen), voices=str(other)))
    assert not (tmp_path / "never.pt").exists()
