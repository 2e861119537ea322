"""`malsori make-realset` and `evaluate --data` on a tiny fake source tree laid out like Debian's.

The "human" takes are espeak-ng variant voices (the only speech a test can make), written
where klettres-data and asterisk-core-sounds-en(-wav) put theirs: klettres' sounds.xml with
ogg recordings, asterisk's gzipped transcript with 8 kHz wavs. The tree is passed as --root.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from app.cli import main
from tests.speech import pad, speak
from training.corpus import feature_distance, mfcc
from training.realset import KINDS, RealsetConfig, assign_splits, find_takes

ROOT_MODEL = Path(__file__).resolve().parents[1] / "assets" / "models" / "malsori.pt"

KLETTRES = {  # folder: (espeak-ng voice of the stand-in speaker, letters, syllables)
    "fr": ("fr+m3", ["a", "b"], ["la", "mo", "pi"]),
    "de": ("de+f2", ["o"], ["ma", "lu", "si"]),
    "en": ("en-us+m5", ["k"], ["dog", "sit", "me"]),
    "en_GB": ("en-gb+f4", ["e"], ["hot", "pet", "sky"]),
    "es": ("es+m2", ["a"], ["ma", "pe"]),  # reserved: must never be used
}
ASTERISK = {"hello": "Hello.", "goodbye": "Goodbye.", "vm-no": "Invalid option", "thank-you": "Thank you",
            "long-one": "Please enter your password followed by the pound key.", "beep": "[a simple beep tone]"}


def _write_klettres(root: Path) -> None:
    base = root / "usr/share/klettres"
    for folder, (voice, letters, syllables) in KLETTRES.items():
        sounds = []
        for section, tag, texts in (("alphabet", "alpha", letters), ("syllables", "syllab", syllables)):
            entries = []
            for i, text in enumerate(texts):
                rel = f"{folder}/{tag}/{tag}-{i}.ogg"
                (base / rel).parent.mkdir(parents=True, exist_ok=True)
                sf.write(base / rel, pad(speak(text, voice=voice, pitch=70, speed_wpm=140), lead_s=0.3, trail_s=0.4),
                         16_000, format="OGG", subtype="VORBIS")
                entries.append(f'<sound name="{text.upper()}" file="{rel}" />')
            sounds.append(f"<{section}>" + "".join(entries) + f"</{section}>")
        (base / folder / "sounds.xml").write_text(
            f'<!-- test --><klettres><language code="{folder}"><menuitem><label>x</label></menuitem>'
            + "".join(sounds) + "</language></klettres>", encoding="utf-8")
    # a click the front end refuses (too little speech): counted and listed, not silently dropped
    click = np.zeros(16_000, np.float32)
    click[8000:8400] = 0.5 * np.sin(np.arange(400) / 3)
    sf.write(base / "fr/syllab/click.ogg", click, 16_000, format="OGG", subtype="VORBIS")
    xml = (base / "fr/sounds.xml").read_text(encoding="utf-8")
    (base / "fr/sounds.xml").write_text(xml.replace("</syllables>", '<sound name="TU" file="fr/syllab/click.ogg" />'
                                                    "</syllables>"), encoding="utf-8")


def _write_asterisk(root: Path) -> None:
    doc = root / "usr/share/doc/asterisk-core-sounds-en"
    doc.mkdir(parents=True)
    with gzip.open(doc / "core-sounds-en.txt.gz", "wt", encoding="utf-8") as f:
        f.write("; Core Asterisk Sounds in English\n\n" + "".join(f"{k}: {v}\n" for k, v in ASTERISK.items()))
    wavs = root / "usr/share/asterisk/sounds/en"
    wavs.mkdir(parents=True)
    for name, text in ASTERISK.items():
        if not text.startswith("["):
            y = pad(speak(text, voice="en-us+f3", pitch=65), lead_s=0.2, trail_s=0.3)
            sf.write(wavs / f"{name}.wav", y[::2], 8000, subtype="PCM_16")  # 8 kHz, as shipped


@pytest.fixture(scope="module")
def source_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("root")
    _write_klettres(root)
    _write_asterisk(root)
    return root


@pytest.fixture(scope="module")
def realset(source_root, tmp_path_factory):
    out = tmp_path_factory.mktemp("realset")
    rc = main(["make-realset", "--out", str(out), "--root", str(source_root), "--sources", "klettres", "asterisk",
               "--jobs", "1", "--no-progress"])
    assert rc == 0
    with open(out / "pairs.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return out, rows


def test_pairs_have_every_kind_and_no_reserved_speech(realset):
    out, rows = realset
    kinds = {r["kind"] for r in rows}
    assert kinds == set(KINDS)
    assert {r["lang"] for r in rows} == {"fr", "de", "en"}
    assert not any("/es/" in r["attempt"] or "klettres-es" in r["attempt"] for r in rows)
    assert {r["source"] for r in rows} == {"klettres", "asterisk"}
    # only prompts of 1-4 words, no tones
    texts = {r["text"] for r in rows if r["source"] == "asterisk"}
    assert texts == {"Hello.", "Goodbye.", "Invalid option", "Thank you"}
    # a group is one take with all its references: its own text, others, edits, the narrow take
    for group in {r["group"] for r in rows}:
        mine = [r for r in rows if r["group"] == group]
        assert len({r["split"] for r in mine}) == 1
        correct = [r for r in mine if r["kind"] == "correct" and r["ref_voice"].startswith("espeak-ng")]
        assert len(correct) == 1
        assert all(r["ref_text"] != correct[0]["ref_text"] for r in mine if r["kind"] == "other")
    # English words and phrases also get festival references of their own text
    festival = [r for r in rows if r["ref_voice"].startswith("festival:")]
    assert festival and all(r["kind"] == "correct" and r["lang"] == "en" for r in festival)


def test_splits_share_no_recording_and_no_speaker(realset):
    out, rows = realset
    split_of: dict[str, set] = {}
    for r in rows:
        for key in (r["attempt"].replace("takes_narrow/", "takes/"), r["speaker"]):
            split_of.setdefault(key, set()).add(r["split"])
    assert all(len(s) == 1 for s in split_of.values())
    assert {"train", "test"} <= {r["split"] for r in rows}
    # the full-size rule: test holds at least 3 languages when the set has them
    assert len({r["lang"] for r in rows if r["split"] == "test"}) >= 3


def test_edit_references_are_audible(realset):
    out, rows = realset
    correct = {(r["group"]): r["reference"] for r in rows if r["kind"] == "correct"
               and r["ref_voice"].startswith("espeak-ng")}
    edits = [r for r in rows if r["kind"] in ("edit1", "edit2")]
    assert edits
    for r in edits:
        assert len(r["edits"].split(";")) == (1 if r["kind"] == "edit1" else 2)
        a, _ = sf.read(out / r["reference"], dtype="float32")
        b, _ = sf.read(out / correct[r["group"]], dtype="float32")
        assert feature_distance(mfcc(a, sr=16_000), mfcc(b, sr=16_000)) >= RealsetConfig().min_audible_distance


def test_refused_take_is_counted_listed_and_a_rerun_reuses_files(realset, source_root, capsys):
    out, rows = realset
    summary = json.loads((out / "realset.json").read_text(encoding="utf-8"))
    refused = summary["refused_takes"]
    assert [r["text"] for r in refused] == ["tu"] and "speech" in refused[0]["why"]
    assert not any(r["text"] == "tu" for r in rows)
    assert any(s["what"] == "es" and "reserved" in s["why"] for s in summary["skipped"])
    # a reference the front end refuses (espeak-ng's French "a" is 0.18 s) leaves its take out, listed
    for r in summary["takes_without_reference"]:
        assert "front end refuses" in r["why"] and not any(row["group"] == r["take"] for row in rows)
    # a rerun writes nothing new: every audio file keeps its time stamp, pairs.csv is the same
    files = {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")}
    before = (out / "pairs.csv").read_text(encoding="utf-8")
    rc = main(["make-realset", "--out", str(out), "--root", str(source_root), "--sources", "klettres", "asterisk",
               "--jobs", "1", "--no-progress"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "refused take klettres-fr-syllab-click" in err and "1 takes refused by the front end" in err
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")} == files
    assert (out / "pairs.csv").read_text(encoding="utf-8") == before
    # a verdict of another front end is not trusted: a plan that says "refused" under an older
    # front end is made again, and its take comes back
    plan_path = next(p for p in sorted(out.rglob("*.s0.json"))
                     if not json.loads(p.read_text(encoding="utf-8"))["refused"])
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    plan.update(refused="refused by an older front end", front_end="0" * 16)
    plan_path.write_text(json.dumps(plan), encoding="utf-8")
    assert main(["make-realset", "--out", str(out), "--root", str(source_root), "--sources", "klettres",
                 "asterisk", "--jobs", "1", "--no-progress"]) == 0
    assert (out / "pairs.csv").read_text(encoding="utf-8") == before


def test_evaluate_prints_the_real_voice_table(realset, tmp_path, capsys):
    out, rows = realset
    rc = main(["evaluate", "--model", str(ROOT_MODEL), "--data", str(out), "--out", str(tmp_path),
               "--split", "test", "--jobs", "1", "--threads", "1", "--no-progress"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "### Split `test`" in printed and "AUC vs edit1" in printed and "top-1" in printed
    for method in ("| malsori model |", "| MFCC-DTW |"):
        assert method in printed
    for lang in {r["lang"] for r in rows if r["split"] == "test"}:
        assert f"| {lang} |" in printed
    assert "| klettres |" in printed
    metrics = json.loads((tmp_path / "metrics.json").read_text(encoding="utf-8"))
    test = metrics["test"]["overall"]["malsori model"]
    assert test["pairs"] == sum(r["split"] == "test" for r in rows)  # the front end takes every file
    assert 0.0 <= test["auc_other"] <= 1.0 and 0.0 <= test["top1"] <= 1.0
    assert (tmp_path / "score_histograms.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(tmp_path / "pair_scores.csv", newline="", encoding="utf-8") as f:
        scored = list(csv.DictReader(f))
    assert len(scored) == test["pairs"] and all(float(r["malsori model distance"]) >= 0 for r in scored)
    # the model row is told each reference's text (as the kiosk is), the "text unknown" row is not
    assert "| malsori model, text unknown |" in printed
    told = [float(r["malsori model distance"]) for r in scored]
    blind = [float(r["malsori model, text unknown distance"]) for r in scored]
    assert told != blind, "the reference texts never reached the model's pronunciation cost"


def test_every_split_and_command_shares_one_image_cache_per_front_end(realset, tmp_path):
    """A cache per split and command used to pile up in the set's folder (~100–200 MB each)."""
    out, _ = realset
    args = ["--model", str(ROOT_MODEL), "--data", str(out), "--jobs", "1", "--threads", "1", "--no-progress"]
    assert main(["evaluate", *args, "--out", str(tmp_path / "val"), "--split", "val"]) == 0
    caches = sorted(out.glob(".malsori-images-*.npz"))
    assert main(["evaluate", *args, "--out", str(tmp_path / "test"), "--split", "test"]) == 0
    assert main(["evaluate", *args, "--out", str(tmp_path / "all")]) == 0
    assert sorted(out.glob(".malsori-images-*.npz")) == caches


