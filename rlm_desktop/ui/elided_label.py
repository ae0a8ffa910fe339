"""``ElidedLabel``: a plain-text label that asks for its text's width but can shrink below
it, eliding each line ("…") with the whole text in the tooltip.

A QLabel's minimum width is its text's width, so a long header (a node's name, a pause
reason, an answer in the status bar) widens its dock, or runs into the widgets beside it,
and a dock's width jumps when a tab with a longer header is raised. This label keeps the
layout where it is. ``text()`` is the whole text; ``shown_text()`` what is painted.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QWidget

from .plain_tooltip import plain_tooltip

MAX_HINT = 2000  # px: a very long text does not ask for a screen's width


class ElidedLabel(QLabel):
    def __init__(self, text: str = "", parent: QWidget | None = None, *, minimum: int = 40) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self._full = ""
        self._tip: str | None = None
        self._minimum = minimum
        self.set_full_text(text)

    def set_full_text(self, text: str, tip: str | None = None) -> None:
        self._full = text or ""
        self._tip = tip
        self.updateGeometry()
        self._elide()

    def full_text(self) -> str:
        return self._full

    def text(self) -> str:  # the whole text (what is painted may be elided)
        return self._full

    def shown_text(self) -> str:
        return super().text()

    def setText(self, text: str) -> None:  # noqa: N802
        self.set_full_text(text)

    def sizeHint(self) -> QSize:  # noqa: N802
        fm = self.fontMetrics()
        lines = self._full.split("\n")
        width = max((fm.horizontalAdvance(ln) for ln in lines), default=0)
        m = self.contentsMargins()
        return QSize(min(width + 6, MAX_HINT) + m.left() + m.right(),
                     fm.lineSpacing() * len(lines) + 2 + m.top() + m.bottom())

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        hint = self.sizeHint()
        return QSize(min(self._minimum, hint.width()), hint.height())

    def resizeEvent(self, event: Any) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        m = self.contentsMargins()
        w = max(self.width() - m.left() - m.right() - 4, 0)
        fm = self.fontMetrics()
        shown = "\n".join(fm.elidedText(ln, Qt.TextElideMode.ElideRight, w) for ln in self._full.split("\n"))
        super().setText(shown)
        tip = self._tip if self._tip is not None else (self._full if shown != self._full else "")
        self.setToolTip(plain_tooltip(tip) if tip else "")
