"""A microphone without hardware: ALSA's `file` plugin serves a raw PCM file as the capture device.

    from fakemic import fake_mic   # a pytest fixture (tests/ is on sys.path under pytest)

    def test_something(fake_mic):
        home = fake_mic(audio, sr=16_000, native_sr=48_000)   # HOME now holds the .asoundrc
        take = Recorder(save_dir=tmp_path).record()

What the fake device does (measured with alsa-lib 1.2.8 / PortAudio 19.6):
- It is rate-locked like a USB mic's raw `hw:` device: the `plug` wrapper has no usable
  rate converter, so opening it at any rate but `native_sr` fails (as -9997/-9999 do on a Pi).
  PortAudio reports `native_sr` as its default rate. `rate_locked=False` lets ALSA convert.
- It runs much faster than real time (the `null` slave has no clock): seconds of audio
  arrive in milliseconds, so tests cost little. Judge timing by sample positions only.
- int16 capture returns the file's samples exactly; after the end of the file it returns
  silence (zeros), forever.

PortAudio reads the ALSA config when it initialises. The `fake_mic` fixture sets HOME and
re-initialises PortAudio in this process (`app.devices.reinit_portaudio()`), and does it
again on teardown, so the recorder can run in the pytest process. Code that runs in a fresh
subprocess only needs HOME (see `subprocess_env`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
try:
    import pytest
except ImportError:  # deploy/screenshots.py on a kiosk without the test tools: the helpers work, no fixture
    pytest = None

from preprocessing.audio import resample


def to_raw_s16(audio: np.ndarray, *, sr: int, native_sr: int) -> bytes:
    """float32 mono at `sr` → raw S16_LE mono bytes at `native_sr` (what the fake device serves)."""
    y = resample(np.asarray(audio, np.float32), orig_sr=sr, sr=native_sr)
    return (np.clip(y, -1.0, 1.0) * 32767).round().astype("<i2").tobytes()


def asoundrc_text(infile: Path, *, native_sr: int = 48_000, rate_locked: bool = True, name: str = "fakemic") -> str:
    """ALSA config: `default` records from `infile` (raw S16_LE mono at native_sr), plays to null.

    Also defines the pcm `name` (the fake mic itself) for tests that point other configs at it.
    """
    converter = '    rate_converter "malsori_no_converter"\n' if rate_locked else ""
    return (
        f'pcm.!default {{ type asym; playback.pcm "{name}_out"; capture.pcm "{name}" }}\n'
        f"pcm.{name}_out {{ type null }}\n"
        f"pcm.{name} {{\n"
        "    type plug\n"
        f"{converter}"
        f'    slave {{ pcm "{name}_file"; format S16_LE; rate {int(native_sr)}; channels 1 }}\n'
        "}\n"
        f'pcm.{name}_file {{ type file; slave.pcm "null"; file "/dev/null"; infile "{infile}"; format "raw" }}\n'
    )


def make_fake_mic_home(
    home: Path, audio: np.ndarray, *, sr: int = 16_000, native_sr: int = 48_000, rate_locked: bool = True
) -> Path:
    """Write `home/.asoundrc` and the raw file it serves; return `home`. Does not touch the environment."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    raw = home / f"fakemic_{native_sr}.raw"
    raw.write_bytes(to_raw_s16(audio, sr=sr, native_sr=native_sr))
    (home / ".asoundrc").write_text(asoundrc_text(raw, native_sr=native_sr, rate_locked=rate_locked))
    return home


def subprocess_env(home: Path, **extra: str) -> dict:
    """Environment for a fresh process that should see `home/.asoundrc` (and keep malsori files in home)."""
    env = dict(os.environ, HOME=str(home), MALSORI_HOME=str(Path(home) / "malsori"), **extra)
    return env


def use_home(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point HOME at `home` and make PortAudio in this process re-read the ALSA config."""
    from app.devices import reinit_portaudio

    monkeypatch.setenv("HOME", str(home))
    reinit_portaudio()


def _fixture(func):
    return pytest.fixture(func) if pytest is not None else func


@_fixture
def fake_mic(tmp_path, monkeypatch):
    """Factory: fake_mic(audio, sr=16000, native_sr=48000, rate_locked=True) -> the temp HOME.

    Sets HOME (and MALSORI_HOME inside it) for the test and re-initialises PortAudio; on
    teardown HOME is restored and PortAudio re-initialised again, so later tests see the
    machine's real config. The teardown undoes the test's `monkeypatch` (the same instance),
    so restoring HOME cannot leave another patched variable half-restored.
    """
    from app.devices import reinit_portaudio

    monkeypatch.setenv("MALSORI_HOME", str(tmp_path / "malsori"))

    def make(audio, *, sr=16_000, native_sr=48_000, rate_locked=True, home=None):
        home = make_fake_mic_home(home or tmp_path / "home", audio, sr=sr, native_sr=native_sr, rate_locked=rate_locked)
        use_home(home, monkeypatch)
        return home

    yield make
    wait_for_closing_streams()
    monkeypatch.undo()
    reinit_portaudio()


def wait_for_closing_streams(timeout_s: float = 5.0) -> None:
    """Join the recorder's background stream closers: PortAudio must not be re-initialised under them."""
    import threading

    for thread in threading.enumerate():
        if thread.name == "malsori-close-stream":
            thread.join(timeout_s)
