"""The run / sub-call tree dock: a QTreeView over ``RunTreeModel`` tied to the NodeSelection."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    SIGNAL,
    SLOT,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    Qt,
    QTimer,
)
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPalette, QStaticText, QTextOption, QTransform
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QStyle,
    QStyleOption,
    QStyleOptionFocusRect,
    QStyleOptionViewItem,
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


_ACTIVE, _INACTIVE, _DISABLED = (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive,
                                  QPalette.ColorGroup.Disabled)
_BRANCH = QStyle.StateFlag.State_Item | QStyle.StateFlag.State_Children
_OPEN = QStyle.StateFlag.State_Open
_PE_BRANCH = QStyle.PrimitiveElement.PE_IndicatorBranch
#: laid-out cell texts a view keeps, the least recently painted dropped first (~2 KB for a
#: long label, far less for "done" or "1,234"): most cells repeat ("done", "1", "Iteration 3",
#: ...), and pages scrolled back to are painted from it
STATIC_TEXTS = 8_000
_NO_WRAP = QTextOption()
_NO_WRAP.setWrapMode(QTextOption.WrapMode.NoWrap)


def _plain_line(text: str) -> QStaticText:
    """``text`` (one line) as a plain static text (never markup: a label is log text)."""
    laid_out = QStaticText(text)
    laid_out.setTextFormat(Qt.TextFormat.PlainText)
    laid_out.setTextOption(_NO_WRAP)
    return laid_out


def _static_texts(font: QFont) -> Callable[[str, int | None, int], QStaticText]:
    """A bounded cache of texts laid out in ``font``: ``(text, room, mode)`` gives ``text``
    as one plain line, elided (``mode``: a ``Qt.TextElideMode``'s value; an enum member
    would be hashed in Python on every call) if it is wider than ``room`` px (None: never).

    A text is shaped once here, at identity, and that layout both measures it and is what
    the painter draws (it lays a text out again only if the font or the scale it is drawn
    at differs, as on a high-DPI screen, and keeps that). A font change makes a new cache."""
    fm = QFontMetrics(font)
    identity = QTransform()

    @functools.lru_cache(maxsize=STATIC_TEXTS)
    def lay_out(text: str, room: int | None, mode: int) -> QStaticText:
        line = text.replace("\r", " ").replace("\n", " ") if "\n" in text or "\r" in text else text
        laid_out = _plain_line(line)
        laid_out.prepare(identity, font)
        if room is not None and laid_out.size().width() > room:  # elide the line that was measured
            laid_out = _plain_line(fm.elidedText(line, Qt.TextElideMode(mode), room))
            laid_out.prepare(identity, font)
        return laid_out

    return lay_out


class _Frame:
    """What every row painted in one ``paintEvent`` shares: colours, metrics, the visible
    columns' positions, the current row."""

    __slots__ = ("selection", "width", "fm", "margin", "elide", "tree_column", "indent", "decorated",
                 "columns", "highlight", "highlighted_text", "text", "focus", "current", "style", "branch",
                 "closed", "open")

    def __init__(self, view: QTreeView) -> None:
        group = (_DISABLED if not view.isEnabled() else _ACTIVE if view.window().isActiveWindow() else _INACTIVE)
        palette = view.palette()
        self.selection = view.selectionModel()
        self.width = view.viewport().width()
        self.fm = view.fontMetrics()
        self.margin = view.style().pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, view) + 1
        self.elide = view.textElideMode().value
        self.tree_column = max(view.treePosition(), 0)
        self.indent = view.indentation()
        self.decorated = int(view.rootIsDecorated())
        header = view.header()
        columns = []
        for visual in range(header.count()):
            column = header.logicalIndex(visual)
            x, w = header.sectionViewportPosition(column), header.sectionSize(column)
            if not header.isSectionHidden(column) and x <= self.width and x + w >= 0:
                columns.append((column, x, w))
        self.columns = columns
        self.highlight = palette.brush(group, QPalette.ColorRole.Highlight)
        self.highlighted_text = palette.color(group, QPalette.ColorRole.HighlightedText)
        self.text = palette.color(group, QPalette.ColorRole.Text)
        current = view.currentIndex()
        model = view.model()
        self.current = model.node(current) if isinstance(model, RunTreeModel) else None
        # the expand arrows' option and states, made once per paint (``initFrom`` copies the
        # palette, font and state; a flag enum's ``|`` in Python was most of an arrow's cost)
        self.style = view.style()
        self.branch = QStyleOption()
        self.branch.initFrom(view)
        self.closed = self.branch.state | _BRANCH
        self.open = self.closed | _OPEN
        self.focus: QStyleOptionFocusRect | None = None
        if view.hasFocus() and current.isValid():
            self.focus = QStyleOptionFocusRect()
            self.focus.initFrom(view)
            self.focus.backgroundColor = palette.color(group, QPalette.ColorRole.Highlight)


