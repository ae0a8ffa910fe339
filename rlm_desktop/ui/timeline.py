"""Iteration timeline of the selected run: one cell per iteration, left to right.

Each cell shows the iteration number, a duration bar scaled to the run's slowest
iteration, a status colour and the number of sub-calls. Left/Right move between
iterations; the current iteration follows (and drives) the NodeSelection.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from rlm_desktop.trajectory.model import Iteration, Run
from rlm_desktop.trajectory.names import iteration_no, title

from .tree_model import status

Index = QModelIndex | QPersistentModelIndex
_iteration_time = attrgetter("iteration_time")
#: Cells laid out per batch (between events). Each cell costs the view ~2 calls into the model
#: (Python), and while a worker runs each call may wait up to the GIL switch interval for the
#: GIL: 1,000 cells a batch blocked the GUI thread ~0.5-1 s; 64 stay within a frame.
LAYOUT_BATCH = 64
STATUS_COLOURS = {
    "done": "#5cb85c",
    "final": "#2e7d32",
    "error": "#d9534f",
    "running": "#3a87d6",
    "cancelled": "#b07d12",
    "failed": "#d9534f",
}


def run_of(node: Any) -> Run | None:
    while node is not None and not isinstance(node, Run):
        node = getattr(node, "parent", None)
    return node


def iteration_of(node: Any) -> Iteration | None:
    while node is not None and not isinstance(node, Iteration):
        if isinstance(node, Run):
            return None
        node = getattr(node, "parent", None)
    return node


class TimelineModel(QAbstractListModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.run: Run | None = None
        self._rows = 0
        self._max_time: float | None = None  # the slowest iteration, until the next grow/reset

    def set_run(self, run: Run | None) -> None:
        self.beginResetModel()
        self.run = run
        self._rows = len(run.iterations) if run is not None else 0
        self._max_time = None
        self.endResetModel()

    def grow(self) -> None:
        if self.run is None:
            return
        n = len(self.run.iterations)
        if self._max_time is not None:  # only the newest rows (and the last one, still running) change
            tail = self.run.iterations[max(self._rows - 1, 0) : n]
            self._max_time = max([self._max_time] + [it.iteration_time or 0.0 for it in tail])
        if n > self._rows:
            self.beginInsertRows(QModelIndex(), self._rows, n - 1)
            self._rows = n
            self.endInsertRows()
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(self._rows - 1))

    def max_time(self) -> float:
        """The slowest iteration's time (the bars' scale): one pass per grow/reset, not one
        per painted cell (a run of 500,000 iterations paints ~20 cells per frame)."""
        if self.run is None:
            return 0.0
        if self._max_time is None:
            # a C-speed pass (map/attrgetter/filter run no bytecode): ~20 ms for 500,000
            # iterations, where a generator took ~0.2 s and gave the GIL to every worker
            times = map(_iteration_time, self.run.iterations[: self._rows])
            self._max_time = float(max(filter(None, times), default=0.0))
        return self._max_time

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else self._rows

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.run is None:
            return None
        it = self.run.iterations[index.row()]
        if role == Qt.ItemDataRole.UserRole:
            return it
        calls = sum(1 for _ in it.sub_calls())
        if role == Qt.ItemDataRole.DisplayRole:
            t = f"{it.iteration_time:.1f}s" if it.iteration_time else "–"
            return f"#{iteration_no(it)}\n{t} · {calls} call{'s' if calls != 1 else ''}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{title(it)}: {status(it)}, {len(it.code_blocks)} block(s), {calls} sub-call(s)"
        return None


class _Delegate(QStyledItemDelegate):
    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:  # noqa: N802
        fm = option.fontMetrics
        return QSize(fm.horizontalAdvance("000.0s · 00 calls") + 16, fm.height() * 2 + 16)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        it: Iteration = index.data(Qt.ItemDataRole.UserRole)
        model: TimelineModel = index.model()  # type: ignore[assignment]
        r = option.rect.adjusted(2, 2, -2, -2)
        painter.save()
        pal = option.palette
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        bg = pal.color(QPalette.ColorRole.Highlight) if selected else pal.color(QPalette.ColorRole.AlternateBase)
        painter.fillRect(r, bg)
        colour = QColor(STATUS_COLOURS.get(status(it), "#888888"))
        painter.fillRect(QRect(r.left(), r.top(), 4, r.height()), colour)
        top = max(model.max_time(), 1e-9)
        frac = min(1.0, (it.iteration_time or 0.0) / top)
        bar = QRect(r.left() + 8, r.bottom() - 7, int((r.width() - 12) * frac), 5)
        painter.fillRect(bar, colour)
        painter.setPen(pal.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text))
        painter.drawText(r.adjusted(8, 2, -2, -10), Qt.AlignmentFlag.AlignLeft, index.data())
        painter.restore()


class Timeline(QWidget):
    def __init__(self, selection: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("Timeline")
        self.selection = selection
        self.model = TimelineModel(self)
        self.view = QListView(self)
        self.view.setObjectName("TimelineView")
        self.view.setModel(self.model)
        self.view.setFlow(QListView.Flow.LeftToRight)
        self.view.setWrapping(False)
        self.view.setUniformItemSizes(True)
        # lay the cells out in batches between events: a run of 500,000 iterations would
        # otherwise be laid out in one go (~2 model calls per cell, seconds)
        self.view.setLayoutMode(QListView.LayoutMode.Batched)
        self.view.setBatchSize(LAYOUT_BATCH)
        self.view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setItemDelegate(_Delegate(self.view))
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.view)
        self._syncing = False
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        selection.changed.connect(self.show_node)

    def show_node(self, node: Any) -> None:
        run = run_of(node)
        if run is not self.model.run:
            self.model.set_run(run)
        it = iteration_of(node)
        self._syncing = True
        try:
            if it is not None and run is not None:
                its = run.iterations
                row = it.position if 0 <= it.position < len(its) and its[it.position] is it else -1
                if row < 0:
                    row = next((i for i, x in enumerate(its) if x is it), -1)
                if row >= self.model.rowCount():
                    self.model.grow()  # a live run's new iteration, selected before the refresh
                if row >= 0:
                    idx = self.model.index(row)
                    self.view.setCurrentIndex(idx)
                    self.view.scrollTo(idx)
            else:
                self.view.clearSelection()
        finally:
            self._syncing = False

    def _current_changed(self, current: QModelIndex, _prev: QModelIndex) -> None:
        if self._syncing or not current.isValid():
            return
        self.selection.select(current.data(Qt.ItemDataRole.UserRole))

    def refresh(self) -> None:
        self.model.grow()
