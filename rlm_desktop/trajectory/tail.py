"""Tail a JSONL log that another process is still writing (no Qt).

Upstream appends one record per root iteration, but a record bigger than its
8 KiB text buffer reaches the disk in several ``write(2)`` calls, so a reader
can see half a line (TRAJECTORY_FORMAT.md §6). ``FileTailer`` therefore only
consumes bytes up to the last newline and keeps the rest for the next read.
It remembers its byte offset and the file's identity, and turns a truncated,
rewritten, replaced or deleted file into a ``Notice`` (the model is then
rebuilt from the start of the new content, in place).

Work is split in two so a GUI never parses: ``read()`` does the I/O and the
JSON parsing (any thread, e.g. the follower's worker) and returns a
``TailBatch``; ``apply(batch)`` feeds the parsed records into the
``TrajectoryBuilder`` so the ``Trajectory`` grows in place (call it from the
thread that owns the model; it is cheap). ``poll()`` does both.

Following whole folders (watchdog, polling fallback, coalescing) lives in
``tail_follow.py``; cheap per-file summaries for a runs list in ``run_summary.py``.
"""

from __future__ import annotations

import enum
import os
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

from .format import Change, FileMark, file_change, mark_file
from .model import BadLine, Iteration, Run, RunStatus, Trajectory
from .reader import LineError, TrajectoryBuilder, parse_line, preview

#: bytes read per ``read()`` (a big existing file is taken in several batches)
READ_LIMIT = 32 << 20
#: raw bytes kept per record for the "unknown record type" preview
RAW_KEEP = 2048


class NoticeKind(enum.StrEnum):
    TRUNCATED = "truncated"  # shorter than what was read, or rewritten in place
    REPLACED = "replaced"  # another file now has this name (or it came back after a delete)
    DELETED = "deleted"
    ERROR = "error"  # cannot be read (permissions, I/O error)


@dataclass(frozen=True)
class Notice:
    """Something happened to a followed file that the user should see."""

    path: str
    kind: NoticeKind
    message: str
    time: float = field(default_factory=time.time)


@dataclass(frozen=True)
class TailRecord:
    """One complete line: its parsed record, or why it could not be read."""

    line_no: int  # 1-based
    record: dict[str, Any] | None
    error: str | None = None
    raw: bytes = b""  # the start of the line (previews for bad lines)


@dataclass
class TailBatch:
    """What one ``FileTailer.read()`` found. Apply batches in order."""

    path: str
    records: list[TailRecord] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    reset: bool = False  # the model must be rebuilt from scratch (truncated / replaced)
    exists: bool = True
    size: int = 0
    mtime: float = 0.0
    pending_bytes: int = 0  # an unterminated last line is waiting for its newline
    pending_changed: bool = False  # a partial line appeared or went away
    more: bool = False  # stopped at ``max_bytes``: there is more to read right away
    read_at: float = 0.0  # time.perf_counter() when the bytes were read
    source: FileTailer | None = field(default=None, repr=False, compare=False)  # the reader

    def __bool__(self) -> bool:
        return bool(self.records or self.notices or self.reset or self.pending_changed)

    def split(self, max_records: int) -> list[TailBatch]:
        """Cut into batches of at most ``max_records`` records (for time-sliced applying).
        Only the first keeps ``reset`` and the notices."""
        if len(self.records) <= max_records:
            return [self]
        parts = []
        for i in range(0, len(self.records), max_records):
            first = i == 0
            parts.append(
                replace(
                    self,
                    records=self.records[i : i + max_records],
                    notices=self.notices if first else [],
                    reset=self.reset if first else False,
                )
            )
        return parts


@dataclass
class TailUpdate:
    """What ``FileTailer.apply()`` changed in the model."""

    path: str
    trajectory: Trajectory
    reset: bool = False
    new_lines: int = 0
    new_iterations: list[Iteration] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)  # runs touched, in order
    notices: list[Notice] = field(default_factory=list)
    read_at: float = 0.0


