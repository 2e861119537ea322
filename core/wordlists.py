"""Word lists: what the kiosk asks a learner to say.

A list is a UTF-8 CSV file with a header row (documented in docs/data.md,
"Word lists"):

    text,lang,kind,romanization,gloss,category
    사과,ko,word,sagwa,apple,food

`text` and `lang` are required; `kind` is "word" or "sentence" (inferred from spaces and
final punctuation when empty); the other columns may be empty. Rows whose text starts with
"#" are comments. Shipped lists live in ``assets/wordlists/``; an operator adds lists to
``<data dir>/wordlists/`` (`malsori tts --add-list FILE`).
"""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from core.errors import WordListError

COLUMNS = ("text", "lang", "kind", "romanization", "gloss", "category")
REQUIRED_COLUMNS = ("text", "lang")
KINDS = ("word", "sentence")
SENTENCE_END = ".?!"

# Characters each language may contain so that espeak-ng reads them as words: precomposed
# Hangul syllables only for Korean (a bare jamo such as ㄱ is read as its letter name "giyeok",
# digits are read as Sino-Korean numbers, Latin letters and Hanja switch to English).
_ALLOWED = {
    "ko": re.compile(r"[\uAC00-\uD7A3 .,?!]+"),
    "en": re.compile(r"[A-Za-z' .,?!-]+"),
}
_LANG_SWITCH = re.compile(r"\([a-z]{2,3}(-[a-z0-9]+)?\)")  # espeak-ng's "(en)" … "(ko)" markers
MAX_PHONEMES_PER_SYLLABLE = 4  # onset, glide, vowel, coda — a spelled-out letter needs more



@dataclass(frozen=True)
class Entry:
    """One practice item. text: what to say; lang: "ko", "en", …; kind: "word" or "sentence"."""

    text: str
    romanization: str
    gloss: str
    category: str
    lang: str
    kind: str


def load_wordlist(path: str | os.PathLike) -> list[Entry]:
    """Read a word list CSV into entries, in file order, duplicates (same text and lang) dropped.

    Raises WordListError with the file and row when the list cannot be used.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise WordListError(f"{path}: cannot read the word list ({exc.strerror or exc})") from exc
    try:
        text = raw.decode("utf-8-sig")  # a spreadsheet may add a byte-order mark
    except UnicodeDecodeError as exc:
        raise WordListError(f"{path}: not UTF-8 text; save the list as CSV UTF-8") from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise WordListError(f"{path}: header must name the columns {', '.join(COLUMNS)}; missing {', '.join(missing)}")
    reader.fieldnames = header

    entries: list[Entry] = []
    seen: set[tuple[str, str]] = set()
    for row_number, row in enumerate(reader, start=2):
        fields = {c: " ".join(unicodedata.normalize("NFC", row.get(c) or "").split()) for c in COLUMNS}
        if not fields["text"] or fields["text"].startswith("#"):
            continue
        if not fields["lang"]:
            raise WordListError(f"{path}, row {row_number}: the lang column is empty")
        kind = fields["kind"] or _infer_kind(fields["text"])
        if kind not in KINDS:
            raise WordListError(f"{path}, row {row_number}: kind must be word or sentence, not {kind!r}")
        if (fields["text"], fields["lang"]) in seen:
            continue
        seen.add((fields["text"], fields["lang"]))
        entries.append(Entry(fields["text"], fields["romanization"], fields["gloss"], fields["category"],
                             fields["lang"], kind))
    if not entries:
        raise WordListError(f"{path}: the list has no entries")
    return entries


def shipped_lists_dir() -> Path:
    from core.paths import assets_dir

    return assets_dir() / "wordlists"


def operator_lists_dir() -> Path:
    from core.paths import data_dir

    return data_dir() / "wordlists"


def available_lists() -> list[Path]:
    """Shipped lists (assets/wordlists) then the operator's (<data dir>/wordlists), by name."""
    found: list[Path] = []
    for folder in (shipped_lists_dir(), operator_lists_dir()):
        if folder.is_dir():
            found += sorted(p for p in folder.glob("*.csv") if p.is_file())
    return found


