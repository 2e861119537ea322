"""When the text is known (the kiosk's word, `score --text`), the attempt is also judged against
the text's own phonemes: a reference voice the recognizer mishears weighs half, and the text's
phonemes are the ones the recognizer learned for the word."""

from __future__ import annotations

import numpy as np
import pytest

import core.espeak
from core.paths import REPO_ROOT
from core.phonemes import utterance_items
from core.wordlists import load_wordlist
from models import Scorer
from models.pronunciation import pronunciation_cost

SHIPPED = REPO_ROOT / "assets" / "models" / "malsori.pt"


def _reading(symbols: list[int], *, n_symbols: int = 6, frames_each: int = 4) -> np.ndarray:
    """Log-probabilities [T, 1 + n_symbols] of a recognizer sure it hears `symbols`, each for a
    few frames with a blank between (a confident CTC reading)."""
    rows = []
    for s in symbols:
        rows += [s] * frames_each + [0]
    lp = np.full((len(rows), 1 + n_symbols), np.log(0.02), dtype=np.float32)
    lp[np.arange(len(rows)), rows] = np.log(1 - 0.02 * n_symbols)
    return lp


def test_the_text_halves_what_a_misheard_reference_costs_a_right_attempt():
    reference, attempt = _reading([1, 2, 3]), _reading([1, 2, 4])  # the reference heard as 1 2 3
    heard_only = pronunciation_cost(reference, attempt)
    assert heard_only > 1.0
    # the text says 1 2 4, as the attempt does: the reference voice was misheard, half the cost stays
    assert pronunciation_cost(reference, attempt, expected=[1, 2, 4]) == pytest.approx(heard_only / 2)
    # the text agrees with the reference: the attempt's mistake costs in full
    assert pronunciation_cost(reference, attempt, expected=[1, 2, 3]) == pytest.approx(heard_only)


def test_an_attempt_too_short_to_say_the_text_costs_as_much_as_another_word():
    """CTC cannot fit 8 phonemes into 6 frames; that must not read as "says it" (cost 0)."""
    from models.pronunciation import TOO_SHORT_COST

    reference, short = _reading([1, 2, 3, 4, 5, 6, 1, 2], frames_each=2), _reading([1, 2], frames_each=2)
    assert short.shape[0] == 6
    assert pronunciation_cost(reference, short) == TOO_SHORT_COST
    assert pronunciation_cost(reference, short, expected=[1, 2, 3, 4, 5, 6, 1, 2]) == TOO_SHORT_COST
    assert pronunciation_cost(short, short) == 0.0


@pytest.fixture(scope="module")
def scorer():
    return Scorer.load(SHIPPED)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_a_kiosk_words_phonemes_are_the_ones_the_recognizer_learned_for_it(scorer, lang):
    """The first 20 words of each beginner list get their text phonemes, and they are the training
    targets of the same word (training.targets.symbols of the corpus's items). Not every item does:
    en "four", "airport" and "What is your name?" have a sound (o@, U@) without a symbol."""
    from training.corpus import VocabEntry, entry_items
    from training.targets import symbols

    words = [e.text for e in load_wordlist(REPO_ROOT / "assets" / "wordlists" / f"{lang}_beginner.csv")
             if e.kind == "word"][:20]
    for word in words:
        trained = symbols(entry_items(VocabEntry(word, lang, "word")), lang=lang)
        assert scorer.text_phonemes(word, lang=lang) == trained, word


def test_a_sound_without_a_symbol_or_no_espeak_ng_scores_without_the_text(monkeypatch):
    scorer = Scorer.load(SHIPPED)  # its own: nothing asked before is remembered
    assert scorer.text_phonemes("sur", lang="fr") is None  # French /y/: no Korean or English symbol
    assert scorer.text_phonemes("sa", lang="fr") is not None
    monkeypatch.setattr(core.espeak, "BINARY", "espeak-ng-not-installed")
    assert scorer.text_phonemes("사과", lang="ko") is None


def test_a_word_espeak_ng_failed_on_once_is_asked_again_not_remembered_as_without_phonemes(monkeypatch):
    """The kiosk keeps one scorer all day: one espeak-ng hiccup (a timeout) must not leave the word
    scored without its text until a restart."""
    scorer = Scorer.load(SHIPPED)
    with monkeypatch.context() as m:
        m.setattr(core.espeak, "BINARY", "espeak-ng-not-installed")
        assert scorer.text_phonemes("학교", lang="ko") is None
    assert scorer.text_phonemes("학교", lang="ko") is not None


def test_utterance_items_merge_korean_aspirates_as_the_corpus_edits_them():
    assert utterance_items([["t", "h", "'a", "L"]], lang="ko") == ["th", "'a", "L"]
    assert utterance_items([["t", "h", "'a", "L"]], lang="en") == ["t", "h", "'a", "L"]


def test_evaluate_and_train_tell_each_corpus_reference_what_the_kiosk_is_told(scorer, tmp_path):
    """`evaluate` and `train` look up each pair's reference file in targets.reference_symbols: the
    same phonemes as the kiosk's Scorer.text_phonemes for the word, mapped the same way where the
    recognizer has no symbol of its own (en "four": espeak-ng's o@ is read as O@)."""
    import csv

    from training.dataset import read_manifest
    from training.targets import reference_symbols

    words = [("사과", "ko"), ("학교", "ko"), ("hello", "en"), ("four", "en")]
    with open(tmp_path / "manifest.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["reference", "attempt", "label", "kind", "word", "lang", "edits",
                                               "attempt_text"])
        writer.writeheader()
        for i, (word, lang) in enumerate(words):
            writer.writerow({"reference": f"audio/{i}_ref.wav", "attempt": f"audio/{i}_att.wav", "label": 1,
                             "kind": "correct", "word": word, "lang": lang, "edits": "", "attempt_text": word})
    said = reference_symbols(scorer.pair, tmp_path)
    for record, (word, lang) in zip(read_manifest(tmp_path), words):
        assert said.get(record.reference) == scorer.text_phonemes(word, lang=lang), word
