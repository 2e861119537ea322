"""The persistent microphone profile: make a USB mic ALSA's default capture device *by card id*.

Card numbers move between boots; card ids do not. The profile is one marked block in
~/.asoundrc (or /etc/asound.conf for every user):

    pcm.!default { type asym; playback.pcm "sysdefault"; capture.pcm "malsori_mic" }
    pcm.malsori_mic { type plug; slave.pcm "hw:CARD=<id>,DEV=0" }
    ctl.!default { type hw; card "<id>" }

Playback stays what the system made it ("sysdefault" is ALSA's own default before any
user file). The `plug` lets programs ask for any rate; malsori's recorder still asks for
the card's native rate and resamples itself (better quality than ALSA's linear converter).

Whatever else the file held is kept, untouched, above the block; the first time the file
is changed its previous version is copied to `<file>.malsori-backup`, and `reset_profile`
puts that copy back (unless the file was edited since: then only the block goes). Writing
the same profile twice leaves the file byte-identical.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from core.fileio import atomic_write_json, atomic_write_text
from core.errors import DeviceError, MalsoriError, OutputError

BEGIN = "# >>> malsori microphone profile >>>"
END = "# <<< malsori microphone profile <<<"
BACKUP_SUFFIX = ".malsori-backup"
SYSTEM_PROFILE_PATH = Path("/etc/asound.conf")
MIC_PCM = "malsori_mic"
DEFAULT_PLAYBACK = "sysdefault"
FILE_MODE = 0o644  # ALSA config must stay readable by every user (the kiosk runs as its own user)

_BLOCK = re.compile(re.escape(BEGIN) + r".*?" + re.escape(END) + r"\n?", re.DOTALL)
_CARD_COMMENT = re.compile(r"^# malsori-card: (\S+)$", re.MULTILINE)
_OWN_DEFAULT = re.compile(r"^\s*pcm\.!?default\b", re.MULTILINE)
# ALSA card ids are short words; anything else could inject config.
_VALID_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]{0,31}$")
_VALID_PCM = re.compile(r'^[^"\\\n]+$')


@dataclass(frozen=True)
class ProfileChange:
    """What write_profile / reset_profile did."""

    path: Path
    changed: bool  # False: the file already said exactly this
    backup: Path | None = None  # the previous file's copy, when this call made one
    replaced_default: bool = False  # the file had its own default device; ours now wins
    restored: bool = False  # reset_profile put the backup back
    kept_edits: bool = False  # reset_profile: the file changed after `mic use`; only the block went


def user_profile_path() -> Path:
    """~/.asoundrc of the user running malsori (HOME decides, as it does for ALSA)."""
    return Path(os.path.expanduser("~")) / ".asoundrc"


def backup_path(path: Path) -> Path:
    return path.with_name(path.name + BACKUP_SUFFIX)


def render_profile(
    card_id: str,
    *,
    device: int = 0,
    playback_pcm: str = DEFAULT_PLAYBACK,
    capture_target: str | None = None,
) -> str:
    """The profile block (text, ending in a newline) for the card `card_id`.

    capture_target replaces "hw:CARD=<id>,DEV=<device>" as what the capture plug wraps;
    tests use it to point the profile at a file-backed fake card.
    """
    if not _VALID_ID.match(card_id):
        raise DeviceError(f"{card_id!r} is not an ALSA card id (see `malsori mic list`)")
    target = capture_target or f"hw:CARD={card_id},DEV={int(device)}"
    for value in (target, playback_pcm):
        if not _VALID_PCM.match(value):
            raise DeviceError(f"{value!r} is not a usable ALSA device name")
    return "\n".join(
        [
            BEGIN,
            "# Written by `malsori mic use`; undo with `malsori mic reset`. Edits inside this block are lost.",
            "# The microphone is named by card id, which stays the same across reboots (card numbers do not).",
            f"# malsori-card: {card_id}",
            "pcm.!default {",
            "    type asym",
            f'    playback.pcm "{playback_pcm}"',
            f'    capture.pcm "{MIC_PCM}"',
            "}",
            f"pcm.{MIC_PCM} {{",
            "    type plug",
            f'    slave.pcm "{target}"',
            f'    hint.description "malsori microphone (card {card_id})"',
            "}",
            "ctl.!default {",
            "    type hw",
            f'    card "{card_id}"',
            "}",
            END,
            "",
        ]
    )


def _others(text: str) -> str:
    """The file without malsori's block: what the user or the system put there."""
    return _BLOCK.sub("", text).rstrip("\n")


