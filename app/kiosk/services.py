"""The kiosk's outside world behind plain callables: model, word lists, TTS, mic, speaker.

The controller only sees `KioskServices`; tests swap single members (never the whole
world). Every member may block and is only ever called from a worker thread, except
`make_recorder` (cheap; the returned recorder's `record()` runs in a worker and its
`stop()` is called from the GUI thread).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

import numpy as np

from core.errors import DeviceError


class RecorderLike(Protocol):
    def record(self) -> Any: ...  # -> app.recorder.Take (blocking)

    def stop(self) -> None: ...  # thread-safe


@dataclass(frozen=True)
class KioskServices:
    load_scorer: Callable[[], Any]  # -> models.Scorer; raises ModelError
    get_reference: Callable[[Any], Any]  # Entry -> app.tts.Reference (audio, sr, engine): the voice played
    scoring_reference: Callable[[Any], Any]  # Entry -> the Reference a take is scored against (espeak-ng's)
    make_recorder: Callable[[Callable[[float], None]], RecorderLike]  # on_level(0..1), audio thread
    play: Callable[[np.ndarray, int], None]  # blocks until played; raises DeviceError
    gtts_reachable: Callable[[], bool]
    mic_problem: Callable[[], str] = lambda: ""  # "" = a microphone is there; else why none is


def default_services(settings, *, model_path: Path | None = None) -> KioskServices:
    """The real thing: the installed model, gTTS/espeak-ng, the ALSA default mic, the speaker."""

    def load_scorer():
        from models import Scorer

        return Scorer.load(model_path)

    def get_reference(entry):
        from app.tts import get_reference as tts_reference

        return tts_reference(entry.text, lang=entry.lang, engine=settings.tts_engine)

    def scoring_reference(entry):
        from app.tts import scoring_reference as tts_scoring_reference

        return tts_scoring_reference(entry.text, lang=entry.lang)

    def make_recorder(on_level):
        from core.paths import recordings_dir
        from app.recorder import Recorder

        return Recorder(max_seconds=settings.max_record_s, auto_stop=True, on_level=on_level,
                        save_dir=recordings_dir(), keep_takes=settings.keep_takes)

    def gtts_reachable() -> bool:
        from app.tts import gtts_reachable as reachable

        return reachable(timeout_s=2.0)

    return KioskServices(load_scorer, get_reference, scoring_reference, make_recorder, play_audio, gtts_reachable,
                         watch_mic())


def play_audio(audio: np.ndarray, sr: int) -> None:
    """Play float32 mono audio on the default output and wait until it has played."""
    import sounddevice as sd

    from app.devices import hold_portaudio

    release = hold_portaudio()
    try:
        sd.play(np.asarray(audio, dtype=np.float32), int(sr))
        sd.wait()
    except sd.PortAudioError as exc:
        raise DeviceError(f"no speaker could play the sound ({exc}); check the audio output") from exc
    finally:
        sd.stop(ignore_errors=True)  # closes the stream: none is left open for a later re-init
        release()


def load_entries(list_path: Path | None, *, lang: str):
    """(list path, entries in `lang`) for the chosen list, or the first list that has `lang`.

    Raises WordListError when no list has entries in that language.
    """
    from core.wordlists import WordListError, available_lists, load_wordlist

    candidates = ([list_path] if list_path else []) + available_lists()
    problems = []
    for path in candidates:
        try:
            entries = [e for e in load_wordlist(path) if e.lang == lang]
        except WordListError as exc:
            problems.append(str(exc))
            continue
        if entries:
            return path, entries
    detail = f" ({problems[0]})" if problems else ""
    raise WordListError(f"no word list has {lang!r} entries{detail}; add one with `malsori tts --add-list FILE`")


def find_list(name: str) -> Path | None:
    """The available list whose stem is `name`, or None."""
    from core.wordlists import available_lists

    return next((p for p in available_lists() if p.stem == name), None) if name else None


def watch_mic() -> Callable[[], str]:
    """The kiosk's mic_problem service: "" when the default microphone can record, else why
    not (asked of ALSA, so a hot-plug shows at once). When a microphone comes back, PortAudio
    is re-initialised so that the next take finds it (its device list is fixed when it
    initialises). Only called while no audio stream is open (the controller polls on idle
    screens only)."""
    from app.devices import microphone_problem, portaudio_sees_input, reinit_portaudio

    missing = False

    def mic_problem() -> str:
        nonlocal missing
        problem = microphone_problem()
        if not problem and (missing or not portaudio_sees_input()):
            reinit_portaudio()  # waits for any stream still closing
        missing = bool(problem)
        return problem

    return mic_problem
