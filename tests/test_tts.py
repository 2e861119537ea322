"""Reference voices: gTTS → cache → espeak-ng, as the kiosk needs them offline and online.

Real parts throughout: espeak-ng speaks, ffmpeg makes a real MP3, real sockets fail. The only
fake is Google's TTS server, faked at the transport (`requests.adapters.HTTPAdapter.send`),
so gTTS, requests' session, status handling and body parsing all run for real.
"""

from __future__ import annotations

import base64
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import requests
import soundfile as sf
import urllib3

from app import tts
from app.cli import main
from closed_pipe import run_into_closed_pipe
from core.espeak import synthesize
from core.errors import TTSError

KO_WORD = "사과"


# --- a fake Google TTS server at the transport layer -------------------------------------------


@pytest.fixture(scope="module")
def espeak_mp3() -> bytes:
    """A real MP3 (ffmpeg/LAME, 24 kHz mono like Google's) of espeak-ng saying 사과."""
    y = synthesize(KO_WORD, voice="ko", sr=24_000)
    wav = io.BytesIO()
    sf.write(wav, y, 24_000, format="WAV", subtype="PCM_16")
    proc = subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "wav", "-i", "pipe:0", "-codec:a", "libmp3lame", "-b:a", "32k",
         "-f", "mp3", "pipe:1"],
        input=wav.getvalue(), capture_output=True, check=True,
    )
    return proc.stdout


def google_body(mp3: bytes) -> bytes:
    """What Google's batchexecute endpoint answers: the audio base64'd inside a JSON-ish line."""
    payload = json.dumps([base64.b64encode(mp3).decode("ascii")])
    line = json.dumps([["wrb.fr", "jQ1olc", payload, None, None, None, "generic"]], separators=(",", ":"))
    return b")]}'\n\n" + line.encode("ascii") + b"\n"


class FakeGoogle:
    """Replaces the transport: records requests, answers with a status and body."""

    def __init__(self, status: int = 200, body: bytes = b""):
        self.status, self.body, self.requests = status, body, []

    def send(self, adapter, request, **kwargs):
        self.requests.append(request)
        raw = urllib3.HTTPResponse(body=io.BytesIO(self.body), status=self.status, preload_content=False,
                                   headers={"Content-Type": "application/json; charset=utf-8"},
                                   reason="OK" if self.status == 200 else "Error")
        return adapter.build_response(request, raw)


def install_transport(monkeypatch, fake) -> None:
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send",
                        lambda adapter, request, **kw: fake(adapter, request, **kw))


def network_gone(adapter, request, **kwargs):
    raise requests.exceptions.ConnectionError("network is gone")


@pytest.fixture(autouse=True)
def own_folders(tmp_path, monkeypatch):
    """No test reads the real shipped references or writes the real user cache."""
    monkeypatch.setenv("MALSORI_ASSETS", str(tmp_path / "assets"))
    monkeypatch.setenv("MALSORI_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MALSORI_CACHE", raising=False)


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


# --- offline, for real --------------------------------------------------------------------------


def test_offline_auto_falls_back_to_espeak_quickly_and_says_so(cache, monkeypatch):
    # No network, for real and on any machine: every HTTPS request must go through a proxy port
    # that nobody listens on, so the connection is refused by the kernel, as on an unplugged kiosk.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{port}")
    ref = tts.get_reference(KO_WORD, lang="ko", cache_dir=cache, shipped_dirs=[])

    assert ref.engine == "espeak" and ref.voice == "ko"
    assert "gTTS" in ref.fallback_reason and "network" in ref.fallback_reason
    assert "no answer within" not in ref.fallback_reason  # quickly: the refusal, not the deadline, ended it
    assert ref.sr == 16_000 and ref.audio.dtype == np.float32 and ref.duration_s > 0.3
    assert ref.path.is_file() and ref.path.is_relative_to(cache)


