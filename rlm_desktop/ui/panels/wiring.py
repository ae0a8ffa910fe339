"""Connecting the panels to the app-wide node selection ("select anywhere selects everywhere").

``selection`` is the shell's ``NodeSelection`` (``changed = Signal(object)``,
``select(node)``); any object with that shape works::

    connect_selection(selection, code, output, messages, variables, metrics)

Every panel shows the selected node. Clicking an iteration in the metrics
plots or picking a block in the code view's selector selects that node
everywhere. ``show_node`` never emits, so there are no feedback loops.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QWidget

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, SubCall

from .code_view import CodeView


def connect_selection(selection: Any, *panels: QWidget) -> None:
    for panel in panels:
        selection.changed.connect(panel.show_node)
        node_selected = getattr(panel, "nodeSelected", None)
        if node_selected is not None:
            node_selected.connect(selection.select)
        if isinstance(panel, CodeView):
            panel.blockActivated.connect(selection.select)


def refresh_all(*panels: QWidget) -> None:
    """Live run: the shown nodes may have grown; panels keep scroll/selection."""
    for panel in panels:
        panel.refresh()


def node_for_event(runs_by_id: Any, event: Any) -> Run | Iteration | CodeBlock | SubCall | None:
    """The model node an engine event is about (where the debugger is paused).

    ``runs_by_id``: ``LiveRecorder.run`` (a callable) or a ``{run_id: Run}`` mapping.
    Block events give the ``CodeBlock``, sub-call events the ``SubCall``, other
    iteration events the ``Iteration``, run events the ``Run``.
    """
    get = runs_by_id if callable(runs_by_id) else getattr(runs_by_id, "get", None)
    run = get(event.run_id) if get is not None else None
    if run is None:
        return None
    it = next((i for i in reversed(run.iterations) if i.number == event.iteration), None)
    if it is None:
        return run
    block_index = getattr(event, "block_index", None)
    if block_index is None:
        return it
    block = next((b for b in it.code_blocks if b.index == block_index), None)
    if block is None:
        return it
    call_index = getattr(event, "call_index", None)
    if call_index is None:
        return block
    return next((c for c in block.sub_calls if c.index == call_index), block)


def show_paused(code: CodeView, node: Any) -> None:
    """Mark where the debugger is paused in the code view (None when running again)."""
    block = node if isinstance(node, CodeBlock) else (node.parent if isinstance(node, SubCall) else None)
    code.set_current_block(block)
