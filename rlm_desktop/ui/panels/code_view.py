"""Code panel: the REPL code of a block (or of all blocks of an iteration, with a selector).

Read-only editor with Python highlighting, a line-number gutter with a
breakpoint-marker column (clicking it emits ``gutterClicked``), the cursor
line highlighted, and the "current" block (the one the debugger is paused at,
or a live block still running) tinted like an execution point.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QTextCursor, QTextFormat
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPlainTextEdit,
    QStackedWidget,
    QTabBar,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, SubCall

from .common import fmt_seconds, is_dark, monospace_font, node_iteration, plain, plain_label
from .highlighter import PythonHighlighter

MARKER_WIDTH = 16


class _Gutter(QWidget):
    """Marker column + line numbers, painted for the visible blocks only."""

    def __init__(self, editor: CodeEditor) -> None:
        super().__init__(editor)
        self.editor = editor
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Click to toggle a breakpoint marker")

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(self.editor.gutter_width(), 0)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        self.editor.paint_gutter(self, event)

    def mousePressEvent(self, event: Any) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            line = self.editor.line_at_y(int(event.position().y()))
            if line is not None:
                self.editor.gutterClicked.emit(line)
        super().mousePressEvent(event)


class CodeEditor(QPlainTextEdit):
    """Read-only Python editor with a gutter. Lines are 1-based in the API."""

    gutterClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setUndoRedoEnabled(False)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(monospace_font())
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self._markers: set[int] = set()
        self._current = False
        self._highlight_lines: set[int] = set()
        self.highlighter = PythonHighlighter(self.document(), dark=is_dark(self))
        self.gutter = _Gutter(self)
        self.blockCountChanged.connect(self._update_margins)
        self.updateRequest.connect(self._on_update_request)
        self.cursorPositionChanged.connect(self._update_extra_selections)
        self._update_margins()
        self._update_extra_selections()

    # -- API ----------------------------------------------------------------------

    def set_code(self, code: str) -> None:
        if code == self.toPlainText():
            return
        self.setPlainText(plain(code))
        self.moveCursor(QTextCursor.MoveOperation.Start)

    def set_markers(self, lines: Iterable[int]) -> None:
        self._markers = {int(n) for n in lines}
        self.gutter.update()

    def markers(self) -> set[int]:
        return set(self._markers)

    def set_current(self, current: bool) -> None:
        """Tint the whole block as the current execution point."""
        if current != self._current:
            self._current = current
            self._update_extra_selections()

    def is_current(self) -> bool:
        return self._current

    def set_highlight_lines(self, lines: Iterable[int]) -> None:
        """Mark lines of interest (e.g. the lines making sub-calls)."""
        self._highlight_lines = {int(n) for n in lines}
        self._update_extra_selections()

    def set_dark(self, dark: bool) -> None:
        if dark != self.highlighter.dark:
            self.highlighter.set_dark(dark)
            self._update_extra_selections()

    # -- gutter -------------------------------------------------------------------

    def gutter_width(self) -> int:
        digits = len(str(max(1, self.blockCount())))
        return MARKER_WIDTH + 8 + self.fontMetrics().horizontalAdvance("9") * max(2, digits)

    def line_at_y(self, y: int) -> int | None:
        block = self.firstVisibleBlock()
        top = int(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        while block.isValid():
            bottom = top + int(self.blockBoundingRect(block).height())
            if top <= y < bottom:
                return block.blockNumber() + 1
            top = bottom
            block = block.next()
        return None

    def paint_gutter(self, gutter: QWidget, event: QPaintEvent) -> None:
        dark = is_dark(self)
        painter = QPainter(gutter)
        pal = self.palette()
        painter.fillRect(event.rect(), pal.color(pal.ColorRole.AlternateBase))
        muted = QColor("#8a8a8a")
        marker = QColor("#e53935")
        current_line = self.textCursor().blockNumber()
        block = self.firstVisibleBlock()
        top = int(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        fh = self.fontMetrics().height()
        width = gutter.width()
        while block.isValid() and top <= event.rect().bottom():
            height = int(self.blockBoundingRect(block).height())
            if block.isVisible() and top + height >= event.rect().top():
                number = block.blockNumber() + 1
                if number in self._markers:
                    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
                    painter.setBrush(marker)
                    painter.setPen(Qt.PenStyle.NoPen)
                    d = min(MARKER_WIDTH - 4, fh - 4)
                    painter.drawEllipse(QRect(3, top + (fh - d) // 2, d, d))
                painter.setPen(pal.color(pal.ColorRole.Text) if block.blockNumber() == current_line else muted)
                painter.drawText(
                    QRect(MARKER_WIDTH, top, width - MARKER_WIDTH - 4, fh),
                    int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                    str(number),
                )
            top += height
            block = block.next()
        if dark:
            painter.setPen(QColor("#3a3a3a"))
        else:
            painter.setPen(QColor("#d0d0d0"))
        painter.drawLine(width - 1, event.rect().top(), width - 1, event.rect().bottom())
        painter.end()

    def _update_margins(self, *_: Any) -> None:
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _on_update_request(self, rect: QRect, dy: int) -> None:
        if dy:
            self.gutter.scroll(0, dy)
        else:
            self.gutter.update(0, rect.y(), self.gutter.width(), rect.height())
        if rect.contains(self.viewport().rect()):
            self._update_margins()

    def resizeEvent(self, event: Any) -> None:  # noqa: N802
        super().resizeEvent(event)
        cr = self.contentsRect()
        self.gutter.setGeometry(QRect(cr.left(), cr.top(), self.gutter_width(), cr.height()))

    def _update_extra_selections(self) -> None:
        dark = is_dark(self)
        sels: list[QTextEdit.ExtraSelection] = []
        if self._current:
            sel = QTextEdit.ExtraSelection()
            sel.format.setBackground(QColor("#3d3a1e" if dark else "#fff8d6"))
            sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            cur = QTextCursor(self.document())
            cur.select(QTextCursor.SelectionType.Document)
            sel.cursor = cur
            sels.append(sel)
        for line in sorted(self._highlight_lines):
            block = self.document().findBlockByNumber(line - 1)
            if not block.isValid():
                continue
            sel = QTextEdit.ExtraSelection()
            sel.format.setBackground(QColor("#3b2f1a" if dark else "#fff0dc"))
            sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            sel.cursor = QTextCursor(block)
            sels.append(sel)
        line_sel = QTextEdit.ExtraSelection()
        line_sel.format.setBackground(QColor("#2a2d34" if dark else "#eef3fb"))
        line_sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        line_sel.cursor = self.textCursor()
        line_sel.cursor.clearSelection()
        sels.append(line_sel)
        self.setExtraSelections(sels)
        self.gutter.update()


def _sub_call_lines(code: str) -> list[int]:
    return [
        i + 1
        for i, line in enumerate(code.split("\n"))
        if "llm_query" in line or "rlm_query" in line
    ]


class CodeView(QWidget):
    """Dock panel: code of the selected block, or of every block of an iteration.

    Signals:
      * ``gutterClicked(block, line)``: the user clicked the marker gutter at a
        1-based line of ``block`` (a ``CodeBlock``); the debugger decides what
        a line marker means, then calls ``set_markers(block, lines)``.
      * ``blockActivated(block)``: the user picked another block in the selector.
    """

    gutterClicked = Signal(object, int)
    blockActivated = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._iteration: Iteration | None = None
        self._blocks: list[CodeBlock] = []
        self._block: CodeBlock | None = None
        self._node: Any = None
        self._current: CodeBlock | None = None
        self._markers: dict[str, set[int]] = {}
        self._updating = False

        self.header = plain_label("", self)
        self.header.setContentsMargins(4, 2, 4, 2)
        self.tabs = QTabBar(self)
        self.tabs.setDocumentMode(True)
        self.tabs.setExpanding(False)
        self.tabs.setUsesScrollButtons(True)
        self.tabs.currentChanged.connect(self._on_tab)
        self.editor = CodeEditor(self)
        self.editor.gutterClicked.connect(self._on_gutter)
        self.placeholder = plain_label("Select an iteration or a code block to see its code.", self, wrap=True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setEnabled(False)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.editor)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.tabs, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.header)
        lay.addLayout(top)
        lay.addWidget(self.stack, 1)
        self.show_node(None)

    # -- API ----------------------------------------------------------------------

    def show_node(self, node: Run | Iteration | CodeBlock | SubCall | None) -> None:
        self._node = node
        it = node_iteration(node)
        block: CodeBlock | None = None
        if isinstance(node, CodeBlock):
            block = node
        elif isinstance(node, SubCall):
            block = node.parent
        self._iteration = it
        self._block = block
        self._rebuild(reset=True)

    def refresh(self) -> None:
        """The shown iteration may have new blocks (live run): update, keep scroll and selection."""
        self._rebuild(reset=False)

    def current_block(self) -> CodeBlock | None:
        """The block shown in the editor."""
        return self._block

    def set_current_block(self, block: CodeBlock | None) -> None:
        """Mark the block the debugger is paused at (tinted, and marked in the selector)."""
        self._current = block
        self._update_tabs()
        self._apply_current()

    def set_markers(self, block: CodeBlock, lines: Iterable[int]) -> None:
        self._markers[block.path] = set(lines)
        if block is self._block:
            self.editor.set_markers(self._markers[block.path])

    def markers(self, block: CodeBlock) -> set[int]:
        return set(self._markers.get(block.path, ()))

    # -- internals ----------------------------------------------------------------

    def _rebuild(self, reset: bool) -> None:
        it = self._iteration
        self._blocks = list(it.code_blocks) if it is not None else []
        if self._block is None and self._blocks:
            self._block = self._blocks[0]
        if self._block is not None and self._block not in self._blocks:
            self._blocks = [self._block]
        self._update_tabs()
        self._update_header()
        if self._block is None:
            if it is not None and not it.code_blocks:
                msg = "This iteration ran no code blocks." if not it.running else "Waiting for code…"
            else:
                msg = "Select an iteration or a code block to see its code."
            self.placeholder.setText(msg)
            self.stack.setCurrentWidget(self.placeholder)
            return
        self.stack.setCurrentWidget(self.editor)
        vbar = self.editor.verticalScrollBar()
        old = vbar.value()
        self.editor.set_dark(is_dark(self))
        self.editor.set_code(self._block.code)
        self.editor.set_markers(self._markers.get(self._block.path, ()))
        self.editor.set_highlight_lines(_sub_call_lines(self._block.code) if isinstance(self._node, SubCall) else ())
        self._apply_current()
        if not reset:
            vbar.setValue(min(old, vbar.maximum()))

    def _is_current(self, block: CodeBlock) -> bool:
        return block is self._current or (self._current is None and block.running)

    def _apply_current(self) -> None:
        self.editor.set_current(self._block is not None and self._is_current(self._block))

    def _update_tabs(self) -> None:
        self._updating = True
        try:
            while self.tabs.count() > len(self._blocks):
                self.tabs.removeTab(self.tabs.count() - 1)
            for i, b in enumerate(self._blocks):
                label = f"Block {b.index + 1}"
                if b.running or self._is_current(b):
                    label += " ▶"
                elif b.final_answer is not None:
                    label += " ✓"
                elif b.stderr:
                    label += " ⚠"
                tip = f"{len(b.code.splitlines())} lines · {fmt_seconds(b.execution_time)}"
                if b.sub_calls:
                    tip += f" · {len(b.sub_calls)} sub-call(s)"
                if b.stderr:
                    tip += " · wrote to stderr"
                if i >= self.tabs.count():
                    self.tabs.addTab(label)
                else:
                    self.tabs.setTabText(i, label)
                self.tabs.setTabToolTip(i, tip)
                if b.stderr:
                    self.tabs.setTabTextColor(i, QColor("#e53935"))
                else:
                    self.tabs.setTabTextColor(i, self.palette().color(self.palette().ColorRole.WindowText))
            if self._block is not None and self._block in self._blocks:
                self.tabs.setCurrentIndex(self._blocks.index(self._block))
            self.tabs.setVisible(len(self._blocks) > 1)
        finally:
            self._updating = False

    def _update_header(self) -> None:
        it = self._iteration
        if it is None:
            self.header.setText("")
            self.header.hide()
            return
        run = it.parent
        depth = f" · depth {run.depth}" if run is not None and run.depth else ""
        n = len(it.code_blocks)
        text = f"Iteration {it.number}{depth} · {n} code block{'s' if n != 1 else ''}"
        if self._block is not None:
            text += f" · block {self._block.index + 1}: {fmt_seconds(self._block.execution_time)}"
        self.header.setText(text)
        self.header.show()

    def _on_tab(self, index: int) -> None:
        if self._updating or not (0 <= index < len(self._blocks)):
            return
        self._block = self._blocks[index]
        self._rebuild(reset=True)
        self.blockActivated.emit(self._block)

    def _on_gutter(self, line: int) -> None:
        if self._block is not None:
            self.gutterClicked.emit(self._block, line)
