"""Word lists: the shipped ones are complete, readable by espeak-ng and have offline references."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

from app import tts
from app.cli import main
from core.paths import REPO_ROOT
from core.wordlists import (
    Entry,
    WordListError,
    add_wordlist,
    available_lists,
    check_renders,
    find_wordlist,
    load_wordlist,
    render_problem,
)

SHIPPED = REPO_ROOT / "assets" / "wordlists"
KO_LIST = SHIPPED / "ko_beginner.csv"
EN_LIST = SHIPPED / "en_beginner.csv"


@pytest.fixture(scope="module")
def shipped_entries() -> list[Entry]:
    return [e for path in sorted(SHIPPED.glob("*.csv")) for e in load_wordlist(path)]


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("MALSORI_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MALSORI_CACHE", raising=False)
    return tmp_path / "home"


# --- the shipped lists ------------------------------------------------------------------------


def test_korean_list_has_enough_complete_words_and_sentences():
    entries = load_wordlist(KO_LIST)
    words = [e for e in entries if e.kind == "word"]
    sentences = [e for e in entries if e.kind == "sentence"]
    assert len(words) >= 150 and len(sentences) >= 30
    for e in entries:
        assert e.lang == "ko"
        assert re.fullmatch(r"[\uAC00-\uD7A3 .,?!]+", e.text), e.text
        assert re.fullmatch(r"[A-Za-z' .,?!-]+", e.romanization), (e.text, e.romanization)
        assert e.gloss and e.category, e.text
        assert (" " in e.text or e.text[-1] in ".?!") == (e.kind == "sentence"), e.text
    assert len({e.category for e in words}) >= 10


def test_english_list_is_shipped_too():
    entries = load_wordlist(EN_LIST)
    assert {e.lang for e in entries} == {"en"}
    assert sum(e.kind == "word" for e in entries) >= 50 and sum(e.kind == "sentence" for e in entries) >= 10


def test_every_shipped_entry_is_read_as_words_by_espeak(shipped_entries):
    assert check_renders(shipped_entries) == {}


@pytest.mark.parametrize(
    "text, lang, why",
    [
        ("TV", "ko", "characters"),  # Latin in Korean: espeak-ng switches to English
        ("ㄱ", "ko", "characters"),  # a bare jamo: read as its letter name "giyeok"
        ("3", "ko", "characters"),  # a digit: read as a number word, not what is written
        ("漢字", "ko", "characters"),
        ("TV", "en", "letter by letter"),
        ("!!!", "en", "no letters"),  # punctuation alone: espeak-ng says "exclamation"
        ("?", "ko", "no letters"),
    ],
)
def test_render_check_rejects_what_espeak_would_spell_out(text, lang, why):
    assert why in render_problem(Entry(text, "", "", "", lang, "word"))


def test_setup_command_gives_every_shipped_entry_an_offline_reference(tmp_path, monkeypatch, shipped_entries):
    """The line deploy/setup.sh runs, then the kiosk's lookup with the network gone."""
    monkeypatch.setenv("MALSORI_ASSETS", str(tmp_path / "assets"))  # not the real shipped references
    refs = tmp_path / "references"
    lists = [str(p) for p in sorted(SHIPPED.glob("*.csv"))]
    assert main(["tts", "--list", *lists, "--precache", "--engine", "espeak", "--cache-dir", str(refs)]) == 0

    calls = []

    def network_gone(*args, **kwargs):
        calls.append(1)
        raise requests.exceptions.ConnectionError("network is gone")

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", network_gone)
    total_bytes = 0
    for e in shipped_entries:
        ref = tts.get_reference(e.text, lang=e.lang, cache_dir=tmp_path / "user", shipped_dirs=[refs])
        assert ref.from_cache and ref.engine == "espeak", e.text
        assert 0.1 < ref.duration_s < 6.0, e.text
        total_bytes += ref.path.stat().st_size
    assert calls == []
    assert total_bytes < 10_000_000  # "a few MB": measured 4.7 MB for 348 entries


