"""Open big logs lazily: runs and iterations as stubs, lines parsed on demand.

``LazyTrajectory`` sits on a ``LineIndex``. Indexing reads only newlines and a
few hundred bytes at each end of every line (``peek_head``/``peek_tail``), which
is enough to split the file into completions and to know, per iteration, its
number, timestamp, whether it has a final answer and whether it is a default
answer. Whole lines are parsed only when asked for (``parse_iteration``), for
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
``parse_iteration`` from a worker thread; ``snapshot`` is cheap and safe anywhere;
the shells change only in the owner's calls ``trajectory``/``run``/``sync``/``install``)::

    lt = LazyTrajectory(path)                 # nothing read yet
    lt.index_until_first_iteration()          # worker: a few ms for any file size
    while lt.index_step():                    # worker: 32 MiB per step
        emit_progress(lt.snapshot())          # GUI: runs so far, progress
    while lt.validate_step():                 # worker, optional: confirm every line
        emit_progress(lt.snapshot())          # GUI: rebuild the tree if generation changed
    snap = lt.snapshot()                      # LazySnapshot (immutable)
    snap.runs[0].iterations[3]                # IterStub: line_no, number, timestamp, final, ...
    traj = lt.trajectory()                    # owner: model Trajectory over the run shells
                                              # (iterations are placeholders: is_placeholder)
    parsed = lt.parse_iteration(0, 3)         # worker: a new, detached model Iteration
    dropped = lt.install(0, 3, parsed, keep=on_screen)  # owner: fills traj.runs[0].iterations[3]
                                              # in place; returns iterations evicted from the cache
    lt.sync(traj)                             # owner: runs/iterations indexed since, as placeholders
    it = lt.load_iteration(0, 3)              # parse + install in one call (tools, tests)
    lt.load_run(0)                            # parse every iteration of run 0
    lt.close()

``LazySnapshot`` fields: ``runs`` (``RunStub``: index, iterations, status,
has_final, run_id), ``metadata``, ``bad_lines``, ``line_count``, ``bytes_indexed``,
``size``, ``complete``, ``pending_tail``, ``era``, ``validated``, ``generation``.
``progress`` is 0..1.

Placeholders are model ``Iteration`` objects with number/timestamp/line_no set
and ``extra[PLACEHOLDER_KEY] = True``. Loading fills the placeholder **in place**
(the same object, so tree rows and selections stay valid): ``parse_iteration``
(any thread) parses the line into a new ``Iteration``, ``install`` (the model's
thread) copies it into the shell's object; ``load_iteration`` does both. Loaded
iterations are kept in an LRU cache of ``cache_size`` lines; the least recently
used ones become placeholders again (``install`` returns them), so an open log
holds its index and the iterations being looked at, never the whole file.

With ``still_running=True`` an unterminated last line stays pending (never
reported as bad) and calling ``index_step`` again picks up appended lines, so
a growing file can be re-indexed cheaply; following a live file with change
notifications is ``tail.py``'s job.
"""

from __future__ import annotations

import dataclasses
import os
from collections import OrderedDict
from typing import Any

from .format import guess_era
from .index import DEFAULT_CHUNK
from .model import BadLine, Iteration, Run, Trajectory
from .reader import LineError, build_iteration, parse_line, preview
from .stub_index import STEP_BYTES, StubIndex
from .stubs import IterStub, LazySnapshot, RunStub

__all__ = [
    "PLACEHOLDER_KEY",
    "STEP_BYTES",
    "IterStub",
    "LazySnapshot",
    "LazyTrajectory",
    "RunStub",
    "is_placeholder",
]

PLACEHOLDER_KEY = "lazy_placeholder"


def is_placeholder(it: Iteration) -> bool:
    return bool(it.extra.get(PLACEHOLDER_KEY))


_FILLED = [f.name for f in dataclasses.fields(Iteration) if f.name not in ("parent", "position")]


def _fill(target: Iteration, source: Iteration) -> None:
    """Make ``target`` hold ``source``'s content (its blocks re-parented), keeping its identity."""
    for name in _FILLED:
        setattr(target, name, getattr(source, name))
    for b in target.code_blocks:
        b.parent = target


