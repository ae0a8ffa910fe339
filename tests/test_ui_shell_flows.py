"""Main flows of the window driven like a user: keys, menus, the debug toolbar."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog

from rlm_desktop.engine.demo import load_demo
from rlm_desktop.trajectory.model import CodeBlock, Iteration, SubCall
from rlm_desktop.ui.timeline import run_of
from rlm_desktop.ui.tree_model import depth
from tests.support.opening import open_and_wait, shown

DEMO = os.path.abspath(str(load_demo().trajectory_path))


@pytest.fixture
def window(window, qtbot):  # the shared main window (conftest), plus:
    window.activateWindow()
    qtbot.waitExposed(window)
    return window


def key(qtbot, w, k, mod=Qt.KeyboardModifier.NoModifier):
    """A key press where the user is: the focused widget (shortcuts are application-wide)."""
    target = QApplication.focusWidget() or w
    qtbot.keyClick(target, k, mod)


def wait_paused(qtbot, w, n_before):
    qtbot.waitUntil(lambda: w.session.controller.is_paused and w.paused_count > n_before, timeout=15000)
    qtbot.waitUntil(lambda: w.status.state_label.text().startswith("Paused"), timeout=3000)


@pytest.fixture
def counted(window):
    window.paused_count = 0

    def bump(_st):
        window.paused_count += 1

    window.session.paused.connect(bump)
    return window


def test_breakpoint_from_f9_pauses_the_demo_then_f5_runs_to_the_end(qtbot, counted):
    w = counted
    open_and_wait(qtbot, w, DEMO)
    recorded = w.trajectory.runs[0]
    w.tree.view.setFocus()
    w.tree.view.setCurrentIndex(w.tree.model.index_of(recorded.iterations[2]))  # iteration 3
    key(qtbot, w, Qt.Key.Key_F9)
    bps = w.session.breakpoints.breakpoints()
    assert [(b.kind, b.iteration, b.depth) for b in bps] == [("iteration", 3, 0)]
    assert w.panels["breakpoints"].model.rowCount() == 1  # listed in the Breakpoints panel
    w.run_demo(pause_at_start=False)
    wait_paused(qtbot, w, 0)
    st = w.session.controller.state()
    assert st.reason == "breakpoint" and st.breakpoint.id == bps[0].id
    assert w.status.state_label.text() == "Paused (breakpoint)"
    node = w.selection.node
    live = w.session.recorder.trajectory
    assert isinstance(node, Iteration) and node.number == 3 and node.parent is live.runs[0]
    assert w.tree.model.node(w.tree.view.currentIndex()) is node
    assert w.timeline.view.currentIndex().data(Qt.ItemDataRole.UserRole) is node
    assert w.debug.cont.isEnabled() and not w.debug.run.isEnabled()
    key(qtbot, w, Qt.Key.Key_F5)  # Continue
    qtbot.waitUntil(lambda: not w.session.running, timeout=20000)
    res = w.session.result
    assert res.status == "finished" and res.response
    assert w.status.state_label.text() == "Finished"
    assert "answer:" in w.status.currentMessage() and res.response.split()[0] in w.status.currentMessage()
    last = live.runs[0].iterations[-1]
    assert shown(w) is last and last.final_answer == res.response
    cards = w.panels["messages"].cards
    assert cards[-1].item.role == "final" and cards[-1].item.text == res.response
    assert w.debug.run.isEnabled() and not w.debug.cont.isEnabled()
    assert bps[0].hit_count == 1


def test_step_into_a_sub_call_lands_in_the_child_run_and_step_out_returns(qtbot, counted):
    w = counted
    # iteration 5 of the demo calls rlm_query (a child run)
    w.session.breakpoints.add(kind="iteration", iteration=5, depth=0)
    w.run_demo(pause_at_start=False)
    wait_paused(qtbot, w, 0)
    assert isinstance(w.selection.node, Iteration) and w.selection.node.number == 5
    # F11 until the debugger stands in the child run (a few boundaries: LM turn, block, sub-call)
    for _ in range(12):
        n = w.paused_count
        key(qtbot, w, Qt.Key.Key_F11)
        wait_paused(qtbot, w, n)
        if w.session.controller.state().event.depth == 1:
            break
    st = w.session.controller.state()
    assert st.event.depth == 1 and st.reason == "step"
    node = w.selection.node
    child = run_of(node)
    assert child is not None and child.depth == 1 and isinstance(child.parent, SubCall)
    assert child.parent.is_recursive
    assert w.tree.model.node(w.tree.view.currentIndex()) is node  # the tree selects the child node
    assert w.timeline.model.run is child  # the timeline shows the child's iterations
    n = w.paused_count
    key(qtbot, w, Qt.Key.Key_F11, Qt.KeyboardModifier.ShiftModifier)  # Step Out
    wait_paused(qtbot, w, n)
    st = w.session.controller.state()
    assert st.event.depth == 0 and st.reason == "step"
    assert run_of(w.selection.node).depth == 0
    key(qtbot, w, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)  # Stop
    qtbot.waitUntil(lambda: not w.session.running, timeout=15000)
    assert w.status.state_label.text() == "Cancelled"


def test_ctrl_f_searches_the_whole_tree_from_the_keyboard(qtbot, window):
    w = window
    open_and_wait(qtbot, w, DEMO)
    w.tree.view.setFocus()
    key(qtbot, w, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert w.docks["search"].isVisible() and QApplication.focusWidget() is w.search.edit
    qtbot.keyClicks(w.search.edit, "complaint")
    with qtbot.waitSignal(w.search.finished, timeout=5000) as sig:
        qtbot.keyClick(w.search.edit, Qt.Key.Key_Return)
    hits = w.search.hits
    assert sig.args[0] == len(hits) >= 3
    kinds = {type(h.node) for h in hits}
    assert CodeBlock in kinds and ({Iteration, SubCall} & kinds)  # code, outputs and messages
    # code and messages (responses, sub-call prompts) are searched (one hit per node) ...
    assert {"code", "response", "sub-call prompt"} <= {h.field for h in hits}
    assert any(depth(h.node) > 0 for h in hits)  # inside sub-calls and child runs too
    qtbot.keyClick(w.search.edit, Qt.Key.Key_Return)  # Enter again: the first hit
    assert w.selection.node is hits[0].node
    code_hit = next(i for i, h in enumerate(hits) if h.field == "code")
    w.search.jump(code_hit)  # the found text is selected in the code view
    assert w.panels["code"].editor.textCursor().selectedText().lower() == "complaint"
    w.search.jump(0)
    key(qtbot, w, Qt.Key.Key_F3)  # Find Next
    assert w.selection.node is hits[1].node
    assert w.tree.model.node(w.tree.view.currentIndex()) is hits[1].node
    # ... and REPL output: a phrase only the helper model's answers (printed by the block) hold
    w.search.edit.selectAll()
    qtbot.keyClicks(w.search.edit, "far below what")
    with qtbot.waitSignal(w.search.finished, timeout=5000):
        qtbot.keyClick(w.search.edit, Qt.Key.Key_Return)
    out_hits = [h for h in w.search.hits if h.field == "stdout"]
    assert out_hits and isinstance(out_hits[0].node, CodeBlock)
    w.search.jump(w.search.hits.index(out_hits[0]))  # and in the REPL output
    assert w.panels["output"].view.edit.textCursor().selectedText() == "far below what"
    assert w.docks["output"].isVisible()


def test_keyboard_navigation_in_tree_and_timeline(qtbot, window):
    w = window
    open_and_wait(qtbot, w, DEMO)
    run = w.trajectory.runs[0]
    view = w.tree.view
    view.setFocus()
    view.setCurrentIndex(w.tree.model.index_of(run))
    assert view.isExpanded(w.tree.model.index_of(run))
    qtbot.keyClick(view, Qt.Key.Key_Left)  # collapse
    assert not view.isExpanded(w.tree.model.index_of(run))
    qtbot.keyClick(view, Qt.Key.Key_Right)  # expand
    assert view.isExpanded(w.tree.model.index_of(run))
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert w.selection.node is run.iterations[0]
    qtbot.keyClick(view, Qt.Key.Key_Right)  # expand the iteration
    qtbot.keyClick(view, Qt.Key.Key_Right)  # ... and enter it
    assert w.selection.node is run.iterations[0].code_blocks[0]
    shown(w)
    assert w.panels["code"].current_block() is run.iterations[0].code_blocks[0]
    qtbot.keyClick(view, Qt.Key.Key_Left)  # back to the parent
    assert w.selection.node is run.iterations[0]
    # the timeline: Right/Left/End/Home move the iteration, every view follows
    tl = w.timeline.view
    tl.setFocus()
    qtbot.keyClick(tl, Qt.Key.Key_Right)
    assert w.selection.node is run.iterations[1]
    assert w.tree.model.node(view.currentIndex()) is run.iterations[1]
    shown(w)
    assert w.panels["messages"].header.text().startswith("Iteration 2")
    qtbot.keyClick(tl, Qt.Key.Key_End)
    assert w.selection.node is run.iterations[-1]
    qtbot.keyClick(tl, Qt.Key.Key_Left)
    assert w.selection.node is run.iterations[-2]
    qtbot.keyClick(tl, Qt.Key.Key_Home)
    assert w.selection.node is run.iterations[0]
    assert w.panels["metrics"].run() is run


def test_file_open_several_files_and_open_recent(qtbot, window, tmp_path, monkeypatch):
    w = window
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(Path(DEMO).read_bytes())
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", staticmethod(lambda *a, **k: ([DEMO, str(copy)], "")))
    w.act_open.trigger()
    qtbot.waitUntil(lambda: len(w.documents) == 2 and w.loader.pending == 0, timeout=5000)
    assert set(w.documents) == {DEMO, str(copy)}
    assert w.recent_files()[:2] == [str(copy), DEMO]  # newest first
    w.recent_menu.aboutToShow.emit()
    acts = w.recent_menu.actions()
    assert [a.text() for a in acts[:2]] == [str(copy), DEMO] and w.recent_menu.isEnabled()
    w.documents.clear()
    acts[1].trigger()  # Open Recent > the demo
    qtbot.waitUntil(lambda: DEMO in w.documents and w.loader.pending == 0, timeout=5000)
    assert w.path == DEMO and w.recent_files()[0] == DEMO
    # a recent file that went away is reported in the UI, not only on stderr
    os.remove(copy)
    w.recent_menu.aboutToShow.emit()
    next(a for a in w.recent_menu.actions() if a.text() == str(copy)).trigger()
    assert any("copy.jsonl" in t for t in w.problems.texts())
    next(a for a in w.recent_menu.actions() if a.text() == "Clear Recent Files").trigger()
    assert w.recent_files() == [] and not w.recent_menu.isEnabled()


def test_command_line_files_open_in_the_window(qtbot, window, tmp_path):
    from rlm_desktop.ui.app import parse_args

    copy = tmp_path / "cli.jsonl"
    copy.write_bytes(Path(DEMO).read_bytes())
    args = parse_args([DEMO, str(copy)])
    assert args.files == [DEMO, str(copy)]
    window.open_files(args.files)  # what run_app does with them
    qtbot.waitUntil(lambda: len(window.documents) == 2 and window.loader.pending == 0, timeout=5000)
    assert window.path == str(copy)  # the last one is shown
    assert window.tree.model.rowCount() == 1


def test_showing_combo_switches_between_opened_files_and_the_live_run(qtbot, window, tmp_path):
    w = window
    copy = tmp_path / "second.jsonl"
    copy.write_bytes(Path(DEMO).read_bytes())
    w.open_files([DEMO, str(copy)])
    qtbot.waitUntil(lambda: len(w.documents) == 2 and w.loader.pending == 0, timeout=5000)
    combo = w.doc_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["demo_trajectory.jsonl", "second.jsonl"]
    assert combo.currentIndex() == 1 and w.path == str(copy)
    combo.activated.emit(0)
    assert w.path == DEMO and w.trajectory is w.documents[DEMO]
    assert w.tree.model.trajectory is w.documents[DEMO]
    qtbot.waitUntil(lambda: w.selection.node is w.documents[DEMO].runs[0], timeout=2000)  # (the next turn)
    pauses = []
    w.session.paused.connect(pauses.append)
    w.run_demo()  # pauses at the start
    qtbot.waitUntil(lambda: w.session.controller.is_paused, timeout=15000)
    assert combo.itemText(combo.currentIndex()) == "Live run (running)"
    combo.activated.emit(1)  # look at a file while the run is paused
    assert w.path == str(copy) and w.tree.model.trajectory is w.documents[str(copy)]
    combo.activated.emit(2)  # and back to the live run
    assert w.trajectory is w.session.recorder.trajectory and w.windowTitle().startswith("Live run")
    combo.activated.emit(0)
    n = len(pauses)
    w.debug.step_over.trigger()  # the next pause brings the live run back, its node selected
    qtbot.waitUntil(lambda: len(pauses) > n and w.session.controller.is_paused, timeout=15000)
    assert w.trajectory is w.session.recorder.trajectory and combo.currentIndex() == 2
    assert w.selection.node is not None and w.tree.model.node(w.tree.view.currentIndex()) is w.selection.node
    w.session.stop()
    qtbot.waitUntil(lambda: not w.session.running, timeout=15000)
    assert combo.itemText(2) == "Live run"


def test_f6_pauses_a_running_run(qtbot, counted):
    import dataclasses

    w = counted
    demo = load_demo()
    slow = dataclasses.replace(demo.config, backend=dataclasses.replace(demo.config.backend, replay_delay=0.2))
    w.start_run(demo.prompt, demo.context, config=slow)  # each model answer takes 0.2 s
    qtbot.waitUntil(lambda: w.session.running and w.debug.pause.isEnabled(), timeout=5000)
    assert w.status.state_label.text() == "Running" and not w.debug.cont.isEnabled()
    key(qtbot, w, Qt.Key.Key_F6)  # Pause
    wait_paused(qtbot, w, 0)
    assert w.status.state_label.text() == "Paused" and w.debug.cont.isEnabled()
    assert w.selection.node is not None  # where it stopped is selected
    key(qtbot, w, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)  # Stop
    qtbot.waitUntil(lambda: not w.session.running, timeout=15000)


def test_showing_combo_tooltips_are_plain_text(qtbot, window, tmp_path):
    name = tmp_path / "<b>odd.jsonl"
    name.write_bytes(Path(DEMO).read_bytes())
    window.open_files([str(name)])
    qtbot.waitUntil(lambda: window.loader.pending == 0 and bool(window.documents), timeout=5000)
    tip = window.doc_combo.itemData(0, Qt.ItemDataRole.ToolTipRole)
    assert "<b>" not in tip and "&lt;b&gt;odd" in tip
    assert window.doc_combo.itemText(0) == "<b>odd.jsonl"  # combo items are plain text already
