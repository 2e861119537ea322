"""espeak-ng behind a small wrapper: a timeout, and a clear error when it is missing.

Used by the offline reference voice (app.tts), word-list checks and the synthetic training corpus.
Audio comes back in memory (wav on stdout), never through a temporary file.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from functools import lru_cache

import numpy as np

from core.audio import resample
from core.errors import TTSError

BINARY = "espeak-ng"
VOICES = {"ko": "ko", "en": "en-us"}  # language → espeak-ng voice


def espeak_voice(lang: str) -> str:
    """espeak-ng voice for a language code ("ko" → "ko", "en" → "en-us"); others pass through."""
    return VOICES.get(lang, lang)


def available() -> bool:
    return shutil.which(BINARY) is not None


def _listing(option: str) -> list[list[str]]:
    """The rows (split on blanks, header dropped) of `espeak-ng --voices[=…]`; [] when it cannot run."""
    try:
        out = subprocess.run([BINARY, option], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.split() for line in out.splitlines()[1:] if len(line.split()) >= 5]


@lru_cache(maxsize=1)
def known_languages() -> frozenset[str]:
    """What `-v LANG` accepts (casefolded): the language codes, voice names and voice files
    of `espeak-ng --voices`; empty when espeak-ng cannot say."""
    rows = _listing("--voices")
    return frozenset(name.casefold() for r in rows for name in (r[1], r[3], r[4], r[4].rsplit("/", 1)[-1]))


@lru_cache(maxsize=1)
def known_variants() -> frozenset[str]:
    """Voice variant names espeak-ng knows (case matters; it silently falls back to the
    plain voice for others); empty when espeak-ng cannot say."""
    return frozenset(r[4].split("/", 1)[-1] for r in _listing("--voices=variant"))


def voice_problem(voice: str) -> str | None:
    """Why `voice` ("ko", "ko+f2", "en-us+m3") is not an espeak-ng voice, or None when it is
    (or when espeak-ng cannot list its voices)."""
    lang, _, variant = voice.partition("+")
    languages = known_languages()
    if languages and lang.casefold() not in languages:
        return f"no espeak-ng language {lang!r} (e.g. ko, en-us; list them with `espeak-ng --voices`)"
    variants = known_variants()
    if variant and variants and variant not in variants:
        return (f"no espeak-ng variant {variant!r} (e.g. f2, m3, klatt; list them with "
                "`espeak-ng --voices=variant`, the last column without '!v/')")
    return None


def _run(args: list[str], *, timeout_s: float) -> bytes:
    # callers end their options with "--": a text starting with "-" is then said, not read as an option
    if not available():
        raise TTSError("espeak-ng is not installed: run `bash deploy/setup.sh` (apt package espeak-ng)")
    try:
        proc = subprocess.run([BINARY, *args], capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise TTSError(f"espeak-ng took longer than {timeout_s:.0f} s") from exc
    if proc.returncode != 0:
        msg = proc.stderr.decode("utf-8", "replace").strip() or f"exit code {proc.returncode}"
        raise TTSError(f"espeak-ng failed: {msg}")
    return proc.stdout


def synthesize(
    text: str,
    *,
    voice: str = "ko",
    speed_wpm: int = 160,
    pitch: int = 50,
    amplitude: int = 100,
    sr: int = 16_000,
    timeout_s: float = 10.0,
) -> np.ndarray:
    """Speak `text` (or phonemes written as "[[p'uL]]") → float32 mono at `sr` Hz.

    voice: a language with an optional variant, e.g. "ko", "ko+f2", "en-us+m3".
    """
    if not text.strip():
        raise TTSError("nothing to say: the text is empty")
    wav = _run(
        ["-v", voice, "-s", str(speed_wpm), "-p", str(pitch), "-a", str(amplitude), "--stdout", "--", text],
        timeout_s=timeout_s,
    )
    y, file_sr = parse_wav_stream(wav)
    if y.size == 0:
        raise TTSError(f"espeak-ng produced no audio for {text!r} (voice {voice})")
    return resample(y, orig_sr=file_sr, sr=sr)


def phonemes(text: str, *, voice: str = "ko", timeout_s: float = 10.0) -> list[str]:
    """espeak-ng's phoneme mnemonics for `text`, one string per word (phonemes unseparated)."""
    out = _run(["-v", voice, "-q", "-x", "--", text], timeout_s=timeout_s)
    return out.decode("utf-8", "replace").split()


PHONEME_SEPARATOR = "\u200c"  # what `--sep=z` puts between phonemes (ZWNJ; "_" would clash with pauses)


def separated_phonemes(text: str, *, voice: str = "ko", timeout_s: float = 10.0) -> str:
    """espeak-ng's raw `-x --sep=z` output for `text`: a line per clause, phonemes split by
    PHONEME_SEPARATOR, words by spaces, language switches shown as "(en)"."""
    out = _run(["-v", voice, "-q", "-x", "--sep=z", "--", text], timeout_s=timeout_s)
    return out.decode("utf-8", "replace")


def phoneme_tokens(text: str, *, voice: str = "ko", timeout_s: float = 10.0) -> list[list[str]]:
    """espeak-ng's phonemes for `text`: one list per clause, one mnemonic per item.

    Words inside a clause are separated by a " " item; stress marks stay on their phoneme
    ("'a", ",o"). Joining a clause's items ("".join) gives the string `phonemes` prints,
    which espeak-ng speaks back when written as "[[...]]".
    """
    clauses = []
    for line in separated_phonemes(text, voice=voice, timeout_s=timeout_s).splitlines():
        items: list[str] = []
        for word in line.split():
            if items:
                items.append(" ")
            items.extend(p for p in word.split(PHONEME_SEPARATOR) if p)
        if items:
            clauses.append(items)
    return clauses


def parse_wav_stream(data: bytes) -> tuple[np.ndarray, int]:
    """16-bit PCM wav as espeak-ng writes it to a pipe (its size fields are left at 0x7fffffff)."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise TTSError("espeak-ng returned something that is not a wav stream")
    pos, sr = 12, None
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if chunk == b"fmt ":
            sr = struct.unpack("<I", data[pos + 12 : pos + 16])[0]
        elif chunk == b"data":
            body = data[pos + 8 :]
            body = body[: len(body) // 2 * 2]
            if sr is None:
                break
            return np.frombuffer(body, dtype="<i2").astype(np.float32) / 32768.0, sr
        pos += 8 + size
    raise TTSError("espeak-ng returned a wav stream without audio data")
