"""The one shared "current node" of the window: select anywhere, selected everywhere.

A selection reaches the window over several turns of the event loop, so that no turn, its
repaint included, blocks input for long, on a big log or a small one:

* ``changed``, at once: the views the user navigates with (run tree, timeline, status bar)
  move to the node, and repaint before anything else is done;
* then the content panels (code, output, messages, variables, metrics...; ``add_panel``),
  in the order they were added, on a real zero-interval timer: each turn shows the node in
  panels until ``TURN_S`` has gone, and the rest wait for the next turn. Input, timers and
  the repaint of the panels already updated are handled between the turns (a queued call
  would not do: Qt delivers those in the same pass as the paint before them);
* ``shown``, once every panel shows it.

A selection made meanwhile starts the panels' turns again for the new node, so holding an
arrow key in the timeline shows the panels only the node the key stops on. Code that reads
a content panel right after selecting calls ``settle()`` first.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal

#: how long one turn shows the node in panels before it leaves the rest to the next turn
TURN_S = 0.008


class NodeSelection(QObject):
    """Holds the selected model node (Run / Iteration / CodeBlock / SubCall) or None.

    ``changed`` is emitted once per real change (re-selecting the same node is a no-op), so
    views that both listen and select cannot ping-pong; the panels given to ``add_panel``
    are shown the newest node in the turns after it, then ``shown`` is emitted (see the
    module docstring).
    """

    changed = Signal(object)
    shown = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._node: object | None = None
        self._panels: list[Callable[[Any], Any]] = []
        self._next = 0  # the first panel not shown the node yet
        self._pending = False
        self._turn = QTimer(self)
        self._turn.setSingleShot(True)
        self._turn.setInterval(0)
        self._turn.setTimerType(Qt.TimerType.PreciseTimer)
        self._turn.timeout.connect(self._show_some)

    @property
    def node(self) -> object | None:
        return self._node

    def current(self) -> object | None:
        return self._node

    def add_panel(self, show_node: Callable[[Any], Any]) -> None:
        """A content panel: ``show_node(node)`` in the turns after each selection (after the
        panels added before it). ``show_node`` must not select."""
        self._panels.append(show_node)

    def select(self, node: object | None) -> None:
        if node is self._node:
            return
        self._node = node
        self.changed.emit(node)
        if self._node is node:  # (a listener may have selected another node meanwhile)
            self._pending = True
            self._next = 0
            self._turn.start()

    def clear(self) -> None:
        self.select(None)

    @property
    def pending(self) -> bool:
        """Some content panels have not been shown the selected node yet."""
        return self._pending

    def settle(self) -> None:
        """Show the selected node now in every content panel that has not been shown it."""
        self._turn.stop()
        self._show_some(budget=None)

    def stop(self) -> None:
        """The window closes: no turn is left to come."""
        self._pending = False
        self._turn.stop()

    def refresh(self) -> None:
        """The selected node's content changed in place (e.g. a big file's iteration was
        loaded): tell every view again, the content panels in this turn."""
        node = self._node
        self._turn.stop()
        self._pending = False
        self.changed.emit(node)
        if self._node is node:  # (else a listener selected another node, with its own turns)
            self._pending = True
            self._next = 0
            self._show_some(budget=None)

    def _show_some(self, budget: float | None = TURN_S) -> None:
        if not self._pending:
            return
        node = self._node
        start = time.perf_counter()
        while self._next < len(self._panels):
            show = self._panels[self._next]
            self._next += 1
            try:
                show(node)
            except Exception:  # noqa: BLE001 - as for a slot: reported, the other panels go on
                sys.excepthook(*sys.exc_info())
            if budget is not None and self._next < len(self._panels) and time.perf_counter() - start >= budget:
                self._turn.start()
                return
        self._pending = False
        self.shown.emit(node)

    def run(self) -> object | None:
        """The run the selected node belongs to (the node itself when it is a run)."""
        node = self._node
        if node is None or hasattr(node, "iterations"):
            return node
        return getattr(node, "run", None)
