"""Screenshots of the real kiosk under Xvfb: word card, recording, result → assets/screenshots/.

    .venv/bin/python deploy/screenshots.py [--out assets/screenshots] [--word 사과]

Starts its own Xvfb (800x480, the official 7" touchscreen), runs the kiosk full screen in
this process with ALSA's file plugin as the microphone (tests/fakemic.py) serving espeak-ng
speech, drives one practice round through the real buttons and captures the X screen with
ImageMagick's `import -window root` (Qt's own grab where ImageMagick is missing) — what a
person would see, fonts and all.

The fake microphone runs faster than real time, so the script replays the recorder's own
level readings at the pace a real microphone delivers them (one per 20 ms) while the take is
"running"; that is the only difference from a real round. Without an installed model
(assets/models/malsori.pt or MALSORI_MODEL) an untrained model is made, so the score shown is
then only a picture of the layout.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]
SCREEN = (800, 480)


def start_xvfb() -> tuple[subprocess.Popen, str]:
    for number in range(99, 120):
        if Path(f"/tmp/.X{number}-lock").exists():
            continue
        proc = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24", "-nolisten", "tcp"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                return proc, f":{number}"
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.kill()
    raise SystemExit("could not start Xvfb (apt install xvfb)")


def capture(display: str, path: Path) -> None:
    if shutil.which("import") is None:  # no ImageMagick (a bare Pi, deploy/check-arm64.sh): Qt grabs the X screen
        from PyQt5.QtWidgets import QApplication

        if not QApplication.instance().primaryScreen().grabWindow(0).save(str(path)):
            raise SystemExit(f"could not save {path}")
    else:
        subprocess.run(["import", "-display", display, "-window", "root", str(path)], check=True)
        subprocess.run(["mogrify", "-strip", "-colors", "128", str(path)], check=False)  # small PNGs for git
    print(f"saved {path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "assets" / "screenshots")
    parser.add_argument("--word", default="사과", help="the word to practise (must be in the shipped Korean list)")
    parser.add_argument("--voice", default="ko+f2", help="espeak-ng voice of the 'learner' (the reference is plain ko)")
    parser.add_argument("--pitch", type=int, default=65, help="the learner's espeak-ng pitch (0-99)")
    args = parser.parse_args()
    if shutil.which("Xvfb") is None:
        raise SystemExit("Xvfb is missing: apt install xvfb (and imagemagick for smaller PNGs)")
    args.out.mkdir(parents=True, exist_ok=True)

    xvfb, display = start_xvfb()
    work = Path(tempfile.mkdtemp(prefix="malsori-shots-"))
    try:
        os.environ.update(DISPLAY=display, QT_QPA_PLATFORM="xcb", MALSORI_HOME=str(work / "home"))
        os.environ.pop("WAYLAND_DISPLAY", None)
        return run_round(args, work, display)
    finally:
        xvfb.terminate()
        xvfb.wait(5)
        shutil.rmtree(work, ignore_errors=True)


def run_round(args, work: Path, display: str) -> int:
    from app.devices import reinit_portaudio
    from app.kiosk.app import Kiosk, choose_hangul_font, ensure_app
    from app.kiosk.services import default_services
    from app.kiosk.settings import KioskSettings
    from core.paths import default_model_path
    from fakemic import make_fake_mic_home
    from speech import pad, speak

    if not default_model_path().is_file():
        os.environ["MALSORI_MODEL"] = str(make_untrained_model(work / "untrained.pt"))
        print("no installed model: using an untrained one (the score is only a layout example)")

    make_fake_mic_home(work / "mic", pad(speak(args.word, voice=args.voice, pitch=args.pitch), lead_s=0.5, trail_s=1.5), sr=16_000)
    os.environ["HOME"] = str(work / "mic")
    reinit_portaudio()

    from PyQt5.QtCore import QEvent, Qt

    app = ensure_app()
    print(f"font: {choose_hangul_font(app)}")
    settings = KioskSettings(word_list="ko_beginner", lang="ko", tts_engine="espeak")
    services = default_services(settings)
    paced = services.__class__(**{**services.__dict__, "make_recorder": paced_recorder(services.make_recorder)})
    kiosk = Kiosk(settings=settings, services=paced)
    try:
        return play_round(args, app, kiosk, display)
    finally:
        # As run_kiosk does: the window is deleted now, while Qt is whole. Left to Python's
        # exit, its deletion raced Qt's own teardown: under qemu (deploy/check-arm64.sh) every
        # run that had shown a word card then died with SIGSEGV (exit 139) after the round.
        kiosk.shutdown()
        app.sendPostedEvents(None, QEvent.DeferredDelete)


def play_round(args, app, kiosk, display: str) -> int:
    """The round through the real buttons, a screenshot at each step; 0 with a score."""
    from PyQt5.QtCore import Qt
    from PyQt5.QtTest import QTest

    from app.kiosk import controller as ctl

    window, c = kiosk.window, kiosk.controller
    window.setWindowFlags(window.windowFlags() | Qt.FramelessWindowHint)
    window.setGeometry(app.primaryScreen().geometry())  # Xvfb has no window manager to do it
    window.showFullScreen()
    c.load_model()

    def settle(pred, timeout_s=60.0, what="the kiosk"):
        deadline = time.monotonic() + timeout_s
        while not pred():
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out waiting for {what}")
            app.processEvents()
            time.sleep(0.01)
        for _ in range(5):  # let the repaint reach the X server
            app.processEvents()
            time.sleep(0.02)

    settle(lambda: c.model_state != ctl.MODEL_LOADING, what="the model")
    capture(display, args.out / "kiosk_start.png")

    c.practise(next(e for e in c.entries if e.text == args.word))
    settle(lambda: c.state == ctl.CARD, what="the word card")
    capture(display, args.out / "kiosk_card.png")

    QTest.mouseClick(window.speak_button, Qt.LeftButton)
    settle(lambda: c.state == ctl.RECORDING and window.level.value() > 30, what="the recording state")
    capture(display, args.out / "kiosk_recording.png")

    settle(lambda: c.state in (ctl.RESULT, ctl.CARD) and c.state != ctl.RECORDING, what="the result")
    if c.state != ctl.RESULT:
        print(f"no score: {window.message_label.text()}")
        return 1
    capture(display, args.out / "kiosk_result.png")
    print(f"score {c.last_result.score:.1f} ({c.last_result.band})")
    return 0


def paced_recorder(make_recorder):
    """The real recorder, with its level readings replayed at real-time pace (see module doc)."""
    from app.recorder import BLOCK_S

    def make(on_level):
        levels: list[float] = []
        recorder = make_recorder(levels.append)

        class Paced:
            def record(self):
                take = recorder.record()
                for level in levels:
                    on_level(level)
                    time.sleep(BLOCK_S)
                return take

            def stop(self):
                recorder.stop()

        return Paced()

    return make


def make_untrained_model(path: Path) -> Path:
    import models
    import preprocessing

    pair = models.PairScorer(models.FrameEncoder(), models.Calibration(midpoint=0.3, scale=0.05))
    models.save_checkpoint(path, models.Checkpoint(pair, preprocessing.PreprocessConfig(),
                                                   {"note": "untrained, for screenshots"}))
    return path


if __name__ == "__main__":
    sys.exit(main())
