"""Phoneme strings and the learner mistakes the corpus makes in them.

An utterance is a flat list of espeak-ng phoneme *items* (core.phonemes: mnemonics with their
stress mark, word boundaries, clause pauses). `render(items)` writes the "[[...]]" string
espeak-ng speaks.

An `Edit` changes one phoneme: a substitution, a deletion or an insertion. Positions count
phonemes only (boundaries are not counted), from 0, in the *correct* utterance, so
"p->ph@0;a->o@1" reads "phoneme 0 p became ph, phoneme 1 a became o". "∅" stands for
nothing (a deletion's new phoneme, an insertion's old one); an insertion goes after its
position. The confusion tables below are the realistic learner mistakes of the issue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from core.phonemes import CLAUSE_PAUSE, GLIDES, base, is_phoneme, is_vowel, split_stress

NOTHING = "∅"

# --- Korean (espeak-ng `ko` mnemonics: p plain, ph aspirated, p- tense; g/q are plain ㄱ) ----

# (place, phonation) of each onset obstruent
KO_OBSTRUENTS = {
    "p": ("labial", "plain"), "b": ("labial", "plain"), "ph": ("labial", "aspirated"), "p-": ("labial", "tense"),
    "t": ("alveolar", "plain"), "d": ("alveolar", "plain"), "th": ("alveolar", "aspirated"),
    "t-": ("alveolar", "tense"),
    "g": ("velar", "plain"), "q": ("velar", "plain"), "k": ("velar", "plain"), "kh": ("velar", "aspirated"),
    "q-": ("velar", "tense"), "k-": ("velar", "tense"),
    "tS;": ("affricate", "plain"), "dZ;": ("affricate", "plain"), "tS": ("affricate", "plain"),
    "tSh": ("affricate", "aspirated"), "tS;-": ("affricate", "tense"),
    "s": ("sibilant", "plain"), "s-": ("sibilant", "tense"),
}
# the mnemonic espeak-ng itself uses for (place, phonation), word-initially / inside a word
KO_CANONICAL = {
    ("labial", "plain"): ("p", "b"), ("labial", "aspirated"): ("ph", "ph"), ("labial", "tense"): ("p-", "p-"),
    ("alveolar", "plain"): ("d", "d"), ("alveolar", "aspirated"): ("th", "th"),
    ("alveolar", "tense"): ("t-", "t-"),
    ("velar", "plain"): ("g", "q"), ("velar", "aspirated"): ("kh", "kh"), ("velar", "tense"): ("q-", "k-"),
    ("affricate", "plain"): ("tS;", "dZ;"), ("affricate", "aspirated"): ("tSh", "tSh"),
    ("affricate", "tense"): ("tS;-", "tS;-"),
    ("sibilant", "plain"): ("s", "s"), ("sibilant", "tense"): ("s-", "s-"),
}
KO_PHONATIONS = ("plain", "aspirated", "tense")
KO_CODA_STOPS = ("p", "t-", "q")  # the three places a Korean final stop can have
KO_CODA_STOP_ITEMS = {"p", "b", "t", "t-", "d-", "d", "q", "k", "g"}
KO_NASALS = ("m", "n", "N")
KO_VOWEL_CONFUSIONS = {"@": ("o", "a"), "o": ("@", "u"), "u-": ("u",), "u": ("u-", "o"), "E": ("e",), "e": ("E",),
                       "a": ("@",)}

# --- English (espeak-ng `en-us` mnemonics) ------------------------------------------------------

EN_SUBSTITUTIONS = {
    # category: {old: (new, ...)}
    "liquid": {"r": ("l",), "l": ("r",)},
    "th": {"T": ("s", "t"), "D": ("d", "z")},
    "labial": {"v": ("b",), "f": ("p",), "b": ("v",)},
    "vowel_length": {"i:": ("I",), "I": ("i:",), "u:": ("U",), "U": ("u:",), "A:": ("V",), "V": ("A:",),
                     "O:": ("0",), "0": ("O:",)},
    "vowel": {"a": ("E",), "E": ("a",)},  # bad/bed: one Korean vowel ㅐ/ㅔ covers both
}
EN_EPENTHETIC_VOWEL = "@"  # Korean learners add a vowel after a final consonant ("bus" → "busu")

DEFAULT_CATEGORY_WEIGHTS = {
    "ko": {"laryngeal": 1.0, "coda": 1.0, "vowel": 1.0, "diphthong": 0.6},
    "en": {"liquid": 1.0, "th": 1.0, "labial": 1.0, "vowel_length": 1.0, "vowel": 0.5, "epenthesis": 0.5},
}


@dataclass(frozen=True)
class Edit:
    """One changed phoneme. old/new: mnemonics without stress, "" for nothing."""

    pos: int
    old: str
    new: str
    category: str

    def __str__(self) -> str:
        return f"{self.old or NOTHING}->{self.new or NOTHING}@{self.pos}"


def render(items: list[str]) -> str:
    """Items → the "[[...]]" string espeak-ng speaks (clause pauses keep spaces around them)."""
    out = []
    for item in items:
        out.append(f" {item} " if item == CLAUSE_PAUSE else item)
    return "[[" + " ".join("".join(out).split()) + "]]"


def phoneme_string(items: list[str]) -> str:
    """Items → a readable phoneme string ("p'uL", words separated by spaces)."""
    return render(items)[2:-2]


def _phoneme_positions(items: list[str]) -> list[int]:
    """Item index of each phoneme, in phoneme order."""
    return [i for i, item in enumerate(items) if is_phoneme(item)]


def candidate_edits(items: list[str], *, lang: str) -> list[Edit]:
    """Every realistic single-phoneme mistake in this utterance (see the tables above)."""
    where = _phoneme_positions(items)
    phon = [items[i] for i in where]
    # a phoneme is word-final when the next item is a boundary or the end
    final = [
        (where[k] + 1 >= len(items)) or not is_phoneme(items[where[k] + 1]) for k in range(len(where))
    ]
    word_initial = [where[k] == 0 or not is_phoneme(items[where[k] - 1]) for k in range(len(where))]
    edits: list[Edit] = []
    for k, item in enumerate(phon):
        b = base(item)
        nxt = "" if final[k] else base(phon[k + 1])
        followed_by_vowel = bool(nxt) and (is_vowel(nxt) or nxt in GLIDES)
        if lang == "ko":
            edits.extend(_korean_edits(k, b, nxt, followed_by_vowel, word_initial[k], prev=base(phon[k - 1]) if k else ""))
        elif lang == "en":
            for category, table in EN_SUBSTITUTIONS.items():
                for new in table.get(b, ()):
                    edits.append(Edit(k, b, new, category))
            if final[k] and not is_vowel(item) and k > 0:
                edits.append(Edit(k, "", EN_EPENTHETIC_VOWEL, "epenthesis"))
    return edits


def _korean_edits(k: int, b: str, nxt: str, followed_by_vowel: bool, word_initial: bool, *, prev: str) -> list[Edit]:
    out: list[Edit] = []
    if b in KO_OBSTRUENTS and followed_by_vowel:
        place, phonation = KO_OBSTRUENTS[b]
        for other in KO_PHONATIONS:
            if other != phonation and (place, other) in KO_CANONICAL:
                new = KO_CANONICAL[(place, other)][0 if word_initial else 1]
                out.append(Edit(k, b, new, "laryngeal"))
    elif not followed_by_vowel and not is_vowel(b) and b not in GLIDES and b != "h":
        # a final consonant (or one before another consonant): dropped or changed
        if b in KO_CODA_STOP_ITEMS or b in KO_NASALS or b == "L":
            out.append(Edit(k, b, "", "coda"))
        if b in KO_CODA_STOP_ITEMS:
            out.extend(Edit(k, b, new, "coda") for new in KO_CODA_STOPS if new != b)
        elif b in KO_NASALS:
            out.extend(Edit(k, b, new, "coda") for new in KO_NASALS if new != b)
        elif b == "L":
            out.append(Edit(k, b, "n", "coda"))
    for new in KO_VOWEL_CONFUSIONS.get(b, ()):
        out.append(Edit(k, b, new, "vowel"))
    if b in GLIDES and nxt and is_vowel(nxt):
        out.append(Edit(k, b, "", "diphthong"))  # 와 → 아, 여 → 어
    elif b == "j" and prev == "u-":
        out.append(Edit(k, b, "", "diphthong"))  # 의 → 으
    return out


def draw_edits(
    pool: list[Edit], *, n: int, rng: np.random.Generator, weights: dict[str, float] | None = None
) -> list[Edit]:
    """Up to `n` edits from `pool` (e.g. `candidate_edits`) at distinct phonemes, by position.

    Each draw picks a category by `weights` (default 1 each; 0 = never), then a candidate
    of it uniformly. Returns fewer than `n` when the pool runs out.
    """
    weights = weights or {}
    chosen: list[Edit] = []
    used: set[int] = set()
    for _ in range(n):
        free = [e for e in pool if e.pos not in used and weights.get(e.category, 1.0) > 0]
        if not free:
            break
        cats = sorted({e.category for e in free})
        p = np.array([weights.get(c, 1.0) for c in cats], dtype=float)
        cat = cats[int(rng.choice(len(cats), p=p / p.sum()))]
        in_cat = [e for e in free if e.category == cat]
        edit = in_cat[int(rng.integers(len(in_cat)))]
        chosen.append(edit)
        used.add(edit.pos)
    return sorted(chosen, key=lambda e: e.pos)


def apply_edits(items: list[str], edits: list[Edit]) -> list[str]:
    """The utterance with the edits made (substitutions keep the phoneme's stress mark)."""
    by_pos = {e.pos: e for e in edits}
    out: list[str] = []
    k = -1
    for item in items:
        if not is_phoneme(item):
            out.append(item)
            continue
        k += 1
        edit = by_pos.get(k)
        stress, b = split_stress(item)
        if edit is None:
            out.append(item)
            continue
        if edit.old == "":  # insertion after this phoneme
            out.extend([item, edit.new])
        elif b != edit.old:
            raise ValueError(f"edit {edit} does not match phoneme {item!r} at {k}")
        elif edit.new:
            out.append(stress + edit.new)
        # else: a deletion leaves the phoneme out
    return out


def format_edits(edits: list[Edit]) -> str:
    return ";".join(str(e) for e in edits)


def parse_edits(text: str) -> list[tuple[str, str, int]]:
    """"p->ph@0;∅->@@3" → [("p", "ph", 0), ("", "@", 3)] (old, new, position)."""
    # not text.split(";"): Korean tense affricates are spelled "tS;" by espeak-ng
    out = [(old.replace(NOTHING, ""), new.replace(NOTHING, ""), int(pos)) for old, new, pos in _EDIT.findall(text)]
    if sum(len(m.group(0)) for m in _EDIT.finditer(text)) != len(text):
        raise ValueError(f"not an edit list: {text!r}")
    return out


_EDIT = re.compile(r"(.+?)->(.*?)@(\d+)(?:;|$)")


# --- any language (the real-voice set, `training.realset`) ------------------------------------

# Close confusions between espeak-ng mnemonics that most languages share: category → {old: (new, ...)}.
# A substitution is offered only when the new phoneme occurs in the language (`inventory`), so
# the edited word stays sayable by that language's voice; its audibility is checked by rendering.
GENERIC_SUBSTITUTIONS = {
    "vowel": {"a": ("E", "o", "@"), "e": ("i", "E"), "E": ("a", "e"), "i": ("e", "y", "I"), "I": ("i", "e"),
              "o": ("u", "O", "a"), "O": ("o", "a"), "u": ("o", "y", "U"), "U": ("u", "o"), "y": ("u", "i"),
              "@": ("a", "e", "E"), "V": ("a", "@"), "A": ("a", "O"), "0": ("O", "a")},
    "voicing": {"p": ("b",), "b": ("p",), "t": ("d",), "d": ("t",), "k": ("g",), "g": ("k",), "f": ("v",),
                "v": ("f",), "s": ("z",), "z": ("s",), "S": ("Z",), "Z": ("S",)},
    "place": {"p": ("t",), "t": ("k",), "k": ("t",), "m": ("n",), "n": ("m",), "s": ("S",), "S": ("s",)},
    "liquid": {"l": ("r",), "r": ("l",)},
}


def generic_edits(items: list[str], *, inventory: set[str]) -> list[Edit]:
    """Single-phoneme substitutions from `GENERIC_SUBSTITUTIONS` for an utterance in any language.

    inventory: the base mnemonics the language's voice uses (e.g. every phoneme seen in its
    words). A length mark stays: "a:" may become "E:" when the language has "E:", else "E".
    """
    edits: list[Edit] = []
    for k, item in enumerate(item for item in items if is_phoneme(item)):
        b = base(item)
        core = b.rstrip(":")
        length = b[len(core):]
        for category, table in GENERIC_SUBSTITUTIONS.items():
            for new in table.get(core, ()):
                for candidate in (new + length, new) if length else (new,):
                    if candidate in inventory and candidate != b:
                        edits.append(Edit(k, b, candidate, category))
                        break
    return edits
