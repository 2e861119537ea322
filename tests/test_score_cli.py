"""`malsori score`: results, batch runs, and one typed error + exit code per kind of bad input."""

import csv
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from app.cli import main
from models import Calibration, Checkpoint, EncoderDims, FrameEncoder, PairScorer, Scorer, save_checkpoint
from models.recognizer import PhonemeRecognizer
from preprocessing import PreprocessConfig
from closed_pipe import run_into_closed_pipe
from core.paths import REPO_ROOT
from speech import SR, pad, speak

SHIPPED = REPO_ROOT / "assets" / "models" / "malsori.pt"


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """Untrained networks (encoder + phoneme recognizer, as shipped): enough to exercise the
    plumbing, never shipped."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    recognizer = PhonemeRecognizer(EncoderDims(), ["a", "b", "s"])
    pair = PairScorer(FrameEncoder(), Calibration(0.3, 0.05), recognizer, {"pronunciation": 0.5})
    save_checkpoint(path, Checkpoint(pair, PreprocessConfig(), {"note": "test"}))
    return path


@pytest.fixture
def env(model_path, monkeypatch, tmp_path):
    monkeypatch.setenv("MALSORI_MODEL", str(model_path))
    monkeypatch.setenv("MALSORI_HOME", str(tmp_path / "home"))
    return tmp_path


def _wav(path, y, sr=SR, subtype="PCM_16"):
    sf.write(path, y, sr, subtype=subtype)
    return path


@pytest.fixture(scope="module")
def words(tmp_path_factory):
    d = tmp_path_factory.mktemp("words")
    return {
        "ref": _wav(d / "ref.wav", pad(speak("사과"), lead_s=0.3, trail_s=0.3)),
        "same": _wav(d / "same.wav", pad(speak("사과", voice="ko+m3"), lead_s=0.5, trail_s=0.2)),
        "other": _wav(d / "other.wav", pad(speak("바다"), lead_s=0.3, trail_s=0.3)),
    }


def test_score_prints_a_number_between_0_and_100(env, words, capsys):
    assert main(["score", str(words["ref"]), str(words["same"])]) == 0
    assert 0.0 <= float(capsys.readouterr().out) <= 100.0


def test_json_result_has_score_distance_durations_and_deviation_curve(env, words, capsys):
    assert main(["score", str(words["ref"]), str(words["same"]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert 0 <= result["score"] <= 100 and result["distance"] >= 0
    assert result["attempt_speech_s"] == pytest.approx(len(speak("사과", voice="ko+m3")) / SR, abs=0.06)
    assert len(result["deviation"]) > 10
    start, end = result["worst_segment_s"]
    assert 0 <= start < end


def test_score_model_uses_that_checkpoint_and_it_tells_words_apart(env, words, capsys):
    """--model picks the checkpoint (here the shipped one, over MALSORI_MODEL's untrained one),
    and a trained model tells the same word in another voice from another word."""
    shipped = ["--model", str(SHIPPED), "--json"]
    results = {}
    for attempt in ("ref", "same", "other"):
        assert main(["score", str(words["ref"]), str(words[attempt]), *shipped]) == 0
        results[attempt] = json.loads(capsys.readouterr().out)
    assert results["ref"]["distance"] < 1e-4  # a take against itself
    assert results["same"]["score"] > results["other"]["score"] + 50, results
    assert main(["score", str(words["ref"]), str(words["same"]), "--json"]) == 0  # MALSORI_MODEL: another model
    assert json.loads(capsys.readouterr().out)["distance"] != pytest.approx(results["same"]["distance"])
    assert main(["score", str(words["ref"]), str(words["same"]), "--model", str(env / "none.pt")]) == 10
    assert "no trained model" in capsys.readouterr().err


@pytest.fixture
def offline(env, monkeypatch):
    """No network on any machine (gTTS meets a refused proxy port), no shipped references:
    --text references are made by espeak-ng into env/cache."""
    import socket

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{closed.getsockname()[1]}")
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{closed.getsockname()[1]}")
    closed.close()
    monkeypatch.setenv("MALSORI_ASSETS", str(env / "no-shipped-references"))
    monkeypatch.setenv("MALSORI_CACHE", str(env / "cache"))
    return env


def test_score_text_makes_the_reference_offline_and_scores_against_it(env, offline, words, capsys):
    scores = {}
    for text in ("사과", "바다"):
        assert main(["score", "--text", text, str(words["same"]), "--model", str(SHIPPED), "--json"]) == 0
        scores[text] = json.loads(capsys.readouterr().out)["score"]
    assert scores["사과"] > scores["바다"] + 50, scores  # the take says 사과
    assert [p.parent.parent.name for p in (env / "cache").rglob("*.flac")] == ["espeak", "espeak"]


def test_score_text_scores_against_espeak_ng_even_when_google_answers(offline, words, monkeypatch, capsys):
    """Online, `score --text` must not score against Google's voice (the model is calibrated on
    espeak-ng's, and a neural voice lowers every score): the score is the offline one. Google
    is faked at its one network call, answering with another word."""
    import app.tts

    with monkeypatch.context() as online:
        online.setattr(app.tts, "fetch_gtts", lambda text, **kw: speak("바다", voice="ko+m3"))
        assert main(["score", "--text", "사과", str(words["same"]), "--model", str(SHIPPED)]) == 0
        online_score = float(capsys.readouterr().out)
    assert {p.parent.parent.name for p in (offline / "cache").rglob("*.flac")} == {"espeak"}  # Google never asked
    monkeypatch.setenv("MALSORI_CACHE", str(offline / "another-cache"))  # offline, from scratch
    assert main(["score", "--text", "사과", str(words["same"]), "--model", str(SHIPPED)]) == 0
    assert online_score == float(capsys.readouterr().out) > 75


def test_score_text_also_judges_the_attempt_against_the_texts_phonemes(offline, tmp_path, capsys):
    """`score --text 불` is told the word: its phoneme cost is the mean of the cost against the
    reference's reading and against 불's own phonemes — not what the same two recordings give
    without the text (`score REF ATT`)."""
    from app.tts import get_reference

    attempt = _wav(tmp_path / "pul.wav", pad(speak("풀", voice="ko+m3"), lead_s=0.3, trail_s=0.3))
    assert main(["score", "--text", "불", str(attempt), "--model", str(SHIPPED), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    told = result["phoneme_cost"]
    assert result["text_phonemes"] == ["ko:p", "ko:u", "ko:L"]
    ref = get_reference("불", lang="ko")
    reference = _wav(tmp_path / "bul.wav", ref.audio, ref.sr)
    assert main(["score", str(reference), str(attempt), "--model", str(SHIPPED), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    heard = result["phoneme_cost"]
    assert result["text_phonemes"] is None
    scorer = Scorer.load(SHIPPED)
    against_text = scorer.score_pair((ref.audio, ref.sr), str(attempt), expected=("ko:p", "ko:u", "ko:L")).phoneme_cost
    assert told == pytest.approx(against_text, abs=1e-4) and abs(told - heard) > 0.1, (told, heard)


def test_score_text_without_lang_uses_the_texts_letters_and_says_so(offline, words, capsys):
    assert main(["score", "--text", "apple", str(words["same"])]) == 0
    assert "--lang en" in capsys.readouterr().err
    assert [p.parent.name for p in (offline / "cache").rglob("*.flac")] == ["en"]  # an English voice said it


@pytest.mark.parametrize("text, lang, message", [
    ("사과", "xx", "--lang xx: not a language malsori speaks (choose from ko, en)"),
    ("ㄱ", None, "the ko voice would not read as words: 'ㄱ'"),
    ("apple", "ko", "the ko voice would not read as words"),
])
def test_score_text_refuses_what_no_voice_would_read_as_that_word(offline, words, capsys, text, lang, message):
    argv = ["score", "--text", text, str(words["same"])] + (["--lang", lang] if lang else [])
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (offline / "cache").exists()  # refused before any reference was made


def test_without_a_trained_model_the_cli_says_so(words, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("MALSORI_MODEL", str(tmp_path / "missing.pt"))
    assert main(["score", str(words["ref"]), str(words["same"])]) == 10
    err = capsys.readouterr().err
    assert "no trained model is installed" in err
    assert main(["score", "--model", str(tmp_path), str(words["ref"]), str(words["same"])]) == 10
    assert "is a directory" in capsys.readouterr().err


def _bad_inputs(tmp_path):
    d = tmp_path
    (d / "empty.wav").write_bytes(b"")
    (d / "corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage" + bytes(range(200)))
    (d / "notaudio.mp3").write_text("this is a text file, not audio\n")
    _wav(d / "nosamples.wav", np.zeros(0, np.float32))
    _wav(d / "silent.wav", np.zeros(SR * 2, np.float32))
    _wav(d / "short.wav", pad(speak("사과")[:1600], lead_s=0.5, trail_s=0.5))
    _wav(d / "long.wav", np.tile(pad(speak("사과"), lead_s=0.1, trail_s=0.1), 60)[: SR * 31])
    nan = pad(speak("사과"), lead_s=0.2, trail_s=0.2)
    nan[100] = np.nan
    _wav(d / "nan.wav", nan, subtype="FLOAT")
    inf = pad(speak("사과"), lead_s=0.2, trail_s=0.2)
    inf[100] = np.inf
    _wav(d / "inf.wav", inf, subtype="FLOAT")
    (d / "adir.wav").mkdir()
    return d


BAD = [
    ("missing.wav", 3, "AudioNotFoundError", "no such file"),
    ("adir.wav", 3, "AudioNotFoundError", "directory"),
    ("empty.wav", 5, "EmptyAudioError", "empty"),
    ("nosamples.wav", 5, "EmptyAudioError", "no audio samples"),
    ("corrupt.wav", 4, "AudioDecodeError", "not a readable audio file"),
    ("notaudio.mp3", 4, "AudioDecodeError", "not a readable audio file"),
    ("silent.wav", 7, "NoSpeechError", "no speech"),
    ("short.wav", 8, "SpeechTooShortError", "speech"),
    ("long.wav", 9, "AudioTooLongError", "at most 30 s"),
    ("nan.wav", 6, "NonFiniteAudioError", "NaN"),
    ("inf.wav", 6, "NonFiniteAudioError", "NaN or infinite"),
]


@pytest.mark.parametrize("name, code, error, message", BAD, ids=[b[0] for b in BAD])
def test_bad_input_gives_its_typed_error_and_exit_code(env, words, capsys, name, code, error, message):
    import models
    import core.errors as errors

    bad = _bad_inputs(env) / name
    assert main(["score", str(words["ref"]), str(bad)]) == code
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("malsori: error:") and message in err
    with pytest.raises(getattr(errors, error)):
        models.Scorer.from_path(env_model()).score_pair(str(words["ref"]), str(bad))


def env_model():
    import os

    return os.environ["MALSORI_MODEL"]


def test_clipped_attempt_scores_with_a_warning(env, words, capsys):
    y = pad(speak("사과"), lead_s=0.3, trail_s=0.3)
    clipped = np.clip(y / np.abs(y).max() * 4.0, -1.0, 1.0)
    path = _wav(env / "clipped.wav", clipped)
    assert main(["score", str(words["ref"]), str(path)]) == 0
    assert "clipped" in capsys.readouterr().err


def test_corrupt_checkpoint_is_a_clear_model_error(words, monkeypatch, tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    monkeypatch.setenv("MALSORI_MODEL", str(bad))
    assert main(["score", str(words["ref"]), str(words["same"])]) == 10
    assert "corrupt" in capsys.readouterr().err


def test_batch_scores_good_rows_reports_bad_ones_and_exits_1(env, words, capsys):
    bad = _bad_inputs(env)
    pairs = env / "pairs.csv"
    rows = [(words["ref"], words["same"]), (words["ref"], bad / "silent.wav"), (words["ref"], words["other"]),
            (words["ref"], bad / "missing.wav")]
    with open(pairs, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["reference", "attempt"])
        w.writerows([(str(a), str(b)) for a, b in rows])
    out = env / "results.csv"
    assert main(["score", "--pairs", str(pairs), "--out", str(out), "--jobs", "1"]) == 1
    results = list(csv.DictReader(open(out)))
    assert [bool(r["error"]) for r in results] == [False, True, False, True]
    assert [r["row"] for r in results] == ["2", "3", "4", "5"]  # as a spreadsheet numbers them
    assert results[0]["attempt"] == str(words["same"])  # the cell as written, to join back
    assert "NoSpeechError" in results[1]["error"] and "AudioNotFoundError" in results[3]["error"]
    assert all(0 <= float(r["score"]) <= 100 for r in results if not r["error"])
    assert "scored 2 of 4 pairs" in capsys.readouterr().err


def test_batch_with_worker_processes_matches_in_process_scores(env, words, model_path, capsys):
    pairs = env / "pairs.csv"
    with open(pairs, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["reference", "attempt"])
        for _ in range(8):
            w.writerow([words["ref"], words["same"]])
            w.writerow([words["ref"], words["other"]])
        w.writerow([words["ref"], env / "missing.wav"])  # a bad row, in a worker process
        w.writerow([words["ref"], ""])
    one, two = env / "one.csv", env / "two.csv"
    assert main(["score", "--pairs", str(pairs), "--out", str(one), "--jobs", "1"]) == 1
    assert main(["score", "--pairs", str(pairs), "--out", str(two), "--jobs", "2"]) == 1
    assert capsys.readouterr().err.count("scored 16 of 18 pairs") == 2
    rows_one, rows_two = list(csv.DictReader(open(one))), list(csv.DictReader(open(two)))
    assert [r["row"] for r in rows_two] == [str(i) for i in range(2, 20)]  # in order, none lost
    assert "AudioNotFoundError" in rows_two[16]["error"] and "empty attempt" in rows_two[17]["error"]
    assert [r["error"] for r in rows_one] == [r["error"] for r in rows_two]
    a = [float(r["score"]) for r in rows_one if not r["error"]]
    b = [float(r["score"]) for r in rows_two if not r["error"]]
    assert a == pytest.approx(b, abs=0.01) and len(a) == 16
    # the batch reuses the reference's network outputs; a pair scored on its own agrees
    alone = [Scorer.from_path(model_path).score_pair(words["ref"], words[k]).score for k in ("same", "other")]
    assert a[:2] == pytest.approx(alone, abs=0.01)


def test_a_real_process_prints_one_line_and_no_traceback(env, words, monkeypatch):
    proc = subprocess.run(
        [sys.executable, "-m", "app.cli", "score", str(words["ref"]), str(env / "nope.wav")],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr and proc.stderr.strip().count("\n") == 0


def _pairs_csv(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["reference", "attempt"])
        w.writerows(rows)
    return path


def test_an_empty_cell_is_reported_with_its_row_number(env, words, capsys):
    pairs = _pairs_csv(env / "pairs.csv", [(words["ref"], words["same"]), (words["ref"], "")])
    out = env / "results.csv"
    assert main(["score", "--pairs", str(pairs), "--out", str(out)]) == 1
    assert "row 3: empty attempt" in capsys.readouterr().err


@pytest.mark.parametrize("target", ["a-directory", "no-permission"])
def test_an_unwritable_results_file_fails_before_any_scoring(env, words, capsys, target):
    pairs = _pairs_csv(env / "pairs.csv", [(words["ref"], words["same"])])
    if target == "a-directory":
        out = env / "outdir"
        out.mkdir()
    else:
        out = Path("/proc/malsori-cannot-write-here/results.csv")
    assert main(["score", "--pairs", str(pairs), "--out", str(out)]) == 13
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "scored" not in err


@pytest.mark.parametrize("argv", [["--jobs", "0"], ["--jobs", "two"]])
def test_jobs_must_be_a_positive_number(env, argv):
    with pytest.raises(SystemExit) as exit_:
        main(["score", "--pairs", "p.csv", "--out", "r.csv", *argv])
    assert exit_.value.code == 2


@pytest.mark.parametrize("argv", [["--out", "r.csv"], ["--text", " "], ["--lang", "en"]])
def test_options_that_would_be_ignored_are_refused(env, words, argv, capsys):
    assert main(["score", str(words["ref"]), str(words["same"]), *argv]) == 2


@pytest.mark.parametrize("argv", [["--lang", "ko"], ["--json"], ["--text", "사과"]])
def test_pairs_refuses_options_it_would_ignore(env, words, argv, capsys):
    """A row's language is its 'lang' cell: --lang beside --pairs would be silently ignored."""
    pairs = _pairs_csv(env / "pairs.csv", [(words["ref"], words["same"])])
    assert main(["score", "--pairs", str(pairs), "--out", "-", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1 and argv[0] in captured.err


def test_results_never_replace_the_pairs_file(env, words, capsys, monkeypatch):
    pairs = env / "pairs.csv"
    pairs.write_text(f"reference,attempt,text\n{words['ref']},{words['same']},사과\n", encoding="utf-8")
    before = pairs.read_bytes()
    monkeypatch.chdir(env)
    assert main(["score", "--pairs", str(pairs), "--out", "./pairs.csv"]) == 2
    assert "is the --pairs file" in capsys.readouterr().err
    assert pairs.read_bytes() == before  # the text column is still there


def test_an_error_says_whether_the_reference_or_the_attempt_is_at_fault(env, words, capsys):
    silent = _wav(env / "silent.wav", np.zeros(SR, np.float32))
    assert main(["score", str(silent), str(words["same"])]) == 7
    err = capsys.readouterr().err
    assert err.startswith(f"malsori: error: reference {silent}: ")
    # one form whichever stage refuses the file: "attempt PATH: why" (the loader's and the front end's)
    assert main(["score", str(words["ref"]), str(env / "nope.wav")]) == 3
    assert capsys.readouterr().err.startswith(f"malsori: error: attempt {env / 'nope.wav'}: no such file")
    assert main(["score", str(words["ref"]), str(silent)]) == 7
    assert capsys.readouterr().err.startswith(f"malsori: error: attempt {silent}: no speech")


def test_pairs_paths_are_relative_to_the_csv_not_the_working_folder(env, words, capsys, monkeypatch):
    import shutil

    batch = env / "class"
    (batch / "takes").mkdir(parents=True)
    for name in ("ref", "same"):
        shutil.copy(words[name], batch / "takes" / f"{name}.wav")
    pairs = _pairs_csv(batch / "pairs.csv", [("takes/ref.wav", "takes/same.wav")])
    elsewhere = env / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["score", "--pairs", str(pairs), "--out", "results.csv"]) == 0
    (row,) = list(csv.DictReader(open(elsewhere / "results.csv")))
    assert row["error"] == "" and row["attempt"] == "takes/same.wav"  # the cell as written
    alone = Scorer.from_path(env_model()).score_pair(words["ref"], words["same"]).score
    assert float(row["score"]) == pytest.approx(alone, abs=0.01)


def test_a_spreadsheets_header_in_another_case_reads_the_same(env, words, capsys):
    pairs = env / "sheet.csv"
    pairs.write_text(f"Reference, ATTEMPT\n{words['ref']},{words['same']}\n", encoding="utf-8")
    assert main(["score", "--pairs", str(pairs), "--out", "-"]) == 0
    (row,) = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert row["error"] == "" and 0 <= float(row["score"]) <= 100


def _write_bytes(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case, code, message", [
    ("missing", 3, "no such pairs file"),
    ("no-columns", 2, "needs a header with 'reference' and 'attempt' columns"),
    ("latin-1", 2, "not a UTF-8 CSV file"),
])
def test_a_pairs_file_that_cannot_be_read_is_one_line_and_no_results(env, capsys, case, code, message):
    pairs = {
        "missing": env / "nope.csv",
        "no-columns": _write_bytes(env / "cols.csv", b"ref,take\na.wav,b.wav\n"),
        "latin-1": _write_bytes(env / "latin.csv", "reference,attempt\ncaf\u00e9.wav,na\u00efve.wav\n".encode("latin-1")),
    }[case]
    out = env / "results.csv"
    assert main(["score", "--pairs", str(pairs), "--out", str(out)]) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("malsori: error:") and message in err
    assert not out.exists()
    if case != "missing":  # the exit-code table says what this code means for a pairs file
        assert "--pairs" in documented_exit_codes()[code]


def documented_exit_codes() -> dict[int, str]:
    """docs/operations.md's "Exit codes" table: code → meaning."""
    import re

    text = (REPO_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    return {int(m[1]): m[2] for m in re.finditer(r"^\| (\d+) \| (.*) \|$", text, flags=re.M)}


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_a_closed_pipe_stops_quietly_like_other_tools(env, words, json_flag):
    proc = run_into_closed_pipe([sys.executable, "-m", "app.cli", "score", str(words["ref"]), str(words["same"]),
                                 *json_flag])
    assert proc.returncode == 141  # what a shell shows for a tool SIGPIPE stopped
    assert proc.stderr == ""  # no "internal error", no traceback
    assert not list((env / "home").rglob("*.log"))  # nothing logged as an internal error


def test_pairs_results_can_go_to_standard_output(env, words, capsys):
    pairs = _pairs_csv(env / "pairs.csv", [(words["ref"], words["same"]), (words["ref"], words["other"])])
    assert main(["score", "--pairs", str(pairs), "--out", "-"]) == 0
    captured = capsys.readouterr()
    rows = list(csv.DictReader(captured.out.splitlines()))
    assert [r["row"] for r in rows] == ["2", "3"] and all(0 <= float(r["score"]) <= 100 for r in rows)
    assert "standard output" in captured.err and not (env / "-").exists()


def test_a_pairs_text_column_scores_that_row_told_the_word(env, tmp_path, capsys):
    """A row with a text is scored as `--text` scores (the word's phonemes weigh in), a row
    without one as `score REF ATT`; a text whose language cannot be told is that row's error."""
    ref = _wav(tmp_path / "bul.wav", pad(speak("불"), lead_s=0.3, trail_s=0.3))
    att = _wav(tmp_path / "pul.wav", pad(speak("풀", voice="ko+m3"), lead_s=0.3, trail_s=0.3))
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("reference,attempt,text,lang\nbul.wav,pul.wav,불,\nbul.wav,pul.wav,,\nbul.wav,pul.wav,123,\n"
                     "bul.wav,pul.wav,불,KO\nbul.wav,pul.wav,불,de\nbul.wav,pul.wav,apple,ko\n", encoding="utf-8")
    assert main(["score", "--pairs", str(pairs), "--out", "-", "--model", str(SHIPPED)]) == 1
    told, blind, unknown, upper, other_lang, wrong_lang = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    scorer = Scorer.load(SHIPPED)
    expected = scorer.text_phonemes("불", lang="ko")
    assert float(told["score"]) == pytest.approx(scorer.score_pair(ref, att, expected=expected).score, abs=0.01)
    assert float(blind["score"]) == pytest.approx(scorer.score_pair(ref, att).score, abs=0.01)
    assert told["score"] != blind["score"]
    assert (told["text"], blind["text"]) == ("불", "")  # the results say which rows were told the word
    assert "cannot tell the language of '123'" in unknown["error"] and unknown["score"] == ""
    assert upper["score"] == told["score"]  # the lang cell in any case, as the kiosk's settings
    assert "lang de: not a language malsori speaks" in other_lang["error"] and other_lang["score"] == ""
    assert "'apple' with lang ko: " in wrong_lang["error"] and wrong_lang["score"] == ""


def test_every_json_field_is_documented(env, words, capsys):
    assert main(["score", str(words["ref"]), str(words["same"]), "--json"]) == 0
    fields = json.loads(capsys.readouterr().out)
    page = (REPO_ROOT / "docs" / "engine.md").read_text(encoding="utf-8")
    documented = page[page.index("`--json` prints"):].split("\n\n")[0]
    assert [f for f in fields if f"`{f}`" not in documented] == []


@pytest.mark.parametrize("argv, code, message", [
    (["REF", ""], 2, "an empty FILE argument"),  # "" would otherwise be read as the current folder
    (["--text", "사과", " "], 2, "an empty FILE argument"),
    (["--pairs", "DIR", "--out", "-"], 3, "is a directory; --pairs takes a CSV file"),  # as a folder for audio
])
def test_an_empty_path_or_a_folder_is_an_error_naming_it(env, words, capsys, argv, code, message):
    argv = [str(words["ref"]) if a == "REF" else str(env) if a == "DIR" else a for a in argv]
    assert main(["score", *argv]) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert "directory" not in message or "directory" in documented_exit_codes()[code]


def test_a_full_disk_under_standard_output_is_one_line_and_exit_13(env, words):
    """`malsori score … --json > /dev/full` ended in "internal error" (exit 70)."""
    import subprocess

    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "app.cli", "score", str(words["ref"]), str(words["same"]),
                               "--json"], stdout=full, stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT,
                              env={**os.environ, "MALSORI_HOME": str(env / "home")})
    assert proc.returncode == 13 and proc.stderr.count("\n") == 1, proc.stderr
    assert "No space left on device" in proc.stderr and "internal error" not in proc.stderr


def test_an_output_that_is_a_pipe_or_device_is_refused_not_replaced(env, words, capsys):
    """As root, `--out /dev/full` replaced the device with a regular file (write + rename)."""
    fifo = env / "results.fifo"
    os.mkfifo(fifo)
    pairs = _pairs_csv(env / "pairs.csv", [(words["ref"], words["same"])])
    assert main(["score", "--pairs", str(pairs), "--out", str(fifo)]) == 13
    assert "not a regular file" in capsys.readouterr().err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_an_unknown_option_is_shown_with_the_commands_own_usage(words, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["score", str(words["ref"]), str(words["same"]), "--bogus"])
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and "usage: malsori score" in err and "unrecognized arguments: --bogus" in err
