"""Picking the two runs to compare: any opened file, the finished live run, or a file chosen
with Browse…; A and B can be swapped."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QPushButton,
    QWidget,
)

from rlm_desktop.ui.plain_tooltip import plain_tooltip

FILE_FILTER = "RLM trajectories (*.jsonl *.json *.log);;All files (*)"


class ComparePicker(QDialog):
    """``choices``: (label, source) pairs, source a path or a ``Trajectory``. After ``exec``,
    ``sources()`` gives the (A, B) sources and ``titles()`` their labels."""

    def __init__(self, choices: list[tuple[str, Any]], parent: QWidget | None = None,
                 a: int = 0, b: int = 1) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare Runs")
        self.combos = (QComboBox(), QComboBox())
        form = QFormLayout(self)
        for side, combo in enumerate(self.combos):
            combo.setObjectName(f"compare.pick.{'ab'[side]}")
            combo.setMinimumContentsLength(40)
            for label, source in choices:
                combo.addItem(label, source)
                combo.setItemData(combo.count() - 1, plain_tooltip(source if isinstance(source, str) else label),
                                  Qt.ItemDataRole.ToolTipRole)
            browse = QPushButton("Browse…")
            browse.setObjectName(f"compare.browse.{'ab'[side]}")
            browse.clicked.connect(lambda _c=False, c=combo: self.browse(c))
            row = QHBoxLayout()
            row.addWidget(combo, 1)
            row.addWidget(browse)
            form.addRow("A (before):" if side == 0 else "B (after):", row)
        if choices:
            self.combos[0].setCurrentIndex(min(a, len(choices) - 1))
            self.combos[1].setCurrentIndex(min(b, len(choices) - 1))
        swap = QPushButton("Swap A and B")
        swap.setObjectName("compare.swap")
        swap.clicked.connect(self.swap)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Compare")
        self.buttons.addButton(swap, QDialogButtonBox.ButtonRole.ActionRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form.addRow(self.buttons)
        self._update()
        for c in self.combos:
            c.currentIndexChanged.connect(lambda _i: self._update())

    def add_path(self, combo: QComboBox, path: str) -> None:
        for c in self.combos:
            if c.findData(path) < 0:
                c.addItem(os.path.basename(path), path)
                c.setItemData(c.count() - 1, plain_tooltip(path), Qt.ItemDataRole.ToolTipRole)
        combo.setCurrentIndex(combo.findData(path))

    def browse(self, combo: QComboBox) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose a trajectory", "", FILE_FILTER)
        if path:
            self.add_path(combo, path)

    def swap(self) -> None:
        a, b = self.combos[0].currentIndex(), self.combos[1].currentIndex()
        self.combos[0].setCurrentIndex(b)
        self.combos[1].setCurrentIndex(a)

    def _update(self) -> None:
        ok = all(c.currentIndex() >= 0 for c in self.combos)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def sources(self) -> tuple[Any, Any]:
        return self.combos[0].currentData(), self.combos[1].currentData()

    def titles(self) -> tuple[str, str]:
        return self.combos[0].currentText(), self.combos[1].currentText()
