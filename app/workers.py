"""Run long work off the GUI thread; results and errors come back on the GUI thread.

`TaskRunner.run_task(func, on_done, on_error)` runs `func()` on a `QThreadPool` and calls
`on_done(result)` or `on_error(exc)` on the thread that owns the runner (the GUI thread),
through queued Qt signals. `SyncTaskRunner` runs the task at once on the calling thread,
which makes code built on tasks testable step by step (the Picard pattern).

Widgets must never be touched from `func`; only from the callbacks.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any, Callable

from PyQt5 import sip
from PyQt5.QtCore import QObject, QRunnable, QThreadPool, pyqtSignal

log = logging.getLogger(__name__)

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]


class _TaskSignals(QObject):
    # Emitted from the worker thread; the connections made on the GUI thread are queued.
    finished = pyqtSignal(object)
    failed = pyqtSignal(object)


class _Task(QRunnable):
    def __init__(self, func: Callable[[], Any], signals: _TaskSignals):
        super().__init__()
        # autoDelete (the default): the pool owns the C++ runnable and deletes it in its own
        # thread once run() has returned. TaskRunner._pending keeps the Python side (and its
        # signals) alive until the result is delivered. With autoDelete off, the GUI thread
        # freed the runnable on delivery, sometimes while the pool thread was still leaving
        # run(): a segfault (seen with fast tasks, e.g. the numpy model load).
        self.func = func
        self.signals = signals

    def run(self) -> None:  # worker thread
        try:
            result = self.func()
        except Exception as exc:  # every failure goes back to the GUI as a value
            if not _is_user_error(exc):
                log.error("task %r failed:\n%s", getattr(self.func, "__name__", self.func), traceback.format_exc())
            self._deliver("failed", exc)
        else:
            self._deliver("finished", result)

    def _deliver(self, signal_name: str, value) -> None:
        try:
            getattr(self.signals, signal_name).emit(value)
        except RuntimeError:  # the receiving side was destroyed (app shutting down): nobody to tell
            pass


def _is_user_error(exc: BaseException) -> bool:
    from core.errors import MalsoriError

    return isinstance(exc, MalsoriError)


class TaskRunner(QObject):
    """Runs callables on a thread pool. Create it on the GUI thread.

    Give it the window as parent: results that arrive after the window was destroyed are
    dropped instead of reaching deleted widgets.
    """

    # Tasks mostly wait (on the microphone, the network, the speaker), so there are more
    # threads than cores: a take must start at once even while the model loads and a
    # reference is fetched.
    MAX_THREADS = 6

    def __init__(self, pool: QThreadPool | None = None, parent: QObject | None = None):
        super().__init__(parent)
        if pool is None:
            pool = QThreadPool(self)
            pool.setMaxThreadCount(self.MAX_THREADS)
        self.pool = pool
        self._pending: set[_Task] = set()

    def run_task(self, func: Callable[[], Any], on_done: Done | None = None, on_error: Failed | None = None) -> None:
        signals = _TaskSignals()  # lives on this (GUI) thread, so slots run here
        task = _Task(func, signals)
        self._pending.add(task)

        def finish(result: Any) -> None:
            if sip.isdeleted(self):
                return  # the window that asked is gone (parent the runner to it)
            self._delivered(task)
            if on_done is not None:
                on_done(result)

        def fail(exc: BaseException) -> None:
            if sip.isdeleted(self):
                return
            self._delivered(task)
            if on_error is not None:
                on_error(exc)
            else:
                log.error("unhandled task error: %r", exc)

        signals.finished.connect(finish)
        signals.failed.connect(fail)
        self.pool.start(task)

    def _delivered(self, task: _Task) -> None:
        """The task's result has arrived: its signal object is deleted by this (GUI) thread's
        event loop once the slot returns. Left alone, signals → slot closure → task → signals
        is a reference cycle that only Python's cyclic collector frees, on whichever thread
        allocates next: a QObject of the GUI thread freed from elsewhere, at a random point
        (the one-off kiosk segfault). Deleting the C++ object drops its slot closures, so
        reference counting frees the rest here."""
        self._pending.discard(task)
        task.signals.deleteLater()

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def wait_idle(self, timeout_ms: int = 30_000) -> bool:
        """Block until the pool is idle (tests, shutdown). Results still arrive via the event loop."""
        return self.pool.waitForDone(timeout_ms)


class SyncTaskRunner:
    """Same interface, but runs each task immediately on the calling thread (tests)."""

    busy = False

    def run_task(self, func: Callable[[], Any], on_done: Done | None = None, on_error: Failed | None = None) -> None:
        try:
            result = func()
        except Exception as exc:
            if on_error is None:
                raise
            on_error(exc)
        else:
            if on_done is not None:
                on_done(result)

    def wait_idle(self, timeout_ms: int = 0) -> bool:
        return True
