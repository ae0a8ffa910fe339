"""Iteration timeline of the selected run: one cell per iteration, left to right.

Each cell shows the iteration number, a duration bar scaled to the run's slowest
iteration, a status colour and the number of sub-calls. Left/Right move between
iterations; the current iteration follows (and drives) the NodeSelection.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, QRect, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPalette, QStandardItemModel
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
#: Cells laid out per batch (between events). The view lays cells out on a fixed grid
#: (``cell_size``), so it never asks the model (Python) about a cell it is not painting:
#: ~1 µs of C++ per cell, so a batch stays within a frame. (Without the grid each cell cost
#: two calls into Python, each of which could wait for the GIL behind a worker: a run of
#: 500,000 iterations kept the GUI thread busy laying out for minutes.)
LAYOUT_BATCH = 8_192
#: Iterations per step of the bars' scale scan (``TimelineModel.max_time``): ~2.5 ms of C each here.
SCAN_SLICE = 16_384
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


class TimelineModel(QStandardItemModel):
    """One row per iteration of ``run``: the rows are Qt's (``setRowCount``: no item, no
    Python), the cells' contents come from the iterations (``data``).

    The list view lays out every row, and asks the model for an index of each
    (``rowCount()`` behind it). In Python that was two calls per cell for 500,000 cells, each
    of which could wait for the GIL behind a worker: the GUI thread was busy laying out for
    minutes. Rows kept in C++ make the layout C++ only; Python is asked about painted cells."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(0, 1, parent)
        self.run: Run | None = None
        self._max_time: float | None = None  # the slowest iteration, until the next grow/reset
        # the scale of a big run is found in slices between events (``max_time``)
        self._scan_at = 0
        self._scan_max = 0.0
        self._scan = QTimer(self)
        self._scan.setInterval(0)
        self._scan.timeout.connect(self._scan_step)

    def set_run(self, run: Run | None) -> None:
        self.beginResetModel()
        self.run = run
        self._max_time = None
        self._scan.stop()
        self.blockSignals(True)  # (the reset tells the views)
        try:
            self.setRowCount(len(run.iterations) if run is not None else 0)
        finally:
            self.blockSignals(False)
        self.endResetModel()

    def grow(self) -> None:
        if self.run is None:
            return
        n, rows = len(self.run.iterations), self.rowCount()
        if self._max_time is not None:  # only the newest rows (and the last one, still running) change
            tail = self.run.iterations[max(rows - 1, 0) : n]
            self._max_time = max([self._max_time] + [it.iteration_time or 0.0 for it in tail])
        elif self._scan.isActive():  # the scan goes on to the new end; the last row again
            self._scan_at = min(self._scan_at, max(rows - 1, 0))
        if n > rows:
            rows = n
            self.setRowCount(n)  # (announces the rows)
        if rows:
            self.dataChanged.emit(self.index(0, 0), self.index(rows - 1, 0))

    def max_time(self) -> float | None:
        """The slowest iteration's time (the bars' scale), found once per reset, not per
        painted cell. A run of more than ``SCAN_SLICE`` iterations is scanned in slices
        between events, and this is None meanwhile (the bars are drawn when it is known, the
        cells repainted): one pass over 500,000 iterations held the GUI thread 20–90 ms in a
        paint. Each slice is a C-speed pass (map/attrgetter/filter run no bytecode)."""
        if self.run is None:
            return 0.0
        if self._max_time is None and not self._scan.isActive():
            self._scan_at, self._scan_max = 0, 0.0
            if self.rowCount() <= SCAN_SLICE:
                self._scan_step()
            else:
                self._scan.start()
        return self._max_time

    def _scan_step(self) -> None:
        run = self.run
        if run is None:
            self._scan.stop()
            return
        end = min(self.rowCount(), len(run.iterations))
        stop = min(self._scan_at + SCAN_SLICE, end)
        times = map(_iteration_time, run.iterations[self._scan_at : stop])
        self._scan_max = max(self._scan_max, float(max(filter(None, times), default=0.0)))
        self._scan_at = stop
        if stop < end:  # (the timer, started by ``max_time``, calls again)
            return
        self._scan.stop()
        self._max_time = self._scan_max
        if end > SCAN_SLICE:  # painted without bars meanwhile
            self.dataChanged.emit(self.index(0, 0), self.index(end - 1, 0))

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.run is None or index.row() >= len(self.run.iterations):
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


def cell_size(fm: QFontMetrics) -> QSize:
    """Every cell's size (the view's grid): two lines of the widest usual text."""
    return QSize(fm.horizontalAdvance("000.0s · 00 calls") + 16, fm.height() * 2 + 16)


class _Delegate(QStyledItemDelegate):
    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:  # noqa: N802
        return cell_size(option.fontMetrics)

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
        top = model.max_time()
        if top is not None:  # (None: a big run's scale is still being found)
            frac = min(1.0, (it.iteration_time or 0.0) / max(top, 1e-9))
            painter.fillRect(QRect(r.left() + 8, r.bottom() - 7, int((r.width() - 12) * frac), 5), colour)
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
        self.view.setGridSize(cell_size(self.view.fontMetrics()))
        # lay the cells out in batches between events: a run of 500,000 iterations would
        # otherwise be laid out in one go (~0.6 s)
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

    def changeEvent(self, event: Any) -> None:  # noqa: N802
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self.view.setGridSize(cell_size(self.view.fontMetrics()))
        super().changeEvent(event)

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
                    idx = self.model.index(row, 0)
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
