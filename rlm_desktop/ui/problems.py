"""The Problems dock: errors (a file that failed to open, a run that failed, a follow error)
and the bad lines of the open file, each with its line number. Plain text only."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from rlm_desktop.trajectory.reader import sanitize_str

from .plain_tooltip import plain_tooltip


class ProblemsPanel(QWidget):
    changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ProblemsPanel")
        self.list = QListWidget(self)
        self.list.setObjectName("ProblemsList")
        self.list.setUniformItemSizes(True)
        self.list.setWordWrap(False)
        clear = QPushButton("Clear errors", self)
        clear.clicked.connect(self.clear_errors)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addWidget(self.list, 1)
        lay.addWidget(clear, 0, Qt.AlignmentFlag.AlignRight)
        self.errors: list[str] = []
        self.bad_lines: list[Any] = []

    def add_error(self, text: str) -> None:
        text = sanitize_str(text)
        self.errors.append(text)
        item = QListWidgetItem(f"Error: {text}")
        item.setData(Qt.ItemDataRole.UserRole, "error")
        item.setToolTip(plain_tooltip(text))  # the whole message (the row is one line)
        self.list.insertItem(len(self.errors) - 1, item)
        self.changed.emit(self.list.count())

    def set_bad_lines(self, path: str | None, bad_lines: list[Any]) -> None:
        for row in range(self.list.count() - 1, len(self.errors) - 1, -1):
            self.list.takeItem(row)
        self.bad_lines = list(bad_lines)
        name = path or "(live run)"
        for bl in self.bad_lines:
            item = QListWidgetItem(sanitize_str(f"{name}:{bl.line_no}: {bl.message} — {bl.text[:200]}"))
            item.setData(Qt.ItemDataRole.UserRole, bl.line_no)
            item.setToolTip(plain_tooltip(bl.text))  # a raw log line: never rendered as HTML
            self.list.addItem(item)
        self.changed.emit(self.list.count())

    def clear_errors(self) -> None:
        for _ in self.errors:
            self.list.takeItem(0)
        self.errors.clear()
        self.changed.emit(self.list.count())

    def texts(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]
