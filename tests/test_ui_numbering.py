"""One numbering for people (issue 13 item 5): 1-based iterations, blocks and sub-calls in the
tree, the timeline, search hits, the status bar, logpoint messages and the fork dialog; node
paths only where they are meant to be copied, and labelled."""

from __future__ import annotations

import json
import os
import re

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from rlm_desktop.debugger.breakpoints import BreakpointManager
from rlm_desktop.engine import events as ev
from rlm_desktop.engine.demo import load_demo
from rlm_desktop.trajectory import names
from rlm_desktop.trajectory.reader import read_bytes
from rlm_desktop.ui import fork_dialog
from tests.support.opening import open_and_wait

DEMO = os.path.abspath(str(load_demo().trajectory_path))
PATH_RX = re.compile(r"\br\d+/i\d+")


def row_texts(model, parent, col=0):
    return [model.index(r, col, parent).data() for r in range(model.rowCount(parent))]


def test_tree_status_bar_and_copy_path_count_from_one(qtbot, window):
    w = window
    open_and_wait(qtbot, w, DEMO)
    m = w.tree.model
    run = w.trajectory.runs[0]
    run_idx = m.index_of(run)
    assert m.index(0, 0).data().startswith("Run 1 ·")
    its = row_texts(m, run_idx)
    assert its[0].startswith("Iteration 1") and its[1].startswith("Iteration 2")
    # keyboard: from the run row down to iteration 2, right to open it, down to its block 1
    w.tree.view.setFocus()
    w.tree.view.setCurrentIndex(run_idx)
    qtbot.keyClick(w.tree.view, Qt.Key.Key_Down)
    qtbot.keyClick(w.tree.view, Qt.Key.Key_Down)
    assert w.selection.node is run.iterations[1]
    assert w.status.node_label.text() == "Run 1 › Iteration 2"
    qtbot.keyClick(w.tree.view, Qt.Key.Key_Right)
    qtbot.keyClick(w.tree.view, Qt.Key.Key_Down)
    block = run.iterations[1].code_blocks[0]
    assert w.selection.node is block
    block_idx = m.index_of(block)
    assert block_idx.data().startswith("Block 1:")
    qtbot.keyClick(w.tree.view, Qt.Key.Key_Right)  # open the block: its sub-calls
    calls = row_texts(m, block_idx)
    assert [c.split(":")[0] for c in calls] == ["llm_query 1", "llm_query 2", "llm_query 3"]
    # the path is not what people read: only in the tooltips, labelled, and on Copy Node Path
    assert not PATH_RX.search(w.status.node_label.text())
    assert "Node path (for copying): r0/i1/b0" in w.status.node_label.toolTip()
    assert "Node path (for copying): r0/i1/b0" in block_idx.data(Qt.ItemDataRole.ToolTipRole)
    QApplication.clipboard().clear()
    qtbot.keyClick(w.tree.view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert QApplication.clipboard().text() == "r0/i1/b0"
    assert "Copied node path: r0/i1/b0" in w.status.currentMessage()
    # the child run of iteration 5's rlm_query says what it is
    child = run.iterations[4].code_blocks[0].sub_calls[0]
    call_idx = m.index_of(child)
    assert call_idx.data().startswith("rlm_query 1 (child run):")
    assert m.index_of(child.child).data().startswith("Child run (rlm_query) · depth 1")
    # the timeline shows the same numbers
    assert w.timeline.model.index(0, 0).data().startswith("#1\n")


def test_search_hits_are_named_for_people_and_counted_from_one(qtbot, window):
    w = window
    open_and_wait(qtbot, w, DEMO)
    qtbot.keyClick(w, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(w.search.edit, "complaint")
    with qtbot.waitSignal(w.search.finished, timeout=5000):
        qtbot.keyClick(w.search.edit, Qt.Key.Key_Return)
    n = w.search.results.count()
    assert n >= 2
    texts = [w.search.results.item(i).text() for i in range(n)]
    assert all(t.startswith("Run 1") for t in texts) and any(t.startswith("Run 1 › Iteration ") for t in texts)
    assert not any(PATH_RX.search(t) for t in texts)
    assert w.search.results.item(0).toolTip().startswith("Node path (for copying): r0")
    qtbot.keyClick(w.search.edit, Qt.Key.Key_Return)  # Enter again: the first hit
    assert w.search.status.text() == f"hit 1 of {n}"
    qtbot.keyClick(w.search.edit, Qt.Key.Key_Return)
    assert w.search.status.text() == f"hit 2 of {n}"
    assert w.status.node_label.text() == names.where(w.search.hits[1].node)


def test_pre_era_second_completion_starts_again_at_iteration_one(qtbot, window, tmp_path):
    meta = {"type": "metadata", "root_model": "m", "max_iterations": 5}

    def rec(n, final=None):
        return {"type": "iteration", "iteration": n, "prompt": [], "response": "r", "code_blocks": [],
                "final_answer": final, "iteration_time": 0.1}

    lines = [meta, rec(1), rec(2, "a"), rec(3), rec(4, "b")]  # 0.1.0 numbering never restarts
    p = tmp_path / "two.jsonl"
    p.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    assert len(read_bytes(p.read_bytes()).runs) == 2
    open_and_wait(qtbot, window, str(p))
    m = window.tree.model
    second = m.index(1, 0)
    assert second.data().startswith("Run 2")
    window.tree.view.expand(second)
    assert [t.split(" ·")[0] for t in row_texts(m, second)] == ["Iteration 1", "Iteration 2"]


def test_logpoint_messages_say_where_in_one_based_words(qtbot, window):
    mgr = window.session.breakpoints
    mgr.add(kind="subcall", log_message="call {call} of block {block} (index {call_index})")
    panel = window.panels["breakpoints"]
    e = ev.SubCallStarted(run_id="x", parent_id=None, depth=0, iteration=2, block_index=0, call_index=2,
                          model="m", prompt="p")
    mgr.check(e)
    qtbot.waitUntil(lambda: "call 3 of block 1 (index 2)" in panel.log.text(), timeout=3000)
    assert "Iteration 2 › Block 1 › sub-call 3: call 3 of block 1 (index 2)" in panel.log.text()


def test_logpoint_line_unit():
    mgr = BreakpointManager()
    mgr.add(kind="iteration", iteration=3, log_message="turn {iteration}")
    mgr.check(ev.IterationStarted(run_id="x", parent_id=None, depth=1, iteration=3))
    m = mgr.messages[-1]
    assert m.text == "turn 3" and m.line == "depth 1 › Iteration 3: turn 3"


@pytest.fixture
def shown_fork(monkeypatch):
    seen = {}

    def fake_exec(dlg):
        seen["dialog"] = dlg
        return 0  # cancelled

    monkeypatch.setattr(fork_dialog.ForkDialog, "exec", fake_exec)
    return seen


def test_fork_dialog_names_the_turn_and_labels_its_path(qtbot, window, shown_fork):
    w = window
    open_and_wait(qtbot, w, DEMO)
    it = w.trajectory.runs[0].iterations[2]
    w.tree.view.setFocus()
    w.tree.view.setCurrentIndex(w.tree.model.index_of(it))
    qtbot.keyClick(w.tree.view, Qt.Key.Key_F5, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    dlg = shown_fork["dialog"]
    assert dlg.windowTitle() == "Fork from Run 1 › Iteration 3"
    assert "Iteration 3" in dlg.info.text() and not PATH_RX.search(dlg.info.text())
    assert dlg.node_path.text() == "r0/i2" and dlg.node_path.isReadOnly()
