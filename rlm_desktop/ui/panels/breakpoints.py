"""Breakpoints panel: list, add, edit, enable/disable and remove the debugger's breakpoints;
logpoint messages are shown below the list (plain text).

The panel works on ``rlm_desktop.debugger.breakpoints.BreakpointManager``
(``breakpoints()``, ``add(**fields)``, ``remove(id)``, ``update(id, **fields)``,
``on_change(fn)``, ``on_log(fn)``, ``messages``). The manager calls its
listeners on engine threads; the panel re-emits them as Qt signals (queued to
the GUI thread) and coalesces refreshes, so hit counts, one-shot disabling and
condition errors show up live. A breakpoint whose condition/pattern has a
problem (``error``) is shown in the error colour with the reason.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QPushButton,
    QSplitter,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from rlm_desktop.debugger.breakpoints import BreakpointManager, LogMessage
from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, SubCall
from rlm_desktop.ui.bridge import Bridge

from .breakpoint_editor import KINDS, BreakpointEditor, describe, hit_text
from .common import CappedTextView, is_dark, node_iteration, plain, plain_label, role_color

FIELDS = ("kind", "iteration", "depth", "pattern", "regex", "condition", "one_shot", "log_message",
          "hit_condition", "wait_for")
Index = QModelIndex | QPersistentModelIndex


class _Relay:
    """Manager callbacks (any thread) -> the panel's bridge (delivered in the GUI thread).
    ``alive`` False: a replaced manager's callbacks go nowhere."""

    def __init__(self, bridge: Bridge) -> None:
        self.bridge = bridge
        self.alive = True

    def on_change(self) -> None:
        if self.alive:
            self.bridge.post("changed", None)

    def on_log(self, message: LogMessage) -> None:
        if self.alive:
            self.bridge.post("logged", message.line)


def bp_fields(bp: Any) -> dict[str, Any]:
    out = {name: getattr(bp, name, None) for name in FIELDS}
    out["error"] = getattr(bp, "error", None)
    out["enabled"] = bool(getattr(bp, "enabled", True))
    hits = getattr(bp, "hit_count", None)
    out["hit_count"] = int(hits if hits is not None else getattr(bp, "hits", 0) or 0)
    return out


class BreakpointTableModel(QAbstractTableModel):
    COLUMNS = ("On", "Stops at", "Condition", "Hits", "One-shot", "Log message")

    def __init__(self, panel: BreakpointsPanel) -> None:
        super().__init__(panel)
        self.panel = panel
        self.rows: list[Any] = []

    def set_rows(self, rows: list[Any]) -> None:
        if [id(r) for r in rows] == [id(r) for r in self.rows]:
            self.rows = rows
            if rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, len(self.COLUMNS) - 1))
            return
        self.beginResetModel()
        self.rows = rows
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        return len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() in (0, 4):
            base |= Qt.ItemFlag.ItemIsUserCheckable
        return base

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        f = bp_fields(self.rows[index.row()])
        col = index.column()
        if role == Qt.ItemDataRole.CheckStateRole:
            if col == 0:
                return Qt.CheckState.Checked if f["enabled"] else Qt.CheckState.Unchecked
            if col == 4:
                return Qt.CheckState.Checked if f["one_shot"] else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 1:
                text = describe(f)
                after = self.panel.manager.get(f["wait_for"]) if f.get("wait_for") is not None else None
                if after is not None:
                    waiting = "" if getattr(self.rows[index.row()], "armed", True) else ", waiting"
                    text += f" (after {describe(bp_fields(after))}{waiting})"
                return plain(("log: " if f["log_message"] else "") + text)
            if col == 2:
                if f["error"]:
                    return plain(f"⚠ {f['error']}" + (f" ({f['condition']})" if f["condition"] else ""))
                return plain(f["condition"] or "")
            if col == 3:
                cond = hit_text(f.get("hit_condition"))
                return f"{f['hit_count']} · stop on {cond}" if cond else str(f["hit_count"])
            if col == 5:
                return plain(f["log_message"] or "")
        if role == Qt.ItemDataRole.ToolTipRole and col in (1, 2):
            if f["error"]:
                return plain(f"Problem: {f['error']}")
            return plain(KINDS.get(f["kind"] or "", ("",))[0])
        if role == Qt.ItemDataRole.ForegroundRole and f["error"] and col in (1, 2):
            return role_color("error", is_dark(self.panel))
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if role != Qt.ItemDataRole.CheckStateRole or index.column() not in (0, 4):
            return False
        bp = self.rows[index.row()]
        checked = Qt.CheckState(value) == Qt.CheckState.Checked
        name = "enabled" if index.column() == 0 else "one_shot"
        self.panel.manager.update(bp.id, **{name: checked})
        self.panel.refresh()
        return True


