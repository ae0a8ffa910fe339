"""Opening a trajectory is two turns of the event loop (``MainWindow.show_trajectory``): the
tree first, then its first run selected, with input and timers handled in between; and any
selection is two turns (``NodeSelection``): the tree, timeline and status bar first, the
content panels next (bench/hostile_gui.py measures the stalls these split)."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt

from rlm_desktop.engine.demo import load_demo
from rlm_desktop.trajectory.reader import read_file
from tests.support.opening import Ticks, show_opened, shown

DEMO = str(load_demo().trajectory_path)


def test_the_panels_show_the_first_run_a_turn_after_the_tree(qtbot, window):
    traj = read_file(DEMO)
    run = traj.runs[0]
    at_selection: list[int] = []
    ticks = Ticks()
    window.selection.changed.connect(lambda node: node is run and at_selection.append(ticks.count))
    try:
        window.show_trajectory(traj, DEMO)
        after_show = ticks.count
        assert window.tree.model.trajectory is traj and window.tree.model.rowCount() == 1
        assert window.selection.node is None and window.opening  # the panels: next turn
        qtbot.waitUntil(lambda: window.selection.node is run and not window.selection.pending, timeout=2000)
    finally:
        ticks.stop()
    # the event loop turned (a timer fired) between the tree and the panels
    assert at_selection and at_selection[0] > after_show
    assert not window.opening
    assert window.timeline.model.rowCount() == len(run.iterations)  # the panels are on the run
    assert window.panels["metrics"].run() is run


def test_a_pick_made_before_the_second_turn_is_kept(qtbot, window):
    traj = read_file(DEMO)
    window.show_trajectory(traj, DEMO)
    picked = traj.runs[0].iterations[2]
    window.selection.select(picked)  # e.g. a click on a tree row that was painted in the first turn
    qtbot.wait(50)
    assert not window.opening and window.selection.node is picked


def test_a_trajectory_replaced_before_its_second_turn_never_gets_selected(qtbot, window):
    first, second = read_file(DEMO), read_file(DEMO)
    seen: list[object] = []
    window.selection.changed.connect(seen.append)
    window.show_trajectory(first, DEMO)
    window.show_trajectory(second, DEMO)
    qtbot.waitUntil(lambda: window.selection.node is second.runs[0], timeout=2000)
    assert first.runs[0] not in seen


def test_nothing_is_selected_after_shutdown_or_for_an_empty_file(qtbot, window):
    show_opened(window, None)
    assert window.selection.node is None
    traj = read_file(DEMO)
    window.show_trajectory(traj, DEMO)
    window.shutdown()  # the window closes before the second turn
    qtbot.wait(50)
    assert window.selection.node is None and not window.opening


def test_a_selection_reaches_the_content_panels_a_turn_after_the_tree(qtbot, window):
    traj = show_opened(window, read_file(DEMO), DEMO)
    it = traj.runs[0].iterations[-1]
    code = window.panels["code"]
    before = code.editor.toPlainText()
    ticks = Ticks()
    at_shown: list[int] = []
    window.selection.shown.connect(lambda node: at_shown.append(ticks.count))
    try:
        window.selection.select(it)
        selected_at = ticks.count
        # the navigators are on it in this turn...
        assert window.tree.model.node(window.tree.view.currentIndex()) is it
        assert window.timeline.view.currentIndex().data(Qt.ItemDataRole.UserRole) is it
        assert window.selection.pending and code.editor.toPlainText() == before
        # ...the content panels in a later one
        assert shown(window) is it
    finally:
        ticks.stop()
    assert at_shown == [at_shown[0]] and at_shown[0] > selected_at
    assert code.editor.toPlainText() == it.code_blocks[0].code
    assert window.panels["metrics"].run() is traj.runs[0]


def test_selections_made_in_one_turn_reach_the_panels_once_for_the_last(qtbot, window):
    traj = show_opened(window, read_file(DEMO), DEMO)
    its = traj.runs[0].iterations
    changed: list[object] = []
    panels_saw: list[object] = []
    window.selection.changed.connect(changed.append)
    window.selection.shown.connect(panels_saw.append)
    for it in its[:3]:  # e.g. an arrow key held down in the timeline
        window.selection.select(it)
    shown(window)
    qtbot.wait(20)
    assert changed == its[:3] and panels_saw == [its[2]]
    assert window.panels["code"].editor.toPlainText() == its[2].code_blocks[0].code


def test_settle_and_refresh_show_the_node_in_the_panels_at_once(qtbot, window):
    traj = show_opened(window, read_file(DEMO), DEMO)
    it = traj.runs[0].iterations[1]
    code = window.panels["code"]
    window.selection.select(it)
    window.selection.settle()
    assert not window.selection.pending and code.editor.toPlainText() == it.code_blocks[0].code
    panels_saw: list[object] = []
    window.selection.shown.connect(panels_saw.append)
    window.selection.settle()  # nothing left to show
    window.selection.refresh()  # its content changed in place: every view, this turn
    assert panels_saw == [it] and not window.selection.pending
    qtbot.wait(20)
    assert panels_saw == [it]


def test_no_panel_turn_comes_after_shutdown(qtbot, window):
    traj = show_opened(window, read_file(DEMO), DEMO)
    panels_saw: list[object] = []
    window.selection.shown.connect(panels_saw.append)
    window.selection.select(traj.runs[0].iterations[1])
    window.shutdown()
    qtbot.wait(50)
    assert panels_saw == [] and not window.selection.pending


def test_slow_panels_are_shown_over_turns_in_their_order_and_a_new_pick_restarts_them(qtbot, monkeypatch):
    from rlm_desktop.ui import selection as selection_module
    from rlm_desktop.ui.selection import NodeSelection

    sel = NodeSelection()
    ticks = Ticks()
    calls: list[tuple[str, object, int]] = []
    ended: list[object] = []
    sel.shown.connect(ended.append)

    def panel(name: str):
        def show_node(node: object) -> None:
            calls.append((name, node, ticks.count))
            time.sleep(selection_module.TURN_S * 0.75)
        return show_node

    for name in "abcd":
        sel.add_panel(panel(name))
    x, y = object(), object()
    between: list[tuple[list[str], bool]] = []

    def user_moves_on() -> None:  # between two turns, once the first two panels were shown x
        if len(calls) == 2 and not between:
            between.append(([c[0] for c in calls], sel.pending))
            sel.select(y)

    ticks.timer.timeout.connect(user_moves_on)
    try:
        sel.select(x)
        assert calls == []  # nothing in the selecting turn
        assert shown(sel) is y
    finally:
        ticks.stop()
    assert between == [(["a", "b"], True)]  # the budget was spent after two panels
    assert [(c[0], c[1]) for c in calls] == [("a", x), ("b", x), ("a", y), ("b", y), ("c", y), ("d", y)]
    turns = [t for _, node, t in calls if node is y]
    assert turns == sorted(turns) and len(set(turns)) >= 2  # the event loop turned between panels
    assert ended == [y]


def test_a_panel_that_raises_does_not_stop_the_others(qtbot, monkeypatch):
    import sys

    from rlm_desktop.ui.selection import NodeSelection

    reported: list[type] = []
    monkeypatch.setattr(sys, "excepthook", lambda kind, value, tb: reported.append(kind))
    sel = NodeSelection()
    seen: list[object] = []
    sel.add_panel(lambda node: 1 / 0)
    sel.add_panel(seen.append)
    node = object()
    sel.select(node)
    assert shown(sel) is node
    assert seen == [node] and reported == [ZeroDivisionError] and not sel.pending


def test_metrics_stay_on_the_root_run_when_a_child_runs_node_is_selected(qtbot, window, monkeypatch):
    traj = show_opened(window, read_file(DEMO), DEMO)
    root = traj.runs[0]
    child = next(c.child for it in root.iterations for b in it.code_blocks for c in b.sub_calls if c.child)
    metrics = window.panels["metrics"]
    shown_runs: list[object] = []
    real = metrics.show_run
    monkeypatch.setattr(metrics, "show_run", lambda run: (shown_runs.append(run), real(run))[1])
    window.selection.select(child.iterations[0])
    shown(window)
    assert metrics.run() is root and shown_runs == []  # not the child's plots, then the root's again
