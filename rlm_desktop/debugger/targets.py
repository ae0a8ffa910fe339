"""Where a step or "run to" lands: run-id lineage and model node paths (no Qt).

Run ids are hierarchical (``events``): a child of run ``R`` spawned at
iteration I, block B, call C is ``f"{R}/{I}.{B}.{C}"``. Model node paths
(``trajectory.model``) are ``r0/i<position>/b<block>/c<call>/r/...`` with 0-based
iteration positions. ``parse_node_path`` turns a path into the run id suffix
and the boundary event that opens that node.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rlm_desktop.engine import events as ev


def is_ancestor_or_self(run_id: str, of: str) -> bool:
    """``run_id`` is ``of`` or one of its ancestors."""
    return run_id == of or of.startswith(run_id + "/")


def in_lineage(run_id: str, of: str) -> bool:
    """``run_id`` is ``of``, an ancestor or a descendant of it."""
    return is_ancestor_or_self(run_id, of) or run_id.startswith(of + "/")


@dataclass(frozen=True)
class NodeTarget:
    """A node to run to. ``run_id`` None: the root run plus ``suffix`` (from a path)."""

    run_id: str | None = None
    iteration: int | None = None
    block: int | None = None
    call: int | None = None
    suffix: str = ""

    def resolve(self, root_id: str | None) -> str | None:
        if self.run_id is not None:
            return self.run_id
        return None if root_id is None else root_id + self.suffix

    def matches(self, event: ev.Event, root_id: str | None) -> bool:
        if event.run_id != self.resolve(root_id):
            return False
        if self.iteration is None:
            return isinstance(event, ev.RunStarted)
        if event.iteration != self.iteration:
            return False
        if self.block is None:
            return isinstance(event, ev.IterationStarted)
        if self.call is None:
            return isinstance(event, ev.CodeBlockStarted) and event.block_index == self.block
        return (
            isinstance(event, ev.SubCallStarted)
            and event.block_index == self.block
            and event.call_index == self.call
        )

    def matches_turn(self, event: ev.Event, root_id: str | None) -> bool:
        """``event`` is the model's answer (``LMResponse``) of this target's iteration."""
        return (
            isinstance(event, ev.LMResponse)
            and self.block is None
            and event.iteration == self.iteration
            and event.run_id == self.resolve(root_id)
        )


_SEGMENT = re.compile(r"^(?:([ibc])(\d+)|r)$")


def parse_node_path(path: str) -> NodeTarget:
    """``"r0/i2/b0/c1/r/i0"`` -> the child run ``<root>/3.0.1``, iteration 1."""
    parts = [p for p in path.strip().split("/") if p]
    if not parts or not re.fullmatch(r"r\d+", parts[0]):
        raise ValueError(f"not a run-tree node path: {path!r}")
    suffix = ""
    iteration = block = call = None
    for seg in parts[1:]:
        m = _SEGMENT.match(seg)
        if m is None:
            raise ValueError(f"bad segment {seg!r} in node path {path!r}")
        letter, num = m.group(1), m.group(2)
        if letter is None:  # "r": the child run of the call
            if iteration is None or block is None or call is None:
                raise ValueError(f"a child run must follow a sub-call in {path!r}")
            suffix += f"/{iteration}.{block}.{call}"
            iteration = block = call = None
        elif letter == "i":
            iteration, block, call = int(num) + 1, None, None
        elif letter == "b":
            if iteration is None:
                raise ValueError(f"a block must follow an iteration in {path!r}")
            block, call = int(num), None
        else:
            if block is None:
                raise ValueError(f"a sub-call must follow a block in {path!r}")
            call = int(num)
    return NodeTarget(iteration=iteration, block=block, call=call, suffix=suffix)


def call_coords(origin: ev.Event) -> dict[str, tuple[int, int, int]]:
    """For each run on ``origin``'s path to the root: the sub-call (iteration, block, call)
    that ``origin`` happens under. Used to tell a thread's own sub-call from its parallel
    siblings (``*_batched`` calls of the same block run on other threads)."""
    out: dict[str, tuple[int, int, int]] = {}
    if isinstance(origin, (ev.SubCallStarted, ev.SubCallFinished)):
        out[origin.run_id] = (origin.iteration, origin.block_index, origin.call_index)
    rid = origin.run_id
    while "/" in rid:
        parent, seg = rid.rsplit("/", 1)
        try:
            i, b, c = (int(x) for x in seg.split("."))
        except ValueError:
            break
        out[parent] = (i, b, c)
        rid = parent
    return out


def is_sibling_call(event: ev.Event, coords: dict[str, tuple[int, int, int]]) -> bool:
    """``event`` belongs to another sub-call of a block that ``coords`` is inside of."""
    if not isinstance(event, (ev.SubCallStarted, ev.SubCallFinished)):
        return False
    at = coords.get(event.run_id)
    return (
        at is not None
        and event.iteration == at[0]
        and event.block_index == at[1]
        and event.call_index != at[2]
    )
