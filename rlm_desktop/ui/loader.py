"""Reading trajectory files off the GUI thread.

``Loader.load(path)`` reads in a ``ui.bridge`` job (one file at a time, in the order
asked); results come back in the GUI thread through signals. ``cancel()`` stops the read
in progress (checked between index steps and lines) and the queued ones: ``cancelled(path)``
for each. The GUI thread never touches the file.

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
from collections import deque
from typing import Any

from PySide6.QtCore import QObject, Signal

from rlm_desktop.trajectory.lazy import LazyTrajectory
from rlm_desktop.trajectory.model import Trajectory
from rlm_desktop.trajectory.reader import read_file, sanitize_str
from rlm_desktop.trajectory.totals import Cancelled as TotalsCancelled
from rlm_desktop.trajectory.totals import FileTotals, scan_totals

from .bridge import Bridge, Cancelled, Job

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


def read_job(job: Job, path: str) -> tuple[Trajectory, FileTotals | None]:
    """The loader's worker (see the module doc): (trajectory, its totals or None)."""
    if os.path.getsize(path) < PREVIEW_BYTES:
        return read_small(path), None
    doc, traj = open_lazy(path)
    job.emit("preview", traj)
    while doc.index_step():
        job.check()
        job.emit("progress", doc.snapshot().progress * INDEX_SHARE)
    job.emit("indexed", traj)
    try:  # the one streaming pass: totals, and a check of what the index peeked
        totals = scan_totals(path, progress=lambda f: job.emit("progress", INDEX_SHARE + (1 - INDEX_SHARE) * f),
                             cancel=lambda: job.cancelled)
    except TotalsCancelled:
        raise Cancelled(job.name) from None
    if not split_matches(totals, doc):  # a line corrupted in its middle: re-split
        doc.index_all(validate=True)
    doc.totals = totals
    return traj, totals


class Loader(QObject):
    loaded = Signal(str, object)
    failed = Signal(str, str)
    cancelled = Signal(str)  # a read stopped by ``cancel()``
    busy_changed = Signal(bool)
    preview = Signal(str, object)  # a big file's lazy document with its first iteration, before ``loaded``
    indexed = Signal(str, object)  # the same document, now with every run and iteration (placeholders)
    progress = Signal(str, float)  # 0..1 of a big file read so far (index, then totals)
    totals = Signal(str, object)  # a big file's whole-file totals (``FileTotals``), right after ``loaded``

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = Bridge(self._on_bridge, self)
        self._queue: deque[str] = deque()
        self._job: Job | None = None

    @property
    def pending(self) -> int:
        return len(self._queue) + (self._job is not None)

    @property
    def busy(self) -> bool:
        return self.pending > 0

    def load(self, path: str | os.PathLike[str]) -> None:
        self._queue.append(os.fspath(path))
        if self._job is None:
            self.busy_changed.emit(True)
            self._next()

    def cancel(self) -> None:
        """Stop the read in progress and forget the queued ones (``cancelled`` for each)."""
        queued, self._queue = list(self._queue), deque()
        for path in queued:
            self.cancelled.emit(path)
        if self._job is not None:
            self._job.cancel()  # its "cancelled" (or a result already on its way) follows

    def _next(self) -> None:
        if not self._queue:
            self._job = None
            self.busy_changed.emit(False)
            return
        path = self._queue.popleft()
        job = self._job = self.bridge.job("rlm-load")
        job.data = path
        job.start(lambda j: read_job(j, path))

    def _on_bridge(self, job: Job | None, kind: str, payload: Any) -> None:
        if job is None or job is not self._job:
            return
        path = job.data
        if kind == "preview":
            self.preview.emit(path, payload)
        elif kind == "indexed":
            if payload.lazy.sync(payload):  # every run and iteration, before the totals pass
                self.indexed.emit(path, payload)
        elif kind == "progress":
            self.progress.emit(path, payload)
        elif kind in ("done", "error", "cancelled"):
            job.join(1.0)
            self._job = None
            if kind == "done":
                traj, totals = payload
                doc = traj.lazy
                if doc is not None and not doc.sync(traj):  # re-split by the check: fresh shells
                    traj = doc.trajectory()
                self.loaded.emit(path, traj)
                if totals is not None:
                    self.totals.emit(path, totals)
            elif kind == "error":
                self.failed.emit(path, sanitize_str(payload))  # OSError, MemoryError, a reader bug
            else:
                self.cancelled.emit(path)
            if self._job is None:
                self._next()

    def shutdown(self, msecs: int = 5000) -> None:
        self._queue.clear()
        self.bridge.shutdown(msecs / 1000)
        self._job = None
