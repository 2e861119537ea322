"""Run a real `malsori` process whose stdout reader has already gone (`malsori … | head -c 0`)."""

from __future__ import annotations

import os
import subprocess


def run_into_closed_pipe(argv, **kwargs) -> subprocess.CompletedProcess:
    r, w = os.pipe()
    os.close(r)  # gone before the command writes a byte: its first write gets EPIPE
    try:
        return subprocess.run(argv, stdout=w, stderr=subprocess.PIPE, text=True, timeout=120, **kwargs)
    finally:
        os.close(w)
