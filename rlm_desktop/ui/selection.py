"""The one shared "current node" of the window: select anywhere, selected everywhere."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal


class NodeSelection(QObject):
    """Holds the selected model node (Run / Iteration / CodeBlock / SubCall) or None.

    ``changed`` is emitted once per real change (re-selecting the same node is a no-op), so
    views that both listen and select cannot ping-pong.
    """

    changed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._node: object | None = None

    @property
    def node(self) -> object | None:
        return self._node

    def current(self) -> object | None:
        return self._node

    def select(self, node: object | None) -> None:
        if node is self._node:
            return
        self._node = node
        self.changed.emit(node)

    def clear(self) -> None:
        self.select(None)

    def refresh(self) -> None:
        """The selected node's content changed in place (e.g. a big file's iteration was
        loaded): tell every view again."""
        self.changed.emit(self._node)

    def run(self) -> object | None:
        """The run the selected node belongs to (the node itself when it is a run)."""
        node = self._node
        if node is None or hasattr(node, "iterations"):
            return node
        return getattr(node, "run", None)
