"""The run / sub-call tree dock: a QTreeView over ``RunTreeModel`` tied to the NodeSelection."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QItemSelectionModel, QModelIndex, QRect, QTimer
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyle,
    QStyleOption,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from .tree_model import Page, RunTreeModel

#: The widest text each column after the first usually shows (its width is set from it).
COLUMN_SAMPLES = ("Depth", "max_iterations", "999,999,999", "99999.99s")


def size_columns(view: QTreeView) -> None:
    """The node column stretches; the others get a fixed starting width from the font
    (the user may still drag them). Content-sized columns would measure rows on every
    layout: each expand or scroll would ask the model for every visible cell's size."""
    header = view.header()
    header.setStretchLastSection(False)
    header.setResizeContentsPrecision(0)
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
    fm = view.fontMetrics()
    pad = 2 * view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin) + 12
    for c, sample in enumerate(COLUMN_SAMPLES, start=1):
        header.setSectionResizeMode(c, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(c, fm.horizontalAdvance(sample) + pad)


class RunTreeView(QTreeView):
    """A QTreeView that draws only each row's own expand arrow in the branch area.

    Qt's ``drawBranches`` walks every row's ancestors (``parent()`` and ``rowCount()`` per
    level, each a call into the Python model) to decide where the dotted lines of styles
    like Windows' go; Fusion, the style we ship with, draws no lines. Drawing the one
    indicator here saves ~10 model calls per painted row."""

    def drawBranches(self, painter: QPainter, rect: QRect, index: QModelIndex) -> None:  # noqa: N802
        model = self.model()
        if model is None or not model.hasChildren(index):
            return
        opt = QStyleOption()
        opt.initFrom(self)
        indent = self.indentation()
        opt.rect = QRect(rect.right() - indent + 1, rect.top(), indent, rect.height())
        state = QStyle.StateFlag.State_Item | QStyle.StateFlag.State_Children
        if self.isExpanded(index):
            state |= QStyle.StateFlag.State_Open
        opt.state = opt.state | state
        self.style().drawPrimitive(QStyle.PrimitiveElement.PE_IndicatorBranch, opt, painter, self)

MAX_INDENT, MIN_INDENT = 14, 6  # px per tree level
READABLE_PX = 200  # of each visible label's text, at least, before the tree scrolls sideways


class RunTree(QWidget):
    def __init__(self, selection: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RunTree")
        self.selection = selection
        self.model = RunTreeModel(self)
        self.view = RunTreeView(self)
        self.view.setObjectName("RunTreeView")
        self.view.setModel(self.model)
        self.view.setUniformRowHeights(True)  # constant-time scrolling on huge trees
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setAllColumnsShowFocus(True)
        self.view.setIndentation(MAX_INDENT)  # narrower for deep trees (fit_node_column)
        size_columns(self.view)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.view)
        self.view.selectionModel().currentChanged.connect(self._current_changed)
        selection.changed.connect(self.show_node)
        self._syncing = False
        # deep nodes stay readable: when the visible labels need more room than the Node column
        # has, the column takes their width and the tree scrolls sideways (else it stretches)
        self._fit_timer = QTimer(self)
        self._fit_timer.setSingleShot(True)
        self._fit_timer.setInterval(40)
        self._fit_timer.timeout.connect(self.fit_node_column)
        for sig in (self.view.expanded, self.view.collapsed, self.model.rowsInserted, self.model.modelReset,
                    self.view.verticalScrollBar().valueChanged):
            sig.connect(lambda *_: self._fit_timer.start())
        self.view.viewport().installEventFilter(self)

    def eventFilter(self, obj: Any, event: Any) -> bool:  # noqa: N802
        if obj is self.view.viewport() and event.type() == event.Type.Resize:
            self._fit_timer.start()
        return False

    def reveal_label(self, idx: QModelIndex) -> None:
        """Scroll sideways so a deep node's label starts in view (not off to the right)."""
        self.fit_node_column()
        rect = self.view.visualRect(idx)
        bar = self.view.horizontalScrollBar()
        if rect.left() < 0 or rect.left() + READABLE_PX > self.view.viewport().width():
            bar.setValue(max(0, bar.value() + rect.left() - 3 * self.view.indentation()))

    def _visible_rows(self) -> list[tuple[int, int]]:
        """(level, label width) of the rows on screen (level 0: a run at the top)."""
        view = self.view
        fm = view.fontMetrics()
        out: list[tuple[int, int]] = []
        idx = view.indexAt(view.viewport().rect().topLeft())
        if not idx.isValid():
            return out
        row_h = max(view.visualRect(idx).height(), 1)  # uniform row heights
        for _ in range(min(view.viewport().height() // row_h + 1, 400)):
            if not idx.isValid():
                break
            node = self.model.node(idx)
            level, n = 0, getattr(node, "parent", None)
            while n is not None:
                level, n = level + 1, getattr(n, "parent", None)
            out.append((level, fm.horizontalAdvance(str(idx.data() or ""))))
            idx = view.indexBelow(idx)
        return out

    def fit_node_column(self) -> None:
        """Deep nodes stay readable: each visible label keeps ``READABLE_PX`` of its text in
        view. First the indentation narrows (down to ``MIN_INDENT``); when that is not enough
        the Node column takes the width it needs and the tree scrolls sideways; otherwise the
        column stretches and the other columns stay in view."""
        header = self.view.header()
        rows = self._visible_rows()
        others = sum(header.sectionSize(c) for c in range(1, self.model.columnCount()))
        room = self.view.viewport().width() - others

        def need(indent: int) -> int:
            return max((indent * (lv + 1) + min(w, READABLE_PX) + 12 for lv, w in rows), default=0)

        indent = next((i for i in range(MAX_INDENT, MIN_INDENT - 1, -1) if need(i) <= room), MIN_INDENT)
        # while scrolling, only ever narrow the indentation and widen the column: a layout
        # change per frame would make scrolling slow (it all starts again on a new tree)
        indent = min(indent, self.view.indentation())
        if self.view.indentation() != indent:
            self.view.setIndentation(indent)
        if need(indent) > room > 0:
            # as wide as the deepest label's readable part needs, no wider: the other
            # columns stay as near as they can (longer labels elide, their tooltip has all)
            full = need(indent)
            if header.sectionResizeMode(0) != QHeaderView.ResizeMode.Interactive:
                header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
                header.resizeSection(0, full)
            elif full > header.sectionSize(0):
                header.resizeSection(0, full)

    def set_trajectory(self, traj: Any) -> None:
        self.view.setIndentation(MAX_INDENT)
        self.view.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.model.set_trajectory(traj)
        if traj is not None and traj.runs:
            self.view.expand(self.model.index_of(traj.runs[0]))

    def _current_changed(self, current: QModelIndex, _prev: QModelIndex) -> None:
        if current.isValid():
            QTimer.singleShot(0, self, lambda: self.reveal_label(self.view.currentIndex()))
        if self._syncing:
            return
        node = self.model.node(current) if current.isValid() else None
        if isinstance(node, Page):
            return  # a page of a long list ("Iterations 1–1,000") is not a node of the run
        self.selection.select(node)

    def show_node(self, node: Any) -> None:
        idx = self.model.index_of(node) if node is not None else QModelIndex()
        if not idx.isValid() and node is not None:
            return
        self._syncing = True
        try:
            sm = self.view.selectionModel()
            flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            if idx.isValid():
                sm.setCurrentIndex(idx, flags)
                self.view.scrollTo(idx)
                self.reveal_label(idx)
            else:
                sm.clearSelection()
        finally:
            self._syncing = False

    def refresh(self) -> None:
        self.model.grow()
