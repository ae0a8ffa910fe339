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
#: Shown once a demo run waits at its start (``--demo``, Run Demo).
DEMO_HINT = "Paused at the start of the demo: F5 Continue · F10 Step Over · F11 Step Into"

SPECS = (
    # attribute, text, shortcut, standard icon, tip
    ("run", "&New Run…", "Ctrl+R", QStyle.StandardPixmap.SP_MediaPlay, "Start a new run (New Run dialog)"),
    ("demo", "Run &Demo", "Ctrl+Shift+R", QStyle.StandardPixmap.SP_MediaSkipForward,
     "Replay the bundled demo run under the debugger (no API key needed)"),
    ("cont", "&Continue", "F5", QStyle.StandardPixmap.SP_MediaSeekForward,
     "Run on until a breakpoint is hit or the run ends"),
    ("pause", "&Pause", "F6", QStyle.StandardPixmap.SP_MediaPause,
     "Stop at the next step boundary: a turn, a code block or a sub-call"),
    ("step_over", "Step &Over", "F10", QStyle.StandardPixmap.SP_ArrowRight,
     "Run to the next step of this run: the next turn (the model's request, then its answer), "
     "code block or sub-call at this depth; a sub-call's child run runs through without stopping"),
    ("step_into", "Step &Into", "F11", QStyle.StandardPixmap.SP_ArrowDown,
     "Run to the very next step at any depth: at a sub-call, into its child run's turns, blocks and sub-calls"),
    ("step_out", "Step O&ut", "Shift+F11", QStyle.StandardPixmap.SP_ArrowUp,
     "Run until this child run returns to the sub-call that started it (the next step at a lower depth)"),
    ("stop", "&Stop", "Shift+F5", QStyle.StandardPixmap.SP_MediaStop, "Cancel the run"),
    ("toggle_bp", "Toggle &Breakpoint", "F9", QStyle.StandardPixmap.SP_DialogApplyButton,
     "Add or remove a breakpoint at the selected iteration"),
)


class DebugActions(QObject):
    """The debugger's actions (``SPECS``), each also an attribute by its name."""

    run: QAction
    demo: QAction
    cont: QAction
    pause: QAction
    step_over: QAction
    step_into: QAction
    step_out: QAction
    stop: QAction
    toggle_bp: QAction

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
            act.setWhatsThis(tip)
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
