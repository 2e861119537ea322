"""A candidate model against the shipped model's named checks, before copying it in.

    .venv/bin/python bench/candidate_checks.py MODEL.pt [MODEL.pt …]

For each model prints what tests/test_named_cases.py (the 20 Korean one-sound mistakes: how many
score ≤ 70, and the lowest of the reference words said right by three other voices, bound 80)
and tests/test_shipped_model.py's teacher's-phone case (an 8 kHz 8-bit dithered *reference*
against full-band right takes: clean pair → that pair, allowed drop 30) would see. Those tests
only load the shipped file; this runs the same pairs on any checkpoint. The low-grade attempt
side is `MALSORI_MODEL=MODEL.pt .venv/bin/python bench/low_grade_audio.py`.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]


def named_cases(scorer) -> dict[bool, tuple[int, list[tuple[float, str, str]]]]:
    """{told the word: (mistakes scoring ≤ 70 of 20, right takes sorted by score)}."""
    from tests.test_named_cases import score_mistakes_and_rights

    return {told: (sum(s <= 70 for s, _ in mistakes), sorted(set(rights)))  # 불 is the reference of two mistakes
            for told, (mistakes, rights) in score_mistakes_and_rights(scorer).items()}


def narrow_reference(scorer, tmp: Path) -> list[tuple[str, str, float, float]]:
    """(word, voice, clean pair score, score against the 8 kHz dithered reference)."""
    from tests.test_shipped_model import LOW_GRADE, score_against_a_narrow_reference

    return [(word, voice, *score_against_a_narrow_reference(scorer, word, voice, tmp)[:2]) for word, voice in LOW_GRADE]


def main() -> int:
    import argparse

    from core.errors import MalsoriError
    from models import Scorer

    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("models", nargs="+", metavar="MODEL.pt", help="checkpoints to check")
    for path in parser.parse_args().models:
        try:
            scorer = Scorer.load(path)
        except MalsoriError as exc:  # a missing or broken checkpoint: say so, no traceback
            print(f"{path}: {exc}", file=sys.stderr)
            return 1
        print(f"{path}:")
        for told, (caught, rights) in named_cases(scorer).items():
            low = ", ".join(f"{s:.1f} {w} {v}" for s, w, v in rights[:3])
            print(f"  named cases, {'told the word' if told else 'text unknown'}: {caught}/20 mistakes ≤ 70 "
                  f"(≥ 15 needed); lowest right takes {low} (≥ 80 needed)")
        with tempfile.TemporaryDirectory() as tmp:
            rows = narrow_reference(scorer, Path(tmp))
        worst = max(clean - narrow for _, _, clean, narrow in rows)
        print("  8 kHz dithered reference: " + "; ".join(f"{w} {v} {c:.1f} → {n:.1f}" for w, v, c, n in rows)
              + f" (largest drop {worst:.1f}, ≤ 30 needed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
