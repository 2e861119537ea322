"""The kiosk, end to end, offscreen: real model file, real espeak-ng references, a real ALSA
file-plugin microphone. Only the speaker is whatever ALSA's null device does."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PyQt5.QtCore import Qt, QTimer

from app.kiosk import controller as ctl
from app.kiosk.settings import KioskSettings, load_settings, save_settings
from core.errors import AudioDecodeError, DeviceError, TTSError
from fakemic import fake_mic  # noqa: F401  (the ALSA file-plugin microphone fixture)
from speech import pad, speak

pytest.importorskip("pytestqt")

WORDS_CSV = "text,lang,kind,romanization,gloss,category\n사과,ko,word,sagwa,apple,food\n물,ko,word,mul,water,food\n"
RESULT_TIMEOUT_MS = 30_000


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def qt_objects_freed_between_tests():
    """Each test's windows deleted (their deleteLater) and Python's cyclic garbage collected
    right after the test, while nothing else runs: left to chance, a collection inside the next
    test freed an earlier kiosk's Qt objects there — the rare segfault (exit 139) of a CI run.
    Task signal objects no longer wait for the collector (app.workers.TaskRunner._delivered);
    this stays for any other Qt object a test leaves in a cycle."""
    yield
    import gc

    from PyQt5.QtCore import QCoreApplication, QEvent

    if QCoreApplication.instance() is not None:
        QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)
        gc.collect()
        QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    import models
    import preprocessing

    path = tmp_path_factory.mktemp("model") / "tiny.pt"
    pair = models.PairScorer(models.FrameEncoder(), models.Calibration(midpoint=0.3, scale=0.05))
    models.save_checkpoint(path, models.Checkpoint(pair, preprocessing.PreprocessConfig(), {"note": "test"}))
    return path


@pytest.fixture(scope="module")
def tts_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tts-cache")  # espeak-ng references are made once per module


@pytest.fixture
def home(tmp_path, monkeypatch, tiny_model, tts_cache) -> Path:
    """A fresh MALSORI_HOME with a two-word list, the tiny model installed."""
    monkeypatch.setenv("MALSORI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MALSORI_CACHE", str(tts_cache))
    monkeypatch.setenv("MALSORI_MODEL", str(tiny_model))
    monkeypatch.delenv("MALSORI_KIOSK_PIN", raising=False)
    lists = tmp_path / "home" / "wordlists"
    lists.mkdir(parents=True)
    (lists / "kiosk_test.csv").write_text(WORDS_CSV, encoding="utf-8")
    return tmp_path / "home"


@pytest.fixture
def mic(fake_mic, home, monkeypatch):
    """serve(audio16k): ALSA's default capture device (a 48 kHz-only "USB mic") now plays `audio`."""

    def serve(audio: np.ndarray):
        mic_home = fake_mic(audio, sr=16_000)
        monkeypatch.setenv("MALSORI_HOME", str(home))  # fake_mic points it elsewhere
        return mic_home

    return serve


SETTINGS = KioskSettings(word_list="kiosk_test", lang="ko", tts_engine="espeak", idle_timeout_s=600.0)


def make_kiosk(qtbot, settings=SETTINGS, *, wait_model=True, clock=None, **services):
    """The kiosk with its real services, except any named in `services` (e.g. gtts_reachable)."""
    import dataclasses
    import time

    from app.kiosk.app import Kiosk
    from app.kiosk.services import default_services

    kiosk = Kiosk(settings=settings, services=dataclasses.replace(default_services(settings), **services),
                  clock=clock or time.monotonic)
    qtbot.addWidget(kiosk.window, before_close_func=lambda _w: kiosk.shutdown())  # deleted now, not by the GC
    kiosk.window.resize(800, 480)
    kiosk.window.show()
    if wait_model:
        with qtbot.waitSignal(kiosk.controller.model_status_changed, timeout=RESULT_TIMEOUT_MS,
                              check_params_cb=lambda state, text: state != ctl.MODEL_LOADING):
            kiosk.controller.load_model()
    return kiosk


def word_audio(text="사과") -> np.ndarray:
    return pad(speak(text), lead_s=0.4, trail_s=1.2)


def click(qtbot, button) -> None:
    assert button.isEnabled() and button.isVisible(), button.text()
    qtbot.mouseClick(button, Qt.LeftButton)


# --- the practice round -----------------------------------------------------------------------


def test_full_round_scores_the_take_and_draws_both_images(qtbot, home, mic, monkeypatch):
    from core.paths import REPO_ROOT

    # the shipped model, and a learner whose voice is not the reference's: the right word is green
    monkeypatch.setenv("MALSORI_MODEL", str(REPO_ROOT / "assets" / "models" / "malsori.pt"))
    mic(pad(speak("사과", voice="ko+f5", speed_wpm=180), lead_s=0.4, trail_s=1.2))
    kiosk = make_kiosk(qtbot)
    w, c = kiosk.window, kiosk.controller
    assert c.model_state == ctl.MODEL_READY
    click(qtbot, w.category_buttons["food"])
    assert w.pages.currentWidget() is w.practice_page
    assert w.hangul.text() == "사과" and w.roman.text() == "sagwa" and w.gloss.text() == "apple"

    with qtbot.waitSignal(c.result_ready, timeout=RESULT_TIMEOUT_MS) as got:
        click(qtbot, w.speak_button)
    rr = got.args[0]
    assert rr.band == "green", rr.score
    assert w.pages.currentWidget() is w.result_page
    assert w.score_label.text() == f"{rr.score:.0f}"
    assert w.verdict_label.text() == ctl.verdict(rr.score, "normal")[1]
    images = [ax.get_images() for ax in w.mel_view.figure.axes]
    assert [len(i) for i in images] == [1, 1]  # reference and attempt, side by side
    assert images[1][0].get_array().shape == rr.result.attempt_image.shape
    assert w.mel_view.highlight_s is None  # nothing to point at on a good take
    assert w.mel_view.figure.axes[0].get_ylabel() == "frequency ↑"
    assert [chip.text() for chip in w.history.chips] == [f"사과  {rr.score:.0f}"]
    assert c.take.path is not None and Path(c.take.path).is_file()  # nothing the learner said is lost
    # judged against the word's own phonemes too, not only what the reference voice is heard to say
    assert rr.result.text_phonemes == ("ko:s", "ko:a", "ko:q", "ko:w", "ko:a")

    # Again keeps the word, Next moves on; the history keeps the best score.
    click(qtbot, w.again_button)
    assert w.pages.currentWidget() is w.practice_page and w.hangul.text() == "사과"
    click(qtbot, w.next_button)
    assert w.hangul.text() == "물"


def scored_take(qtbot, mic):
    """The kiosk after one real take of 사과, scored: (kiosk, the RoundResult it showed)."""
    mic(word_audio("사과"))
    kiosk = make_kiosk(qtbot)
    kiosk.controller.choose_category(None)
    with qtbot.waitSignal(kiosk.controller.result_ready, timeout=RESULT_TIMEOUT_MS) as got:
        kiosk.controller.speak()
    return kiosk, got.args[0]


