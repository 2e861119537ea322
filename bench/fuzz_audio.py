"""The full fuzz run before a release: 600 damaged wav/flac/ogg/mp3 files through the shipped
model's `score_pair` (the CLI's and the kiosk's path), and the same bytes as microphone samples.

    .venv/bin/python bench/fuzz_audio.py [--cases 600] [--seed 15]

Prints how each case ended (a score or a typed error), the slowest case, and every case
that ended otherwise (an untyped exception: a bug). Exit code 1 when there is one. The suite
runs a 128-case slice of the same corpus (tests/test_fuzz.py).
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=600)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args()

    from core.errors import MalsoriError
    from fuzz_audio import fuzz_cases, raw_take
    from models import Scorer
    from preprocessing.pipeline import clipped_fraction
    from speech import SR, pad, speak

    scorer = Scorer.load()
    takes = [(pad(speak("사과"), lead_s=0.2, trail_s=0.2), SR),
             (pad(speak("물", voice="ko+f2"), lead_s=0.1, trail_s=0.3), SR)]
    ref = scorer.features(takes[0])
    cases = fuzz_cases(takes, n=args.cases, seed=args.seed)
    ends: dict[str, collections.Counter] = {"file": collections.Counter(), "mic": collections.Counter()}
    bugs, slowest = [], (0.0, "")
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in cases:
            path = Path(tmp) / name
            path.write_bytes(data)
            take = raw_take(data)
            for where, call in (("file", lambda: scorer.score_pair(ref, path)),
                                ("mic", lambda: scorer.score_pair(ref, (take, SR)))):
                if where == "mic" and take.size and clipped_fraction(take, cfg=scorer.cfg) > scorer.cfg.clip_warn_fraction:
                    ends[where]["clipped (the kiosk asks to step back)"] += 1
                    continue
                t = time.monotonic()
                try:
                    call()
                    ends[where]["score"] += 1
                except MalsoriError as exc:
                    ends[where][type(exc).__name__] += 1
                except Exception as exc:  # noqa: BLE001 - exactly what the fuzz looks for
                    bugs.append(f"{where} {name}: {exc!r}")
                slowest = max(slowest, (time.monotonic() - t, f"{where} {name}"))
    total = time.monotonic() - start
    print(f"{len(cases)} files (seed {args.seed}), each as a file and as microphone samples, in {total:.0f} s")
    for where, counter in ends.items():
        print(f"  {where:4s}: " + ", ".join(f"{k} {v}" for k, v in counter.most_common()))
    print(f"  slowest case: {slowest[0] * 1000:.0f} ms ({slowest[1]})")
    print(f"  untyped exceptions (bugs): {len(bugs)}")
    for line in bugs[:20]:
        print(f"    {line}")
    return 1 if bugs else 0


if __name__ == "__main__":
    sys.exit(main())
