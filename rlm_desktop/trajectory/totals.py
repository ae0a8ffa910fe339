"""Whole-file totals from one streaming pass: the reader's summary mode (no Qt).

``scan_totals(path)`` reads a log line by line, builds each iteration exactly as the
whole-file reader does (``reader.TrajectoryBuilder``, the same run split, statuses
and bad lines), folds it into its run's ``RunTotals`` and drops it. Memory is one
line plus compact per-iteration arrays, whatever the file size; no model tree is kept.

``RunTotals`` holds what a run list, ``inspect --summary`` and the Metrics panel show:
status, final answer, iterations, time, usage (each LM call once, ``summary.py``'s
rules), sub-calls per depth, and per iteration the arrays behind the charts.
``RunTotals.of_run(run)`` gives the same numbers for a run held in memory (live runs,
small files), so both paths share one implementation. Both count a run upstream's way or
ours by the one rule, ``summary.upstream_of`` (its root's metadata line, ``format.counts_upstream``).

Bad lines are kept up to ``MAX_BAD_LINES`` (``FileTotals.bad_line_count`` counts all).
``cancel()`` is polled between lines and ``progress(fraction)`` called every
``PROGRESS_BYTES``, for a worker thread.
"""

from __future__ import annotations

import os
import threading
import weakref
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from . import summary
from .lazy import PLACEHOLDER_KEY
from .model import BadLine, Iteration, Run, RunStatus, SubCall, Trajectory, Usage
from .reader import TrajectoryBuilder, iter_file_lines, read_lines

MAX_BAD_LINES = 1000
#: ``Run.extra`` key where a lazily opened file's run shells get their ``RunTotals``
RUN_TOTALS_KEY = "totals"
PROGRESS_BYTES = 8 << 20
POLL_EVERY = 128


@dataclass
class RunTotals:
    """One completion's numbers (see the module doc). Arrays are per iteration, in order."""

    index: int = 0
    depth: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    run_id: str = ""
    status: RunStatus = RunStatus.INCOMPLETE
    final_answer: str | None = None
    error: str | None = None
    upstream: bool = True
    usage: Usage = field(default_factory=Usage)  # everything the run used, each call once
    root_usage: Usage = field(default_factory=Usage)  # its own root-LM turns, where logged
    total_time: float = 0.0
    sub_calls_by_depth: dict[int, int] = field(default_factory=dict)
    max_depth_reached: int = 0
    any_cost: bool = False
    code_blocks: int = 0  # of the run's own iterations
    numbers: array = field(default_factory=lambda: array("q"))
    line_nos: array = field(default_factory=lambda: array("q"))  # 0 where not known
    root_in: array = field(default_factory=lambda: array("q"))
    root_out: array = field(default_factory=lambda: array("q"))
    sub_tokens: array = field(default_factory=lambda: array("q"))
    cost: array = field(default_factory=lambda: array("d"))
    time: array = field(default_factory=lambda: array("d"))
    repl_time: array = field(default_factory=lambda: array("d"))
    #: depth -> [tokens, calls, cost, time]: the run's own turns at its depth, calls below
    by_depth: dict[int, list[Any]] = field(default_factory=dict)
    #: iterations folded in that were a lazily opened file's placeholders (not parsed yet:
    #: they count as empty, and are filled in place later, so these totals are provisional)
    placeholders: int = 0

    @property
    def iterations(self) -> int:
        return len(self.numbers)

    @property
    def model(self) -> str:
        return str(self.metadata.get("root_model") or "")

    def add(self, it: Iteration) -> None:
        """Fold one iteration of this run in (its ``parent`` must be the run)."""
        upstream = self.upstream
        if PLACEHOLDER_KEY in it.extra:
            self.placeholders += 1
        own = it.usage if it.usage is not None else Usage()
        both = summary.iteration_usage(it, upstream)
        self.numbers.append(len(self.numbers) + 1)  # 1-based place in its run (names.iteration_no)
        self.line_nos.append(it.line_no or 0)
        self.root_in.append(own.input_tokens)
        self.root_out.append(own.output_tokens)
        self.sub_tokens.append(both.total_tokens - own.total_tokens)
        self.cost.append(both.cost or 0.0)
        self.any_cost = self.any_cost or both.cost is not None
        t = it.iteration_time or 0.0
        self.time.append(t)
        self.repl_time.append(sum(b.execution_time or 0.0 for b in it.code_blocks))
        self.code_blocks += len(it.code_blocks)
        self.total_time += t
        self.usage = self.usage + both
        if it.usage is not None:
            self.root_usage = self.root_usage + it.usage
        d = self.by_depth.setdefault(self.depth, [0, 0, 0.0, 0.0])
        d[1] += 1
        d[3] += t
        if it.usage is not None:
            d[0] += it.usage.total_tokens
            d[2] += it.usage.cost or 0.0
        covered = summary.CoveredCalls()
        for call in _calls_below(it):
            dd = self.by_depth.setdefault(call.depth, [0, 0, 0.0, 0.0])
            dd[1] += 1
            dd[3] += call.execution_time or 0.0
            if not (upstream and covered(call)):
                dd[0] += call.usage.total_tokens
                dd[2] += call.usage.cost or 0.0
            self.sub_calls_by_depth[call.depth] = self.sub_calls_by_depth.get(call.depth, 0) + 1
            if call.child is not None:
                self.max_depth_reached = max(self.max_depth_reached, call.child.depth)

    def settle(self, run: Run) -> None:
        """Take the run's status, answer and error (after the reader settled them)."""
        self.status, self.final_answer, self.error = run.status, run.final_answer, run.error

    @classmethod
    def start(cls, run: Run, upstream: bool) -> RunTotals:
        return cls(
            index=run.index,
            depth=run.depth,
            metadata=run.metadata,
            run_id=run.run_id,
            upstream=upstream,
            max_depth_reached=run.depth,
        )

    @classmethod
    def of_run(cls, run: Run, upstream: bool | None = None,
               cancelled: Callable[[], bool] | None = None) -> RunTotals:
        """The same numbers for a run held in memory (``upstream`` None: ``summary.upstream_of``,
        the rule every view uses). ``cancelled()`` (a worker's) is polled
        every ``POLL_EVERY`` iterations (about a millisecond of work: a worker gives the GUI
        thread the GIL there); once it is True the walk stops (the totals are then partial)."""
        if upstream is None:
            upstream = summary.upstream_of(run)
        t = cls.start(run, upstream)
        for i, it in enumerate(run.iterations):
            if cancelled is not None and i % POLL_EVERY == POLL_EVERY - 1 and cancelled():
                break
            t.add(it)
        if run.parent is not None:  # a child run: what its spawning call cost in all
            t.usage = summary.subtree_usage(run, upstream)
        t.settle(run)
        return t


