"""The indexing half of ``lazy.LazyTrajectory``: lines -> entries -> runs of stubs.

Each line becomes an entry (metadata record, iteration facts, or a bad line),
from head/tail peeks where they suffice and by parsing otherwise; runs are
split from the entries in line order exactly as ``reader.TrajectoryBuilder``
splits them. ``validate_step`` parses peeked-only lines and re-splits on any
correction. No model objects here; see ``lazy.py`` for the public API.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

from .format import METADATA, RunSplit, era_of_metadata, guess_era, peek_head, peek_tail
from .index import DEFAULT_CHUNK, LineIndex
from .model import EXTRA_KEY, BadLine, RunStatus
from .reader import LineError, build_iteration, parse_line, preview
from .stubs import IterStub, LazySnapshot, RunStub

STEP_BYTES = 32 << 20
PEEK = 512


@dataclass
class _RunState:
    index: int
    metadata: dict[str, Any]
    stubs: list[IterStub] = field(default_factory=list)
    final: bool = False
    default: bool = False
    status_extra: str | None = None
    run_id: str = ""


class StubIndex:
    """Runs and iterations of a log file as stubs (see ``lazy`` for the public API)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        still_running: bool = False,
        chunk_size: int = DEFAULT_CHUNK,
    ) -> None:
        self.path = os.fspath(path)
        self.still_running = still_running
        self.index = LineIndex(self.path, chunk_size=chunk_size)
        self._lock = threading.RLock()  # guards the state below; held only briefly
        self._work_lock = threading.Lock()  # one indexing/validation step at a time
        self._processed = 0  # lines of the index turned into stubs
        self._runs: list[_RunState] = []
        self._meta: dict[str, Any] = {}
        self._first_meta: dict[str, Any] | None = None
        self._current: _RunState | None = None
        self._bad: dict[int, BadLine] = {}  # by line number
        # line_no -> ("meta", record) | ("iter", facts, verified); facts = (number, timestamp,
        # final, default, nbytes, status). Runs are derived from these, in line order.
        self._entries: dict[int, tuple[Any, ...]] = {}
        self._unverified: list[int] = []  # iteration lines known only from peeks, in order
        self._vpos = 0  # next index into _unverified
        self._generation = 0
        self._era = "unknown"  # format.guess_era over the lines parsed so far
        self._split = RunSplit()
        self._pending_done = False
        self._era_probes = 0  # the first few iteration lines are parsed to tell the era
        self._pending_tail = False
        self._error: str | None = None

    # hook for the model layer (LazyTrajectory)
    def _forget_models(self) -> None:
        pass

    # -- indexing (worker thread) ------------------------------------------------------

    def index_step(self, max_bytes: int = STEP_BYTES) -> bool:
        """Index the next piece of the file. Returns True while there is more to do.

        File reads and parsing happen outside the state lock: ``snapshot`` and
        ``run`` from another thread are only held up while results are applied.
        """
        with self._work_lock:
            if not os.path.exists(self.path):
                with self._lock:
                    if self._error is None:
                        self._error = "file not found"
                        self._bad[0] = BadLine(0, f"cannot read file: {self._error}", "")
                return False
            self.index.scan(max_bytes)
            count = self.index.line_count
            found = [(i + 1, self._examine_line(i)) for i in range(self._processed, count)]
            with self._lock:
                for line_no, res in found:
                    self._take(line_no, res)
                self._processed = count
                if self.index.complete:
                    self._finish_pending()
                    return False
                return True

    def index_until_first_iteration(self, first_step: int = 1 << 20) -> LazySnapshot:
        """Index just far enough for the first iteration (or the end of the file)."""
        step = first_step
        while True:
            with self._lock:
                if any(r.stubs for r in self._runs):
                    break
            if not self.index_step(step):
                break
            step = min(step * 2, STEP_BYTES)
        return self.snapshot()

    def _examine_line(self, i: int) -> Any:
        """What line ``i`` is (an entry, a ``BadLine`` or None for blank), from peeks if
        they suffice, else by parsing it. Touches no shared state but the era guess."""
        line_no = i + 1
        start, end = self.index.span(i)
        nbytes = end - start
        head = self.index.head(i, PEEK)
        info = peek_head(head)
        era_probe = self._era_probes < 3 and self._era in ("unknown", "0.1.0", "0.1.1")
        if info is not None and info.kind == "iteration" and info.iteration is not None and not era_probe:
            tail = peek_tail(self.index.tail(i, PEEK)) if nbytes > len(head) else peek_tail(head)
            if tail is not None and not (tail.final and tail.time_null):
                status = tail.extra.get("status") if tail.extra else None
                return (
                    "iter",
                    (info.iteration, info.timestamp or "", tail.final, False, nbytes, status),
                    False,
                )
        # anything unusual (metadata, default answers, other writers, junk): parse the line
        return self._slow_entry(line_no, self.index.read_line(i), nbytes)

    def _take(self, line_no: int, res: Any) -> None:
        """Record what ``_examine_line`` found (under the lock, in line order)."""
        if isinstance(res, BadLine):
            self._bad[line_no] = res
        elif res is not None:
            self._entries[line_no] = res
            if res[0] == "iter" and not res[2]:
                self._unverified.append(line_no)
            self._apply_entry(line_no, res)

    def _slow_entry(self, line_no: int, raw: bytes, nbytes: int) -> tuple[Any, ...] | BadLine | None:
        """The exact entry for a line, by parsing it as the reader does (None: blank line)."""
        try:
            rec = parse_line(raw)
        except LineError as exc:
            return BadLine(line_no, str(exc), preview(raw)) if raw.strip() else None
        return self._entry_from_record(line_no, rec, nbytes, raw)

    def _entry_from_record(self, line_no: int, rec: dict[str, Any], nbytes: int, raw: bytes) -> Any:
        kind = rec.get("type")
        if kind == METADATA:
            return ("meta", dict(rec))
        if kind != "iteration":
            return BadLine(line_no, f"unknown record type {kind!r}", preview(raw))
        try:
            it = build_iteration(rec, line_no)
        except LineError as exc:
            return BadLine(line_no, str(exc), preview(raw))
        status = it.extra.get("status") if isinstance(it.extra.get("status"), str) else None
        self._era = guess_era(self._era, rec)
        self._era_probes += 1
        facts = (it.number, it.timestamp, it.final_answer is not None, it.is_default_answer, nbytes, status)
        return ("iter", facts, True)

    def _apply_entry(self, line_no: int, entry: tuple[Any, ...]) -> None:
        """Fold one entry (in line order) into the run split, as the reader does."""
        if entry[0] == "meta":
            self._meta = entry[1]
            if self._first_meta is None:
                self._first_meta = self._meta
            self._era = era_of_metadata(self._meta, self._era)
            self._current = None
            self._split.metadata()
            return
        number, timestamp, final, default, nbytes, status = entry[1]
        run = self._current
        if self._split.starts_run(number, final) or run is None:
            run = _RunState(index=len(self._runs), metadata=self._meta)
            extra = self._meta.get(EXTRA_KEY)
            if isinstance(extra, dict) and extra.get("run_id") is not None:
                run.run_id = str(extra.get("run_id"))
            self._runs.append(run)
            self._current = run
        stub = IterStub(line_no, number, timestamp, final, default, nbytes, run.index, len(run.stubs), status)
        run.stubs.append(stub)
        if final:
            run.final = True
            run.default = default
        if status in {s.value for s in RunStatus}:
            run.status_extra = status

    def _rebuild(self) -> None:
        """Re-derive runs from the entries after a correction."""
        self._runs = []
        self._current = None
        self._split = RunSplit()
        self._meta = {}
        self._first_meta = None
        self._forget_models()
        for line_no in sorted(self._entries):
            self._apply_entry(line_no, self._entries[line_no])
        self._generation += 1

    def _correct(self, line_no: int, found: Any) -> bool:
        """Replace a peeked entry by what parsing found. Returns True if anything changed."""
        old = self._entries.get(line_no)
        if isinstance(found, tuple) and old is not None and found[:2] == old[:2]:
            self._entries[line_no] = found  # confirmed
            return False
        self._entries.pop(line_no, None)
        if isinstance(found, BadLine):
            self._bad[line_no] = found
        elif found is not None:
            self._entries[line_no] = found
        return True

    def validate_step(self, max_bytes: int = STEP_BYTES) -> bool:
        """Parse the next peeked-only lines (about ``max_bytes``) and correct the index.
        Returns True while there is more to validate (or indexing is not finished)."""
        with self._work_lock:
            with self._lock:
                batch: list[tuple[int, int]] = []
                done = 0
                while self._vpos < len(self._unverified) and done < max_bytes:
                    line_no = self._unverified[self._vpos]
                    self._vpos += 1
                    entry = self._entries.get(line_no)
                    if entry is not None and entry[0] == "iter":
                        batch.append((line_no, entry[1][4]))
                        done += entry[1][4] + 1
            found = [(ln, self._slow_entry(ln, self.index.read_line(ln - 1), nb)) for ln, nb in batch]
            with self._lock:
                changed = False
                for line_no, res in found:
                    changed |= self._correct(line_no, res)
                if changed:
                    self._rebuild()
                return self._vpos < len(self._unverified) or not self.index.complete

    def index_all(self, validate: bool = False) -> LazySnapshot:
        """Index the whole file (and validate every line when asked)."""
        while self.index_step():
            pass
        while validate and self.validate_step():
            pass
        return self.snapshot()

    def _finish_pending(self) -> None:
        if self.still_running:  # the file may still grow: the tail stays pending, never parsed
            self._pending_tail = self.index.pending_bytes > 0
            return
        if self._pending_done:
            return
        self._pending_done = True
        if self.index.pending_bytes <= 0:
            return
        self._pending_tail = True
        if self.still_running:
            return
        raw = self.index.read_pending()
        line_no = self.index.line_count + 1
        try:
            rec = parse_line(raw)
        except LineError:
            self._bad[line_no] = BadLine(
                line_no, "unterminated last line (the writer stopped mid-record)", preview(raw)
            )
            return
        self._inline_tail = (line_no, rec)
        entry = self._entry_from_record(line_no, rec, len(raw), raw)
        if isinstance(entry, BadLine):
            self._bad[line_no] = entry
        else:
            self._entries[line_no] = entry
            self._apply_entry(line_no, entry)

    _inline_tail: tuple[int, dict[str, Any]] | None = None

    # -- reading (any thread) ---------------------------------------------------------------

    def _status(self, run: _RunState, is_last: bool) -> RunStatus:
        if run.status_extra is not None:
            return RunStatus(run.status_extra)
        if run.final:
            return RunStatus.MAX_ITERATIONS if run.default else RunStatus.FINISHED
        if is_last and (self.still_running or not self.index.complete):
            return RunStatus.RUNNING
        return RunStatus.INCOMPLETE

    def snapshot(self) -> LazySnapshot:
        with self._lock:
            runs = tuple(
                RunStub(r.index, tuple(r.stubs), self._status(r, r is self._current), r.final, r.run_id)
                for r in self._runs
            )
            return LazySnapshot(
                runs=runs,
                metadata=dict(self._first_meta) if self._first_meta is not None else None,
                bad_lines=tuple(self._bad[k] for k in sorted(self._bad)),
                line_count=self.index.line_count
                + (1 if self._pending_tail and not self.still_running else 0),
                bytes_indexed=self.index.scanned_bytes,
                size=self.index.size,
                complete=self.index.complete,
                pending_tail=self._pending_tail,
                era=self._era,
                validated=self.index.complete and self._vpos >= len(self._unverified),
                generation=self._generation,
            )

    def close(self) -> None:
        self.index.close()
