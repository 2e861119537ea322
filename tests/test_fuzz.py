"""Fuzz: damaged wav/flac/ogg/mp3 files and garbage microphone samples end in a typed error
or a score, within a time bound — never a traceback, a hang or a crash.

The cases are made deterministically (tests/fuzz_audio.py, seed 15). The suite runs a slice
of them in-process plus a few real `malsori score` processes; `bench/fuzz_audio.py` runs
the full set (600 files) before a release.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from core.errors import MalsoriError
from core.paths import REPO_ROOT
from fuzz_audio import DAMAGE, FORMATS, fuzz_cases, raw_take
from speech import SR, pad, speak

SUITE_CASES = 2 * len(FORMATS) * len(DAMAGE) * 2  # 128: every format × damage, four times
TIME_BOUND_S = 10.0  # one file, on a loaded 2-core machine; a hang would blow through it


@pytest.fixture(scope="module")
def scorer():
    import torch

    from models import Scorer

    torch.set_num_threads(1)
    return Scorer.from_path(REPO_ROOT / "assets" / "models" / "malsori.pt")


@pytest.fixture(scope="module")
def takes():
    return [(pad(speak("사과"), lead_s=0.2, trail_s=0.2), SR), (pad(speak("물", voice="ko+f2"), lead_s=0.1, trail_s=0.3), SR)]


@pytest.fixture(scope="module")
def cases(takes):
    return fuzz_cases(takes, n=SUITE_CASES)


def outcome(call):
    """'score' or the typed error's class name; anything else fails the test."""
    start = time.monotonic()
    try:
        call()
        result = "score"
    except MalsoriError as exc:
        result = type(exc).__name__
    assert time.monotonic() - start < TIME_BOUND_S
    return result


def test_damaged_files_end_in_a_typed_error_or_a_score(scorer, takes, cases, tmp_path):
    ref = scorer.features(takes[0])
    seen = {}
    for name, data in cases:
        path = tmp_path / name
        path.write_bytes(data)
        seen[name] = outcome(lambda: scorer.score_pair(ref, path))
    assert all(seen[n] == "score" for n in seen if "_intact." in n)  # the undamaged controls score
    assert {"score", "AudioDecodeError"} <= set(seen.values())  # the damage is real: some files are refused


def test_any_bytes_as_microphone_samples_end_in_a_friendly_message_or_a_score(scorer, takes, cases):
    """The kiosk's take path: a microphone delivering garbage (int16 samples) is scored the way
    the kiosk scores a take, or refused with a typed error (which the kiosk words kindly)."""
    from preprocessing.pipeline import clipped_fraction

    ref = scorer.features(takes[0])
    for _, data in cases[:: len(FORMATS)]:
        take = raw_take(data)
        if clipped_fraction(take, cfg=scorer.cfg) > scorer.cfg.clip_warn_fraction:
            continue  # the kiosk asks the learner to step back before any scoring
        outcome(lambda: scorer.score_pair(ref, (take, SR)))


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_a_real_process_on_a_damaged_file_prints_one_line_and_a_typed_exit_code(takes, tmp_path, ext):
    ref = tmp_path / "ref.wav"
    import soundfile as sf

    sf.write(ref, *takes[0])
    name, data = next((n, d) for n, d in fuzz_cases(takes, n=SUITE_CASES) if n.endswith(f"random_body.{ext}"))
    (tmp_path / name).write_bytes(data)
    proc = subprocess.run([sys.executable, "-m", "app.cli", "score", str(ref), str(tmp_path / name)],
                          capture_output=True, text=True, timeout=120, env=_env(tmp_path))
    assert proc.returncode in (0, 4, 5, 7, 8, 9), proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) <= 1, proc.stderr


def _env(tmp_path):
    import os

    return {**os.environ, "MALSORI_HOME": str(tmp_path / "home")}
