"""Damaged audio files, made deterministically: the fuzz corpus of tests/test_fuzz.py and
bench/fuzz_audio.py.

Each case starts from a real take encoded as wav, flac, ogg or mp3 (so every case carries
a genuine header) and is then truncated, bit-flipped, given a random body, spliced, or
given a header whose sizes lie. Same seed, same bytes.
"""

from __future__ import annotations

import io

import numpy as np

FORMATS = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16"), "ogg": ("OGG", "VORBIS"),
           "mp3": ("MP3", "MPEG_LAYER_III")}
DAMAGE = ("truncate", "flip", "random_body", "random_after_magic", "splice", "zero_run", "lying_sizes", "intact")


def encode(y: np.ndarray, sr: int, ext: str) -> bytes:
    import soundfile as sf

    fmt, subtype = FORMATS[ext]
    buf = io.BytesIO()
    sf.write(buf, y, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def damage(data: bytes, kind: str, rng: np.random.Generator) -> bytes:
    b = bytearray(data)
    n = len(b)
    if kind == "truncate":  # anywhere, often inside the header
        return bytes(b[: int(rng.integers(0, min(n, 64))) if rng.random() < 0.4 else int(rng.integers(0, n))])
    if kind == "flip":
        for i in rng.integers(0, n, size=int(rng.integers(1, 64))):
            b[i] = int(rng.integers(0, 256))
        return bytes(b)
    if kind == "random_body":  # the real header, then noise
        keep = int(rng.integers(4, min(n, 200)))
        return bytes(b[:keep]) + rng.integers(0, 256, size=int(rng.integers(0, 40_000)), dtype=np.uint8).tobytes()
    if kind == "random_after_magic":
        return bytes(b[:4]) + rng.integers(0, 256, size=int(rng.integers(0, 5_000)), dtype=np.uint8).tobytes()
    if kind == "splice":  # a block dropped or repeated
        i, j = sorted(int(v) for v in rng.integers(0, n, size=2))
        return bytes(b[:i] + b[j:]) if rng.random() < 0.5 else bytes(b[:j] + b[i:j] + b[i:])
    if kind == "zero_run":
        i = int(rng.integers(0, n))
        b[i : i + int(rng.integers(1, 2_000))] = bytes(min(n - i, 2_000))[: len(b[i : i + 2_000])]
        return bytes(b[:n])
    if kind == "lying_sizes":  # every 32-bit little-endian field in the first 64 bytes set to a random size
        for i in range(4, min(n, 64) - 3, 4):
            if rng.random() < 0.5:
                b[i : i + 4] = int(rng.choice([0, 1, 0x7FFFFFFF, 0xFFFFFFFF, int(rng.integers(0, 2**32))])).to_bytes(4, "little")
        return bytes(b)
    return bytes(b)  # intact: a control that must score


def fuzz_cases(takes: list[tuple[np.ndarray, int]], *, n: int, seed: int = 15) -> list[tuple[str, bytes]]:
    """n (file name, bytes) cases, spread evenly over formats and kinds of damage."""
    rng = np.random.default_rng(seed)
    seeds = {ext: [encode(y, sr, ext) for y, sr in takes] for ext in FORMATS}
    cases = []
    for i in range(n):
        ext = list(FORMATS)[i % len(FORMATS)]
        kind = DAMAGE[(i // len(FORMATS)) % len(DAMAGE)]
        source = seeds[ext][int(rng.integers(0, len(seeds[ext])))]
        cases.append((f"{i:04d}_{kind}.{ext}", damage(source, kind, rng)))
    return cases


def raw_take(data: bytes) -> np.ndarray:
    """Any bytes as a microphone would deliver them: little-endian int16 samples → float32."""
    data = data[: len(data) // 2 * 2]
    return (np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0)
