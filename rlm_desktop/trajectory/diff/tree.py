"""The structural diff of two trajectories: aligned run trees, per-node changes and deltas.

``diff_trajectories(a, b)`` pairs the two trees at every depth (completion runs, then per
run its iterations, per iteration its code blocks, per block its sub-calls, per sub-call
its child run: see ``align``) and compares each pair:

* run: model, status, error, final answer;
* iteration: the prompt (message list), the response, the final answer, the root LM's own
  tokens (our logs record them);
* code block: code, stdout, stderr, locals, final answer;
* sub-call: model, prompt, response, error, tokens.

Every pair gets the token / cost / time figures of both sides (the node and everything
under it, each LM call counted once: ``trajectory.summary``). The result's ``nodes`` are in
pre-order (the execution order), so the first node that is not "same" is the first
divergence, named by its node path (``r0/i1/b0/c0/r/i0``; the path in A, or in B for a node
only B has).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rlm_desktop.trajectory import summary
from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, SubCall, Trajectory, Usage

from . import fields as F
from .align import align

SAME, CHANGED, ADDED, REMOVED = "same", "changed", "added", "removed"


@dataclass
class FieldChange:
    field: str  # "response", "code", "stdout", "stderr", "locals", "final_answer", "prompt", ...
    diff: str  # unified diff (or "a -> b" for short values)

    #: known only once the node's children ran (a run's answer, a block's output after its
    #: sub-calls, a sub-call's response after its child run)
    after_children: bool = False


#: per node kind, the fields that are settled after the node's children
_AFTER_CHILDREN = {
    "run": {"final_answer", "status", "error"},
    "iteration": {"final_answer"},
    "block": {"stdout", "stderr", "locals", "final_answer"},
    "call": {"response", "error", "tokens"},
}


@dataclass
class Figures:
    tokens: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None
    time: float | None = None

    @classmethod
    def of(cls, u: Usage, t: float | None) -> Figures:
        return cls(u.total_tokens, u.input_tokens, u.output_tokens, u.cost, t)


@dataclass(eq=False)
class DiffNode:
    kind: str  # "run" | "iteration" | "block" | "call"
    a: Any  # model node in A, or None
    b: Any  # model node in B, or None
    status: str = SAME
    changes: list[FieldChange] = field(default_factory=list)
    fig_a: Figures | None = None
    fig_b: Figures | None = None
    children: list[DiffNode] = field(default_factory=list)
    parent: DiffNode | None = field(default=None, repr=False)
    subtree_changed: bool = False  # this node or any below it is not "same"

    @property
    def path(self) -> str:
        return (self.a if self.a is not None else self.b).path

    @property
    def path_a(self) -> str | None:
        return self.a.path if self.a is not None else None

    @property
    def path_b(self) -> str | None:
        return self.b.path if self.b is not None else None

    @property
    def what(self) -> str:
        if self.status in (ADDED, REMOVED):
            return f"{self.kind} {self.status}"
        return ", ".join(c.field for c in self.changes)

    def walk(self) -> Iterator[DiffNode]:
        stack = [self]
        while stack:
            n = stack.pop()
            yield n
            stack.extend(reversed(n.children))


@dataclass
class TrajectoryDiff:
    a: Trajectory
    b: Trajectory
    roots: list[DiffNode]

    def nodes(self) -> Iterator[DiffNode]:
        for r in self.roots:
            yield from r.walk()

    @property
    def first_divergence(self) -> DiffNode | None:
        return next(self._in_execution_order(), None)

    def divergences(self) -> list[DiffNode]:
        """The nodes that are not the same, in the order the runs made them: a node whose
        only changes are known after its children (a different final answer) comes after
        them, so the first divergence is the cause rather than its consequence."""
        return list(self._in_execution_order())

    def _in_execution_order(self) -> Iterator[DiffNode]:
        stack: list[tuple[DiffNode, bool]] = [(r, False) for r in reversed(self.roots)]
        while stack:
            n, late = stack.pop()
            if late:
                yield n
                continue
            if not n.subtree_changed:
                continue
            if n.status in (ADDED, REMOVED) or (n.status == CHANGED and not all(
                    c.after_children for c in n.changes)):
                yield n
            elif n.status != SAME:
                stack.append((n, True))
            stack.extend((c, False) for c in reversed(n.children))

    @property
    def differs(self) -> bool:
        return self.first_divergence is not None

    def counts(self) -> dict[str, int]:
        out = {SAME: 0, CHANGED: 0, ADDED: 0, REMOVED: 0}
        for n in self.nodes():
            out[n.status] += 1
        return out


# -- keys for aligning siblings when their counts differ ---------------------------------------------


def _run_key(r: Run) -> Any:
    first = r.iterations[0].response if r.iterations else ""
    return (r.model, F.normalize(first))


def _it_key(it: Iteration) -> Any:
    return F.normalize(it.response)


def _block_key(b: CodeBlock) -> Any:
    return F.normalize(b.code)


def _call_key(c: SubCall) -> Any:
    return (c.model, F.normalize(F.messages_text(F.message_list(c.prompt))))


# -- comparing one pair --------------------------------------------------------------------------------


def _short(field_name: str, a: Any, b: Any) -> FieldChange:
    return FieldChange(field_name, f"- {F.value_text(a, 300)}\n+ {F.value_text(b, 300)}")


def _text(out: list[FieldChange], name: str, a: Any, b: Any, pa: str, pb: str) -> None:
    if F.same_text(a, b):
        return
    if a is None or b is None or not isinstance(a, str) or not isinstance(b, str):
        out.append(_short(name, a, b))
    else:
        out.append(FieldChange(name, F.unified(a, b, f"a/{pa} {name}", f"b/{pb} {name}")))


def _usage_change(out: list[FieldChange], ua: Usage | None, ub: Usage | None) -> None:
    ta = (ua.input_tokens, ua.output_tokens) if ua is not None else None
    tb = (ub.input_tokens, ub.output_tokens) if ub is not None else None
    if ta != tb and ta is not None and tb is not None:
        out.append(FieldChange("tokens", f"- {ta[0]} in / {ta[1]} out\n+ {tb[0]} in / {tb[1]} out"))


def compare_pair(kind: str, a: Any, b: Any) -> list[FieldChange]:
    out: list[FieldChange] = []
    pa, pb = a.path, b.path
    if kind == "run":
        if a.model != b.model:
            out.append(_short("model", a.model, b.model))
        if a.status != b.status:
            out.append(_short("status", a.status.value, b.status.value))
        _text(out, "error", a.error, b.error, pa, pb)
        _text(out, "final_answer", a.final_answer, b.final_answer, pa, pb)
    elif kind == "iteration":
        if not F.same_messages(a.prompt, b.prompt):
            out.append(FieldChange("prompt", F.messages_diff(a.prompt, b.prompt, f"a/{pa} prompt", f"b/{pb} prompt")))
        _text(out, "response", a.response, b.response, pa, pb)
        _text(out, "final_answer", a.final_answer, b.final_answer, pa, pb)
        _usage_change(out, a.usage, b.usage)
    elif kind == "block":
        for name in ("code", "stdout", "stderr"):
            _text(out, name, getattr(a, name), getattr(b, name), pa, pb)
        d = F.locals_diff(a.locals, b.locals, f"a/{pa} locals", f"b/{pb} locals")
        if d is not None:
            out.append(FieldChange("locals", d))
        _text(out, "final_answer", a.final_answer, b.final_answer, pa, pb)
    else:
        if a.model != b.model:
            out.append(_short("model", a.model, b.model))
        if not F.same_messages(a.prompt, b.prompt):
            out.append(FieldChange("prompt", F.messages_diff(a.prompt, b.prompt, f"a/{pa} prompt", f"b/{pb} prompt")))
        _text(out, "response", a.response, b.response, pa, pb)
        _text(out, "error", a.error, b.error, pa, pb)
        _usage_change(out, a.usage, b.usage)
    return out


# -- figures ---------------------------------------------------------------------------------------------


def figures(kind: str, node: Any, upstream: bool | None = None) -> Figures:
    if kind == "run":
        return Figures.of(summary.subtree_usage(node, upstream), node.total_time())
    if kind == "iteration":
        return Figures.of(summary.iteration_usage(node, upstream), node.iteration_time)
    if kind == "block":
        return Figures.of(summary.block_usage(node, upstream), node.execution_time)
    return Figures.of(summary.call_usage(node, upstream), node.execution_time)


# -- the walk --------------------------------------------------------------------------------------------

_CHILDREN: dict[str, tuple[str, Callable[[Any], list[Any]], Callable[[Any], Any]]] = {
    "run": ("iteration", lambda r: r.iterations, _it_key),
    "iteration": ("block", lambda it: it.code_blocks, _block_key),
    "block": ("call", lambda b: b.sub_calls, _call_key),
}


class _Differ:
    """Each side's figures are counted by the node's own rule (``summary.upstream_of``)."""

    def node(self, kind: str, a: Any, b: Any, parent: DiffNode | None) -> DiffNode:
        n = DiffNode(kind, a, b, parent=parent)
        if a is not None:
            n.fig_a = figures(kind, a)
        if b is not None:
            n.fig_b = figures(kind, b)
        if a is None:
            n.status = ADDED
        elif b is None:
            n.status = REMOVED
        else:
            n.changes = compare_pair(kind, a, b)
            late = _AFTER_CHILDREN[kind]
            for c in n.changes:
                c.after_children = c.field in late
            n.status = CHANGED if n.changes else SAME
        if kind == "call":
            ca = a.child if a is not None else None
            cb = b.child if b is not None else None
            if ca is not None or cb is not None:
                n.children.append(self.node("run", ca, cb, n))
        else:
            ck, kids, key = _CHILDREN[kind]
            for x, y in align(kids(a) if a is not None else [], kids(b) if b is not None else [], key):
                n.children.append(self.node(ck, x, y, n))
        n.subtree_changed = n.status != SAME or any(c.subtree_changed for c in n.children)
        return n


def diff_trajectories(a: Trajectory, b: Trajectory) -> TrajectoryDiff:
    d = _Differ()
    roots = [d.node("run", x, y, None) for x, y in align(a.runs, b.runs, _run_key)]
    return TrajectoryDiff(a, b, roots)


def totals(a: Trajectory, b: Trajectory) -> dict[str, Any]:
    def side(t: Trajectory) -> dict[str, Any]:
        u = summary.trajectory_usage(t)
        return {
            "runs": len(t.runs),
            "iterations": sum(len(r.iterations) for r in t.runs),
            "tokens": u.total_tokens,
            "input_tokens": u.input_tokens,
            "output_tokens": u.output_tokens,
            "cost": u.cost if u.cost is None or math.isfinite(u.cost) else None,
            "time": sum(r.total_time() for r in t.runs),
        }

    sa, sb = side(a), side(b)
    delta = {k: (None if sa[k] is None or sb[k] is None else sb[k] - sa[k]) for k in sa}
    return {"a": sa, "b": sb, "delta": delta}
