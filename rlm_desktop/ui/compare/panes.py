"""Side-by-side text diffs of one aligned node: Code, Output, Messages, Locals, Answer.

Each tab holds two read-only plain-text editors (A left, B right) scrolled together;
lines that differ are tinted (removed/replaced in A, added/replaced in B) using a line
diff (``difflib``). Log text is only ever set with ``setPlainText``.
"""

from __future__ import annotations

import difflib
from typing import Any

from PySide6.QtGui import QColor, QFont, QTextCursor, QTextFormat
from PySide6.QtWidgets import QHBoxLayout, QPlainTextEdit, QTabWidget, QTextEdit, QWidget

from rlm_desktop.trajectory.diff import DiffNode
from rlm_desktop.trajectory.diff.fields import same_text
from rlm_desktop.trajectory.diff.texts import TABS, side_texts

TAB_TITLES = {"code": "Code", "output": "Output", "messages": "Messages", "locals": "Locals", "answer": "Answer"}
#: which tab shows a changed field
FIELD_TAB = {"code": "code", "stdout": "output", "stderr": "output", "prompt": "messages", "response": "messages",
             "locals": "locals", "final_answer": "answer", "error": "answer", "status": "answer", "model": "messages",
             "tokens": "messages"}
OLD = QColor(230, 90, 90, 70)
NEW = QColor(90, 200, 120, 70)
MAX_DIFF_LINES = 20_000


def changed_lines(a: str, b: str) -> tuple[list[int], list[int]]:
    """0-based line numbers that differ: in A (removed or replaced), in B (added or replaced)."""
    la, lb = a.splitlines(), b.splitlines()
    if len(la) > MAX_DIFF_LINES or len(lb) > MAX_DIFF_LINES:
        la, lb = la[:MAX_DIFF_LINES], lb[:MAX_DIFF_LINES]
    old, new = [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, la, lb, autojunk=False).get_opcodes():
        if tag != "equal":
            old.extend(range(i1, i2))
            new.extend(range(j1, j2))
    return old, new


class SideBySide(QWidget):
    def __init__(self, name: str, parent: Any = None) -> None:
        super().__init__(parent)
        self.edits = (QPlainTextEdit(), QPlainTextEdit())
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        for side, e in enumerate(self.edits):
            e.setObjectName(f"compare.{name}.{'ab'[side]}")
            e.setReadOnly(True)
            e.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
            e.setFont(mono)
            lay.addWidget(e)
        a, b = self.edits
        a.verticalScrollBar().valueChanged.connect(b.verticalScrollBar().setValue)
        b.verticalScrollBar().valueChanged.connect(a.verticalScrollBar().setValue)
        self.changed = ([], [])

    def set_texts(self, a: str, b: str, a_missing: bool = False, b_missing: bool = False) -> None:
        self.edits[0].setPlainText("(not in A)" if a_missing else a)
        self.edits[1].setPlainText("(not in B)" if b_missing else b)
        self.changed = changed_lines(a, b) if not (a_missing or b_missing) else ([], [])
        for e, lines, colour in ((self.edits[0], self.changed[0], OLD), (self.edits[1], self.changed[1], NEW)):
            e.setExtraSelections([self._mark(e, n, colour) for n in lines[:5000]])
        for e, lines in zip(self.edits, self.changed, strict=True):
            if lines:  # show the first difference
                block = e.document().findBlockByNumber(lines[0])
                cur = QTextCursor(block)
                e.setTextCursor(cur)
                e.centerCursor()

    @staticmethod
    def _mark(edit: QPlainTextEdit, line: int, colour: QColor) -> QTextEdit.ExtraSelection:
        sel = QTextEdit.ExtraSelection()
        sel.cursor = QTextCursor(edit.document().findBlockByNumber(line))
        sel.format.setBackground(colour)
        sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        return sel


class DiffPanes(QTabWidget):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("compare.panes")
        self.panes = {name: SideBySide(name) for name in TABS}
        for name in TABS:
            self.addTab(self.panes[name], TAB_TITLES[name])

    def show_node(self, n: DiffNode | None) -> None:
        ta = side_texts(n.a if n is not None else None)
        tb = side_texts(n.b if n is not None else None)
        for name, pane in self.panes.items():
            pane.set_texts(ta[name], tb[name], n is not None and n.a is None, n is not None and n.b is None)
            marked = n is not None and (n.a is None or n.b is None or not same_text(ta[name], tb[name]))
            self.setTabText(TABS.index(name), TAB_TITLES[name] + (" ≠" if marked else ""))
        if n is not None and n.changes:
            self.setCurrentIndex(TABS.index(FIELD_TAB.get(n.changes[0].field, "messages")))
