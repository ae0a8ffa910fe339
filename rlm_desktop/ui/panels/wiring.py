"""Connecting the panels to the app-wide node selection ("select anywhere selects everywhere").

``selection`` is the shell's ``NodeSelection`` (``changed = Signal(object)``,
``select(node)``); the panels' roles are the Protocols of ``roles``::

    connect_selection(selection, code, output, messages, variables, metrics)

Every panel shows the selected node, in the turns after the selection (in the order given;
see ``ui.selection``). Clicking an iteration in the metrics
plots or picking a block in the code view's selector selects that node
everywhere. ``show_node`` never emits, so there are no feedback loops.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, SubCall
from rlm_desktop.ui.selection import NodeSelection

from .code_view import CodeView
from .roles import NodePanel, NodePicker, ResponseEditor, RunPanel


def connect_selection(selection: NodeSelection, *panels: NodePanel) -> None:
    for panel in panels:
        selection.add_panel(panel.show_node)
        if isinstance(panel, NodePicker):
            panel.nodeSelected.connect(selection.select)
        if isinstance(panel, CodeView):
            panel.blockActivated.connect(selection.select)


def refresh_all(*panels: NodePanel) -> None:
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


class SessionLink:
    """Panels following a ``ui.session.DebugSession`` (live run + debugger):

    * every applied engine event -> a coalesced ``refresh()`` of the panels (~20/s);
    * a new run -> the metrics panel shows its root run;
    * paused -> the paused node is selected everywhere, the code view marks the
      block, and at an LM response the messages panel offers "Edit response…"
      (the edit goes to ``session.edit_response``);
    * resumed / finished -> marks cleared, a last refresh.

    The breakpoints panel is given ``session.breakpoints`` directly
    (``BreakpointsPanel(session.breakpoints)``), which already follows logpoints.
    """

    def __init__(
        self, session: Any, selection: NodeSelection, panels: list[NodePanel], interval_ms: int = 50
    ) -> None:
        from rlm_desktop.engine import events as ev

        self._ev = ev
        self.session = session
        self.selection = selection
        self.panels = panels
        self.code = next((p for p in panels if isinstance(p, CodeView)), None)
        self.messages = next((p for p in panels if isinstance(p, ResponseEditor)), None)
        self.metrics = next((p for p in panels if isinstance(p, RunPanel)), None)
        self.timer = QTimer()
        self.timer.setSingleShot(True)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(lambda: refresh_all(*self.panels))
        session.event_applied.connect(self._on_event)
        session.paused.connect(self._on_paused)
        session.resumed.connect(self._on_resumed)
        session.finished.connect(self._on_finished)
        if self.messages is not None:
            self.messages.responseEdited.connect(lambda _it, text: session.edit_response(text))

    def _on_event(self, event: Any, node: Any) -> None:
        if isinstance(event, self._ev.RunStarted) and event.parent_id is None and self.metrics is not None:
            rec = self.session.recorder
            run = rec.run(event.run_id) if rec is not None else None
            if run is not None:
                self.metrics.show_run(run)
        if not self.timer.isActive():
            self.timer.start()

    def _on_paused(self, state: Any) -> None:
        rec = self.session.recorder
        event = getattr(state, "event", None)
        if rec is None or event is None:
            return
        refresh_all(*self.panels)
        node = node_for_event(rec.run, event)
        self._set_paused_at(node, event.kind)
        if node is not None:
            self.selection.select(node)
            self.selection.settle()  # the marks below go on what the panels now show
        if self.code is not None:
            show_paused(self.code, node)
        if self.messages is not None:
            at_reply = isinstance(event, self._ev.LMResponse)
            self.messages.set_editable_iteration(node if at_reply and isinstance(node, Iteration) else None)

    def _set_paused_at(self, node: Any, kind: str | None) -> None:
        for p in self.panels:  # panels whose labels depend on where the run is held
            mark = getattr(p, "set_paused_at", None)
            if mark is not None:
                mark(node, kind)

    def _on_resumed(self) -> None:
        controller = getattr(self.session, "controller", None)
        if not (controller is not None and controller.is_paused):  # not a late "running" notice
            self._set_paused_at(None, None)
        if self.code is not None:
            show_paused(self.code, None)
        if self.messages is not None:
            self.messages.set_editable_iteration(None)

    def _on_finished(self, _result: Any) -> None:
        self._on_resumed()
        self.timer.stop()
        refresh_all(*self.panels)
