"""Soak: hundreds of takes through the real kiosk, offscreen, with ALSA's file plugin as the
microphone (tests/fakemic.py). Prints takes/min, outcomes and RSS over time.

    QT_QPA_PLATFORM=offscreen nice -n 10 .venv/bin/python bench/kiosk_soak.py [--takes 520]

The takes cycle through: good (espeak-ng voices saying the card's word), silent, clipped,
noisy (white noise at 10 dB SNR), unplugged mid-take (the audio thread fails, as PortAudio's
does when a USB mic is pulled) and, every 25th take, the microphone unplugged before the take
and plugged back (the kiosk's own watcher must notice both). Every take must end on a result
or a friendly message; an unhandled error (the kiosk's excepthook), a take that never ends,
or a "Something went wrong" counts as an error. Exit code 1 on any error or when RSS grew by
more than 20 MB after the warm-up (the first 50 takes).
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

WARM_UP = 50
RSS_GROWTH_LIMIT_MB = 20.0
TAKE_TIMEOUT_S = 60.0
KINDS = ("good", "silent", "clipped", "noisy", "unplugged mid-take")


class _PulledPlug(BaseException):
    """Escapes the recorder's audio callback, as a failing device's error does (tests/test_recorder.py)."""


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--takes", type=int, default=520)
    parser.add_argument("--report-every", type=int, default=50)
    args = parser.parse_args()

    import numpy as np

    from app.devices import reinit_portaudio
    from app.kiosk import controller as ctl
    from app.kiosk.app import Kiosk, ensure_app, install_excepthook
    from app.kiosk.services import default_services
    from app.kiosk.settings import KioskSettings
    from fakemic import asoundrc_text, to_raw_s16
    from speech import SR, add_noise, pad, speak

    work = Path(tempfile.mkdtemp(prefix="malsori-soak-"))
    os.environ["MALSORI_HOME"] = str(work / "malsori")
    os.environ["HOME"] = str(work)
    raw = work / "mic_48000.raw"
    raw.write_bytes(b"")
    plugged = asoundrc_text(raw)
    unplugged = ('pcm.!default { type asym; playback.pcm "nullout"; capture.pcm "hw:CARD=NoSuchMic,DEV=0" }\n'
                 "pcm.nullout { type null }\n")

    def set_asoundrc(text: str) -> None:
        new = work / ".asoundrc.new"
        new.write_text(text)
        new.replace(work / ".asoundrc")  # a new inode: ALSA notices the change

    set_asoundrc(plugged)
    reinit_portaudio()

    app = ensure_app()
    settings = KioskSettings(word_list="ko_beginner", lang="ko", tts_engine="espeak", idle_timeout_s=10_000,
                             max_record_s=5.0, keep_takes=50)
    services = default_services(settings)
    real_make_recorder = services.make_recorder
    pull_plug = {"now": False}

    def make_recorder(on_level):
        calls = [0]

        def level(value):
            calls[0] += 1
            if pull_plug["now"] and calls[0] == 10:
                raise _PulledPlug()
            on_level(value)

        return real_make_recorder(level)

    services = services.__class__(**{**services.__dict__, "make_recorder": make_recorder})
    kiosk = Kiosk(settings=settings, services=services)
    install_excepthook(kiosk)
    recovered = [0]
    real_recover = kiosk.recover
    kiosk.recover = lambda *a: (recovered.__setitem__(0, recovered[0] + 1), real_recover(*a))
    window, c = kiosk.window, kiosk.controller
    window.resize(800, 480)
    window.show()
    c.load_model()
    c.watch_microphone()

    def settle(pred, timeout_s=TAKE_TIMEOUT_S) -> bool:
        deadline = time.monotonic() + timeout_s
        while not pred():
            if time.monotonic() > deadline:
                return False
            app.processEvents()
            time.sleep(0.002)
        return True

    if not settle(lambda: c.model_state != ctl.MODEL_LOADING, 120):
        print("the model did not load")
        return 1
    words = [e for e in c.entries if e.kind == "word"][:40]
    voices = ["ko+m3", "ko+f2", "ko+f5", "ko+m1"]
    rng = np.random.default_rng(12)
    outcomes: collections.Counter = collections.Counter()
    errors: list[str] = []
    rss = [(0, rss_mb())]
    start = time.monotonic()
    print(f"soak: {args.takes} takes, model {c.model_state}, RSS at start {rss[0][1]:.0f} MB", flush=True)
    for n in range(1, args.takes + 1):
        entry = words[n % len(words)]
        c.practise(entry)
        settle(lambda: c.state == ctl.CARD)
        kind = KINDS[n % len(KINDS)]
        speech = pad(speak(entry.text, voice=voices[n % len(voices)]), lead_s=0.4, trail_s=1.0)
        audio = {"good": speech, "silent": np.zeros(SR * 2, np.float32),
                 "clipped": np.clip(speech * 30, -1, 1), "noisy": add_noise(speech, snr_db=10, seed=n),
                 "unplugged mid-take": speech}[kind]
        raw.write_bytes(to_raw_s16(audio, sr=SR, native_sr=48_000))
        pull_plug["now"] = kind == "unplugged mid-take"
        if n % 25 == 0:  # pulled out between takes, then plugged back: the watcher must see both
            set_asoundrc(unplugged)
            c.check_microphone()
            if not settle(lambda: bool(c.mic_problem) and not window.speak_button.isEnabled(), 20):
                errors.append(f"take {n}: an unplugged microphone was not noticed")
            set_asoundrc(plugged)
            c.check_microphone()
            if not settle(lambda: not c.mic_problem and window.speak_button.isEnabled(), 20):
                errors.append(f"take {n}: a microphone plugged back in was not noticed")
                continue
        before = recovered[0]
        window.message_label.setText("")
        window.speak_button.click()
        ended = settle(lambda: c.state == ctl.RESULT or (c.state == ctl.CARD and window.message_label.text() not in
                                                          ("", "Listening… say the word now.", "Scoring…")))
        message = window.message_label.text()
        if not ended:
            errors.append(f"take {n} ({kind}): no result or message after {TAKE_TIMEOUT_S:.0f} s (state {c.state})")
        elif recovered[0] != before or message.startswith("Something went wrong"):
            errors.append(f"take {n} ({kind}): {message or 'unhandled error'}")
        else:
            outcomes[f"{kind}: {'score' if c.state == ctl.RESULT else message}"] += 1
        if n % args.report_every == 0 or n == args.takes:
            rss.append((n, rss_mb()))
            minutes = (time.monotonic() - start) / 60
            print(f"  take {n:4d}: {n / minutes:5.1f} takes/min, RSS {rss[-1][1]:6.1f} MB, errors {len(errors)}",
                  flush=True)
    warm = next((mb for k, mb in rss if k >= WARM_UP), rss[0][1])
    growth = rss[-1][1] - warm
    print(f"\noutcomes ({sum(outcomes.values())} takes ended as they should):")
    for what, count in sorted(outcomes.items()):
        print(f"  {count:4d}  {what}")
    print(f"errors: {len(errors)}")
    for line in errors[:20]:
        print(f"  {line}")
    print(f"RSS after warm-up (take {WARM_UP}): {warm:.0f} MB; at the end: {rss[-1][1]:.0f} MB; "
          f"growth {growth:+.1f} MB (limit {RSS_GROWTH_LIMIT_MB:.0f})")
    kiosk.shutdown()
    app.sendPostedEvents(None, 52)  # QEvent.DeferredDelete: the window goes before the interpreter
    return 1 if errors or growth > RSS_GROWTH_LIMIT_MB else 0


if __name__ == "__main__":
    sys.exit(main())
