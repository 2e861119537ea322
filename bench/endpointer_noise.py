"""Where the recorder's auto-stop ends a take in room noise (app.recorder.Endpointer).

    .venv/bin/python bench/endpointer_noise.py [--snr 20 10 5]

11 espeak-ng words and phrases (short words, and a phrase with a pause in it), each with
1 s of lead-in and 4 s of tail, under white and pink noise at each SNR (3 seeds each), fed
to the endpointer as the recorder feeds it. A take is "good" when it ends 0–0.6 s after the
speech; otherwise it ended mid-speech or never (it would run to the kiosk's 5 s maximum).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

TAKES = (("안녕하세요 반갑습니다", "ko"), ("사과 주세요", "ko+f2"), ("hello there", "en-us"), ("사과", "ko"),
         ("물", "ko+m3"), ("감사합니다", "ko+f4"), ("소", "ko"), ("이", "ko+f2"), ("개", "ko+m1"), ("one", "en-us"),
         ("Yes", "en-us+f3"))
LEAD_S, TAIL_S, GOOD_S = 1.0, 4.0, 0.6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snr", type=float, nargs="+", default=[20.0, 10.0, 5.0], help="dB (speech over noise)")
    args = parser.parse_args()

    from speech import SR, add_noise, pad, speak

    from app.recorder import Endpointer
    from preprocessing import PreprocessConfig

    print("| SNR | takes | ended 0–0.6 s after the speech | mid-speech | never (ran to the maximum) | median delay |")
    print("|---|---|---|---|---|---|")
    for snr in args.snr:
        delays, early, never = [], 0, 0
        for text, voice in TAKES:
            y = speak(text, voice=voice)
            for colour in ("white", "pink"):
                for seed in range(3):
                    x = add_noise(pad(y, lead_s=LEAD_S, trail_s=TAIL_S), snr_db=snr, seed=seed, colour=colour)
                    stop = Endpointer(sr=SR, cfg=PreprocessConfig(), min_speech_s=0.2, end_silence_s=0.4).push(x)
                    if stop is None:
                        never += 1
                        continue
                    delay = (stop - (LEAD_S * SR + len(y))) / SR
                    early += delay < 0
                    delays.append(delay)
        n = len(TAKES) * 6
        good = sum(0 <= d <= GOOD_S for d in delays)
        median = f"{np.median(delays):.2f} s" if delays else "n/a"
        print(f"| {snr:g} dB | {n} | {good} | {early} | {never} | {median} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
