"""Dialog to add or edit one breakpoint (or logpoint)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from rlm_desktop.debugger.breakpoints import ConditionError, compile_expression

from .common import is_dark, plain_label, role_color

# kind -> (label, fields the kind uses)
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "iteration": ("Iteration N (at a depth or any)", ("iteration", "depth")),
    "depth": ("Entering recursion depth D or deeper", ("depth",)),
    "subcall": ("Sub-call start", ("depth",)),
    "stderr": ("Code block wrote to stderr", ("depth",)),
    "final": ("Final answer", ("depth",)),
    "text": ("Text or regex in a response or code", ("pattern", "regex", "depth")),
    "condition": ("Python condition over the event", ()),
}


def describe(fields: dict[str, Any]) -> str:
    """One line saying where a breakpoint stops (plain text)."""
    kind = fields.get("kind", "")
    depth = fields.get("depth")
    at = f" at depth {depth}" if depth is not None and kind != "depth" else ""
    if kind == "iteration":
        return f"iteration {fields.get('iteration')}{at or ' at any depth'}"
    if kind == "depth":
        return f"depth ≥ {depth}"
    if kind == "subcall":
        return f"sub-call start{at}"
    if kind == "stderr":
        return f"block with stderr{at}"
    if kind == "final":
        return f"final answer{at}"
    if kind == "text":
        what = "regex" if fields.get("regex") else "text"
        return f"{what} {fields.get('pattern')!r} in response/code{at}"
    if kind == "condition":
        return f"when {fields.get('condition')}"
    return kind


class BreakpointEditor(QDialog):
    """Kind + its parameters + optional condition, one-shot and log message."""

    def __init__(self, parent: QWidget | None = None, fields: dict[str, Any] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Breakpoint")
        fields = dict(fields or {})
        self.kind = QComboBox(self)
        for kind, (label, _f) in KINDS.items():
            self.kind.addItem(label, kind)
        self.iteration = QSpinBox(self)
        self.iteration.setRange(1, 1_000_000)
        self.any_depth = QCheckBox("any depth", self)
        self.depth_spin = QSpinBox(self)
        self.depth_spin.setRange(0, 100)
        self.pattern = QLineEdit(self)
        self.regex = QCheckBox("regular expression", self)
        self.condition = QLineEdit(self)
        self.condition.setPlaceholderText("optional, e.g. depth >= 2 and iteration > 3")
        self.one_shot = QCheckBox("Disable after the first hit (one-shot)", self)
        self.log_message = QLineEdit(self)
        self.log_message.setPlaceholderText("set to make a logpoint: record this message, do not stop")
        self.log_message.setToolTip("{expression} is replaced by its value, e.g. \"turn {iteration}, block {block}\". "
                                    "iteration, block and call count from 1 (block_index and call_index from 0)")
        self.error = plain_label("", self, wrap=True)
        self.error.setStyleSheet(f"color: {role_color('error', is_dark(self)).name()};")

        form = QFormLayout()
        form.addRow("Stop on", self.kind)
        form.addRow("Iteration", self.iteration)
        form.addRow("Depth", self.depth_spin)
        form.addRow("", self.any_depth)
        form.addRow("Text", self.pattern)
        form.addRow("", self.regex)
        form.addRow("Condition", self.condition)
        form.addRow("", self.one_shot)
        form.addRow("Log message", self.log_message)
        self.form = form
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(buttons)

        idx = self.kind.findData(fields.get("kind", "iteration"))
        self.kind.setCurrentIndex(max(idx, 0))
        self.iteration.setValue(int(fields.get("iteration") or 1))
        depth = fields.get("depth")
        self.any_depth.setChecked(depth is None)
        self.depth_spin.setValue(int(depth or 0))
        self.pattern.setText(str(fields.get("pattern") or ""))
        self.regex.setChecked(bool(fields.get("regex")))
        self.condition.setText(str(fields.get("condition") or ""))
        self.one_shot.setChecked(bool(fields.get("one_shot")))
        self.log_message.setText(str(fields.get("log_message") or ""))
        self.kind.currentIndexChanged.connect(self._update)
        self.any_depth.toggled.connect(self._update)
        self._update()

    def fields(self) -> dict[str, Any]:
        kind = str(self.kind.currentData())
        uses = KINDS[kind][1]
        out: dict[str, Any] = {"kind": kind}
        if "iteration" in uses:
            out["iteration"] = self.iteration.value()
        if "depth" in uses or kind == "depth":
            out["depth"] = None if (self.any_depth.isChecked() and kind != "depth") else self.depth_spin.value()
        if "pattern" in uses:
            out["pattern"] = self.pattern.text()
            out["regex"] = self.regex.isChecked()
        out["condition"] = self.condition.text().strip() or None
        out["one_shot"] = self.one_shot.isChecked()
        out["log_message"] = self.log_message.text() or None
        return out

    def validation_error(self) -> str | None:
        f = self.fields()
        if f["kind"] == "text" and not f.get("pattern"):
            return "Enter the text or regex to look for."
        if f["kind"] == "condition" and not f.get("condition"):
            return "Enter a Python condition."
        if f.get("condition"):
            try:
                compile_expression(f["condition"])  # the debugger's own rules
            except ConditionError as exc:
                return f"The condition cannot be used: {exc}"
        if f["kind"] == "text" and f.get("regex"):
            import re

            try:
                re.compile(f["pattern"])
            except re.error as exc:
                return f"Not a valid regular expression: {exc}"
        return None

    def accept(self) -> None:
        err = self.validation_error()
        if err:
            self.error.setText(err)
            return
        super().accept()

    def _update(self, *_: Any) -> None:
        kind = str(self.kind.currentData())
        uses = KINDS[kind][1]
        for widget, used in (
            (self.iteration, "iteration" in uses),
            (self.depth_spin, "depth" in uses),
            (self.any_depth, "depth" in uses and kind != "depth"),
            (self.pattern, "pattern" in uses),
            (self.regex, "pattern" in uses),
        ):
            widget.setVisible(used)
            label = self.form.labelForField(widget)
            if label is not None:
                label.setVisible(used)
        self.depth_spin.setEnabled(kind == "depth" or not self.any_depth.isChecked())
