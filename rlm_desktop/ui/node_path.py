"""Copy Node Path: the one place a node's path (``r0/i2/b0``) is handed to the user.

Everywhere else nodes are named for people (``trajectory.names``: "Run 1 › Iteration 3");
the path is an id for breakpoint conditions, scripts and ``trajectory.find``, so it is
offered for copying, labelled as such (here, and in the tree's and status bar's tooltips).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QWidget


def copy_node_path(node: Any) -> str | None:
    """Put ``node``'s path on the clipboard; the path, or None when there is no node."""
    path = getattr(node, "path", None)
    if not path:
        return None
    QGuiApplication.clipboard().setText(path)
    return path


def make_action(window: QWidget, selection: Any, status: Any) -> QAction:
    """Edit › Copy Node Path (Ctrl+Shift+C) for the selected node; says what it copied."""
    act = QAction("Copy &Node Path", window)
    act.setObjectName("action.copyNodePath")
    act.setShortcut(QKeySequence("Ctrl+Shift+C"))
    act.setStatusTip("Copy the selected node's path (like r0/i2/b0: 0-based, for breakpoint conditions)")

    def run() -> None:
        path = copy_node_path(selection.node)
        if path is not None:
            status.showMessage(f"Copied node path: {path}", 4000)

    act.triggered.connect(run)
    return act
