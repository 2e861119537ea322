"""`malsori train-phonemes` for voices: real takes (--real), fine-tuning (--init), augmentation.

The "human" takes are espeak-ng variant voices in a tiny folder laid out as `make-realset`
writes it (pairs.csv, takes/, refs/): English and German takes the recognizer can spell, a
French one whose vowel (y) it has no symbol for, and val pairs (right text, other text, one
edit) for early stopping. The start is the shipped model's recognizer.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from app.cli import main
from models import load_checkpoint
from tests.speech import pad, speak
from tests.tiny_corpus import make_tiny_corpus
from training.batches import augment_image
from training.realset import PAIR_FIELDS

ROOT_MODEL = Path(__file__).resolve().parents[1] / "assets" / "models" / "malsori.pt"

# (split, group, take voice, lang, espeak-ng voice, text, [(kind, reference text)])
TAKES = [
    ("train", "dog", "en-us+m5", "en", "en-us", "dog", [("correct", "dog")]),
    ("train", "sit", "en-us+f2", "en", "en-us", "sit", [("correct", "sit")]),
    ("train", "ma", "de+m3", "de", "de", "ma", [("correct", "ma")]),
    ("train", "tu", "fr+m3", "fr", "fr", "tu", [("correct", "tu")]),  # /ty/: no symbol for y
    ("val", "cat", "en-us+m3", "en", "en-us", "cat", [("correct", "cat"), ("other", "sun"), ("edit1", "cut")]),
    ("val", "pen", "en-us+f4", "en", "en-us", "pen", [("correct", "pen"), ("other", "dog"), ("edit1", "pin")]),
]


def _write(path: Path, y: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, pad(y, lead_s=0.2, trail_s=0.3), 16_000, subtype="PCM_16")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("tiny")
    make_tiny_corpus(out, words=("바다", "나무", "사과", "하늘"))
    return out


@pytest.fixture(scope="module")
def realset(tmp_path_factory):
    out = tmp_path_factory.mktemp("realset")
    rows = []
    for split, group, take_voice, lang, voice, text, refs in TAKES:
        take = f"takes/test/{group}.wav"
        _write(out / take, speak(text, voice=take_voice, pitch=70, speed_wpm=140))
        for kind, ref_text in refs:
            ref = f"refs/espeak/{voice}/{ref_text}.wav"
            if not (out / ref).is_file():
                _write(out / ref, speak(ref_text, voice=voice))
            rows.append({"reference": ref, "attempt": take, "kind": kind, "edits": "", "lang": lang,
                         "source": "test", "speaker": f"test-{take_voice}", "group": group, "split": split,
                         "text": text, "ref_voice": f"espeak-ng:{voice}", "ref_text": ref_text})
    with open(out / "pairs.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=PAIR_FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return out


def test_real_takes_reach_the_ctc_loss(corpus, realset):
    """Steps on real takes alone (share 1) make the recognizer spell those takes better."""
    from training.train_recognizer import (
        PhonemeTrainConfig,
        ctc_loss,
        real_data,
        recognizer_epoch,
        start_recognizer,
    )

    cfg = PhonemeTrainConfig(data=str(corpus), out="", init=str(ROOT_MODEL), real=str(realset), real_share=1.0,
                             batch_size=3, steps_per_epoch=12, lr=3e-3, threads=1, jobs=1, progress=False)
    recognizer, pre, _ = start_recognizer(cfg)
    real = real_data(cfg, pre, list(recognizer.symbols))
    assert sorted(Path(p).stem for p in real.files) == ["dog", "ma", "sit"]  # /ty/ left out, counted
    assert real.summary["skipped"] == 1 and real.summary["unknown_top"] == {"fr:y": 1}
    assert {r.kind for r in real.val} == {"correct", "other", "edit1"}

    def real_loss() -> float:
        recognizer.eval()
        with torch.no_grad():
            logits = [recognizer(torch.from_numpy(real.images[p])[None])[1][0] for p in real.files]
            return float(ctc_loss(logits, [real.targets[p] for p in real.files]))

    before = real_loss()
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(recognizer.parameters(), lr=cfg.lr)
    recognizer_epoch(cfg, recognizer, optimizer, {}, ["unused"], {}, np.random.default_rng(0), desc="", real=real)
    assert real_loss() < 0.8 * before


def test_the_command_fine_tunes_with_real_takes_and_augmentation(corpus, realset, tmp_path, capsys):
    from training.train_recognizer import load_recognizer

    out = tmp_path / "voices.pt"
    rc = main(["train-phonemes", "--data", str(corpus), "--out", str(out), "--init", str(ROOT_MODEL),
               "--real", str(realset), "--real-share", "0.5", "--batch-size", "4", "--steps-per-epoch", "2",
               "--max-epochs", "1", "--lr", "1e-4", "--freq-warp", "0.1", "--time-stretch", "0.1",
               "--time-masks", "2", "--freq-masks", "2", "--keep", "0.5", "--threads", "1", "--jobs", "1", "--no-progress"])
    assert rc == 0
    said = capsys.readouterr().out.splitlines()
    assert said[0].startswith("epoch 0 (--init):") and "real val AUC" in said[0]
    assert any(line.startswith("real takes: 3 files of 3 takes in 2 languages; 1 takes skipped") for line in said)
    assert said[-1].startswith("best epoch") and "real val AUC 1-edit" in said[-1]
    recognizer, provenance = load_recognizer(out)
    assert provenance["config"]["real_share"] == 0.5 and provenance["config"]["freq_warp"] == 0.1
    assert provenance["config"]["keep"] == 0.5
    assert provenance["config"]["real_val_weight"] == 0.5  # not given: the default, recorded as a number
    assert provenance["real"]["by_lang"] == {"en": 2, "de": 1}
    assert "real_val_auc" in provenance["history"][0] and provenance["init_metrics"]["real_val_auc"] >= 0
    assert recognizer.symbols == load_checkpoint(ROOT_MODEL).pair.recognizer.symbols  # the start's symbols kept

    rc = main(["train-phonemes", "--data", str(corpus), "--out", str(out), "--init", str(realset / "pairs.csv"),
               "--max-epochs", "1", "--no-progress"])
    assert rc == 16 and "--init" in capsys.readouterr().err


def test_augmentation_warps_stretches_and_masks_the_image():
    rng = np.random.default_rng(0)
    image = np.tile(np.linspace(0, 1, 64, dtype=np.float32)[:, None], (1, 100))  # bright at the top bands
    assert augment_image(image, rng) is image  # every knob off: untouched, no random draw
    warped = augment_image(image, np.random.default_rng(1), freq_warp=0.2)
    assert warped.shape == image.shape and not np.allclose(warped, image)
    longer = [augment_image(image, np.random.default_rng(s), time_stretch=0.2).shape[1] for s in range(8)]
    assert min(longer) >= 80 and max(longer) <= 120 and len(set(longer)) > 1
    masked = augment_image(image, np.random.default_rng(2), time_masks=3, time_mask_frames=10)
    changed = np.flatnonzero(~np.isclose(masked, image).all(axis=0))
    assert len(changed) == 0  # every band is constant in time: a time mask with band means changes nothing
    noisy = np.random.default_rng(3).random((64, 100)).astype(np.float32)
    masked = augment_image(noisy, np.random.default_rng(4), time_masks=3, time_mask_frames=10, freq_masks=2,
                           freq_mask_bands=8)
    cols = np.flatnonzero(~np.isclose(masked, noisy).all(axis=0))
    rows = np.flatnonzero(np.isclose(masked, masked.mean(axis=1, keepdims=True), atol=1e-6).all(axis=1))
    assert 0 < len(cols) <= 100 and len(rows) > 0


def test_keep_interpolates_between_the_start_and_the_trained_weights():
    from training.train_recognizer import interpolate

    start = {"w": torch.zeros(3), "n": torch.tensor(5)}
    trained = {"w": torch.tensor([2.0, -4.0, 1.0]), "n": torch.tensor(7)}
    half = interpolate(start, trained, 0.5)
    torch.testing.assert_close(half["w"], torch.tensor([1.0, -2.0, 0.5]))
    assert int(half["n"]) == 7  # integer buffers (batch-norm counters) are the trained ones
    torch.testing.assert_close(interpolate(start, trained, 1.0)["w"], trained["w"])


@pytest.mark.parametrize("option", [["--real-share", "1.5"], ["--real-share", "1"], ["--keep", "2"], ["--keep", "-1"],
                                    ["--freq-warp", "1.5"], ["--time-stretch", "1"], ["--time-masks", "-1"],
                                    ["--real-val-weight", "3"], ["--batch-size", "1", "--real-share", "0.25"]])
def test_out_of_range_options_are_refused_before_any_work(corpus, realset, tmp_path, capsys, option):
    out = tmp_path / "never.pt"
    rc = main(["train-phonemes", "--data", str(corpus), "--out", str(out), "--real", str(realset), *option,
               "--max-epochs", "1", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and option[-2] in err and "Traceback" not in err
    assert not out.exists()


def test_options_that_need_another_say_so(corpus, realset, tmp_path, capsys):
    base = ["train-phonemes", "--data", str(corpus), "--out", str(tmp_path / "p.pt"), "--max-epochs", "1", "--no-progress"]
    assert main([*base, "--keep", "0.5"]) == 2 and "--init" in capsys.readouterr().err
    for option in (["--real-langs", "en"], ["--real-share", "0.5"], ["--real-val-weight", "0.8"],
                   ["--real-share", "0.25"], ["--real-val-weight", "0.5"]):  # the default values too
        assert main([*base, *option]) == 2  # not ignored without a word
        err = capsys.readouterr().err
        assert option[0] in err and "pass --real too" in err and len(err.splitlines()) == 1
    from core.errors import UsageError
    from training.train_recognizer import PhonemeTrainConfig, train_phonemes

    for option, field, value in ((["--real-share", "0.25"], "real_share", 0.25),
                                 (["--real-val-weight", "0.5"], "real_val_weight", 0.5)):  # defaults, from code
        assert main([*base, *option]) == 2
        said = capsys.readouterr().err
        with pytest.raises(UsageError) as refused:
            train_phonemes(PhonemeTrainConfig(data=str(corpus), out=str(tmp_path / "p.pt"), max_epochs=1,
                                              steps_per_epoch=1, threads=1, jobs=1, progress=False, **{field: value}))
        assert said == f"malsori: error: {refused.value}\n"  # one refusal, one wording
    assert not (tmp_path / "p.pt").exists()
    caches = sorted(realset.glob(".malsori-images-*"))
    assert main([*base, "--real", str(realset), "--real-langs", "xx"]) == 16
    assert "no train-split takes in xx" in capsys.readouterr().err
    assert sorted(realset.glob(".malsori-images-*")) == caches  # refused before preprocessing into the folder
    assert main([*base, "--real", str(realset / "pairs.csv")]) == 17
    assert "is a file" in capsys.readouterr().err


def test_a_run_from_scratch_guarded_by_a_baseline_keeps_no_epoch_that_loses_its_distinctions(corpus, tmp_path, capsys):
    """--baseline: two steps from scratch cannot hold the shipped recognizer's synthetic val AUC, so
    no epoch is kept as best; the last one is saved and the run says so, in its output and file.
    Patience counts from the best epoch of all, not the best kept: a run still climbing towards
    the baseline is not stopped (with --patience 1 the first epoch used to end it)."""
    from training.train_recognizer import load_recognizer

    out = tmp_path / "scratch.pt"
    base = ["train-phonemes", "--data", str(corpus), "--out", str(out), "--batch-size", "4", "--steps-per-epoch", "2",
            "--max-epochs", "2", "--patience", "1", "--threads", "1", "--jobs", "1", "--no-progress"]
    assert main([*base, "--baseline", str(ROOT_MODEL)]) == 0
    said = capsys.readouterr().out.splitlines()
    assert said[0].startswith("baseline (--baseline, not a candidate): val AUC")
    assert not any("*best*" in line for line in said)
    assert any("no epoch held the --baseline" in line for line in said)
    _, provenance = load_recognizer(out)
    assert provenance["held_baseline"] is False and provenance["best_epoch"] == 2 and provenance["epochs_run"] == 2
    assert provenance["init_metrics"]["val_auc"] > max(h["val_auc"] for h in provenance["history"]) + 0.005

    assert main([*base, "--baseline", str(ROOT_MODEL), "--init", str(ROOT_MODEL)]) == 2
    assert "--baseline" in capsys.readouterr().err
    assert main([*base, "--baseline", str(corpus / "manifest.csv")]) == 16
    assert "--baseline" in capsys.readouterr().err
