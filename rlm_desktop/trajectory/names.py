"""How people name a node: one 1-based numbering for every panel, dialog and message.

Node paths (``r0/i2/b0``, see ``model``) are 0-based ids meant for copying (breakpoint
conditions, scripts); everything a person reads counts from 1 and says what it is:

    title(it)       -> "Iteration 3"
    title(call)     -> "rlm_query 2"            (an llm_query otherwise)
    where(block)    -> "Run 1 › Iteration 3 › Block 1"

Iterations are numbered by their place in their run (``position + 1``): that is the
logged number for every version except pre/0.1.0 files with several completions, whose
counter does not start again (TRAJECTORY_FORMAT §2.2), so "Iteration 1" is always a run's
first turn.
"""

from __future__ import annotations

from typing import Any

from .model import CodeBlock, Iteration, Run, SubCall

SEP = " › "


def iteration_no(it: Iteration) -> int:
    return it.position + 1


def block_no(block: CodeBlock) -> int:
    return block.index + 1


def call_no(call: SubCall) -> int:
    return call.index + 1


def call_kind(call: SubCall) -> str:
    """``rlm_query`` for a call that starts a child run (live: already when it starts), else
    ``llm_query``."""
    if call.child is not None or call.extra.get("kind") == "rlm":
        return "rlm_query"
    return "llm_query"


def title(node: Any) -> str:
    """The node on its own: "Run 1", "Child run (depth 1)", "Iteration 3", "Block 2",
    "llm_query 1"."""
    if isinstance(node, Run):
        if node.parent is not None:
            return f"Child run (depth {node.depth})"
        return f"Run {node.index + 1}"
    if isinstance(node, Iteration):
        return f"Iteration {iteration_no(node)}"
    if isinstance(node, CodeBlock):
        return f"Block {block_no(node)}"
    if isinstance(node, SubCall):
        return f"{call_kind(node)} {call_no(node)}"
    return ""


def where(node: Any) -> str:
    """The node with its ancestors, for status bars and hit lists:
    "Run 1 › Iteration 2 › Block 1 › rlm_query 1 › Iteration 1". A child run is named by
    its sub-call, so the chain reads as one path."""
    parts: list[str] = []
    n = node
    while n is not None:
        if not (isinstance(n, Run) and n.parent is not None and parts):
            parts.append(title(n))
        n = n.parent
    return SEP.join(reversed(parts))


def place(run_no: int | None = None, iteration: int | None = None, block_index: int | None = None,
          call_index: int | None = None, depth: int = 0) -> str:
    """The same words for a place known only by numbers (an engine event): ``iteration`` is
    1-based as logged, ``block_index``/``call_index`` are 0-based as in the events."""
    parts = []
    if run_no is not None:
        parts.append(f"Run {run_no}")
    if depth:
        parts.append(f"depth {depth}")
    if iteration:
        parts.append(f"Iteration {iteration}")
    if block_index is not None:
        parts.append(f"Block {block_index + 1}")
    if call_index is not None:
        parts.append(f"sub-call {call_index + 1}")
    return SEP.join(parts)


__all__ = ["SEP", "block_no", "call_kind", "call_no", "iteration_no", "place", "title", "where"]
