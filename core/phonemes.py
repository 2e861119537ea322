"""espeak-ng's phonemes of a text as a flat list of *items* (core.espeak.phoneme_tokens → items).

An item is a phoneme mnemonic with its stress mark ("'a", ",o", "p-", "tSh", "i:"), or a
boundary: " " between words, "_:" a pause between clauses. Used at run time (the text's
phonemes beside a pair's score, models.text_phonemes) and by training's corpus edits
(training.phoneme_edits), so both read espeak-ng's output the same way.
"""

from __future__ import annotations

WORD_BOUNDARY = " "
CLAUSE_PAUSE = "_:"
BOUNDARIES = (WORD_BOUNDARY, CLAUSE_PAUSE)
STRESS_MARKS = "',"
VOWEL_INITIALS = "aeiouAEIOUV03@"  # espeak-ng vowel mnemonics (ko and en) start with one of these
GLIDES = ("j", "w")
KO_MERGE_ASPIRATION = {"t": "th", "tS": "tSh"}  # espeak-ng prints ㅌ/ㅊ as t|h, tS|h


def split_stress(item: str) -> tuple[str, str]:
    """"'a" → ("'", "a"); "p-" → ("", "p-")."""
    i = 0
    while i < len(item) and item[i] in STRESS_MARKS:
        i += 1
    return item[:i], item[i:]


def base(item: str) -> str:
    return split_stress(item)[1]


def is_vowel(item: str) -> bool:
    b = base(item)
    return bool(b) and b not in BOUNDARIES and b[0] in VOWEL_INITIALS


def is_phoneme(item: str) -> bool:
    """False for boundaries and pauses ("_:", "_!": espeak-ng pause mnemonics start with "_")."""
    return item not in BOUNDARIES and not item.startswith("_")


def utterance_items(clauses: list[list[str]], *, lang: str) -> list[str]:
    """Clauses from `core.espeak.phoneme_tokens` → one flat item list (see module docstring).

    Korean: espeak-ng prints ㅌ/ㅊ as two phonemes (t|h, tS|h); they become one (th, tSh) so
    that an edit swaps the whole consonant. A lone ";" (palatal mark) joins the phoneme before it.
    """
    items: list[str] = []
    for c_i, clause in enumerate(clauses):
        if c_i:
            items.append(CLAUSE_PAUSE)
        for item in clause:
            if item == ";" and items and is_phoneme(items[-1]):
                items[-1] += ";"
            else:
                items.append(item)
    if lang != "ko":
        return items
    merged: list[str] = []
    i = 0
    while i < len(items):
        item = items[i]
        nxt = items[i + 1] if i + 1 < len(items) else ""
        after = items[i + 2] if i + 2 < len(items) else ""
        if item in KO_MERGE_ASPIRATION and nxt == "h" and (is_vowel(after) or after in GLIDES):
            merged.append(KO_MERGE_ASPIRATION[item])
            i += 2
        else:
            merged.append(item)
            i += 1
    return merged
