"""The runs list: every log of a followed folder, updating live.

``RunsTableModel`` holds one ``RunSummary`` per file and only ever inserts rows
or changes them in place (never a model reset), so a ``QSortFilterProxyModel``
keeps the user's selection across live updates and re-sorts. ``RunsPanel``
adds a filter box, a notice bar (truncated / replaced / deleted files), and
keeps the scroll position anchored on the row at the top of the view when
rows are inserted or move above it.

Signals: ``run_selected(path)`` when the current row changes,
``run_activated(path)`` on double-click / Enter (the main window opens the run,
e.g. with ``FollowController.open_live(path)``).
"""

from __future__ import annotations

import itertools
import os
import time
from typing import Any

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rlm_desktop.trajectory.model import RunStatus
from rlm_desktop.trajectory.reader import sanitize_str
from rlm_desktop.trajectory.run_summary import RunSummary
from rlm_desktop.trajectory.tail import Notice, NoticeKind
from rlm_desktop.trajectory.tail_follow import ListingUpdate

from . import refcount_guard  # noqa: F401 - guards PySide6 6.12.0 on Python 3.11 (see module)
from .follow import FollowController

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
PATH_ROLE = Qt.ItemDataRole.UserRole + 2
COLUMNS = ("File", "Status", "Iterations", "Sub-calls", "Final answer", "Modified", "Size", "Model")
COL_FILE, COL_STATUS, COL_ITERS, COL_CALLS, COL_ANSWER, COL_MODIFIED, COL_SIZE, COL_MODEL = range(8)
DELETED = "deleted"
DRAIN_BUDGET_S = 0.008  # GUI time per slice of queued listing updates
DISPLAY = Qt.ItemDataRole.DisplayRole
TOOLTIP = Qt.ItemDataRole.ToolTipRole
FOREGROUND = Qt.ItemDataRole.ForegroundRole
FONT = Qt.ItemDataRole.FontRole
ALIGN = Qt.ItemDataRole.TextAlignmentRole
_ROLES = (DISPLAY, SORT_ROLE, PATH_ROLE, TOOLTIP, FOREGROUND, FONT, ALIGN)

