"""Scores do not move under a refactor: 50 fixed pairs, scored with a frozen copy of the
model shipped before the pair scorer was made one object, give the values stored in
tests/data/pair_scores.json to float32 precision.

Not bit for bit: the networks run in float32 and the numeric libraries take a different SIMD
path on a different processor, so the last bits move between machines (CI saw a score differ
by 7e-11; an AMD EPYC here, 2e-5 in a score and 2.6e-6 in a phoneme cost). A change of the
formula moves values by orders of magnitude more than the tolerance.

The audio is made here by espeak-ng (deterministic for a given espeak-ng build); the model
is a frozen copy (tests/data/malsori-frozen.pt), so a retrained shipped model does not
break this test. Regenerate the JSON only for an intended change of the formula:

    .venv/bin/python tests/test_pair_scores.py --write
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from speech import SR, add_noise, pad, speak

DATA = Path(__file__).resolve().parent / "data"
FROZEN_MODEL = DATA / "malsori-frozen.pt"
EXPECTED = DATA / "pair_scores.json"

# (reference text, reference voice): five attempts each (below) → 50 pairs
REFERENCES = [
    ("사과", "ko"), ("바다", "ko"), ("불", "ko"), ("감사합니다", "ko"), ("물 좀 주세요.", "ko"),
    ("apple", "en-us"), ("rice", "en-us"), ("thank you", "en-us"), ("water", "en-us"), ("good morning", "en-us"),
]
# a minimal-pair partner or near word per reference (one learner mistake)
PARTNER = {
    "사과": "[[s'akwa]]", "바다": "[[ph'ada]]", "불": "[[ph'uL]]", "감사합니다": "[[k'amsahamnita]]",
    "물 좀 주세요.": "불 좀 주세요.", "apple": "[['ap@L]]", "rice": "lice", "thank you": "sank you",
    "water": "[[w'O:t@]]", "good morning": "good morn",
}
OTHER = {"ko": "하늘", "en-us": "yellow"}


def _attempts(text: str, lang: str) -> list[tuple[str, np.ndarray]]:
    base = lang.split("+")[0]
    return [
        ("same, other voice", pad(speak(text, voice=f"{base}+m3"), lead_s=0.3, trail_s=0.2)),
        ("same, slow high voice", pad(speak(text, voice=f"{base}+f2", speed_wpm=120, pitch=70), lead_s=0.2,
                                      trail_s=0.4)),
        ("same, noisy", add_noise(pad(speak(text, voice=base), lead_s=0.3, trail_s=0.3), snr_db=15, seed=1)),
        ("one mistake", pad(speak(PARTNER[text], voice=f"{base}+m3"), lead_s=0.3, trail_s=0.3)),
        ("other word", pad(speak(OTHER[base], voice=base), lead_s=0.3, trail_s=0.3)),
    ]


def pair_results() -> list[dict]:
    """Score the 50 pairs with the frozen model, the CLI's way (one torch thread)."""
    import torch

    from models import Scorer

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        scorer = Scorer.from_path(FROZEN_MODEL)
        out = []
        for text, voice in REFERENCES:
            ref = scorer.features((pad(speak(text, voice=voice), lead_s=0.3, trail_s=0.3), SR), side="reference")
            for kind, attempt in _attempts(text, voice):
                r = scorer.score_pair(ref, (attempt, SR))
                out.append({"reference": text, "attempt": kind, "score": r.score, "distance": r.distance,
                            "phoneme_cost": r.phoneme_cost, "worst_segment_s": list(r.worst_segment_s),
                            "deviation_sum": float(np.sum(r.deviation, dtype=np.float64))})
        return out
    finally:
        torch.set_num_threads(threads)


# relative or absolute, whichever is larger: ~5x the float32 noise seen between processors
TOLERANCE = dict(rel=1e-4, abs=1e-4)


def test_fifty_pairs_score_as_before():
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))["pairs"]
    got = pair_results()
    assert len(got) == len(expected) == 50
    for g, e in zip(got, expected):
        assert (g["reference"], g["attempt"]) == (e["reference"], e["attempt"])
        for key in ("score", "distance", "phoneme_cost", "worst_segment_s", "deviation_sum"):
            assert g[key] == pytest.approx(e[key], **TOLERANCE), \
                f"{e['reference']} / {e['attempt']}: {key} {g[key]!r} != {e[key]!r}"


def test_the_fixture_spans_the_scale():
    """The pairs are not all alike: right takes score high, other words low."""
    pairs = json.loads(EXPECTED.read_text(encoding="utf-8"))["pairs"]
    right = [p["score"] for p in pairs if p["attempt"].startswith("same")]
    other = [p["score"] for p in pairs if p["attempt"] == "other word"]
    assert np.median(right) > 80 > 20 > np.median(other)


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_pair_scores.py --write")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    EXPECTED.write_text(json.dumps({"model": FROZEN_MODEL.name, "pairs": pair_results()}, indent=1,
                                   ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {EXPECTED}")
