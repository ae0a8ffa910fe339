"""Read-only Python editor with a line-number + breakpoint-marker gutter.

Clicking the gutter emits ``gutterClicked(line)`` (1-based); ``set_markers``
paints marker dots; the cursor line is highlighted; ``set_current(True)`` tints
the whole text as the current execution point.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QTextCursor, QTextFormat
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QWidget

from rlm_desktop.ui.invisible import reveal_text

from .common import is_dark, monospace_font, plain
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
        """Show ``code`` (already cut to what is shown) with its invisible characters as
        ``⟨U+XXXX⟩`` markers: the editor never shows other code than what ran."""
        shown = reveal_text(plain(code))
        if shown == self.toPlainText():
            return
        self.setPlainText(shown)
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

    def changeEvent(self, event: Any) -> None:  # noqa: N802
        if event.type() == event.Type.PaletteChange and hasattr(self, "highlighter"):
            self.set_dark(is_dark(self))
            self._update_extra_selections()
        super().changeEvent(event)

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
