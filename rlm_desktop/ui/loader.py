"""Reading trajectory files off the GUI thread.

``Loader.load(path)`` reads and parses in a QThreadPool worker; the result comes back in
the GUI thread through ``loaded(path, trajectory)`` or ``failed(path, message)``.
The GUI thread never touches the file.

A big file (``PREVIEW_BYTES`` or more) is shown before it is fully read: the worker
indexes it lazily (``trajectory.lazy.LazyTrajectory``: newlines and line ends only, a
few ms for any size) up to its first iteration, parses that one line and sends a
``preview(path, trajectory)`` (the first run with its first iteration; the window
shows it at once), then streams the whole file with ``progress(path, fraction)``
every ``PROGRESS_BYTES`` before ``loaded``. The tree over the full model is filled
lazily (``tree_model``), so even a 200 MB log costs the GUI only what is on screen.
"""

from __future__ import annotations

import os
import time
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from rlm_desktop.trajectory.model import Trajectory
from rlm_desktop.trajectory.reader import iter_file_lines, read_lines, sanitize_str

PREVIEW_BYTES = 4 << 20
PROGRESS_BYTES = 4 << 20
YIELD_BYTES = 256 << 10


def read_with_progress(path: str, progress: Any = None) -> Trajectory:
    """``reader.read_file`` with ``progress(fraction)`` calls every ``PROGRESS_BYTES``; an
    OSError is raised (the loader reports it), not turned into a bad line."""
    size = max(1, os.path.getsize(path))
    with open(path, "rb") as fh:
        return read_lines(_counted(iter_file_lines(fh), size, progress), str(path))


def _counted(lines: Any, size: int, progress: Any) -> Any:
    done = next_report = next_yield = 0
    for item in lines:
        done += len(item[1]) + 1
        if done >= next_yield:  # let the GUI thread have the GIL between big lines
            next_yield = done + YIELD_BYTES
            time.sleep(0)
        if progress is not None and done >= next_report:
            next_report = done + PROGRESS_BYTES
            progress(min(1.0, done / size))
        yield item


def first_iteration_preview(path: str) -> Trajectory | None:
    """The first run with its first iteration parsed (lazy index; no full read), or None."""
    from rlm_desktop.trajectory.lazy import LazyTrajectory

    lt = LazyTrajectory(path)
    try:
        snap = lt.index_until_first_iteration()
        if not snap.runs or not snap.runs[0].iterations:
            return None
        lt.load_iteration(0, 0)
        traj = lt.trajectory()
        traj.runs = traj.runs[:1]
        return traj
    finally:
        lt.close()


class _Signals(QObject):
    done = Signal(str, object, str)  # path, trajectory or None, error message
    preview = Signal(str, object)
    progress = Signal(str, float)


class _ReadJob(QRunnable):
    def __init__(self, path: str, signals: _Signals) -> None:
        super().__init__()
        self.path = path
        self.signals = signals

    def run(self) -> None:
        try:
            big = os.path.getsize(self.path) >= PREVIEW_BYTES
            if big:
                try:
                    first = first_iteration_preview(self.path)
                except Exception:  # the full read below reports what is wrong
                    first = None
                if first is not None:
                    self.signals.preview.emit(self.path, first)
            traj = read_with_progress(
                self.path, (lambda f: self.signals.progress.emit(self.path, f)) if big else None
            )
        except Exception as exc:  # OSError, MemoryError, a reader bug: shown in the UI
            self.signals.done.emit(self.path, None, sanitize_str(f"{type(exc).__name__}: {exc}"))
            return
        self.signals.done.emit(self.path, traj, "")


class Loader(QObject):
    loaded = Signal(str, object)
    failed = Signal(str, str)
    busy_changed = Signal(bool)
    preview = Signal(str, object)  # a big file's first iteration, before ``loaded``
    progress = Signal(str, float)  # 0..1 of a big file read so far

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.done.connect(self._done)
        self._signals.preview.connect(self.preview)
        self._signals.progress.connect(self.progress)
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
