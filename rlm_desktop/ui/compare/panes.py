"""Side-by-side text diffs of one aligned node: Code, Output, Messages, Locals, Answer.

Each tab holds two read-only plain-text editors (A left, B right), each opened at its first
differing line;
lines that differ are tinted (removed/replaced in A, added/replaced in B) using a line
diff (``difflib``). Log text is only ever set with ``setPlainText``.
"""

from __future__ import annotations

import difflib
from typing import Any

from PySide6.QtCore import QTimer
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
MAX_MARKS = 1_000  # tinted line ranges per side


#: a changed middle longer than this (lines, either side) is marked whole instead of line-diffed
MAX_MATCH_LINES = 2_000


def changed_lines(a: str, b: str) -> tuple[list[int], list[int]]:
    """0-based line numbers that differ: in A (removed or replaced), in B (added or replaced).

    The common first and last lines are skipped at C speed; only the middle is line-diffed
    (``difflib``), and a middle of more than ``MAX_MATCH_LINES`` lines is marked as a whole,
    so a huge prompt never stalls the window."""
    la, lb = a.splitlines()[:MAX_DIFF_LINES], b.splitlines()[:MAX_DIFF_LINES]
    pre = 0
    n = min(len(la), len(lb))
    while pre < n and la[pre] == lb[pre]:
        pre += 1
    suf = 0
    while suf < n - pre and la[len(la) - 1 - suf] == lb[len(lb) - 1 - suf]:
        suf += 1
    ma, mb = la[pre:len(la) - suf], lb[pre:len(lb) - suf]
    if len(ma) > MAX_MATCH_LINES or len(mb) > MAX_MATCH_LINES:
        return list(range(pre, pre + len(ma))), list(range(pre, pre + len(mb)))
    old: list[int] = []
    new: list[int] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ma, mb).get_opcodes():
        if tag != "equal":
            old.extend(range(pre + i1, pre + i2))
            new.extend(range(pre + j1, pre + j2))
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
            e.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)  # long lines lay out 10x faster
            e.setFont(mono)
            lay.addWidget(e)
        self.changed: tuple[list[int], list[int]] = ([], [])

    def set_texts(self, a: str, b: str, a_missing: bool = False, b_missing: bool = False) -> None:
        self.edits[0].setPlainText("(not in A)" if a_missing else a)
        self.edits[1].setPlainText("(not in B)" if b_missing else b)
        self.changed = changed_lines(a, b) if not (a_missing or b_missing) else ([], [])
        for e, lines, colour in ((self.edits[0], self.changed[0], OLD), (self.edits[1], self.changed[1], NEW)):
            e.setExtraSelections([self._mark(e, first, last, colour) for first, last in _runs(lines)[:MAX_MARKS]])
        for e, lines in zip(self.edits, self.changed, strict=True):
            if lines:  # show the first difference (each side at its own: long lines wrap)
                e.setTextCursor(QTextCursor(e.document().findBlockByNumber(lines[0])))
                QTimer.singleShot(0, e, e.centerCursor)  # once laid out (not after e is gone)

    @staticmethod
    def _mark(edit: QPlainTextEdit, first: int, last: int, colour: QColor) -> QTextEdit.ExtraSelection:
        """One tint over lines ``first``..``last``."""
        sel = QTextEdit.ExtraSelection()
        doc = edit.document()
        cur = QTextCursor(doc.findBlockByNumber(first))
        if last > first:
            end = doc.findBlockByNumber(last)
            cur.setPosition(end.position() + max(0, end.length() - 1), QTextCursor.MoveMode.KeepAnchor)
        sel.cursor = cur
        sel.format.setBackground(colour)
        sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        return sel


def _runs(lines: list[int]) -> list[tuple[int, int]]:
    """Consecutive line numbers as (first, last) ranges."""
    out: list[tuple[int, int]] = []
    for n in lines:
        if out and n == out[-1][1] + 1:
            out[-1] = (out[-1][0], n)
        else:
            out.append((n, n))
    return out


class DiffPanes(QTabWidget):
    """The tabs of one node's texts; only the tab on screen is filled (the others when they
    are raised), so walking divergences in a big log stays quick."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("compare.panes")
        self.panes = {name: SideBySide(name) for name in TABS}
        for name in TABS:
            self.addTab(self.panes[name], TAB_TITLES[name])
        self._texts: tuple[dict[str, str], dict[str, str], bool, bool] | None = None
        self._filled: set[str] = set()
        self.currentChanged.connect(lambda _i: self._fill_current())

    def show_node(self, n: DiffNode | None) -> None:
        ta = side_texts(n.a if n is not None else None)
        tb = side_texts(n.b if n is not None else None)
        self._texts = (ta, tb, n is not None and n.a is None, n is not None and n.b is None)
        self._filled = set()
        for name in TABS:
            marked = n is not None and (n.a is None or n.b is None or not same_text(ta[name], tb[name]))
            self.setTabText(TABS.index(name), TAB_TITLES[name] + (" ≠" if marked else ""))
        want = TABS.index(FIELD_TAB.get(n.changes[0].field, "messages")) if n is not None and n.changes else None
        if want is not None and want != self.currentIndex():
            self.setCurrentIndex(want)  # fills it
        else:
            self._fill_current()

    def _fill_current(self) -> None:
        if self._texts is None:
            return
        name = TABS[self.currentIndex()] if self.currentIndex() >= 0 else TABS[0]
        if name in self._filled:
            return
        ta, tb, a_missing, b_missing = self._texts
        self.panes[name].set_texts(ta[name], tb[name], a_missing, b_missing)
        self._filled.add(name)
