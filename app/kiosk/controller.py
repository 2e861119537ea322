"""The practice round as a state machine, with no widgets.

    home ──choose_category──► card ──listen──► listening ──► card
                               │  ▲
                             speak │ (friendly message, no score: silence, clipping, no mic, …)
                               ▼  │
                           recording ──(auto-stop / stop)──► scoring ──► result
                                                                          │
                                                       again ──► card ◄───┤ next ──► card (next word)

Everything that blocks (model load, TTS, recording, scoring, playback) runs through the
task runner; its results come back here on the GUI thread. A callback that arrives after
the learner has moved on (another word, the start screen) is dropped: every round carries
a generation number.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass
from typing import Any

from PyQt5.QtCore import QObject, QTimer, pyqtSignal

from core.errors import DeviceError, MalsoriError, ModelError, NoSpeechError, SpeechTooShortError, TTSError
from preprocessing.pipeline import clipped_fraction

from .services import KioskServices
from .settings import KioskSettings

log = logging.getLogger(__name__)

HOME, CARD, LISTENING, RECORDING, SCORING, RESULT = "home", "card", "listening", "recording", "scoring", "result"
STATES = (HOME, CARD, LISTENING, RECORDING, SCORING, RESULT)

# Score needed for (green, amber) per strictness; below amber is red.
BANDS = {"gentle": (60.0, 35.0), "normal": (75.0, 50.0), "strict": (85.0, 65.0)}
VERDICTS = {
    "green": "Great — that sounds like the reference.",
    "amber": "Close — listen once more and try again.",
    "red": "Not quite yet — listen carefully, then try again.",
}
LEVEL_POLL_MS = 33  # the meter redraws at ~30 Hz from the latest level the audio thread left
MIC_POLL_MS = 2000  # how often an idle kiosk looks for its microphone (unplugged, plugged back)
NO_MIC_MESSAGE = "No microphone — please ask a helper to plug it in."

MODEL_LOADING, MODEL_READY, MODEL_MISSING = "loading", "ready", "missing"
NO_MODEL_MESSAGE = "No trained model is installed, so there is no score. Press “Play mine” to hear your take."


def verdict(score: float, strictness: str) -> tuple[str, str]:
    """(band, one-line verdict) for a 0–100 score: band is "green", "amber" or "red"."""
    green, amber = BANDS.get(strictness, BANDS["normal"])
    band = "green" if score >= green else "amber" if score >= amber else "red"
    return band, VERDICTS[band]


def friendly_message(exc: BaseException) -> str:
    """What a learner sees instead of a score when something went wrong: one plain line, never the
    technical detail (device names, PortAudio codes, commands); that goes to the log."""
    if isinstance(exc, NoSpeechError):
        return "I didn't hear anything. Press Speak, then say the word clearly."
    if isinstance(exc, SpeechTooShortError):
        return "That was very short. Press Speak and say the whole word."
    if isinstance(exc, DeviceError):
        return "The microphone or speaker is not working — please ask a helper."
    if isinstance(exc, TTSError):
        return "The reference voice is not available right now."
    if isinstance(exc, ModelError):
        return NO_MODEL_MESSAGE
    return "Something went wrong. Please try again."


@dataclass(frozen=True)
class RoundResult:
    """A scored take. result: models.ScoreResult; band/verdict from `verdict()`;
    reference_engine: the voice it was scored against (app.tts.Reference.engine)."""

    entry: Any
    score: float
    band: str
    verdict: str
    result: Any
    reference_engine: str = "espeak"


class PreparedReference:
    """The current word's reference through the model (front end, encoder, recognizer), made
    once and reused by every take of that word, so scoring a take runs only the take's side.
    Worker threads call `features`; a lock keeps two of them from preparing it twice."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._features = None

    def features(self, scorer, ref):
        """models.Features of `ref` (an app.tts.Reference) for `scorer`, prepared only when the
        scorer or the reference (engine, voice, cache file) differs from the last call's."""
        key = (scorer, ref.engine, ref.voice, str(ref.path), len(ref.audio))
        with self._lock:
            if key != self._key:
                self._features = scorer.features((ref.audio, ref.sr), side="reference")
                self._key = key
            return self._features


