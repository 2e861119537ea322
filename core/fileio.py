"""Atomic file writes: a reader sees the old file or the new one, never half of one.

In the base package so that every layer (app, models, training) writes files one way.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from core.errors import OutputError


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, mode: int = 0o644) -> Path:
    """Write `data` to `path` via a temporary file in the same folder and a rename.

    `mode` is set explicitly: mkstemp makes 0600, which another user (the kiosk) cannot read.
    Raises OutputError (an OSError) with a message a person can act on.
    """
    path = Path(path)
    check_writable(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from exc
    finally:
        if tmp is not None and Path(tmp).exists():
            Path(tmp).unlink(missing_ok=True)
    return path


def check_writable(path: str | os.PathLike) -> Path:
    """Fail early, before any long work, if `path` cannot become a file. Creates its folder."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path}: is a directory; give a file name")
    if path.exists() and not path.is_file():  # a device or a pipe: the rename would replace it with a file
        raise OutputError(f"{path}: not a regular file; give a file name (standard output: -, where offered)")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _refuse_a_file_on_the_way(path.parent, path)  # mkdir's "File exists" / "Not a directory" would not say which
        raise OutputError(f"{path.parent}: cannot create the folder ({exc.strerror or exc})") from exc
    if not os.access(path.parent, os.W_OK):
        raise OutputError(f"{path.parent}: no permission to write here")
    return path


def check_writable_dir(path: str | os.PathLike) -> Path:
    """Fail early, before any long work, if `path` cannot be a folder to write files in. Creates
    nothing (a run that fails later leaves no empty folder): the nearest existing folder on its
    way must be writable."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path}: is a file; give a folder for the results")
    _refuse_a_file_on_the_way(path, path)
    existing = next(p for p in (path, *path.parents) if p.exists())
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{existing}: no permission to write here")
    return path


def _refuse_a_file_on_the_way(folder: Path, path: Path) -> None:
    """OutputError naming the file that stands where `folder` or one of its parents should be a folder."""
    blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise OutputError(f"{blocker}: is a file, not a folder ({path.relative_to(blocker)} cannot go inside it)")


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj) -> Path:
    return atomic_write_text(path, json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def atomic_write_wav(path: str | os.PathLike, y: np.ndarray, *, sr: int) -> Path:
    """16-bit PCM mono wav."""
    import io

    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, np.clip(np.asarray(y, dtype=np.float32), -1.0, 1.0), sr, format="WAV", subtype="PCM_16")
    return atomic_write_bytes(path, buf.getvalue())
