"""Showing a trajectory in the main window the way opening a file does, and waiting for the
second turn of ``MainWindow.show_trajectory``: its first run selected, every panel on it."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtWidgets import QApplication


def show_opened(window: Any, traj: Any, path: str | None = None, timeout: float = 5.0) -> Any:
    """``window.show_trajectory(traj, path)``, then events until its first run is selected
    (a trajectory without runs: until that turn has passed). Returns ``traj``."""
    window.show_trajectory(traj, path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if traj is None or not traj.runs:
            if not window.opening:
                break
        elif window.selection.node is not None:
            break
        time.sleep(0.001)
    else:
        raise AssertionError(f"the first run of {getattr(traj, 'path', traj)!r} was not selected in {timeout} s")
    return traj
