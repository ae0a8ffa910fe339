"""The Compare window: two runs' trees side by side with change markers, the side-by-side
diffs of the selected node below, and keys to walk the divergences.

    w = CompareWindow(); w.compare(a, b, "orig.jsonl", "fork.jsonl")   # paths or Trajectory objects

Keys (also on the toolbar): F7 first divergence, F8 next divergence, Shift+F8 previous
divergence. Divergences are visited in execution order (``TrajectoryDiff.divergences``).
The diff is computed off the GUI thread (``worker.DiffWorker``).
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QSplitter, QToolBar, QVBoxLayout, QWidget

from rlm_desktop.trajectory import names
from rlm_desktop.trajectory.diff import DiffNode, TrajectoryDiff

from .panes import DiffPanes
from .trees import TwinTrees
from .worker import DiffWorker


def _name(source: Any, title: str | None) -> str:
    if title:
        return title
    if isinstance(source, str):
        return os.path.basename(source)
    return os.path.basename(getattr(source, "path", None) or "") or "live run"


class CompareWindow(QMainWindow):
    ready = Signal(object)  # the TrajectoryDiff, once shown
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("CompareWindow")
        self.setWindowTitle("Compare — RLM Desktop")
        self.resize(1300, 820)
        self.diff: TrajectoryDiff | None = None
        self.divergences: list[DiffNode] = []
        self.position = -1
        self.worker = DiffWorker(self)
        self.worker.done.connect(self._computed)
        self.worker.failed.connect(self._failed)

        self.summary = QLabel("Pick two runs to compare.")
        self.summary.setObjectName("compare.summary")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)  # file names and paths are log text
        self.summary.setWordWrap(True)
        self.trees = TwinTrees()
        self.trees.current_changed.connect(self._node_changed)
        self.panes = DiffPanes()
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.trees)
        split.addWidget(self.panes)
        split.setSizes([430, 390])
        body = QWidget()
        lay = QVBoxLayout(body)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.addWidget(self.summary)
        lay.addWidget(split, 1)
        self.setCentralWidget(body)

        tb = QToolBar("Divergences", self)
        tb.setObjectName("toolbar.compare")
        self.act_first = self._action("&First Divergence", "F7", self.first_divergence)
        self.act_prev = self._action("&Previous Divergence", "Shift+F8", self.previous_divergence)
        self.act_next = self._action("&Next Divergence", "F8", self.next_divergence)
        for act in (self.act_first, self.act_prev, self.act_next):
            tb.addAction(act)
        self.addToolBar(tb)
        self._update_actions()

    def _action(self, text: str, key: str, slot: Any) -> QAction:
        act = QAction(text, self)
        act.setShortcut(QKeySequence(key))
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        act.setToolTip(f"{text.replace('&', '')} ({key})")
        act.triggered.connect(slot)
        self.addAction(act)
        return act

    # -- computing ---------------------------------------------------------------------------------
    def compare(self, a: Any, b: Any, title_a: str | None = None, title_b: str | None = None) -> None:
        """Compare ``a`` with ``b`` (each a log path or a loaded ``Trajectory``)."""
        self.names = (_name(a, title_a), _name(b, title_b))
        self.setWindowTitle(f"Compare {self.names[0]} ↔ {self.names[1]} — RLM Desktop")
        self.summary.setText(f"Comparing A: {self.names[0]} with B: {self.names[1]}…")
        self.worker.compute(a, b)

    def _failed(self, message: str) -> None:
        self.summary.setText(f"Cannot compare: {message}")
        self.failed.emit(message)

    def _computed(self, diff: TrajectoryDiff) -> None:
        self.diff = diff
        self.divergences = diff.divergences()
        self.position = -1
        self.trees.set_diff(diff)
        counts = diff.counts()
        first = diff.first_divergence
        head = f"A: {self.names[0]}   B: {self.names[1]}\n"
        if first is None:
            head += "No differences."
        else:
            head += (f"First divergence: {names.where(first.a or first.b)}: {first.what}.   {counts['changed']} changed, "
                     f"{counts['added']} only in B, {counts['removed']} only in A, {counts['same']} same.")
        self.summary.setText(head)
        self.summary.setToolTip(f"First divergence, node path (for copying): {first.path}" if first else "")
        self._update_actions()
        if first is not None:
            self.first_divergence()
        elif diff.roots:
            self.trees.select(diff.roots[0])
        self.ready.emit(diff)

    # -- walking the divergences -----------------------------------------------------------------------
    def _go(self, pos: int) -> None:
        if not self.divergences:
            return
        self.position = max(0, min(pos, len(self.divergences) - 1))
        self.trees.select(self.divergences[self.position])
        self._update_actions()

    def first_divergence(self) -> None:
        self._go(0)

    def next_divergence(self) -> None:
        index, exact = self._anchor()
        self._go(index + 1 if exact else index)

    def previous_divergence(self) -> None:
        index, _exact = self._anchor()
        self._go(index - 1)

    def _anchor(self) -> tuple[int, bool]:
        """Where the selected row is in the divergence order: (its index, True) for a
        divergence; for a row that is the same, (the index of the next divergence, False)."""
        cur = self.trees.current()
        if cur is None:
            return self.position, True
        if cur in self.divergences:
            return self.divergences.index(cur), True
        rank = {id(n): i for i, n in enumerate(self.diff.nodes())} if self.diff is not None else {}
        here = rank.get(id(cur), -1)
        after = [i for i, d in enumerate(self.divergences) if rank.get(id(d), -1) > here]
        return (after[0] if after else len(self.divergences)), False

    def _node_changed(self, n: DiffNode | None) -> None:
        if n in self.divergences:
            self.position = self.divergences.index(n)
        self.panes.show_node(n)
        self._update_actions()

    def _update_actions(self) -> None:
        have = bool(self.divergences)
        self.act_first.setEnabled(have)
        self.act_next.setEnabled(have and self.position < len(self.divergences) - 1)
        self.act_prev.setEnabled(have and self.position > 0)

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        self.worker.shutdown()
        super().closeEvent(event)
