"""Two run trees side by side, row for row: the aligned nodes of a ``TrajectoryDiff``.

Both views hold the same rows (a node one side lacks is an empty grey row there), so
expanding, selecting and scrolling one does the same to the other. Each row has a change
marker: ``≠`` changed, ``+`` only in B, ``−`` only in A, ``…`` something below changed;
changed rows are tinted. All text is plain (``QStandardItem`` text, never rich text).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QSplitter, QTreeView

from rlm_desktop.trajectory.diff import ADDED, CHANGED, REMOVED, SAME, DiffNode, TrajectoryDiff
from rlm_desktop.trajectory.diff.texts import label
from rlm_desktop.ui.plain_tooltip import plain_tooltip

NodeRole = Qt.ItemDataRole.UserRole + 1
MARK = {CHANGED: "≠", ADDED: "+", REMOVED: "−", SAME: " "}
TINT = {CHANGED: QColor(255, 214, 102, 90), ADDED: QColor(90, 200, 120, 90), REMOVED: QColor(230, 90, 90, 90)}
EMPTY = QColor(128, 128, 128, 50)


def _tokens(fig: Any) -> str:
    return "" if fig is None else f"{fig.tokens:,}"


def _time(fig: Any) -> str:
    return "" if fig is None or fig.time is None else f"{fig.time:.2f}s"


def marker(n: DiffNode) -> str:
    if n.status != SAME:
        return MARK[n.status]
    return "…" if n.subtree_changed else " "


class TwinTrees(QSplitter):
    """``current_changed(DiffNode)`` when the selected row changes (in either tree)."""

    current_changed = Signal(object)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.views = (QTreeView(), QTreeView())
        self.models = (QStandardItemModel(self), QStandardItemModel(self))
        self._items: dict[int, tuple[QStandardItem, QStandardItem]] = {}
        self._syncing = False
        for side, (view, model) in enumerate(zip(self.views, self.models, strict=True)):
            view.setObjectName(f"compare.tree.{'ab'[side]}")
            view.setModel(model)
            view.setUniformRowHeights(True)
            view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
            view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            view.setAlternatingRowColors(False)
            self.addWidget(view)
            view.expanded.connect(lambda idx, s=side: self._mirror_expand(s, idx, True))
            view.collapsed.connect(lambda idx, s=side: self._mirror_expand(s, idx, False))
            view.selectionModel().currentChanged.connect(lambda cur, _prev, s=side: self._current(s, cur))
        a, b = self.views
        a.verticalScrollBar().valueChanged.connect(lambda v: self._mirror_scroll(1, v))
        b.verticalScrollBar().valueChanged.connect(lambda v: self._mirror_scroll(0, v))

    # -- filling ----------------------------------------------------------------------------------
    def set_diff(self, diff: TrajectoryDiff | None) -> None:
        self._items.clear()
        for side, model in enumerate(self.models):
            model.clear()
            model.setHorizontalHeaderLabels([f"{'AB'[side]}: node", "tokens", "time"])
        if diff is None:
            return
        for root in diff.roots:
            self._add(root, self.models[0].invisibleRootItem(), self.models[1].invisibleRootItem())
        for view in self.views:
            view.expandToDepth(0)
            h = view.header()
            h.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
            h.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
            h.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
            h.setStretchLastSection(False)

    def _row(self, n: DiffNode, side: int) -> list[QStandardItem]:
        node = n.a if side == 0 else n.b
        fig = n.fig_a if side == 0 else n.fig_b
        text = label(node) if node is not None else f"(only in {'BA'[side]})"
        cells = [QStandardItem(f"{marker(n)} {text}"), QStandardItem(_tokens(fig)), QStandardItem(_time(fig))]
        tint = TINT.get(n.status) if node is not None else EMPTY
        tip = n.what if n.status != SAME else ("changes below" if n.subtree_changed else "same")
        cells[0].setData(n, NodeRole)  # the other columns find it through column 0
        cells[0].setToolTip(plain_tooltip((node.path + ": " if node is not None else "") + tip))
        if tint is not None:
            brush = QBrush(tint)
            for c in cells:
                c.setBackground(brush)
        cells[1].setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return cells

    def _add(self, n: DiffNode, pa: QStandardItem, pb: QStandardItem) -> None:
        ra, rb = self._row(n, 0), self._row(n, 1)
        pa.appendRow(ra)
        pb.appendRow(rb)
        self._items[id(n)] = (ra[0], rb[0])
        for c in n.children:
            self._add(c, ra[0], rb[0])

    # -- the current row -----------------------------------------------------------------------------
    def current(self) -> DiffNode | None:
        idx = self.views[0].currentIndex()
        return idx.siblingAtColumn(0).data(NodeRole) if idx.isValid() else None

    def select(self, n: DiffNode) -> None:
        items = self._items.get(id(n))
        if items is None:
            return
        idx = items[0].index()
        parent = idx.parent()
        while parent.isValid():
            self.views[0].expand(parent)
            parent = parent.parent()
        self.views[0].setCurrentIndex(idx)
        self.views[0].scrollTo(idx)

    def _twin(self, side: int, idx: QModelIndex) -> QModelIndex:
        n = idx.siblingAtColumn(0).data(NodeRole)
        items = self._items.get(id(n)) if n is not None else None
        if items is None:
            return QModelIndex()
        return self.models[1 - side].indexFromItem(items[1 - side]).siblingAtColumn(idx.column())

    def _current(self, side: int, idx: QModelIndex) -> None:
        if self._syncing or not idx.isValid():
            return
        self._syncing = True
        try:
            other = self.views[1 - side]
            twin = self._twin(side, idx)
            if twin.isValid():
                other.setCurrentIndex(twin)
                other.scrollTo(twin)
        finally:
            self._syncing = False
        self.current_changed.emit(idx.siblingAtColumn(0).data(NodeRole))

    def _mirror_expand(self, side: int, idx: QModelIndex, expanded: bool) -> None:
        if self._syncing:
            return
        self._syncing = True
        try:
            twin = self._twin(side, idx)
            if twin.isValid():
                self.views[1 - side].setExpanded(twin, expanded)
        finally:
            self._syncing = False

    def _mirror_scroll(self, to: int, value: int) -> None:
        bar = self.views[to].verticalScrollBar()
        if bar.value() != value:
            bar.setValue(value)

