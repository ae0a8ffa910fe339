"""Builds the dock panels, using each panel module when it is installed and a placeholder
label otherwise (so the window works while panels are still being written)."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

log = logging.getLogger(__name__)

# name, title, module, class, default area
PANELS = (
    ("code", "Code", "rlm_desktop.ui.panels.code_view", "CodeView"),
    ("output", "REPL Output", "rlm_desktop.ui.panels.output", "OutputPanel"),
    ("messages", "Messages", "rlm_desktop.ui.panels.messages", "MessagesPanel"),
    ("variables", "Variables", "rlm_desktop.ui.panels.variables", "VariablesPanel"),
    ("metrics", "Metrics", "rlm_desktop.ui.panels.metrics", "MetricsPanel"),
    ("flame", "Cost Flame Graph", "rlm_desktop.ui.flame_graph", "FlamePanel"),
    ("watches", "Watches", "rlm_desktop.ui.panels.watches", "WatchesPanel"),
    ("summary", "Run Summary", "rlm_desktop.ui.panels.run_header", "RunSummaryHeader"),
)


class Placeholder(QLabel):
    """Stands in for a panel that could not be made; has the panel interface (no-ops)."""

    def __init__(self, title: str, why: str) -> None:
        super().__init__(f"{title}\n\n(not available: {why})")
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        self.setEnabled(False)

    def show_node(self, node: Any) -> None:
        pass

    def show_run(self, run: Any) -> None:
        pass

    def refresh(self) -> None:
        pass


def make_panel(title: str, module: str, cls: str, factory: Callable[[type], QWidget] | None = None) -> QWidget:
    try:
        klass = getattr(importlib.import_module(module), cls)
        return factory(klass) if factory is not None else klass()
    except Exception as exc:  # a missing or broken panel must not stop the app
        log.exception("panel %s unavailable", module)
        return Placeholder(title, f"{type(exc).__name__}: {exc}")


def is_placeholder(w: QWidget) -> bool:
    return isinstance(w, Placeholder)