def test_gtts_that_never_answers_is_abandoned_at_the_timeout(cache, monkeypatch):
    # A proxy that accepts connections and never says a word: a network silently dropping packets.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    monkeypatch.setenv("https_proxy", f"http://127.0.0.1:{silent.getsockname()[1]}")
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{silent.getsockname()[1]}")
    try:
        start = time.monotonic()
        ref = tts.get_reference(KO_WORD, cache_dir=cache, shipped_dirs=[], gtts_timeout_s=1.0)
        elapsed = time.monotonic() - start
    finally:
        silent.close()
    assert ref.engine == "espeak"
    assert ref.fallback_reason
    # abandoned, not hung: without a deadline this call never returns (a margin for a slow runner)
    assert elapsed < 20.0


def test_forcing_gtts_offline_is_an_error_not_a_silent_espeak(cache, monkeypatch):
    install_transport(monkeypatch, network_gone)
    with pytest.raises(TTSError, match="gTTS"):
        tts.get_reference(KO_WORD, engine="gtts", cache_dir=cache, shipped_dirs=[])
    assert not list(cache.rglob("*.flac"))  # no 0-byte or half file left behind


# --- gTTS success, through a fake Google -------------------------------------------------------


def test_gtts_mp3_is_decoded_cached_and_served_offline_afterwards(cache, monkeypatch, espeak_mp3):
    google = FakeGoogle(200, google_body(espeak_mp3))
    install_transport(monkeypatch, google.send)

    first = tts.get_reference(KO_WORD, lang="ko", cache_dir=cache, shipped_dirs=[])

    assert len(google.requests) == 1
    assert "batchexecute" in google.requests[0].url
    assert first.engine == "gtts" and first.voice == "gtts:ko" and first.fallback_reason is None
    assert first.sr == 16_000 and first.audio.ndim == 1
    spoken = synthesize(KO_WORD, voice="ko", sr=16_000)
    assert abs(first.duration_s - len(spoken) / 16_000) < 0.1  # MP3 adds at most a frame or two
    assert np.abs(first.audio).max() > 0.1
    assert first.path.is_file() and not first.from_cache

    offline = FakeGoogle(599)  # any request from here on would be seen
    install_transport(monkeypatch, offline.send)
    second = tts.get_reference(KO_WORD, lang="ko", cache_dir=cache, shipped_dirs=[])
    assert offline.requests == []  # served from the cache without asking the network
    assert second.from_cache and second.engine == "gtts" and second.path == first.path
    np.testing.assert_array_equal(second.audio, first.audio)


@pytest.mark.parametrize(
    "status, body, reason",
    [
        (429, b"Too Many Requests", "429"),
        (403, b"Forbidden", "403"),
        (200, b")]}'\n\n[[\"wrb.fr\",\"jQ1olc\",null]]\n", "200"),  # an answer without audio
        (200, b"", "no audio"),  # an empty 200
        (200, b'[["wrb.fr","jQ1olc","[\\"abc\\"]"]]\n', "not understood"),  # broken base64
    ],
)
def test_gtts_refusals_fall_back_to_espeak_with_the_reason(cache, monkeypatch, status, body, reason):
    install_transport(monkeypatch, FakeGoogle(status, body).send)
    ref = tts.get_reference(KO_WORD, cache_dir=cache, shipped_dirs=[])
    assert ref.engine == "espeak"
    assert reason in ref.fallback_reason
    assert [p.parent.parent.name for p in cache.rglob("*.flac")] == ["espeak"]


def test_undecodable_gtts_audio_falls_back(cache, monkeypatch):
    install_transport(monkeypatch, FakeGoogle(200, google_body(b"ID3 this is not an mp3")).send)
    ref = tts.get_reference(KO_WORD, cache_dir=cache, shipped_dirs=[])
    assert ref.engine == "espeak" and "decoded" in ref.fallback_reason