class LazyTrajectory(StubIndex):
    """See the module docstring."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        still_running: bool = False,
        cache_size: int = 64,
        cache_bytes: int | None = None,
        chunk_size: int = DEFAULT_CHUNK,
    ) -> None:
        super().__init__(path, still_running=still_running, chunk_size=chunk_size)
        self.cache_size = cache_size
        self.cache_bytes = cache_bytes  # also bound the cache by the lines' size in the file
        self._shells: dict[int, Run] = {}
        self._cache: OrderedDict[tuple[int, int], Iteration] = OrderedDict()
        self._cached_bytes = 0
        #: the whole-file totals (``totals.FileTotals``) once a worker has made them, else None
        self.totals: Any = None

    def _forget_models(self) -> None:
        self._shells.clear()
        self._cache.clear()
        self._cached_bytes = 0

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
        """The model ``Run`` for a completion: loaded iterations or placeholders. Shells only
        change in calls from their owner (``run``, ``install``, ``sync``), never while a
        worker indexes: call ``run`` or ``sync`` again to see iterations indexed since."""
        with self._lock:
            state = self._runs[run_index]
            shell = self._shells.get(run_index)
            if shell is None:
                shell = Run(index=run_index, depth=0, metadata=state.metadata, run_id=state.run_id)
                self._shells[run_index] = shell
            for stub in state.stubs[len(shell.iterations) :]:
                shell.add_iteration(self._placeholder(stub))
            shell.status = self._status(state, state is self._current)
            return shell

    def sync(self, traj: Trajectory) -> bool:
        """Bring a ``trajectory()`` up to what is indexed now (new runs, iterations as
        placeholders, statuses, bad lines), in the owner's thread. Returns False when the
        runs were re-split meanwhile (``generation`` changed): take a new ``trajectory()``."""
        snap = self.snapshot()
        if traj.extra_generation != snap.generation:
            return False
        for stub in snap.runs:
            shell = self.run(stub.index)
            shell.status = stub.status
            if stub.index >= len(traj.runs):
                traj.runs.append(shell)
        traj.metadata = snap.metadata
        traj.bad_lines = list(snap.bad_lines)
        traj.era = snap.era
        traj.line_count = snap.line_count
        traj.pending_tail = snap.pending_tail
        return True

    def parse_iteration(self, run_index: int, position: int) -> Iteration:
        """Parse one iteration's line into a new ``Iteration`` (not installed: any thread may
        call this, e.g. a worker, and hand the result to ``install`` in the model's thread).
        Never raises for bad content: a line that no longer parses gives a placeholder with
        ``extra["error"]`` (and the index is corrected)."""
        with self._lock:
            stub = self._runs[run_index].stubs[position]
        raw = b""
        try:
            if self._inline_tail is not None and self._inline_tail[0] == stub.line_no:
                rec = self._inline_tail[1]
            else:
                raw = self.index.read_line(stub.line_no - 1)
                rec = parse_line(raw)
            it = build_iteration(rec, stub.line_no)
            with self._lock:
                self._era = guess_era(self._era, rec)
        except (LineError, OSError, IndexError) as exc:
            it = self._placeholder(stub)
            it.extra["error"] = f"line {stub.line_no} could not be read: {exc}"
            if isinstance(exc, LineError):
                with self._lock:  # a corrupt line that peeking let through: correct the index
                    if self._correct(stub.line_no, BadLine(stub.line_no, str(exc), preview(raw))):
                        self._rebuild()
        it.position = position
        return it

    def install(self, run_index: int, position: int, parsed: Iteration, keep: Iteration | None = None) -> list[Iteration]:
        """Fill the shell's iteration at ``position`` with ``parsed`` **in place** (the object
        panels and tree rows hold stays the same) and put it in the LRU cache. The least
        recently used iterations beyond ``cache_size`` become placeholders again (never
        ``keep``, e.g. the one on screen); they are returned, so a view can drop their rows."""
        with self._lock:
            if run_index >= len(self._runs) or position >= len(self._runs[run_index].stubs):
                return []
            if is_placeholder(parsed):  # unreadable: show why, nothing to cache
                return []
            shell = self.run(run_index)
            target = shell.iterations[position]
            key = (run_index, position)
            if not is_placeholder(target):
                self._cache[key] = target
                self._cache.move_to_end(key)
                return []
            _fill(target, parsed)
            if target.final_answer is not None:
                shell.final_answer = target.final_answer
            self._cache[key] = target
            self._cached_bytes += self._runs[run_index].stubs[position].nbytes
            evicted = []
            for old_key in list(self._cache):
                if not self._over_budget():
                    break
                old = self._cache[old_key]
                if old is keep or old_key == key:
                    continue
                del self._cache[old_key]
                ri, pos = old_key
                if ri < len(self._runs) and pos < len(self._runs[ri].stubs):
                    self._cached_bytes -= self._runs[ri].stubs[pos].nbytes
                    _fill(old, self._placeholder(self._runs[ri].stubs[pos]))
                    evicted.append(old)
            return evicted

    def _over_budget(self) -> bool:
        if len(self._cache) > self.cache_size:
            return True
        return self.cache_bytes is not None and len(self._cache) > 1 and self._cached_bytes > self.cache_bytes

    @property
    def cached(self) -> int:
        """How many parsed iterations the cache holds now."""
        return len(self._cache)

    def load_iteration(self, run_index: int, position: int) -> Iteration:
        """Parse one iteration and install it (cached): the shell's ``Iteration`` object at
        that place, now filled. A line that cannot be read gives a placeholder with
        ``extra["error"]``."""
        with self._lock:
            hit = self._cache.get((run_index, position))
            if hit is not None:
                self._cache.move_to_end((run_index, position))
                return hit
            gen = self._generation
        parsed = self.parse_iteration(run_index, position)
        with self._lock:
            if is_placeholder(parsed) or self._generation != gen:  # unreadable, or re-split meanwhile
                return parsed
            self.install(run_index, position, parsed)
            return self.run(run_index).iterations[position]

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
        traj.lazy = self
        traj.extra_generation = snap.generation
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

    def __enter__(self) -> LazyTrajectory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
