"""Build and run the kiosk: Qt application, font, settings, word list, controller, window."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
import traceback
from pathlib import Path

from PyQt5 import sip
from PyQt5.QtCore import QEvent, QObject, Qt, QTimer
from PyQt5.QtGui import QFont, QFontDatabase
from PyQt5.QtWidgets import QApplication

from core.errors import DeviceError, MalsoriError
from preprocessing.denoise import preload as preload_noise_filter

from . import controller as ctl
from .main_window import KioskWindow
from .melview import preload_plotting
from .services import KioskServices, default_services, find_list, load_entries
from .settings import KioskSettings, load_settings, save_settings

log = logging.getLogger(__name__)

# Fonts with Hangul, best first: Debian's fonts-nanum (deploy/setup.sh), then Noto CJK.
HANGUL_FONTS = ("NanumGothic", "NanumBarunGothic", "Noto Sans CJK KR", "Noto Sans KR", "UnDotum")
LAUNCH_T0_ENV = "MALSORI_LAUNCH_T0"  # time.time() at launch, set by bench/kiosk_startup.py
LOG_MAX_BYTES = 1_000_000  # malsori.log rolls over to malsori.log.1 past this
HEADLESS_PLATFORMS = ("offscreen", "minimal", "eglfs", "linuxfb", "vnc")  # need no display server
# The operator's "Exit kiosk": the unit lists it in RestartPreventExitStatus=, so it stays down,
# while a crash or a plain `kill` (exit 0 after SIGTERM) is restarted (Restart=always).
OPERATOR_EXIT_CODE = 99


class NoDisplayError(DeviceError):
    """No screen to show the kiosk on (started outside a desktop session): exit code 11, like a
    missing microphone (1 is reserved for a batch with failed rows)."""


def check_display() -> None:
    """Fail with a clear message instead of Qt's abort when there is no display server."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if any(platform.startswith(p) for p in HEADLESS_PLATFORMS):
        return
    if not (os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY")):
        raise NoDisplayError("no display: start the kiosk from the desktop session (deploy/install-kiosk.sh "
                             "sets that up), or set DISPLAY / WAYLAND_DISPLAY")


def ensure_app(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance()
    if app is None:
        QApplication.setAttribute(Qt.AA_EnableHighDpiScaling, True)
        app = QApplication(argv or ["malsori"])
    return app


def choose_hangul_font(app: QApplication) -> str | None:
    """Load fonts shipped in assets/fonts, then make the first family with Hangul the app font."""
    from core.paths import assets_dir

    fonts_dir = assets_dir() / "fonts"
    if fonts_dir.is_dir():
        for path in sorted(fonts_dir.glob("*.[ot]tf")):
            QFontDatabase.addApplicationFont(str(path))
    families = set(QFontDatabase().families())
    for family in HANGUL_FONTS:
        if family in families:
            app.setFont(QFont(family, 12))
            return family
    log.warning("no Hangul font found (install fonts-nanum): Korean text may show as boxes")
    return None


def load_word_list(settings: KioskSettings) -> tuple[Path | None, list, str]:
    """(list path, entries, problem text) — a missing list is a message on screen, not a crash."""
    try:
        path, entries = load_entries(find_list(settings.word_list), lang=settings.lang)
    except MalsoriError as exc:
        return None, [], str(exc)
    return path, entries, ""


def list_names() -> list[str]:
    from core.wordlists import available_lists

    return [p.stem for p in available_lists()]


class Kiosk:
    """The running kiosk's parts. `services`, `runner` and `clock` (the idle timer's) are
    injectable for tests."""

    def __init__(self, *, settings: KioskSettings | None = None, services: KioskServices | None = None,
                 runner=None, settings_path: Path | None = None, clock=time.monotonic):
        from app.workers import TaskRunner

        self.settings_path = settings_path
        self.settings = settings or load_settings(settings_path)
        self.services = services or default_services(self.settings)
        self.runner = runner or TaskRunner()
        self.controller = ctl.KioskController(self.services, self.runner, self.settings)
        path, entries, problem = load_word_list(self.settings)
        self.controller.set_entries(entries)
        self.window = KioskWindow(self.controller, self.runner, list_names=list_names(),
                                  on_settings_saved=self.apply_settings, clock=clock)
        if isinstance(self.runner, QObject):
            self.runner.setParent(self.window)  # late results for a closed window are dropped
        # The controller's timers (level meter, microphone watch) die with the window: none can
        # fire into a runner that was deleted with it.
        self.controller.setParent(self.window)
        self.window.serving_list = path.stem if path else ""
        if problem:
            self.window.start_message.setText(problem)

    def apply_settings(self, settings: KioskSettings) -> None:
        """Operator pressed Save: persist atomically, reload the list, keep going."""
        try:
            save_settings(settings, self.settings_path)
        except OSError as exc:
            self.window.start_message.setText(f"Settings could not be saved: {exc}")
        self.settings = settings
        self.controller.apply_settings(settings)
        path, entries, problem = load_word_list(settings)
        self.window.serving_list = path.stem if path else ""
        self.controller.set_entries(entries)
        self.controller.reset_session()
        self.window.start_message.setText(problem)

    def shutdown(self) -> None:
        """Close the kiosk for good: stop the take and the timers, let the workers finish, and
        delete the widgets on this thread's event loop (deleteLater; run_kiosk delivers that
        at once). Left to Python's garbage collector, a window
        (its widgets hold reference cycles through their slots) is deleted whenever a
        collection happens to run — sometimes inside a paint event of another window: the
        one-off segfault (exit 139) of the kiosk tests."""
        if sip.isdeleted(self.window):
            return
        self.controller.go_home()
        self.controller.stop_watching()
        self.runner.wait_idle(5000)
        self.window.allow_close = True
        self.window.close()
        self.window.deleteLater()

    def recover(self, text: str = "Something went wrong — back to the start.") -> None:
        """After an unexpected error: home screen, a short note, nothing else lost."""
        self.window.go_home()
        self.window.start_message.setText(text)


class FirstFrame(QObject):
    """Calls `callback` once, right after the window's first paint has been handled."""

    def __init__(self, window, callback):
        super().__init__(window)
        self.callback = callback
        self.done = False
        window.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if not self.done and event.type() == QEvent.Paint:
            self.done = True
            obj.removeEventFilter(self)
            QTimer.singleShot(0, self.callback)  # after the paint, when input is being served
        return False


def append_capped_log(path: Path, text: str, *, max_bytes: int = LOG_MAX_BYTES) -> None:
    """Append `text` to the log file, rolling it over to `<name>.1` past `max_bytes` (one backup),
    so a kiosk that errors for months never fills the card. Logging must not fail the kiosk."""
    from logging.handlers import RotatingFileHandler

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(path, maxBytes=max_bytes, backupCount=1, encoding="utf-8")
    except OSError:
        return
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.terminator = ""
    try:
        handler.emit(logging.LogRecord("malsori.kiosk", logging.ERROR, __file__, 0, text, None, None))
    finally:
        handler.close()


def install_excepthook(kiosk: Kiosk):
    """Unhandled errors in slots: log the traceback, return to the start screen, keep running."""
    from core.paths import log_path

    previous = sys.excepthook

    def hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.instance().quit()
            return
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        log.error("unhandled error in the kiosk:\n%s", text)
        append_capped_log(log_path(), f"{time.strftime('%Y-%m-%d %H:%M:%S')} kiosk: {text}\n")
        QTimer.singleShot(0, kiosk.recover)

    sys.excepthook = hook
    return previous


def run_kiosk(*, windowed: bool = False, exit_after_first_frame: bool = False, exit_when_ready: bool = False) -> int:
    """The `malsori kiosk` main loop. Returns the Qt exit code.

    exit_after_first_frame / exit_when_ready: quit after the first frame / once the model has
    loaded (bench/kiosk_startup.py; with MALSORI_LAUNCH_T0 set, the times are printed).
    """
    check_display()
    app = ensure_app(sys.argv[:1])
    app.setApplicationName("malsori")
    choose_hangul_font(app)
    kiosk = Kiosk()
    previous_hook = install_excepthook(kiosk)
    window = kiosk.window
    if windowed:
        window.resize(800, 480)  # the official 7" touchscreen
        window.show()
    else:
        window.setWindowFlags(window.windowFlags() | Qt.FramelessWindowHint | Qt.WindowStaysOnTopHint)
        window.setCursor(Qt.BlankCursor)  # a finger needs no pointer
        window.setGeometry(app.primaryScreen().geometry())  # a session without a window manager
        window.showFullScreen()
    t0 = os.environ.get(LAUNCH_T0_ENV)

    def report(what: str) -> None:
        if t0:
            print(f"{what}={time.time() - float(t0):.3f}", flush=True)

    def quit_now() -> None:
        window.exit_kiosk()
        app.quit()

    preloading = []

    def model_settled(state: str, _text: str) -> None:
        if state != ctl.MODEL_LOADING:
            report(f"model_{state}_s")
            if exit_when_ready:
                quit_now()
            elif not preloading:  # what the first result needs, once the model is in (not competing with it)
                preloading.append(True)
                kiosk.runner.run_task(preload_plotting, None, lambda exc: log.warning("matplotlib preload: %s", exc))
                kiosk.runner.run_task(preload_noise_filter, None,
                                      lambda exc: log.warning("noise filter preload: %s", exc))

    kiosk.controller.model_status_changed.connect(model_settled)

    def first_frame() -> None:
        report("first_frame_s")
        if exit_after_first_frame:
            quit_now()
            return
        kiosk.controller.load_model()  # the weights: after the learner sees the screen
        kiosk.controller.watch_microphone()

    FirstFrame(window, first_frame)
    # Ctrl+C in a terminal and `systemctl stop` end the kiosk cleanly (a take in progress is
    # stopped). Python only runs signal handlers between bytecodes, so wake it up regularly.
    previous_handlers = {signum: signal.signal(signum, lambda *_: quit_now())
                         for signum in (signal.SIGINT, signal.SIGTERM)}
    wake = QTimer(window)
    wake.timeout.connect(lambda: None)
    wake.start(250)
    try:
        code = app.exec_()
    finally:
        kiosk.shutdown()
        QApplication.sendPostedEvents(None, QEvent.DeferredDelete)  # the window goes now, not at exit
        sys.excepthook = previous_hook
        for signum, handler in previous_handlers.items():
            signal.signal(signum, handler)
    return code or (OPERATOR_EXIT_CODE if window.operator_exit else 0)
