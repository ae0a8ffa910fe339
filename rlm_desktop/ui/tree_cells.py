"""What a Run Tree row says: the five cells of a node (label, depth, status, tokens, time).

Plain functions of the trajectory model objects, no Qt: ``RunTreeModel.cells`` calls them once
per row until the next refresh, and other panels reuse ``status`` (the REPL Output header, the
timeline) so a node is named and judged the same everywhere.
"""

from __future__ import annotations

from typing import Any

from rlm_desktop.trajectory import names, summary
from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, RunStatus, SubCall
from rlm_desktop.trajectory.reader import sanitize_str
from rlm_desktop.trajectory.totals import RUN_TOTALS_KEY
from rlm_desktop.ui.bounded_text import bounded_repr
from rlm_desktop.ui.invisible import reveal_text

#: A label looks at most this many characters of a code block or prompt (they can be 300 MB).
LABEL_SCAN = 4_000


def _first_line(text: str) -> str:
    """The first non-blank line of ``text``, looking only at its head."""
    head = text[:LABEL_SCAN]
    return next((ln for ln in head.splitlines() if ln.strip()), "")


def label(node: Any) -> str:
    """The Node column: 1-based numbers (``trajectory.names``); the path is in the tooltip."""
    if isinstance(node, Run):
        model = node.model or "?"
        if node.depth == 0 or node.parent is None:
            return sanitize_str(f"{names.title(node)} · {model}")
        return sanitize_str(f"Child run (rlm_query) · depth {node.depth} · {model}")
    if isinstance(node, Iteration):
        tail = " · final" if node.final_answer is not None else ""
        return f"{names.title(node)}{tail}{' · edited' if node.edited else ''}"
    if isinstance(node, CodeBlock):
        return reveal_text(sanitize_str(f"{names.title(node)}: {_first_line(node.code)[:60]}"))
    if isinstance(node, SubCall):
        prompt = node.prompt if isinstance(node.prompt, str) else bounded_repr(node.prompt, LABEL_SCAN)
        what = " (child run)" if names.call_kind(node) == "rlm_query" else ""
        return reveal_text(
            sanitize_str(f"{names.title(node)}{what}: {' '.join(prompt[:LABEL_SCAN].split())[:50]}")
        )
    return ""


def _stopped(node: Any) -> str | None:
    """ "cancelled"/"failed" for a node cut short by the end of its run, else None."""
    it = node if isinstance(node, Iteration) else getattr(node, "parent", None)
    while it is not None and not isinstance(it, Iteration):
        it = getattr(it, "parent", None)
    if it is None:
        return None
    how = it.extra.get("status")
    if how not in (str(RunStatus.CANCELLED), str(RunStatus.FAILED)):
        return None
    if isinstance(node, Iteration):
        return how
    # a block or a call that had not finished when the run stopped
    return how if node.execution_time is None else None


def status(node: Any) -> str:
    if isinstance(node, Run):
        return str(node.status)
    if getattr(node, "running", False):
        return "running"
    stopped = _stopped(node)
    if stopped is not None:
        return stopped
    if isinstance(node, Iteration):
        if any(b.has_error for b in node.code_blocks):
            return "error"
        return "final" if node.final_answer is not None else "done"
    if isinstance(node, CodeBlock):
        return "error" if node.has_error else "done"
    if isinstance(node, SubCall):
        return "failed" if node.failed else "done"
    return ""


def tokens(node: Any, upstream: bool | None = None) -> int | None:
    """Tokens of a node and everything under it, each LM call counted once (upstream logs
    repeat a child run's turns in its spawning call's usage: see trajectory.summary)."""
    try:
        if isinstance(node, Run):
            t = node.extra.get(RUN_TOTALS_KEY)  # a lazily opened file's run: the whole-file pass
            return (
                t.usage.total_tokens if t is not None else summary.subtree_usage(node, upstream).total_tokens
            )
        if isinstance(node, Iteration):
            return summary.iteration_usage(node, upstream).total_tokens
        if isinstance(node, CodeBlock):
            return summary.block_usage(node, upstream).total_tokens
        if isinstance(node, SubCall):
            return summary.call_usage(node, upstream).total_tokens
    except Exception:  # a half-written live node
        return None
    return None


def seconds(node: Any) -> float | None:
    if isinstance(node, Run):
        t = node.extra.get(RUN_TOTALS_KEY)
        return t.total_time if t is not None else node.total_time()
    if isinstance(node, Iteration):
        return node.iteration_time
    if isinstance(node, CodeBlock | SubCall):
        return node.execution_time
    return None


def depth(node: Any) -> int:
    if isinstance(node, CodeBlock):
        run = node.run
        return run.depth if run is not None else 0
    return int(getattr(node, "depth", 0))