#: id(run) -> (the run, its iteration count, its last iteration (both weakly), upstream?, totals)
_SHARED: dict[int, tuple[Any, int, Any, bool, RunTotals]] = {}
_SHARED_LOCK = threading.Lock()


def shared_totals(run: Run, upstream: bool | None = None,
                  cancelled: Callable[[], bool] | None = None) -> RunTotals:
    """``RunTotals.of_run``, walked once per run and shared by everyone who asks (the status
    bar, the Run Summary, the Metrics panel, the run tree): a run of 500,000 iterations was
    walked four times over, by four workers at once. A finished run's totals are kept
    while it lives and has the same iterations; a live (running) run's are walked anew,
    and so are partial ones (the walk was cancelled) and a lazily opened file's run while
    some of its iterations are placeholders (they are filled in place; the walk counts them).
    ``upstream`` None (what every view passes, or the same value): ``summary.upstream_of``."""
    if upstream is None:
        upstream = summary.upstream_of(run)
    n = len(run.iterations)
    last = run.iterations[-1] if n else None
    live = run.status is RunStatus.RUNNING
    with _SHARED_LOCK:
        hit = _SHARED.get(id(run))
    if not live and hit is not None and hit[0]() is run and hit[1] == n and hit[3] == upstream and (
        hit[2]() if hit[2] is not None else None
    ) is last:
        return hit[4]
    totals = RunTotals.of_run(run, upstream, cancelled)
    # (a big file's iterations not parsed yet are filled in place later: not kept either)
    if not live and totals.iterations == n and not totals.placeholders:
        key = id(run)

        def gone(_ref: Any, key: int = key) -> None:
            with _SHARED_LOCK:
                entry = _SHARED.get(key)
                if entry is not None and entry[0]() is None:
                    del _SHARED[key]

        with _SHARED_LOCK:
            # (weakly: a last iteration held here would hold its run, the whole trajectory)
            _SHARED[key] = (weakref.ref(run, gone), n, weakref.ref(last) if last is not None else None, upstream,
                            totals)
    return totals