def test_the_differs_most_band_shows_only_when_the_score_is_not_green(qtbot, home, mic):
    kiosk, rr = scored_take(qtbot, mic)
    w, c = kiosk.window, kiosk.controller

    def red_bands() -> int:
        return sum(len(ax.patches) for ax in w.mel_view.figure.axes)

    for strictness, score in (("normal", 90.0), ("strict", 80.0), ("gentle", 40.0)):
        band, line = ctl.verdict(score, strictness)
        w._on_result(ctl.RoundResult(rr.entry, score, band, line, rr.result))
        if band == "green":
            assert w.mel_view.highlight_s is None and red_bands() == 0
        else:
            assert w.mel_view.highlight_s == pytest.approx(rr.result.worst_segment_s) and red_bands() >= 1

    # the label stays inside the "You" picture wherever the band is (it spilled left of it at 0 s)
    import dataclasses

    end = rr.result.hop_s * rr.result.attempt_image.shape[1]
    for band_s in ((0.0, 0.05), (end - 0.05, end), (0.4 * end, 0.6 * end)):
        w._on_result(ctl.RoundResult(rr.entry, 40.0, "red", "Try again",
                                     dataclasses.replace(rr.result, worst_segment_s=band_s)))
        att_ax = w.mel_view.figure.axes[1]
        renderer = w.mel_view.figure.canvas.get_renderer()
        label, box = att_ax.texts[0].get_window_extent(renderer), att_ax.get_window_extent(renderer)
        assert box.x0 - 1 <= label.x0 and label.x1 <= box.x1 + 1, (band_s, label, box)

    # one time scale: the shorter image is not stretched to the longer one's width
    w._on_result(ctl.RoundResult(rr.entry, 90.0, "green", "Great", rr.result))
    ref_ax, att_ax = w.mel_view.figure.axes
    longest = rr.result.hop_s * max(rr.result.reference_image.shape[1], rr.result.attempt_image.shape[1])
    assert ref_ax.get_xlim() == att_ax.get_xlim() == pytest.approx((0.0, longest))


def slow_to_open_recorder(gate):
    """The real recorder behind a microphone that opens only when `gate` is set: the take is
    still starting when the test's next tap lands."""
    from app.kiosk.services import default_services

    real = default_services(SETTINGS).make_recorder

    class Slow:
        def __init__(self, on_level):
            self.recorder = real(on_level)

        def record(self):
            gate.wait(10)
            return self.recorder.record()

        def stop(self):
            self.recorder.stop()

    return Slow


def test_a_double_tap_on_speak_records_the_word_instead_of_stopping_at_once(qtbot, home, mic):
    """A visitor's double tap on Speak: the second tap landed on Stop and ended the take before
    any sound, with "Something went wrong". A Stop that soon is ignored; a later one stops, and a
    take stopped before any sound is "didn't hear anything", not a fault for the operator."""
    import threading

    mic(word_audio("사과"))
    now, gate = [1000.0], threading.Event()
    kiosk = make_kiosk(qtbot, clock=lambda: now[0], make_recorder=slow_to_open_recorder(gate))
    w, c = kiosk.window, kiosk.controller
    c.choose_category(None)
    click(qtbot, w.speak_button)
    click(qtbot, w.speak_button)  # the double tap's second press, on what now reads "Stop"
    with qtbot.waitSignal(c.result_ready, timeout=RESULT_TIMEOUT_MS):
        gate.set()
    assert c.take.stopped_by != "stopped"

    gate.clear()
    c.again()
    click(qtbot, w.speak_button)
    now[0] += 1.0  # a real Stop, a second into the take
    click(qtbot, w.speak_button)
    gate.set()
    qtbot.waitUntil(lambda: c.state == ctl.CARD and "didn't hear" in w.message_label.text(),
                    timeout=RESULT_TIMEOUT_MS)
    assert c.take.stopped_by == "stopped" and c.last_problem == ""


def test_event_loop_keeps_running_while_recording_and_scoring(qtbot, home, mic):
    mic(word_audio("사과"))
    kiosk = make_kiosk(qtbot)
    c = kiosk.controller
    c.choose_category(None)
    ticks = {ctl.RECORDING: 0, ctl.SCORING: 0}

    def tick():
        if c.state in ticks:
            ticks[c.state] += 1

    timer = QTimer()
    timer.setInterval(0)  # fires on every pass of the event loop: zero ticks means a blocked loop
    timer.timeout.connect(tick)
    timer.start()
    with qtbot.waitSignal(c.result_ready, timeout=RESULT_TIMEOUT_MS):
        c.speak()
    timer.stop()
    assert ticks[ctl.SCORING] > 0
    assert ticks[ctl.RECORDING] > 0


def test_silence_gives_a_friendly_message_and_no_score(qtbot, home, mic):
    from core.paths import recordings_dir

    mic(np.zeros(16_000 * 2, np.float32))
    recordings_dir().mkdir(parents=True)
    old_take = recordings_dir() / "take-20260101-000000-000000.wav"
    old_take.write_bytes(b"")
    kiosk = make_kiosk(qtbot, SETTINGS.with_changes(keep_takes=1))
    w, c = kiosk.window, kiosk.controller
    results = []
    c.result_ready.connect(results.append)
    c.choose_category(None)
    click(qtbot, w.speak_button)
    qtbot.waitUntil(lambda: c.state == ctl.CARD and w.message_label.text() != "", timeout=RESULT_TIMEOUT_MS)
    kiosk.runner.wait_idle()
    qtbot.wait(50)  # let any late callback land before asserting there was none
    assert "didn't hear" in w.message_label.text()
    assert results == [] and c.last_result is None
    assert w.pages.currentWidget() is w.practice_page
    assert w.score_label.text() == ""
    assert w.play_mine_button.isEnabled()  # the take can still be heard
    assert [chip.text() for chip in w.history.chips] == ["사과  —"]
    assert [p.name for p in recordings_dir().iterdir()] == [Path(c.take.path).name]  # keep_takes=1


def test_no_model_installed_shows_that_and_never_a_score(qtbot, home, mic, monkeypatch, tmp_path):
    monkeypatch.setenv("MALSORI_MODEL", str(tmp_path / "nowhere.pt"))
    mic(word_audio("사과"))
    kiosk = make_kiosk(qtbot)
    w, c = kiosk.window, kiosk.controller
    assert c.model_state == ctl.MODEL_MISSING
    assert w.model_status.text() == "no trained model installed"
    results = []
    c.result_ready.connect(results.append)
    c.choose_category(None)
    click(qtbot, w.speak_button)
    qtbot.waitUntil(lambda: w.message_label.text() == ctl.NO_MODEL_MESSAGE, timeout=RESULT_TIMEOUT_MS)
    assert results == [] and w.score_label.text() == ""


def test_a_take_made_while_the_model_loads_is_scored_once_it_is_there(qtbot, home, mic):
    mic(word_audio("사과"))
    kiosk = make_kiosk(qtbot, wait_model=False)
    c = kiosk.controller
    assert c.model_state == ctl.MODEL_LOADING
    c.choose_category(None)
    with qtbot.waitSignal(c.state_changed, timeout=RESULT_TIMEOUT_MS, check_params_cb=lambda s: s == ctl.SCORING):
        c.speak()
    with qtbot.waitSignal(c.result_ready, timeout=RESULT_TIMEOUT_MS):
        c.load_model()


