"""Where malsori keeps things. Environment overrides first, then the platform's user dirs.

Nothing here depends on the working directory.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def assets_dir() -> Path:
    """Shipped files: weights, word lists, reference audio. MALSORI_ASSETS overrides."""
    return _env_path("MALSORI_ASSETS") or REPO_ROOT / "assets"


def default_model_path() -> Path:
    """The shipped checkpoint. MALSORI_MODEL overrides."""
    return _env_path("MALSORI_MODEL") or assets_dir() / "models" / "malsori.pt"


def data_dir() -> Path:
    """Per-user data: recordings, history, config. MALSORI_HOME overrides."""
    base = _env_path("MALSORI_HOME")
    if base:
        return base
    xdg = _env_path("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return xdg / "malsori"


def cache_dir() -> Path:
    """Rebuildable files (TTS cache). MALSORI_CACHE overrides, else inside MALSORI_HOME if set."""
    explicit = _env_path("MALSORI_CACHE")
    if explicit:
        return explicit
    if os.environ.get("MALSORI_HOME"):
        return data_dir() / "cache"
    xdg = _env_path("XDG_CACHE_HOME") or Path.home() / ".cache"
    return xdg / "malsori"


def recordings_dir() -> Path:
    return data_dir() / "recordings"


def config_path() -> Path:
    return data_dir() / "config.json"


def log_path() -> Path:
    return data_dir() / "malsori.log"
