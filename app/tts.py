"""Reference voices: gTTS when it answers quickly, espeak-ng always, a disk cache in front of both.

The kiosk must work from first boot with no network and must never make a learner wait on
Google, so `get_reference` looks in this order:

1. the cache (the user cache, then the read-only references shipped in
   ``assets/references/``) — a hit never touches the network; a gTTS entry is preferred
   over an espeak-ng one;
2. gTTS, with a hard deadline (`gtts_timeout_s`, default 5 s, which also covers DNS);
3. espeak-ng (offline), recording in the result which engine made the audio and why gTTS
   was not used.

The model is calibrated on espeak-ng references, so a take whose reference is made from its
text (the kiosk, `malsori score --text`) is scored against espeak-ng's (`scoring_reference`),
whatever voice the learner heard.

Cache entries are 16 kHz mono 16-bit FLAC files, one per (engine, voice, language, text,
slow). Each carries its own key and a SHA-256 of its PCM samples in the FLAC comment tag,
so a truncated, corrupt or mismatched file is detected on read and rebuilt. Files are written
atomically (temp file + rename) under a per-entry lock, so two threads or processes asking
for the same new text produce one valid file and one synthesis.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import queue
import re
import socket
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from core.errors import TTSError
from core.espeak import espeak_voice

SR = 16_000  # Hz, every reference the kiosk scores against
ENGINES = ("gtts", "espeak")
ESPEAK_SPEED_WPM = 160  # espeak-ng's default speaking rate
ESPEAK_SLOW_SPEED_WPM = 110  # "slow": clearly slower, still natural for a single word
GTTS_HOST = ("translate.google.com", 443)
CACHE_FORMAT_VERSION = 1
MAX_TEXT_CHARS = 200  # a practice item is a word or a short sentence


class GttsUnavailable(TTSError):
    """gTTS gave no usable audio (no network, timeout, HTTP 429/403, empty or undecodable audio)."""


@dataclass(frozen=True, eq=False)  # eq=False: numpy arrays have no single truth value
class Reference:
    """One reference recording.

    audio: float32 mono samples in [-1, 1] at `sr` Hz, shape (n,).
    engine: "gtts" or "espeak" — what actually made the audio (the model is calibrated on espeak-ng's).
    voice: the voice within the engine, e.g. "ko", "ko+f2", "gtts:ko".
    path: the cache file (FLAC) the audio lives in.
    fallback_reason: why gTTS was not used when it was asked for ("auto"), else None.
    from_cache: True when the audio came from the cache (no synthesis, no network).
    """

    audio: np.ndarray
    sr: int
    engine: str
    voice: str
    path: Path
    fallback_reason: str | None = None
    from_cache: bool = False

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.sr


@dataclass(frozen=True)
class CacheKey:
    """What makes two references the same: engine, voice, language, normalised text, speed."""

    engine: str
    voice: str
    lang: str
    text: str
    slow: bool

    def as_dict(self) -> dict:
        return {"engine": self.engine, "voice": self.voice, "lang": self.lang, "text": self.text, "slow": self.slow}

    @property
    def digest(self) -> str:
        blob = json.dumps(self.as_dict(), ensure_ascii=False, sort_keys=True).encode("utf-8")
        return hashlib.sha256(blob).hexdigest()

    @property
    def relpath(self) -> Path:
        """Where the entry lives below a cache root, e.g. espeak/ko/3f2a….flac."""
        safe_lang = re.sub(r"[^A-Za-z0-9_-]", "_", self.lang)
        return Path(self.engine) / safe_lang / f"{self.digest[:32]}.flac"


# --- public entry points -----------------------------------------------------------------------


def get_reference(
    text: str,
    *,
    lang: str = "ko",
    engine: str = "auto",
    slow: bool = False,
    cache_dir: Path | None = None,
    gtts_timeout_s: float = 5.0,
    voice: str | None = None,
    shipped_dirs: Sequence[Path] | None = None,
) -> Reference:
    """The reference recording of `text` in `lang`, from cache, gTTS or espeak-ng.

    engine: "auto" (cache hit of any engine, gTTS preferred → gTTS → espeak-ng fallback),
        "gtts" (cache or gTTS only; raises TTSError when gTTS fails) or "espeak" (offline only).
    cache_dir: the writable cache (default: `core.paths.cache_dir() / "tts"`).
    gtts_timeout_s: the longest a gTTS request may take, DNS and all, before falling back.
    voice: an espeak-ng voice variant such as "ko+f2" (default: the language's plain voice).
    shipped_dirs: read-only cache layers (default: `assets/references/`).

    Raises TTSError (empty or overlong text, unknown engine, espeak-ng missing or failing,
    gTTS failing with engine="gtts", cache not writable).
    """
    text = normalize_text(text)
    if engine not in ("auto", *ENGINES):
        raise TTSError(f"unknown TTS engine {engine!r}: use auto, gtts or espeak")
    writable = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    layers = [writable, *(default_shipped_dirs() if shipped_dirs is None else shipped_dirs)]
    gtts_key = CacheKey("gtts", f"gtts:{lang}", lang, text, bool(slow))
    espeak_key = CacheKey("espeak", voice or espeak_voice(lang), lang, text, bool(slow))

    wanted = [gtts_key] if engine == "gtts" else [espeak_key] if engine == "espeak" else [gtts_key, espeak_key]
    for key in wanted:
        hit = lookup(key, layers)
        if hit is not None:
            return hit

    fallback_reason = None
    if engine in ("auto", "gtts"):
        try:
            return _build(
                gtts_key,
                lambda: fetch_gtts(text, lang=lang, slow=slow, timeout_s=gtts_timeout_s),
                writable,
            )
        except GttsUnavailable as exc:
            if engine == "gtts":
                raise
            fallback_reason = str(exc)
    return _build(
        espeak_key,
        lambda: synthesize_espeak(text, voice=espeak_key.voice, slow=slow),
        writable,
        fallback_reason=fallback_reason,
    )


def gtts_reachable(timeout_s: float = 2.0) -> bool:
    """True when Google's TTS host accepts a TCP connection within `timeout_s` (DNS included).

    A cheap check for the operator screen: it sends no request (so it cannot be rate-limited),
    and so it cannot tell whether the undocumented endpoint still answers with audio.
    """

    def connect() -> bool:
        with socket.create_connection(GTTS_HOST, timeout=timeout_s):
            return True

    try:
        return bool(call_with_deadline(connect, timeout_s=timeout_s))
    except (OSError, TTSError):
        return False


# --- paths and keys --------------------------------------------------------------------------


def default_cache_dir() -> Path:
    from core.paths import cache_dir

    return cache_dir() / "tts"


def default_shipped_dirs() -> list[Path]:
    """The references generated by `deploy/setup.sh` (or shipped) for the shipped word lists."""
    from core.paths import assets_dir

    return [assets_dir() / "references"]


def normalize_text(text: str) -> str:
    """NFC, trimmed, inner whitespace collapsed: the form a cache key is made of."""
    text = " ".join(unicodedata.normalize("NFC", str(text)).split())
    if not text:
        raise TTSError("nothing to say: the text is empty")
    if len(text) > MAX_TEXT_CHARS:
        raise TTSError(f"text too long for a reference ({len(text)} characters, at most {MAX_TEXT_CHARS})")
    return text


# --- cache entries ---------------------------------------------------------------------------


def encode_entry(audio: np.ndarray, key: CacheKey) -> bytes:
    """FLAC bytes (16 kHz mono 16-bit) whose comment tag holds the key and the PCM SHA-256."""
    import soundfile as sf

    pcm = to_pcm16(audio)
    meta = {"format": CACHE_FORMAT_VERSION, **key.as_dict(), "sr": SR, "samples": int(pcm.size),
            "pcm_sha256": hashlib.sha256(pcm.tobytes()).hexdigest()}
    buf = io.BytesIO()
    with sf.SoundFile(buf, "w", samplerate=SR, channels=1, format="FLAC", subtype="PCM_16") as f:
        f.comment = json.dumps(meta, ensure_ascii=False, sort_keys=True)
        f.write(pcm)
    return buf.getvalue()


def decode_entry(data: bytes, key: CacheKey) -> np.ndarray | None:
    """The float32 audio of a cache entry, or None when it is corrupt, truncated or another key's."""
    import soundfile as sf

    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            meta = json.loads(f.comment or "null")
            sr = f.samplerate
            pcm = f.read(dtype="int16")
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != CACHE_FORMAT_VERSION or sr != SR:
        return None
    if any(meta.get(k) != v for k, v in key.as_dict().items()):
        return None
    if pcm.ndim != 1 or pcm.size == 0 or pcm.size != meta.get("samples"):
        return None
    if hashlib.sha256(pcm.tobytes()).hexdigest() != meta.get("pcm_sha256"):
        return None
    return pcm.astype(np.float32) / 32768.0


def read_entry(path: Path, key: CacheKey) -> np.ndarray | None:
    try:
        data = path.read_bytes()
    except OSError:  # missing or unreadable: a miss
        return None
    return decode_entry(data, key)


def lookup(key: CacheKey, layers: Sequence[Path]) -> Reference | None:
    """The first valid entry for `key` in the cache layers, without any synthesis."""
    for root in layers:
        path = Path(root) / key.relpath
        audio = read_entry(path, key)
        if audio is not None:
            return Reference(audio, SR, key.engine, key.voice, path, from_cache=True)
    return None


def to_pcm16(audio: np.ndarray) -> np.ndarray:
    y = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
    return np.round(y * 32767.0).astype(np.int16)


@contextlib.contextmanager
def _entry_lock(path: Path) -> Iterator[None]:
    """An exclusive lock per cache entry, shared by threads (own descriptors) and processes."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock.fileno(), fcntl.LOCK_UN)


def _build(
    key: CacheKey,
    make: Callable[[], np.ndarray],
    root: Path,
    *,
    fallback_reason: str | None = None,
) -> Reference:
    """Make the audio for `key` once and store it; a corrupt entry in the way is replaced."""
    from core.fileio import atomic_write_bytes

    path = root / key.relpath
    try:
        with _entry_lock(path):
            audio = read_entry(path, key)  # another thread or process may have made it meanwhile
            if audio is not None:
                return Reference(audio, SR, key.engine, key.voice, path, fallback_reason, from_cache=True)
            data = encode_entry(make(), key)
            atomic_write_bytes(path, data)
            path.chmod(0o644)  # mkstemp makes 0600; a kiosk user must read what setup wrote
    except OSError as exc:
        raise TTSError(
            f"cannot write the reference voice cache at {path.parent}: {exc.strerror or exc}; "
            "free disk space or point MALSORI_CACHE at a writable folder"
        ) from exc
    audio = decode_entry(data, key)  # exactly what a later cache hit returns (16-bit)
    return Reference(audio, SR, key.engine, key.voice, path, fallback_reason)


def scoring_reference(text: str, *, lang: str = "ko", **options) -> Reference:
    """The reference a take of `text` is scored against: espeak-ng's (offline, cached), whichever
    voice was played. The model is calibrated on espeak-ng references, and a neural voice lowers
    the scores of right takes (human English takes, told the word: median 17.0 against espeak-ng,
    13.5 against a Kokoro neural voice on the held-out test speaker; 72.5 vs 9.6 on the train
    split; assets/models/REPORT.md, "The kiosk scores against espeak-ng"). options: as
    `get_reference` (cache_dir, shipped_dirs, …)."""
    return get_reference(text, lang=lang, engine="espeak", **options)


# --- engines ---------------------------------------------------------------------------------


def synthesize_espeak(text: str, *, voice: str, slow: bool = False) -> np.ndarray:
    """espeak-ng speech → float32 mono at 16 kHz (raises TTSError when espeak-ng fails)."""
    from core import espeak

    speed = ESPEAK_SLOW_SPEED_WPM if slow else ESPEAK_SPEED_WPM
    return espeak.synthesize(text, voice=voice, speed_wpm=speed, sr=SR)


def fetch_gtts(text: str, *, lang: str, slow: bool = False, timeout_s: float = 5.0) -> np.ndarray:
    """gTTS speech → float32 mono at 16 kHz, or GttsUnavailable within `timeout_s` seconds.

    gTTS's own `timeout` bounds the connect and each read; the deadline thread also bounds
    DNS and a server that trickles bytes. MP3 is collected in memory (never `save()`,
    which leaves a 0-byte file behind when it fails).
    """
    mp3 = call_with_deadline(lambda: _gtts_mp3(text, lang=lang, slow=slow, timeout_s=timeout_s),
                             timeout_s=timeout_s, what="gTTS")
    if not mp3:
        raise GttsUnavailable("gTTS returned no audio (empty response)")
    try:
        return decode_mp3(mp3)
    except TTSError as exc:
        raise GttsUnavailable(f"gTTS audio could not be decoded: {exc}") from exc


def _gtts_mp3(text: str, *, lang: str, slow: bool, timeout_s: float) -> bytes:
    import requests
    from gtts import gTTS
    from gtts.tts import gTTSError

    buf = io.BytesIO()
    try:
        # lang_check=False: our languages are known, and the check can only add failure modes.
        gTTS(text, lang=lang, slow=slow, lang_check=False, timeout=timeout_s).write_to_fp(buf)
    except gTTSError as exc:
        raise GttsUnavailable(f"gTTS failed: {_describe_gtts_error(exc)}") from exc
    except requests.exceptions.RequestException as exc:  # e.g. a connection cut mid-body
        raise GttsUnavailable(f"gTTS failed: {type(exc).__name__}") from exc
    except AssertionError as exc:  # gTTS asserts when nothing speakable is left of the text
        raise GttsUnavailable(f"gTTS cannot speak this text: {exc}") from exc
    except (ValueError, TypeError, UnicodeError) as exc:  # the undocumented answer changed shape
        raise GttsUnavailable(f"gTTS answer not understood ({type(exc).__name__}: {exc})") from exc
    return buf.getvalue()


def _describe_gtts_error(exc: Exception) -> str:
    response = getattr(exc, "rsp", None)
    status = getattr(response, "status_code", None)
    if status == 429:
        return "HTTP 429, Google is rate-limiting this kiosk"
    if status == 403:
        return "HTTP 403, the undocumented endpoint refused the request (it may have changed)"
    if status == 200:
        return "HTTP 200 without audio in the response"
    if status is not None:
        return f"HTTP {status}"
    return "no network (could not connect to translate.google.com)"


def decode_mp3(data: bytes) -> np.ndarray:
    """MP3 bytes → float32 mono at 16 kHz, decoded by ffmpeg through pydub (in memory)."""
    from pydub import AudioSegment
    from pydub.exceptions import CouldntDecodeError

    from preprocessing.audio import resample

    try:
        seg = AudioSegment.from_file(io.BytesIO(data), format="mp3", codec="mp3")
    except (CouldntDecodeError, IndexError, OSError, ValueError) as exc:
        raise TTSError("not decodable MP3 audio") from exc
    samples = np.array(seg.get_array_of_samples(), dtype=np.float32)
    if seg.channels > 1:
        samples = samples.reshape(-1, seg.channels).mean(axis=1)
    samples /= float(1 << (8 * seg.sample_width - 1))
    if samples.size == 0:
        raise TTSError("MP3 holds no samples")
    return resample(samples, orig_sr=int(seg.frame_rate), sr=SR)


def call_with_deadline(fn: Callable[[], object], *, timeout_s: float, what: str = "the call"):
    """fn() on a daemon thread; its result, its exception, or GttsUnavailable after `timeout_s`.

    A request stuck in DNS or on a dropping network cannot be interrupted from Python; it is
    left to finish on its own thread while the caller goes on.
    """
    box: queue.Queue = queue.Queue(maxsize=1)

    def work() -> None:
        try:
            box.put((True, fn()))
        except BaseException as exc:  # handed to the caller, not lost in the thread
            box.put((False, exc))

    threading.Thread(target=work, name=f"malsori-{what}", daemon=True).start()
    try:
        ok, value = box.get(timeout=max(timeout_s, 0.0))
    except queue.Empty:
        raise GttsUnavailable(f"{what} gave no answer within {timeout_s:g} s") from None
    if not ok:
        raise value
    return value