@pytest.mark.parametrize("remove, package", [
    ("usr/share/doc/asterisk-core-sounds-en", "asterisk-core-sounds-en"),
    ("usr/share/asterisk", "asterisk-core-sounds-en-wav"),
    ("usr/share/klettres", "klettres-data"),
])
def test_a_missing_source_package_is_named(source_root, tmp_path, capsys, remove, package):
    import shutil

    root = tmp_path / "root"
    shutil.copytree(source_root, root)
    shutil.rmtree(root / remove)
    rc = main(["make-realset", "--out", str(tmp_path / "out"), "--root", str(root), "--sources", "klettres",
               "asterisk", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 17
    assert f"install the Debian package {package}" in err and len(err.strip().splitlines()) == 1


def test_spanish_is_refused_and_splits_move_whole_speakers(source_root, capsys):
    rc = main(["make-realset", "--out", "/nonexistent/never", "--root", str(source_root), "--langs", "es",
               "--sources", "klettres", "asterisk", "--no-progress"])
    assert rc == 17 and "reserved" in capsys.readouterr().err
    takes, _ = find_takes(source_root, RealsetConfig(sources=("klettres", "asterisk")))
    for seed in range(5):
        splits = assign_splits(takes, RealsetConfig(seed=seed))
        assert set(splits) == {t.speaker for t in takes}
        test_langs = {t.lang for t in takes if splits[t.speaker] == "test"}
        assert len(test_langs) >= 3


def test_evaluate_on_a_folder_without_pairs_names_both_commands(tmp_path, capsys):
    rc = main(["evaluate", "--model", str(ROOT_MODEL), "--data", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 16 and "make-corpus" in err and "make-realset" in err and len(err.strip().splitlines()) == 1


def test_train_fits_the_term_weights_on_the_real_val_split(realset, tmp_path, capsys):
    """`train --real-val`: the weights are judged on the set's val pairs as well, and the run says
    how they rank there; a folder that is no real-voice set is one error line."""
    from models import load_checkpoint
    from tests.tiny_corpus import make_tiny_corpus

    out, rows = realset
    assert any(r["split"] == "val" for r in rows)
    tiny = tmp_path / "tiny"
    make_tiny_corpus(tiny, words=("바다", "나무", "사과", "하늘"))
    frozen = Path(__file__).resolve().parent / "data" / "malsori-frozen.pt"
    voices = ROOT_MODEL.parent / "candidates" / "voices-recognizer.pt"
    args = ["train", "--data", str(tiny), "--out", str(tmp_path / "m.pt"), "--init", str(frozen), "--max-epochs", "0",
            "--voices", str(voices), "--voices-blank-penalty", "0.8", "--threads", "1", "--jobs", "1", "--no-progress"]
    assert main([*args, "--real-val", str(out)]) == 0
    assert "real-voice val: AUC vs other" in capsys.readouterr().out.splitlines()[-1]
    people = load_checkpoint(tmp_path / "m.pt").provenance["real_val_metrics_with_phonemes"]
    assert set(people) == {"auc_other", "auc_edit1", "top1"} and 0 <= people["auc_other"] <= 1
    assert main([*args, "--real-val", str(tmp_path / "tiny")]) != 0
    err = capsys.readouterr().err
    assert err.startswith("malsori: error:") and err.count("\n") == 1