def find_wordlist(name_or_path: str | os.PathLike) -> Path:
    """A list given as a path, or by name (file stem) among `available_lists()`."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    for candidate in available_lists():
        if candidate.stem == str(name_or_path) or candidate.name == str(name_or_path):
            return candidate
    names = ", ".join(p.stem for p in available_lists()) or "none"
    raise WordListError(f"no word list {str(name_or_path)!r} (a file path, or one of: {names})")


def add_wordlist(source: str | os.PathLike) -> Path:
    """Validate a list (format and espeak-ng rendering) and copy it into the operator folder.

    Returns the installed path. Raises WordListError naming every entry that fails.
    """
    from core.fileio import atomic_write_bytes

    source = Path(source)
    entries = load_wordlist(source)
    problems = check_renders(entries)
    if problems:
        listed = "; ".join(f"{e.text!r}: {why}" for e, why in list(problems.items())[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise WordListError(f"{source}: {len(problems)} {'entry' if len(problems) == 1 else 'entries'} "
                             f"espeak-ng cannot read as words: {listed}{more}")
    target = operator_lists_dir() / f"{source.stem}.csv"
    if target.exists() and target.resolve() == source.resolve():
        return target
    atomic_write_bytes(target, source.read_bytes())
    return target


def _infer_kind(text: str) -> str:
    return "sentence" if (" " in text or text[-1] in SENTENCE_END) else "word"


# --- does espeak-ng read it as words? -----------------------------------------------------------


def script_langs(text: str) -> set[str]:
    """The languages a text's letters point to: "ko" for Hangul (syllables or bare jamo), "en"
    for Latin letters; both, one, or none (digits only, kana, Hanja, Cyrillic…)."""
    langs = set()
    if any("\uAC00" <= c <= "\uD7A3" or "\u1100" <= c <= "\u11FF" or "\u3130" <= c <= "\u318F" for c in text):
        langs.add("ko")
    if any(c.isalpha() and unicodedata.name(c, "").startswith("LATIN") for c in text):
        langs.add("en")
    return langs


def guess_lang(text: str) -> str | None:
    """The one language a text's script points to (`script_langs`); None when it has both or neither."""
    langs = script_langs(text)
    return langs.pop() if len(langs) == 1 else None


def render_problem(entry: Entry) -> str | None:
    """Why espeak-ng would not read `entry` as words of its language, or None when it does."""
    return text_problem(entry.text, lang=entry.lang)


def text_problem(text: str, *, lang: str) -> str | None:
    """Why espeak-ng would not read `text` as words of `lang`, or None when it does.

    Three checks, each catching a failure seen with espeak-ng 1.51 (and a text of punctuation
    alone, which espeak-ng reads out as "exclamation", is refused after the first):
    1. characters: only those the language's voice reads as words (for Korean, precomposed
       Hangul syllables: a bare jamo is read as its letter name, Latin and Hanja switch voice);
    2. espeak-ng's phonemes (`-x`) contain no language-switch marker such as "(en)";
    3. Korean: at most 4 phonemes per syllable and at least one — spelling a letter out
       ("ㄱ" → g i j @ q) or skipping a character breaks that bound.
    """
    from core.espeak import espeak_voice, separated_phonemes

    allowed = _ALLOWED.get(lang)
    if allowed is not None and not allowed.fullmatch(text):
        bad = dict.fromkeys(c for c in text if not allowed.fullmatch(c))  # in the order they appear
        return f"characters the {lang} voice would not read as words: {', '.join(map(repr, bad))}"
    if not any(c.isalpha() for c in text):  # "!!!" is read out as "exclamation"
        return "no letters: nothing to say as a word"
    phonemes = separated_phonemes(text, voice=espeak_voice(lang))
    if _LANG_SWITCH.search(phonemes):
        return f"espeak-ng switches language: {phonemes.strip()}"
    if lang == "ko":
        syllables = sum(1 for c in text if "\uAC00" <= c <= "\uD7A3")
        units = [p for p in re.split(r"[\u200c\s]+", phonemes) if p.strip("',_:!;")]
        if not syllables <= len(units) <= MAX_PHONEMES_PER_SYLLABLE * syllables:
            return f"{len(units)} phonemes for {syllables} syllables: {phonemes.strip()}"
    elif not phonemes.strip():
        return "espeak-ng produced no phonemes"
    elif lang == "en":
        acronyms = [w for w in re.findall(r"[A-Za-z']+", text) if len(w) > 1 and w.isupper()]
        if acronyms:  # espeak-ng spells capitals out letter by letter ("TV" → tee vee)
            return f"words espeak-ng spells out letter by letter: {', '.join(acronyms)}"
    return None


def check_renders(entries: list[Entry]) -> dict[Entry, str]:
    """Entries espeak-ng cannot read as words, each with the reason (empty when all are fine)."""
    problems = {}
    for entry in entries:
        why = render_problem(entry)
        if why:
            problems[entry] = why
    return problems