def test_a_second_take_of_a_word_does_not_run_the_reference_through_the_front_end_again(qtbot, home, mic,
                                                                                        monkeypatch):
    """The reference is prepared (front end + networks) once per word: the front end runs for
    the reference and each take, not for the reference again on every take."""
    import models.scoring

    real_preprocess, seen = models.scoring.preprocess, []

    def counting_preprocess(y, *, sr, cfg):  # the real front end, with a count of what it was given
        seen.append(len(y))
        return real_preprocess(y, sr=sr, cfg=cfg)

    monkeypatch.setattr(models.scoring, "preprocess", counting_preprocess)
    mic(word_audio("사과"))
    kiosk = make_kiosk(qtbot)
    c = kiosk.controller
    c.choose_category(None)
    results = []
    for _ in range(2):
        with qtbot.waitSignal(c.result_ready, timeout=RESULT_TIMEOUT_MS) as got:
            c.speak()
        results.append(got.args[0].result)
        c.again()
    assert len(seen) == 3  # the reference once, two takes
    np.testing.assert_array_equal(results[0].reference_image, results[1].reference_image)
    c.next_word()  # another word: its own reference is prepared
    with qtbot.waitSignal(c.result_ready, timeout=RESULT_TIMEOUT_MS):
        c.speak()
    assert len(seen) == 5


def test_the_voice_played_does_not_change_the_score(qtbot, home, mic, monkeypatch):
    """Online, the learner hears Google's voice; the take is still scored against espeak-ng's,
    the voice the model is calibrated on, so the same take scores the same online and offline.
    Google's voice (not reachable here) is stood in for by another voice saying another word:
    scored against that, a right 사과 would be red."""
    from app.tts import Reference
    from core.paths import REPO_ROOT

    monkeypatch.setenv("MALSORI_MODEL", str(REPO_ROOT / "assets" / "models" / "malsori.pt"))
    mic(pad(speak("사과", voice="ko+f5", speed_wpm=180), lead_s=0.4, trail_s=1.2))
    played = []
    google = Reference(speak("바나나", voice="ko+m3"), 16_000, "gtts", "gtts:ko", home / "google.flac")
    kiosk = make_kiosk(qtbot, get_reference=lambda entry: google,
                       play=lambda audio, sr: played.append(np.asarray(audio)))
    w, c = kiosk.window, kiosk.controller
    c.choose_category(None)
    assert c.entry.text == "사과"
    click(qtbot, w.listen_button)
    qtbot.waitUntil(lambda: c.state == ctl.CARD, timeout=RESULT_TIMEOUT_MS)
    assert len(played) == 1 and played[0] is google.audio  # the learner hears the played voice
    with qtbot.waitSignal(c.result_ready, timeout=RESULT_TIMEOUT_MS) as got:
        click(qtbot, w.speak_button)
    online = got.args[0]
    assert online.band == "green", online.score

    offline = kiosk.services.scoring_reference(c.entry)
    assert offline.engine == "espeak"
    again = c.scorer.score_pair((offline.audio, offline.sr), (c.take.audio, c.take.sr),
                                expected=c.scorer.text_phonemes("사과", lang="ko"))
    assert online.score == pytest.approx(again.score, abs=1e-6)
    assert w.mel_view.figure.axes[0].get_title() == "Reference (espeak-ng)"  # the image is the voice scored


def test_without_espeak_ng_the_take_is_scored_against_the_voice_played(qtbot, home, mic):
    """espeak-ng failing (not installed, a timeout) must not leave every take unscored."""
    from app.tts import Reference

    mic(word_audio("사과"))
    google = Reference(speak("사과", voice="ko+m3"), 16_000, "gtts", "gtts:ko", home / "google.flac")

    def no_espeak(entry):
        raise TTSError("espeak-ng failed: not installed")

    kiosk = make_kiosk(qtbot, SETTINGS.with_changes(tts_engine="auto"), get_reference=lambda entry: google,
                       scoring_reference=no_espeak)
    w, c = kiosk.window, kiosk.controller
    c.choose_category(None)
    with qtbot.waitSignal(c.result_ready, timeout=RESULT_TIMEOUT_MS) as got:
        click(qtbot, w.speak_button)
    assert got.args[0].reference_engine == "gtts"
    assert w.pages.currentWidget() is w.result_page
    assert w.mel_view.figure.axes[0].get_title() == "Reference (Google voice)"
    assert c.last_problem.startswith("scoring reference (espeak-ng): espeak-ng failed")  # the operator sees it


# --- hardening --------------------------------------------------------------------------------


def test_escape_and_close_need_the_operator_code(qtbot, home):
    kiosk = make_kiosk(qtbot, wait_model=False)
    w = kiosk.window
    qtbot.keyClick(w, Qt.Key_Escape)
    assert w.pages.currentWidget() is w.pin_pad
    w.close()  # a window-manager close or Alt+F4
    assert w.isVisible()
    for digit in "1111":
        click(qtbot, w.pin_pad.keys[digit])
    click(qtbot, w.pin_pad.keys["OK"])
    assert w.pin_pad.hint.text() == "Wrong code"
    assert w.isVisible() and w.pages.currentWidget() is w.pin_pad
    for digit in SETTINGS.operator_pin:
        click(qtbot, w.pin_pad.keys[digit])
    click(qtbot, w.pin_pad.keys["OK"])
    assert w.pages.currentWidget() is w.operator_panel
    assert not w.operator_exit
    click(qtbot, w.operator_panel.exit_button)
    assert not w.isVisible()
    assert w.operator_exit  # run_kiosk returns OPERATOR_EXIT_CODE: the unit does not restart it


def test_operator_exit_is_the_process_exit_code_the_unit_does_not_restart(qtbot, home):
    from PyQt5.QtWidgets import QApplication

    from app.kiosk.app import OPERATOR_EXIT_CODE, KioskWindow, run_kiosk

    def press_exit():
        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, KioskWindow) and w.isVisible())
        window.operator_panel.exit_button.click()

    QTimer.singleShot(300, press_exit)
    guard = QTimer()  # fail (code 0) rather than hang; stopped so it cannot quit a later test's loop
    guard.setSingleShot(True)
    guard.timeout.connect(QApplication.quit)
    guard.start(30_000)
    try:
        code = run_kiosk(windowed=True)
    finally:
        guard.stop()
    assert code == OPERATOR_EXIT_CODE


def test_five_wrong_codes_lock_the_pad_for_a_while(qtbot, home):
    kiosk = make_kiosk(qtbot, wait_model=False)
    w = kiosk.window
    pad = w.pin_pad
    pad.lockout_ms = 300  # 30 s in the kiosk
    w.ask_operator_code()
    for _ in range(5):
        for digit in "1111":
            click(qtbot, pad.keys[digit])
        click(qtbot, pad.keys["OK"])
    assert pad.hint.text().startswith("Too many wrong codes")
    assert not any(key.isEnabled() for key in pad.keys.values())
    for digit in SETTINGS.operator_pin:  # even the right code (typed on a USB keyboard) waits
        qtbot.keyClick(pad, digit)
    assert w.pages.currentWidget() is w.pin_pad
    click(qtbot, pad.cancel_button)
    w.ask_operator_code()  # leaving and coming back does not lift the lock
    assert pad.locked and pad.hint.text().startswith("Too many wrong codes")
    qtbot.waitUntil(lambda: all(key.isEnabled() for key in pad.keys.values()), timeout=5000)
    for digit in SETTINGS.operator_pin:
        click(qtbot, pad.keys[digit])
    click(qtbot, pad.keys["OK"])
    assert w.pages.currentWidget() is w.operator_panel


