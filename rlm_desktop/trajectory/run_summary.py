"""Cheap per-file summaries for a runs list (no Qt).

A folder can hold thousands of logs, some of them tens of MB with lines of
several MB, so a summary never builds the whole model. It reads:

* the first line (the metadata record, if it fits in ``HEAD_PEEK`` bytes): the model;
* the last complete line (its start is remembered while counting): iteration
  number, final answer, our ``rlm_desktop`` status/error. A line over
  ``BIG_LINE`` is not parsed at all: its first and last bytes are read with
  ``format.peek_head``/``peek_tail`` (parsing a dense multi-MB line would hold
  the GIL, and so the GUI, for hundreds of ms);
* a streaming byte count over the complete lines for the number of sub-calls
  (every ``rlm_calls`` entry at every depth carries the key ``"usage_summary"``;
  a JSON string cannot contain it unescaped) and of lines.

``RunSummarizer`` keeps that per file and on the next call only reads what was
appended, so re-summarising a growing file costs its new bytes (plus its last
line). Truncation, rewriting and replacement are ``format.file_change``'s rules.

Status: ``failed``/``cancelled`` from our extra keys on the last record;
``finished`` (or ``max_iterations``) when the last record has a final answer;
``running`` when the file changed within ``running_window`` seconds;
``incomplete`` otherwise (the writer stopped without an answer).
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .format import (
    SUBCALL_KEY,
    UNKNOWN,
    Change,
    FileMark,
    file_change,
    is_default_answer,
    mark_file,
    peek_head,
    peek_tail,
)
from .model import EXTRA_KEY, RunStatus
from .reader import LineError, iteration_from_record, parse_line, sanitize_str
from .tail import Notice, NoticeKind

HEAD_PEEK = 64 * 1024
TAIL_PEEK = 64 * 1024
HEAD_BYTES = 256
#: a last line longer than this is summarised from its ends, not parsed
BIG_LINE = 512 * 1024
SCAN_CHUNK = 1 << 20
#: a file modified less than this many seconds ago without an answer is "running"
RUNNING_WINDOW_S = 120.0
ANSWER_PREVIEW = 300


@dataclass(frozen=True)
class RunSummary:
    path: str
    status: RunStatus
    iterations: int = 0  # iteration number of the last record (its completion's count)
    sub_calls: int = 0  # rlm_calls entries at every depth, over the whole file
    lines: int = 0  # complete lines (metadata + iterations + bad ones)
    final_answer: str | None = None  # preview (sanitised, cut)
    modified: float = 0.0  # st_mtime
    size: int = 0
    model: str = ""
    pending: bool = False  # ends with an unterminated line
    error: str | None = None  # our engine's error, or why the file cannot be read

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


@dataclass
class _FileState:
    mark: FileMark | None = None  # the file's identity after the last scan (format.file_change)
    scanned: int = 0  # offset just after the last complete line counted
    last_start: int = 0  # offset where that last complete line starts
    lines: int = 0
    sub_calls: int = 0
    model: str | None = None
    last_line_at: int = -1  # the `scanned` value the last-line info belongs to
    iterations: int = 0
    final_answer: str | None = None
    default_answer: bool = False
    extra_status: str | None = None
    extra_error: str | None = None
    summary: RunSummary | None = None
    notices: list[Notice] = field(default_factory=list)


class RunSummarizer:
    """Incremental summaries, one state per path. Thread-safe."""

    def __init__(self, running_window: float = RUNNING_WINDOW_S) -> None:
        self.running_window = running_window
        self._states: dict[str, _FileState] = {}
        self._lock = threading.Lock()

    def forget(self, path: str) -> None:
        with self._lock:
            self._states.pop(path, None)

    def known(self) -> list[str]:
        with self._lock:
            return list(self._states)

    def cached(self, path: str) -> RunSummary | None:
        with self._lock:
            st = self._states.get(path)
            return st.summary if st else None

    def summarize(self, path: str, now: float | None = None) -> tuple[RunSummary | None, list[Notice]]:
        """Summary of ``path`` (None if it does not exist) and notices (truncated/replaced)."""
        path = os.path.abspath(path)
        with self._lock:
            state = self._states.setdefault(path, _FileState())
            try:
                summary = self._summarize(path, state, time.time() if now is None else now)
            except FileNotFoundError:
                self._states.pop(path, None)
                return None, []
            except OSError as exc:
                summary = RunSummary(path, RunStatus.INCOMPLETE, error=f"cannot read: {exc.strerror or exc}")
            state.summary = summary
            notices, state.notices = state.notices, []
            return summary, notices

    def refresh_status(self, now: float | None = None) -> list[RunSummary]:
        """Summaries whose status changed with time alone (running -> incomplete)."""
        now = time.time() if now is None else now
        changed = []
        with self._lock:
            for state in self._states.values():
                s = state.summary
                if s is None or s.status != RunStatus.RUNNING:
                    continue
                status = self._status(state, s.modified, now)
                if status != s.status:
                    state.summary = RunSummary(**{**s.__dict__, "status": status})
                    changed.append(state.summary)
        return changed

    # -- internals -------------------------------------------------------------

    def _summarize(self, path: str, state: _FileState, now: float) -> RunSummary:
        with open(path, "rb") as fh:
            st = os.fstat(fh.fileno())
            change = file_change(fh.fileno(), st, state.mark)
            if change is not None:
                kind = NoticeKind.REPLACED if change is Change.REPLACED else NoticeKind.TRUNCATED
                notices = state.notices
                state.__init__()  # type: ignore[misc]
                state.notices = notices + [Notice(path, kind, f"the file was {change.value}; summary re-read")]
            size = self._scan(fh, state, st.st_size)
            state.mark = mark_file(fh.fileno(), state.scanned, st)
            if state.model is None and state.scanned > 0:
                state.model = self._head_model(fh)
            if state.last_line_at != state.scanned:
                self._read_last(fh, state)
        return RunSummary(
            path=path,
            status=self._status(state, st.st_mtime, now),
            iterations=state.iterations,
            sub_calls=state.sub_calls,
            lines=state.lines,
            final_answer=state.final_answer,
            modified=st.st_mtime,
            size=size,
            model=state.model or "",
            pending=size > state.scanned,
            error=state.extra_error,
        )

    @staticmethod
    def _scan(fh, state: _FileState, size: int) -> int:
        """Count lines and sub-call keys in the complete lines appended since the last scan."""
        fh.seek(state.scanned)
        carry = b""
        pos = state.scanned
        while True:
            chunk = fh.read(SCAN_CHUNK)
            if not chunk:
                break
            pos += len(chunk)
            data = carry + chunk if carry else chunk
            nl = data.rfind(b"\n")
            if nl < 0:
                carry = data
                continue
            done = data[: nl + 1]
            prev = done.rfind(b"\n", 0, len(done) - 1)
            state.last_start = state.scanned + prev + 1 if prev >= 0 else state.scanned
            state.lines += done.count(b"\n")
            state.sub_calls += done.count(SUBCALL_KEY)
            state.scanned += len(done)
            carry = data[nl + 1 :]
        return max(size, pos)

    @staticmethod
    def _head_model(fh) -> str:
        head = os.pread(fh.fileno(), HEAD_PEEK, 0)
        nl = head.find(b"\n")
        if nl < 0:
            return ""
        try:
            rec = parse_line(head[:nl])
        except LineError:
            return ""
        if rec.get("type") != "metadata":
            return ""
        return sanitize_str(str(rec.get("root_model") or ""))

    @staticmethod
    def _read_last(fh, state: _FileState) -> None:
        state.last_line_at = state.scanned
        state.iterations = 0
        state.final_answer = None
        state.default_answer = False
        state.extra_status = state.extra_error = None
        length = state.scanned - 1 - state.last_start
        if state.scanned <= 0 or length <= 0:
            return
        fd = fh.fileno()
        if length > BIG_LINE and RunSummarizer._peek_last(fd, state, length):
            return
        try:
            rec = parse_line(os.pread(fd, length, state.last_start))
        except LineError:
            return
        if rec.get("type") != "iteration":
            return
        number, final = rec.get("iteration"), rec.get("final_answer")
        if isinstance(final, list) or not isinstance(number, int) or isinstance(number, bool):
            # pre-era pairs (FINAL_VAR is resolved from the locals) and odd records: the reader's way
            it = iteration_from_record(rec)
            number, final, default = it.number, it.final_answer, it.is_default_answer
        else:
            # the common case without building the iteration (sub-calls, nested runs...)
            if final is not None and not isinstance(final, str):
                final = str(final)
            default = is_default_answer(rec, final, bool(rec.get("code_blocks")))
        RunSummarizer._set_last(state, number, final, default, rec.get(EXTRA_KEY))

    @staticmethod
    def _peek_last(fd: int, state: _FileState, length: int) -> bool:
        """Summarise a huge last line from its first and last bytes without parsing it
        (exact for upstream's key order, see format.peek_head/peek_tail). False: parse it."""
        head = peek_head(os.pread(fd, HEAD_BYTES, state.last_start))
        tail_bytes = os.pread(fd, min(TAIL_PEEK, length), state.scanned - 1 - min(TAIL_PEEK, length))
        info = peek_tail(tail_bytes)
        if head is None or info is None or head.kind != "iteration" or head.iteration is None:
            return False
        final = None
        if info.final:
            value = info.value
            if value is UNKNOWN:
                return False
            if isinstance(value, list):  # pre-era pair; FINAL_VAR needs the locals: parse
                if len(value) != 2 or value[0] == "FINAL_VAR":
                    return False
                value = value[1]
            final = value if isinstance(value, str) else json.dumps(value)
        RunSummarizer._set_last(state, head.iteration, final, info.final and info.time_null, info.extra)
        return True

    @staticmethod
    def _set_last(state: _FileState, number: int, final: str | None, default: bool, extra: Any) -> None:
        state.iterations = number
        if final is not None:
            text = sanitize_str(final)
            if len(text) > ANSWER_PREVIEW:
                text = text[:ANSWER_PREVIEW] + "…"
            state.final_answer = text
            state.default_answer = default
        if isinstance(extra, dict):
            status = extra.get("status")
            if status in (RunStatus.FAILED, RunStatus.CANCELLED):
                state.extra_status = str(status)
                if extra.get("error"):
                    state.extra_error = sanitize_str(str(extra["error"]))[:ANSWER_PREVIEW]

    def _status(self, state: _FileState, mtime: float, now: float) -> RunStatus:
        if state.extra_status:
            return RunStatus(state.extra_status)
        if state.final_answer is not None:
            return RunStatus.MAX_ITERATIONS if state.default_answer else RunStatus.FINISHED
        if now - mtime < self.running_window:
            return RunStatus.RUNNING
        return RunStatus.INCOMPLETE


def summarize_file(path: str, running_window: float = RUNNING_WINDOW_S) -> RunSummary | None:
    """One-shot summary of one file (None if it does not exist)."""
    return RunSummarizer(running_window).summarize(path)[0]
