"""A text's phonemes in the recognizer's symbols: what the word *should* sound like.

The pronunciation cost (models.pronunciation) judges an attempt against the phonemes the
recognizer hears in the reference; when the text is known (the kiosk's word, `score --text`,
both evaluation sets) it also judges it against espeak-ng's phonemes of the text, mapped here
onto the nearest symbol the recognizer knows: the same mnemonic in the text's language,
then in the other of Korean/English, then a small table of near sounds, then the mnemonic
without its length, retroflex, palatal or stød marks. A text with a sound that maps to
nothing (a front rounded vowel, say) has no symbols: the heard reference alone then judges.
`train-phonemes --real` maps real takes' texts the same way.
"""

from __future__ import annotations

import re

from core.errors import MalsoriError
from core.phonemes import base, is_phoneme, utterance_items

# mnemonics of other languages → recognizer mnemonics (tried before stripping marks)
NEAR_SOUNDS: dict[str, tuple[str, ...]] = {
    "?": (),  # glottal stop: no symbol, and no sound to spell
    "ts": ("t", "s"), "dz": ("d", "z"), "ja": ("j", "a"), "ju": ("j", "u:"), "jo": ("j", "o"), "je": ("j", "e"),
    "R": ("r",), "R2": ("r",), "R3": ("r",), "R^": ("r",), "r.": ("r",),
    "ai": ("aI",), "au": ("aU",), "ei": ("eI",), "oi": ("OI",), "ou": ("oU",),
    "A": ("A:",), "A@": ("A:",), "O": ("O:",), "ee": ("e",), "x": ("h",), "X": ("h",),
    "o@": ("O@",), "U@": ("U", "r"),  # en-us "four", "tour": vowels + r the corpus words never had
}
MARKS = re.compile(r"[:.#;^\-]")  # length, retroflex, unreleased, palatal, … marks of espeak-ng mnemonics


def map_item(mnemonic: str, known: set[str], *, lang: str) -> tuple[str, ...] | None:
    """One phoneme mnemonic (stress already dropped) → recognizer symbols ("en:a", …); () for a
    sound with no symbol and nothing to spell (a bare mark); None when nothing fits."""
    tags = ("ko", "en") if lang == "ko" else ("en", "ko")

    def tagged(b: str) -> str | None:
        return next((f"{t}:{b}" for t in tags if f"{t}:{b}" in known), None)

    candidates = [(mnemonic,)]
    if mnemonic in NEAR_SOUNDS:
        candidates.append(NEAR_SOUNDS[mnemonic])
    stripped = MARKS.sub("", mnemonic).lstrip("?")
    candidates += [(stripped,), NEAR_SOUNDS.get(stripped, (stripped,))]
    for option in candidates:
        if not any(option):  # nothing left to say: a glottal stop or a lone mark
            return ()
        found = [tagged(b) for b in option]
        if all(found):
            return tuple(found)
    return None


def map_symbols(items: list[str], known: set[str], *, lang: str) -> tuple[tuple[str, ...] | None, list[str]]:
    """espeak-ng phoneme items of a text → (recognizer symbols or None, the mnemonics that fit nothing)."""
    out: list[str] = []
    unknown: list[str] = []
    for item in items:
        if item.startswith("("):  # "(en)…": espeak-ng switched language mid-text
            unknown.append(item)
            continue
        if not is_phoneme(item):
            continue
        mapped = map_item(base(item), known, lang=lang)
        if mapped is None:
            unknown.append(base(item))
        else:
            out.extend(mapped)
    return (tuple(out) if out and not unknown else None), unknown


def text_items(text: str, *, lang: str, voice: str | None = None) -> list[str] | None:
    """espeak-ng's phoneme items of `text` (core.phonemes); None when espeak-ng cannot say it
    (missing, failing). voice: the espeak-ng voice (default: the language's, core.espeak.VOICES)."""
    from core.espeak import espeak_voice, phoneme_tokens

    try:
        return utterance_items(phoneme_tokens(text, voice=voice or espeak_voice(lang)), lang=lang)
    except MalsoriError:
        return None

