"""The main window: dock panels around one NodeSelection, menus, debug toolbar, status bar.

Recorded files are read off the GUI thread (``Loader``); live runs come from the debugger
session (``ui.session.DebugSession``) or from a followed folder (``ui.follow``). Either way
the panels see the same ``trajectory.model`` objects.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QMainWindow, QMessageBox, QToolBar, QWidget

from rlm_desktop.trajectory import names
from rlm_desktop.trajectory.model import Trajectory

from . import heap, theme
from .actions import DebugActions
from .bridge import OffThread
from .docks import PANELS, Placeholder, make_panel
from .layout import LayoutKeeper, hide_stray_tab_bars
from .lazy_document import LazyDocuments
from .loader import Loader
from .panels.roles import TabAware
from .problems import ProblemsPanel
from .run_tree import RunTree
from .search import SearchPanel
from .selection import NodeSelection
from .status import StatusBar
from .timeline import Timeline
from .window_files import FILE_FILTER, MAX_RECENT, RECENT_KEY, FilesMixin
from .window_live import LiveRunsMixin

log = logging.getLogger(__name__)
__all__ = ["FILE_FILTER", "MAX_RECENT", "RECENT_KEY", "MainWindow"]


class MainWindow(FilesMixin, LiveRunsMixin, QMainWindow):
    def __init__(self, *, restore_layout: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MainWindow")
        self.setWindowTitle("RLM Desktop")
        self.resize(1400, 880)
        self.setDockNestingEnabled(True)
        self.setDockOptions(
            QMainWindow.DockOption.AnimatedDocks
            | QMainWindow.DockOption.AllowNestedDocks
            | QMainWindow.DockOption.AllowTabbedDocks
        )
        self.setAcceptDrops(True)
        self.selection = NodeSelection(self)
        self.loader = Loader(self)
        self.loader.loaded.connect(self._loaded)
        self.loader.failed.connect(lambda p, msg: self.report_error(f"Cannot open {p}: {msg}"))
        self.loader.preview.connect(self._preview)
        self.loader.progress.connect(self._progress)
        self.lazy_docs = LazyDocuments(self)  # big files: iterations parsed on demand
        self.previewing: str | None = None  # a big file shown by its first iteration while it loads
        self.trajectory: Trajectory | None = None
        self.path: str | None = None
        self.live_path: str | None = None
        self.documents: dict[str, Trajectory] = {}
        self.session: Any = None
        self.session_link: Any = None
        self.follow_ctl: Any = None
        self.docks: dict[str, QDockWidget] = {}
        self.panels: dict[str, QWidget] = {}
        self._open_timer = QTimer(self)
        self._open_timer.setSingleShot(True)
        self._open_timer.setInterval(0)
        self._open_timer.timeout.connect(self._select_first_run)
        self.live_timer = QTimer(self)
        self.live_timer.setSingleShot(True)
        self.live_timer.setInterval(60)
        self.live_timer.timeout.connect(self.refresh_live)

        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        self._make_load_cancel()
        self._make_session()
        self._make_docks()
        self._make_actions()
        self._make_menus()
        self._restore_breakpoints()
        self.status.bad_lines_clicked.connect(self.show_problems)
        self.problems.changed.connect(lambda _n: self.status.set_bad_lines(len(self.problems.bad_lines)))
        self.layout_keeper = LayoutKeeper(self)
        if restore_layout:
            self.layout_keeper.restore()
        self.update_debug_state()

    # -- construction ------------------------------------------------------------------------
    def _make_session(self) -> None:
        try:
            from .session import DebugSession

            self.session = DebugSession(self)
        except Exception as exc:  # the debugger failed to load: recorded files still work
            log.exception("no debug session")
            self._session_error = f"Debugger unavailable: {exc}"
            return
        self.session.started.connect(self._session_started)
        self.session.state_changed.connect(lambda _st: self.update_debug_state())
        self.session.event_applied.connect(lambda *_: self._schedule_live_refresh())
        self.session.failed.connect(self._session_failed)
        self.session.finished.connect(self._session_finished)
        self.session.paused.connect(self._session_paused)  # before SessionLink selects the node

    def _dock(self, name: str, title: str, widget: QWidget) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock.{name}")
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.docks[name] = dock
        self.panels[name] = widget
        if isinstance(widget, TabAware):
            dock.visibilityChanged.connect(widget.tab_shown)
        return dock

    def _make_docks(self) -> None:
        self.tree = RunTree(self.selection)
        self.timeline = Timeline(self.selection)
        self.search = SearchPanel(self.selection)
        self.problems = ProblemsPanel()
        d_tree = self._dock("tree", "Run Tree", self.tree)
        d_time = self._dock("timeline", "Iterations", self.timeline)
        for name, title, module, cls in PANELS:
            self._dock(name, title, make_panel(title, module, cls))
        bps = self.session.breakpoints if self.session is not None else None
        self._dock("breakpoints", "Breakpoints",
                   make_panel("Breakpoints", "rlm_desktop.ui.panels.breakpoints", "BreakpointsPanel",
                              lambda k: k(bps)))
        self._dock("threads", "Threads", make_panel("Threads", "rlm_desktop.ui.panels.threads", "ThreadsPanel",
                                                    lambda k: k(self.session)))
        self._dock("runs", "Runs", self._make_runs_panel())
        self._dock("search", "Search", self.search)
        self._dock("problems", "Problems", self.problems)
        d = self.docks
        self.addDockWidget(Qt.DockWidgetArea.TopDockWidgetArea, d_time)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, d_tree)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, d["summary"])  # over code and messages
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, d["code"])
        self.splitDockWidget(d["code"], d["messages"], Qt.Orientation.Horizontal)
        self.splitDockWidget(d["code"], d["output"], Qt.Orientation.Vertical)
        self.splitDockWidget(d["messages"], d["metrics"], Qt.Orientation.Vertical)
        self.splitDockWidget(d_tree, d["runs"], Qt.Orientation.Vertical)
        self.tabifyDockWidget(d["output"], d["variables"])
        self.tabifyDockWidget(d["metrics"], d["flame"])
        self.tabifyDockWidget(d["metrics"], d["watches"])
        d["metrics"].raise_()
        for other in ("breakpoints", "threads", "search", "problems"):
            self.tabifyDockWidget(d["runs"], d[other])
        d["breakpoints"].raise_()  # a debugger shows its breakpoints; Runs is for followed folders
        d["output"].raise_()
        self.resizeDocks([d_tree, d["code"], d["messages"]], [380, 560, 460], Qt.Orientation.Horizontal)
        self.resizeDocks([d_time, d_tree, d["runs"]], [84, 520, 220], Qt.Orientation.Vertical)
        self.resizeDocks([d["summary"], d["code"], d["output"]], [150, 400, 240], Qt.Orientation.Vertical)
        self.resizeDocks([d["messages"], d["metrics"]], [300, 430], Qt.Orientation.Vertical)
        self._wire_panels()

    def _make_runs_panel(self) -> QWidget:
        def factory(klass: type) -> QWidget:
            from .follow import FollowController

            self.follow_ctl = FollowController(self)
            self.follow_ctl.trajectory_updated.connect(self._live_file_updated)
            self.follow_ctl.error.connect(self.report_error)
            self.follow_ctl.notice.connect(self._live_notice)
            panel = klass(self.follow_ctl)
            panel.run_activated.connect(self.open_live_run)
            return panel

        return make_panel("Runs", "rlm_desktop.ui.runs_panel", "RunsPanel", factory)

    def node_panels(self) -> list[QWidget]:
        return [self.panels[n] for n, *_ in PANELS if not isinstance(self.panels[n], Placeholder)]

    def _wire_panels(self) -> None:
        panels = self.node_panels()
        bp = self.panels["breakpoints"]
        try:
            from .panels.wiring import SessionLink, connect_selection

            connect_selection(self.selection, *panels, *([] if isinstance(bp, Placeholder) else [bp]))
            if self.session is not None:
                self.session_link = SessionLink(self.session, self.selection, panels)
        except Exception:  # older panels without wiring: plain show_node
            log.exception("panel wiring unavailable")
            for p in panels:
                self.selection.add_panel(p.show_node)
        self.selection.changed.connect(self._selection_changed)
        metrics = self.panels.get("metrics")
        if metrics is not None and not isinstance(metrics, Placeholder):
            metrics.follow_root = True  # the dock shows the root run; its depth plots the rest
        self.search.jumped.connect(self._show_hit)
        threads = self.panels["threads"]
        if not isinstance(threads, Placeholder):
            threads.nodeSelected.connect(self.selection.select)

    def _make_actions(self) -> None:
        self.debug = DebugActions(self)
        d = self.debug
        d.run.triggered.connect(lambda: self.new_run())
        d.demo.triggered.connect(lambda _checked=False: self.run_demo())  # not run_demo(checked)
        if self.session is not None:
            d.cont.triggered.connect(self.session.resume)
            d.pause.triggered.connect(self.session.pause)
            d.step_over.triggered.connect(self.session.step_over)
            d.step_into.triggered.connect(self.session.step_into)
            d.step_out.triggered.connect(self.session.step_out)
            d.stop.triggered.connect(self.session.stop)
        d.toggle_bp.triggered.connect(self.toggle_breakpoint)
        from .fork import Forks

        self.forks = Forks(self)
        self.act_fork = self.forks.action
        from .compare.launch import Comparisons

        self.comparisons = Comparisons(self)
        from .export_action import HtmlExport

        self.html_export = HtmlExport(self)
        tb = QToolBar("Debug", self)
        tb.setObjectName("toolbar.debug")
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for name in ("run", "demo", None, "cont", "pause", "step_over", "step_into", "step_out", "stop", None,
                     "toggle_bp"):
            if name is None:
                tb.addSeparator()
            else:
                tb.addAction(d.actions[name])
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.debug_toolbar = tb
        self.documents_toolbar = self._make_documents_toolbar()
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.documents_toolbar)

    def _make_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        self.act_open = m.addAction("&Open…", self.open_dialog)
        self.act_open.setShortcut(QKeySequence.StandardKey.Open)
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self.fill_recent)
        self.fill_recent()
        m.addAction("&Follow Folder…", self.follow_dialog).setShortcut(QKeySequence("Ctrl+Shift+O"))
        m.addAction("Open &Demo Trajectory", self.open_demo)
        self.act_debug_program = m.addAction("Debug &Program…", self.debug_program)
        m.addSeparator()
        m.addAction(self.comparisons.action)
        m.addAction(self.html_export.action)
        m.addSeparator()
        self.act_quit = m.addAction("&Quit", self.close)  # asks first during a run (confirm_quit)
        self.act_quit.setShortcuts(QKeySequence.keyBindings(QKeySequence.StandardKey.Quit) or [QKeySequence("Ctrl+Q")])
        e = mb.addMenu("&Edit")
        self.act_find = e.addAction("&Find…", self.show_search)
        self.act_find.setShortcut(QKeySequence.StandardKey.Find)
        self.act_find_next = e.addAction("Find &Next", self.search.next_hit)
        self.act_find_next.setShortcut(QKeySequence.StandardKey.FindNext)
        self.act_find_prev = e.addAction("Find &Previous", self.search.previous_hit)
        self.act_find_prev.setShortcut(QKeySequence.StandardKey.FindPrevious)
        from .node_path import make_action

        self.act_copy_path = make_action(self, self.selection, self.status)
        e.addSeparator()
        e.addAction(self.act_copy_path)
        v = mb.addMenu("&View")
        self.view_menu = v
        for dock in self.docks.values():
            v.addAction(dock.toggleViewAction())
        v.addAction(self.debug_toolbar.toggleViewAction())
        v.addAction(self.documents_toolbar.toggleViewAction())
        v.addSeparator()
        v.addAction("&Reset Layout", self.reset_layout)
        tm = v.addMenu("&Theme")
        group = QActionGroup(self)
        current = theme.saved_choice()
        for choice in theme.CHOICES:
            act = QAction(choice.capitalize(), self, checkable=True)
            act.setChecked(choice == current)
            act.triggered.connect(lambda _c=False, ch=choice: theme.set_choice(ch))
            group.addAction(act)
            tm.addAction(act)
        dbg = mb.addMenu("&Debug")
        dbg.setToolTipsVisible(True)  # the tooltips say what each step stops at
        for act in self.debug:
            dbg.addAction(act)
        dbg.addSeparator()
        dbg.addAction(self.act_fork)
        self.debug_menu = dbg
        h = mb.addMenu("&Help")
        h.addAction("&About RLM Desktop", self._about)

    def debug_program(self) -> Any:
        from .debug_program import open_dialog  # the user's own program under the debugger

        return open_dialog(self)

    # -- the views ---------------------------------------------------------------------------
    def show_trajectory(self, traj: Trajectory | None, path: str | None = None) -> None:
        """Show ``traj``: its runs in the tree now, its first run selected (every panel
        shows it) in the next turn of the event loop, unless something was selected by then.

        Opening a file is two turns, each with its own paint: the tree, the title and the
        status bar, then the panels. In one turn the two took ~55 ms on a 2-core machine
        for a run of 100 iterations and ~90 ms for 500,000, with no input handled meanwhile.
        Callers that need the run selected at once select it themselves."""
        self.trajectory = traj
        self.path = path
        self.setWindowTitle(f"{os.path.basename(path)} — RLM Desktop" if path else "RLM Desktop")
        self.selection.select(None)
        self.tree.set_trajectory(traj)
        self.search.set_trajectory(traj)
        self.problems.set_bad_lines(path, traj.bad_lines if traj is not None else [])
        self.update_totals()
        self.refresh_documents()
        heap.shown(traj)  # a big run's objects out of the garbage collector's full passes
        self._open_timer.start()

    @property
    def opening(self) -> bool:
        """The trajectory shown last has its first run still to be selected (the second
        turn of ``show_trajectory``)."""
        return self._open_timer.isActive()

    def _select_first_run(self) -> None:
        """The second turn of ``show_trajectory`` (a real timer, not a queued call: those are
        delivered in the same pass as the paint before them, with no input in between)."""
        traj = self.trajectory
        if traj is None or not traj.runs or self.selection.node is not None:
            return  # (the user, or the caller, picked something already)
        self.selection.select(traj.runs[0])  # (Metrics shows it in the panels' turn)

    # -- following ---------------------------------------------------------------------------
    def follow(self, path: str) -> bool:
        if self.follow_ctl is None:
            self.report_error("Following folders is not available")
            return False
        ok = bool(self.follow_ctl.follow(path))
        if ok:
            self._add_recent_follow(os.path.abspath(path))
        self.docks["runs"].show()
        self.docks["runs"].raise_()
        if ok and os.path.isfile(path):
            self.open_live_run(os.path.abspath(path))
        return ok

    def follow_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Follow folder")
        if path:
            self.follow(path)

    def open_live_run(self, path: str) -> None:
        if self.follow_ctl is None:
            return
        if self.live_path == path and self.trajectory is not None \
                and self.trajectory is self.follow_ctl.live_trajectory(path):
            return  # already shown (a second click): keep the user's place
        if self.live_path and self.live_path != path:
            self.follow_ctl.close_live(self.live_path)
        self.live_path = path
        self.show_trajectory(self.follow_ctl.open_live(path), path)
        self.mark_deleted()

    def _live_file_updated(self, path: str, update: Any) -> None:
        if path != self.live_path:
            return
        if getattr(update, "reset", False):
            self.show_trajectory(self.follow_ctl.live_trajectory(path), path)
        else:
            self._schedule_live_refresh()
        self.mark_deleted()

    def _live_notice(self, notice: Any) -> None:
        if notice.path == self.live_path:
            self.mark_deleted()
            self.status.showMessage(f"{os.path.basename(notice.path)}: {notice.message}", 8000)

    def mark_deleted(self) -> None:
        """The shown followed file was deleted: its runs say so, not "running"."""
        gone = bool(self.live_path) and self.follow_ctl.is_deleted(self.live_path) \
            and self.path == self.live_path
        self.tree.model.set_status_note("deleted" if gone else None)
        self.refresh_documents()

    # -- selection / status ----------------------------------------------------------------------
    def _selection_changed(self, node: Any) -> None:
        self.status.set_node(names.where(node), getattr(node, "path", "") or "")

    def _show_hit(self, hit: Any, query: str) -> None:
        """Select the found text in the code or output panel (messages show the node)."""
        from PySide6.QtGui import QTextCursor, QTextDocument

        self.selection.settle()  # the panels show the hit's node before its text is looked for

        if hit.field == "code":
            name, editor = "code", getattr(self.panels.get("code"), "editor", None)
        elif hit.field in ("stdout", "stderr"):
            name, editor = "output", getattr(getattr(self.panels.get("output"), "view", None), "edit", None)
        else:
            name, editor = "messages", None
        self.docks[name].raise_()
        if editor is None or not query:
            return
        flags = QTextDocument.FindFlag.FindCaseSensitively if self.search.case.isChecked() \
            else QTextDocument.FindFlag(0)
        editor.moveCursor(QTextCursor.MoveOperation.Start)
        editor.find(query, flags)

    def update_totals(self) -> None:
        traj = self.trajectory
        if traj is not None and traj.lazy is not None and traj.lazy.totals is not None:
            u = traj.lazy.totals.usage  # the whole-file pass
            self.status.show_totals_of(None)
            self.status.set_totals(u.total_tokens, u.cost)
        else:
            self.status.show_totals_of(traj)  # a big trajectory is counted in a worker thread
        self.status.set_bad_lines(len(traj.bad_lines) if traj is not None else 0)

    def show_problems(self) -> None:
        self.docks["problems"].show()
        self.docks["problems"].raise_()
        self.problems.list.setFocus()

    def report_error(self, text: str) -> None:
        """Errors go to the Problems dock and the status bar, never only to stderr."""
        log.warning("%s", text)
        self.problems.add_error(text)
        self.status.showMessage(text.splitlines()[0] if text else "", 8000)
        self.show_problems()

    def install_error_hook(self) -> Any:
        """Uncaught exceptions (a bug in a slot) are shown in Problems as well as printed:
        ``sys.excepthook`` chains to the previous hook, which is returned (the app calls
        this once at start-up; ``shutdown`` puts the previous one back)."""
        import sys

        previous = sys.excepthook

        def hook(kind: Any, value: Any, tb: Any) -> None:
            previous(kind, value, tb)
            try:
                self.report_error(f"Internal error: {kind.__name__}: {value}")
            except Exception:  # the window is going away: the message above is printed
                pass

        sys.excepthook = hook
        self._error_hook = (hook, previous)
        return previous

    def show_search(self) -> None:
        self.docks["search"].show()
        self.docks["search"].raise_()
        self.search.focus_input()

    def reset_layout(self) -> None:
        self.layout_keeper.reset()
        QTimer.singleShot(0, lambda: hide_stray_tab_bars(self))

    def _about(self) -> None:
        from rlm_desktop import __version__

        QMessageBox.about(self, "About RLM Desktop", f"RLM Desktop {__version__}\n"
                          "A debugger for Recursive Language Model runs.")

    # -- closing -------------------------------------------------------------------------------
    def shutdown(self) -> None:
        import sys

        hook = getattr(self, "_error_hook", None)
        if hook is not None and sys.excepthook is hook[0]:
            sys.excepthook = hook[1]
        self._error_hook = None
        self.live_timer.stop()
        self._open_timer.stop()
        self.selection.stop()
        store = getattr(self, "breakpoint_store", None)
        if store is not None:
            store.save()  # a change still queued would be lost
        if self.session is not None:
            self.session.shutdown()
        if self.follow_ctl is not None:
            self.follow_ctl.shutdown()
        self.loader.shutdown()
        self.lazy_docs.shutdown()
        self.html_export.shutdown()
        self.search.shutdown()
        self.comparisons.shutdown()
        # panels' workers: their results go nowhere now. All are cancelled before any is
        # joined: they share one lane, and a job waits there behind the ones before it
        offs = self.findChildren(OffThread)
        for off in offs:
            off.cancel()
        self.tree.model.shutdown()
        for off in offs:
            off.shutdown(2.0)
        # the workers are stopped: the open big files' byte indexes can let go of their handles
        for traj in [*getattr(self, "documents", {}).values(), self.trajectory]:
            lazy = getattr(traj, "lazy", None)
            if lazy is not None:
                lazy.close()
        if self.trajectory is not None and heap.frozen():
            heap.release()  # its cycles can be collected once the window is gone

    def showEvent(self, event: Any) -> None:  # noqa: N802
        super().showEvent(event)
        QTimer.singleShot(0, lambda: hide_stray_tab_bars(self))

    def closeEvent(self, event: Any) -> None:  # noqa: N802
        if not self.confirm_quit():  # a live run is not thrown away without asking
            event.ignore()
            return
        self.layout_keeper.save()
        self.shutdown()
        super().closeEvent(event)
