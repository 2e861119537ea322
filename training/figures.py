"""Saving matplotlib figures the project's way: PNG, written atomically."""

from __future__ import annotations

from pathlib import Path


def save_png(fig, path: Path) -> None:
    import io

    import matplotlib.pyplot as plt

    from core.fileio import atomic_write_bytes

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
