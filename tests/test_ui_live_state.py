"""The toolbar and status follow the debugger in order, without asking the controller:
pause/resume announcements may race, the session keeps the newest (issue 13 item 2)."""

from __future__ import annotations

import sys

from PySide6.QtCore import Qt


def test_stepping_with_f11_keeps_the_toolbar_paused(qtbot, window):
    s = window.session
    pauses = []
    s.paused.connect(pauses.append)
    resumed = []
    s.resumed.connect(lambda: resumed.append(1))
    window.debug.demo.trigger()  # pauses at the start
    qtbot.waitUntil(lambda: bool(pauses), timeout=15000)
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        for _ in range(40):
            if not s.running:
                break
            n = len(pauses)
            qtbot.keyClick(window, Qt.Key.Key_F11)
            qtbot.waitUntil(lambda n=n: len(pauses) > n or not s.running, timeout=15000)
            if not s.running:
                break
            qtbot.wait(3)  # a late RUNNING would arrive now
            d = window.debug
            assert s.state.state == "paused", "a stale RUNNING replaced the pause"
            assert d.cont.isEnabled() and d.step_into.isEnabled() and not d.pause.isEnabled()
            assert window.status.state_label.text().startswith("Paused")
    finally:
        sys.setswitchinterval(old)
    assert len(pauses) >= 10 and resumed
    qtbot.keyClick(window, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)  # Stop
    qtbot.waitUntil(lambda: not s.running, timeout=15000)
    assert not window.debug.stop.isEnabled() and window.debug.run.isEnabled()
