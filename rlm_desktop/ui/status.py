"""Status bar: run state, selected node, tokens, cost, and a bad-line counter (click → list)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QStatusBar, QToolButton, QWidget


class StatusBar(QStatusBar):
    bad_lines_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state_label = QLabel("Ready")
        self.state_label.setObjectName("status.state")
        self.node_label = QLabel("")
        self.tokens_label = QLabel("")
        self.tokens_label.setObjectName("status.tokens")
        self.cost_label = QLabel("")
        self.cost_label.setObjectName("status.cost")
        self.bad_button = QToolButton()
        self.bad_button.setObjectName("status.badLines")
        self.bad_button.setAutoRaise(True)
        self.bad_button.setToolTip("Lines of the file that could not be read — click for the list")
        self.bad_button.clicked.connect(self.bad_lines_clicked)
        self.bad_button.hide()
        for label in (self.state_label, self.node_label, self.tokens_label, self.cost_label):
            label.setTextFormat(Qt.TextFormat.PlainText)  # a pause reason or an answer is log text
        for w in (self.node_label, self.tokens_label, self.cost_label, self.bad_button, self.state_label):
            self.addPermanentWidget(w)

    def set_state(self, text: str) -> None:
        self.state_label.setText(text)

    def set_node(self, path: str) -> None:
        self.node_label.setText(path)

    def set_totals(self, tokens: int, cost: float | None) -> None:
        self.tokens_label.setText(f"{tokens:,} tokens" if tokens else "")
        self.cost_label.setText(f"${cost:.4f}" if cost is not None else "")

    def set_bad_lines(self, n: int) -> None:
        self.bad_button.setText(f"⚠ {n} bad line{'s' if n != 1 else ''}")
        self.bad_button.setVisible(n > 0)
