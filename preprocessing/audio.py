"""Loading audio files into float32 mono arrays at a chosen sample rate."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from core.audio import resample
from core.errors import AudioDecodeError, AudioNotFoundError, AudioTooLongError, EmptyAudioError, NonFiniteAudioError

DEFAULT_SR = 16_000


def load_audio(path: str | os.PathLike, *, sr: int = DEFAULT_SR, max_duration_s: float | None = None) -> np.ndarray:
    """Read any audio file into a float32 mono array at `sr` Hz.

    wav (8/16/24/32-bit int, float), flac and ogg go through soundfile; mp3, m4a and
    anything else ffmpeg reads go through pydub. Stereo is averaged to mono.

    max_duration_s: refuse longer wav/flac/ogg files from their header, before decoding
    (a 20-minute recording would otherwise take a Pi's memory first).

    Raises AudioNotFoundError, AudioDecodeError, EmptyAudioError, NonFiniteAudioError,
    AudioTooLongError.
    """
    path = Path(path)
    if not path.exists():
        raise AudioNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise AudioNotFoundError(f"{path}: is a directory, expected an audio file")
    if path.stat().st_size == 0:
        raise EmptyAudioError(f"{path}: the file is empty (0 bytes)")
    with _quiet_native_stderr(_looks_like_mp3(path)):
        if max_duration_s is not None:
            _check_duration(path, max_duration_s)
        y, file_sr = _read_soundfile(path)
    if y is None:
        y, file_sr = _read_ffmpeg(path, max_duration_s=max_duration_s)
    if y.size == 0:
        raise EmptyAudioError(f"{path}: the file holds no audio samples")
    if not np.all(np.isfinite(y)):
        raise NonFiniteAudioError(f"{path}: the audio contains NaN or infinite samples")
    return resample(y, orig_sr=file_sr, sr=sr)


def _check_duration(path: Path, max_duration_s: float) -> None:
    import soundfile as sf

    try:
        duration = sf.info(str(path)).duration
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return  # not a soundfile format: ffmpeg decodes it and the pipeline checks the length
    if duration > max_duration_s:
        raise AudioTooLongError(
            f"{path}: the audio is {duration:.1f} s long; at most {max_duration_s:.0f} s can be scored"
        )


def to_mono(y: np.ndarray) -> np.ndarray:
    """(frames,) or (frames, channels) → float32 (frames,)."""
    y = np.asarray(y, dtype=np.float32)
    return y.mean(axis=1) if y.ndim == 2 else y


def _looks_like_mp3(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(3)
    except OSError:
        return False
    return path.suffix.lower() == ".mp3" or head == b"ID3" or (len(head) >= 2 and head[0] == 0xFF and head[1] >= 0xE0)


@contextmanager
def _quiet_native_stderr(active: bool = True):
    """Hold back what C libraries print on file descriptor 2 meanwhile (libmpg123, inside
    libsndfile, prints "Note: Illegal Audio-MPEG-Header …" for a damaged mp3: the CLI's
    promise is one line on stderr). What they said goes to the log at debug level."""
    if not active:
        yield
        return
    import logging
    import tempfile

    try:
        saved = os.dup(2)
    except OSError:  # no file descriptor 2 at all
        yield
        return
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            said = sink.read(4000).decode(errors="replace").strip()
            if said:
                logging.getLogger(__name__).debug("mp3 decoder said: %s", said)


def _read_soundfile(path: Path):
    import soundfile as sf

    try:
        y, file_sr = sf.read(str(path), dtype="float32", always_2d=False)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return None, None
    return to_mono(y), int(file_sr)


def _read_ffmpeg(path: Path, *, max_duration_s: float | None = None):
    """Decode with ffmpeg. With max_duration_s, ffmpeg stops a little past it (`-t`): an
    hour-long m4a is refused after decoding ~30 s, not after filling the memory first."""
    from pydub import AudioSegment
    from pydub.exceptions import CouldntDecodeError

    limit = None if max_duration_s is None else max_duration_s + 1.0
    try:
        seg = AudioSegment.from_file(str(path), duration=limit)
    except (CouldntDecodeError, IndexError, OSError, ValueError) as exc:
        raise AudioDecodeError(
            f"{path}: not a readable audio file (corrupt, truncated or unsupported format)"
        ) from exc
    samples = np.array(seg.get_array_of_samples(), dtype=np.float32)
    if seg.channels > 1:
        samples = samples.reshape(-1, seg.channels)
    samples = to_mono(samples) / float(1 << (8 * seg.sample_width - 1))
    if max_duration_s is not None and len(samples) > max_duration_s * seg.frame_rate:
        raise AudioTooLongError(
            f"{path}: the audio is longer than {max_duration_s:.0f} s; at most {max_duration_s:.0f} s can be scored"
        )
    return samples, int(seg.frame_rate)
