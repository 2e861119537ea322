"""Operator settings for the kiosk, kept under the "kiosk" key of config.json (no Qt)."""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from app.tts import ENGINES

STRICTNESS_LEVELS = ("gentle", "normal", "strict")
LANGUAGES = ("ko", "en")
TTS_ENGINES = ("auto", *ENGINES)
# Names a hand-edited config may use for an engine: the docs call the offline voice "espeak-ng".
TTS_ENGINE_ALIASES = {"espeak-ng": "espeak", "espeak_ng": "espeak", "google": "gtts"}  # gTTS is Google's voice
MAX_RECORD_RANGE_S = (1.0, 60.0)  # shorter cuts a word off; longer only delays a take whose end was missed
DEFAULT_PIN = "2580"  # change it in config.json ("kiosk": {"operator_pin": …}); MALSORI_KIOSK_PIN overrides
CONFIG_KEY = "kiosk"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KioskSettings:
    """word_list: a list's file stem (see core.wordlists.available_lists); "" = the first one.
    lang: the learner's target language ("ko", "en"); lists and TTS use it.
    strictness: how high a score must be for a green verdict (see controller.BANDS).
    idle_timeout_s: with no touch for this long, the kiosk returns to its start screen.
    operator_pin: digits that unlock the operator screen and the exit.
    tts_engine: the voice Listen plays: "auto" (a cached reference, else gTTS, else espeak-ng), "gtts"
        or "espeak" (also read as "espeak-ng"). Takes are scored against espeak-ng's whatever it is.
    max_record_s: the longest take, 1-60 s; recording also stops by itself when speech ends.
    keep_takes: how many of the newest takes stay in recordings_dir(); older ones are deleted.
    """

    word_list: str = ""
    lang: str = "ko"
    strictness: str = "normal"
    idle_timeout_s: float = 90.0
    operator_pin: str = DEFAULT_PIN
    tts_engine: str = "auto"
    max_record_s: float = 5.0
    keep_takes: int = 200

    def __post_init__(self) -> None:
        # A hand-edited "EN", " Strict", "espeak-ng" or "30" means what it says; only a value that cannot
        # be read that way falls back to the default, with a warning that names the key.
        if not isinstance(self.word_list, str):  # JSON null or 3 is no list name (str() made "None" of null)
            _fall_back("word_list", "word list", self.word_list, "a list name", "the language's first list")
            object.__setattr__(self, "word_list", "")
        object.__setattr__(self, "operator_pin", str(self.operator_pin))
        self._choose("lang", "language", LANGUAGES)
        self._choose("tts_engine", "voice engine", TTS_ENGINES, aliases=TTS_ENGINE_ALIASES)
        self._choose("strictness", "strictness", STRICTNESS_LEVELS)
        if not (self.operator_pin.isdigit() and 4 <= len(self.operator_pin) <= 8):
            log.warning("the configured operator code is not 4-8 digits: using the default %s", DEFAULT_PIN)
            object.__setattr__(self, "operator_pin", DEFAULT_PIN)
        low, high = MAX_RECORD_RANGE_S
        # Out of range also catches NaN; 0 would fail every take at the recorder.
        self._measure("max_record_s", "longest take", lambda s: low <= s <= high, f"{low:g}-{high:g} s", unit=" s")
        # Finite: an idle time of inf (JSON's Infinity, or 1e400) would never return to the start screen.
        self._measure("idle_timeout_s", "idle time", lambda s: 0 < s < math.inf, "a number of seconds above 0",
                      unit=" s")
        # Whole numbers only: int() of inf (JSON's Infinity) would stop the kiosk at start.
        self._measure("keep_takes", "number of takes kept", lambda n: n >= 1 and n.is_integer(),
                      "a whole number of 1 or more", kind=int)

    def _choose(self, key: str, what: str, names: tuple, *, aliases: dict | None = None) -> None:
        """Set `key` to its value read in any case, spaces trimmed, through `aliases`, when that is one
        of `names`; else to the class default."""
        value = getattr(self, key)
        name = str(value).strip().lower()
        name = (aliases or {}).get(name, name)
        if name not in names:
            name = getattr(type(self), key)
            _fall_back(key, what, value, f"one of {', '.join(names)}", name)
        object.__setattr__(self, key, name)

    def _measure(self, key: str, what: str, fits: Callable[[float], bool], rule: str, *, kind: type = float,
                 unit: str = "") -> None:
        """Set `key` to its value read as a number (12, 12.5, " 12 ", "12") when `fits` holds; else to
        the class default."""
        value, default = getattr(self, key), getattr(type(self), key)
        number = _number(value)
        if number is None or not fits(number):
            _fall_back(key, what, value, rule, f"{default:g}{unit}")
            number = default
        object.__setattr__(self, key, kind(number))

    def with_changes(self, **changes) -> "KioskSettings":
        return replace(self, **changes)


def load_settings(path: Path | None = None) -> KioskSettings:
    """Settings from config.json; a missing, unreadable or partial file gives defaults."""
    from core.paths import config_path

    data = _read_config(path or config_path()).get(CONFIG_KEY, {})
    known = {f.name for f in fields(KioskSettings)}
    # Values go in as written: KioskSettings reads them (and warns about what it cannot read).
    values = {name: value for name, value in (data.items() if isinstance(data, dict) else ()) if name in known}
    settings = KioskSettings(**values)
    pin = os.environ.get("MALSORI_KIOSK_PIN")
    return settings.with_changes(operator_pin=pin) if pin else settings


def _number(value) -> float | None:
    """12, 12.5, " 12 ", "1e3" as a float (also nan, inf); None for what is no number: "abc", true, [3], null."""
    if isinstance(value, bool):  # JSON true is no count of takes or seconds
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _fall_back(key: str, what: str, value, rule: str, used: str) -> None:
    log.warning("the configured %s %r is not %s: using %s (\"%s\" in config.json)", what, value, rule, used, key)


def save_settings(settings: KioskSettings, path: Path | None = None) -> Path:
    """Write the kiosk key atomically, keeping whatever else config.json holds."""
    from core.fileio import atomic_write_json
    from core.paths import config_path

    path = Path(path or config_path())
    config = _read_config(path)
    if not config and _is_corrupt(path):
        # Keep what the operator (or `malsori mic use`) wrote, e.g. the "microphone" key, to fix by hand.
        backup = _free_backup_name(path)
        path.replace(backup)
        log.warning("%s was not readable JSON: kept as %s, writing a fresh one", path, backup)
    config[CONFIG_KEY] = asdict(settings)
    return atomic_write_json(path, config)


def _free_backup_name(path: Path) -> Path:
    """config.json.corrupt-20260101-120000, then -2, -3 …: two rescues in one second both stay."""
    stem = f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}"
    backup, n = path.with_name(stem), 1
    while backup.exists():
        n += 1
        backup = path.with_name(f"{stem}-{n}")
    return backup


def _read_config(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        if _is_corrupt(path):
            log.warning("%s is not readable JSON: using the default kiosk settings", path)
        return {}
    return data if isinstance(data, dict) else {}


def _is_corrupt(path: Path) -> bool:
    """The file exists and has content, but not a JSON object."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError:  # missing or unreadable: nothing to rescue, nothing to overwrite by mistake
        return False
    except ValueError:
        return True
    return not isinstance(data, dict)
