"""The Threads panel while all-stop holds (issue 13 item 3): every parallel child with
its true state, the one that hit the breakpoint marked, the user picks which one to step
or continue, with clicks and keys."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.test_debugger_engine import BATCH
from tests.test_engine_loop import make_engine

T = 20000


def rows(panel):
    tree = panel.tree
    return [tuple(tree.topLevelItem(i).text(c) for c in range(3)) for i in range(tree.topLevelItemCount())]


def click_row(qtbot, panel, i):
    item = panel.tree.topLevelItem(i)
    rect = panel.tree.visualItemRect(item)
    qtbot.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_threads_panel_lists_parallel_children_and_steps_the_picked_one(qtbot, window, tmp_path):
    eng, _ = make_engine(BATCH, tmp_path, max_depth=2, max_iterations=3, max_parallel=3)
    s = window.session
    bp = s.breakpoints.add(kind="depth", depth=1, one_shot=True)
    window.start_run("Summarise the parts.", "some context text", engine=eng)
    panel = window.panels["threads"]
    qtbot.waitUntil(lambda: sum(r[1].startswith("paused") for r in rows(panel)) == 3, timeout=T)
    assert window.docks["threads"].isVisible()  # brought to the front by a parallel stop
    got = rows(panel)
    assert len(got) == 4
    assert [r for r in got if r[0] == "root run"][0][1] == "running"  # waits in the batch
    marked = [r for r in got if r[0].startswith("● ")]
    assert len(marked) == 1 and marked[0][1] == "paused (breakpoint)" and "RunStarted" in marked[0][2]
    assert sorted(r[0].removeprefix("● ") for r in got if r[0] != "root run") == [
        f"rlm_query #{c} (iteration 1, block 1)" for c in (1, 2, 3)]
    # the tree says the same: the children are paused, not "running"
    rec = s.recorder
    checked = 0
    from rlm_desktop.ui.panels.wiring import node_for_event

    for t in panel.runs:
        if t.state == "paused":
            node = node_for_event(rec.run, t.event)  # the child run, or the sibling's sub-call
            assert window.tree.model.index_of(node, 2).data() == "paused"
            checked += 1
    assert checked == 3
    root = window.tree.model.index_of(rec.trajectory.runs[0], 2)
    assert root.data() == "running"  # its own thread waits in the batch
    # pick another paused child: the steps apply to it, its node is selected everywhere
    i = next(i for i, r in enumerate(got) if r[1] == "paused (all-stop)")
    tid = panel.tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole + 1)
    click_row(qtbot, panel, i)
    qtbot.waitUntil(lambda: s.state.selected == tid, timeout=T)
    picked = panel.debug_thread(tid)
    # where it is paused (its child run, or its sub-call when it waits before starting one)
    qtbot.waitUntil(lambda: window.selection.node is node_for_event(rec.run, picked.event), timeout=T)
    assert window.selection.node is not None
    # continue only it: it finishes, the others stay paused
    qtbot.mouseClick(panel.continue_one, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.debug_thread(tid) is not None and panel.debug_thread(tid).state == "finished", timeout=T)
    assert sum(r[1].startswith("paused") for r in rows(panel)) == 2 and s.state.state == "paused"
    # F10 steps the (now) picked thread; F5 lets everything finish
    n = s.state.seq
    qtbot.keyClick(window, Qt.Key.Key_F10)
    qtbot.waitUntil(lambda: s.state.seq > n and s.state.state == "paused", timeout=T)
    qtbot.keyClick(window, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: not s.running, timeout=T)
    assert s.result.response == "A+B+C" and bp.hit_count == 1
    assert {r[1] for r in rows(panel)} == {"finished"}
