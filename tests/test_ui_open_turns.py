"""Opening a trajectory is two turns of the event loop (``MainWindow.show_trajectory``): the
tree first, then its first run selected in every panel, with input and timers handled in
between (bench/hostile_gui.py measures the stall this halves)."""

from __future__ import annotations

from PySide6.QtCore import QTimer

from rlm_desktop.engine.demo import load_demo
from rlm_desktop.trajectory.reader import read_file
from tests.support.opening import show_opened

DEMO = str(load_demo().trajectory_path)


def test_the_panels_show_the_first_run_a_turn_after_the_tree(qtbot, window):
    traj = read_file(DEMO)
    run = traj.runs[0]
    ticks = [0]
    at_selection: list[int] = []
    timer = QTimer()
    timer.setInterval(0)
    timer.timeout.connect(lambda: ticks.__setitem__(0, ticks[0] + 1))
    window.selection.changed.connect(lambda node: node is run and at_selection.append(ticks[0]))
    timer.start()
    try:
        window.show_trajectory(traj, DEMO)
        after_show = ticks[0]
        assert window.tree.model.trajectory is traj and window.tree.model.rowCount() == 1
        assert window.selection.node is None and window.opening  # the panels: next turn
        qtbot.waitUntil(lambda: window.selection.node is run, timeout=2000)
    finally:
        timer.stop()
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
