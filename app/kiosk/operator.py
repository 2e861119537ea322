"""Operator-only screens: a PIN pad (touch, no keyboard needed) and the settings panel.

Both are pages inside the kiosk window rather than dialogs: a full-screen kiosk under a
Wayland compositor may stack a separate dialog behind itself, and a page cannot be dragged
away or closed by a visitor.
"""

from __future__ import annotations

import logging

from PyQt5.QtCore import Qt, QTimer, pyqtSignal
from PyQt5.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .settings import LANGUAGES, STRICTNESS_LEVELS, KioskSettings

log = logging.getLogger(__name__)

MAX_WRONG_CODES = 5  # wrong codes in a row before the pad locks
LOCKOUT_MS = 30_000  # how long it stays locked: guessing 4 digits takes days, not minutes


class PinPad(QWidget):
    """Big digit keys; emits `accepted` when OK is pressed on the digits of the operator PIN."""

    accepted = pyqtSignal()
    cancelled = pyqtSignal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.pin = ""
        self.typed = ""
        self.wrong = 0  # wrong codes in a row (kept across Cancel, so reopening does not reset it)
        self.lockout_ms = LOCKOUT_MS
        self._unlock_timer = QTimer(self)
        self._unlock_timer.setSingleShot(True)
        self._unlock_timer.timeout.connect(self._unlock)
        self.setObjectName("pinPad")
        outer = QVBoxLayout(self)
        outer.setAlignment(Qt.AlignCenter)
        outer.setSpacing(6)
        head = QHBoxLayout()
        title = QLabel("Operator code")
        title.setObjectName("pinTitle")
        self.display = QLabel("")
        self.display.setObjectName("pinDisplay")
        self.display.setMinimumWidth(160)
        self.display.setAlignment(Qt.AlignCenter)
        cancel = QPushButton("Cancel")
        cancel.setObjectName("secondary")
        cancel.clicked.connect(self._cancel)
        self.cancel_button = cancel
        head.addWidget(title)
        head.addWidget(self.display, 1)
        head.addWidget(cancel)
        outer.addLayout(head)
        self.hint = QLabel("")
        self.hint.setObjectName("message")
        self.hint.setAlignment(Qt.AlignCenter)
        outer.addWidget(self.hint)
        grid = QGridLayout()
        grid.setSpacing(6)
        self.keys: dict[str, QPushButton] = {}
        labels = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK"]
        for i, label in enumerate(labels):
            button = QPushButton(label)
            button.setObjectName("pinKey")
            button.setFocusPolicy(Qt.NoFocus)
            button.clicked.connect(lambda _=False, k=label: self.press(k))
            grid.addWidget(button, i // 3, i % 3)
            self.keys[label] = button
        outer.addLayout(grid)

    def start(self, pin: str) -> None:
        self.pin, self.typed = pin, ""
        if not self.locked:
            self.hint.setText("")
        self._update()

    @property
    def locked(self) -> bool:
        return self._unlock_timer.isActive()

    def press(self, key: str) -> None:
        if self.locked:
            return
        if key == "⌫":
            self.typed = self.typed[:-1]
        elif key == "OK":
            self._check()
            return
        elif key.isdigit() and len(self.typed) < 8:
            self.typed += key
        self._update()
        # No accepting on the last digit: the OK a person presses next would land on the
        # operator screen under their finger (it opened the Strictness drop-down).

    def keyPressEvent(self, event) -> None:  # a USB keyboard works too
        text = event.text()
        if text.isdigit():
            self.press(text)
        elif event.key() in (Qt.Key_Return, Qt.Key_Enter):
            self.press("OK")
        elif event.key() == Qt.Key_Backspace:
            self.press("⌫")
        elif event.key() == Qt.Key_Escape:
            self._cancel()

    def _check(self) -> None:
        if self.pin and self.typed == self.pin:
            self.typed = ""
            self.wrong = 0
            self._update()
            self.accepted.emit()
            return
        self.typed = ""
        self.wrong += 1
        if self.wrong >= MAX_WRONG_CODES:
            log.warning("operator code: %d wrong codes in a row; pad locked for %d s", self.wrong,
                        self.lockout_ms // 1000)
            self.hint.setText(f"Too many wrong codes — wait {max(self.lockout_ms // 1000, 1)} s")
            self._set_keys_enabled(False)
            self._unlock_timer.start(self.lockout_ms)
        else:
            self.hint.setText("Wrong code")
        self._update()

    def _unlock(self) -> None:
        self.wrong = 0
        self.hint.setText("")
        self._set_keys_enabled(True)

    def _set_keys_enabled(self, enabled: bool) -> None:
        for button in self.keys.values():
            button.setEnabled(enabled)

    def _cancel(self) -> None:
        self.typed = ""
        self._update()
        self.cancelled.emit()

    def _update(self) -> None:
        self.display.setText("●" * len(self.typed) or " ")


class OperatorPanel(QWidget):
    """Microphone, word list, language, strictness, PIN; gTTS reachability; exit."""

    saved = pyqtSignal(object)  # KioskSettings
    closed = pyqtSignal()
    exit_requested = pyqtSignal()

    def __init__(self, runner, services, parent: QWidget | None = None, *,
                 list_cards=None, use_card=None):
        super().__init__(parent)
        self.runner = runner
        self.services = services
        self.list_cards = list_cards or (lambda: (list_sound_cards(), current_mic_card()))
        self.use_card = use_card or use_sound_card
        self.settings = KioskSettings()
        self._devices: list = []
        outer = QVBoxLayout(self)
        outer.setSpacing(4)
        title = QLabel("Operator settings")
        title.setObjectName("pinTitle")
        outer.addWidget(title)
        form = QFormLayout()
        form.setVerticalSpacing(4)
        self.mic = QComboBox()
        self.mic_button = QPushButton("Use this microphone")
        self.mic_button.setObjectName("secondary")
        self.mic_button.clicked.connect(self._use_mic)
        mic_row = QHBoxLayout()
        mic_row.addWidget(self.mic, 1)
        mic_row.addWidget(self.mic_button)
        form.addRow("Microphone", mic_row)
        self.word_list = QComboBox()
        form.addRow("Word list", self.word_list)
        self.lang = QComboBox()
        self.lang.addItems(LANGUAGES)
        form.addRow("Language", self.lang)
        self.strictness = QComboBox()
        self.strictness.addItems(STRICTNESS_LEVELS)
        form.addRow("Strictness", self.strictness)
        self.gtts = QLabel("checking…")
        form.addRow("Google voice (gTTS)", self.gtts)
        self.status = QLabel("")
        self.status.setObjectName("message")
        self.status.setWordWrap(True)
        form.addRow("", self.status)
        outer.addLayout(form)
        buttons = QHBoxLayout()
        self.save_button = QPushButton("Save and back")
        self.save_button.clicked.connect(self._save)
        self.back_button = QPushButton("Back")
        self.back_button.setObjectName("secondary")
        self.back_button.clicked.connect(self.closed)
        self.exit_button = QPushButton("Exit kiosk")
        self.exit_button.setObjectName("danger")
        self.exit_button.clicked.connect(self.exit_requested)
        for b in (self.save_button, self.back_button, self.exit_button):
            buttons.addWidget(b)
        outer.addLayout(buttons)

    def open(self, settings: KioskSettings, list_names: list[str], *, serving: str = "") -> None:
        """Fill the form from `settings` and start the slow checks (gTTS, devices) in workers.

        serving: the list the kiosk actually serves now, shown in the box so that it — and Save —
        say what learners see: settings may name none (a fresh config), one that is gone, or one
        with no words in the chosen language (the kiosk then serves the first list that has some).
        """
        self.settings = settings
        self.word_list.clear()
        self.word_list.addItems(list_names)
        shown = serving if serving in list_names else settings.word_list
        if shown in list_names:
            self.word_list.setCurrentText(shown)
        self.lang.setCurrentText(settings.lang)
        self.strictness.setCurrentText(settings.strictness)
        passed_over = settings.word_list in list_names and serving and serving != settings.word_list
        self.status.setText(f"{settings.word_list} has no {settings.lang} words: learners get {serving}"
                            if passed_over else "")
        self.gtts.setText("checking…")
        self.runner.run_task(self.services.gtts_reachable, self._gtts_checked,
                             lambda exc: self.gtts.setText(f"check failed: {exc}"))
        self.mic.clear()
        self.mic.addItem("looking for microphones…")
        self.mic_button.setEnabled(False)
        self.runner.run_task(self.list_cards, self._devices_listed, self._devices_failed)

    def _gtts_checked(self, ok: bool) -> None:
        self.gtts.setText(gtts_status(ok, self.settings.tts_engine))

    def _devices_listed(self, found) -> None:
        cards, current = found
        self._devices = list(cards)
        self.mic.clear()
        for card in self._devices:
            self.mic.addItem(_device_label(card, current))
        ids = [card.id for card in self._devices]
        if current in ids:
            self.mic.setCurrentIndex(ids.index(current))
        self.mic_button.setEnabled(bool(self._devices))
        if not self._devices:
            self.mic.addItem("no microphone found")

    def _devices_failed(self, exc: BaseException) -> None:
        self.mic.clear()
        self.mic.addItem("microphones cannot be listed")
        self.status.setText(str(exc))

    def _use_mic(self) -> None:
        index = self.mic.currentIndex()
        if not 0 <= index < len(self._devices):
            return
        device = self._devices[index]
        self.status.setText("saving the microphone…")
        self.runner.run_task(lambda: self.use_card(device),
                             lambda path: self.status.setText(f"Microphone saved ({path}); it is used from the next take."),
                             lambda exc: self.status.setText(f"Could not save the microphone: {exc}"))

    def _save(self) -> None:
        self.saved.emit(self.settings.with_changes(
            word_list=self.word_list.currentText(),
            lang=self.lang.currentText(),
            strictness=self.strictness.currentText(),
        ))


def list_sound_cards() -> list:
    """ALSA cards, USB ones (microphones) first."""
    from app.devices import read_alsa_cards

    return sorted(read_alsa_cards(), key=lambda card: not card.is_usb)


def current_mic_card() -> str | None:
    from app.alsa_profile import profile_card, user_profile_path

    return profile_card(user_profile_path())


def use_sound_card(card) -> str:
    """Write the persistent ALSA profile for `card` (~/.asoundrc, by card id), remember the
    choice in config.json, and make PortAudio re-read ALSA's config. Returns the profile path."""
    from app.alsa_profile import remember_choice, user_profile_path, write_profile
    from app.devices import reinit_portaudio
    from core.paths import config_path

    path = user_profile_path()
    write_profile(card.id, path=path)
    remember_choice(config_path(), card_id=card.id, card_name=card.name, profile=path)
    reinit_portaudio()  # only called from the operator screen, when no take is running
    return str(path)


def _device_label(card, current: str | None) -> str:
    usb = " · USB" if getattr(card, "is_usb", False) else ""
    mark = " (in use)" if card.id == current else ""
    return f"{card.name} [{card.id}]{usb}{mark}"


def gtts_status(reachable: bool, engine: str) -> str:
    """The operator screen's Google-voice line: whether gTTS answers, and what Listen plays with
    the voice setting `engine`. A cached reference plays before gTTS is asked, and the shipped
    lists come with espeak-ng's; takes are scored against espeak-ng's whatever is played."""
    state = "reachable" if reachable else "not reachable"
    if engine == "espeak":
        return f"{state} — not used (voice setting: espeak-ng)"
    if engine == "gtts":
        return f"{state} — " + ("Listen plays it (cached first)" if reachable
                                 else "Listen plays only words whose Google voice is cached")
    return f"{state} — " + ("used for words with no cached voice" if reachable
                             else "cached voices play, espeak-ng for the rest")
