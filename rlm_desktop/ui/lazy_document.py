"""Big files opened lazily: parse the iteration being looked at, on demand, off the GUI thread.

A lazily opened log (``Trajectory.lazy`` set, see ``loader.py``) has run shells whose
iterations are placeholders. When the selection lands on one (or on a node under it, or
on a run: its last iteration), ``LazyDocuments`` parses that line in a worker
(``LazyTrajectory.parse_iteration``) and, back in the GUI thread, fills the placeholder in
place (``install``): the tree gets the iteration's rows (``RunTreeModel.reload_children``)
and every panel is told again (``NodeSelection.refresh``). The cache is bounded
(``loader.CACHE_ITERATIONS`` / ``CACHE_BYTES``): iterations it drops become placeholders
again and their rows go, except the one on screen. When the whole-file totals arrive
(``Loader.totals``), each run shell gets its ``RunTotals`` (Metrics panel) and the status
bar its totals.

The panels never see a half-built iteration: content only changes in the GUI thread.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from rlm_desktop.trajectory.lazy import is_placeholder
from rlm_desktop.trajectory.model import Iteration, Run, Trajectory
from rlm_desktop.trajectory.totals import RUN_TOTALS_KEY, FileTotals
from rlm_desktop.ui.bridge import Bridge


def top_iteration(node: Any) -> Iteration | None:
    """The file-level iteration a node belongs to (a run: its last iteration), or None."""
    if isinstance(node, Run) and node.parent is None:
        return node.iterations[-1] if node.iterations else None
    n = node
    while n is not None:
        if isinstance(n, Iteration) and n.parent is not None and n.parent.parent is None:
            return n
        n = getattr(n, "parent", None)
    return None


def parse_job(traj: Trajectory, run: int, pos: int, gen: int) -> tuple[Trajectory, int, int, int, Iteration]:
    """The worker: one iteration's line, parsed."""
    try:
        it = traj.lazy.parse_iteration(run, pos)
    except Exception as exc:  # a reader bug: say so on the placeholder
        it = Iteration(number=0, extra={"error": f"{type(exc).__name__}: {exc}"})
    return traj, run, pos, gen, it


class LazyDocuments(QObject):
    """See the module docstring. ``window`` needs ``selection``, ``tree``, ``loader``,
    ``trajectory``, ``documents``, ``panels``, ``show_trajectory``, ``update_totals``
    and ``report_error``."""

    loaded_iteration = Signal(object)  # an Iteration just filled in (tests, status)

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.w = window
        self.bridge = Bridge(lambda _job, kind, payload: self._parsed(*payload) if kind == "done" else None, self)
        self._wanted: tuple[int, int, int] | None = None  # (id of trajectory, run, position) in flight
        window.selection.changed.connect(self._selected)
        window.loader.totals.connect(self._totals)
        window.loader.indexed.connect(self._indexed)

    # -- on demand ---------------------------------------------------------------------------
    def _selected(self, node: Any) -> None:
        traj = self.w.trajectory
        if traj is None or traj.lazy is None:
            return
        it = top_iteration(node)
        if it is None or it.parent is None or it.parent.index >= len(traj.runs):
            return
        if traj.runs[it.parent.index] is not it.parent:
            return  # a node of another document
        if not is_placeholder(it) or it.extra.get("error"):
            return
        want = (id(traj), it.parent.index, it.position)
        if want == self._wanted:
            return
        self._wanted = want
        run, pos, gen = it.parent.index, it.position, traj.extra_generation
        self.bridge.job("rlm-parse").start(lambda _j: parse_job(traj, run, pos, gen))

    def _parsed(self, traj: Trajectory, run_index: int, pos: int, gen: int, parsed: Iteration) -> None:
        if self._wanted == (id(traj), run_index, pos):
            self._wanted = None
        doc = traj.lazy
        if doc is None or doc.snapshot().generation != gen or traj.extra_generation != gen:
            self._resplit(traj)
            return
        if run_index >= len(traj.runs) or pos >= len(traj.runs[run_index].iterations):
            return
        target = traj.runs[run_index].iterations[pos]
        shown = traj is self.w.trajectory
        if is_placeholder(parsed):  # the line cannot be read (any more): say so, once
            if not target.extra.get("error"):
                target.extra["error"] = parsed.extra.get("error", "cannot be read")
                self.w.report_error(f"{traj.path}: {target.extra['error']}")
            if shown:
                self.w.selection.refresh()
            return
        keep = top_iteration(self.w.selection.node) if shown else None
        evicted = doc.install(run_index, pos, parsed, keep=keep)
        if not shown:
            return
        model = self.w.tree.model
        model.reload_children(target)
        for old in evicted:
            model.reload_children(old)
        self._refresh_timeline()
        if keep is target:
            self.w.selection.refresh()
        self.loaded_iteration.emit(target)

    def _refresh_timeline(self) -> None:
        timeline = getattr(self.w, "timeline", None)
        if timeline is not None:
            timeline.refresh()

    def _resplit(self, traj: Trajectory) -> None:
        """The index re-split the runs (a corrupt line found): show fresh shells."""
        doc = traj.lazy
        if doc is None:
            return
        fresh = doc.trajectory()
        if doc.totals is not None:
            self._attach(fresh, doc.totals)
        for path, t in list(self.w.documents.items()):
            if t is traj:
                self.w.documents[path] = fresh
        if traj is self.w.trajectory:
            self.w.show_trajectory(fresh, self.w.path)

    def _indexed(self, path: str, traj: Trajectory) -> None:
        """Every run and iteration of the previewed file is in its shells now: show them."""
        if traj is self.w.trajectory:
            self.w.tree.refresh()
            self._refresh_timeline()
            self.w.problems.set_bad_lines(path, traj.bad_lines)
            self.w.update_totals()

    # -- whole-file totals ----------------------------------------------------------------------
    @staticmethod
    def _attach(traj: Trajectory, totals: FileTotals) -> None:
        for run, t in zip(traj.runs, totals.runs, strict=False):
            run.extra[RUN_TOTALS_KEY] = t

    def _totals(self, path: str, totals: FileTotals) -> None:
        traj = self.w.documents.get(path)
        if traj is None and self.w.path == path:
            traj = self.w.trajectory
        if traj is None or traj.lazy is None:
            return
        traj.lazy.totals = totals
        if traj.extra_generation != traj.lazy.snapshot().generation:
            self._resplit(traj)  # the totals pass found what peeking missed
            return
        self._attach(traj, totals)
        if traj is self.w.trajectory:
            self.w.tree.refresh()  # the runs' token and time cells
            self.w.update_totals()
            metrics = self.w.panels.get("metrics")
            if metrics is not None and hasattr(metrics, "refresh"):
                metrics.refresh()

    def shutdown(self, msecs: int = 5000) -> None:
        self.bridge.shutdown(msecs / 1000)
