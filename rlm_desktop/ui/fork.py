"""Replay-then-fork from the window: "Fork from Here…" on an iteration of an opened recording.

``Forks(window)`` owns the action (Debug menu, Ctrl+Shift+F5) and the tree/timeline
context menus. ``fork_from(node)`` asks ``ForkDialog`` for the inputs and the backend
of the turns after the fork, then ``start(plan, config, iteration)`` starts
``DebugSession.start_fork`` with a one-shot breakpoint on the fork turn's answer
(``fork_dialog.fork_condition``): the recording replays up to there, the window
pauses on that answer (Messages offers "Edit response…"), and the user edits,
steps or continues. The user's own breakpoints keep working during the replay.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from .docks import Placeholder
from .timeline import iteration_of
from .tree_model import NodeRole


class Forks(QObject):
    fork_finished = Signal(object, object)  # ForkPlan, CompletionResult (Compare opens on it)

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.bp: Any = None  # the one-shot breakpoint at the fork turn's answer
        self.running_plan: Any = None  # the plan of the fork in progress
        self.menu: QMenu | None = None
        self.action = QAction("&Fork from Here…", window)
        self.action.setObjectName("action.fork")
        self.action.setShortcut(QKeySequence("Ctrl+Shift+F5"))
        self.action.setStatusTip("Re-run the opened recording up to the selected iteration, pause there, "
                                 "then go on with a backend you choose (replaying needs no key)")
        self.action.triggered.connect(lambda: self.fork_from())
        for view in (window.tree.view, window.timeline.view):
            view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            view.customContextMenuRequested.connect(lambda pos, v=view: self.node_menu(v, pos))
        window.selection.changed.connect(lambda _n: self.update())
        session = window.session
        if session is not None:
            session.paused.connect(self._paused)
            session.finished.connect(self._finished)
            session.failed.connect(lambda _m: self.clear())
            session.state_changed.connect(lambda _s: self.update())
        self.update()

    # -- what can be forked -----------------------------------------------------------------
    def live(self) -> bool:
        s = self.window.session
        return s is not None and bool(s.running)

    def recording(self) -> str | None:
        """The log file of what is shown, when it can be forked: an opened recording, or
        the app's own live run once it has ended (its log); not a followed file or a file
        still loading."""
        w = self.window
        if w.path is not None and os.path.isfile(w.path):
            if w.documents.get(w.path) is w.trajectory and not w.previewing:
                return w.path
            return None
        s = w.session
        rec = getattr(s, "recorder", None)
        if s is None or s.running or rec is None or w.trajectory is not rec.trajectory:
            return None
        log_path = getattr(s.result, "log_path", None)
        return log_path if log_path and os.path.isfile(log_path) else None

    def target(self, node: Any = None) -> Any:
        """The iteration a fork would start from (of a forkable recording), or None."""
        from rlm_desktop.trajectory.lazy import is_placeholder

        w = self.window
        it = iteration_of(node if node is not None else w.selection.node)
        if it is None or is_placeholder(it) or self.recording() is None:
            return None
        return it

    def update(self) -> None:
        self.action.setEnabled(self.window.session is not None and not self.live() and self.target() is not None)

    def node_menu(self, view: Any, pos: Any) -> QMenu:
        idx = view.indexAt(pos)
        role = NodeRole if view is self.window.tree.view else Qt.ItemDataRole.UserRole
        node = view.model().data(idx, role) if idx.isValid() else None
        if node is not None:
            self.window.selection.select(node)
        menu = QMenu(view)
        fork = menu.addAction("Fork from Here…", lambda: self.fork_from(node))
        fork.setEnabled(self.window.session is not None and not self.live() and self.target(node) is not None)
        menu.addAction(self.window.debug.toggle_bp)
        copy = getattr(self.window, "act_copy_path", None)
        if copy is not None:
            menu.addSeparator()
            menu.addAction(copy)
        self.menu = menu
        menu.popup(view.viewport().mapToGlobal(pos))
        return menu

    # -- forking ------------------------------------------------------------------------------
    def fork_from(self, node: Any = None) -> None:
        w = self.window
        it = self.target(node)
        if it is None or self.live() or w.session is None:
            w.status.showMessage("Select an iteration of an opened recording or a finished run (no run in "
                                 "progress) to fork", 6000)
            return
        try:
            from rlm_desktop.trajectory import summary

            from .fork_dialog import ForkDialog

            dlg = ForkDialog(self.recording(), it, w, upstream=summary.upstream_of(it))
        except Exception as exc:
            w.report_error(f"Fork dialog unavailable: {type(exc).__name__}: {exc}")
            return
        if dlg.exec() != ForkDialog.DialogCode.Accepted:
            return
        try:
            self.start(dlg.plan(), dlg.config(), it)
        except Exception as exc:
            w.report_error(f"Cannot fork at iteration {it.position + 1} (node path {it.path}): "
                           f"{type(exc).__name__}: {exc}")

    def start(self, plan: Any, config: Any, iteration: Any) -> None:
        """Start ``plan`` (a ``debugger.fork.ForkPlan``); pause at the fork turn's answer."""
        from .fork_dialog import fork_condition

        w = self.window
        self.clear()
        self.bp = w.session.breakpoints.add(kind="condition", condition=fork_condition(iteration), one_shot=True,
                                            transient=True)  # never saved
        try:
            w.session.start_fork(plan, config)
        except Exception:
            self.clear()
            raise
        self.running_plan = plan
        from rlm_desktop.trajectory.names import where

        at = where(iteration)
        w.status.showMessage(f"Replaying up to {at}…")
        w.setWindowTitle(f"Fork of {os.path.basename(str(plan.recording))} at {at} — RLM Desktop")

    def clear(self) -> None:
        bp, self.bp = self.bp, None
        w = self.window
        if bp is None or w.session is None:
            return
        if w.session.breakpoints.get(bp.id) is not None:
            w.session.breakpoints.remove(bp.id)
        panel = w.panels.get("breakpoints")
        if panel is not None and not isinstance(panel, Placeholder):
            panel.refresh()

    def _finished(self, result: Any) -> None:
        self.clear()
        plan, self.running_plan = self.running_plan, None
        if plan is not None:
            self.fork_finished.emit(plan, result)

    def _paused(self, state: Any) -> None:
        bp = self.bp
        hit = getattr(state, "breakpoint", None)
        if bp is None or hit is None or getattr(hit, "id", None) != bp.id:
            return
        self.clear()
        w = self.window
        w.status.set_state("Paused (fork point)")
        w.status.showMessage("Fork point: edit the answer (Messages › Edit response…), "
                             "or step/continue with the chosen backend")
        w.docks["messages"].show()
        w.docks["messages"].raise_()
