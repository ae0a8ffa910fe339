"""Dialog to add or edit one breakpoint (or logpoint)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
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


# hit-condition choice -> (label, operator of ``debugger.breakpoints.parse_hit_condition``)
HIT_CHOICES = (
    ("every", "Every hit", ""),
    ("nth", "Only on hit number", "=="),
    ("from", "From hit number … on", ">="),
    ("every_nth", "Every Nth hit", "%"),
)


def split_hit_condition(text: str | None) -> tuple[str, int]:
    """``"%3"`` -> ("every_nth", 3); unknown or empty -> ("every", 1)."""
    from rlm_desktop.debugger.breakpoints import ConditionError, parse_hit_condition

    try:
        parsed = parse_hit_condition(text)
    except ConditionError:
        return "every", 1
    if parsed is None:
        return "every", 1
    op, n = parsed
    if op == ">":
        return "from", n + 1
    return next(c for c, _l, o in HIT_CHOICES if o == op), n


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def hit_text(text: str | None) -> str:
    """How a hit condition reads in the list ("hit 3", "every 2nd hit", ...)."""
    choice, n = split_hit_condition(text)
    if choice == "nth":
        return f"hit {n}"
    if choice == "from":
        return f"from hit {n}"
    if choice == "every_nth":
        return f"every {_ordinal(n)} hit" if n > 1 else "every hit"
    return ""


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
    """Kind + its parameters + optional condition, hit condition, "wait for", one-shot and
    log message. ``others``: (id, description) of the breakpoints this one can wait for."""

    def __init__(
        self,
        parent: QWidget | None = None,
        fields: dict[str, Any] | None = None,
        others: list[tuple[int, str]] | None = None,
    ) -> None:
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
        self.hit_choice = QComboBox(self)
        self.hit_choice.setObjectName("bp.hitChoice")
        for choice, label, _op in HIT_CHOICES:
            self.hit_choice.addItem(label, choice)
        self.hit_n = QSpinBox(self)
        self.hit_n.setObjectName("bp.hitN")
        self.hit_n.setRange(1, 1_000_000)
        self.hit_n.setToolTip("Hits are counted from the start of each run")
        self.wait_for = QComboBox(self)
        self.wait_for.setObjectName("bp.waitFor")
        self.wait_for.addItem("(no: active from the start)", None)
        for bp_id, text in others or ():
            self.wait_for.addItem(text, bp_id)
        self.wait_for.setToolTip("Disabled until the chosen breakpoint has been hit in this run")
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
        hit_row = QHBoxLayout()
        hit_row.addWidget(self.hit_choice, 1)
        hit_row.addWidget(self.hit_n)
        form.addRow("Stop on", hit_row)
        form.addRow("Wait for", self.wait_for)
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
        choice, n = split_hit_condition(fields.get("hit_condition"))
        self.hit_choice.setCurrentIndex(max(0, self.hit_choice.findData(choice)))
        self.hit_n.setValue(n)
        w = self.wait_for.findData(fields.get("wait_for"))
        self.wait_for.setCurrentIndex(max(0, w))
        self.hit_choice.currentIndexChanged.connect(self._update)
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
        op = next(o for c, _l, o in HIT_CHOICES if c == self.hit_choice.currentData())
        out["hit_condition"] = f"{op}{self.hit_n.value()}" if op else None
        out["wait_for"] = self.wait_for.currentData()
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
        self.hit_n.setEnabled(self.hit_choice.currentData() != "every")
