"""What each corpus file says, phoneme by phoneme: targets for the CTC auxiliary loss.

A pair loss tells the encoder one number per pair ("same" or "different"). The synthetic
corpus knows much more: the exact phonemes of every file (the word's espeak-ng phonemes,
with the manifest's edits applied, or the other word's phonemes). Asking the frame
embeddings to spell those phonemes (CTC, no alignment needed) makes them phonetic and
speaker-independent, which is what DTW on them needs.

Real recordings (a school's manifest) carry no phonemes: they get no targets and train on
the pair losses alone.
"""

from __future__ import annotations

import csv
from pathlib import Path

from core.phonemes import base, is_phoneme

from .corpus import VocabEntry, entry_items
from .dataset import MANIFEST_NAME
from .phoneme_edits import Edit, apply_edits, parse_edits, render

NEEDED_COLUMNS = {"reference", "attempt", "kind", "word", "lang", "edits", "attempt_text"}


def symbols(items: tuple[str, ...] | list[str], *, lang: str) -> tuple[str, ...]:
    """Phoneme items → target symbols: stress marks and boundaries dropped, language-tagged
    (espeak-ng's "a" in Korean and in English are different sounds)."""
    return tuple(f"{lang}:{base(item)}" for item in items if is_phoneme(item))


def phoneme_targets(data_dir: str | Path) -> dict[str, tuple[str, ...]]:
    """Absolute audio path → the phoneme symbols spoken in it, for every file of a corpus
    made by `malsori make-corpus`. Empty for a manifest without phoneme columns; a file
    whose phonemes cannot be recovered is left out (it still trains on the pair losses)."""
    data_dir = Path(data_dir)
    with open(data_dir / MANIFEST_NAME, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows or not NEEDED_COLUMNS <= set(rows[0]):
        return {}
    items: dict[tuple[str, str], tuple[str, ...] | None] = {}

    def of(text: str, lang: str) -> tuple[str, ...] | None:
        if (text, lang) not in items:
            found = entry_items(VocabEntry(text, lang, "word"))
            items[(text, lang)] = found if isinstance(found, tuple) else None
        return items[(text, lang)]

    out: dict[str, tuple[str, ...]] = {}
    for row in rows:
        lang, word = row["lang"], row["word"]
        said = of(word, lang)
        if said is None:
            continue
        out[str(data_dir / row["reference"])] = symbols(said, lang=lang)
        if row["kind"] == "other_word":
            said = of(row["attempt_text"], lang)
        elif row["kind"] == "edit":
            try:  # a hand-made manifest may describe its edits in words: no targets then
                edits = [Edit(pos, old, new, "") for old, new, pos in parse_edits(row["edits"])]
                said = apply_edits(list(said), edits)
            except ValueError:
                said = None
            if said is not None and render(said) != row["attempt_text"]:
                said = None  # espeak-ng phonemised the word differently when the corpus was made
        if said is not None:
            out[str(data_dir / row["attempt"])] = symbols(said, lang=lang)
    return out


def reference_symbols(pair, data_dir: str | Path) -> dict[str, tuple[str, ...]]:
    """Corpus file → the phonemes it says in the pair scorer's recognizer symbols, each mapped as
    `Scorer.text_phonemes` maps a word's (models.text_phonemes): the "text" of a corpus
    reference, what the kiosk is told for its word. Empty without a recognizer or phoneme
    columns; files with a sound that maps to no symbol are left out."""
    from models.text_phonemes import map_item

    known = pair.text_symbols()
    if known is None:
        return {}
    out = {}
    for path, said in phoneme_targets(data_dir).items():
        mapped = [(s,) if s in known else map_item(s.split(":", 1)[1], known, lang=s.split(":", 1)[0]) for s in said]
        if all(m is not None for m in mapped) and any(mapped):
            out[path] = tuple(x for m in mapped for x in m)
    return out
