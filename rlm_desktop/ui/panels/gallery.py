"""A small viewer that shows every panel for one log file (development, screenshots).

    python -m rlm_desktop.ui.panels.gallery FILE [--node PATH] [--screenshot OUT.png]

Left: the run tree (a plain QTreeWidget, fine for small files; the real app
uses the shell's model/view tree). Right: the panels, wired to one selection.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QSplitter, QTabWidget, QTreeWidget, QTreeWidgetItem, QWidget

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, SubCall, Trajectory
from rlm_desktop.trajectory.names import iteration_no, title
from rlm_desktop.trajectory.reader import read_file
from rlm_desktop.ui.selection import NodeSelection

from .code_view import CodeView
from .common import fmt_seconds, one_line
from .messages import MessagesPanel
from .metrics import MetricsPanel
from .output import OutputPanel
from .variables import VariablesPanel
from .wiring import connect_selection

NODE_ROLE = Qt.ItemDataRole.UserRole + 1


def node_label(node: Any) -> str:
    if isinstance(node, Run):
        return f"{title(node).lower()} · {node.model or '?'} · {node.status.value}"
    if isinstance(node, Iteration):
        return f"iteration {iteration_no(node)} · {fmt_seconds(node.iteration_time)}"
    if isinstance(node, CodeBlock):
        return f"block {node.index + 1}" + (" · stderr" if node.stderr else "")
    if isinstance(node, SubCall):
        return f"call {node.index + 1} · {node.model or '?'} · {one_line(node.response, 40)}"
    return str(node)


class Gallery(QSplitter):
    def __init__(self, traj: Trajectory, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.traj = traj
        self.selection = NodeSelection(self)
        self.tree = QTreeWidget(self)
        self.tree.setHeaderHidden(True)
        self.items: dict[str, QTreeWidgetItem] = {}
        for run in traj.runs:
            self._add(self.tree.invisibleRootItem(), run)
        self.tree.expandToDepth(1)
        self.code, self.output, self.messages = CodeView(), OutputPanel(), MessagesPanel()
        self.variables, self.metrics = VariablesPanel(), MetricsPanel()
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(self.code)
        left.addWidget(self.output)
        tabs = QTabWidget()
        tabs.addTab(self.messages, "Messages")
        tabs.addTab(self.variables, "Variables")
        tabs.addTab(self.metrics, "Metrics")
        self.addWidget(self.tree)
        self.addWidget(left)
        self.addWidget(tabs)
        self.setSizes([260, 520, 520])
        connect_selection(self.selection, self.code, self.output, self.messages, self.variables, self.metrics)
        self.tree.currentItemChanged.connect(lambda cur, _prev: self.selection.select(cur.data(0, NODE_ROLE) if cur else None))
        self.selection.changed.connect(self._follow)

    def _add(self, parent: QTreeWidgetItem, node: Any) -> None:
        item = QTreeWidgetItem(parent, [node_label(node)])
        item.setData(0, NODE_ROLE, node)
        self.items[node.path] = item
        children: list[Any] = []
        if isinstance(node, Run):
            children = node.iterations
        elif isinstance(node, Iteration):
            children = node.code_blocks
        elif isinstance(node, CodeBlock):
            children = node.sub_calls
        elif isinstance(node, SubCall) and node.child is not None:
            children = [node.child]
        for child in children:
            self._add(item, child)

    def _follow(self, node: Any) -> None:
        item = self.items.get(node.path) if node is not None else None
        if item is not None and self.tree.currentItem() is not item:
            self.tree.setCurrentItem(item)

    def select_path(self, path: str) -> bool:
        node = self.traj.find(path)
        if node is None:
            return False
        self.selection.select(node)
        self.selection.settle()
        return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rlm_desktop.ui.panels.gallery")
    ap.add_argument("file")
    ap.add_argument("--node", default="r0/i0", help="node path to select (default r0/i0)")
    ap.add_argument("--screenshot", help="save a PNG of the window and exit")
    args = ap.parse_args(argv)
    from rlm_desktop.ui import refcount_guard

    refcount_guard.install()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    g = Gallery(read_file(args.file))
    g.setWindowTitle(f"rlm_desktop panels · {args.file}")
    g.resize(1400, 900)
    g.show()
    g.select_path(args.node)
    if args.screenshot:
        for _ in range(5):
            app.processEvents()
        ok = g.grab().save(args.screenshot)
        g.close()
        g.deleteLater()
        return 0 if ok else 1
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
