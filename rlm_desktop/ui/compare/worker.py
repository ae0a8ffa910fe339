"""Computing a diff off the GUI thread: files are read and compared in a pool worker; the
result comes back through a queued signal (the GUI thread never parses a file)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from rlm_desktop.trajectory.diff import diff_trajectories, load
from rlm_desktop.trajectory.reader import sanitize_str


def side(source: Any) -> Any:
    """A ``Trajectory`` as is; a path is read (in the worker)."""
    return load(source) if isinstance(source, str) else source


class _Signals(QObject):
    done = Signal(object, str)  # TrajectoryDiff or None, error message


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], Any], signals: _Signals) -> None:
        super().__init__()
        self.fn, self.signals = fn, signals

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:  # noqa: BLE001 - an unreadable file, a bug: shown in the window
            self.signals.done.emit(None, sanitize_str(f"{type(exc).__name__}: {exc}"))
            return
        self.signals.done.emit(result, "")


class DiffWorker(QObject):
    """``compute(a, b)`` (each a path or a loaded ``Trajectory``) -> ``done(diff)`` or ``failed(msg)``."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.done.connect(self._finished)
        self.busy = False

    def compute(self, a: Any, b: Any) -> None:
        self.busy = True
        self.pool.start(_Job(lambda: diff_trajectories(side(a), side(b)), self._signals))

    def _finished(self, diff: Any, error: str) -> None:
        self.busy = False
        if diff is None:
            self.failed.emit(error)
        else:
            self.done.emit(diff)

    def shutdown(self, msecs: int = 5000) -> None:
        self.pool.clear()
        self.pool.waitForDone(msecs)
