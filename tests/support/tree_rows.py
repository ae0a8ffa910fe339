"""The demo trajectory shown in the main window with its first code block made an error (its
status cell is painted red): what the run-tree tests look at."""

from __future__ import annotations

from typing import Any


def demo_with_error_block(window: Any) -> tuple[Any, Any, Any, Any, Any]:
    """(trajectory, tree view, tree model, the error block, its index), scrolled into view."""
    from rlm_desktop.engine.demo import load_demo
    from rlm_desktop.trajectory.reader import read_file

    path = str(load_demo().trajectory_path)
    traj = read_file(path)
    window.show_trajectory(traj, path)
    view, model = window.tree.view, window.tree.model
    block = next(b for it in traj.runs[0].iterations for b in it.code_blocks)
    block.stderr = "Traceback: boom"
    model.grow()
    idx = model.index_of(block)
    view.scrollTo(idx)
    return traj, view, model, block, idx
