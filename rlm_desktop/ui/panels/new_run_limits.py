"""New Run's run options: the REPL environment, the limits and the log folder, each
remembered for the next New Run. ``engine_fields()`` gives them as ``EngineConfig`` fields."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QLineEdit, QSpinBox, QWidget

from .new_run_options import ENVIRONMENTS, GROUP, LIMIT_FIELDS, default_log_dir


def _limit_spin(parent: QWidget, maximum: int, suffix: str = "") -> QSpinBox:
    s = QSpinBox(parent)
    s.setRange(0, maximum)
    s.setSpecialValueText("no limit")
    s.setSuffix(suffix)
    return s


class RunOptions(QGroupBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Run", parent)
        self.env_combo = QComboBox(self)
        for eid, label in ENVIRONMENTS:
            self.env_combo.addItem(label, eid)
        self.max_iterations = QSpinBox(self)
        self.max_iterations.setRange(1, 10_000)
        self.max_iterations.setValue(30)
        self.max_depth = QSpinBox(self)
        self.max_depth.setRange(1, 10)
        self.max_depth.setValue(2)
        self.max_budget = QDoubleSpinBox(self)
        self.max_budget.setRange(0, 10_000)
        self.max_budget.setDecimals(2)
        self.max_budget.setPrefix("$")
        self.max_budget.setSpecialValueText("no limit")
        self.max_timeout = _limit_spin(self, 86_400, " s")
        self.max_tokens = _limit_spin(self, 1_000_000_000)
        self.max_tokens.setSingleStep(10_000)
        self.max_errors = _limit_spin(self, 1000)
        self.block_timeout = QSpinBox(self)
        self.block_timeout.setRange(1, 86_400)
        self.block_timeout.setValue(120)
        self.block_timeout.setSuffix(" s")
        self.log_dir = QLineEdit(self)
        self.log_dir.setPlaceholderText("No log file")
        self.form = QFormLayout(self)  # more options are added as rows of their own
        self.form.addRow("Environment", self.env_combo)
        self.form.addRow("Max iterations", self.max_iterations)
        self.form.addRow("Max depth", self.max_depth)
        self.form.addRow("Budget", self.max_budget)
        self.form.addRow("Timeout", self.max_timeout)
        self.form.addRow("Max tokens", self.max_tokens)
        self.form.addRow("Max errors in a row", self.max_errors)
        self.form.addRow("Block timeout", self.block_timeout)
        self.form.addRow("Log folder", self.log_dir)

    def environment(self) -> str:
        return str(self.env_combo.currentData())

    def engine_fields(self) -> dict[str, Any]:
        return {
            "max_iterations": self.max_iterations.value(),
            "max_depth": self.max_depth.value(),
            "max_budget": self.max_budget.value() or None,
            "max_timeout": float(self.max_timeout.value()) or None,
            "max_tokens": self.max_tokens.value() or None,
            "max_errors": self.max_errors.value() or None,
            "environment": self.environment(),
            "block_timeout": float(self.block_timeout.value()),
            "log_dir": self.log_dir.text().strip() or None,
        }

    def set_limits(self, max_iterations: int | None, max_depth: int | None) -> None:
        """The limits that shape a recording's prompts (turn counter, depth)."""
        if max_iterations is not None:
            self.max_iterations.setValue(max_iterations)
        if max_depth is not None:
            self.max_depth.setValue(max_depth)

    # -- settings ----------------------------------------------------------------------
    def load(self, s: QSettings) -> None:
        idx = self.env_combo.findData(str(s.value(f"{GROUP}/environment", "sandbox")))
        self.env_combo.setCurrentIndex(max(idx, 0))
        for name in LIMIT_FIELDS:
            spin = getattr(self, name)
            value = s.value(f"{GROUP}/{name}")
            if value is not None:
                try:
                    spin.setValue(type(spin.value())(value))
                except (TypeError, ValueError):
                    pass
        self.log_dir.setText(str(s.value(f"{GROUP}/log_dir", default_log_dir())))

    def save(self, s: QSettings) -> None:
        s.setValue(f"{GROUP}/environment", self.environment())
        for name in LIMIT_FIELDS:
            s.setValue(f"{GROUP}/{name}", getattr(self, name).value())
        s.setValue(f"{GROUP}/log_dir", self.log_dir.text().strip())
