"""The main window's live runs (a mixin of ``MainWindow``): New Run, the demo run, the
debugger session's callbacks (live refresh, the answer or the error at the end), the debug
actions' state, breakpoints from F9, and the delegates of Fork from Here… (``ui.fork``).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from .actions import DEMO_HINT, FINISHED, PAUSED, RUNNING
from .docks import Placeholder
from .window_parts import WindowParts

log = logging.getLogger(__name__)


def run_log_dir() -> str | None:
    """The New Run dialog's log folder (its default when never set; empty: no log)."""
    from PySide6.QtCore import QSettings

    from .panels.new_run_options import GROUP, default_log_dir

    value = QSettings().value(f"{GROUP}/log_dir")
    text = default_log_dir() if value is None else str(value).strip()
    return text or None


class LiveRunsMixin(WindowParts):
    """The window's live runs (see the module docstring); what it uses of the rest of the
    window is declared in ``WindowParts``."""

    def new_run(self) -> None:
        try:
            from .panels.new_run_dialog import NewRunDialog
        except Exception as exc:
            self.report_error(f"New Run dialog unavailable: {exc}")
            return
        dlg = NewRunDialog(self)
        if dlg.exec() != NewRunDialog.DialogCode.Accepted:
            return
        self.start_run(dlg.prompt(), dlg.context(), config=dlg.config())

    def run_demo(self, pause_at_start: bool = True) -> None:
        try:
            from rlm_desktop.engine.demo import load_demo

            demo = load_demo(log_dir=run_log_dir())  # the demo run is logged like any run
        except Exception as exc:
            self.report_error(f"Demo not available: {exc}")
            return
        self.start_run(demo.prompt, demo.context, config=demo.config, pause_at_start=pause_at_start)
        if demo.isolation_note and self.session is not None and self.session.running:
            self.report_error(demo.isolation_note)  # said plainly (Problems + status bar), never silently
        elif pause_at_start and self.session is not None and self.session.running:
            self.status.showMessage(DEMO_HINT)  # one short line: how to go on from here

    def start_run(self, prompt: Any, context: Any, **kw: Any) -> None:
        if self.session is None:
            self.report_error(getattr(self, "_session_error", "Debugger unavailable"))
            return
        try:
            self.session.start(prompt, context, **kw)
        except Exception as exc:
            self.report_error(f"Cannot start the run: {type(exc).__name__}: {exc}")

    def confirm_quit(self) -> bool:
        """Quit (or closing the window) during a run asks first; True: go ahead."""
        if self.session is None or not self.session.running:
            return True
        from PySide6.QtWidgets import QMessageBox

        paused = bool(getattr(self.session.controller, "is_paused", False))
        answer = QMessageBox.question(
            self, "Quit RLM Desktop",
            f"A run is {'paused' if paused else 'in progress'}. Stop it and quit?\n"
            "Its log keeps what it has done so far.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _session_started(self, recorder: Any) -> None:
        self.status.clearMessage()  # the last run's "Run finished — answer: …" is not this run's
        self._threads_shown = False
        self.show_trajectory(recorder.trajectory, None)
        self.setWindowTitle("Live run — RLM Desktop")

    def _session_paused(self, state: Any) -> None:
        """A pause brings the live run back into view (the user may be looking at a file);
        with parallel threads at work the Threads panel comes to the front."""
        rec = self.session.recorder if self.session is not None else None
        if rec is not None and self.trajectory is not rec.trajectory:
            self.show_trajectory(rec.trajectory, None)
            self.setWindowTitle("Live run — RLM Desktop")
        active = [t for t in getattr(state, "runs", ()) if t.state != FINISHED]
        if len(active) > 1 and "threads" in self.docks and not getattr(self, "_threads_shown", False):
            self._threads_shown = True  # once per run: the user may go back to another tab
            self.docks["threads"].show()
            self.docks["threads"].raise_()

    def _session_finished(self, result: Any) -> None:
        """The end of a live run: the answer (or what went wrong) is shown in the window."""
        self.refresh_live()
        self.update_debug_state()
        self.refresh_documents()  # "Live run (running)" -> "Live run"
        status = str(getattr(result, "status", "") or "")
        error = getattr(result, "error", None)
        if status in ("finished", "max_iterations"):
            answer = " ".join(str(result.response or "").split())
            short = answer if len(answer) <= 160 else answer[:159] + "…"
            self.status.showMessage(f"Run {status.replace('_', ' ')} — answer: {short}")
            traj = self.trajectory
            if traj is not None and traj.runs and traj.runs[0].iterations:
                self.selection.select(traj.runs[0].iterations[-1])  # its final-answer card
        elif status == "cancelled":
            self.status.showMessage("Run cancelled", 8000)
        else:
            self.report_error(f"Run {status or 'ended'}: {error or 'no answer'}")
        if getattr(result, "log_error", None):
            self.report_error(f"The run's log is incomplete: {result.log_error}")
        log_path = getattr(result, "log_path", None)
        if log_path and os.path.isfile(log_path):
            self.add_recent(os.path.abspath(log_path))  # File › Open Recent, and Fork from Here…
        self.forks.update()

    def _session_failed(self, message: str) -> None:
        self.refresh_live()
        self.report_error(f"Run failed: {message}")
        self.status.set_state("Failed")

    def _schedule_live_refresh(self) -> None:
        if not self.live_timer.isActive():
            self.live_timer.start()

    def refresh_live(self) -> None:
        traj = self.trajectory
        if traj is not None and self.tree.model.trajectory is traj and traj.runs and self.selection.node is None \
                and not self.opening:  # (not when its first run is about to be selected)
            # opened before its first run was read (a followed file, a run just started):
            # show it as if it had been there (its run selected, metrics on it)
            self.show_trajectory(traj, self.path)
            if self.live_path:
                self.mark_deleted()
        self.tree.refresh()
        self.timeline.refresh()
        if self.session_link is None or self.live_path:
            for p in self.node_panels():
                p.refresh()
        if traj is not None and len(traj.bad_lines) != len(self.problems.bad_lines):
            self.problems.set_bad_lines(self.path, traj.bad_lines)
        self.update_totals()
        if traj is not None and traj.runs:
            self.status.set_isolation(traj.runs[0].metadata)

    def update_debug_state(self) -> None:
        has = self.session is not None and bool(self.session.running)
        state = getattr(self.session, "state", None)  # in order: the session drops stale states
        st = getattr(state, "state", FINISHED)
        self.debug.update(st if has else FINISHED, has_session=self.session is not None)
        rec = getattr(self.session, "recorder", None)
        paused = []
        if has and st == PAUSED and rec is not None:
            from .panels.wiring import node_for_event

            paused = [node_for_event(rec.run, t.event) for t in getattr(state, "threads", ())]
        self._paused_nodes = paused  # kept alive while their id() is in the model
        self.tree.model.set_paused_nodes(paused)  # each child's row says what it is doing
        self.panels["summary"].set_paused_nodes(paused)  # and the selected run's header
        self.debug.toggle_bp.setEnabled(self.session is not None)
        label = {RUNNING: "Running", PAUSED: "Paused", FINISHED: "Ready"}.get(st, st)
        if st == PAUSED:
            reason = getattr(state, "reason", "")
            reason = {"pause": "", "run-to": "run to here"}.get(reason, reason)
            label = f"Paused ({reason})" if reason else label
        if not has:
            result = getattr(self.session, "result", None) if self.session is not None else None
            st_text = str(getattr(result, "status", "") or "")
            label = st_text.replace("_", " ").capitalize() if st_text else "Ready"
        self.status.set_state(label)

    def _restore_breakpoints(self) -> None:
        """Breakpoints of the last session come back (``ui.breakpoint_store``)."""
        if self.session is None:
            return
        from .breakpoint_store import BreakpointStore

        self.breakpoint_store = BreakpointStore(self.session.breakpoints, self)
        problem = self.breakpoint_store.restore()
        self.session.breakpoints_changed.connect(self.breakpoint_store.save)
        if problem:
            self.report_error(problem)
        panel = self.panels.get("breakpoints")
        if panel is not None and not isinstance(panel, Placeholder):
            panel.refresh()

    # -- replay-then-fork (ui.fork) -----------------------------------------------------------
    def fork_target(self, node: Any = None) -> Any:
        return self.forks.target(node)

    def fork_from(self, node: Any = None) -> None:
        self.forks.fork_from(node)

    def toggle_breakpoint(self) -> None:
        bp = self.panels.get("breakpoints")
        if bp is None or isinstance(bp, Placeholder):
            return
        self.selection.settle()  # "here" is the node just selected, even if F9 came first
        fields = bp.here_fields()
        if fields is None:
            self.status.showMessage("Select an iteration to toggle a breakpoint there", 4000)
            return
        mgr = bp.manager
        existing = [b for b in mgr.breakpoints() if getattr(b, "kind", None) == fields["kind"]
                    and getattr(b, "iteration", None) == fields["iteration"]
                    and getattr(b, "depth", None) == fields["depth"]]
        if existing:
            for b in existing:
                mgr.remove(b.id)
        else:
            bp.add(**fields)
        bp.refresh()
