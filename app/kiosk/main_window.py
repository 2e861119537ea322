"""The kiosk window: lays out the pages and wires buttons to the controller. No logic of its own.

Pages (one QStackedWidget): start (pick a category) · practice (word card, Listen, Speak with
a live level meter) · result (big score, verdict, mel images) · PIN pad · operator settings.
A history strip with each word's best score sits under the practice and result pages.
"""

from __future__ import annotations

import time
from typing import Callable

from PyQt5.QtCore import QEvent, QObject, Qt, QTimer, pyqtSignal
from PyQt5.QtWidgets import (
    QApplication,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QScroller,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from . import controller as ctl
from .operator import OperatorPanel, PinPad

# One line: two lines at this size pushed the buttons below a 480 px screen.
MIC_BANNER = "No microphone — Speak is off. Please ask a helper."
LONG_PRESS_MS = 3000  # hold the title this long to reach the operator code
STOP_GUARD_S = 0.6  # a Stop this soon after Speak is a double tap's second press: ignored
BAND_COLOURS = {"green": "#34c759", "amber": "#ff9f0a", "red": "#ff453a"}

STYLE = """
QWidget { background: #1c1c1e; color: #f2f2f7; font-size: 20px; }
QPushButton { background: #0a84ff; color: white; border: none; border-radius: 14px;
              padding: 6px 16px; min-height: 50px; font-size: 24px; font-weight: bold; }
QPushButton:pressed { background: #0060df; }
QPushButton:disabled { background: #3a3a3c; color: #8e8e93; }
QPushButton#secondary { background: #3a3a3c; }
QPushButton#danger { background: #ff453a; }
QPushButton#speak { background: #ff375f; }
QPushButton#speak:disabled { background: #3a3a3c; color: #8e8e93; }
QPushButton#home { background: #3a3a3c; min-height: 36px; font-size: 20px; padding: 4px 12px; }
QPushButton#category { background: #2c2c2e; min-height: 60px; font-size: 22px; }
QPushButton#pinKey { background: #2c2c2e; min-width: 110px; min-height: 46px; font-size: 28px; padding: 2px; }
QLabel#title { font-size: 26px; font-weight: bold; }
QLabel#hangul { font-size: 88px; font-weight: bold; }
QLabel#roman { font-size: 30px; color: #d1d1d6; }
QLabel#gloss { font-size: 24px; color: #aeaeb2; }
QLabel#score { font-size: 84px; font-weight: bold; }
QLabel#verdict { font-size: 26px; }
QLabel#message { font-size: 22px; color: #ffd60a; }
QLabel#micBanner { font-size: 30px; font-weight: bold; color: #1c1c1e; background: #ffd60a;
                   border-radius: 12px; padding: 10px; }
QLabel#status { font-size: 16px; color: #8e8e93; }
QLabel#pinTitle { font-size: 26px; font-weight: bold; }
QLabel#pinDisplay { font-size: 36px; min-height: 44px; }
QLabel#chip { background: #2c2c2e; border-radius: 10px; padding: 4px 10px; font-size: 18px; }
QProgressBar { border: none; background: #2c2c2e; border-radius: 8px; min-height: 22px; max-height: 22px; }
QProgressBar::chunk { background: #34c759; border-radius: 8px; }
QScrollBar:vertical { width: 16px; background: #2c2c2e; border-radius: 8px; }
QScrollBar::handle:vertical { background: #636366; border-radius: 8px; min-height: 48px; }
QScrollBar::add-line:vertical, QScrollBar::sub-line:vertical { height: 0px; }
QComboBox { min-height: 40px; font-size: 20px; background: #2c2c2e; }
"""


class LongPress(QObject):
    """Emits `fired` when the watched widget is held for `ms` milliseconds."""

    fired = pyqtSignal()

    def __init__(self, widget: QWidget, ms: int = LONG_PRESS_MS):
        super().__init__(widget)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(ms)
        self.timer.timeout.connect(self.fired)
        widget.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if event.type() in (QEvent.MouseButtonPress, QEvent.TouchBegin):
            self.timer.start()
        elif event.type() in (QEvent.MouseButtonRelease, QEvent.TouchEnd, QEvent.TouchCancel):
            self.timer.stop()
        return False


class IdleWatcher(QObject):
    """Emits `idle` once `timeout_s` have passed without a touch, click or key anywhere in the app.

    Time is read from `clock` (monotonic seconds) and checked every `poll_ms`; a test hands in
    a clock it moves itself and calls `check()`, so no test waits for real time to pass.
    """

    idle = pyqtSignal()
    INPUT_EVENTS = {QEvent.MouseButtonPress, QEvent.TouchBegin, QEvent.KeyPress, QEvent.Wheel}

    def __init__(self, timeout_s: float, parent: QObject | None = None, *,
                 clock: Callable[[], float] = time.monotonic, poll_ms: int = 1000):
        super().__init__(parent)
        self.clock = clock
        self.timer = QTimer(self)
        self.timer.setInterval(poll_ms)
        self.timer.timeout.connect(self.check)
        self.set_timeout(timeout_s)
        self.timer.start()
        QApplication.instance().installEventFilter(self)

    def set_timeout(self, timeout_s: float) -> None:
        self.timeout_s = float(timeout_s)
        self.touch()

    def touch(self) -> None:
        """Someone is here: the idle time starts again."""
        self.last_input_s = self.clock()
        self.fired = False

    def check(self) -> None:
        """Emit `idle` (once per absence) when the timeout has passed since the last input."""
        if not self.fired and self.clock() - self.last_input_s >= self.timeout_s:
            self.fired = True
            self.idle.emit()

    def eventFilter(self, obj, event) -> bool:
        if event.type() in self.INPUT_EVENTS:
            self.touch()
        return False


class HistoryStrip(QWidget):
    """This session's words, each with its best score (— when no score was made)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(8, 0, 8, 4)
        self.row.addStretch(1)
        self.chips: list[QLabel] = []
        # Newest first; chips that do not fit are clipped on the right instead of widening the window.
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        self.setMinimumWidth(0)

    def set_history(self, items: list, strictness: str = "normal") -> None:
        for chip in self.chips:
            chip.deleteLater()
        self.chips = []
        for entry, best in reversed(items[-12:]):
            text = f"{entry.text}  {best:.0f}" if best is not None else f"{entry.text}  —"
            chip = QLabel(text)
            chip.setObjectName("chip")
            if best is not None:
                band, _ = ctl.verdict(best, strictness)
                chip.setStyleSheet(f"color: {BAND_COLOURS[band]};")
            self.row.insertWidget(self.row.count() - 1, chip)
            self.chips.append(chip)
        self.setVisible(bool(self.chips))


class KioskWindow(QMainWindow):
    """Lays out widgets and forwards presses to `controller`; `home_requested` etc. go out."""

    def __init__(self, controller: ctl.KioskController, runner, *, list_names: list[str],
                 on_settings_saved=None, parent: QWidget | None = None,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__(parent)
        self.controller = controller
        self.runner = runner
        self.list_names = list_names
        self.serving_list = ""  # the stem of the list learners practise now (set by the Kiosk)
        self.on_settings_saved = on_settings_saved
        self.allow_close = False
        self.operator_exit = False  # set by the operator's "Exit kiosk" (see app.OPERATOR_EXIT_CODE)
        self.clock = clock
        self.speak_pressed_s = float("-inf")  # when Speak was last pressed (clock seconds)
        self.setWindowTitle("malsori")
        self.setStyleSheet(STYLE)

        root = QWidget()
        layout = QVBoxLayout(root)
        layout.setContentsMargins(12, 8, 12, 4)
        layout.setSpacing(6)
        layout.addLayout(self._top_bar())
        self.mic_banner = QLabel("")  # no microphone: large, on every learner screen
        self.mic_banner.setObjectName("micBanner")
        self.mic_banner.setAlignment(Qt.AlignCenter)
        self.mic_banner.setWordWrap(True)
        self.mic_banner.setVisible(False)
        layout.addWidget(self.mic_banner)
        self.pages = QStackedWidget()
        self.start_page = self._start_page()
        self.practice_page = self._practice_page()
        self.result_page = self._result_page()
        self.pin_pad = PinPad()
        self.operator_panel = OperatorPanel(runner, controller.services)
        for page in (self.start_page, self.practice_page, self.result_page, self.pin_pad, self.operator_panel):
            self.pages.addWidget(page)
        layout.addWidget(self.pages, 1)
        self.history = HistoryStrip()
        self.history.setVisible(False)
        layout.addWidget(self.history)
        self.pages.currentChanged.connect(self._page_changed)
        self._page_changed()
        self.setCentralWidget(root)

        self.idle = IdleWatcher(controller.settings.idle_timeout_s, self, clock=clock)
        self.idle.idle.connect(self.visitor_left)
        LongPress(self.title).fired.connect(self.ask_operator_code)
        self.pin_pad.accepted.connect(self._open_operator)
        self.pin_pad.cancelled.connect(self._back_from_operator)
        self.operator_panel.closed.connect(self._leave_operator_screen)
        self.operator_panel.saved.connect(self._settings_saved)
        self.operator_panel.exit_requested.connect(self.operator_exit_kiosk)

        c = controller
        c.state_changed.connect(self._on_state)
        c.entry_changed.connect(self._on_entry)
        c.level_changed.connect(lambda v: self.level.setValue(int(round(100 * max(0.0, min(1.0, v))))))
        c.result_ready.connect(self._on_result)
        c.message.connect(self._on_message)
        c.history_changed.connect(lambda items: self.history.set_history(items, c.settings.strictness))
        c.model_status_changed.connect(self._on_model_status)
        c.take_available.connect(lambda ok: self.play_mine_button.setEnabled(ok))
        c.mic_changed.connect(lambda _problem: self._show_mic_state())
        self.rebuild_categories()
        self._on_model_status(c.model_state, c.model_message)
        self._on_state(c.state)

    # --- layout ---------------------------------------------------------------------------

    def _top_bar(self) -> QHBoxLayout:
        bar = QHBoxLayout()
        self.home_button = QPushButton("⌂ Start")
        self.home_button.setObjectName("home")
        self.home_button.clicked.connect(self.go_home)
        self.title = QLabel("말소리 malsori")
        self.title.setObjectName("title")
        self.progress = QLabel("")
        self.progress.setObjectName("status")
        self.model_status = QLabel("")
        self.model_status.setObjectName("status")
        self.model_status.setAlignment(Qt.AlignRight | Qt.AlignVCenter)
        bar.addWidget(self.home_button)
        bar.addWidget(self.title)
        bar.addWidget(self.progress)
        bar.addStretch(1)
        bar.addWidget(self.model_status)
        return bar

    def _start_page(self) -> QWidget:
        page = QWidget()
        outer = QVBoxLayout(page)
        prompt = QLabel("Choose what to practise")
        prompt.setObjectName("verdict")
        prompt.setAlignment(Qt.AlignCenter)
        outer.addWidget(prompt)
        self.start_message = QLabel("")
        self.start_message.setObjectName("message")
        self.start_message.setWordWrap(True)
        self.start_message.setAlignment(Qt.AlignCenter)
        outer.addWidget(self.start_message)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.NoFrame)
        QScroller.grabGesture(scroll.viewport(), QScroller.LeftMouseButtonGesture)  # flick with a finger
        holder = QWidget()
        self.category_grid = QGridLayout(holder)
        self.category_grid.setSpacing(10)
        scroll.setWidget(holder)
        outer.addWidget(scroll, 1)
        self.category_buttons: dict[str, QPushButton] = {}
        return page

    def rebuild_categories(self) -> None:
        while self.category_grid.count():
            item = self.category_grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        self.category_buttons = {}
        names = [None, *self.controller.categories()] if self.controller.entries else []
        for i, category in enumerate(names):
            count = sum(1 for e in self.controller.entries if category is None or (e.category or "words") == category)
            label = f"All words ({count})" if category is None else f"{category} ({count})"
            button = QPushButton(label)
            button.setObjectName("category")
            button.clicked.connect(lambda _=False, c=category: self.controller.choose_category(c))
            self.category_grid.addWidget(button, i // 3, i % 3)
            self.category_buttons[category or "*"] = button

    def _practice_page(self) -> QWidget:
        page = QWidget()
        outer = QVBoxLayout(page)
        outer.setSpacing(4)
        self.hangul = QLabel("")
        self.hangul.setObjectName("hangul")
        self.roman = QLabel("")
        self.roman.setObjectName("roman")
        self.gloss = QLabel("")
        self.gloss.setObjectName("gloss")
        for label in (self.hangul, self.roman, self.gloss):
            label.setAlignment(Qt.AlignCenter)
            label.setWordWrap(True)
        outer.addStretch(1)
        outer.addWidget(self.hangul)
        outer.addWidget(self.roman)
        outer.addWidget(self.gloss)
        outer.addStretch(1)
        self.level = QProgressBar()
        self.level.setRange(0, 100)
        self.level.setTextVisible(False)
        outer.addWidget(self.level)
        self.message_label = QLabel("")
        self.message_label.setObjectName("message")
        self.message_label.setAlignment(Qt.AlignCenter)
        self.message_label.setWordWrap(True)
        outer.addWidget(self.message_label)
        row = QHBoxLayout()
        self.listen_button = QPushButton("Listen")
        self.speak_button = QPushButton("Speak")
        self.speak_button.setObjectName("speak")
        self.play_mine_button = QPushButton("Play mine")
        self.play_mine_button.setObjectName("secondary")
        self.play_mine_button.setEnabled(False)
        self.next_button = QPushButton("Next ▶")
        self.next_button.setObjectName("secondary")
        for b in (self.listen_button, self.speak_button, self.play_mine_button, self.next_button):
            row.addWidget(b)
        outer.addLayout(row)
        self.listen_button.clicked.connect(self.controller.listen)
        self.speak_button.clicked.connect(self._speak_or_stop)
        self.play_mine_button.clicked.connect(self.controller.play_mine)
        self.next_button.clicked.connect(self.controller.next_word)
        return page

    def _result_page(self) -> QWidget:
        page = QWidget()
        outer = QVBoxLayout(page)
        top = QHBoxLayout()
        self.score_label = QLabel("")
        self.score_label.setObjectName("score")
        self.score_label.setMinimumWidth(180)
        self.score_label.setAlignment(Qt.AlignCenter)
        words = QVBoxLayout()
        self.result_word = QLabel("")
        self.result_word.setObjectName("verdict")
        self.result_word.setWordWrap(True)  # a sentence and its romanisation widened the window past 800 px
        self.verdict_label = QLabel("")
        self.verdict_label.setObjectName("verdict")
        self.verdict_label.setWordWrap(True)
        self.warning_label = QLabel("")
        self.warning_label.setObjectName("status")
        self.warning_label.setWordWrap(True)
        words.addWidget(self.result_word)
        words.addWidget(self.verdict_label)
        words.addWidget(self.warning_label)
        top.addWidget(self.score_label)
        top.addLayout(words, 1)
        outer.addLayout(top)
        from .melview import MelComparisonView

        self.mel_view = MelComparisonView()
        outer.addWidget(self.mel_view, 1)
        row = QHBoxLayout()
        self.again_button = QPushButton("↺ Again")
        self.result_listen_button = QPushButton("Listen")
        self.result_listen_button.setObjectName("secondary")
        self.result_play_mine_button = QPushButton("Play mine")
        self.result_play_mine_button.setObjectName("secondary")
        self.result_next_button = QPushButton("Next ▶")
        for b in (self.again_button, self.result_listen_button, self.result_play_mine_button, self.result_next_button):
            row.addWidget(b)
        outer.addLayout(row)
        self.again_button.clicked.connect(self.controller.again)
        self.result_listen_button.clicked.connect(self.controller.listen)
        self.result_play_mine_button.clicked.connect(self.controller.play_mine)
        self.result_next_button.clicked.connect(self.controller.next_word)
        return page

    # --- controller → widgets -------------------------------------------------------------

    def _on_state(self, state: str) -> None:
        if self.pages.currentWidget() in (self.pin_pad, self.operator_panel):
            return  # the operator is busy; the state shows when they leave
        page = {ctl.HOME: self.start_page, ctl.RESULT: self.result_page}.get(state, self.practice_page)
        if state == ctl.LISTENING and self.pages.currentWidget() is self.result_page:
            page = self.result_page  # Listen / Play mine on the result screen keep the picture up
        self.pages.setCurrentWidget(page)
        recording = state == ctl.RECORDING
        busy = state in (ctl.LISTENING, ctl.SCORING)
        self.speak_button.setText("■ Stop" if recording else "Scoring…" if state == ctl.SCORING else "Speak")
        self.speak_button.setEnabled(not busy)
        self._show_mic_state()
        self.listen_button.setEnabled(state == ctl.CARD)
        self.next_button.setEnabled(state == ctl.CARD)
        self.play_mine_button.setEnabled(state == ctl.CARD and self.controller.take is not None)
        self.level.setVisible(recording)
        for b in (self.again_button, self.result_listen_button, self.result_play_mine_button, self.result_next_button):
            b.setEnabled(state == ctl.RESULT)
        self.home_button.setVisible(state != ctl.HOME)
        self.history.setVisible(state != ctl.HOME and bool(self.history.chips))
        if state == ctl.RECORDING:
            self.message_label.setText("Listening… say the word now.")
        elif state == ctl.SCORING:
            self.message_label.setText("Scoring…")
        if state == ctl.HOME:
            self.progress.setText("")

    def _show_mic_state(self) -> None:
        """No microphone: Speak off and the reason in large text; both undone when it is back."""
        c = self.controller
        no_mic = bool(c.mic_problem) and c.state != ctl.RECORDING
        if no_mic:
            self.speak_button.setEnabled(False)
        elif c.state not in (ctl.LISTENING, ctl.SCORING):
            self.speak_button.setEnabled(True)
        operator = self.pages.currentWidget() in (self.pin_pad, self.operator_panel)
        self.mic_banner.setText(MIC_BANNER if no_mic else "")
        self.mic_banner.setVisible(no_mic and not operator)  # the operator screen says it in full
        self.mic_banner.setToolTip(c.mic_problem)
        self.message_label.setVisible(not no_mic)  # a take's advice ("Press Speak…") is moot while Speak is off

    def _page_changed(self, _index: int = 0) -> None:
        """Only the shown page sets the window's minimum height: the tallest (operator) page
        plus the no-microphone banner would not fit a 480 px screen, and full screen cuts the
        bottom row of buttons off."""
        current = self.pages.currentWidget()
        for i in range(self.pages.count()):
            policy = QSizePolicy.Preferred if self.pages.widget(i) is current else QSizePolicy.Ignored
            self.pages.widget(i).setSizePolicy(policy, policy)
        operator = current in (self.pin_pad, self.operator_panel)
        if operator:  # the visitor's strip squeezed the operator panel's status line off screen
            self.history.setVisible(False)
        self.progress.setVisible(not operator)  # "food · 1 / 32" is the visitor's, kept for Cancel
        self._show_mic_state()

    def _on_entry(self, entry, index: int, count: int) -> None:
        self.hangul.setText(entry.text)
        self.roman.setText(entry.romanization)
        self.gloss.setText(entry.gloss)
        # an English card has no romanisation, and its gloss may be the word itself: no empty line, no echo
        self.roman.setVisible(bool(entry.romanization))
        self.gloss.setVisible(bool(entry.gloss) and entry.gloss.strip().casefold() != entry.text.strip().casefold())
        size = 88 if len(entry.text) <= 6 else 56 if len(entry.text) <= 14 else 36
        self.hangul.setStyleSheet(f"font-size: {size}px;")
        self.progress.setText(f"{entry.category or 'words'} · {index + 1} / {count}")

    def _on_result(self, rr: ctl.RoundResult) -> None:
        self.score_label.setText(f"{rr.score:.0f}")
        self.score_label.setStyleSheet(f"color: {BAND_COLOURS[rr.band]};")
        self.result_word.setText("  ·  ".join(part for part in (rr.entry.text, rr.entry.romanization) if part))
        self.verdict_label.setText(rr.verdict)
        self.warning_label.setText(" · ".join(rr.result.warnings))
        voice = "espeak-ng" if rr.reference_engine == "espeak" else "Google voice"
        self.mel_view.show_result(rr.result, highlight=rr.band != "green", reference=f"Reference ({voice})")

    def _on_message(self, text: str) -> None:
        self.message_label.setText(text)
        self.start_message.setText(text if self.controller.state == ctl.HOME else "")

    def _on_model_status(self, state: str, text: str) -> None:
        short = {ctl.MODEL_LOADING: "loading model…", ctl.MODEL_READY: "",
                 ctl.MODEL_MISSING: "no trained model installed"}[state]
        self.model_status.setText(short)
        self.model_status.setToolTip(text)
        if state == ctl.MODEL_MISSING:
            self.start_message.setText(text)

    def _speak_or_stop(self) -> None:
        if self.controller.state == ctl.RECORDING:
            if self.clock() - self.speak_pressed_s >= STOP_GUARD_S:
                self.controller.stop_recording()
        else:
            self.speak_pressed_s = self.clock()
            self.controller.speak()

    # --- home, operator, exit -------------------------------------------------------------

    def go_home(self) -> None:
        """Back to the start screen (idle timeout, Start button, after an internal error)."""
        was_operator = self.pages.currentWidget() in (self.pin_pad, self.operator_panel)
        if self.controller.state == ctl.HOME and not was_operator and not self.history.chips:
            return
        if self.controller.state == ctl.HOME or was_operator:
            self.controller.reset_session()  # nobody is practising: the next visitor starts fresh
        self.pages.setCurrentWidget(self.start_page)
        self.controller.go_home()

    def visitor_left(self) -> None:
        """Idle timeout: start screen, and the next visitor starts with an empty history."""
        self.go_home()
        self.controller.reset_session()

    def ask_operator_code(self) -> None:
        self.pin_pad.start(self.controller.settings.operator_pin)
        self.pages.setCurrentWidget(self.pin_pad)
        self.pin_pad.setFocus()

    def _open_operator(self) -> None:
        self.controller.go_home()
        self.operator_panel.open(self.controller.settings, self.list_names, serving=self.serving_list)
        if self.controller.mic_problem:  # what the banner says plainly, in full
            self.operator_panel.status.setText(f"Microphone — {self.controller.mic_problem}")
        elif self.controller.last_problem:  # the detail the learner was spared
            self.operator_panel.status.setText(f"Last problem — {self.controller.last_problem}")
        self.pages.setCurrentWidget(self.operator_panel)

    def _back_from_operator(self) -> None:
        self.pages.setCurrentWidget(self.start_page)
        self._on_state(self.controller.state)

    def _leave_operator_screen(self) -> None:
        self.controller.reset_session()  # the operator came and went: the next person starts fresh
        self._back_from_operator()

    def _settings_saved(self, settings) -> None:
        if self.on_settings_saved is not None:
            self.on_settings_saved(settings)
        self.idle.set_timeout(settings.idle_timeout_s)
        self.rebuild_categories()
        self._leave_operator_screen()

    def exit_kiosk(self) -> None:
        self.allow_close = True
        self.close()

    def operator_exit_kiosk(self) -> None:
        """The operator's "Exit kiosk": the process ends with app.OPERATOR_EXIT_CODE (not restarted)."""
        self.operator_exit = True
        self.exit_kiosk()

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key_Escape:
            if self.pages.currentWidget() is self.operator_panel:
                self._leave_operator_screen()  # already past the code: Escape is Back, not the code again
            else:
                self.ask_operator_code()
            return
        super().keyPressEvent(event)

    def closeEvent(self, event) -> None:
        if self.allow_close:
            self.controller.go_home()  # stops a running take
            event.accept()
        else:
            event.ignore()  # Alt+F4, a window manager close: only the operator may leave
            self.ask_operator_code()