class RunTreeView(QTreeView):
    """A QTreeView that paints each row in one call into Python.

    Qt's own ``drawRow`` asks the model, for every painted cell, ``index()``, ``parent()``
    and ``multiData()`` and hands it to the item delegate, whose paint lays the text out
    again; ``drawBranches`` walks the row's ancestors for the dotted lines of styles like
    Windows' (Fusion, the style we ship with, draws none). That is ~25 calls into the Python
    model per row, and scrolling a page took twice a QTreeWidget's frame. Here a row is its
    five cached strings (``RunTreeModel.cells``), painted with the palette and the style's
    own primitives: the selection and focus frame, the expand arrow, elided text, the status
    colour. Each text is laid out once (a ``QStaticText`` per distinct string, elided or not,
    the ``STATIC_TEXTS`` painted last): drawing a laid-out text costs half of ``drawText``, which
    shapes the string again on every paint and was most of a scrolled frame."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._frame: _Frame | None = None  # what every row of one paint shares
        self._static = _static_texts(self.font())  # (text, room, mode) -> its layout

    def paintEvent(self, event: Any) -> None:  # noqa: N802
        self._frame = _Frame(self)
        try:
            super().paintEvent(event)
        finally:
            self._frame = None

    def drawRow(self, painter: QPainter, option: QStyleOptionViewItem,  # noqa: N802
                index: QModelIndex | QPersistentModelIndex) -> None:
        model = self.model()
        frame = self._frame
        if frame is None or not isinstance(model, RunTreeModel):
            super().drawRow(painter, option, index)
            return
        node = model.node(index)
        cells = model.cells(node)
        top, height = option.rect.top(), option.rect.height()
        selected = frame.selection.isSelected(index)
        if selected:
            painter.fillRect(0, top, frame.width, height, frame.highlight)
            text_pen = frame.highlighted_text
        else:
            text_pen = frame.text
        text_top = top + (height - frame.fm.height()) // 2
        margin, lay_out, elide = frame.margin, self._static, frame.elide
        pen = None
        for column, x, width in frame.columns:
            if column >= len(cells):
                continue
            if column == frame.tree_column:
                indent = frame.indent * (model.level(node) + frame.decorated)
                if model.hasChildren(index):
                    self._arrow(painter, frame, x + indent, top, height, index)
                x, width = x + indent, width - indent
            text = cells[column]
            room = width - 2 * margin
            if not text or room <= 0:
                continue
            colour = model.status_colour(text) if column == 2 and not selected else None
            if colour is None:
                colour = text_pen
            if colour is not pen:
                painter.setPen(colour)
                pen = colour
            painter.drawStaticText(x + margin, text_top, lay_out(text, room, elide))
        if selected and frame.focus is not None and frame.current is node:
            frame.focus.rect = QRect(0, top, frame.width, height)
            self.style().drawPrimitive(QStyle.PrimitiveElement.PE_FrameFocusRect, frame.focus, painter, self)

    def changeEvent(self, event: Any) -> None:  # noqa: N802
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._static = _static_texts(self.font())
            model = self.model()
            if isinstance(model, RunTreeModel):
                model.forget_widths()
        super().changeEvent(event)

    def drawBranches(self, painter: QPainter, rect: QRect,  # noqa: N802
                     index: QModelIndex | QPersistentModelIndex) -> None:
        """Only the row's own expand arrow, at the right end of ``rect`` (the indentation)."""
        model = self.model()
        if model is not None and model.hasChildren(index):
            frame = self._frame or _Frame(self)  # (not painting rows: a frame of its own)
            self._arrow(painter, frame, rect.right() + 1, rect.top(), rect.height(), index)

    def _arrow(self, painter: QPainter, frame: _Frame, end: int, top: int, height: int,
               index: QModelIndex | QPersistentModelIndex) -> None:
        """The expand arrow of ``index``'s row, in the last indentation step before ``end``."""
        opt = frame.branch
        opt.rect = QRect(end - frame.indent, top, frame.indent, height)
        opt.state = frame.open if self.isExpanded(index) else frame.closed
        frame.style.drawPrimitive(_PE_BRANCH, opt, painter, self)


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
        # the rows are Qt's items (``RunTreeModel``), editable by default: nothing here is
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
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
        # connected C++ to C++: expanding all of a big tree emits ``expanded`` per node, and a
        # Python slot per emission was a quarter of the time it took
        for sender, signal in ((self.view, "expanded(QModelIndex)"), (self.view, "collapsed(QModelIndex)"),
                               (self.model, "rowsInserted(QModelIndex,int,int)"), (self.model, "modelReset()"),
                               (self.view.verticalScrollBar(), "valueChanged(int)")):
            QObject.connect(sender, SIGNAL(signal), self._fit_timer, SLOT("start()"))
        self.view.viewport().installEventFilter(self)
        # a refresh renews every row's cells: what is on screen is painted again
        QObject.connect(self.model, SIGNAL("cellsChanged()"), self.view.viewport(), SLOT("update()"))

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
            out.append((self.model.level(node), self.model.label_width(node, self.model.cells(node)[0], fm)))
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
        if self._syncing:
            return  # (``show_node`` reveals the label itself, after ``scrollTo`` laid the rows out)
        if current.isValid():
            QTimer.singleShot(0, self, lambda: self.reveal_label(self.view.currentIndex()))
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
