"""What the run-tree tests share: a Run Tree shown on a trajectory, where a row's expand
arrow is, and the demo trajectory shown in the main window with its first code block made an
error (its status cell is painted red)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPoint


def shown_tree(qtbot: Any, traj: Any, width: int = 600, height: int = 400, wait_ms: int | None = 10) -> Any:
    """A ``RunTree`` of its own (a fresh selection), shown at ``width`` x ``height`` with
    ``traj``, then ``wait_ms`` of events (None: none, the caller goes on at once)."""
    from rlm_desktop.ui.run_tree import RunTree
    from rlm_desktop.ui.selection import NodeSelection

    tree = RunTree(NodeSelection())
    qtbot.addWidget(tree)
    tree.resize(width, height)
    tree.show()
    tree.set_trajectory(traj)
    if wait_ms is not None:
        qtbot.wait(wait_ms)
    return tree


def arrow_point(tree: Any, idx: Any) -> QPoint:
    """Where the view draws ``idx``'s expand arrow (left of the label, in its indentation)."""
    rect = tree.view.visualRect(idx)
    return QPoint(rect.left() - tree.view.indentation() // 2, rect.center().y())


def demo_with_error_block(window: Any) -> tuple[Any, Any, Any, Any, Any]:
    """(trajectory, tree view, tree model, the error block, its index), scrolled into view."""
    from rlm_desktop.engine.demo import load_demo
    from rlm_desktop.trajectory.reader import read_file

    path = str(load_demo().trajectory_path)
    from tests.support.opening import show_opened

    traj = show_opened(window, read_file(path), path)
    view, model = window.tree.view, window.tree.model
    block = next(b for it in traj.runs[0].iterations for b in it.code_blocks)
    block.stderr = "Traceback: boom"
    model.grow()
    idx = model.index_of(block)
    view.scrollTo(idx)
    return traj, view, model, block, idx


def model_calls_expanding_all(tree: Any) -> list[str]:
    """The names of the functions of ``ui.tree_model`` called while ``tree``'s view expands
    all (``sys.setprofile``), in call order."""
    import sys

    from rlm_desktop.ui import tree_model

    calls: list[str] = []

    def profile(frame: Any, event: str, _arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename == tree_model.__file__:
            calls.append(frame.f_code.co_name)

    sys.setprofile(profile)
    try:
        tree.view.expandAll()  # lays every row out: unmade rows are made on the way
    finally:
        sys.setprofile(None)
    return calls
