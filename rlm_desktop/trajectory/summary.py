"""Token/cost roll-ups that count every LM call once, for upstream logs and ours.

The model's ``Usage`` roll-ups (``Run.total_usage``, ``CodeBlock.usage``) add a
sub-call's ``usage`` and then everything below its child run. That is right for
logs written by our engine, where a child call's usage is the child's own root
LM turns only. Upstream (``rlms``) logs differ: a child RLM's ``usage_summary``
is its whole LM handler, i.e. its root turns **plus** the ``llm_query`` /
``llm_query_batched`` calls its REPL made, and those calls are also listed as
entries inside the child's trajectory. Adding both counts them twice (see
TRAJECTORY_FORMAT.md §4). Grandchild RLMs and leaf calls at max depth use
separate clients, so they are not in the child's summary and must be added.

Which plain entries of an upstream child run went through its handler:

* when the child could still recurse (``child.depth + 1 < max_depth``) every
  plain entry is an ``llm_query`` call (an ``rlm_query`` would have made a
  child): all are covered by the child's summary;
* at the last level, a plain entry is either an ``llm_query`` (covered) or an
  ``rlm_query`` answered by a leaf LM call (not covered). Their number is known
  (handler calls = summary calls - the child's root turns), which entries they
  are is not written down; the first ones are taken as covered. Totals are
  exact whenever all plain entries there are of one kind.

``covered_by_parent(call)`` tells whether a plain call's usage is already in
its parent call's summary (``CoveredCalls()`` asks it for many calls of one walk); ``run_usage(run, upstream)`` / ``subtree_usage`` /
``call_usage`` / ``iteration_usage`` / ``block_usage`` / ``trajectory_usage``
are the roll-ups without double counting.

Which way a node is counted is ``upstream_of(node)``: decided per root run by the one
record rule ``format.counts_upstream`` (the metadata line the completion is under: ours or
not), so every view of one run (status bar, run tree, Run Summary, Metrics, flame graph,
exports) counts it the same way. The roll-ups' ``upstream`` argument defaults to that
(None); ``upstream=False`` gives the same numbers as the model's methods.
"""

from __future__ import annotations

from typing import Any

from .format import counts_upstream
from .model import CodeBlock, Iteration, Run, SubCall, Trajectory, Usage


def root_run(node: Any) -> Run | None:
    """The top-level run a node (run, iteration, block or sub-call) belongs to, or None."""
    run: Any = node if isinstance(node, Run) else getattr(node, "run", None)
    while isinstance(run, Run) and run.parent is not None and run.parent.run is not None:
        run = run.parent.run
    return run if isinstance(run, Run) else None


def upstream_of(node: Any) -> bool:
    """Whether ``node`` (any model node) is counted upstream's way: its root run's metadata
    line is not ours (``format.counts_upstream``; a node without a run: upstream). Cheap:
    a walk up its parents and a dict lookup, no iteration is looked at."""
    root = root_run(node)
    return counts_upstream(root.metadata if root is not None else None)


def _upstream(upstream: bool | None, node: Any) -> bool:
    return upstream_of(node) if upstream is None else upstream


def _covered_set(run: Run) -> set[int]:
    """ids of the plain sub-calls of a child ``run`` whose usage its parent call already holds."""
    parent = run.parent
    if parent is None:
        return set()  # the root's own handler usage is not in upstream logs at all
    plain = [c for it in run.iterations for c in it.sub_calls() if c.child is None]
    if not plain:
        return set()
    max_depth = run.metadata.get("max_depth")
    if isinstance(max_depth, int) and not isinstance(max_depth, bool) and run.depth + 1 < max_depth:
        return {id(c) for c in plain}
    handler_calls = parent.usage.calls - len(run.iterations)
    if handler_calls <= 0:
        return set()
    return {id(c) for c in plain[:handler_calls]}


def covered_by_parent(call: SubCall) -> bool:
    """True when an upstream plain call's usage is already counted in the usage of
    the sub-call that spawned its run (see the module docstring)."""
    run = call.run
    if call.child is not None or run is None:
        return False
    return id(call) in _covered_set(run)


class CoveredCalls:
    """``covered_by_parent`` for the many calls of one walk: each run's covered set is made
    once, not once per call (that was quadratic in a child run's plain calls). Make one per
    walk: a live run's sets change as it grows."""

    def __init__(self) -> None:
        self._sets: dict[int, tuple[Run, set[int]]] = {}  # by id(run); the run kept alive

    def __call__(self, call: SubCall) -> bool:
        run = call.run
        if call.child is not None or run is None:
            return False
        got = self._sets.get(id(run))
        if got is None:
            got = self._sets[id(run)] = (run, _covered_set(run))
        return id(call) in got[1]


def block_usage(block: CodeBlock, upstream: bool | None = None, _covered: set[int] | None = None) -> Usage:
    """Usage of every call a block made, at every depth, each call once."""
    if not _upstream(upstream, block):
        return block.usage()
    covered = _covered if _covered is not None else (_covered_set(block.run) if block.run else set())
    total = Usage()
    for c in block.sub_calls:
        if c.child is not None:
            total = total + c.usage + _below(c.child)
        elif id(c) not in covered:
            total = total + c.usage
    return total


def call_usage(call: SubCall, upstream: bool | None = None) -> Usage:
    """A sub-call and everything under it (its child run's turns and calls), each call once."""
    if call.child is None:
        return call.usage
    if not _upstream(upstream, call):
        return call.usage + call.child.nested_usage()
    return call.usage + _below(call.child)


def subtree_usage(run: Run, upstream: bool | None = None) -> Usage:
    """A run and everything under it: for a child run, what its spawning call cost in all."""
    if run.parent is not None:
        return call_usage(run.parent, upstream)
    return run_usage(run, upstream)


def _below(run: Run) -> Usage:
    covered = _covered_set(run)
    total = Usage()
    for it in run.iterations:
        for b in it.code_blocks:
            total = total + block_usage(b, True, covered)
    return total


def _it_calls(it: Iteration) -> Usage:
    covered = _covered_set(it.parent) if it.parent is not None else set()
    total = Usage()
    for b in it.code_blocks:
        total = total + block_usage(b, True, covered)
    return total


def iteration_usage(it: Iteration, upstream: bool | None = None) -> Usage:
    """The iteration's own root-LM usage (when logged) plus all its blocks' calls."""
    if not _upstream(upstream, it):
        return it.total_usage()
    own = it.usage if it.usage is not None else Usage()
    return own + _it_calls(it)


def run_usage(run: Run, upstream: bool | None = None) -> Usage:
    """Everything a run used (its own turns where logged, and all calls below), each call once.

    For an upstream child run the child's own root turns are not included (they
    are in the parent call's usage, which ``block_usage`` of the parent adds).
    """
    if not _upstream(upstream, run):
        return run.total_usage()
    total = run.own_usage()
    for it in run.iterations:
        total = total + _it_calls(it)
    return total


def trajectory_usage(traj: Trajectory) -> Usage:
    """Every run's ``run_usage``, each counted by its own rule (``upstream_of``)."""
    total = Usage()
    for run in traj.runs:
        total = total + run_usage(run)
    return total