def _calls_below(it: Iteration) -> Iterator[SubCall]:
    """Every sub-call under an iteration, at every depth, depth first."""
    stack: list[Any] = [it]
    while stack:
        node = stack.pop()
        if isinstance(node, Iteration):
            for b in reversed(node.code_blocks):
                stack.extend(reversed(b.sub_calls))
        elif isinstance(node, SubCall):
            yield node
            if node.child is not None:
                stack.extend(reversed(node.child.iterations))


@dataclass
class FileTotals:
    """A whole log's numbers from one pass: ``runs`` in file order (``RunTotals``)."""

    path: str | None = None
    size: int = 0
    metadata: dict[str, Any] | None = None
    era: str = "unknown"
    line_count: int = 0
    pending_tail: bool = False
    runs: list[RunTotals] = field(default_factory=list)
    bad_lines: list[BadLine] = field(default_factory=list)  # the first MAX_BAD_LINES
    bad_line_count: int = 0

    @property
    def usage(self) -> Usage:
        total = Usage()
        for r in self.runs:
            total = total + r.usage
        return total

    @property
    def total_time(self) -> float:
        return sum(r.total_time for r in self.runs)


class _CappedBadLines(list):
    """A ``Trajectory.bad_lines`` that keeps the first ``cap`` and counts the rest."""

    def __init__(self, cap: int) -> None:
        super().__init__()
        self.cap = cap
        self.seen = 0  # (not ``count``: that would hide list.count)

    def append(self, item: BadLine) -> None:
        self.seen += 1
        if len(self) < self.cap:
            super().append(item)


class TotalsBuilder(TrajectoryBuilder):
    """A ``TrajectoryBuilder`` that folds each iteration into ``RunTotals`` and keeps none."""

    def __init__(self, path: str | None = None, max_bad_lines: int = MAX_BAD_LINES) -> None:
        traj = Trajectory(path=path)
        traj.bad_lines = _CappedBadLines(max_bad_lines)
        super().__init__(traj)
        self.totals: dict[int, RunTotals] = {}

    def _share_repeats(self, rec: dict[str, Any]) -> None:
        pass  # nothing is kept, so there is nothing to share

    def feed(self, line_no: int, rec: dict[str, Any], raw: bytes | None = None) -> Run | None:
        run = super().feed(line_no, rec, raw)
        if run is None or not run.iterations:
            return run
        it = run.iterations.pop()  # the run keeps its status and answer, not its iterations
        t = self.totals.get(id(run))
        if t is None:
            t = self.totals[id(run)] = RunTotals.start(run, summary.upstream_of(run))
        t.add(it)
        return run

    def result(self, size: int = 0) -> FileTotals:
        traj = self.traj
        runs = []
        for run in traj.runs:
            t = self.totals.get(id(run)) or RunTotals.start(run, summary.upstream_of(run))
            t.settle(run)
            runs.append(t)
        bad = traj.bad_lines
        return FileTotals(
            path=traj.path,
            size=size,
            metadata=traj.metadata,
            era=traj.era,
            line_count=traj.line_count,
            pending_tail=traj.pending_tail,
            runs=runs,
            bad_lines=list(bad),
            bad_line_count=bad.seen if isinstance(bad, _CappedBadLines) else len(bad),
        )


def _watched(lines: Any, size: int, progress: Callable[[float], None] | None, cancel: Callable[[], bool] | None):
    done = next_report = 0
    for item in lines:
        if cancel is not None and cancel():
            raise Cancelled
        done += len(item[1]) + 1
        if progress is not None and done >= next_report:
            next_report = done + PROGRESS_BYTES
            progress(min(1.0, done / size) if size else 1.0)
        yield item


class Cancelled(Exception):
    """``scan_totals`` was cancelled."""


def scan_totals(
    path: str | os.PathLike[str],
    *,
    still_running: bool = False,
    max_line: int | None = None,
    progress: Callable[[float], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> FileTotals:
    """One streaming pass over a log (see the module doc). Raises ``OSError`` when the file
    cannot be read and ``Cancelled`` when ``cancel()`` said so."""
    path = os.fspath(path)
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        builder = TotalsBuilder(path)
        read_lines(_watched(iter_file_lines(fh, max_line), size, progress, cancel), path, still_running, builder)
    return builder.result(size)
