"""Where the cost goes: an icicle (flame graph) layout of a run tree (no Qt).

``layout(run, metric, upstream)`` lays every node of a run out as a frame: depth is the
level in the tree (run, iteration, code block, sub-call, then the child run's iterations
below its call, and so on: recursion goes down), and width is the node's share of the
metric (``"tokens"``, ``"cost"`` or ``"time"``) of the whole run. A frame's children sit
inside it, left to right in execution order.

Tokens and cost count each LM call once (as ``trajectory.summary``): a frame's own value is
what no child holds: an iteration's own root-LM turn (our logs record it), a sub-call's
usage minus what its child run's frames hold (the child's own turns in our logs; upstream,
the ``llm_query`` calls the child's REPL made, which its usage also counts). Time is inclusive (an iteration's time holds its blocks'):
a frame is as wide as its own time or the sum of its children, whichever is more.

The result is flat lists (``Flame``) so a view can draw 10,000+ frames and hit-test with a
bisect per row. Its size is bounded by what can be seen, not by the tree: consecutive
children narrower than ``min_w`` (a share of the root's width) merge into one ``Merged``
frame, at most about ``min_w`` wide, that is not laid out further; so a row holds at most
about ``2 / min_w`` frames, whatever the number of iterations. ``cancelled()`` (optional)
is polled every ``POLL_EVERY`` nodes, for a worker; then ``Cancelled`` is raised.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .model import CodeBlock, Iteration, Run, SubCall
from .summary import CoveredCalls

METRICS = ("tokens", "cost", "time")
#: Children narrower than this share of the root merge into one frame (a 5,000 px view).
MIN_W = 2e-4
#: Nodes between two calls of ``cancelled()``: about a millisecond of work (a worker gives the
#: GUI thread the GIL there while it is busy).
POLL_EVERY = 200


class Cancelled(Exception):
    """``layout`` was asked to stop (its ``cancelled()`` returned True)."""


@dataclass(eq=False)
class Merged:
    """Consecutive siblings too thin to see, in one frame: ``nodes[0]`` .. ``nodes[-1]``."""

    nodes: list[Any]

    @property
    def path(self) -> str:
        first, last = (getattr(n, "path", "?") for n in (self.nodes[0], self.nodes[-1]))
        return f"{len(self.nodes):,} frames merged: {first} … {last}"


@dataclass
class Frame:
    node: Any
    depth: int
    x: float  # 0..1 of the root's width
    w: float
    value: float  # the frame's inclusive value in the metric
    model: str
    tokens: int = 0  # inclusive totals, for the hover text
    cost: float = 0.0
    time: float = 0.0


@dataclass
class Flame:
    metric: str
    total: float
    frames: list[Frame] = field(default_factory=list)
    rows: list[list[int]] = field(default_factory=list)  # per depth: frame indices sorted by x
    _xs: list[list[float]] = field(default_factory=list, repr=False)

    @property
    def depth(self) -> int:
        return len(self.rows)

    def at(self, x: float, depth: int) -> Frame | None:
        """The frame covering ``x`` (0..1) on row ``depth``, or None."""
        if not 0 <= depth < len(self.rows):
            return None
        xs = self._xs[depth]
        k = bisect_right(xs, x) - 1
        if k < 0:
            return None
        f = self.frames[self.rows[depth][k]]
        return f if x <= f.x + f.w else None

    def row_xs(self, depth: int) -> list[float]:
        """The left edges of row ``depth``'s frames, in order (for bisecting)."""
        return self._xs[depth]

    def index(self) -> None:
        by_depth: dict[int, list[int]] = {}
        for i, f in enumerate(self.frames):
            by_depth.setdefault(f.depth, []).append(i)
        self.rows = [sorted(by_depth.get(d, []), key=lambda i: self.frames[i].x) for d in range(len(by_depth))]
        self._xs = [[self.frames[i].x for i in row] for row in self.rows]


class _Tree:
    """Children and own values of every node, computed once per layout."""

    def __init__(self, upstream: bool) -> None:
        self.upstream = upstream
        # upstream: the plain calls a child's summary already holds (one set per child run)
        self.covered = CoveredCalls() if upstream else None

    @staticmethod
    def children(node: Any) -> list[Any]:
        if isinstance(node, Run):
            return node.iterations
        if isinstance(node, Iteration):
            return node.code_blocks
        if isinstance(node, CodeBlock):
            return node.sub_calls
        if isinstance(node, SubCall) and node.child is not None:
            return node.child.iterations  # the child run is its call's frame
        return []

    def own(self, node: Any) -> tuple[int, float]:
        """(tokens, cost) no child frame holds."""
        if isinstance(node, Iteration):
            u = node.usage
            return (u.total_tokens, u.cost or 0.0) if u is not None else (0, 0.0)
        if not isinstance(node, SubCall):
            return 0, 0.0
        u = node.usage
        tokens, cost = u.total_tokens, u.cost or 0.0
        if node.child is not None:  # its usage holds the child's own turns (frames of their own) and,
            covered = self.covered
            for it in node.child.iterations:  # upstream, the llm_query calls of the child's REPL
                if it.usage is not None:
                    tokens -= it.usage.total_tokens
                    cost -= it.usage.cost or 0.0
                if covered is None:
                    continue
                for c in it.sub_calls():
                    if c.child is None and covered(c):
                        tokens -= c.usage.total_tokens
                        cost -= c.usage.cost or 0.0
            tokens, cost = max(0, tokens), max(0.0, cost)
        return tokens, cost

    @staticmethod
    def own_time(node: Any) -> float:
        if isinstance(node, Iteration):
            return node.iteration_time or 0.0
        if isinstance(node, (CodeBlock, SubCall)):
            return node.execution_time or 0.0
        if isinstance(node, Run):
            return node.total_time()
        return 0.0