class BreakpointsPanel(QWidget):
    """Dock panel for the debugger's breakpoints and logpoint output."""

    breakpointsChanged = Signal()

    def __init__(self, manager: BreakpointManager | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("breakpointsPanel")
        self.manager: BreakpointManager | None = None
        self._relay: _Relay | None = None
        self._bridge = Bridge(self._on_bridge, self)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(30)  # coalesce bursts of hit-count changes
        self._refresh_timer.timeout.connect(self.refresh)
        self._node: Any = None
        self.model = BreakpointTableModel(self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)  # "Stops at" gets the room
        for col in (0, 3, 4):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.resizeSection(2, 80)
        header.resizeSection(5, 80)
        self.table.setWordWrap(False)  # one line per breakpoint
        self.table.doubleClicked.connect(lambda _i: self.edit_selected())
        self.add_button = QPushButton("Add…", self)
        self.add_here_button = QPushButton("Break here", self)
        self.add_here_button.setToolTip("Stop at the selected iteration (its number and depth)")
        self.edit_button = QPushButton("Edit…", self)
        self.remove_button = QPushButton("Remove", self)
        self.remove_all_button = QPushButton("Remove all", self)
        self.add_button.clicked.connect(lambda: self.add_interactive())
        self.add_here_button.clicked.connect(self.add_here)
        self.edit_button.clicked.connect(self.edit_selected)
        self.remove_button.clicked.connect(self.remove_selected)
        self.remove_all_button.clicked.connect(self.remove_all)
        # a tool bar: when the dock is narrow the last buttons go behind its » menu instead of
        # widening the dock (and every panel tabbed with it)
        buttons = QToolBar(self)
        buttons.setObjectName("breakpoints.buttons")
        buttons.setContentsMargins(2, 0, 2, 0)
        for b in (self.add_button, self.add_here_button, self.edit_button, self.remove_button, self.remove_all_button):
            buttons.addWidget(b)
        self.log_label = plain_label("Logpoint messages", self)
        self.log = CappedTextView(self)
        self.log.edit.setPlaceholderText("Messages of logpoints appear here.")
        self._log_lines: list[str] = []
        log_box = QWidget(self)
        ll = QVBoxLayout(log_box)
        ll.setContentsMargins(0, 0, 0, 0)
        ll.addWidget(self.log_label)
        ll.addWidget(self.log, 1)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.table)
        split.addWidget(log_box)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(buttons)
        lay.addWidget(split, 1)
        # the list shows a few breakpoints, not a row and a half, whatever the log box wants
        rows = self.table.verticalHeader().defaultSectionSize()
        self.table.setMinimumHeight(self.table.horizontalHeader().sizeHint().height() + 4 * rows + 4)
        split.setCollapsible(0, False)
        split.setSizes([10 * rows, 3 * rows])
        self.split = split
        self.table.selectionModel().selectionChanged.connect(self._update_buttons)
        self.set_manager(manager)

    # -- API ----------------------------------------------------------------------

    def _on_bridge(self, _job: Any, kind: str, payload: Any) -> None:
        if kind == "changed":
            self._refresh_timer.start()
        elif kind == "logged":
            self.add_log_message(payload)

    def set_manager(self, manager: BreakpointManager | None) -> None:
        """Show ``manager``'s breakpoints and follow its changes and logpoint messages."""
        if self._relay is not None:
            self._relay.alive = False  # the old manager keeps its callbacks; they go nowhere
        self.manager = manager
        self._relay = None
        self.clear_log()
        if manager is not None:
            relay = _Relay(self._bridge)
            manager.on_change(relay.on_change)
            manager.on_log(relay.on_log)
            self._relay = relay
            for m in list(manager.messages)[-1000:]:
                self.add_log_message(m.line)
        self.refresh()

    def show_node(self, node: Run | Iteration | CodeBlock | SubCall | None) -> None:
        """Remember the selection for "Break here"."""
        self._node = node
        self._update_buttons()

    def refresh(self) -> None:
        selected = self.selected()
        rows = list(self.manager.breakpoints()) if self.manager is not None else []
        self.model.set_rows(rows)
        if selected is not None:
            for r, bp in enumerate(rows):
                if bp.id == selected.id:
                    self.table.selectRow(r)
                    break
        self._update_buttons()

    def selected(self) -> Any:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if rows and 0 <= rows[0].row() < len(self.model.rows):
            return self.model.rows[rows[0].row()]
        return None

    def add(self, **fields: Any) -> Any:
        bp = self.manager.add(**{k: v for k, v in fields.items() if k in FIELDS})
        self._changed()
        return bp

    def _others(self, but: Any = None) -> list[tuple[int, str]]:
        """(id, description) of the breakpoints one can wait for (not the app's own)."""
        if self.manager is None:
            return []
        return [(b.id, describe(bp_fields(b))) for b in self.manager.breakpoints()
                if b is not but and not getattr(b, "transient", False)]

    def add_interactive(self, fields: dict[str, Any] | None = None) -> Any:
        dlg = BreakpointEditor(self, fields, self._others())
        if dlg.exec() != BreakpointEditor.DialogCode.Accepted:
            return None
        return self.add(**dlg.fields())

    def here_fields(self) -> dict[str, Any] | None:
        it = node_iteration(self._node) if not isinstance(self._node, Run) else None
        if it is None:
            return None
        return {"kind": "iteration", "iteration": it.number, "depth": it.depth}

    def add_here(self) -> Any:
        fields = self.here_fields()
        return self.add(**fields) if fields is not None and self.manager is not None else None

    def edit_selected(self) -> None:
        bp = self.selected()
        if bp is None:
            return
        dlg = BreakpointEditor(self, bp_fields(bp), self._others(bp))
        if dlg.exec() == BreakpointEditor.DialogCode.Accepted:
            self.manager.update(bp.id, **{k: v for k, v in dlg.fields().items() if k in FIELDS})
            self._changed()

    def remove_selected(self) -> None:
        bp = self.selected()
        if bp is not None:
            self.manager.remove(bp.id)
            self._changed()

    def remove_all(self) -> None:
        if self.manager is None:
            return
        for bp in list(self.manager.breakpoints()):
            self.manager.remove(bp.id)
        self._changed()

    def add_log_message(self, text: str) -> None:
        """A logpoint fired (from the session's signal): append its message."""
        self._log_lines.append(plain(text).rstrip("\n"))
        if len(self._log_lines) > 10_000:
            del self._log_lines[:1000]
        self.log.set_text("\n".join(self._log_lines) + "\n", keep_scroll=True)

    def clear_log(self) -> None:
        self._log_lines.clear()
        self.log.set_text("")

    # -- internals ----------------------------------------------------------------

    def _changed(self) -> None:
        self.refresh()
        self.breakpointsChanged.emit()

    def _update_buttons(self, *_: Any) -> None:
        has_manager = self.manager is not None
        has_sel = self.selected() is not None
        self.add_button.setEnabled(has_manager)
        self.add_here_button.setEnabled(has_manager and self.here_fields() is not None)
        self.edit_button.setEnabled(has_sel)
        self.remove_button.setEnabled(has_sel)
        self.remove_all_button.setEnabled(has_manager and bool(self.model.rows))
