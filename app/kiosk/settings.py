"""Operator settings for the kiosk, kept under the "kiosk" key of config.json (no Qt)."""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

from app.tts import ENGINES

STRICTNESS_LEVELS = ("gentle", "normal", "strict")
LANGUAGES = ("ko", "en")
TTS_ENGINES = ("auto", *ENGINES)
# Names a hand-edited config may use for an engine: the docs call the offline voice "espeak-ng".
TTS_ENGINE_ALIASES = {"espeak-ng": "espeak", "espeak_ng": "espeak"}
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
    tts_engine: "auto" (gTTS, falling back to espeak-ng), "gtts" or "espeak" (also read as "espeak-ng").
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
        if self.strictness not in STRICTNESS_LEVELS:
            object.__setattr__(self, "strictness", "normal")
        # A hand-edited "EN" or " espeak-ng" means what it says; only an unknown name falls back.
        lang = str(self.lang).strip().lower()
        if lang in LANGUAGES:
            object.__setattr__(self, "lang", lang)
        engine = str(self.tts_engine).strip().lower()
        engine = TTS_ENGINE_ALIASES.get(engine, engine)
        if engine in TTS_ENGINES:
            object.__setattr__(self, "tts_engine", engine)
        if self.lang not in LANGUAGES:
            log.warning("the configured language %r is not one of %s: using %s", self.lang, ", ".join(LANGUAGES),
                        LANGUAGES[0])
            object.__setattr__(self, "lang", LANGUAGES[0])
        if self.tts_engine not in TTS_ENGINES:
            log.warning("the configured voice engine %r is not one of %s: using auto", self.tts_engine,
                        ", ".join(TTS_ENGINES))
            object.__setattr__(self, "tts_engine", "auto")
        if not (self.operator_pin.isdigit() and 4 <= len(self.operator_pin) <= 8):
            log.warning("the configured operator code is not 4-8 digits: using the default %s", DEFAULT_PIN)
            object.__setattr__(self, "operator_pin", DEFAULT_PIN)
        low, high = MAX_RECORD_RANGE_S
        if not low <= self.max_record_s <= high:  # also NaN; 0 would fail every take at the recorder
            log.warning("the configured longest take %r is not %g-%g s: using 5 s", self.max_record_s, low, high)
            object.__setattr__(self, "max_record_s", 5.0)
        if self.keep_takes < 1:
            object.__setattr__(self, "keep_takes", 200)
        if not self.idle_timeout_s > 0:
            object.__setattr__(self, "idle_timeout_s", 90.0)

    def with_changes(self, **changes) -> "KioskSettings":
        return replace(self, **changes)


def load_settings(path: Path | None = None) -> KioskSettings:
    """Settings from config.json; a missing, unreadable or partial file gives defaults."""
    from core.paths import config_path

    data = _read_config(path or config_path()).get(CONFIG_KEY, {})
    known = {f.name: f.type for f in fields(KioskSettings)}
    values = {}
    for name, value in (data.items() if isinstance(data, dict) else ()):
        if name not in known:
            continue
        default = getattr(KioskSettings, name)
        try:
            values[name] = type(default)(value)
        except (TypeError, ValueError):
            continue
    settings = KioskSettings(**values)
    pin = os.environ.get("MALSORI_KIOSK_PIN")
    return settings.with_changes(operator_pin=pin) if pin else settings


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
