"""Breakpoints kept across restarts, hit-count conditions and "disabled until another
breakpoint is hit", from the window (issue 13 item 4)."""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest

from rlm_desktop.engine.demo import load_demo
from rlm_desktop.ui.breakpoint_store import KEY
from rlm_desktop.ui.panels.breakpoint_editor import BreakpointEditor

DEMO = os.path.abspath(str(load_demo().trajectory_path))


def new_window(qtbot):
    from rlm_desktop.ui.main_window import MainWindow

    w = MainWindow(restore_layout=False)
    qtbot.addWidget(w)
    w.show()
    return w


def add_with_editor(qtbot, window, act, monkeypatch):
    """Click Add… in the Breakpoints panel; in the editor, ``act(editor)`` types and clicks,
    then Return accepts. (The editor is shown without a nested event loop: PySide6 6.12
    crashes later when a modal loop ends inside a timer callback.)"""
    panel = window.panels["breakpoints"]
    window.docks["breakpoints"].raise_()

    def exec_(dlg):
        dlg.show()
        act(dlg)
        qtbot.keyClick(dlg, Qt.Key.Key_Return)
        return dlg.result()

    monkeypatch.setattr(BreakpointEditor, "exec", exec_)
    before = len(panel.manager.breakpoints())
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    assert len(panel.manager.breakpoints()) == before + 1
    return panel.manager.breakpoints()[-1]


def condition_bp(text, hit_downs=0, hit_n=None, wait_downs=0):
    """Keys for the editor: kind "Python condition", the condition, the hit choice (Down
    presses in its combo), N, and the breakpoint to wait for (Down presses)."""

    def act(dlg):
        while dlg.kind.currentData() != "condition":
            QTest.keyClick(dlg.kind, Qt.Key.Key_Down)
        QTest.keyClicks(dlg.condition, text)
        for _ in range(hit_downs):
            QTest.keyClick(dlg.hit_choice, Qt.Key.Key_Down)
        if hit_n is not None:
            dlg.hit_n.selectAll()
            QTest.keyClicks(dlg.hit_n, str(hit_n))
        for _ in range(wait_downs):
            QTest.keyClick(dlg.wait_for, Qt.Key.Key_Down)

    return act


def test_breakpoints_come_back_after_a_restart(qtbot, window, monkeypatch):
    window.open_files([DEMO])
    qtbot.waitUntil(lambda: DEMO in window.documents, timeout=10000)
    window.selection.select(window.trajectory.runs[0].iterations[2])
    qtbot.keyClick(window, Qt.Key.Key_F9)  # Toggle Breakpoint
    bp = add_with_editor(qtbot, window, condition_bp('kind == "FinalAnswer"', hit_downs=3, hit_n=2, wait_downs=1),
                         monkeypatch)
    first = window.session.breakpoints.breakpoints()[0]
    assert bp.hit_condition == "%2" and bp.wait_for == first.id
    window.close()  # quit
    again = new_window(qtbot)
    try:
        bps = again.session.breakpoints.breakpoints()
        assert [(b.kind, b.iteration, b.depth) for b in bps] == [("iteration", 3, 0), ("condition", None, None)]
        assert bps[1].hit_condition == "%2" and bps[1].wait_for == bps[0].id
        assert bps[1].condition == 'kind == "FinalAnswer"'
        assert again.panels["breakpoints"].model.rowCount() == 2
        text = again.panels["breakpoints"].model.index(1, 3).data()
        assert text == "0 · stop on every 2nd hit"
    finally:
        again.shutdown()


def test_unreadable_saved_breakpoints_fall_back_to_none(qtbot):
    QSettings().setValue(KEY, '{"version": 99, "breakpoints": [')
    w = new_window(qtbot)
    try:
        assert w.session.breakpoints.breakpoints() == []
        assert any("could not be read" in e for e in w.problems.errors)
        assert QSettings().value(KEY + ".unreadable") == '{"version": 99, "breakpoints": ['
        w.session.breakpoints.add(kind="final")
        qtbot.waitUntil(lambda: QSettings().value(KEY) is not None, timeout=3000)
        assert QSettings().value(KEY + ".unreadable") is not None  # never overwritten
    finally:
        w.shutdown()


def paused_at(qtbot, w, n):
    qtbot.waitUntil(lambda: w.paused_count > n and w.session.state.state == "paused", timeout=20000)
    return w.session.state


def test_every_second_hit_and_wait_for_stop_where_they_say(qtbot, window, monkeypatch):
    window.paused_count = 0
    window.session.paused.connect(lambda _s: setattr(window, "paused_count", window.paused_count + 1))
    every2 = add_with_editor(qtbot, window, condition_bp('kind == "IterationStarted" and depth == 0',
                                                         hit_downs=3, hit_n=2), monkeypatch)
    after = add_with_editor(qtbot, window, condition_bp('kind == "LMResponse" and depth == 0', wait_downs=1),
                            monkeypatch)
    assert every2.hit_condition == "%2" and after.wait_for == every2.id
    qtbot.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert paused_at(qtbot, window, 0).breakpoint is None  # Run Demo pauses at its start
    qtbot.keyClick(window, Qt.Key.Key_F5)
    st = paused_at(qtbot, window, 1)  # not at iteration 1: the 2nd hit
    assert st.breakpoint.id == every2.id and st.event.iteration == 2 and every2.hit_count == 2
    qtbot.keyClick(window, Qt.Key.Key_F5)
    st = paused_at(qtbot, window, 2)  # the LMResponse breakpoint was waiting until now
    assert st.breakpoint.id == after.id and st.event.iteration == 2 and after.hit_count == 1
    window.session.stop()
    qtbot.waitUntil(lambda: not window.session.running, timeout=15000)