def test_an_invalid_configured_code_falls_back_to_the_default_with_a_warning(tmp_path, caplog, monkeypatch):
    monkeypatch.delenv("MALSORI_KIOSK_PIN", raising=False)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"kiosk": {"operator_pin": "12a4"}}), encoding="utf-8")
    with caplog.at_level("WARNING", logger="app.kiosk.settings"):
        assert load_settings(path).operator_pin == "2580"
    assert "not 4-8 digits" in caplog.text and "12a4" not in caplog.text


@pytest.mark.parametrize("key, bad, fallback, message", [
    ("lang", "fr", "ko", "language 'fr' is not one of ko, en: using ko"),
    ("tts_engine", "festival", "auto", "voice engine 'festival' is not one of auto, gtts, espeak: using auto"),
])
def test_an_unknown_configured_language_or_voice_engine_falls_back_with_a_warning(tmp_path, caplog, key, bad,
                                                                                   fallback, message):
    """A hand-edited config naming a language or engine the kiosk does not have: a warning in the
    log and the default, not an error on every word ("no word list has 'fr' entries")."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"kiosk": {key: bad, "strictness": "strict"}}), encoding="utf-8")
    with caplog.at_level("WARNING", logger="app.kiosk.settings"):
        settings = load_settings(path)
    assert getattr(settings, key) == fallback and settings.strictness == "strict"
    assert message in caplog.text


@pytest.mark.parametrize("key, written, read", [
    ("lang", "EN", "en"), ("lang", " ko ", "ko"),
    ("tts_engine", "espeak-ng", "espeak"), ("tts_engine", "eSpeak-NG ", "espeak"), ("tts_engine", "gTTS", "gtts"), ("tts_engine", "Google", "gtts"),
    ("tts_engine", " Auto", "auto"),
])
def test_a_configured_language_or_voice_engine_is_read_in_any_case_and_by_its_documented_name(tmp_path, caplog,
                                                                                              key, written, read):
    """An operator who writes "EN" or "espeak-ng" (the name the docs use) gets that language or
    engine, not the default with a warning."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"kiosk": {key: written}}), encoding="utf-8")
    with caplog.at_level("WARNING", logger="app.kiosk.settings"):
        settings = load_settings(path)
    assert getattr(settings, key) == read
    assert "is not one of" not in caplog.text


@pytest.mark.parametrize("written", [0, -3, 1e9, "nan"])
def test_a_take_length_out_of_range_falls_back_to_the_default_with_a_warning(tmp_path, caplog, written):
    """"max_record_s": 0 would fail every take at the recorder; 1e9 would wait for ever on a
    stuck take: the default (5 s) and one warning in the log instead."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"kiosk": {"max_record_s": written, "keep_takes": 7}}), encoding="utf-8")
    with caplog.at_level("WARNING", logger="app.kiosk.settings"):
        settings = load_settings(path)
    assert settings.max_record_s == KioskSettings.max_record_s == 5.0 and settings.keep_takes == 7
    assert "the configured longest take" in caplog.text and "is not 1-60 s: using 5 s" in caplog.text


def test_a_take_length_in_range_is_kept(tmp_path, caplog):
    path = tmp_path / "config.json"
    for written in (1, 12.5, 60):
        path.write_text(json.dumps({"kiosk": {"max_record_s": written}}), encoding="utf-8")
        with caplog.at_level("WARNING", logger="app.kiosk.settings"):
            assert load_settings(path).max_record_s == written
    assert "longest take" not in caplog.text


@pytest.mark.parametrize("key, bad, message", [
    ("strictness", "loose", "strictness 'loose' is not one of gentle, normal, strict: using normal"),
    ("keep_takes", 0, "number of takes kept 0 is not a whole number of 1 or more: using 200"),
    ("keep_takes", "abc", "number of takes kept 'abc' is not a whole number of 1 or more: using 200"),
    ("keep_takes", 2.5, "number of takes kept 2.5 is not a whole number of 1 or more: using 200"),
    ("keep_takes", True, "number of takes kept True is not a whole number of 1 or more: using 200"),
    ("keep_takes", float("inf"), "number of takes kept inf is not a whole number of 1 or more: using 200"),
    ("idle_timeout_s", -5, "idle time -5 is not a number of seconds above 0: using 90 s"),
    ("idle_timeout_s", "x", "idle time 'x' is not a number of seconds above 0: using 90 s"),
    ("idle_timeout_s", float("inf"), "idle time inf is not a number of seconds above 0: using 90 s"),
    ("idle_timeout_s", float("nan"), "idle time nan is not a number of seconds above 0: using 90 s"),
    ("keep_takes", float("nan"), "number of takes kept nan is not a whole number of 1 or more: using 200"),
    ("max_record_s", float("inf"), "longest take inf is not 1-60 s: using 5 s"),
    ("max_record_s", "abc", "longest take 'abc' is not 1-60 s: using 5 s"),
    ("word_list", None, "word list None is not a list name: using the language's first list"),
    ("word_list", 3, "word list 3 is not a list name: using the language's first list"),
])
def test_an_unreadable_configured_value_falls_back_to_the_default_with_a_warning_naming_the_key(tmp_path, caplog,
                                                                                                key, bad, message):
    """A hand-edited value the kiosk cannot use: the default, and a warning in the log that says which
    key held what and what is used instead. JSON's Infinity as keep_takes used to stop the kiosk at start."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"kiosk": {key: bad, "lang": "en"}}), encoding="utf-8")
    with caplog.at_level("WARNING", logger="app.kiosk.settings"):
        settings = load_settings(path)
    assert getattr(settings, key) == getattr(KioskSettings, key) and settings.lang == "en"
    assert f'{message} ("{key}" in config.json)' in caplog.text


def test_json_infinity_and_nan_as_written_by_hand_fall_back_to_the_defaults(tmp_path, caplog):
    """Python's json reads Infinity, NaN and an overflowing 1e400 (as inf) from a hand-edited file:
    an idle time of inf would never send the kiosk back to its start screen."""
    path = tmp_path / "config.json"
    path.write_text('{"kiosk": {"idle_timeout_s": 1e400, "keep_takes": NaN, "max_record_s": Infinity}}',
                    encoding="utf-8")
    with caplog.at_level("WARNING", logger="app.kiosk.settings"):
        settings = load_settings(path)
    assert (settings.idle_timeout_s, settings.keep_takes, settings.max_record_s) == (90.0, 200, 5.0)
    for key in ("idle_timeout_s", "keep_takes", "max_record_s"):
        assert f'("{key}" in config.json)' in caplog.text


@pytest.mark.parametrize("key, written, read", [
    ("strictness", "Strict", "strict"), ("strictness", " STRICT ", "strict"), ("strictness", "Gentle", "gentle"),
    ("keep_takes", "50", 50), ("keep_takes", " 7 ", 7), ("keep_takes", 30.0, 30), ("keep_takes", "1e3", 1000),
    ("idle_timeout_s", "30", 30.0), ("idle_timeout_s", " 12.5 ", 12.5), ("idle_timeout_s", 45, 45.0),
    ("max_record_s", "8", 8.0),
])
def test_a_configured_strictness_or_number_is_read_in_any_case_and_from_a_numeric_string(tmp_path, caplog, key,
                                                                                         written, read):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"kiosk": {key: written}}), encoding="utf-8")
    with caplog.at_level("WARNING", logger="app.kiosk.settings"):
        value = getattr(load_settings(path), key)
    assert value == read and type(value) is type(read)
    assert "is not" not in caplog.text


