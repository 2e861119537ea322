"""Peak memory (RSS) of real `malsori score` processes, each measured alone.

    .venv/bin/python bench/score_memory.py [--repeats 3]

Each command runs as its own process; its peak resident set comes from wait4()'s rusage,
the figure `/usr/bin/time -v` prints as "Maximum resident set size". Uses the installed
model (assets/models/malsori.pt, or MALSORI_MODEL) and espeak-ng speech.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def peak_rss_mb(argv: list[str], env: dict) -> float:
    """Run argv to completion; its own peak RSS in MB (children of it not included)."""
    proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.read().decode()}")
    return usage.ru_maxrss / 1024  # Linux reports KiB


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import soundfile as sf

    from speech import SR, pad, speak

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        ref, att = tmp / "ref.wav", tmp / "att.wav"
        sf.write(ref, pad(speak("사과"), lead_s=0.3, trail_s=0.3), SR)
        sf.write(att, pad(speak("사과", voice="ko+m3"), lead_s=0.5, trail_s=0.2), SR)
        with open(tmp / "pairs.csv", "w", newline="") as f:
            csv.writer(f).writerows([["reference", "attempt"], *[["ref.wav", "att.wav"]] * 100])
        env = {**os.environ, "MALSORI_HOME": str(tmp / "home")}
        malsori = [sys.executable, "-m", "app.cli", "score"]
        runs = {
            "malsori score REF.wav ATT.wav": [*malsori, str(ref), str(att)],
            "malsori score REF.wav ATT.wav --json": [*malsori, str(ref), str(att), "--json"],
            "malsori score --text 사과 --lang ko ATT.wav (espeak-ng reference)": [*malsori, "--text", "사과", str(att)],
            "malsori score --pairs (100 pairs) --jobs 1": [*malsori, "--pairs", str(tmp / "pairs.csv"), "--out",
                                                           str(tmp / "out.csv"), "--jobs", "1"],
        }
        print(f"peak RSS per process, median of {args.repeats} (MB = 2^20 bytes):")
        for name, argv in runs.items():
            peaks = [peak_rss_mb(argv, env) for _ in range(args.repeats)]
            print(f"  {name:62s} {statistics.median(peaks):6.0f} MB  (min {min(peaks):.0f}, max {max(peaks):.0f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
