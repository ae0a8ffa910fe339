"""Reading trajectory files off the GUI thread.

``Loader.load(path)`` reads and parses in a QThreadPool worker; the result comes back in
the GUI thread through ``loaded(path, trajectory)`` or ``failed(path, message)``.
The GUI thread never touches the file.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from rlm_desktop.trajectory.reader import read_file, sanitize_str


class _Signals(QObject):
    done = Signal(str, object, str)  # path, trajectory or None, error message


class _ReadJob(QRunnable):
    def __init__(self, path: str, signals: _Signals) -> None:
        super().__init__()
        self.path = path
        self.signals = signals

    def run(self) -> None:
        try:
            traj = read_file(self.path)
        except Exception as exc:  # OSError, MemoryError, a reader bug: shown in the UI
            self.signals.done.emit(self.path, None, sanitize_str(f"{type(exc).__name__}: {exc}"))
            return
        self.signals.done.emit(self.path, traj, "")


class Loader(QObject):
    loaded = Signal(str, object)
    failed = Signal(str, str)
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.done.connect(self._done)
        self.pending = 0

    def load(self, path: str | os.PathLike[str]) -> None:
        self.pending += 1
        if self.pending == 1:
            self.busy_changed.emit(True)
        self.pool.start(_ReadJob(os.fspath(path), self._signals))

    def _done(self, path: str, traj: Any, error: str) -> None:
        self.pending -= 1
        if self.pending == 0:
            self.busy_changed.emit(False)
        if traj is None:
            self.failed.emit(path, error)
        else:
            self.loaded.emit(path, traj)

    def shutdown(self, msecs: int = 5000) -> None:
        self.pool.clear()
        self.pool.waitForDone(msecs)
