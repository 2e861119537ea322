"""The two grayscale mel images side by side, with the stretch that differs most highlighted.

matplotlib is imported when the first result is drawn, not at launch (it costs ~0.3 s).
"""

from __future__ import annotations

import numpy as np
from PyQt5.QtWidgets import QVBoxLayout, QWidget

HIGHLIGHT = "#ff3b30"


def matched_reference_span(path: np.ndarray, attempt_span: tuple[int, int]) -> tuple[int, int] | None:
    """Reference frames the DTW path aligns with attempt frames [a0, a1), as [r0, r1)."""
    path = np.asarray(path)
    if path.ndim != 2 or path.shape[0] == 0:
        return None
    a0, a1 = attempt_span
    rows = path[(path[:, 1] >= a0) & (path[:, 1] < a1)]
    if rows.size == 0:
        return None
    return int(rows[:, 0].min()), int(rows[:, 0].max()) + 1


def preload_plotting() -> None:
    """Import matplotlib's Qt canvas ahead of the first result (~0.3 s here, more on a Pi).

    Safe on a worker thread: it only imports modules; every widget is made on the GUI thread.
    """
    import matplotlib.backends.backend_qt5agg  # noqa: F401
    import matplotlib.figure  # noqa: F401
    import matplotlib.ticker  # noqa: F401


def _canvas_class():
    """matplotlib's Qt canvas, with its deferred redraw on a timer the canvas owns.

    matplotlib schedules draw_idle with QTimer.singleShot(0, callable), which Qt runs even
    after the canvas is deleted: a window closed right after a resize (a test's teardown, the
    kiosk's exit) left a redraw of a deleted canvas — RuntimeError, then a segfault (exit
    139). A child timer dies with its canvas, and its pending redraw with it.
    """
    from matplotlib.backends.backend_qt5agg import FigureCanvasQTAgg
    from PyQt5.QtCore import QTimer

    class Canvas(FigureCanvasQTAgg):
        def __init__(self, figure):
            super().__init__(figure)
            self._idle_timer = QTimer(self)
            self._idle_timer.setSingleShot(True)
            self._idle_timer.setInterval(0)
            self._idle_timer.timeout.connect(self._draw_idle)

        def draw_idle(self):
            if not (getattr(self, "_draw_pending", False) or getattr(self, "_is_drawing", False)):
                self._draw_pending = True
                self._idle_timer.start()

    return Canvas


class MelComparisonView(QWidget):
    """Shows a models.ScoreResult: reference image left, the learner's right."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.canvas = None
        self.figure = None
        self.highlight_s: tuple[float, float] | None = None  # attempt seconds last highlighted

    def _ensure_canvas(self) -> None:
        if self.canvas is not None:
            return
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(8, 2.4), dpi=100, facecolor="#1c1c1e")
        self.canvas = _canvas_class()(self.figure)
        self._layout.addWidget(self.canvas)
        self.canvas.mpl_connect("resize_event", lambda _event: self._fit_margins())

    # Room for the titles above and the time axis below, in pixels: as fractions of the height they
    # cut "seconds" off when a three-line verdict left the pictures less room. (Matplotlib's
    # constrained layout does this too, at ~50 ms more per drawing: a Pi would wait ~0.2 s longer.)
    TITLE_PX, AXIS_PX = 30, 50

    def _fit_margins(self) -> None:
        height = max(float(self.figure.bbox.height), 1.0)
        self.figure.subplots_adjust(left=0.06, right=0.985, wspace=0.06, top=1.0 - min(0.4, self.TITLE_PX / height),
                                    bottom=min(0.45, self.AXIS_PX / height))

    def show_result(self, result, *, highlight: bool = True, reference: str = "Reference") -> None:
        """Draw both images; highlight=False (a green result) leaves out the "differs most" band,
        which would otherwise flag a stretch of a take that is already good; reference: the
        left image's title (which voice the take was scored against)."""
        from matplotlib.ticker import MaxNLocator

        self._ensure_canvas()
        fig = self.figure
        fig.clear()
        hop = float(result.hop_s)
        # one time scale for both: a longer take must look longer, not stretched to the same width
        ref_ax, att_ax = fig.subplots(1, 2, sharey=True, sharex=True)
        longest_s = hop * max(np.asarray(result.reference_image).shape[1], np.asarray(result.attempt_image).shape[1])
        for ax, image, title in ((ref_ax, result.reference_image, reference),
                                 (att_ax, result.attempt_image, "You")):
            image = np.asarray(image)
            ax.imshow(image, origin="lower", aspect="auto", cmap="gray", vmin=0.0, vmax=1.0,
                      extent=(0.0, image.shape[1] * hop, 0, image.shape[0]), interpolation="nearest")
            ax.set_title(title, color="white", fontsize=13)
            ax.set_xlabel("seconds", color="#bbbbbb", fontsize=11)
            ax.tick_params(colors="#bbbbbb", labelsize=11)  # read from a step back, on a 7" screen
            ax.set_yticks([])
            ax.set_facecolor("#1c1c1e")
            ax.xaxis.set_major_locator(MaxNLocator(nbins=4, prune="upper"))
        ref_ax.set_xlim(0.0, longest_s)
        w0, w1 = result.worst_segment_s
        self.highlight_s = None
        if highlight and w1 > w0:
            self.highlight_s = (float(w0), float(w1))
            att_ax.axvspan(w0, w1, color=HIGHLIGHT, alpha=0.35, lw=0)
            span = matched_reference_span(getattr(result, "path", np.empty((0, 2))),
                                          (int(round(w0 / hop)), int(round(w1 / hop))))
            if span is not None:  # at least a visible stripe, however few reference frames it matched
                r0, r1 = span[0] * hop, max(span[1] * hop, span[0] * hop + 0.03 * longest_s)
                ref_ax.axvspan(r0, r1, color=HIGHLIGHT, alpha=0.35, lw=0)
            # the label stays inside its picture: centred on the band, or flush with it near an edge
            centre = 0.5 * (w0 + w1)
            x, ha = (w0, "left") if centre < 0.2 * longest_s else (w1, "right") if centre > 0.8 * longest_s \
                else (centre, "center")
            att_ax.text(x, result.attempt_image.shape[0] * 0.95, "differs most", color="white", ha=ha, va="top",
                        fontsize=12)
        ref_ax.set_ylabel("frequency ↑", color="#bbbbbb", fontsize=11)
        self._fit_margins()
        self.canvas.draw()

    def clear(self) -> None:
        if self.figure is not None:
            self.figure.clear()
            self.canvas.draw()
        self.highlight_s = None