class FileTailer:
    """Follow one JSONL file; only complete lines are consumed.

    ``read()`` may be called from any thread (calls are serialised);
    ``apply()`` from the one thread that owns ``trajectory``.
    """

    def __init__(self, path: str | os.PathLike[str], trajectory: Trajectory | None = None) -> None:
        self.path = os.path.abspath(os.fspath(path))
        self.trajectory = trajectory if trajectory is not None else Trajectory(path=self.path)
        self._builder = TrajectoryBuilder(self.trajectory)
        self._io_lock = threading.Lock()
        self._offset = 0  # bytes consumed from the file (complete lines + pending)
        self._pending = bytearray()  # unterminated tail
        self._line_no = 0
        self._mark: FileMark | None = None  # identity of what was read (format.file_change)
        self._deleted = False
        self._had_pending = False
        self._last_error: str | None = None

    # -- state ---------------------------------------------------------------

    @property
    def offset(self) -> int:
        """Bytes of the file read so far (including a pending partial line)."""
        return self._offset

    @property
    def consumed(self) -> int:
        """Bytes up to the end of the last complete line."""
        return self._offset - len(self._pending)

    @property
    def pending_bytes(self) -> int:
        return len(self._pending)

    @property
    def deleted(self) -> bool:
        return self._deleted

    # -- I/O (any thread) ----------------------------------------------------

    def _restart(self) -> None:
        self._offset = 0
        self._pending = bytearray()
        self._line_no = 0
        self._mark = None

    def _reset_notice(self, batch: TailBatch, kind: NoticeKind, message: str) -> None:
        batch.notices.append(Notice(self.path, kind, message + "; reloaded from the start"))
        batch.reset = True
        self._restart()

    def read(self, max_bytes: int | None = READ_LIMIT) -> TailBatch:
        """Read what was appended since the last call (at most ``max_bytes``; ``batch.more``
        says there is more) and parse the complete lines."""
        with self._io_lock:
            batch = TailBatch(self.path, source=self)
            try:
                fh = open(self.path, "rb")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                batch.exists = False
                if self._mark is not None and not self._deleted:
                    self._deleted = True
                    batch.notices.append(
                        Notice(self.path, NoticeKind.DELETED, "the file was deleted; showing what was read")
                    )
                return batch
            except OSError as exc:
                msg = f"cannot read the file: {exc.strerror or exc}"
                if msg != self._last_error:
                    self._last_error = msg
                    batch.notices.append(Notice(self.path, NoticeKind.ERROR, msg))
                return batch
            with fh:
                self._last_error = None
                fd = fh.fileno()
                st = os.fstat(fd)
                change = Change.REPLACED if self._mark is not None and self._deleted else None
                change = change or file_change(fd, st, self._mark)
                if change is Change.REPLACED:
                    self._reset_notice(batch, NoticeKind.REPLACED, "the file was replaced")
                elif change is Change.TRUNCATED:
                    self._reset_notice(
                        batch,
                        NoticeKind.TRUNCATED,
                        f"the file was truncated ({st.st_size} bytes < {self.consumed} read)",
                    )
                elif change is Change.REWRITTEN:
                    self._reset_notice(batch, NoticeKind.TRUNCATED, "the file was rewritten")
                elif st.st_size < self._offset:
                    # only the unterminated tail went away: a writer that failed mid-record
                    # cut the file back to its last complete line (our own writer does this)
                    self._offset = self.consumed
                    self._pending = bytearray()
                self._deleted = False
                fh.seek(self._offset)
                data = fh.read(-1 if max_bytes is None else max_bytes)
                batch.more = max_bytes is not None and len(data) >= max_bytes
                batch.read_at = time.perf_counter()
                batch.size = max(st.st_size, self._offset + len(data))
                batch.mtime = st.st_mtime
                self._consume(data, batch)
                if batch.records or self._mark is None:
                    self._mark = mark_file(fd, self.consumed, st)
            batch.pending_bytes = len(self._pending)
            batch.pending_changed = bool(self._pending) != self._had_pending
            self._had_pending = bool(self._pending)
            return batch

    def _consume(self, data: bytes, batch: TailBatch) -> None:
        if not data:
            return
        self._offset += len(data)
        last = data.rfind(b"\n")
        if last < 0:
            self._pending += data
            return
        first = data.find(b"\n")
        lines = [bytes(self._pending) + data[:first]]
        if last > first:
            lines.extend(data[first + 1 : last].split(b"\n"))
        self._pending = bytearray(data[last + 1 :])
        for raw in lines:
            self._line_no += 1
            batch.records.append(self._parse(self._line_no, raw))

    @staticmethod
    def _parse(line_no: int, raw: bytes) -> TailRecord:
        if not raw.strip():
            return TailRecord(line_no, None, None)
        try:
            return TailRecord(line_no, parse_line(raw), None, raw[:RAW_KEEP])
        except LineError as exc:
            return TailRecord(line_no, None, str(exc), raw[:RAW_KEEP])

    # -- model (owner thread) ------------------------------------------------

    def apply(self, batch: TailBatch) -> TailUpdate:
        """Feed a batch from ``read()`` into the model; returns what changed."""
        if batch.source is not None and batch.source is not self:
            raise ValueError("a batch can only be applied to the tailer that read it")
        traj = self.trajectory
        update = TailUpdate(
            self.path, traj, reset=batch.reset, notices=list(batch.notices), read_at=batch.read_at
        )
        if batch.reset:
            traj.runs.clear()
            traj.bad_lines.clear()
            traj.metadata = None
            traj.era = "unknown"
            traj.line_count = 0
            self._builder = TrajectoryBuilder(traj)
        for rec in batch.records:
            update.new_lines += 1
            traj.line_count = max(traj.line_count, rec.line_no)
            if rec.record is None:
                if rec.error is not None:
                    traj.bad_lines.append(BadLine(rec.line_no, rec.error, preview(rec.raw)))
                continue
            run = self._builder.feed(rec.line_no, rec.record, rec.raw)
            if run is None:
                continue
            if not update.runs or update.runs[-1] is not run:
                update.runs.append(run)
            update.new_iterations.append(run.iterations[-1])
        if update.runs:
            self._settle(traj)
        if batch.exists:
            traj.pending_tail = batch.pending_bytes > 0
        return update

    @staticmethod
    def _settle(traj: Trajectory) -> None:
        """While tailing, only the last run can still be running (like ``read_file(...,
        still_running=True)``); it is running again when lines arrive after ``set_stale``."""
        for run in traj.runs[:-1]:
            if run.status == RunStatus.RUNNING:
                run.status = RunStatus.INCOMPLETE
        last = traj.runs[-1]
        if last.status == RunStatus.INCOMPLETE and last.final_answer is None and not last.error:
            last.status = RunStatus.RUNNING

    def set_stale(self) -> bool:
        """The writer seems gone (nothing new for a while): a running last run becomes
        incomplete, without touching a pending partial line (the writer may yet go on).
        Returns whether anything changed. Call from the model's thread."""
        runs = self.trajectory.runs
        if runs and runs[-1].status == RunStatus.RUNNING:
            runs[-1].status = RunStatus.INCOMPLETE
            return True
        return False

    def poll(self) -> TailUpdate:
        """``read()`` then ``apply()``, in the calling thread."""
        return self.apply(self.read())

    def finish(self) -> Trajectory:
        """The writer is done: settle the model like ``reader.read_file`` does.

        A pending unterminated line is read if it parses (and kept as a bad
        line if it does not); runs without a final answer become incomplete.
        """
        with self._io_lock:
            raw = bytes(self._pending)
            self._pending = bytearray()
        traj = self.trajectory
        if raw:
            line_no = self._line_no + 1
            traj.pending_tail = True
            traj.line_count = max(traj.line_count, line_no)
            try:
                self._builder.feed(line_no, parse_line(raw), raw[:RAW_KEEP])
            except LineError:
                traj.bad_lines.append(
                    BadLine(line_no, "unterminated last line (the writer stopped mid-record)", preview(raw))
                )
        return self._builder.finish(False)