def _write(path: Path, text: str) -> None:
    atomic_write_text(path, text)
    os.chmod(path, FILE_MODE)  # mkstemp makes 0600; ALSA in other users' programs must read it


def write_profile(
    card_id: str,
    *,
    path: Path,
    device: int = 0,
    playback_pcm: str = DEFAULT_PLAYBACK,
    capture_target: str | None = None,
) -> ProfileChange:
    """Make card `card_id` the default capture device in the ALSA config file `path`.

    Keeps the rest of the file, backs its previous version up once, writes atomically,
    and does nothing when the file already holds this exact profile. Raises OutputError
    when the file cannot be written (e.g. /etc/asound.conf without root).
    """
    path = Path(path)
    block = render_profile(card_id, device=device, playback_pcm=playback_pcm, capture_target=capture_target)
    try:
        old = path.read_text(encoding="utf-8") if path.exists() else None
        others = _others(old) if old is not None else ""
        new = f"{others}\n\n{block}" if others.strip() else block
        if old == new:
            return ProfileChange(path, changed=False)
        backup = None
        if old is not None and others.strip() and not backup_path(path).exists():
            backup = backup_path(path)
            _write(backup, old)
        _write(path, new)
    except PermissionError as exc:
        raise OutputError(f"cannot write {path}: permission denied (for --system run as root, e.g. with sudo)") from exc
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror}") from exc
    return ProfileChange(path, changed=True, backup=backup, replaced_default=bool(_OWN_DEFAULT.search(others)))


def reset_profile(path: Path) -> ProfileChange:
    """Undo write_profile: put the backup back, or else remove malsori's block.

    The backup goes back only while the rest of the file is still what it held; edits made
    since `mic use` are kept (only the block goes, the backup stays). A file that held nothing
    but the block is deleted. Nothing happens when there is no profile (changed=False).
    """
    path = Path(path)
    backup = backup_path(path)
    try:
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if backup.exists():
            saved = backup.read_text(encoding="utf-8")
            if old is None or _others(old) == _others(saved):  # nothing of the user's changed since
                _write(path, saved)
                backup.unlink()
                return ProfileChange(path, changed=True, restored=True)
        if old is None or BEGIN not in old:
            return ProfileChange(path, changed=False)
        others = _others(old)
        if others.strip():
            _write(path, others + "\n")
        else:
            path.unlink()
    except PermissionError as exc:
        raise OutputError(f"cannot change {path}: permission denied (for --system run as root)") from exc
    except OSError as exc:
        raise OutputError(f"cannot change {path}: {exc.strerror}") from exc
    return ProfileChange(path, changed=True, kept_edits=backup.exists())


def profile_card(path: Path) -> str | None:
    """The card id the profile in `path` names, or None when there is no malsori profile."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError:
        return None
    block = _BLOCK.search(text)
    m = _CARD_COMMENT.search(block.group(0)) if block else None
    return m[1] if m else None


def read_config(config: Path) -> dict:
    """malsori's own config (JSON object; {} when absent). MalsoriError when it cannot be read,
    so that it is never overwritten: the person fixes or removes the file."""
    config = Path(config)
    try:
        data = json.loads(config.read_text(encoding="utf-8")) if config.exists() else {}
    except (OSError, ValueError) as exc:
        # never overwrite settings we cannot read: the person fixes or removes the file
        raise MalsoriError(f"{config}: cannot read malsori's config ({exc}); fix or remove the file") from exc
    if not isinstance(data, dict):
        raise MalsoriError(f"{config}: malsori's config is not a JSON object; fix or remove the file")
    return data


def remember_choice(config: Path, *, card_id: str, card_name: str, profile: Path | None) -> None:
    """Record the chosen mic in malsori's own config (JSON), keeping every other key."""
    data = read_config(config)
    data["microphone"] = {"card_id": card_id, "card_name": card_name, "profile": str(profile) if profile else None}
    atomic_write_json(config, data)


def forget_choice(config: Path) -> None:
    """Remove the recorded mic choice (after a reset); other keys stay."""
    config = Path(config)
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # nothing recorded, or nothing we may safely rewrite
    if isinstance(data, dict) and "microphone" in data:
        del data["microphone"]
        atomic_write_json(config, data)


def remembered_choice(config: Path) -> dict | None:
    try:
        data = json.loads(Path(config).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    mic = data.get("microphone") if isinstance(data, dict) else None
    return mic if isinstance(mic, dict) else None
