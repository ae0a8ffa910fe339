"""Opening a file lays out no dock again: the panels' contents change, their places do not.

A dock whose size hint follows its contents (a label's text, a hidden button's) moves its
neighbours when a file is opened or a folder listed: the whole window is laid out and
painted again, ~30-60 ms each time on a small machine (issue 15, item 3)."""

from __future__ import annotations

import pytest
from test_ui_panels_data import sample_trajectory


@pytest.fixture
def window(window, qtbot):  # the shared main window (conftest), at a desktop's size and settled
    window.resize(1400, 900)
    qtbot.waitExposed(window)
    qtbot.wait(200)
    return window


def _places(w) -> dict[str, tuple[int, int, int, int]]:
    places = {name: d.geometry().getRect() for name, d in w.docks.items() if d.isVisible()}
    places["status bar"] = w.statusBar().geometry().getRect()
    return places


def test_opening_a_file_moves_no_dock(qtbot, window):
    before = _places(window)
    traj = sample_trajectory()
    window.show_trajectory(traj, traj.path)
    qtbot.wait(300)
    assert window.tree.model.rowCount() > 0 and window.status.tokens_label.text()
    assert _places(window) == before
    again = sample_trajectory()
    window.show_trajectory(again, again.path)
    qtbot.wait(300)
    assert _places(window) == before
