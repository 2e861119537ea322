"""Real human takes as phoneme-recognizer data (`malsori train-phonemes --real DIR`).

A `make-realset` folder holds people saying known texts in many languages. The recognizer
learns espeak-ng's Korean and English phonemes; a take's targets are espeak-ng's phonemes of
its text in the take's own language (the voice its references were made with), mapped onto
the recognizer's symbols as the scorer maps a text's phonemes (models.text_phonemes). A take
with a sound that maps to nothing (a front rounded vowel, say) is left out and counted: a
wrong target teaches worse than none.

Only the realset's `train` split trains; its `val` pairs (espeak-ng references) tell early
stopping whether the recognizer hears people better; `test` stays for the report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from models.text_phonemes import map_symbols

from .dataset import PairRecord

@dataclass
class RealTakes:
    """The realset's training takes with targets, and what was left out."""

    targets: dict[str, tuple[str, ...]]  # absolute take path (full band and telephone band) → symbols
    skipped: int = 0  # takes whose phonemes fit no recognizer symbol
    unknown: Counter = field(default_factory=Counter)  # "lang:mnemonic" → takes it kept out
    by_lang: Counter = field(default_factory=Counter)  # lang → takes with targets

    def summary(self) -> dict:
        return {"takes": len(self.targets), "skipped": self.skipped, "by_lang": dict(self.by_lang),
                "unknown_top": dict(self.unknown.most_common(12))}


def real_takes(data: str | Path, known: set[str], *, split: str = "train", langs: tuple[str, ...] = ()) -> RealTakes:
    """Every take of `split` (and its telephone-band copy) whose text espeak-ng phonemises
    into known symbols. known: the recognizer's symbols; langs: only these languages (empty: all)."""
    from models.text_phonemes import text_items

    from .realset import read_pairs

    data = Path(data)
    texts: dict[str, tuple[str, str, str]] = {}  # group → (text, lang, espeak-ng voice)
    files: dict[str, list[str]] = {}  # group → its take files
    for row in read_pairs(data):
        if row["split"] != split or not row["kind"].startswith("correct") or not row["ref_voice"].startswith("espeak-ng:"):
            continue
        if langs and row["lang"] not in langs:
            continue
        texts[row["group"]] = (row["text"], row["lang"], row["ref_voice"].split(":", 1)[1])
        files.setdefault(row["group"], [])
        if str(data / row["attempt"]) not in files[row["group"]]:
            files[row["group"]].append(str(data / row["attempt"]))
    out = RealTakes({})
    said: dict[tuple[str, str], tuple] = {}
    for group, (text, lang, voice) in sorted(texts.items()):
        if (text, voice) not in said:
            items = text_items(text, lang=lang, voice=voice)
            said[(text, voice)] = (None, ["(espeak-ng failed)"]) if items is None else map_symbols(items, known, lang=lang)
        symbols, unknown = said[(text, voice)]
        if symbols is None:
            out.skipped += 1
            out.unknown.update(f"{lang}:{u}" for u in set(unknown))
            continue
        out.by_lang[lang] += 1
        for path in files[group]:
            out.targets[path] = symbols
    return out


def real_val_records(data: str | Path, *, split: str = "val") -> list[PairRecord]:
    """The realset's `split` pairs against espeak-ng references (correct, other, edit1, edit2),
    as PairRecords: what early stopping scores the recognizer's pronunciation cost on."""
    from .realeval import pair_record, read_real_pairs

    return [pair_record(p) for p in read_real_pairs(data) if p.row["split"] == split
            and p.row["ref_voice"].startswith("espeak-ng:") and p.row["kind"] != "correct_narrow"]
