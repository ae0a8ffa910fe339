"""Edit-and-continue: a dialog to change the model's response before its code runs."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QPlainTextEdit, QVBoxLayout, QWidget

from .common import monospace_font, plain, plain_label
from .highlighter import PythonHighlighter


class ResponseEditDialog(QDialog):
    """The response text, editable (```repl blocks are what will run)."""

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Edit the response before it runs")
        self.original = plain(text)
        self.note = plain_label(
            "The edited text is what runs and what is logged (marked as edited). "
            "Code runs from ```repl fenced blocks.",
            self,
            wrap=True,
        )
        self.edit = QPlainTextEdit(self)
        self.edit.setFont(monospace_font())
        self.edit.setPlainText(self.original)
        self.highlighter = PythonHighlighter(self.edit.document())
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok
            | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.Reset,
            self,
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        buttons.button(QDialogButtonBox.StandardButton.Reset).clicked.connect(
            lambda: self.edit.setPlainText(self.original)
        )
        lay = QVBoxLayout(self)
        lay.addWidget(self.note)
        lay.addWidget(self.edit, 1)
        lay.addWidget(buttons)
        self.resize(760, 520)

    def text(self) -> str:
        return self.edit.toPlainText()