def test_holding_the_title_asks_for_the_code(qtbot, home):
    kiosk = make_kiosk(qtbot, wait_model=False)
    w = kiosk.window
    qtbot.mousePress(w.title, Qt.LeftButton)
    qtbot.waitUntil(lambda: w.pages.currentWidget() is w.pin_pad, timeout=5000)
    qtbot.mouseRelease(w.title, Qt.LeftButton)
    click(qtbot, w.pin_pad.cancel_button)
    assert w.pages.currentWidget() is w.start_page


@pytest.mark.parametrize("reachable", [False, True], ids=["offline", "online"])
def test_operator_settings_are_saved_and_keep_other_config(qtbot, home, reachable):
    from core.paths import config_path

    config_path().parent.mkdir(parents=True, exist_ok=True)
    config_path().write_text(json.dumps({"mic": {"card": "USB"}}), encoding="utf-8")
    kiosk = make_kiosk(qtbot, wait_model=False, gtts_reachable=lambda: reachable)  # the network, decided here
    w = kiosk.window
    w.ask_operator_code()
    for digit in SETTINGS.operator_pin:
        click(qtbot, w.pin_pad.keys[digit])
    click(qtbot, w.pin_pad.keys["OK"])
    panel = w.operator_panel
    qtbot.waitUntil(lambda: panel.gtts.text() != "checking…", timeout=10_000)
    expected = "reachable — not used" if reachable else "not reachable — not used"  # SETTINGS: espeak-ng
    assert panel.gtts.text().startswith(expected)
    panel.strictness.setCurrentText("strict")
    click(qtbot, panel.save_button)
    saved = json.loads(config_path().read_text(encoding="utf-8"))
    assert saved["mic"] == {"card": "USB"}
    assert saved["kiosk"]["strictness"] == "strict"
    assert load_settings().strictness == "strict"
    assert kiosk.controller.settings.strictness == "strict"
    assert w.pages.currentWidget() is w.start_page


