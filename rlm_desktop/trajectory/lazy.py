"""Open big logs lazily: runs and iterations as stubs, lines parsed on demand.

``LazyTrajectory`` sits on a ``LineIndex``. Indexing reads only newlines and a
few hundred bytes at each end of every line (``peek_head``/``peek_tail``), which
is enough to split the file into completions and to know, per iteration, its
number, timestamp, whether it has a final answer and whether it is a default
answer. Whole lines are parsed only when asked for (``load_iteration``), for
lines whose ends do not look like upstream's (parsed once, while indexing),
and for default-answer lines (one per run, to confirm).

Peeks do not check the middle of a line. ``validate_step`` (a background pass
after indexing, at about the reader's speed) parses every line that was only
peeked and corrects what it finds: a line corrupted in the middle becomes a
bad line, runs are re-split, and ``snapshot().generation`` goes up (earlier
``run()`` shells and placeholders are then stale: fetch them again). Loading a
line that turns out to be bad does the same. After validation the split,
statuses and bad lines are exactly those of ``reader.read_file`` (tests and
``bench/fuzz_reader.py`` check this).

Typical use from the UI (the GUI thread never parses: call ``index_step`` and
``load_*`` from a worker thread; ``snapshot`` is cheap and safe anywhere)::

    lt = LazyTrajectory(path)                 # nothing read yet
    lt.index_until_first_iteration()          # worker: a few ms for any file size
    while lt.index_step():                    # worker: 32 MiB per step
        emit_progress(lt.snapshot())          # GUI: runs so far, progress
    while lt.validate_step():                 # worker, optional: confirm every line
        emit_progress(lt.snapshot())          # GUI: rebuild the tree if generation changed
    snap = lt.snapshot()                      # LazySnapshot (immutable)
    snap.runs[0].iterations[3]                # IterStub: line_no, number, timestamp, final, ...
    it = lt.load_iteration(0, 3)              # worker: model Iteration (parsed), cached
    run = lt.run(0)                           # model Run shell: .iterations holds loaded
                                              # Iterations or placeholders (is_placeholder)
    traj = lt.trajectory()                    # model Trajectory over all run shells
    lt.load_run(0)                            # parse every iteration of run 0
    lt.close()

``LazySnapshot`` fields: ``runs`` (``RunStub``: index, iterations, status,
has_final, run_id), ``metadata``, ``bad_lines``, ``line_count``, ``bytes_indexed``,
``size``, ``complete``, ``pending_tail``, ``era``, ``validated``, ``generation``.
``progress`` is 0..1.

Placeholders are model ``Iteration`` objects with number/timestamp/line_no set
and ``extra[PLACEHOLDER_KEY] = True``; ``load_iteration`` swaps the parsed one
into ``run.iterations`` at the same position. Loaded iterations are kept in an
LRU cache of ``cache_size`` lines (placeholders come back when evicted).

With ``still_running=True`` an unterminated last line stays pending (never
reported as bad) and calling ``index_step`` again picks up appended lines, so
a growing file can be re-indexed cheaply; following a live file with change
notifications is ``tail.py``'s job.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from .index import DEFAULT_CHUNK, LineIndex, peek_head, peek_tail
from .model import EXTRA_KEY, BadLine, Iteration, Run, RunStatus, Trajectory
from .reader import LineError, TrajectoryBuilder, build_iteration, parse_line, preview
from .stubs import IterStub, LazySnapshot, RunStub

PLACEHOLDER_KEY = "lazy_placeholder"
STEP_BYTES = 32 << 20
PEEK = 512


def is_placeholder(it: Iteration) -> bool:
    return bool(it.extra.get(PLACEHOLDER_KEY))


@dataclass
class _RunState:
    index: int
    metadata: dict[str, Any]
    stubs: list[IterStub] = field(default_factory=list)
    final: bool = False
    default: bool = False
    status_extra: str | None = None
    run_id: str = ""


class LazyTrajectory:
    """See the module docstring."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        still_running: bool = False,
        cache_size: int = 64,
        chunk_size: int = DEFAULT_CHUNK,
    ) -> None:
        self.path = os.fspath(path)
        self.still_running = still_running
        self.cache_size = cache_size
        self.index = LineIndex(self.path, chunk_size=chunk_size)
        self._lock = threading.RLock()  # guards the state below; held only briefly
        self._work_lock = threading.Lock()  # one indexing/validation step at a time
        self._processed = 0  # lines of the index turned into stubs
        self._runs: list[_RunState] = []
        self._shells: dict[int, Run] = {}
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
        self._cache: OrderedDict[tuple[int, int], Iteration] = OrderedDict()
        self._era = TrajectoryBuilder()  # only its era guessing is used
        self._pending_done = False
        self._era_probes = 0  # the first few iteration lines are parsed to tell the era
        self._pending_tail = False
        self._error: str | None = None

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
        era_probe = self._era_probes < 3 and self._era.traj.era in ("unknown", "0.1.0", "0.1.1")
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
        if kind == "metadata":
            return ("meta", dict(rec))
        if kind != "iteration":
            return BadLine(line_no, f"unknown record type {kind!r}", preview(raw))
        try:
            it = build_iteration(rec, line_no)
        except LineError as exc:
            return BadLine(line_no, str(exc), preview(raw))
        status = it.extra.get("status") if isinstance(it.extra.get("status"), str) else None
        self._era._guess_era(rec)
        self._era_probes += 1
        facts = (it.number, it.timestamp, it.final_answer is not None, it.is_default_answer, nbytes, status)
        return ("iter", facts, True)

    def _apply_entry(self, line_no: int, entry: tuple[Any, ...]) -> None:
        """Fold one entry (in line order) into the run split, as the reader does."""
        if entry[0] == "meta":
            self._meta = entry[1]
            if self._first_meta is None:
                self._first_meta = self._meta
            if EXTRA_KEY in self._meta:
                self._era.traj.era = "rlm_desktop"
            self._current = None
            return
        number, timestamp, final, default, nbytes, status = entry[1]
        run = self._current
        last = run.stubs[-1] if run and run.stubs else None
        if run is None or run.final or (last is not None and number <= last.number):
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
        shell = self._shells.get(run.index)
        if shell is not None:
            holder = shell.add_iteration(self._placeholder(stub))
            holder.position = stub.position

    def _rebuild(self) -> None:
        """Re-derive runs from the entries after a correction."""
        self._runs = []
        self._current = None
        self._meta = {}
        self._first_meta = None
        self._shells.clear()
        self._cache.clear()
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
                era=self._era.traj.era,
                validated=self.index.complete and self._vpos >= len(self._unverified),
                generation=self._generation,
            )

    @staticmethod
    def _placeholder(stub: IterStub) -> Iteration:
        return Iteration(
            number=stub.number,
            timestamp=stub.timestamp,
            line_no=stub.line_no,
            is_default_answer=stub.is_default_answer,
            extra={PLACEHOLDER_KEY: True},
        )

    def run(self, run_index: int) -> Run:
        """The model ``Run`` for a completion: loaded iterations or placeholders."""
        with self._lock:
            shell = self._shells.get(run_index)
            if shell is None:
                state = self._runs[run_index]
                shell = Run(index=run_index, depth=0, metadata=state.metadata, run_id=state.run_id)
                for stub in state.stubs:
                    key = (run_index, stub.position)
                    shell.add_iteration(self._cache.get(key) or self._placeholder(stub))
                self._shells[run_index] = shell
            state = self._runs[run_index]
            shell.status = self._status(state, state is self._current)
            return shell

    def load_iteration(self, run_index: int, position: int) -> Iteration:
        """Parse one iteration's line (cached). Never raises for bad content: a line
        that no longer parses gives a placeholder with ``extra["error"]``."""
        with self._lock:
            key = (run_index, position)
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
            stub = self._runs[run_index].stubs[position]
            shell = self.run(run_index)
            gen = self._generation
        raw = b""
        try:
            if self._inline_tail is not None and self._inline_tail[0] == stub.line_no:
                rec = self._inline_tail[1]
            else:
                raw = self.index.read_line(stub.line_no - 1)
                rec = parse_line(raw)
            it = build_iteration(rec, stub.line_no)
            self._era._guess_era(rec)
        except (LineError, OSError, IndexError) as exc:
            it = self._placeholder(stub)
            it.extra["error"] = f"line {stub.line_no} could not be read: {exc}"
            if isinstance(exc, LineError):
                with self._lock:  # a corrupt line that peeking let through: correct the index
                    if self._correct(stub.line_no, BadLine(stub.line_no, str(exc), preview(raw))):
                        self._rebuild()
            return it
        with self._lock:
            if self._generation != gen:  # re-split meanwhile: do not install into a stale shell
                return it
            it.parent = shell
            it.position = position
            if position < len(shell.iterations):
                shell.iterations[position] = it
            if it.final_answer is not None:
                shell.final_answer = it.final_answer
            self._cache[key] = it
            while len(self._cache) > self.cache_size:
                (ri, pos), old = self._cache.popitem(last=False)
                sh = self._shells.get(ri)
                if sh is not None and pos < len(sh.iterations) and sh.iterations[pos] is old:
                    sh.iterations[pos] = self._placeholder(self._runs[ri].stubs[pos])
                    sh.iterations[pos].parent = sh
                    sh.iterations[pos].position = pos
        return it

    def trajectory(self) -> Trajectory:
        """A model ``Trajectory`` over the runs indexed so far (shells with placeholders),
        for code that walks a ``Trajectory``; iterations fill in as they are loaded."""
        snap = self.snapshot()
        traj = Trajectory(
            path=self.path,
            metadata=snap.metadata,
            bad_lines=list(snap.bad_lines),
            era=snap.era,
            line_count=snap.line_count,
            pending_tail=snap.pending_tail,
        )
        traj.runs = [self.run(r.index) for r in snap.runs]
        for shell, stub in zip(traj.runs, snap.runs, strict=True):
            shell.status = stub.status
        return traj

    def load_run(self, run_index: int) -> Run:
        """Parse every iteration of one completion (grows the cache to hold them)."""
        n = len(self._runs[run_index].stubs)
        self.cache_size = max(self.cache_size, n)
        for pos in range(n):
            self.load_iteration(run_index, pos)
        return self.run(run_index)

    def final_answer(self, run_index: int) -> str | None:
        """The completion's final answer text (parses its final line)."""
        stubs = self._runs[run_index].stubs
        finals = [s for s in stubs if s.final]
        if not finals:
            return None
        return self.load_iteration(run_index, finals[-1].position).final_answer

    def close(self) -> None:
        self.index.close()

    def __enter__(self) -> LazyTrajectory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