# --- the cache ------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "other_key"])
def test_a_damaged_cache_entry_is_detected_and_rebuilt(cache, damage):
    good = tts.get_reference("우유", engine="espeak", cache_dir=cache, shipped_dirs=[])
    data = good.path.read_bytes()
    if damage == "truncate":
        good.path.write_bytes(data[: len(data) * 2 // 3])
    elif damage == "garbage":
        good.path.write_bytes(bytes(range(256)) * 40)
    elif damage == "empty":
        good.path.write_bytes(b"")
    else:  # a valid entry of another text in this one's place
        other = tts.get_reference("우산", engine="espeak", cache_dir=cache, shipped_dirs=[])
        good.path.write_bytes(other.path.read_bytes())

    again = tts.get_reference("우유", engine="espeak", cache_dir=cache, shipped_dirs=[])

    assert not again.from_cache  # rebuilt, not served
    np.testing.assert_array_equal(again.audio, good.audio)
    assert tts.read_entry(good.path, tts.CacheKey("espeak", "ko", "ko", "우유", False)) is not None


def test_two_threads_asking_for_the_same_new_word_make_one_valid_file(cache, monkeypatch):
    made = []
    real = tts.synthesize_espeak
    monkeypatch.setattr(tts, "synthesize_espeak", lambda *a, **kw: made.append(1) or real(*a, **kw))
    barrier = threading.Barrier(2)
    results, errors = [], []

    def ask():
        barrier.wait()
        try:
            results.append(tts.get_reference("고양이", engine="espeak", cache_dir=cache, shipped_dirs=[]))
        except Exception as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert not errors and len(results) == 2
    assert len(made) == 1  # one synthesis; the second thread waited and read the file
    files = [p for p in cache.rglob("*") if p.is_file() and not p.name.endswith(".lock")]
    assert files == [results[0].path]
    np.testing.assert_array_equal(results[0].audio, results[1].audio)
    assert sorted(r.from_cache for r in results) == [False, True]


def test_key_separates_engine_voice_language_text_and_speed(cache):
    plain = tts.get_reference("바다", engine="espeak", cache_dir=cache, shipped_dirs=[])
    slow = tts.get_reference("바다", engine="espeak", slow=True, cache_dir=cache, shipped_dirs=[])
    female = tts.get_reference("바다", engine="espeak", voice="ko+f2", cache_dir=cache, shipped_dirs=[])
    assert len({plain.path, slow.path, female.path}) == 3
    assert slow.duration_s > plain.duration_s * 1.2
    assert female.voice == "ko+f2"
    # the same text, spaced and composed differently, is the same entry
    assert tts.get_reference(" 바다 ", engine="espeak", cache_dir=cache, shipped_dirs=[]).from_cache


def test_shipped_references_serve_offline_without_touching_the_user_cache(tmp_path, monkeypatch):
    shipped, user = tmp_path / "shipped", tmp_path / "user"
    made = tts.get_reference("나무", engine="espeak", cache_dir=shipped, shipped_dirs=[])
    shipped.chmod(0o555)  # read-only, as on a kiosk image
    calls = []
    install_transport(monkeypatch, lambda *a, **kw: calls.append(1))
    try:
        ref = tts.get_reference("나무", cache_dir=user, shipped_dirs=[shipped])
    finally:
        shipped.chmod(0o755)
    assert calls == []  # no network
    assert ref.from_cache and ref.engine == "espeak" and ref.path == made.path
    assert not user.exists()


def test_a_cached_gtts_entry_is_preferred_over_espeak(cache, monkeypatch, espeak_mp3):
    tts.get_reference(KO_WORD, engine="espeak", cache_dir=cache, shipped_dirs=[])
    install_transport(monkeypatch, FakeGoogle(200, google_body(espeak_mp3)).send)
    tts.get_reference(KO_WORD, engine="gtts", cache_dir=cache, shipped_dirs=[])
    install_transport(monkeypatch, network_gone)
    assert tts.get_reference(KO_WORD, cache_dir=cache, shipped_dirs=[]).engine == "gtts"


def test_unwritable_cache_is_a_tts_error_with_advice(tmp_path, monkeypatch):
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    with pytest.raises(TTSError, match="MALSORI_CACHE"):
        tts.get_reference("달", engine="espeak", cache_dir=blocked / "cache", shipped_dirs=[])


def test_empty_text_and_unknown_engine_are_refused(cache):
    with pytest.raises(TTSError, match="empty"):
        tts.get_reference("   ", cache_dir=cache)
    with pytest.raises(TTSError, match="engine"):
        tts.get_reference(KO_WORD, engine="polly", cache_dir=cache)


def test_gtts_reachable_tells_a_listening_host_from_a_closed_port(monkeypatch):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    monkeypatch.setattr(tts, "GTTS_HOST", ("127.0.0.1", port))
    assert tts.gtts_reachable(timeout_s=1.0)
    server.close()
    assert not tts.gtts_reachable(timeout_s=1.0)


# --- the command line -------------------------------------------------------------------------


def test_cli_writes_a_16k_mono_reference(tmp_path, monkeypatch, capsys):
    install_transport(monkeypatch, network_gone)
    out = tmp_path / "ref.wav"
    code = main(["tts", KO_WORD, "--lang", "ko", "-o", str(out), "--cache-dir", str(tmp_path / "c")])
    assert code == 0
    info = sf.info(str(out))
    assert (info.samplerate, info.channels, info.subtype) == (16_000, 1, "PCM_16")
    assert info.duration > 0.3
    captured = capsys.readouterr()
    assert "espeak" in captured.out and "used espeak-ng because" in captured.err


def test_cli_precache_reports_per_engine_and_is_idempotent(tmp_path, capsys):
    words = tmp_path / "mine.csv"
    words.write_text("text,lang,kind\n하나,ko,word\n둘,ko,word\nhello,en,word\n", encoding="utf-8")
    args = ["tts", "--list", str(words), "--precache", "--engine", "espeak", "--cache-dir", str(tmp_path / "c")]

    assert main(args) == 0
    assert "espeak 3 (3 new, 0 already cached)" in capsys.readouterr().out
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "espeak 3 (0 new, 3 already cached)" in out and "gtts 0" in out


def test_cli_precache_says_which_references_it_found_in_the_shipped_set(tmp_path, monkeypatch, capsys):
    """A shipped reference is used where it lies: the summary must not claim it is in --cache-dir."""
    shipped = tmp_path / "assets-references"
    tts.get_reference("하나", lang="ko", engine="espeak", cache_dir=shipped, shipped_dirs=[])
    monkeypatch.setattr(tts, "default_shipped_dirs", lambda: [shipped])
    words = tmp_path / "mine.csv"
    words.write_text("text,lang\n하나,ko\n둘,ko\n", encoding="utf-8")
    cache = tmp_path / "c"
    assert main(["tts", "--list", str(words), "--precache", "--engine", "espeak", "--cache-dir", str(cache)]) == 0
    assert f"2 of 2 references ready (1 in {cache}, 1 shipped in {shipped})" in capsys.readouterr().out
    assert len(list(cache.rglob("*.flac"))) == 1  # 둘 made; 하나 not copied


def test_cli_precache_stops_asking_a_rate_limiting_google(tmp_path, monkeypatch, capsys):
    google = FakeGoogle(429, b"Too Many Requests")
    install_transport(monkeypatch, google.send)
    monkeypatch.setattr(tts, "gtts_reachable", lambda timeout_s=2.0: True)  # the host answers, the API refuses
    words = tmp_path / "mine.csv"
    words.write_text("text,lang\n하나,ko\n둘,ko\n셋,ko\n넷,ko\n다섯,ko\n", encoding="utf-8")
    base = ["tts", "--list", str(words), "--precache", "--cache-dir", str(tmp_path / "c")]

    assert main(base + ["--engine", "gtts"]) == 1  # gTTS only: gives up, nothing cached
    assert len(google.requests) == 3
    assert "0 of 5 references ready" in capsys.readouterr().out

    assert main(base) == 0  # auto: three refusals, then espeak-ng for the rest
    assert len(google.requests) == 6
    captured = capsys.readouterr()
    assert "espeak 5 (5 new" in captured.out and "429" in captured.err


def test_cli_forced_gtts_while_unreachable_exits_12(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(tts, "GTTS_HOST", ("127.0.0.1", 9))  # nothing listens on the discard port
    words = tmp_path / "mine.csv"
    words.write_text("text,lang\n하나,ko\n", encoding="utf-8")
    code = main(["tts", "--list", str(words), "--precache", "--engine", "gtts", "--cache-dir", str(tmp_path / "c")])
    assert code == 12
    assert "espeak" in capsys.readouterr().err


def test_cli_without_lang_speaks_the_language_of_the_texts_letters_and_says_so(tmp_path, capsys):
    cache = ["--engine", "espeak", "--cache-dir", str(tmp_path / "c")]
    assert main(["tts", "hello", *cache]) == 0
    captured = capsys.readouterr()
    assert "\ten-us\t" in captured.out and "--lang en" in captured.err  # not a Korean voice reading English
    assert main(["tts", KO_WORD, *cache]) == 0
    captured = capsys.readouterr()
    assert "\tko\t" in captured.out and "--lang ko" in captured.err
    assert main(["tts", KO_WORD, "--lang", "ko", *cache]) == 0  # an explicit --lang needs no note
    assert "note" not in capsys.readouterr().err
    assert main(["tts", KO_WORD, "--lang", "KO", *cache]) == 0  # in any case, as a pairs file's lang column
    assert "\tko\t" in capsys.readouterr().out


@pytest.mark.parametrize("text, lang, message", [
    ("東京", None, "give --lang (ko, en)"),  # neither Hangul nor Latin letters
    ("hello 사과", None, "mixes Hangul and Latin letters"),  # both: no one voice reads it (--lang ko refuses 'hello')
    ("ㄱ", None, "would not read as words: 'ㄱ'"),  # a bare jamo: read as its letter name
    ("hello", "ko", "would not read as words"),  # an explicit --lang is kept, and checked
    (KO_WORD, "zz", "--lang zz: not a language malsori speaks (choose from ko, en)"),
])
def test_cli_refuses_a_language_it_cannot_tell_speak_or_read_the_text_in(tmp_path, capsys, text, lang, message):
    out = tmp_path / "ref.wav"
    argv = ["tts", text, "-o", str(out), "--engine", "espeak", "--cache-dir", str(tmp_path / "c")]
    assert main(argv + (["--lang", lang] if lang else [])) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "espeak-ng failed" not in err
    assert not out.exists()


@pytest.mark.parametrize("voice, message", [
    ("zz+f2", "no espeak-ng language 'zz'"),  # espeak-ng itself fails: "voice does not exist"
    ("ko+zz", "no espeak-ng variant 'zz'"),  # espeak-ng would silently speak plain ko
])
def test_cli_refuses_an_unknown_voice_in_one_line_saying_how_to_list_them(tmp_path, capsys, voice, message):
    out = tmp_path / "ref.wav"
    argv = ["tts", KO_WORD, "--voice", voice, "-o", str(out), "--engine", "espeak", "--cache-dir", str(tmp_path / "c")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "espeak-ng --voices" in err
    assert "espeak-ng failed" not in err and not out.exists()
    assert main(argv[:3] + ["ko+f2"] + argv[4:]) == 0  # a known variant speaks


def test_cli_usage_errors_exit_2(capsys):
    assert main(["tts"]) == 2
    assert main(["tts", "--precache"]) == 2


def test_show_lists_into_a_closed_pipe_stops_quietly(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MALSORI_ASSETS"}  # the shipped lists: output to write
    proc = run_into_closed_pipe([sys.executable, "-m", "app.cli", "tts", "--show-lists"], env=env)
    assert (proc.returncode, proc.stderr) == (141, "")


@pytest.mark.parametrize("suffix, container", [(".wav", "WAV"), (".flac", "FLAC"), (".ogg", "OGG"), (".mp3", "MP3")])
def test_cli_writes_the_format_the_output_name_asks_for(tmp_path, capsys, suffix, container):
    out = tmp_path / f"ref{suffix}"
    assert main(["tts", KO_WORD, "--engine", "espeak", "-o", str(out), "--cache-dir", str(tmp_path / "c")]) == 0
    assert sf.info(str(out)).format == container
    y, sr = sf.read(str(out))
    assert sr == 16_000 and len(y) / sr > 0.3


def test_cli_refuses_an_output_name_without_a_known_ending(tmp_path, capsys):
    code = main(["tts", KO_WORD, "--engine", "espeak", "-o", str(tmp_path / "ref"), "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 2 and ".wav, .flac, .ogg, .mp3" in err
    assert not (tmp_path / "ref").exists()


def test_cli_unwritable_output_is_exit_13_naming_the_path_once(tmp_path, capsys):
    target = tmp_path / "a-file" / "ref.wav"  # a file where the folder should be
    (tmp_path / "a-file").write_text("")
    code = main(["tts", KO_WORD, "--lang", "ko", "--engine", "espeak", "-o", str(target), "--cache-dir", str(tmp_path / "c")])
    err = capsys.readouterr().err
    assert code == 13 and err.count("\n") == 1 and err.count(str(tmp_path / "a-file")) == 1
    assert "is a file, not a folder" in err  # not mkdir's "File exists"
    deeper = tmp_path / "a-file" / "sub" / "ref.wav"  # mkdir says "Not a directory" here
    assert main(["tts", KO_WORD, "--lang", "ko", "--engine", "espeak", "-o", str(deeper), "--cache-dir",
                 str(tmp_path / "c")]) == 13
    assert f"{tmp_path / 'a-file'}: is a file, not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["사과", "--timeout", "nan"], "--timeout must be a positive number"),
    (["사과", "--timeout", "0"], "--timeout must be a positive number"),
    (["사과", "--show-lists"], "not TEXT and --show-lists"),
    (["--list", "ko_beginner", "--check", "--add-list", "x.csv"], "not --list and --add-list"),
    (["--list", "ko_beginner", "--precache", "-o", "x.wav"], "-o/--output goes with TEXT"),
    # voice options beside an action that makes no reference, or an engine that has no use for them
    (["--show-lists", "--slow"], "--slow, --cache-dir: only for making references"),
    (["--list", "ko_beginner", "--check", "--engine", "gtts"], "--engine, --cache-dir: only for making references"),
    (["--add-list", "x.csv", "--engine", "gtts"], "--add-list caches espeak-ng references"),
    (["사과", "--engine", "gtts", "--voice", "ko+f2"], "--voice is an espeak-ng voice"),
    (["사과", "--engine", "espeak", "--timeout", "3"], "--engine espeak never asks gTTS"),
])
def test_cli_refuses_options_the_action_would_ignore(tmp_path, capsys, argv, message):
    assert main(["tts", *argv, "--cache-dir", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert not (tmp_path / "c").exists()  # refused before any work


def test_cli_names_unreadable_characters_in_the_order_they_are_written(tmp_path, capsys):
    assert main(["tts", "사과zyx", "--lang", "ko", "--cache-dir", str(tmp_path / "c")]) == 2
    assert "would not read as words: 'z', 'y', 'x'" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["apple", "--voice", "ko+f2"], "--voice ko+f2 speaks ko, but 'apple' is en"),
    (["사과", "--voice", "en-us+m3"], "--voice en-us+m3 speaks en, but '사과' is ko"),
    (["--list", "LIST", "--precache", "--voice", "ko+f2"], "'apple' is en (and 1 more entries)"),
    (["   "], "TEXT is empty"),
])
def test_cli_refuses_a_voice_of_another_language_and_a_blank_text(tmp_path, capsys, argv, message):
    words = tmp_path / "words.csv"
    words.write_text("text,lang\napple,en\n사과,ko\nwater,en\n", encoding="utf-8")
    argv = [str(words) if a == "LIST" else a for a in argv]
    out = ["-o", str(tmp_path / "ref.wav")] if argv[0] != "--list" and argv[0].strip() else []
    assert main(["tts", *argv, *out, "--engine", "espeak", "--cache-dir", str(tmp_path / "c")]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "c").exists() and not (tmp_path / "ref.wav").exists()
