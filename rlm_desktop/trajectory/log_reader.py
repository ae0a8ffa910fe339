"""One reader for a log file, with three modes (as Inspect AI's log recorders read an eval
log: header only, one sample, the whole log). Every mode goes through ``format.py``'s rules
and gives the same runs, statuses and bad lines as the others.

    log = LogReader(path)
    log.header()                  # LogHeader: the metadata line, size, era; reads the first line only
    log.totals(progress, cancel)  # FileTotals: every run's numbers, one streaming pass
                                  #   (memory: one line + compact arrays; see totals.py)
    log.iteration(run, position)  # one Iteration parsed on demand through the byte index
    log.document()                # the LazyTrajectory behind it (index + bounded cache), for a UI
    log.read()                    # Trajectory: the whole model (small files, tools)
    log.close()

The same as functions: ``read_header``, ``read_totals``, ``read_iteration``, ``read_file``.
``max_line`` (bytes) bounds memory on hostile input: a longer line becomes a bad line and
is never held whole (``reader.iter_file_lines``); ``None`` reads any line.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .format import METADATA, era_of_metadata
from .lazy import STEP_BYTES, LazyTrajectory
from .model import Iteration, Trajectory
from .reader import LineError, parse_line, read_file
from .totals import FileTotals, scan_totals

#: the metadata line is read only if it fits in this many bytes
HEADER_BYTES = 1 << 20


@dataclass(frozen=True)
class LogHeader:
    path: str
    size: int
    modified: float
    metadata: dict[str, Any] | None  # the first line, when it is a metadata record
    era: str  # "rlm_desktop" when our writer made it, else "unknown" (the header alone cannot tell)


class LogReader:
    """See the module docstring. Not thread-safe as a whole; ``document()`` is."""

    def __init__(
        self, path: str | os.PathLike[str], *, still_running: bool = False, max_line: int | None = None
    ) -> None:
        self.path = os.fspath(path)
        self.still_running = still_running
        self.max_line = max_line
        self._doc: LazyTrajectory | None = None

    def header(self) -> LogHeader:
        """The metadata line (if the file starts with one that fits ``HEADER_BYTES``). ``OSError``
        if the file cannot be read."""
        with open(self.path, "rb") as fh:
            st = os.fstat(fh.fileno())
            head = fh.readline(HEADER_BYTES)
        meta: dict[str, Any] | None = None
        if head.endswith(b"\n") or len(head) < HEADER_BYTES:
            try:
                rec = parse_line(head)
            except LineError:
                rec = {}
            if rec.get("type") == METADATA:
                meta = rec
        era = era_of_metadata(meta, "unknown") if meta is not None else "unknown"
        return LogHeader(self.path, st.st_size, st.st_mtime, meta, era)

    def totals(
        self,
        progress: Callable[[float], None] | None = None,
        cancel: Callable[[], bool] | None = None,
    ) -> FileTotals:
        """Summary mode: every run's numbers in one streaming pass (``totals.scan_totals``)."""
        return scan_totals(
            self.path, still_running=self.still_running, max_line=self.max_line, progress=progress, cancel=cancel
        )

    def document(self, cache_size: int = 64) -> LazyTrajectory:
        """The byte index with a bounded cache of parsed iterations (built on first use)."""
        if self._doc is None:
            self._doc = LazyTrajectory(self.path, still_running=self.still_running, cache_size=cache_size)
        return self._doc

    def iteration(self, run_index: int, position: int) -> Iteration:
        """One iteration on demand: the file is indexed (newlines and line ends, no parsing)
        as far as needed, then only that line is parsed. ``IndexError`` if there is none."""
        doc = self.document()
        step = 1 << 20
        while True:
            snap = doc.snapshot()
            if run_index < len(snap.runs) and position < len(snap.runs[run_index].iterations):
                break
            more = doc.index_step(step)
            step = min(step * 2, STEP_BYTES)
            if not more:
                snap = doc.snapshot()
                if run_index < len(snap.runs) and position < len(snap.runs[run_index].iterations):
                    break
                raise IndexError(f"no iteration {position} in run {run_index}")
        return doc.parse_iteration(run_index, position)

    def read(self) -> Trajectory:
        """The whole file as a model ``Trajectory``."""
        return read_file(self.path, still_running=self.still_running, max_line=self.max_line)

    def close(self) -> None:
        if self._doc is not None:
            self._doc.close()
            self._doc = None

    def __enter__(self) -> LogReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_header(path: str | os.PathLike[str]) -> LogHeader:
    return LogReader(path).header()


def read_totals(path: str | os.PathLike[str], **kwargs: Any) -> FileTotals:
    return scan_totals(path, **kwargs)


def read_iteration(path: str | os.PathLike[str], run_index: int, position: int) -> Iteration:
    with LogReader(path) as log:
        return log.iteration(run_index, position)
