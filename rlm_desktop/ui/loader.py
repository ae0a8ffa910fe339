"""Reading trajectory files off the GUI thread.

``Loader.load(path)`` reads in a QThreadPool worker; results come back in the GUI thread
through signals. The GUI thread never touches the file.

* A small file (under ``PREVIEW_BYTES``) is read whole (``reader.read_file``): ``loaded``.
* A big file is opened **lazily** (``trajectory.lazy.LazyTrajectory``): the worker indexes
  it up to its first iteration (newlines and line ends only: a few ms for any size), parses
  that one line and sends ``preview(path, trajectory)``: run shells whose iterations are
  placeholders. It indexes the rest (``progress``) and sends ``indexed(path, trajectory)``:
  the same object, now holding every run and iteration as placeholders (browsable). An
  open log holds its byte index and the iterations being looked at
  (``lazy_document.LazyDocuments`` parses them on demand, into a bounded cache), never the
  whole file. Then the worker makes the whole-file totals in one streaming pass
  (``trajectory.totals``), which also checks the index: if it finds lines the peeking
  index took for good (a line corrupted in its middle), the index is validated and
  re-split and ``loaded`` carries fresh shells; else ``loaded`` carries the same object.
  ``totals(path, FileTotals)`` follows, for the status bar and the Metrics panel.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from rlm_desktop.trajectory.lazy import LazyTrajectory
from rlm_desktop.trajectory.model import Trajectory
from rlm_desktop.trajectory.reader import read_file, sanitize_str
from rlm_desktop.trajectory.totals import Cancelled, FileTotals, scan_totals

#: files this big or bigger are opened lazily (smaller ones are read whole: every panel and
#: search then has the full model at once, at a memory cost of about the file's size)
PREVIEW_BYTES = 32 << 20
#: the lazy document's cache of parsed iterations: at most this many, and lines of at most
#: this many bytes in all (one iteration of a big log can be tens of MB once parsed)
CACHE_ITERATIONS = 16
CACHE_BYTES = 64 << 20
#: share of the progress bar for indexing (the totals pass takes the rest)
INDEX_SHARE = 0.2


def read_small(path: str) -> Trajectory:
    """A whole small file; an OSError is raised (the loader reports it), not turned into a bad line."""
    with open(path, "rb"):
        pass
    return read_file(path)


def open_lazy(path: str) -> tuple[LazyTrajectory, Trajectory]:
    """The lazy document of a big file with its first iteration parsed (worker thread; the
    trajectory is not shared with anyone yet, so filling it here is safe)."""
    doc = LazyTrajectory(path, cache_size=CACHE_ITERATIONS, cache_bytes=CACHE_BYTES)
    snap = doc.index_until_first_iteration()
    if snap.bad_lines and snap.bad_lines[0].line_no == 0 and not snap.runs:
        doc.close()
        raise OSError(snap.bad_lines[0].message)
    traj = doc.trajectory()
    if snap.runs and snap.runs[0].iterations:
        doc.install(0, 0, doc.parse_iteration(0, 0))
    return doc, traj


def split_matches(totals: FileTotals, doc: LazyTrajectory) -> bool:
    """Does the peeking index split the file as the full parse did (runs, lines, bad lines)?"""
    snap = doc.snapshot()
    if [b.line_no for b in snap.bad_lines] != [b.line_no for b in totals.bad_lines[: len(snap.bad_lines)]]:
        return False
    if len(snap.bad_lines) != totals.bad_line_count:
        return False
    return [[s.line_no for s in r.iterations] for r in snap.runs] == [list(t.line_nos) for t in totals.runs]


class _Signals(QObject):
    done = Signal(str, object, str)  # path, trajectory or None, error message
    preview = Signal(str, object)
    indexed = Signal(str, object)
    progress = Signal(str, float)
    totals = Signal(str, object)  # path, FileTotals


class _ReadJob(QRunnable):
    def __init__(self, path: str, signals: _Signals, cancel: threading.Event) -> None:
        super().__init__()
        self.path = path
        self.signals = signals
        self.cancel = cancel

    def run(self) -> None:
        totals = None
        try:
            if os.path.getsize(self.path) < PREVIEW_BYTES:
                self.signals.done.emit(self.path, read_small(self.path), "")
                return
            doc, traj = open_lazy(self.path)
            self.signals.preview.emit(self.path, traj)
            while doc.index_step():
                if self.cancel.is_set():
                    return
                self.signals.progress.emit(self.path, doc.snapshot().progress * INDEX_SHARE)
            self.signals.indexed.emit(self.path, traj)

            def progress(f: float) -> None:
                self.signals.progress.emit(self.path, INDEX_SHARE + (1 - INDEX_SHARE) * f)

            try:  # the one streaming pass: totals, and a check of what the index peeked
                totals = scan_totals(self.path, progress=progress, cancel=self.cancel.is_set)
            except Cancelled:
                return
            if not split_matches(totals, doc):  # a line corrupted in its middle: re-split
                doc.index_all(validate=True)
            doc.totals = totals
        except Exception as exc:  # OSError, MemoryError, a reader bug: shown in the UI
            self.signals.done.emit(self.path, None, sanitize_str(f"{type(exc).__name__}: {exc}"))
            return
        self.signals.done.emit(self.path, traj, "")
        self.signals.totals.emit(self.path, totals)


class Loader(QObject):
    loaded = Signal(str, object)
    failed = Signal(str, str)
    busy_changed = Signal(bool)
    preview = Signal(str, object)  # a big file's lazy document with its first iteration, before ``loaded``
    indexed = Signal(str, object)  # the same document, now with every run and iteration (placeholders)
    progress = Signal(str, float)  # 0..1 of a big file read so far (index, then totals)
    totals = Signal(str, object)  # a big file's whole-file totals (``FileTotals``), right after ``loaded``

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self._signals = _Signals(self)
        self._signals.done.connect(self._done)
        self._signals.preview.connect(self.preview)
        self._signals.indexed.connect(self._indexed)
        self._signals.progress.connect(self.progress)
        self._signals.totals.connect(self.totals)
        self._cancel = threading.Event()
        self.pending = 0

    def load(self, path: str | os.PathLike[str]) -> None:
        self.pending += 1
        if self.pending == 1:
            self.busy_changed.emit(True)
        self.pool.start(_ReadJob(os.fspath(path), self._signals, self._cancel))

    def _done(self, path: str, traj: Any, error: str) -> None:
        self.pending -= 1
        if self.pending == 0:
            self.busy_changed.emit(False)
        if traj is None:
            self.failed.emit(path, error)
            return
        doc = traj.lazy
        if doc is not None and not doc.sync(traj):  # re-split by the check: a fresh set of shells
            traj = doc.trajectory()
        self.loaded.emit(path, traj)

    def _indexed(self, path: str, traj: Any) -> None:
        if traj.lazy.sync(traj):  # every run and iteration, before the totals pass
            self.indexed.emit(path, traj)

    def shutdown(self, msecs: int = 5000) -> None:
        self._cancel.set()
        self.pool.clear()
        self.pool.waitForDone(msecs)
