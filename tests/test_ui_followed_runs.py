"""Followed and live runs stay true to the file (issue 13 item 1): every panel on the
selected node, expand arrows on nodes that gained children, one click opens a run, new
runs open by themselves, a deleted run is shown as deleted."""

from __future__ import annotations

import os

from PySide6.QtCore import QPoint, Qt

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, RunStatus, SubCall, Trajectory
from tests.support import tail_logs
from tests.support.tail_logs import append
from tests.support.tree_rows import arrow_point, shown_tree

LINES = tail_logs.script(seed=11, n=8)


def test_a_collapsed_node_that_gains_children_gets_its_arrow(qtbot):
    run = Run(run_id="root", status=RunStatus.RUNNING)
    it = Iteration(1, running=True)
    run.add_iteration(it)
    traj = Trajectory(runs=[run])
    tree = shown_tree(qtbot, traj, 500, 300, wait_ms=20)
    idx = tree.model.index_of(it)
    assert idx.isValid() and not tree.view.isExpanded(idx)
    qtbot.mouseClick(tree.view.viewport(), Qt.MouseButton.LeftButton, pos=arrow_point(tree, idx))
    assert not tree.view.isExpanded(idx)  # no children yet: nothing to open
    block = CodeBlock(0, code="print(1)", running=True)
    it.code_blocks.append(block)
    block.parent = it
    tree.refresh()  # what a live update does
    qtbot.wait(20)
    idx = tree.model.index_of(it)
    qtbot.mouseClick(tree.view.viewport(), Qt.MouseButton.LeftButton, pos=arrow_point(tree, idx))
    assert tree.view.isExpanded(idx), "the iteration shows no expand arrow after it gained a block"
    assert tree.model.rowCount(idx) == 1


def test_a_parallel_call_inserted_before_shown_ones_gets_its_own_row(qtbot):
    """A live recorder keeps a block's sub-calls in call order: when call 1 of a batch starts
    after calls 2 and 3, it is inserted before them, and the tree shows every call at its
    place (an expanded call stays expanded, the rows are not renamed)."""
    run = Run(run_id="root", status=RunStatus.RUNNING)
    it = Iteration(1, running=True)
    run.add_iteration(it)
    block = CodeBlock(0, code="rlm_query_batched(parts)", running=True)
    it.code_blocks.append(block)
    block.parent = it

    def call(i: int) -> SubCall:
        c = SubCall(index=i, model="m", prompt=f"part {i}", running=True)
        c.parent = block
        return c

    later = [call(1), call(2)]
    block.sub_calls.extend(later)
    tree = shown_tree(qtbot, Trajectory(runs=[run]), 500, 300, wait_ms=None)
    tree.view.expandAll()
    qtbot.wait(20)
    assert tree.model.rowCount(tree.model.index_of(block)) == 2
    shown = tree.model.index_of(later[1])
    tree.view.collapse(shown)
    first = call(0)
    block.sub_calls.insert(0, first)
    tree.refresh()
    qtbot.wait(20)
    bidx = tree.model.index_of(block)
    assert tree.model.rowCount(bidx) == 3
    assert [tree.model.node(tree.model.index(r, 0, bidx)) for r in range(3)] == [first, *later]
    assert [tree.model.index_of(c).row() for c in (first, *later)] == [0, 1, 2]
    assert not tree.view.isExpanded(tree.model.index_of(later[1]))  # still the one collapsed
    assert tree.view.isExpanded(bidx)


def code_header(window) -> str:
    return window.panels["code"].header.text()


def test_the_only_run_opens_by_itself_and_every_panel_moves_with_it(qtbot, window, tmp_path):
    a = tmp_path / "a.jsonl"
    append(a, LINES[:3])  # metadata + 2 iterations, the writer still at work
    assert window.follow(str(tmp_path))
    qtbot.waitUntil(lambda: window.live_path == str(a), timeout=5000)  # nobody clicked
    traj = window.trajectory
    qtbot.waitUntil(lambda: bool(traj.runs) and window.tree.model.rowCount() == 1, timeout=5000)
    run = traj.runs[0]
    qtbot.waitUntil(lambda: window.selection.node is run, timeout=1000)  # its content, at once
    qtbot.waitUntil(lambda: code_header(window).startswith("Iteration 2"), timeout=3000)
    append(a, LINES[3:5])
    qtbot.waitUntil(lambda: window.tree.model.rowCount(window.tree.model.index_of(run)) == 4, timeout=5000)
    # the run is selected: Code, Variables and Messages all show its newest iteration
    qtbot.waitUntil(lambda: code_header(window).startswith("Iteration 4"), timeout=3000)
    assert "iteration 4" in window.panels["variables"].header.text()
    assert window.selection.node is run and window.live_path == str(a)


def row_point(panel, path: str) -> QPoint:
    idx = panel.proxy.mapFromSource(panel.model.index(panel.model.row_of(path), 0))
    return panel.view.visualRect(idx).center()


def test_one_click_opens_a_run_and_open_newest_opens_new_ones(qtbot, window, tmp_path):
    a, b, c = (tmp_path / f"{n}.jsonl" for n in "abc")
    append(a, LINES[:2])
    append(b, LINES[:3])
    window.follow(str(tmp_path))
    panel = window.panels["runs"]
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2, timeout=5000)
    qtbot.wait(200)
    assert window.live_path is None  # two runs: the user picks one
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=row_point(panel, str(b)))
    qtbot.waitUntil(lambda: window.live_path == str(b), timeout=3000)
    qtbot.waitUntil(lambda: bool(window.trajectory.runs), timeout=5000)
    assert len(window.trajectory.runs[0].iterations) == 2
    panel.newest_check.show()
    qtbot.mouseClick(panel.newest_check, Qt.MouseButton.LeftButton)
    assert panel.newest_check.isChecked()
    append(c, LINES[:2])
    qtbot.waitUntil(lambda: window.live_path == str(c), timeout=5000)
    assert panel.selected_path() == str(c)


def test_a_deleted_run_is_marked_deleted_not_running(qtbot, window, tmp_path):
    a = tmp_path / "a.jsonl"
    append(a, LINES[:3])
    window.follow(str(tmp_path))
    qtbot.waitUntil(lambda: window.live_path == str(a), timeout=5000)
    qtbot.waitUntil(lambda: bool(window.trajectory.runs) and window.tree.model.rowCount() == 1, timeout=5000)
    run_idx = window.tree.model.index_of(window.trajectory.runs[0], 2)
    assert run_idx.data() == "running"
    os.remove(a)
    panel = window.panels["runs"]
    qtbot.waitUntil(lambda: panel.model.status_of(str(a)) == "deleted", timeout=5000)
    qtbot.waitUntil(lambda: window.tree.model.index_of(window.trajectory.runs[0], 2).data() == "deleted",
                    timeout=5000)
    assert window.doc_combo.currentText() == "a.jsonl (deleted)"
    assert window.trajectory.runs[0].status != RunStatus.RUNNING
