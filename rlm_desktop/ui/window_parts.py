"""What the main window's parts share: the seam between ``MainWindow`` and its mixins.

``MainWindow`` is one window made of three parts: itself (construction, docks, menus,
showing a trajectory), ``FilesMixin`` (opening files, recent files, the documents list) and
``LiveRunsMixin`` (live runs and the debugger session). A mixin uses the rest of the window
only through what ``WindowParts`` declares: the window's widgets and state set in
``MainWindow.__init__``, and the public methods each part offers the others; the type
checker holds the mixins to it. ``MainWindow``, which inherits both, connects their own
slots (``_loaded``, ``_session_paused``, ...) as it builds the window.

``WindowParts`` exists for the type checker only: at run time it is ``object``, so it adds
no attribute and no method to the window (and none can shadow Qt's or the parts' own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QWidget

    from rlm_desktop.trajectory.model import Trajectory

    from .actions import DebugActions
    from .fork import Forks
    from .lazy_document import LazyDocuments
    from .loader import Loader
    from .problems import ProblemsPanel
    from .run_tree import RunTree
    from .search import SearchPanel
    from .selection import NodeSelection
    from .status import StatusBar
    from .timeline import Timeline

    class WindowParts(QMainWindow):
        # -- the window's widgets and state (``MainWindow.__init__``) ---------------------------
        selection: NodeSelection
        loader: Loader
        lazy_docs: LazyDocuments
        previewing: str | None
        trajectory: Trajectory | None
        path: str | None
        live_path: str | None
        documents: dict[str, Trajectory]
        session: Any  # a DebugSession, or None when the debugger could not load
        session_link: Any
        follow_ctl: Any
        docks: dict[str, QDockWidget]
        panels: dict[str, QWidget]
        live_timer: QTimer  # the views' next refresh while a live run changes
        status: StatusBar
        tree: RunTree
        timeline: Timeline
        search: SearchPanel
        problems: ProblemsPanel
        recent_menu: QMenu
        debug: DebugActions
        forks: Forks

        # -- MainWindow's ----------------------------------------------------------------------
        @property
        def opening(self) -> bool: ...
        def report_error(self, text: str) -> None: ...
        def show_trajectory(self, traj: Trajectory | None, path: str | None = None) -> None: ...
        def node_panels(self) -> list[QWidget]: ...
        def follow(self, path: str) -> bool: ...
        def open_live_run(self, path: str) -> None: ...
        def mark_deleted(self) -> None: ...
        def update_totals(self) -> None: ...

        # -- FilesMixin's ----------------------------------------------------------------------
        def fill_recent(self) -> None: ...
        def add_recent(self, path: str) -> None: ...
        def refresh_documents(self) -> None: ...

        # -- LiveRunsMixin's -------------------------------------------------------------------
        def refresh_live(self) -> None: ...
        def update_debug_state(self) -> None: ...

else:
    WindowParts = object