def _fresh_tts_cache(monkeypatch, tmp_path, fetch_gtts) -> Path:
    """An empty TTS cache, no shipped references, and Google's one network call faked."""
    import app.tts

    monkeypatch.setenv("MALSORI_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("MALSORI_ASSETS", str(tmp_path / "no-assets"))
    monkeypatch.setattr(app.tts, "fetch_gtts", fetch_gtts)
    return tmp_path / "cache" / "tts"


def _cached_engines(cache: Path) -> set[str]:
    return {p.parent.parent.name for p in cache.rglob("*.flac")}


def test_the_warm_up_asks_google_before_caching_the_scoring_voice(qtbot, home, tmp_path, monkeypatch):
    """With "auto", a cached espeak-ng entry is played before gTTS is asked: were the scoring
    reference cached first, an online kiosk would never fetch Google's voice for the word."""
    cache = _fresh_tts_cache(monkeypatch, tmp_path, lambda text, **kw: speak(text, voice="ko+m3"))
    kiosk = make_kiosk(qtbot, SETTINGS.with_changes(tts_engine="auto"), wait_model=False)
    kiosk.controller.choose_category(None)
    qtbot.waitUntil(lambda: _cached_engines(cache) == {"gtts", "espeak"}, timeout=RESULT_TIMEOUT_MS)


def test_the_warm_up_caches_the_scoring_voice_when_google_fails(qtbot, home, tmp_path, monkeypatch):
    from app.tts import GttsUnavailable

    def no_google(text, **kw):
        raise GttsUnavailable("no network")

    cache = _fresh_tts_cache(monkeypatch, tmp_path, no_google)
    kiosk = make_kiosk(qtbot, SETTINGS.with_changes(tts_engine="gtts"), wait_model=False)
    kiosk.controller.choose_category(None)
    qtbot.waitUntil(lambda: _cached_engines(cache) == {"espeak"}, timeout=RESULT_TIMEOUT_MS)



@pytest.mark.parametrize("engine, reachable, says", [
    ("auto", True, "reachable — used for words with no cached voice"),
    ("auto", False, "not reachable — cached voices play, espeak-ng for the rest"),
    ("gtts", True, "reachable — Listen plays it (cached first)"),
    ("gtts", False, "not reachable — Listen plays only words whose Google voice is cached"),
    ("espeak", True, "reachable — not used (voice setting: espeak-ng)"),
    ("espeak", False, "not reachable — not used (voice setting: espeak-ng)"),
])
def test_the_operator_is_told_what_listen_plays(engine, reachable, says):
    from app.kiosk.operator import gtts_status

    assert gtts_status(reachable, engine) == says


def test_idle_timeout_returns_to_the_start_screen_and_forgets_the_visitor(qtbot, home, mic):
    now = [1000.0]  # the idle timer's clock: it moves only when this test moves it
    mic(np.zeros(16_000, np.float32))
    kiosk = make_kiosk(qtbot, SETTINGS.with_changes(idle_timeout_s=90.0), wait_model=False, clock=lambda: now[0])
    w, c = kiosk.window, kiosk.controller
    assert w.idle.timer.isActive() and w.idle.timer.interval() <= 1000  # the real kiosk checks every second
    click(qtbot, w.category_buttons["food"])
    click(qtbot, w.speak_button)  # a (silent) try puts the word in the history strip
    qtbot.waitUntil(lambda: bool(w.history.chips), timeout=RESULT_TIMEOUT_MS)

    now[0] += 89.0  # the visitor is still thinking
    w.idle.check()
    assert w.pages.currentWidget() is w.practice_page and w.history.chips
    qtbot.keyClick(w, Qt.Key_Space)  # any touch or key starts the wait again
    now[0] += 89.0
    w.idle.check()
    assert w.pages.currentWidget() is w.practice_page and w.history.chips
    now[0] += 1.0  # 90 s without input: the visitor left
    w.idle.check()
    assert w.pages.currentWidget() is w.start_page
    assert c.state == ctl.HOME
    assert w.history.chips == [] and c.best == {}  # the next visitor starts fresh


def test_an_unexpected_error_in_a_slot_returns_home(qtbot, home, tmp_path):
    from app.kiosk.app import install_excepthook

    kiosk = make_kiosk(qtbot, wait_model=False)
    w, c = kiosk.window, kiosk.controller
    c.choose_category("food")
    previous = install_excepthook(kiosk)
    try:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            sys.excepthook(*sys.exc_info())
        qtbot.waitUntil(lambda: w.pages.currentWidget() is w.start_page, timeout=5000)
    finally:
        sys.excepthook = previous
    assert "went wrong" in w.start_message.text()
    from core.paths import log_path

    assert "RuntimeError: boom" in log_path().read_text(encoding="utf-8")


# --- pure parts -------------------------------------------------------------------------------


def test_the_error_log_is_capped_with_one_backup(tmp_path):
    from app.kiosk.app import append_capped_log

    log = tmp_path / "logs" / "malsori.log"
    for i in range(30):
        append_capped_log(log, f"error {i:02d} " + "x" * 90 + "\n", max_bytes=1000)
    assert sorted(p.name for p in log.parent.iterdir()) == ["malsori.log", "malsori.log.1"]
    assert log.stat().st_size <= 1000 and (tmp_path / "logs" / "malsori.log.1").stat().st_size <= 1000
    assert log.read_text(encoding="utf-8").rstrip().endswith("error 29 " + "x" * 90)  # the newest is kept


@pytest.mark.parametrize("strictness,score,band", [
    ("normal", 80, "green"), ("normal", 60, "amber"), ("normal", 20, "red"),
    ("strict", 80, "amber"), ("gentle", 60, "green"),
])
def test_verdict_bands_follow_strictness(strictness, score, band):
    assert ctl.verdict(score, strictness)[0] == band


def test_settings_round_trip_and_survive_a_broken_file(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{not json", encoding="utf-8")
    assert load_settings(path) == KioskSettings()
    save_settings(KioskSettings(strictness="gentle", operator_pin="4321"), path)
    assert load_settings(path).strictness == "gentle" and load_settings(path).operator_pin == "4321"
    backups = list(tmp_path.glob("config.json.corrupt-*"))  # the broken file is kept, not overwritten
    assert [b.read_text(encoding="utf-8") for b in backups] == ["{not json"]
    save_settings(KioskSettings(strictness="strict"), path)  # a healthy file is not backed up again
    assert list(tmp_path.glob("config.json.corrupt-*")) == backups


def test_two_broken_configs_in_one_second_keep_two_backups(tmp_path):
    path = tmp_path / "config.json"
    for broken in ("{first", "{second", "{third"):  # far quicker than a second apart
        path.write_text(broken, encoding="utf-8")
        save_settings(KioskSettings(), path)
    kept = sorted(b.read_text(encoding="utf-8") for b in tmp_path.glob("config.json.corrupt-*"))
    assert kept == ["{first", "{second", "{third"]


def test_workers_run_off_the_gui_thread_and_report_back_on_it(qtbot):
    from PyQt5.QtCore import QThread

    from app.workers import TaskRunner
    from core.errors import NoSpeechError

    runner = TaskRunner()
    gui = QThread.currentThread()
    seen = {}

    def work():
        seen["worker"] = QThread.currentThread()
        return 42

    def fail():
        raise NoSpeechError("nothing")

    with qtbot.waitCallback() as done:
        runner.run_task(work, lambda r: done((r, QThread.currentThread())))
    assert done.args[0] == (42, gui) and seen["worker"] is not gui
    with qtbot.waitCallback() as failed:
        runner.run_task(fail, None, lambda exc: failed(exc))
    assert isinstance(failed.args[0], NoSpeechError)


def test_a_finished_task_frees_its_qt_objects_on_the_gui_thread(qtbot):
    """Each task's signal object is deleted by the GUI thread's event loop once its result is
    delivered, not left in a reference cycle for Python's cyclic collector, which runs on
    whichever thread allocates next and once freed an old kiosk's Qt objects mid-test."""
    import gc

    from app.workers import TaskRunner

    runner = TaskRunner()
    gc.collect()
    gc.disable()
    try:
        for value in range(5):
            with qtbot.waitCallback() as done:
                runner.run_task(lambda v=value: v, done)
            assert done.args == [value]
        assert runner.wait_idle() and not runner.busy
        # the event loop deletes the signal objects, then the slot proxies PyQt retires with them
        qtbot.waitUntil(lambda: not [o for o in gc.get_objects() if type(o).__name__ == "_TaskSignals"], timeout=2000)
    finally:
        gc.enable()


PROC_CARDS = """ 0 [vc4hdmi0       ]: vc4-hdmi - vc4-hdmi-0
                      vc4-hdmi-0
 1 [Device         ]: USB-Audio - USB PnP Sound Device
                      C-Media Electronics Inc. USB PnP Sound Device at usb-xhci-hcd.0-1, full speed
"""


def test_operator_picks_the_mic_and_writes_the_persistent_profile(qtbot, home, tmp_path, monkeypatch):
    import app.devices
    from core.paths import config_path

    user_home = tmp_path / "user"
    user_home.mkdir()
    monkeypatch.setenv("HOME", str(user_home))
    # The Pi's kernel card list is the one thing that cannot exist here.
    monkeypatch.setattr(app.devices, "read_alsa_cards", lambda *a, **k: app.devices.parse_alsa_cards(PROC_CARDS))
    kiosk = make_kiosk(qtbot, wait_model=False)
    w = kiosk.window
    w.ask_operator_code()
    for digit in SETTINGS.operator_pin:
        click(qtbot, w.pin_pad.keys[digit])
    click(qtbot, w.pin_pad.keys["OK"])
    panel = w.operator_panel
    qtbot.waitUntil(lambda: panel.mic_button.isEnabled(), timeout=10_000)
    assert panel.mic.itemText(0).startswith("USB PnP Sound Device [Device]")  # USB first
    panel.mic.setCurrentIndex(0)
    click(qtbot, panel.mic_button)
    qtbot.waitUntil(lambda: panel.status.text().startswith("Microphone saved"), timeout=10_000)
    assert "hw:CARD=Device" in (user_home / ".asoundrc").read_text(encoding="utf-8")
    assert json.loads(config_path().read_text(encoding="utf-8"))["microphone"]["card_id"] == "Device"


def test_an_unplugged_mic_clears_the_last_takes_advice_under_its_banner(qtbot, home):
    """"Press Speak, then say the word clearly" stayed under "Speak is off" after an unplug."""
    kiosk = make_kiosk(qtbot, wait_model=False)
    w, c = kiosk.window, kiosk.controller
    c.choose_category(None)
    w.message_label.setText("I didn't hear anything. Press Speak, then say the word clearly.")
    c._mic_checked("no microphone: unplugged")  # what the microphone watch reports
    assert w.mic_banner.isVisibleTo(w) and not w.speak_button.isEnabled() and not w.message_label.isVisibleTo(w)
    c._mic_checked("")  # plugged back in
    assert not w.mic_banner.isVisibleTo(w) and w.speak_button.isEnabled() and w.message_label.isVisibleTo(w)


@pytest.mark.parametrize("mic_problem", ["", "no microphone: unplugged"], ids=["mic", "no-mic"])
def test_every_page_fits_the_7_inch_touchscreen(qtbot, home, mic_problem):
    """Also with the no-microphone banner: it made every page 538 px tall, and full screen
    at 480 px cut off the bottom row of buttons (Speak, Next; the operator's Save, Exit)."""
    kiosk = make_kiosk(qtbot, wait_model=False)
    w, c = kiosk.window, kiosk.controller
    c.choose_category("food")
    c._mic_checked(mic_problem)  # what the microphone watch reports
    w.history.set_history([(e, 90.0) for e in c.entries] * 6)  # a long session
    w.history.setVisible(True)
    for page in (w.start_page, w.practice_page, w.result_page, w.pin_pad, w.operator_panel):
        w.pages.setCurrentWidget(page)
        hint = w.minimumSizeHint()
        assert hint.width() <= 800 and hint.height() <= 480, (page, hint)
        if page in (w.start_page, w.practice_page, w.result_page):
            assert w.mic_banner.isVisibleTo(w) == bool(mic_problem)


def test_the_operator_screen_shows_its_status_in_full_without_the_visitors_strip(qtbot, home):
    """Opened from a word card: the visitor's history strip and "food · 1 / 2" stayed on screen
    and squeezed the panel until the status line (the operator's only diagnostic) was cut off."""
    from PyQt5.QtWidgets import QApplication

    from app.kiosk.app import choose_hangul_font

    choose_hangul_font(QApplication.instance())  # the kiosk's own font, as run_kiosk sets it
    kiosk = make_kiosk(qtbot, wait_model=False, gtts_reachable=lambda: False)
    w, c = kiosk.window, kiosk.controller
    c.choose_category("food")
    w.history.set_history([(c.entries[0], 96.0)])
    w.history.setVisible(True)
    c.last_problem = "recording: no microphone: ALSA cannot open 'default' for recording (No such device)"
    qtbot.keyClick(w, Qt.Key_Escape)
    for digit in SETTINGS.operator_pin:
        click(qtbot, w.pin_pad.keys[digit])
    click(qtbot, w.pin_pad.keys["OK"])
    qtbot.wait(50)  # the layout settles
    status = w.operator_panel.status
    assert status.text().startswith("Last problem — recording: no microphone: ALSA")
    assert not w.history.isVisibleTo(w) and not w.progress.isVisibleTo(w)
    assert status.height() >= status.heightForWidth(status.width()), "the status line is cut off"
    click(qtbot, w.operator_panel.back_button)
    assert w.pages.currentWidget() is w.start_page


def test_leaving_the_operator_screen_starts_the_next_visitor_fresh_and_escape_is_back(qtbot, home):
    """Back kept the last visitor's chips ("사과 96") for the next one; Escape on the operator
    screen asked for the code again."""
    kiosk = make_kiosk(qtbot, wait_model=False)
    w, c = kiosk.window, kiosk.controller
    c.choose_category("food")
    w.history.set_history([(c.entries[0], 96.0)])
    for leave in (lambda: click(qtbot, w.operator_panel.back_button), lambda: qtbot.keyClick(w, Qt.Key_Escape)):
        qtbot.keyClick(w, Qt.Key_Escape)
        for digit in SETTINGS.operator_pin:
            click(qtbot, w.pin_pad.keys[digit])
        click(qtbot, w.pin_pad.keys["OK"])
        assert w.pages.currentWidget() is w.operator_panel
        leave()
        assert w.pages.currentWidget() is w.start_page
        c.choose_category("food")
        assert not w.history.chips and not w.history.isVisibleTo(w)


def test_cancelling_the_code_returns_to_the_card_with_its_strip_and_place(qtbot, home):
    kiosk = make_kiosk(qtbot, wait_model=False)
    w, c = kiosk.window, kiosk.controller
    c.choose_category("food")
    w.history.set_history([(c.entries[0], 96.0)])
    qtbot.keyClick(w, Qt.Key_Escape)
    click(qtbot, w.pin_pad.cancel_button)
    assert w.pages.currentWidget() is w.practice_page
    assert w.history.isVisibleTo(w) and w.progress.isVisibleTo(w) and w.progress.text() == "food · 1 / 2"


def test_clipped_take_asks_to_step_back_and_gives_no_score(qtbot, home, mic):
    loud = np.clip(word_audio("사과") * 30.0, -1.0, 1.0)
    mic(loud)
    kiosk = make_kiosk(qtbot)
    w, c = kiosk.window, kiosk.controller
    results = []
    c.result_ready.connect(results.append)
    c.choose_category(None)
    click(qtbot, w.speak_button)
    qtbot.waitUntil(lambda: "too loud" in w.message_label.text(), timeout=RESULT_TIMEOUT_MS)
    assert results == [] and c.state == ctl.CARD


def test_no_microphone_gives_a_friendly_message(qtbot, home, mic, monkeypatch):
    from app.devices import reinit_portaudio

    mic_home = mic(word_audio("사과"))
    # The USB mic is unplugged: the default capture device names a card that is not there.
    (mic_home / ".asoundrc").write_text(
        'pcm.!default { type asym; playback.pcm "nullout"; capture.pcm "hw:CARD=NoSuchMic,DEV=0" }\n'
        "pcm.nullout { type asym; playback.pcm { type null } }\n")  # a speaker that cannot record
    reinit_portaudio()
    kiosk = make_kiosk(qtbot)
    w, c = kiosk.window, kiosk.controller
    c.choose_category(None)
    click(qtbot, w.speak_button)
    qtbot.waitUntil(lambda: c.state == ctl.CARD and w.message_label.text() != "", timeout=RESULT_TIMEOUT_MS)
    # One plain line: no PortAudio codes, no `malsori mic` commands for a learner to puzzle over.
    assert w.message_label.text() == "The microphone or speaker is not working — please ask a helper."
    assert c.last_result is None
    assert w.history.chips == []  # nothing was recorded, so nothing joins the history strip
    assert c.last_problem.startswith("recording: ")  # the detail is kept for the log and the operator
    qtbot.waitUntil(lambda: w.mic_banner.isVisible() and not w.speak_button.isEnabled(), timeout=10_000)
    w.ask_operator_code()
    for digit in SETTINGS.operator_pin:
        click(qtbot, w.pin_pad.keys[digit])
    click(qtbot, w.pin_pad.keys["OK"])
    # the take's failure made the kiosk look for its microphone: the operator reads why in full
    assert w.operator_panel.status.text().startswith("Microphone — no microphone: ALSA cannot open")


@pytest.mark.parametrize("error", [
    DeviceError("no microphone found: check `malsori mic list`"),
    TTSError("espeak-ng failed: Error querying device -1"),
    AudioDecodeError("/tmp/x.wav: not readable audio"),
    RuntimeError("PortAudio: Error querying device -1"),
])
def test_learner_messages_never_carry_the_technical_detail(error):
    text = ctl.friendly_message(error)
    assert str(error) not in text and "`" not in text and "(" not in text


def test_listen_and_play_mine_play_and_come_back(qtbot, home, mic):
    mic(word_audio("사과"))
    kiosk = make_kiosk(qtbot)
    w, c = kiosk.window, kiosk.controller
    c.choose_category(None)
    states = []
    c.state_changed.connect(states.append)
    click(qtbot, w.listen_button)  # espeak-ng reference → ALSA's null speaker
    qtbot.waitUntil(lambda: c.state == ctl.CARD, timeout=RESULT_TIMEOUT_MS)
    assert states == [ctl.LISTENING, ctl.CARD] and w.message_label.text() == ""
    with qtbot.waitSignal(c.result_ready, timeout=RESULT_TIMEOUT_MS):
        click(qtbot, w.speak_button)
    states.clear()
    click(qtbot, w.result_play_mine_button)
    assert w.pages.currentWidget() is w.result_page  # the picture stays while the take plays
    qtbot.waitUntil(lambda: c.state == ctl.RESULT, timeout=RESULT_TIMEOUT_MS)
    assert states == [ctl.LISTENING, ctl.RESULT]


def test_a_hangul_font_is_chosen_and_has_the_glyphs(qtbot):
    from PyQt5.QtGui import QFontMetrics
    from PyQt5.QtWidgets import QApplication

    from app.kiosk.app import choose_hangul_font

    family = choose_hangul_font(QApplication.instance())
    assert family is not None, "install fonts-nanum (deploy/setup.sh) or put a Hangul font in assets/fonts"
    metrics = QFontMetrics(QApplication.instance().font())
    assert all(metrics.inFont(ch) for ch in "말소리사과")


def test_the_code_is_taken_on_ok_so_that_ok_never_lands_on_the_operator_screen(qtbot, home):
    kiosk = make_kiosk(qtbot, wait_model=False)
    w = kiosk.window
    w.ask_operator_code()
    for digit in SETTINGS.operator_pin:
        click(qtbot, w.pin_pad.keys[digit])
    assert w.pages.currentWidget() is w.pin_pad  # the right digits alone do not open it
    click(qtbot, w.pin_pad.keys["OK"])
    assert w.pages.currentWidget() is w.operator_panel
    assert not w.operator_panel.strictness.view().isVisible()  # no drop-down opened under the finger


def test_a_fresh_config_shows_and_saves_the_list_learners_are_served(qtbot, home):
    """No word list configured: the kiosk serves the first list with Korean entries; the
    operator's box shows that list (it showed the first list of all, en_beginner) and Save keeps it."""
    from core.paths import config_path

    fresh = KioskSettings(lang="ko", tts_engine="espeak", idle_timeout_s=600.0)  # word_list ""
    kiosk = make_kiosk(qtbot, fresh, wait_model=False, gtts_reachable=lambda: False)
    w = kiosk.window
    served = [e.text for e in kiosk.controller.entries]
    assert served and w.serving_list
    w.ask_operator_code()
    for digit in fresh.operator_pin:
        click(qtbot, w.pin_pad.keys[digit])
    click(qtbot, w.pin_pad.keys["OK"])
    assert w.operator_panel.word_list.currentText() == w.serving_list
    click(qtbot, w.operator_panel.save_button)
    assert json.loads(config_path().read_text(encoding="utf-8"))["kiosk"]["word_list"] == w.serving_list
    assert [e.text for e in kiosk.controller.entries] == served  # Save changed nothing learners see


def test_no_microphone_is_shown_at_start_and_recovers_when_one_is_plugged_in(qtbot, home, mic, monkeypatch):
    """Unplugged: the first screen says so in large text and Speak is off. Plugged in (here:
    the ALSA default points at the fake mic again), the kiosk notices by itself and records."""
    from app.devices import reinit_portaudio

    mic_home = mic(word_audio("사과"))
    plugged = (mic_home / ".asoundrc").read_text()
    (mic_home / ".asoundrc").write_text(
        'pcm.!default { type asym; playback.pcm "nullout"; capture.pcm "hw:CARD=NoSuchMic,DEV=0" }\n'
        "pcm.nullout { type null }\n")
    reinit_portaudio()  # PortAudio starts without an input device, as a kiosk booted without its mic
    kiosk = make_kiosk(qtbot)
    w, c = kiosk.window, kiosk.controller
    c.watch_microphone()
    qtbot.waitUntil(lambda: w.mic_banner.isVisible(), timeout=10_000)
    assert w.pages.currentWidget() is w.start_page and "No microphone" in w.mic_banner.text()
    assert w.mic_banner.font().pointSize() >= w.message_label.font().pointSize() or \
        w.mic_banner.fontInfo().pixelSize() > w.message_label.fontInfo().pixelSize()
    c.choose_category(None)
    assert not w.speak_button.isEnabled() and w.mic_banner.isVisible()
    c.speak()  # a USB keyboard's Enter: still no recording attempt
    assert c.state == ctl.CARD and w.message_label.text() == ctl.NO_MIC_MESSAGE

    fresh = mic_home / ".asoundrc.new"  # a new file (inode), as ALSA notices a changed config by its stat
    fresh.write_text(plugged)
    fresh.replace(mic_home / ".asoundrc")  # the helper plugs the microphone in
    c.check_microphone()  # the poll timer's tick, without waiting for it
    qtbot.waitUntil(lambda: w.speak_button.isEnabled(), timeout=10_000)
    assert not w.mic_banner.isVisible()
    with qtbot.waitSignal(c.result_ready, timeout=RESULT_TIMEOUT_MS):
        click(qtbot, w.speak_button)


def test_a_word_in_10_db_noise_ends_by_itself_after_the_word_and_is_scored(qtbot, home, mic):
    """At 10 dB SNR (white noise through the whole take) the take ends on its own soon after
    the word, not at the kiosk's longest take, and is scored."""
    from speech import add_noise

    word = speak("물")
    mic(add_noise(pad(word, lead_s=0.5, trail_s=8.0), snr_db=10, seed=1))
    kiosk = make_kiosk(qtbot)
    w, c = kiosk.window, kiosk.controller
    c.practise(next(e for e in c.entries if e.text == "물"))
    with qtbot.waitSignal(c.result_ready, timeout=RESULT_TIMEOUT_MS):
        click(qtbot, w.speak_button)
    assert c.take.stopped_by == "speech-end" and c.take.speech_found
    # the take holds the pre-roll, the word and the 0.4 s that told the word was over
    assert c.take.duration_s < len(word) / 16_000 + 1.0 < SETTINGS.max_record_s


def test_a_sentences_result_and_an_english_card_fit_the_screen_without_empty_parts(qtbot, home, mic):
    """A Korean sentence with its romanisation widened the window from 800 to 1016 px (Next off
    screen, for every visitor after); an English word showed "hello  ·" and an empty line."""
    from core.paths import assets_dir
    from core.wordlists import load_wordlist

    kiosk, rr = scored_take(qtbot, mic)
    w, c = kiosk.window, kiosk.controller
    korean = load_wordlist(assets_dir() / "wordlists" / "ko_beginner.csv")
    english = load_wordlist(assets_dir() / "wordlists" / "en_beginner.csv")
    sentence = max(korean, key=lambda e: len(e.text) + len(e.romanization))
    w._on_result(ctl.RoundResult(sentence, 90.0, "green", "Great", rr.result))
    w.pages.setCurrentWidget(w.result_page)
    qtbot.wait(50)  # the layout settles
    assert w.minimumSizeHint().width() <= 800 and w.width() <= 800, (w.minimumSizeHint(), w.width())
    w.mel_view.canvas.draw()  # at the height the three-line verdict leaves the pictures
    renderer = w.mel_view.figure.canvas.get_renderer()
    for ax in w.mel_view.figure.axes:  # "seconds" and the title inside the canvas, not cut off
        below, above = ax.xaxis.label.get_window_extent(renderer), ax.title.get_window_extent(renderer)
        assert below.y0 >= 0 and above.y1 <= w.mel_view.figure.bbox.height, (below, above)
    word = english[0]
    assert not word.romanization and word.gloss == word.text  # what the list holds
    w._on_result(ctl.RoundResult(word, 90.0, "green", "Great", rr.result))
    assert w.result_word.text() == word.text
    w._on_entry(word, 0, 1)
    assert w.roman.isHidden() and w.gloss.isHidden()
    w._on_entry(sentence, 0, 1)
    assert not w.roman.isHidden() and not w.gloss.isHidden()


def test_a_list_without_the_chosen_language_shows_the_list_served_and_says_why(qtbot, home):
    """ko_beginner with English chosen: the kiosk serves en_beginner, and the operator's box
    said ko_beginner (and Save kept it) while learners saw English words."""
    settings = KioskSettings(word_list="ko_beginner", lang="en", tts_engine="espeak", idle_timeout_s=600.0)
    kiosk = make_kiosk(qtbot, settings, wait_model=False, gtts_reachable=lambda: False)
    w = kiosk.window
    assert w.serving_list == "en_beginner" and {e.lang for e in kiosk.controller.entries} == {"en"}
    w.ask_operator_code()
    for digit in settings.operator_pin:
        click(qtbot, w.pin_pad.keys[digit])
    click(qtbot, w.pin_pad.keys["OK"])
    assert w.operator_panel.word_list.currentText() == "en_beginner"
    assert w.operator_panel.status.text() == "ko_beginner has no en words: learners get en_beginner"
