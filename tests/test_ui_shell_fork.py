"""Fork from Here…: replay the opened demo recording up to an iteration, pause at its answer,
edit it or go on replaying (no key), from the window."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt

from rlm_desktop.engine.demo import load_demo
from rlm_desktop.trajectory.model import Iteration
from rlm_desktop.ui import fork_dialog
from tests.test_engine_loop import R

DEMO = os.path.abspath(str(load_demo().trajectory_path))


@pytest.fixture
def window(window):  # the shared main window (conftest), plus:
    window.opened = []
    window.loader.loaded.connect(lambda p, t: window.opened.append(p))
    return window


def open_demo_at(qtbot, w, position):
    w.open_files([DEMO])
    qtbot.waitUntil(lambda: bool(w.opened) and w.loader.pending == 0, timeout=5000)
    it = w.trajectory.runs[0].iterations[position]
    w.selection.select(it)
    return it


@pytest.fixture
def accept_defaults(monkeypatch, qtbot):
    seen = {}

    def fake_exec(dlg):
        qtbot.waitUntil(lambda: not dlg.recording_read.reading, timeout=10000)  # read in a worker
        seen["dialog"] = dlg
        seen["backend"] = dlg.backend_id()
        seen["error"] = dlg.validation_error()
        seen["prompt"], seen["context"] = dlg.prompt(), dlg.context()
        dlg.accept()
        return dlg.result()

    monkeypatch.setattr(fork_dialog.ForkDialog, "exec", fake_exec)
    return seen


def wait_fork_point(qtbot, w):
    qtbot.waitUntil(lambda: w.status.state_label.text() == "Paused (fork point)", timeout=20000)


def test_fork_pauses_at_the_chosen_answer_and_an_edit_changes_the_end(qtbot, window, accept_defaults):
    w = window
    demo = load_demo()
    recorded = open_demo_at(qtbot, w, 2)  # iteration 3
    assert w.act_fork.isEnabled() and w.act_fork in w.debug_menu.actions()
    w.act_fork.trigger()
    # the dialog's defaults: replay the recording (no key), the demo's exact prompt and context
    assert accept_defaults["backend"] == "replay" and accept_defaults["error"] is None
    assert accept_defaults["prompt"] == demo.prompt and accept_defaults["context"] == demo.context
    assert accept_defaults["dialog"].fork_at == "r0/i2"
    wait_fork_point(qtbot, w)
    st = w.session.controller.state()
    assert st.event.kind == "LMResponse" and st.event.depth == 0 and st.event.iteration == 3
    live = w.session.recorder.trajectory
    node = w.selection.node
    assert isinstance(node, Iteration) and node.number == 3 and node.parent is live.runs[0]
    assert node.response == recorded.response  # the recorded answer, shown before it runs
    # the turns before it really ran again: same REPL output as the recording
    for a, b in zip(live.runs[0].iterations[:2], w.documents[DEMO].runs[0].iterations[:2], strict=True):
        assert [x.stdout for x in a.code_blocks] == [x.stdout for x in b.code_blocks]
    msgs = w.panels["messages"]
    assert msgs.edit_button.isVisibleTo(w)  # Messages offers "Edit response…"
    assert w.session.breakpoints.breakpoints() == []  # the fork's own breakpoint is gone
    assert not w.act_fork.isEnabled()  # no fork while a run is live
    msgs.responseEdited.emit(node, R("answer['content'] = 'forked answer'\nanswer['ready'] = True"))
    w.debug.cont.trigger()
    qtbot.waitUntil(lambda: not w.session.running, timeout=20000)
    res = w.session.result
    assert res.status == "finished" and res.response == "forked answer"
    edited = live.runs[0].iterations[2]
    assert edited.edited and edited.original_response == recorded.response
    assert len(live.runs[0].iterations) == 3
    assert w.status.state_label.text() == "Finished"


def test_fork_continues_by_replaying_without_a_key(qtbot, window, accept_defaults):
    w = window
    open_demo_at(qtbot, w, 4)  # iteration 5: its rlm_query child run is replayed after the fork
    w.act_fork.trigger()
    wait_fork_point(qtbot, w)
    assert w.session.controller.state().event.iteration == 5
    w.debug.cont.trigger()
    qtbot.waitUntil(lambda: not w.session.running, timeout=20000)
    res = w.session.result
    recorded = w.documents[DEMO].runs[0]
    assert res.status == "finished" and res.response == recorded.final_answer
    assert len(w.session.recorder.trajectory.runs[0].iterations) == len(recorded.iterations)


def test_fork_menu_on_tree_and_timeline(qtbot, window):
    w = window
    assert not w.act_fork.isEnabled()  # nothing opened
    it = open_demo_at(qtbot, w, 1)
    w.selection.select(None)
    idx = w.tree.model.index_of(it)
    rect = w.tree.view.visualRect(idx)
    menu = w.forks.node_menu(w.tree.view, rect.center())
    assert w.selection.node is it  # right-click selects the node
    texts = [a.text() for a in menu.actions()]
    assert "Fork from Here…" in texts and menu.actions()[0].isEnabled()
    menu.close()
    tl = w.timeline.view
    rect = tl.visualRect(w.timeline.model.index(0, 0))
    menu = w.forks.node_menu(tl, rect.center())
    assert w.selection.node is w.trajectory.runs[0].iterations[0] and menu.actions()[0].isEnabled()
    menu.close()
    menu = w.forks.node_menu(tl, QPoint(-50, -50))  # no node under the mouse: the selection is forked
    assert menu.actions()[0].isEnabled()
    menu.close()
    # a live run's nodes cannot be forked (it is not an opened recording)
    w.run_demo()
    qtbot.waitUntil(lambda: w.session.controller.is_paused, timeout=15000)
    assert not w.act_fork.isEnabled()
    w.session.stop()
    qtbot.waitUntil(lambda: not w.session.running, timeout=15000)
    assert w.tree.view.contextMenuPolicy() == Qt.ContextMenuPolicy.CustomContextMenu


def test_fork_condition_names_exactly_one_turn():
    from rlm_desktop.debugger.breakpoints import Breakpoint
    from rlm_desktop.engine import events as ev
    from rlm_desktop.trajectory.reader import read_file
    from rlm_desktop.ui.fork_dialog import fork_condition

    traj = read_file(DEMO)
    child_it = next(n for n in traj.walk() if isinstance(n, Iteration) and n.parent.depth == 1)
    cond = fork_condition(child_it)
    assert "depth == 1" in cond and "run_id.endswith" in cond
    bp = Breakpoint(kind="condition", condition=cond)
    suffix = cond.split("endswith(")[1].rstrip(")").strip("'")
    hit = ev.LMResponse(run_id="abc" + suffix, parent_id="abc", depth=1, iteration=child_it.number, text="x", model="m")
    assert bp.matches(hit)
    assert not bp.matches(ev.LMResponse(run_id="abc/9.0.0", parent_id="abc", depth=1,
                                        iteration=child_it.number, text="x", model="m"))
    assert not bp.matches(ev.LMResponse(run_id="abc", parent_id=None, depth=0, iteration=child_it.number, text="x", model="m"))


def test_fork_dialog_live_backend_plan_and_no_saved_settings(qtbot, tmp_path):
    from PySide6.QtCore import QSettings

    from rlm_desktop.trajectory.reader import read_file
    from rlm_desktop.ui.fork_dialog import ForkDialog
    from rlm_desktop.ui.panels.keystore import clear_session_keys

    copy = tmp_path / "recorded.jsonl"
    copy.write_bytes(Path(DEMO).read_bytes())
    it = read_file(str(copy)).runs[0].iterations[3]
    dlg = ForkDialog(str(copy), it, upstream=True)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: not dlg.recording_read.reading, timeout=10000)  # read in a worker
    try:
        assert dlg.fork_at == "r0/i3" and dlg.run_index == 0 and not dlg.check_prompts
        assert dlg.context() == load_demo().context  # found in the recorded locals
        assert not dlg.replay_path.isEnabled() and not dlg.max_iterations.isEnabled()
        dlg.backend_combo.setCurrentIndex(dlg.backend_combo.findData("compatible"))
        dlg.model_combo.setEditText("local-model")
        dlg.base_url.setText("http://127.0.0.1:9/v1")
        dlg.key_typed_radio.setChecked(True)
        dlg.key_edit.setText("sk-typed-for-fork")
        dlg.prompt_edit.setPlainText("")
        assert "prompt" in dlg.validation_error()
        dlg.prompt_edit.setPlainText("the question")
        assert dlg.validation_error() is None
        plan = dlg.plan()
        assert plan.live.kind == "openai" and plan.live.api_key == "sk-typed-for-fork"
        assert plan.live.base_url == "http://127.0.0.1:9/v1" and plan.check_prompts is False
        assert plan.prompt == "the question" and os.path.samefile(plan.recording, copy)
        dlg.accept()
        assert dlg.result() == dlg.DialogCode.Accepted
        s = QSettings()
        assert s.value("new_run/backend") is None  # the New Run dialog's choices are untouched
        assert all("sk-typed-for-fork" not in str(s.value(k)) for k in s.allKeys())
        # replay continuation: the recording itself, prompts not checked after the fork
        dlg.backend_combo.setCurrentIndex(dlg.backend_combo.findData("replay"))
        live = dlg.plan().live
        assert live.kind == "replay" and live.replay_path == dlg.recording and not live.replay_check_prompts
    finally:
        clear_session_keys()
