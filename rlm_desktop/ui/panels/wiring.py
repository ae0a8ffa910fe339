"""Connecting the panels to the app-wide node selection ("select anywhere selects everywhere").

``selection`` is the shell's ``NodeSelection`` (``changed = Signal(object)``,
``select(node)``); any object with that shape works::

    connect_selection(selection, code, output, messages, variables, metrics)

Every panel shows the selected node. Clicking an iteration in the metrics
plots or picking a block in the code view's selector selects that node
everywhere. ``show_node`` never emits, so there are no feedback loops.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QWidget

from .code_view import CodeView


def connect_selection(selection: Any, *panels: QWidget) -> None:
    for panel in panels:
        selection.changed.connect(panel.show_node)
        node_selected = getattr(panel, "nodeSelected", None)
        if node_selected is not None:
            node_selected.connect(selection.select)
        if isinstance(panel, CodeView):
            panel.blockActivated.connect(selection.select)


def refresh_all(*panels: QWidget) -> None:
    """Live run: the shown nodes may have grown; panels keep scroll/selection."""
    for panel in panels:
        panel.refresh()
