"""New Run's inputs: the prompt and the context (typed text or a file), and what of them
is remembered for the next New Run (the prompt, the context text up to
``REMEMBER_CONTEXT_CHARS``, the context file's path)."""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QWidget,
)

from .new_run_options import GROUP

#: Longer typed contexts are not put into the settings file (use a context file for those).
REMEMBER_CONTEXT_CHARS = 1_000_000


class RunInputs(QGroupBox):
    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Input", parent)
        self.prompt_edit = QPlainTextEdit(self)
        self.prompt_edit.setPlaceholderText("The question to answer (the root prompt)")
        self.prompt_edit.setMaximumHeight(70)
        self.context_text = QRadioButton("Text", self)
        self.context_file = QRadioButton("File", self)
        self.context_text.setChecked(True)
        self.context_edit = QPlainTextEdit(self)
        self.context_edit.setPlaceholderText("The context the REPL gets as `context` (any size)")
        self.context_path = QLineEdit(self)
        self.context_path.setPlaceholderText("Path of a text file")
        self.context_browse = QPushButton("Browse…", self)
        self.context_browse.clicked.connect(self._browse)
        mode = QHBoxLayout()
        mode.addWidget(self.context_text)
        mode.addWidget(self.context_file)
        mode.addWidget(self.context_path, 1)
        mode.addWidget(self.context_browse)
        form = QFormLayout(self)
        form.addRow("Prompt", self.prompt_edit)
        form.addRow("Context", mode)
        form.addRow("", self.context_edit)
        self.context_text.toggled.connect(self._update)
        self.context_path.textChanged.connect(self._update)

    # -- values ----------------------------------------------------------------------
    def prompt(self) -> str:
        return self.prompt_edit.toPlainText()

    def context(self) -> str:
        """The context text (a file is read now, as UTF-8 with replacement)."""
        if self.context_file.isChecked():
            path = self.context_path.text().strip()
            with open(os.path.expanduser(path), encoding="utf-8", errors="replace") as fh:
                return fh.read()
        return self.context_edit.toPlainText()

    def is_empty(self) -> bool:
        return not self.prompt().strip() and not self.context_edit.toPlainText()

    def set_inputs(self, prompt: str | None, context: str | None) -> None:
        if prompt is not None:
            self.prompt_edit.setPlainText(prompt)
        if context is not None:
            self.context_text.setChecked(True)
            self.context_edit.setPlainText(context)

    def validation_error(self) -> str | None:
        if self.context_file.isChecked():
            path = self.context_path.text().strip()
            if not path or not os.path.isfile(os.path.expanduser(path)):
                return "Choose an existing context file."
        return None

    # -- settings ----------------------------------------------------------------------
    def load(self, s: QSettings) -> None:
        self.prompt_edit.setPlainText(str(s.value(f"{GROUP}/prompt", "")))
        self.context_edit.setPlainText(str(s.value(f"{GROUP}/context_text", "")))
        if s.value(f"{GROUP}/context_mode", "text") == "file":
            self.context_file.setChecked(True)
        self.context_path.setText(str(s.value(f"{GROUP}/context_path", "")))
        self._update()

    def save(self, s: QSettings) -> None:
        s.setValue(f"{GROUP}/prompt", self.prompt())
        text = self.context_edit.toPlainText()
        s.setValue(f"{GROUP}/context_text", text if len(text) <= REMEMBER_CONTEXT_CHARS else "")
        s.setValue(f"{GROUP}/context_mode", "file" if self.context_file.isChecked() else "text")
        s.setValue(f"{GROUP}/context_path", self.context_path.text().strip())

    # -- behaviour ----------------------------------------------------------------------
    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Context file")
        if path:
            self.context_path.setText(path)
            self.context_file.setChecked(True)

    def _update(self, *_: object) -> None:
        self.context_edit.setEnabled(self.context_text.isChecked())
        self.context_path.setEnabled(self.context_file.isChecked())
        self.changed.emit()
