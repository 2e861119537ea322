"""Every format, bit depth, rate and channel layout loads to the same 16 kHz mono signal."""

import subprocess

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import butter, sosfiltfilt

from preprocessing import load_audio, resample
from speech import SR, pad, speak


@pytest.fixture(scope="module")
def source():
    """Speech band-limited to 3.5 kHz, so that even an 8 kHz file holds all of it."""
    y = pad(speak("안녕하세요"), lead_s=0.2, trail_s=0.2)
    y = sosfiltfilt(butter(8, 3500, fs=SR, output="sos"), y).astype(np.float32)
    return 0.5 * y / np.abs(y).max()


def _aligned_corr(a, b, max_lag=2000):
    """Correlation after removing a codec's constant delay (mp3/aac priming)."""
    from scipy.signal import correlate, correlation_lags

    xc = correlate(b, a, mode="full", method="fft")
    lags = correlation_lags(len(b), len(a), mode="full")
    window = np.abs(lags) <= max_lag
    lag = int(lags[window][np.argmax(xc[window])])
    if lag >= 0:
        x, y = a, b[lag:]
    else:
        x, y = a[-lag:], b
    n = min(len(x), len(y))
    return np.corrcoef(x[:n], y[:n])[0, 1]


SOUNDFILE_CASES = [
    ("wav", "PCM_U8", 16000),
    ("wav", "PCM_16", 8000),
    ("wav", "PCM_16", 44100),
    ("wav", "PCM_24", 48000),
    ("wav", "PCM_32", 22050),
    ("wav", "FLOAT", 16000),
    ("flac", "PCM_16", 48000),
    ("ogg", "VORBIS", 44100),
]


@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.parametrize("ext, subtype, rate", SOUNDFILE_CASES)
def test_soundfile_formats_load_to_the_same_signal(tmp_path, source, ext, subtype, rate, channels):
    data = resample(source, orig_sr=SR, sr=rate)
    if channels == 2:
        data = np.stack([data, data], axis=1)
    path = tmp_path / f"x.{ext}"
    sf.write(path, data, rate, subtype=subtype)
    y = load_audio(path)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - len(source)) <= SR * 0.01
    assert _aligned_corr(source, y) > 0.99


@pytest.mark.parametrize("ext, codec", [("mp3", "libmp3lame"), ("m4a", "aac")])
@pytest.mark.parametrize("rate, channels", [(44100, 2), (22050, 1)])
def test_ffmpeg_formats_load_to_the_same_signal(tmp_path, source, ext, codec, rate, channels):
    wav = tmp_path / "src.wav"
    sf.write(wav, source, SR, subtype="PCM_16")
    out = tmp_path / f"x.{ext}"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-i", str(wav), "-ar", str(rate), "-ac", str(channels),
         "-c:a", codec, "-b:a", "128k", str(out)],
        check=True,
    )
    y = load_audio(out)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - len(source)) <= SR * 0.1  # codecs pad by up to a frame or two
    assert _aligned_corr(source, y) > 0.99


def test_stereo_is_averaged_to_mono(tmp_path, source):
    path = tmp_path / "lr.wav"
    sf.write(path, np.stack([source, np.zeros_like(source)], axis=1), SR, subtype="FLOAT")
    assert np.allclose(load_audio(path), source / 2, atol=1e-6)


def test_a_long_m4a_is_refused_after_decoding_little_more_than_the_limit(tmp_path):
    """ffmpeg formats have no header duration soundfile can read: decoding stops past the limit."""
    from core.errors import AudioTooLongError

    path = tmp_path / "lecture.m4a"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=300:r=16000:d=120", "-ac", "1",
                    "-c:a", "aac", "-b:a", "16k", str(path)], check=True, timeout=120)
    with pytest.raises(AudioTooLongError, match="longer than 30 s"):
        load_audio(path, max_duration_s=30.0)
    assert len(load_audio(path)) == pytest.approx(120 * 16_000, rel=0.01)  # no limit: all of it