def _polled(items: list[Any], cancelled: Callable[[], bool] | None) -> Any:
    """``items``, with ``cancelled()`` polled every ``POLL_EVERY`` of them (``Cancelled``
    raised): a run's 500,000 iterations are one list, looped over at once, ~30 ms a pass
    with no poll in between, which a click on the GUI thread paid for in GIL waits."""
    if cancelled is None or len(items) <= POLL_EVERY:
        return items
    return _polling(items, cancelled)


def _polling(items: list[Any], cancelled: Callable[[], bool]) -> Any:
    for start in range(0, len(items), POLL_EVERY):
        if cancelled():
            raise Cancelled
        yield from items[start:start + POLL_EVERY]


def _model(node: Any, inherited: str) -> str:
    if isinstance(node, SubCall):
        return node.model or inherited
    if isinstance(node, Run):
        return node.model or inherited
    return inherited


def _spans(kids: list[Any], totals: dict[int, tuple[int, float, float]],
           merged: dict[int, tuple[int, float, float]], pick: int, x: float, w: float, value: float,
           min_w: float, cancelled: Callable[[], bool] | None = None) -> list[tuple[Any, float, float]]:
    """(child or ``Merged``, x, w) of a frame's children, left to right; runs of children
    thinner than ``min_w`` become ``Merged`` frames of about ``min_w`` (their totals go in
    ``merged``)."""
    out: list[tuple[Any, float, float]] = []
    thin: list[Any] = []
    thin_x = thin_w = 0.0
    tok, cost, tm = 0, 0.0, 0.0

    def close() -> None:
        m = Merged(thin)
        merged[id(m)] = (tok, cost, tm)
        out.append((m, thin_x, thin_w))

    cx = x
    for k in _polled(kids, cancelled):
        kt = totals[id(k)]
        kw = w * kt[pick] / value
        if kw < min_w:
            if not thin:
                thin, thin_x, thin_w, tok, cost, tm = [], cx, 0.0, 0, 0.0, 0.0
            thin.append(k)
            thin_w += kw
            tok, cost, tm = tok + kt[0], cost + kt[1], tm + kt[2]
            if thin_w >= min_w:
                close()
                thin = []
        else:
            if thin:
                close()
                thin = []
            out.append((k, cx, kw))
        cx += kw
    if thin:
        close()
    return out


def layout(run: Run, metric: str = "tokens", upstream: bool = True, min_w: float = MIN_W,
           cancelled: Callable[[], bool] | None = None) -> Flame:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}")
    t = _Tree(upstream)
    # post-order totals, without recursion (trees can be deep)
    totals: dict[int, tuple[int, float, float]] = {}
    stack: list[tuple[Any, bool]] = [(run, False)]
    seen = 0
    while stack:
        node, done = stack.pop()
        seen += 1
        if cancelled is not None and seen % POLL_EVERY == 0 and cancelled():
            raise Cancelled
        kids = t.children(node)
        if not done:
            stack.append((node, True))
            stack.extend((k, False) for k in _polled(kids, cancelled))
            continue
        tok, cost = t.own(node)
        kid_time = 0.0
        for k in _polled(kids, cancelled):
            kt, kc, ktime = totals[id(k)]
            tok += kt
            cost += kc
            kid_time += ktime
        totals[id(node)] = (tok, cost, max(t.own_time(node), kid_time))
    pick = METRICS.index(metric)
    total = float(totals[id(run)][pick])
    flame = Flame(metric, total)
    # pre-order placement
    place: list[tuple[Any, int, float, float, str]] = [(run, 0, 0.0, 1.0, run.model)]
    merged: dict[int, tuple[int, float, float]] = {}
    while place:
        node, depth, x, w, model = place.pop()
        if isinstance(node, Merged):
            tok, cost, tm = merged.pop(id(node))
            flame.frames.append(Frame(node, depth, x, w, float((tok, cost, tm)[pick]), model, tok, cost, tm))
            continue
        if cancelled is not None and len(flame.frames) % POLL_EVERY == 0 and cancelled():
            raise Cancelled
        tok, cost, tm = totals[id(node)]
        model = _model(node, model)
        value = (tok, cost, tm)[pick]
        flame.frames.append(Frame(node, depth, x, w, float(value), model, tok, cost, tm))
        kids = t.children(node)
        if not kids or value <= 0:
            continue
        placed = []
        for k, kx, kw in _spans(kids, totals, merged, pick, x, w, value, min_w, cancelled):
            placed.append((k, depth + 1, kx, kw, model))
        place.extend(reversed(placed))
    flame.index()
    return flame
