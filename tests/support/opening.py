"""Showing a trajectory in the main window the way opening a file does, selecting in it the
way a click does, and waiting for the later turns of both: ``MainWindow.show_trajectory``
selects the first run a turn after the tree, and ``NodeSelection`` shows a node in the
content panels a turn after the tree and timeline."""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication


def show_opened(window: Any, traj: Any, path: str | None = None, timeout: float = 5.0) -> Any:
    """``window.show_trajectory(traj, path)``, then events until its first run is selected
    and shown in the panels (a trajectory without runs: until that turn has passed).
    Returns ``traj``."""
    window.show_trajectory(traj, path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if traj is None or not traj.runs:
            if not window.opening:
                break
        elif window.selection.node is not None and not window.selection.pending:
            break
        time.sleep(0.001)
    else:
        raise AssertionError(f"the first run of {getattr(traj, 'path', traj)!r} was not selected in {timeout} s")
    return traj


def shown(where: Any, timeout: float = 5.0) -> Any:
    """Events until the selected node has reached the content panels (the second turn of a
    selection, ``NodeSelection.shown``). ``where``: a window, or a ``NodeSelection``.
    Returns the selected node."""
    selection = getattr(where, "selection", where)
    deadline = time.monotonic() + timeout
    while selection.pending:
        if time.monotonic() > deadline:
            raise AssertionError(f"the selected node was not shown in the panels in {timeout} s")
        QApplication.processEvents()
        time.sleep(0.001)
    return selection.node


def click_node(qtbot: Any, window: Any, node: Any) -> Any:
    """A real mouse click on ``node``'s row of the run tree, then events until the panels
    show it. Returns the node."""
    view = window.tree.view
    idx = window.tree.model.index_of(node)
    assert idx.isValid(), f"{getattr(node, 'path', node)!s} is not in the run tree"
    view.scrollTo(idx)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(idx).center())
    assert window.selection.node is node
    return shown(window)


def open_and_wait(qtbot: Any, window: Any, *paths: Any, timeout: int = 8000) -> None:
    """``window.open_files(paths)`` as File > Open does, then events until they are read,
    the shown one's first run is selected and the panels show it."""
    n = len(window.documents)
    window.open_files([str(p) for p in paths])
    qtbot.waitUntil(lambda: window.loader.pending == 0 and len(window.documents) >= min(n + 1, len(paths))
                    and not window.opening and not window.selection.pending, timeout=timeout)


class Ticks:
    """Counts the turns of the GUI event loop (a 0 ms timer fires once per turn)."""

    def __init__(self) -> None:
        self.count = 0
        self.timer = QTimer()
        self.timer.setInterval(0)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        self.count += 1

    def stop(self) -> int:
        self.timer.stop()
        return self.count