def test_installed_references_cover_the_shipped_lists(shipped_entries):
    """After `bash deploy/setup.sh`, assets/references holds every shipped entry."""
    refs = REPO_ROOT / "assets" / "references"
    if not any(refs.rglob("*.flac")):
        pytest.skip("assets/references not built yet: run bash deploy/setup.sh")
    missing = [
        e.text for e in shipped_entries
        if tts.lookup(tts.CacheKey("espeak", tts.espeak_voice(e.lang), e.lang, tts.normalize_text(e.text), False),
                      [refs]) is None
    ]
    assert missing == [], "re-run bash deploy/setup.sh to build references for new entries"


# --- the format -------------------------------------------------------------------------------


def test_format_allows_bom_comments_optional_columns_and_drops_duplicates(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(
        "\ufefftext,lang,gloss\n# a comment row,ko,\n포도,ko,grapes\n포도,ko,grapes again\n물 주세요.,ko,\n",
        encoding="utf-8",
    )
    entries = load_wordlist(path)
    assert [(e.text, e.kind, e.gloss) for e in entries] == [("포도", "word", "grapes"), ("물 주세요.", "sentence", "")]


@pytest.mark.parametrize(
    "content, message",
    [
        ("word,gloss\n사과,apple\n", "missing text, lang"),
        ("text,lang,kind\n사과,ko,phrase\n", "row 2: kind must be"),
        ("text,lang\n사과,\n", "row 2: the lang column is empty"),
        ("text,lang\n", "no entries"),
    ],
)
def test_a_malformed_list_names_the_file_and_row(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(WordListError, match=message) as info:
        load_wordlist(path)
    assert str(path) in str(info.value)


def test_non_utf8_and_missing_files_are_word_list_errors(tmp_path):
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("text,lang\ncafé,en\n".encode("latin-1"))
    with pytest.raises(WordListError, match="UTF-8"):
        load_wordlist(latin1)
    with pytest.raises(WordListError, match="cannot read"):
        load_wordlist(tmp_path / "nope.csv")


# --- an operator adds a list ------------------------------------------------------------------


def test_operator_adds_a_list_and_the_kiosk_finds_it_with_references(tmp_path, home, capsys):
    mine = tmp_path / "museum.csv"
    mine.write_text("text,lang,kind,romanization,gloss,category\n박물관,ko,word,bangmulgwan,museum,places\n",
                    encoding="utf-8")

    assert main(["tts", "--add-list", str(mine)]) == 0

    installed = home / "wordlists" / "museum.csv"
    assert installed in available_lists()
    assert find_wordlist("museum") == installed
    assert "1 of 1 references ready" in capsys.readouterr().out
    assert tts.lookup(tts.CacheKey("espeak", "ko", "ko", "박물관", False), [tts.default_cache_dir()]) is not None


def test_a_voice_of_another_language_is_refused_before_the_list_is_installed(tmp_path, home, capsys):
    mine = tmp_path / "fresh_words.csv"
    mine.write_text("text,lang\n고양이,ko\n", encoding="utf-8")
    assert main(["tts", "--add-list", str(mine), "--voice", "en-us+f2"]) == 2
    assert "installed" not in capsys.readouterr().out
    assert not (home / "wordlists" / "fresh_words.csv").exists()


def test_a_list_espeak_cannot_read_is_refused_and_not_installed(tmp_path, home):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,lang\n사과,ko\nKTX,ko\n", encoding="utf-8")
    with pytest.raises(WordListError, match="KTX"):
        add_wordlist(bad)
    assert not (home / "wordlists" / "bad.csv").exists()


def test_cli_check_reports_problem_entries(tmp_path, capsys):
    mixed = tmp_path / "mixed.csv"
    mixed.write_text("text,lang\n사과,ko\nㅋㅋ,ko\n", encoding="utf-8")
    assert main(["tts", "--list", str(mixed), "--check"]) == 1
    out = capsys.readouterr().out
    assert "ㅋㅋ" in out and "1 of 2 entries" in out


def test_unknown_list_name_lists_the_available_ones(home):
    with pytest.raises(WordListError, match="ko_beginner"):
        find_wordlist("klingon")
