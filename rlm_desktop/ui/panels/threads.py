"""Threads panel: every engine thread of the live run while all-stop holds.

One row per thread (the root run's, and one per parallel ``*_batched`` call): what it
is ("rlm_query #2 (iteration 1, block 1)"), its state (paused where and why, running,
finished) and a mark on the one that hit the breakpoint. The user picks a row and
steps it (F10/F11/Shift+F11 and the debugger's buttons act on the picked thread),
continues only it ("Continue this one": the others stay paused) or all of them.

It follows ``ui.session.DebugSession.state_changed`` (states arrive in order, on the
GUI thread, with ``DebugState.runs``); picking a row calls ``session.select_thread``
and selects the node that thread is at everywhere.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .common import plain, plain_label

COLUMNS = ("Thread", "State", "Where")
TID_ROLE = Qt.ItemDataRole.UserRole + 1
COLOURS = {"paused": "#c77700", "running": "#1f77d0", "finished": "#2e8b3a"}


def where(event: Any) -> str:
    """A boundary in people's words (1-based iterations, blocks and calls)."""
    if event is None:
        return ""
    kind = event.kind
    text = f"{kind} · iteration {event.iteration}" if event.iteration else kind
    block = getattr(event, "block_index", None)
    if block is not None:
        text += f", block {block + 1}"
    call = getattr(event, "call_index", None)
    if call is not None:
        text += f", call {call + 1}"
    if event.depth:
        text += f" · depth {event.depth}"
    return text


def state_text(t: Any) -> str:
    if t.state == "paused":
        why = {"all-stop": "all-stop", "pause": "paused", "run-to": "run to here"}.get(t.reason, t.reason)
        return f"paused ({why})"
    return str(t.state)


class ThreadsPanel(QWidget):
    nodeSelected = Signal(object)  # the node a picked thread is at (wiring selects it everywhere)

    def __init__(self, session: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ThreadsPanel")
        self.session = session
        self.runs: tuple[Any, ...] = ()
        self.selected_tid: int | None = None
        self.header = plain_label("No run in progress.", self, wrap=True)
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("ThreadsView")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setColumnWidth(0, 220)
        self.tree.setColumnWidth(1, 130)
        self.tree.currentItemChanged.connect(self._picked)
        self.continue_one = QPushButton("Continue this one", self)
        self.continue_one.setObjectName("threads.continueOne")
        self.continue_one.setToolTip("Continue only the picked thread; the others stay paused")
        self.continue_one.clicked.connect(self.continue_picked)
        self.step_over = QPushButton("Step Over", self)
        self.step_over.setObjectName("threads.stepOver")
        self.step_over.setToolTip("Step the picked thread over its next boundary (F10)")
        self.step_over.clicked.connect(lambda: self._step("step_over"))
        self.step_into = QPushButton("Step Into", self)
        self.step_into.setObjectName("threads.stepInto")
        self.step_into.setToolTip("Step the picked thread into its next boundary (F11)")
        self.step_into.clicked.connect(lambda: self._step("step_into"))
        self.continue_all = QPushButton("Continue all", self)
        self.continue_all.setObjectName("threads.continueAll")
        self.continue_all.setToolTip("Continue every thread (F5)")
        self.continue_all.clicked.connect(lambda: self.session.resume() if self.session is not None else None)
        buttons = QHBoxLayout()
        for b in (self.step_over, self.step_into, self.continue_one, self.continue_all):
            buttons.addWidget(b)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.header)
        lay.addWidget(self.tree, 1)
        lay.addLayout(buttons)
        self._bold = QFont()
        self._bold.setBold(True)
        self._filling = False
        if session is not None:
            session.state_changed.connect(self.show_state)
        self._update_buttons()

    # -- the panel interface (the node selection does not change the list) ------------
    def show_node(self, node: Any) -> None:
        pass

    def refresh(self) -> None:
        pass

    # -- state --------------------------------------------------------------------------
    def show_state(self, st: Any) -> None:
        runs = tuple(getattr(st, "runs", ()) or ())
        if st.state == "finished" and not runs:
            runs = self.runs  # the last picture stays, every thread marked finished below
        self.runs = runs
        paused = [t for t in runs if t.state == "paused"]
        selected = getattr(st, "selected", None)
        if selected is not None:
            self.selected_tid = selected
        elif self.selected_tid not in {t.thread_id for t in paused}:
            self.selected_tid = paused[0].thread_id if paused else None
        if st.state == "finished":
            self.header.setText("The run has ended.")
        elif paused:
            n = len(runs)
            self.header.setText(f"{len(paused)} of {n} thread{'s' if n != 1 else ''} paused (all-stop). "
                                "Pick one to step or continue it.")
        else:
            self.header.setText("Running.")
        self._fill(finished=st.state == "finished")
        self._update_buttons()

    def _fill(self, finished: bool) -> None:
        self._filling = True
        try:
            self.tree.clear()
            current = None
            for t in self.runs:
                state = "finished" if finished else t.state
                hit = t.breakpoint is not None and t.reason == "breakpoint" and state == "paused"
                label = ("● " if hit else "") + t.label
                item = QTreeWidgetItem([plain(label), state_text(t) if state == t.state else state,
                                        plain(where(t.event))])
                item.setData(0, TID_ROLE, t.thread_id)
                item.setForeground(1, QBrush(QColor(COLOURS.get(state, "#888888"))))
                tip = f"thread {t.thread_name} · run {t.run_id}"
                if hit:
                    tip += "\nhit the breakpoint"
                for col in range(len(COLUMNS)):
                    item.setToolTip(col, plain(tip))
                if t.thread_id == self.selected_tid:
                    for col in range(len(COLUMNS)):
                        item.setFont(col, self._bold)
                    current = item
                self.tree.addTopLevelItem(item)
            if current is not None:
                self.tree.setCurrentItem(current)
        finally:
            self._filling = False

    def debug_thread(self, tid: int | None) -> Any:
        return next((t for t in self.runs if t.thread_id == tid), None)

    # -- the user's picks ------------------------------------------------------------------
    def _picked(self, item: QTreeWidgetItem | None, _prev: Any = None) -> None:
        if self._filling or item is None:
            return
        tid = item.data(0, TID_ROLE)
        t = self.debug_thread(tid)
        self.selected_tid = tid
        if t is not None and t.state == "paused" and self.session is not None:
            self.session.select_thread(tid)  # the steps apply to it; the pause is re-announced
        elif t is not None:
            self._select_node(t)
        self._update_buttons()

    def _select_node(self, t: Any) -> None:
        rec = getattr(self.session, "recorder", None)
        if rec is None:
            return
        from .wiring import node_for_event

        node = node_for_event(rec.run, t.event)
        if node is not None:
            self.nodeSelected.emit(node)

    def continue_picked(self) -> bool:
        t = self.debug_thread(self.selected_tid)
        if t is None or t.state != "paused" or self.session is None:
            return False
        return bool(self.session.continue_thread(t.thread_id))

    def _step(self, how: str) -> None:
        t = self.debug_thread(self.selected_tid)
        if t is None or t.state != "paused" or self.session is None:
            return
        self.session.select_thread(t.thread_id)
        getattr(self.session, how)()

    def _update_buttons(self) -> None:
        t = self.debug_thread(self.selected_tid)
        paused = t is not None and t.state == "paused"
        for b in (self.continue_one, self.step_over, self.step_into):
            b.setEnabled(paused)
        self.continue_all.setEnabled(any(x.state == "paused" for x in self.runs))
