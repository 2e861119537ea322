"""A tiny manifest corpus made with espeak-ng, in the layout `malsori make-corpus` writes.

Only for tests (and for developing the trainer): a few words, three voices, correct takes,
one-vowel edits and other words. Real training uses `malsori make-corpus`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import soundfile as sf

from core.espeak import phonemes, synthesize

WORDS = ("바다", "나무", "사과", "하늘", "고양이", "학교")
VOICES = ("ko", "ko+f2", "ko+m3")
VOWEL_SWAP = {"a": "o", "o": "u", "u": "i", "i": "e", "e": "a"}
FIELDS = ["reference", "attempt", "label", "kind", "n_edits", "edits", "word", "attempt_text", "lang", "split",
          "voice", "speed_wpm", "pitch", "snr_db", "noise", "gain_db", "reverb", "mic", "lead_s", "trail_s", "seed"]


def one_vowel_edit(phon: str) -> str:
    """Swap the first vowel of an espeak phoneme string for another (an audible edit)."""
    for i, ch in enumerate(phon):
        if ch in VOWEL_SWAP:
            return phon[:i] + VOWEL_SWAP[ch] + phon[i + 1 :]
    raise ValueError(f"no vowel in {phon!r}")


def _write(path: Path, y: np.ndarray, sr: int, lead_s: float = 0.15) -> None:
    pad = np.zeros(int(lead_s * sr), dtype=np.float32)
    sf.write(path, np.concatenate([pad, 0.5 * y / max(1e-6, float(np.abs(y).max())), pad]), sr, subtype="PCM_16")


def make_tiny_corpus(out: Path, *, words=WORDS, voices=VOICES, sr: int = 16_000, held_out: int = 1,
                     test_voices=None) -> Path:
    """Write out/audio/*.wav and out/manifest.csv; returns the manifest path.

    Reference = voice "ko" at 160 wpm; attempts = every voice saying the word (label 1),
    a one-vowel edit (label 0, kind edit) and the next word (label 0, kind other_word).
    Split: the last `held_out` words are test, the `held_out` before them val. Voices are
    shared (tiny on purpose) unless `test_voices` are given: then only they speak the test
    words (voices never heard in training).
    """
    audio = out / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    rows = []
    for w_i, word in enumerate(words):
        from_end = len(words) - w_i
        split = "test" if from_end <= held_out else "val" if from_end <= 2 * held_out else "train"
        ref = f"audio/{w_i}_ref.wav"
        _write(out / ref, synthesize(word, voice="ko", sr=sr), sr)
        phon = "".join(phonemes(word))
        other = words[(w_i + 1) % len(words)]
        speakers = test_voices if split == "test" and test_voices else voices
        for v_i, voice in enumerate(speakers):
            takes = [
                ("correct", 1, 0, word, word),
                ("edit", 0, 1, f"[[{one_vowel_edit(phon)}]]", word),
                ("other_word", 0, -1, other, other),
            ]
            for kind, label, n_edits, text, said in takes:
                name = f"audio/{w_i}_{v_i}_{kind}.wav"
                _write(out / name, synthesize(text, voice=voice, speed_wpm=150 + 10 * v_i, sr=sr), sr)
                rows.append({
                    "reference": ref, "attempt": name, "label": label, "kind": kind, "n_edits": n_edits,
                    "edits": "" if kind != "edit" else "vowel", "word": word, "attempt_text": said, "lang": "ko",
                    "split": split, "voice": voice, "speed_wpm": 150 + 10 * v_i, "pitch": 50, "snr_db": "",
                    "noise": "", "gain_db": 0, "reverb": 0, "mic": "", "lead_s": 0.15, "trail_s": 0.15, "seed": 0,
                })
    manifest = out / "manifest.csv"
    with open(manifest, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return manifest
