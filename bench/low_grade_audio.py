"""Correct takes scored clean and as 8 kHz 8-bit dithered audio (issue 15, point 3).

    .venv/bin/python bench/low_grade_audio.py [--step 4] [--words 이,넷,소] [--pad 0.3] [--peak 0.5] [--without-channel-matching]

Korean list words (every --step-th of assets/wordlists/ko_beginner.csv; --step 1: all 276)
said by 9 espeak-ng voice variants, scored with the installed model against the kiosk's
offline reference voice (ko), once clean (16 kHz) and once after `sox -R take.wav -r 8000 -b 8
-e unsigned x.wav` (sox dithers by default; -R seeds it); --words: only those words (a
candidate model on the takes another one failed). A take is espeak-ng's speech scaled to
--peak with --pad seconds of silence either side, as a microphone records a word and as
tests/test_shipped_model.py's takes are (--peak 0 --pad 0: as espeak-ng makes it; 8-bit
audio is coarser the quieter the take, and the dithered silence is what the noise filter
learns the hiss from). Prints how many low-grade takes lose more than 20 points, and each of
them (at least the 10 worst). --without-channel-matching scores with the reference as made
instead of heard through the attempt's channel (models.pair.PairScorer.through_channel), to
show what that step buys.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

VOICES = ("ko+m1", "ko+f1", "ko+m5", "ko+m3", "ko+f2", "ko+f4", "ko+m7", "ko+klatt3", "ko+Annie")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=int, default=4, help="every STEP-th word of the list (1: all)")
    parser.add_argument("--words", help="comma-separated words to score instead of the list's (overrides --step)")
    parser.add_argument("--pad", type=float, default=0.3, help="seconds of silence either side of a take (default: %(default)s)")
    parser.add_argument("--peak", type=float, default=0.5, help="each take scaled to this peak, 0 = as made (default: %(default)s)")
    parser.add_argument("--without-channel-matching", action="store_true")
    args = parser.parse_args()
    if args.step < 1 or args.pad < 0 or args.peak < 0 or args.peak > 1:
        parser.error("--step must be 1 or more, --pad 0 or more, --peak in [0, 1]")

    import soundfile as sf

    import models.pair
    from app.tts import SR, synthesize_espeak
    from core.errors import MalsoriError
    from models import Scorer

    if args.without_channel_matching:
        models.pair.through_channel = lambda reference, attempt: None
    with open(ROOT / "assets" / "wordlists" / "ko_beginner.csv", encoding="utf-8") as f:
        words = [row["text"] for row in csv.DictReader(f)][:: args.step]
    if args.words:
        words = [w.strip() for w in args.words.split(",") if w.strip()]
    scorer = Scorer.load()
    rows, refused = [], []
    with tempfile.TemporaryDirectory() as tmp:
        clean_wav, low_wav = Path(tmp) / "take.wav", Path(tmp) / "low.wav"
        for word in words:
            ref = scorer.features((synthesize_espeak(word, voice="ko"), SR), side="reference")
            for voice in VOICES:
                y = synthesize_espeak(word, voice=voice)
                if args.peak > 0:
                    y = args.peak * y / np.abs(y).max()
                pad = np.zeros(int(args.pad * SR), np.float32)
                y = np.concatenate([pad, y, pad]).astype(np.float32)
                sf.write(clean_wav, y, SR, subtype="PCM_16")
                subprocess.run(["sox", "-R", str(clean_wav), "-r", "8000", "-b", "8", "-e", "unsigned", str(low_wav)],
                               check=True, capture_output=True)
                clean = scorer.score_pair(ref, (y, SR)).score
                try:
                    low = scorer.score_pair(ref, str(low_wav)).score
                except MalsoriError as exc:
                    refused.append(f"{word} {voice}: {exc}")
                    continue
                rows.append((clean - low, word, voice, clean, low))
    drops = np.array([r[0] for r in rows])
    print(f"{len(words)} words x {len(VOICES)} voices = {len(words) * len(VOICES)} takes "
          f"({'without' if args.without_channel_matching else 'with'} channel matching; peak "
          f"{args.peak or 'as made'}, {args.pad} s silence either side)")
    print(f"mean score clean {np.mean([r[3] for r in rows]):.1f}, low-grade {np.mean([r[4] for r in rows]):.1f}; "
          f"median drop {np.median(drops):.1f}")
    print(f"low-grade takes more than 20 points under the clean take: {int((drops > 20).sum())} of {len(rows)}; "
          f"refused by the front end: {len(refused)}")
    for drop, word, voice, clean, low in sorted(rows, reverse=True)[: max(10, int((drops > 20).sum()))]:
        print(f"  {word} {voice}: {clean:.1f} -> {low:.1f}")
    for line in refused:
        print(f"  refused: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