STATUS_COLORS = {
    RunStatus.RUNNING: "#1f77d0",
    RunStatus.FINISHED: "#2e8b3a",
    RunStatus.MAX_ITERATIONS: "#b07d00",
    RunStatus.INCOMPLETE: "#8a8a8a",
    RunStatus.FAILED: "#c62828",
    RunStatus.CANCELLED: "#a0522d",
    DELETED: "#9e9e9e",
}


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(sanitize_str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def _when(ts: float) -> str:
    if not ts:
        return ""
    lt = time.localtime(ts)
    if time.strftime("%Y-%m-%d", lt) == time.strftime("%Y-%m-%d"):
        return time.strftime("%H:%M:%S", lt)
    return time.strftime("%Y-%m-%d %H:%M", lt)


class RunsTableModel(QStandardItemModel):
    """Rows = files, updated only through ``apply(ListingUpdate)`` and ``add_notice``.

    A ``QStandardItemModel``: the values live in C++ items, so painting and
    sorting never call into Python. That matters while the follower's worker
    thread is busy in Python: every Python ``data()`` call from a paint would
    have to win the GIL back, and a view makes thousands of them.
    Rows are only appended (a deleted file stays, marked), so row numbers are stable.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self._rows: list[RunSummary] = []
        self._index: dict[str, int] = {}
        self._deleted: set[str] = set()
        self._notices: dict[str, Notice] = {}
        self._bold = QFont()
        self._bold.setBold(True)
        self._italic = QFont()
        self._italic.setItalic(True)
        self._brushes = {k: QBrush(QColor(v)) for k, v in STATUS_COLORS.items()}
        self._right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    # -- updates -------------------------------------------------------------------

    def apply(self, update: ListingUpdate) -> None:
        latest: dict[str, RunSummary] = {}
        for s in update.added + update.changed:
            latest[s.path] = s
        for path, s in latest.items():
            row = self._index.get(path)
            if row is None:
                self._index[path] = len(self._rows)
                self._rows.append(s)
                self.appendRow([self._item(col, values) for col, values in enumerate(self._values(s, False))])
            else:
                self._rows[row] = s
                self._deleted.discard(path)
                self._refresh(row)
        for path in update.removed:
            row = self._index.get(path)
            if row is not None and path not in self._deleted:
                self._deleted.add(path)
                self._refresh(row)

    def add_notice(self, notice: Notice) -> None:
        self._notices[notice.path] = notice
        row = self._index.get(notice.path)
        if row is not None:
            self._refresh(row)

    def summary(self, path: str) -> RunSummary | None:
        row = self._index.get(path)
        return self._rows[row] if row is not None else None

    def row_of(self, path: str) -> int | None:
        return self._index.get(path)

    def status_of(self, path: str) -> str | None:
        row = self._index.get(path)
        if row is None:
            return None
        return DELETED if path in self._deleted else str(self._rows[row].status)

    # -- items ---------------------------------------------------------------------

    @staticmethod
    def _item(col: int, values: dict[int, Any]) -> QStandardItem:
        item = QStandardItem()
        item.setEditable(False)
        for role, value in values.items():
            if value is not None:
                item.setData(value, role)
        return item

    def _refresh(self, row: int) -> None:
        """Update a row's items with one dataChanged for the whole row."""
        s = self._rows[row]
        values = self._values(s, s.path in self._deleted)
        blocked = self.blockSignals(True)
        try:
            for col, vals in enumerate(values):
                item = self.item(row, col)
                for role in _ROLES:
                    item.setData(vals.get(role), role)
        finally:
            self.blockSignals(blocked)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def _values(self, s: RunSummary, deleted: bool) -> list[dict[int, Any]]:
        display = [self._display(s, col, deleted) for col in range(len(COLUMNS))]
        numeric = {
            COL_ITERS: s.iterations,
            COL_CALLS: s.sub_calls,
            COL_MODIFIED: s.modified,
            COL_SIZE: s.size,
        }
        tip = self._tooltip(s, deleted)
        answer_tip = tip + ("\n\n" + s.final_answer if s.final_answer else "")
        if deleted:
            fg_row = self._brushes[DELETED]
        else:
            fg_row = None
        out = []
        for col in range(len(COLUMNS)):
            fg = fg_row
            font = self._italic if deleted else None
            if col == COL_STATUS and not deleted:
                fg = self._brushes.get(s.status)
                font = self._bold if s.status == RunStatus.RUNNING else None
            out.append(
                {
                    DISPLAY: display[col],
                    SORT_ROLE: numeric.get(col, display[col].lower()),
                    PATH_ROLE: s.path,
                    TOOLTIP: answer_tip if col == COL_ANSWER else tip,
                    FOREGROUND: fg,
                    FONT: font,
                    ALIGN: self._right if col in numeric and col != COL_MODIFIED else None,
                }
            )
        return out

    def _status_text(self, s: RunSummary, deleted: bool) -> str:
        if deleted:
            return DELETED
        text = str(s.status).replace("_", " ")
        notice = self._notices.get(s.path)
        if notice is not None and notice.kind != NoticeKind.DELETED:
            text += f" ({notice.kind})"
        return text

    def _display(self, s: RunSummary, col: int, deleted: bool) -> str:
        if col == COL_FILE:
            return sanitize_str(s.name)
        if col == COL_STATUS:
            return self._status_text(s, deleted)
        if col == COL_ITERS:
            return str(s.iterations)
        if col == COL_CALLS:
            return str(s.sub_calls)
        if col == COL_ANSWER:
            return _one_line(s.final_answer) if s.final_answer is not None else ""
        if col == COL_MODIFIED:
            return _when(s.modified)
        if col == COL_SIZE:
            return _size(s.size)
        if col == COL_MODEL:
            return s.model
        return ""

    def _tooltip(self, s: RunSummary, deleted: bool) -> str:
        lines = [sanitize_str(s.path)]
        notice = self._notices.get(s.path)
        if notice is not None:
            lines.append(f"{notice.kind}: {notice.message} ({_when(notice.time)})")
        if s.error:
            lines.append(f"error: {s.error}")
        if s.pending and not deleted:
            lines.append("the last line is still being written")
        return "\n".join(lines)


class _Proxy(QSortFilterProxyModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)
        self.setFilterRole(Qt.ItemDataRole.DisplayRole)


class RunsPanel(QWidget):
    """Runs list of the followed folder, with a filter and a notice bar."""

    run_selected = Signal(str)
    run_activated = Signal(str)

    def __init__(self, controller: FollowController | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RunsPanel")
        self.controller = controller if controller is not None else FollowController(self)
        self.model = RunsTableModel(self)
        self.proxy = _Proxy(self)
        self.proxy.setSourceModel(self.model)

        self.title = QLabel("Not following a folder")
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.count_label = QLabel("")
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter runs…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)

        self.notice_bar = QFrame()
        self.notice_bar.setObjectName("NoticeBar")
        self.notice_bar.setStyleSheet(
            "#NoticeBar { background: #fff4d6; border: 1px solid #e0b84c; border-radius: 3px; }"
        )
        self.notice_label = QLabel()
        self.notice_label.setTextFormat(Qt.TextFormat.PlainText)
        self.notice_label.setWordWrap(True)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.dismiss_notices)
        bar = QHBoxLayout(self.notice_bar)
        bar.setContentsMargins(6, 2, 2, 2)
        bar.addWidget(self.notice_label, 1)
        bar.addWidget(close)
        self.notice_bar.hide()
        self.notices: list[Notice] = []
        self._unseen = 0

        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(COL_MODIFIED, Qt.SortOrder.DescendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.view.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_ANSWER, QHeaderView.ResizeMode.Stretch)
        for col, width in ((COL_FILE, 260), (COL_STATUS, 150), (COL_ITERS, 70), (COL_CALLS, 70)):
            header.resizeSection(col, width)
        self.view.activated.connect(self._on_activated)
        self.view.selectionModel().currentRowChanged.connect(self._on_current)

        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.notice_bar)
        layout.addWidget(self.view, 1)

        self._anchor: tuple[str, int] | None = None
        self._pending: dict[str, RunSummary | None] = {}  # path -> summary, None = removed
        self._slice = 100
        self._drain_timer = QTimer(self)
        self._drain_timer.setSingleShot(True)
        self._drain_timer.setInterval(0)
        self._drain_timer.timeout.connect(self._drain)

        c = self.controller
        c.listing_changed.connect(self._on_listing)
        c.notice.connect(self.add_notice)
        c.following_changed.connect(self._on_following)
        c.error.connect(self._on_error)

    # -- API for the main window ---------------------------------------------------

    def follow(self, path: str | os.PathLike[str], recursive: bool = True) -> bool:
        return self.controller.follow(path, recursive)

    def selected_path(self) -> str | None:
        idx = self.view.selectionModel().currentIndex()
        return idx.data(PATH_ROLE) if idx.isValid() else None

    def select_path(self, path: str) -> bool:
        row = self.model.row_of(os.path.abspath(path))
        if row is None:
            return False
        idx = self.proxy.mapFromSource(self.model.index(row, 0))
        if not idx.isValid():
            return False
        self.view.selectionModel().setCurrentIndex(
            idx, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        self.view.scrollTo(idx)
        return True

    def open_selected_live(self):
        """The live Trajectory of the selected run (grows in place), or None."""
        path = self.selected_path()
        return self.controller.open_live(path) if path else None

    def dismiss_notices(self) -> None:
        self._unseen = 0
        self.notice_bar.hide()

    # -- slots -----------------------------------------------------------------------

    def _on_following(self, target: str) -> None:
        self.title.setText(f"Following {sanitize_str(target)}" if target else "Not following a folder")

    def _on_error(self, message: str) -> None:
        self._show_notice(sanitize_str(message))

    def _on_listing(self, update: ListingUpdate) -> None:
        """Queue (and coalesce by path); rows are added in slices between other events."""
        for s in update.added + update.changed:
            self._pending.pop(s.path, None)
            self._pending[s.path] = s
        for path in update.removed:
            self._pending.pop(path, None)
            self._pending[path] = None
        if not self._drain_timer.isActive():
            self._drain_timer.start()

    def _drain(self) -> None:
        n = min(len(self._pending), self._slice)
        paths = list(itertools.islice(self._pending, n))
        items = [(p, self._pending.pop(p)) for p in paths]
        t0 = time.perf_counter()
        self._remember_anchor()
        self.model.apply(
            ListingUpdate(
                changed=[s for _, s in items if s is not None], removed=[p for p, s in items if s is None]
            )
        )
        self._restore_anchor()
        elapsed = time.perf_counter() - t0
        if n >= self._slice and elapsed > 0:  # aim at ~DRAIN_BUDGET_S per slice
            self._slice = max(20, min(2000, int(n * DRAIN_BUDGET_S / elapsed)))
        self.count_label.setText(f"{self.model.rowCount()} runs")
        if self._pending:
            self._drain_timer.start()

    def add_notice(self, notice: Notice) -> None:
        self.notices.append(notice)
        self._remember_anchor()
        self.model.add_notice(notice)
        self._restore_anchor()
        name = sanitize_str(os.path.basename(notice.path))
        self._unseen += 1
        more = f"  (+{self._unseen - 1} more, see tooltips)" if self._unseen > 1 else ""
        self._show_notice(f"{name}: {notice.message}{more}")

    def _show_notice(self, text: str) -> None:
        self.notice_label.setText(text)
        self.notice_bar.show()

    def _on_activated(self, index: QModelIndex) -> None:
        path = index.data(PATH_ROLE)
        if path:
            self.run_activated.emit(path)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.run_selected.emit(current.data(PATH_ROLE))

    # -- keep the scroll position on the same run while rows come and go above it ----

    def _remember_anchor(self) -> None:
        self._anchor = None
        bar = self.view.verticalScrollBar()
        if bar.value() == 0:  # at the top: let new runs appear there
            return
        top = self.view.indexAt(self.view.viewport().rect().topLeft())
        if top.isValid():
            self._anchor = (top.data(PATH_ROLE), self.view.visualRect(top).top())

    def _restore_anchor(self) -> None:
        anchor, self._anchor = self._anchor, None
        if anchor is None:
            return
        row = self.model.row_of(anchor[0])
        if row is None:
            return
        idx = self.proxy.mapFromSource(self.model.index(row, 0))
        if idx.isValid():
            self.view.scrollTo(idx, QAbstractItemView.ScrollHint.PositionAtTop)
