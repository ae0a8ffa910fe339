"""The app's own runs can be used again (issue 13 item 9) and the first-start help (item 13):
the demo run writes a log, a finished live run can be forked, its log and followed folders
are in Open Recent; after Run Demo one hint line; the Debug menu explains the step bounds."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from rlm_desktop.trajectory.reader import read_file
from rlm_desktop.ui import fork_dialog
from rlm_desktop.ui.actions import DEMO_HINT

CTRL_SHIFT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def window(window, qtbot):
    window.activateWindow()
    qtbot.waitExposed(window)
    window.pauses = []
    window.session.paused.connect(window.pauses.append)
    return window


def key(qtbot, w, k, mod=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(QApplication.focusWidget() or w, k, mod)


def demo_to_the_end(qtbot, w):
    key(qtbot, w, Qt.Key.Key_R, CTRL_SHIFT)  # Run Demo: paused at its start
    qtbot.waitUntil(lambda: bool(w.pauses) and w.session.controller.is_paused, timeout=15000)
    assert w.status.currentMessage() == DEMO_HINT
    key(qtbot, w, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: not w.session.running, timeout=30000)
    return w.session.result


def test_demo_run_is_logged_in_open_recent_and_can_be_forked(qtbot, window, monkeypatch):
    w = window
    res = demo_to_the_end(qtbot, w)
    assert res.status == "finished" and res.log_path and os.path.isfile(res.log_path)
    assert read_file(res.log_path).runs[0].final_answer == res.response
    # under New Run's default log folder (the tests' own data folder, never the user's)
    assert res.log_path.startswith(os.environ["XDG_DATA_HOME"])
    w.recent_menu.aboutToShow.emit()
    assert w.recent_menu.actions()[0].text() == os.path.abspath(res.log_path)
    # the finished live run: pick iteration 3 in the tree, Fork from Here (Ctrl+Shift+F5)
    live = w.session.recorder.trajectory
    assert w.trajectory is live
    it = live.runs[0].iterations[2]
    w.tree.view.setFocus()
    w.tree.view.setCurrentIndex(w.tree.model.index_of(it))
    assert w.act_fork.isEnabled()
    seen = {}

    def fake_exec(dlg):
        seen["dialog"] = dlg
        qtbot.waitUntil(lambda: not dlg.recording_read.reading, timeout=10000)  # read in a worker
        dlg.accept()
        return dlg.result()

    monkeypatch.setattr(fork_dialog.ForkDialog, "exec", fake_exec)
    n = len(w.pauses)
    key(qtbot, w, Qt.Key.Key_F5, CTRL_SHIFT)
    assert seen["dialog"].recording == os.path.abspath(res.log_path) and seen["dialog"].fork_at == "r0/i2"
    qtbot.waitUntil(lambda: len(w.pauses) > n and w.status.state_label.text() == "Paused (fork point)",
                    timeout=20000)
    assert w.session.controller.state().event.iteration == 3
    key(qtbot, w, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: not w.session.running, timeout=30000)
    assert w.session.result.status == "finished" and w.session.result.response == res.response


def test_a_running_run_cannot_be_forked(qtbot, window):
    w = window
    key(qtbot, w, Qt.Key.Key_R, CTRL_SHIFT)
    qtbot.waitUntil(lambda: bool(w.pauses) and w.session.controller.is_paused, timeout=15000)
    assert w.forks.recording() is None and not w.act_fork.isEnabled()
    key(qtbot, w, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: not w.session.running, timeout=30000)


def test_followed_folders_are_in_open_recent(qtbot, window, tmp_path):
    w = window
    folder = tmp_path / "logs"
    folder.mkdir()
    assert w.follow(str(folder))
    w.recent_menu.aboutToShow.emit()
    texts = [a.text() for a in w.recent_menu.actions()]
    assert f"Follow {folder}" in texts and w.recent_menu.isEnabled()
    calls = []
    w.follow = lambda p: calls.append(p) or True  # the menu entry follows it again
    next(a for a in w.recent_menu.actions() if a.text() == f"Follow {folder}").trigger()
    assert calls == [str(folder)]
    next(a for a in w.recent_menu.actions() if a.text() == "Clear Recent Files").trigger()
    assert w.recent_follows() == []


def test_debug_menu_tooltips_explain_the_step_boundaries(qtbot, window):
    w = window
    assert w.debug_menu.toolTipsVisible()
    tips = {name: w.debug.actions[name].toolTip() for name in ("step_over", "step_into", "step_out", "pause")}
    assert "F10" in tips["step_over"] and "turn" in tips["step_over"] and "code block" in tips["step_over"]
    assert "sub-call" in tips["step_over"] and "child run runs through" in tips["step_over"]
    assert "F11" in tips["step_into"] and "into its child run" in tips["step_into"]
    assert "returns to the sub-call" in tips["step_out"]
    assert all(k in tips["pause"] for k in ("turn", "code block", "sub-call"))
    # the hint names the three keys, in one short line
    assert all(k in DEMO_HINT for k in ("F5", "F10", "F11")) and "\n" not in DEMO_HINT and len(DEMO_HINT) < 90
