"""A live run in the main window: the bundled demo under the debugger (no key, no network)."""

from __future__ import annotations


def test_demo_run_pauses_steps_and_stops(qtbot, window):
    pauses = []
    window.session.paused.connect(pauses.append)
    window.debug.demo.trigger()  # pauses at the start
    qtbot.waitUntil(lambda: bool(pauses) and window.session.controller.is_paused, timeout=15000)
    window.update_debug_state()
    d = window.debug
    assert d.cont.isEnabled() and d.step_over.isEnabled() and d.stop.isEnabled()
    assert not d.run.isEnabled() and not d.demo.isEnabled()
    assert window.status.state_label.text().startswith("Paused")
    traj = window.trajectory
    assert traj is window.session.recorder.trajectory and traj.runs
    assert window.tree.model.rowCount() == 1
    # step until an iteration exists: it appears in the tree and the timeline without a reset
    for _ in range(3):
        n = len(pauses)
        d.step_over.trigger()
        qtbot.waitUntil(lambda n=n: len(pauses) > n and window.session.controller.is_paused, timeout=10000)
    qtbot.waitUntil(lambda: window.timeline.model.rowCount() >= 1, timeout=3000)
    run_idx = window.tree.model.index_of(traj.runs[0])
    assert window.tree.model.rowCount(run_idx) == len(traj.runs[0].iterations) >= 1
    assert window.selection.node is not None  # the paused node is selected everywhere
    d.stop.trigger()
    qtbot.waitUntil(lambda: not window.session.running, timeout=15000)
    window.update_debug_state()
    assert d.run.isEnabled() and not d.stop.isEnabled() and not d.cont.isEnabled()