class KioskController(QObject):
    state_changed = pyqtSignal(str)
    entry_changed = pyqtSignal(object, int, int)  # Entry, index (0-based), count
    level_changed = pyqtSignal(float)  # 0..1, while recording
    result_ready = pyqtSignal(object)  # RoundResult
    message = pyqtSignal(str)  # a friendly line for the learner ("" clears it)
    history_changed = pyqtSignal(list)  # [(Entry, best score or None)] in practice order
    model_status_changed = pyqtSignal(str, str)  # MODEL_*, human text
    take_available = pyqtSignal(bool)  # "Play mine" has something to play
    mic_changed = pyqtSignal(str)  # "" = a microphone is there; else the (technical) reason

    def __init__(self, services: KioskServices, runner, settings: KioskSettings, parent: QObject | None = None):
        super().__init__(parent)
        self.services = services
        self.runner = runner
        self.settings = settings
        self.state = HOME
        self.entries: list = []
        self.queue: list = []
        self.index = 0
        self.take = None  # the last app.recorder.Take of this word
        self.last_result: RoundResult | None = None
        self.best: dict = {}  # Entry -> best score this session
        self.practised: list = []  # Entries in the order first tried
        self.scorer = None
        self.model_state = MODEL_LOADING
        self.model_message = "Loading the scoring model…"
        self._recorder = None
        self._pending_take = None  # a take waiting for the model to finish loading
        self._reference = PreparedReference()  # the word's reference, prepared once for all its takes
        self.last_problem = ""  # technical detail of the last failure, for the operator screen
        self._generation = 0
        self._level = 0.0  # written by the audio thread, read by the poll timer (a float store is atomic)
        self._level_timer = QTimer(self)
        self._level_timer.setInterval(LEVEL_POLL_MS)
        self._level_timer.timeout.connect(lambda: self.level_changed.emit(self._level))
        self.mic_problem = ""  # why no take can be recorded now; "" = a microphone is there
        self._mic_checking = False
        self._mic_timer = QTimer(self)
        self._mic_timer.setInterval(MIC_POLL_MS)
        self._mic_timer.timeout.connect(self.check_microphone)

    # --- setup ----------------------------------------------------------------------------

    def load_model(self) -> None:
        """Start loading the scorer in a worker (call it after the first frame is shown)."""
        self._set_model(MODEL_LOADING, "Loading the scoring model…")
        self.runner.run_task(self.services.load_scorer, self._model_loaded, self._model_failed)

    def _model_loaded(self, scorer) -> None:
        self.scorer = scorer
        self._set_model(MODEL_READY, "")
        if self._pending_take is not None:
            take, self._pending_take = self._pending_take, None
            self._score(take)

    def _model_failed(self, exc: BaseException) -> None:
        log.warning("no scoring model: %s", exc)
        text = "No trained model installed" if isinstance(exc, ModelError) else "The scoring model failed to load"
        self._set_model(MODEL_MISSING, f"{text}: you can practise, but there is no score.")
        if self._pending_take is not None:
            self._pending_take = None
            self._no_score(NO_MODEL_MESSAGE)

    def watch_microphone(self) -> None:
        """Look for the microphone now and every MIC_POLL_MS (the kiosk starts this at launch)."""
        self.check_microphone()
        self._mic_timer.start()

    def stop_watching(self) -> None:
        """Stop the timers (microphone watch, level meter): the kiosk is closing."""
        self._mic_timer.stop()
        self._level_timer.stop()

    def check_microphone(self) -> None:
        """Ask (in a worker) whether a microphone is there. Only on idle screens: no audio
        stream is open then, and a take never competes with the check for the device."""
        if self._mic_checking or self.state not in (HOME, CARD, RESULT):
            return
        self._mic_checking = True
        self.runner.run_task(self.services.mic_problem, self._mic_checked, lambda exc: self._mic_checked(str(exc)))

    def _mic_checked(self, problem: str) -> None:
        self._mic_checking = False
        problem = problem or ""
        if problem == self.mic_problem:
            return
        if problem:
            log.warning("microphone gone: %s", problem)
        else:
            log.info("microphone back")
        self.mic_problem = problem
        self.mic_changed.emit(problem)

    def _set_model(self, state: str, text: str) -> None:
        self.model_state, self.model_message = state, text
        self.model_status_changed.emit(state, text)

    def set_entries(self, entries: list) -> None:
        self.entries = list(entries)

    def categories(self) -> list[str]:
        """Categories of the loaded list, in first-appearance order."""
        seen: dict[str, None] = {}
        for e in self.entries:
            seen.setdefault(e.category or "words", None)
        return list(seen)

    def apply_settings(self, settings: KioskSettings) -> None:
        self.settings = settings

    # --- navigation -----------------------------------------------------------------------

    def choose_category(self, category: str | None) -> None:
        """Start practising a category (None: the whole list)."""
        self.queue = [e for e in self.entries if category is None or (e.category or "words") == category]
        if not self.queue:
            self.message.emit("This list has no words in that category.")
            return
        self.index = 0
        self._show_entry()

    def practise(self, entry) -> None:
        """Show `entry`'s card, within its category."""
        self.choose_category(entry.category or "words")
        self.index = self.queue.index(entry)
        self._show_entry()

    def next_word(self) -> None:
        if not self.queue:
            return
        self.index = (self.index + 1) % len(self.queue)
        self._show_entry()

    def again(self) -> None:
        """Back to the same word's card, keeping the take so it can still be played."""
        if self.state in (RESULT, CARD):
            self._set_state(CARD)
            self.message.emit("")

    def go_home(self) -> None:
        """Abandon whatever runs (its result will be dropped) and show the start screen."""
        self._generation += 1
        self._stop_recorder()
        self._pending_take = None
        self.take = None
        self.take_available.emit(False)
        self.message.emit("")
        self._set_state(HOME)

    def reset_session(self) -> None:
        """Forget the history (a new visitor)."""
        self.best.clear()
        self.practised.clear()
        self.history_changed.emit([])

    @property
    def entry(self):
        return self.queue[self.index] if self.queue else None

    def _show_entry(self) -> None:
        self._generation += 1
        self._stop_recorder()
        self._pending_take = None
        self.take = None
        self.last_result = None
        self.take_available.emit(False)
        self.message.emit("")
        self.entry_changed.emit(self.entry, self.index, len(self.queue))
        self._set_state(CARD)
        entry = self.entry
        self.runner.run_task(lambda: self._warm_references(entry), None, lambda exc: None)

    def _warm_references(self, entry) -> None:
        """Fill the TTS cache so Listen and scoring do not wait for synthesis later. The played
        voice first: once espeak-ng's entry is cached, engine "auto" plays it and never asks
        gTTS for that word again (app/tts.py), so the scoring reference must not come first."""
        with contextlib.suppress(TTSError):  # e.g. tts_engine gtts offline: Listen says so later
            self.services.get_reference(entry)
        self.services.scoring_reference(entry)

    # --- listen ---------------------------------------------------------------------------

    def listen(self) -> None:
        if self.state not in (CARD, RESULT) or self.entry is None:
            return
        back_to = self.state
        entry, gen = self.entry, self._generation

        def fetch_and_play():
            ref = self.services.get_reference(entry)
            self.services.play(ref.audio, ref.sr)

        self._set_state(LISTENING)
        self.runner.run_task(fetch_and_play, lambda _: self._played(gen, back_to),
                             lambda exc: self._play_failed(gen, back_to, exc))

    def play_mine(self) -> None:
        if self.take is None or self.state not in (CARD, RESULT):
            return
        back_to, gen, take = self.state, self._generation, self.take
        self._set_state(LISTENING)
        self.runner.run_task(lambda: self.services.play(take.audio, take.sr), lambda _: self._played(gen, back_to),
                             lambda exc: self._play_failed(gen, back_to, exc))

    def _played(self, gen: int, back_to: str) -> None:
        if gen == self._generation and self.state == LISTENING:
            self._set_state(back_to)

    def _play_failed(self, gen: int, back_to: str, exc: BaseException) -> None:
        if gen != self._generation:
            return
        self._set_state(back_to)
        self.message.emit(self._problem("playback", exc))

    def _problem(self, what: str, exc: BaseException) -> str:
        """Log the detail (and keep it for the operator screen); return the learner's line."""
        self.last_problem = f"{what}: {exc}"
        log.warning("%s failed: %s: %s", what, type(exc).__name__, exc)
        return friendly_message(exc)

    # --- speak → score --------------------------------------------------------------------

    def speak(self) -> None:
        if self.state not in (CARD, RESULT) or self.entry is None:
            return
        if self.mic_problem:  # Speak is disabled then; a USB keyboard can still ask
            self.message.emit(NO_MIC_MESSAGE)
            return
        self.message.emit("")
        self._level = 0.0
        try:
            self._recorder = self.services.make_recorder(self._on_level)
        except MalsoriError as exc:
            self.message.emit(self._problem("recording", exc))
            return
        gen, recorder = self._generation, self._recorder
        self._set_state(RECORDING)
        self._level_timer.start()
        self.runner.run_task(recorder.record, lambda take: self._recorded(gen, take),
                             lambda exc: self._record_failed(gen, exc))

    def stop_recording(self) -> None:
        """The learner pressed Stop: end the take now (it is still scored)."""
        if self.state == RECORDING and self._recorder is not None:
            self._recorder.stop()

    def _on_level(self, level: float) -> None:  # audio thread: store only, never touch Qt
        self._level = float(level)

    def _stop_recorder(self) -> None:
        self._level_timer.stop()
        if self._recorder is not None:
            self._recorder.stop()
            self._recorder = None

    def _recorded(self, gen: int, take) -> None:
        if gen != self._generation:
            return
        self._level_timer.stop()
        self._recorder = None
        self.level_changed.emit(0.0)
        self.take = take
        self.take_available.emit(True)
        if getattr(take, "error", None):  # e.g. the take could not be saved (disk full): still scored
            log.warning("take: %s", take.error)
        if getattr(take, "stopped_by", "") == "device-lost":
            detail = getattr(take, "error", None) or "the microphone stopped delivering sound"
            self.last_problem = f"recording: {detail}"
            self._no_score("The microphone stopped working during the take — please ask a helper.")
            return
        # A take the live endpointer heard no speech in is still scored: in heavy noise the
        # endpointer, with no noise filter and no future, may miss words the front end finds;
        # a truly silent take ends in the front end's NoSpeechError, worded the same. With no
        # model to ask (loading, missing), the endpointer's word stands.
        if not getattr(take, "speech_found", True) and self.model_state != MODEL_READY:
            self._no_score(friendly_message(NoSpeechError("")))
            return
        self._score(take)

    def _record_failed(self, gen: int, exc: BaseException) -> None:
        if gen != self._generation:
            return
        self._level_timer.stop()
        self._recorder = None
        self.level_changed.emit(0.0)
        self._no_score(self._problem("recording", exc), took=False)  # no take: no history chip
        if isinstance(exc, DeviceError):
            self.check_microphone()  # unplugged since the last look: say so plainly at once

    def _score(self, take) -> None:
        self._set_state(SCORING)
        if self.model_state == MODEL_LOADING:
            self._pending_take = take  # scored as soon as the model is there
            return
        if self.model_state == MODEL_MISSING or self.scorer is None:
            self._no_score(NO_MODEL_MESSAGE)
            return
        if len(take.audio) == 0:  # stopped before any sound came: nothing was said, nothing broke
            self._no_score(friendly_message(NoSpeechError("")))
            return
        cfg = self.scorer.cfg
        if clipped_fraction(take.audio, cfg=cfg) > cfg.clip_warn_fraction:
            self._no_score("That was too loud for the microphone. Stand a little further away and try again.")
            return
        entry, gen, scorer, services = self.entry, self._generation, self.scorer, self.services
        prepared = self._reference

        def score():
            try:
                ref = services.scoring_reference(entry)  # espeak-ng's, whatever voice was played (services.py)
            except TTSError as exc:  # espeak-ng failing: the played voice scores, lower but not nothing
                if self.settings.tts_engine == "espeak":
                    raise  # the played voice is espeak-ng too: asking again would only wait again
                self.last_problem = f"scoring reference (espeak-ng): {exc}; takes are scored against the played voice"
                log.warning("no espeak-ng reference to score against (%s); scoring against the played voice", exc)
                ref = services.get_reference(entry)
            expected = scorer.text_phonemes(entry.text, lang=entry.lang)  # the word's own phonemes weigh in too
            return scorer.score_pair(prepared.features(scorer, ref), (take.audio, take.sr), expected=expected), ref.engine

        self.runner.run_task(score, lambda r: self._scored(gen, entry, *r), lambda exc: self._score_failed(gen, exc))

    def _scored(self, gen: int, entry, result, reference_engine: str) -> None:
        if gen != self._generation:
            return
        score = float(result.score)
        band, line = verdict(score, self.settings.strictness)
        self.last_result = RoundResult(entry, score, band, line, result, reference_engine)
        if entry not in self.best:
            self.practised.append(entry)
        previous = self.best.get(entry)
        self.best[entry] = score if previous is None else max(previous, score)
        self._emit_history()
        self._set_state(RESULT)
        self.result_ready.emit(self.last_result)

    def _score_failed(self, gen: int, exc: BaseException) -> None:
        if gen != self._generation:
            return
        if isinstance(exc, (NoSpeechError, SpeechTooShortError)):  # the learner's take, not a fault
            self._no_score(friendly_message(exc))
            return
        self._no_score(self._problem("scoring", exc))

    def _no_score(self, text: str, *, took: bool = True) -> None:
        """Back to the card with a message; the take (if any) stays playable.

        took: a take was recorded, so the word joins the history strip (with no score).
        """
        if took and self.entry is not None and self.entry not in self.best:
            self.practised.append(self.entry)
            self.best[self.entry] = None
            self._emit_history()
        self._set_state(CARD)
        self.message.emit(text)

    def _emit_history(self) -> None:
        self.history_changed.emit([(e, self.best[e]) for e in self.practised])

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)
