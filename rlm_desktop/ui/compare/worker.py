"""Computing a diff off the GUI thread: files are read and compared in a ``ui.bridge`` job;
the result comes back through its queued signal (the GUI thread never parses a file)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from rlm_desktop.trajectory.diff import diff_trajectories, load
from rlm_desktop.trajectory.reader import sanitize_str
from rlm_desktop.ui.bridge import Bridge, Job


def side(source: Any) -> Any:
    """A ``Trajectory`` as is; a path is read (in the worker)."""
    return load(source) if isinstance(source, str) else source


class DiffWorker(QObject):
    """``compute(a, b)`` (each a path or a loaded ``Trajectory``) -> ``done(diff)`` or
    ``failed(msg)``. A new ``compute`` drops the one before (``ui.bridge`` job)."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = Bridge(self._on_bridge, self)
        self._job: Job | None = None

    @property
    def busy(self) -> bool:
        return self._job is not None

    def compute(self, a: Any, b: Any) -> None:
        if self._job is not None:
            self._job.discard()
            self._job.cancel()
        self._job = self.bridge.job("rlm-diff").start(lambda _j: diff_trajectories(side(a), side(b)))

    def _on_bridge(self, job: Job | None, kind: str, payload: Any) -> None:
        if job is not self._job or kind not in ("done", "error", "cancelled"):
            return
        self._job = None
        if kind == "done":
            self.done.emit(payload)
        else:
            self.failed.emit(sanitize_str(payload or "cancelled"))  # an unreadable file, a bug

    def shutdown(self, msecs: int = 5000) -> None:
        self._job = None
        self.bridge.shutdown(msecs / 1000)
