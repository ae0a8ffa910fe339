"""The Debug menu / toolbar actions and their enabled state.

``DebugActions.update(state, has_session)`` follows the debugger: Continue and the steps
need a pause, Pause needs a running run, Stop needs any live run, Run needs none.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QStyle, QWidget

RUNNING, PAUSED, FINISHED = "running", "paused", "finished"

SPECS = (
    # attribute, text, shortcut, standard icon, tip
    ("run", "&New Run…", "Ctrl+R", QStyle.StandardPixmap.SP_MediaPlay, "Start a new run (New Run dialog)"),
    ("demo", "Run &Demo", "Ctrl+Shift+R", QStyle.StandardPixmap.SP_MediaSkipForward,
     "Replay the bundled demo run under the debugger (no API key needed)"),
    ("cont", "&Continue", "F5", QStyle.StandardPixmap.SP_MediaSeekForward, "Continue to the next breakpoint"),
    ("pause", "&Pause", "F6", QStyle.StandardPixmap.SP_MediaPause, "Pause at the next step"),
    ("step_over", "Step &Over", "F10", QStyle.StandardPixmap.SP_ArrowRight, "Next step at this depth"),
    ("step_into", "Step &Into", "F11", QStyle.StandardPixmap.SP_ArrowDown, "Next step at any depth"),
    ("step_out", "Step O&ut", "Shift+F11", QStyle.StandardPixmap.SP_ArrowUp, "Run until the current depth returns"),
    ("stop", "&Stop", "Shift+F5", QStyle.StandardPixmap.SP_MediaStop, "Cancel the run"),
    ("toggle_bp", "Toggle &Breakpoint", "F9", QStyle.StandardPixmap.SP_DialogApplyButton,
     "Add or remove a breakpoint at the selected iteration"),
)


class DebugActions(QObject):
    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        style = window.style()
        self.actions: dict[str, QAction] = {}
        for name, text, shortcut, icon, tip in SPECS:
            act = QAction(style.standardIcon(icon), text, window)
            act.setObjectName(f"action.{name}")
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
            act.setToolTip(f"{text.replace('&', '').rstrip('…')} ({shortcut}) — {tip}")
            act.setStatusTip(tip)
            self.actions[name] = act
            setattr(self, name, act)
        # Pause: F6 (VS Code) and Ctrl+Alt+Pause/Break (Visual Studio)
        self.actions["pause"].setShortcuts([QKeySequence("F6"), QKeySequence("Ctrl+Alt+Pause")])
        self.state = FINISHED
        self.update(FINISHED, has_session=False)

    def __iter__(self):
        return iter(self.actions.values())

    def update(self, state: str, has_session: bool = True) -> None:
        self.state = state
        live = has_session and state in (RUNNING, PAUSED)
        paused = has_session and state == PAUSED
        a: Any = self.actions
        a["run"].setEnabled(not live)
        a["demo"].setEnabled(not live)
        a["cont"].setEnabled(paused)
        a["pause"].setEnabled(live and not paused)
        for name in ("step_over", "step_into", "step_out"):
            a[name].setEnabled(paused)
        a["stop"].setEnabled(live)
        a["toggle_bp"].setEnabled(has_session)
