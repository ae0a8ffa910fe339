"""The runs list: every log of a followed folder, updating live.

``RunsTableModel`` holds one ``RunSummary`` per file and only ever inserts rows
or changes them in place (never a model reset), so a ``QSortFilterProxyModel``
keeps the user's selection across live updates and re-sorts. ``RunsPanel``
adds a filter box, a notice bar (truncated / replaced / deleted files), and
keeps the scroll position anchored on the row at the top of the view when
rows are inserted or move above it.

Signals: ``run_selected(path)`` when the current row changes,
``run_activated(path)`` on a click, double-click or Enter (the main window opens
the run, e.g. with ``FollowController.open_live(path)``). A new run is also
activated by itself when it is the only one in the list, or when "Open newest"
is checked (kept in QSettings).
"""

from __future__ import annotations

import itertools
import os
import time
from typing import Any

from PySide6.QtCore import (
    QItemSelectionModel,
    QModelIndex,
    QSettings,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from rlm_desktop.trajectory.reader import sanitize_str
from rlm_desktop.trajectory.run_summary import RunSummary
from rlm_desktop.trajectory.tail import Notice
from rlm_desktop.trajectory.tail_follow import ListingUpdate

from .elided_label import ElidedLabel
from .follow import FollowController
from .runs_model import (  # noqa: F401 - re-exported for callers and tests
    COL_ANSWER,
    COL_CALLS,
    COL_FILE,
    COL_ITERS,
    COL_MODEL,
    COL_MODIFIED,
    COL_SIZE,
    COL_STATUS,
    COLUMNS,
    PATH_ROLE,
    SORT_ROLE,
    STATUS_COLORS,
    RunsTableModel,
)

NEWEST_KEY = "runs/open_newest"
DRAIN_BUDGET_S = 0.008  # GUI time per slice of queued listing updates
DRAIN_STEP = 4  # rows added between two looks at the clock
COUNT_SAMPLE = "0,000,000 runs"  # the count label is this wide whatever it says


class _Proxy(QSortFilterProxyModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)
        self.setFilterRole(Qt.ItemDataRole.DisplayRole)


class RunsPanel(QWidget):
    """Runs list of the followed folder, with a filter and a notice bar."""

    run_selected = Signal(str)
    run_activated = Signal(str)

    def __init__(self, controller: FollowController | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RunsPanel")
        self.controller = controller if controller is not None else FollowController(self)
        self.model = RunsTableModel(self)
        self.proxy = _Proxy(self)
        self.proxy.setSourceModel(self.model)

        # neither label's width follows its text: the folder's path may be long, and the count
        # grows while a folder is listed; either widened the dock, and every new width laid
        # the window out again (the plots beside it redrawn: ~60 ms a time, 5,000 logs)
        self.title = ElidedLabel("Not following a folder")
        self.count_label = QLabel("")
        self.count_label.setMinimumWidth(self.fontMetrics().horizontalAdvance(COUNT_SAMPLE))
        self.count_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter runs…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.newest_check = QCheckBox("Open newest")
        self.newest_check.setObjectName("runs.openNewest")
        self.newest_check.setToolTip("Open each new run of the folder as soon as it appears")
        self.newest_check.setChecked(QSettings().value(NEWEST_KEY, False, type=bool))
        self.newest_check.toggled.connect(lambda on: QSettings().setValue(NEWEST_KEY, bool(on)))
        self._opened: str | None = None  # the run this panel last activated

        self.notice_bar = QFrame()
        self.notice_bar.setObjectName("NoticeBar")
        self.notice_bar.setStyleSheet(
            "#NoticeBar { background: #fff4d6; border: 1px solid #e0b84c; border-radius: 3px; }"
        )
        self.notice_label = QLabel()
        self.notice_label.setTextFormat(Qt.TextFormat.PlainText)
        self.notice_label.setWordWrap(True)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.dismiss_notices)
        bar = QHBoxLayout(self.notice_bar)
        bar.setContentsMargins(6, 2, 2, 2)
        bar.addWidget(self.notice_label, 1)
        bar.addWidget(close)
        self.notice_bar.hide()
        self.notices: list[Notice] = []
        self._unseen = 0

        self.view = QTableView()
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(COL_MODIFIED, Qt.SortOrder.DescendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.verticalHeader().hide()
        self.view.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.view.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_ANSWER, QHeaderView.ResizeMode.Stretch)
        for col, width in ((COL_FILE, 260), (COL_STATUS, 150), (COL_ITERS, 70), (COL_CALLS, 70)):
            header.resizeSection(col, width)
        self.view.activated.connect(self._on_activated)
        self.view.clicked.connect(self._on_activated)  # one click opens a run
        self.view.selectionModel().currentRowChanged.connect(self._on_current)

        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.newest_check)
        top.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.notice_bar)
        layout.addWidget(self.view, 1)

        self._anchor: tuple[str, int] | None = None
        self._pending: dict[str, RunSummary | None] = {}  # path -> summary, None = removed
        self._drain_timer = QTimer(self)
        self._drain_timer.setSingleShot(True)
        self._drain_timer.setInterval(0)
        self._drain_timer.timeout.connect(self._drain)

        c = self.controller
        c.listing_changed.connect(self._on_listing)
        c.notice.connect(self.add_notice)
        c.following_changed.connect(self._on_following)
        c.error.connect(self._on_error)

    # -- API for the main window ---------------------------------------------------

    def follow(self, path: str | os.PathLike[str], recursive: bool = True) -> bool:
        return self.controller.follow(path, recursive)

    def selected_path(self) -> str | None:
        idx = self.view.selectionModel().currentIndex()
        return idx.siblingAtColumn(0).data(PATH_ROLE) if idx.isValid() else None

    def select_path(self, path: str) -> bool:
        row = self.model.row_of(os.path.abspath(path))
        if row is None:
            return False
        idx = self.proxy.mapFromSource(self.model.index(row, 0))
        if not idx.isValid():
            return False
        self.view.selectionModel().setCurrentIndex(
            idx, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
        )
        self.view.scrollTo(idx)
        return True

    def open_selected_live(self):
        """The live Trajectory of the selected run (grows in place), or None."""
        path = self.selected_path()
        return self.controller.open_live(path) if path else None

    def dismiss_notices(self) -> None:
        self._unseen = 0
        self.notice_bar.hide()

    # -- slots -----------------------------------------------------------------------

    def _on_following(self, target: str) -> None:
        self.title.set_full_text(f"Following {sanitize_str(target)}" if target else "Not following a folder")
        self._opened = None
        if target and self.model.rowCount():
            self._replace_model()

    def _replace_model(self) -> None:
        """A new folder: start from an empty list. The old rows are removed a slice at a
        time (dropping tens of thousands of items at once would stall the GUI)."""
        old = self.model
        self.model = RunsTableModel(self)
        self.proxy.setSourceModel(self.model)
        self._pending.clear()
        self.count_label.setText("")

        def step() -> None:
            n = old.rowCount()
            if n:
                old.removeRows(max(0, n - 300), min(300, n))
                QTimer.singleShot(0, self, step)
            else:
                old.deleteLater()

        QTimer.singleShot(0, self, step)

    def _on_error(self, message: str) -> None:
        self._show_notice(sanitize_str(message))

    def _on_listing(self, update: ListingUpdate) -> None:
        """Queue (and coalesce by path); rows are added in slices between other events."""
        for s in update.added + update.changed:
            self._pending.pop(s.path, None)
            self._pending[s.path] = s
        for path in update.removed:
            self._pending.pop(path, None)
            self._pending[path] = None
        if not self._drain_timer.isActive():
            self._drain_timer.start()

    def _drain(self) -> None:
        """Add queued rows a few at a time until ``DRAIN_BUDGET_S`` is spent, then yield to
        the event loop (a row costs ~0.1–1 ms depending on the machine's load, so a budget
        in time, not in rows, is what keeps every turn short)."""
        deadline = time.perf_counter() + DRAIN_BUDGET_S
        self._remember_anchor()
        new: list[RunSummary] = []
        while self._pending:
            n = min(len(self._pending), DRAIN_STEP)
            paths = list(itertools.islice(self._pending, n))
            items = [(p, self._pending.pop(p)) for p in paths]
            new += [s for _, s in items if s is not None and self.model.row_of(s.path) is None]
            self.model.apply(
                ListingUpdate(
                    changed=[s for _, s in items if s is not None], removed=[p for p, s in items if s is None]
                )
            )
            if time.perf_counter() >= deadline:
                break
        self._restore_anchor()
        self.count_label.setText(f"{self.model.rowCount()} runs")
        if self._pending:
            self._drain_timer.start()
        if new:
            self._open_new(new)

    def _open_new(self, new: list[RunSummary]) -> None:
        """A new run opens by itself when it is the only one, or with "Open newest"."""
        if self.newest_check.isChecked():
            newest = max(new, key=lambda s: s.modified)
            if newest.path != self._opened:
                self._activate(newest.path)
        elif self.model.rowCount() == 1 and self._opened is None and not self._pending:
            self._activate(new[0].path)

    def _activate(self, path: str) -> None:
        self._opened = path
        self.select_path(path)
        self.run_activated.emit(path)

    def add_notice(self, notice: Notice) -> None:
        self.notices.append(notice)
        self._remember_anchor()
        self.model.add_notice(notice)
        self._restore_anchor()
        name = sanitize_str(os.path.basename(notice.path))
        self._unseen += 1
        more = f"  (+{self._unseen - 1} more, see tooltips)" if self._unseen > 1 else ""
        self._show_notice(f"{name}: {notice.message}{more}")

    def _show_notice(self, text: str) -> None:
        self.notice_label.setText(text)
        self.notice_bar.show()

    def _on_activated(self, index: QModelIndex) -> None:
        path = index.siblingAtColumn(0).data(PATH_ROLE)
        if path:
            self._opened = path
            self.run_activated.emit(path)

    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.run_selected.emit(current.siblingAtColumn(0).data(PATH_ROLE))

    # -- keep the scroll position on the same run while rows come and go above it ----

    def _remember_anchor(self) -> None:
        self._anchor = None
        bar = self.view.verticalScrollBar()
        if bar.value() == 0:  # at the top: let new runs appear there
            return
        top = self.view.indexAt(self.view.viewport().rect().topLeft())
        if top.isValid():
            self._anchor = (top.siblingAtColumn(0).data(PATH_ROLE), self.view.visualRect(top).top())

    def _restore_anchor(self) -> None:
        anchor, self._anchor = self._anchor, None
        if anchor is None:
            return
        row = self.model.row_of(anchor[0])
        if row is None:
            return
        idx = self.proxy.mapFromSource(self.model.index(row, 0))
        if idx.isValid():
            self.view.scrollTo(idx, QAbstractItemView.ScrollHint.PositionAtTop)
