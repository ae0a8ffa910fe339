"""The runs list's data: one row per log file, values held in C++ items.

``RunsTableModel`` is a ``QStandardItemModel`` so that painting and sorting
never call into Python (see the class docs); ``RunsPanel`` (runs_panel.py)
shows it through a sorting/filtering proxy.
"""

from __future__ import annotations

import time
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QStandardItem, QStandardItemModel

from rlm_desktop.trajectory.model import RunStatus
from rlm_desktop.trajectory.reader import sanitize_str
from rlm_desktop.trajectory.run_summary import RunSummary
from rlm_desktop.trajectory.tail import Notice, NoticeKind
from rlm_desktop.trajectory.tail_follow import ListingUpdate

from .plain_tooltip import plain_tooltip

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
PATH_ROLE = Qt.ItemDataRole.UserRole + 2
COLUMNS = ("File", "Status", "Iterations", "Sub-calls", "Final answer", "Modified", "Size", "Model")
COL_FILE, COL_STATUS, COL_ITERS, COL_CALLS, COL_ANSWER, COL_MODIFIED, COL_SIZE, COL_MODEL = range(8)
DELETED = "deleted"
DISPLAY = Qt.ItemDataRole.DisplayRole
TOOLTIP = Qt.ItemDataRole.ToolTipRole
FOREGROUND = Qt.ItemDataRole.ForegroundRole
FONT = Qt.ItemDataRole.FontRole
ALIGN = Qt.ItemDataRole.TextAlignmentRole
_ROLES = (DISPLAY, SORT_ROLE, PATH_ROLE, TOOLTIP, FOREGROUND, FONT, ALIGN)
_TIP_COLUMNS = (COL_FILE, COL_STATUS)  # plus the answer column (with the whole answer)

STATUS_COLORS = {
    RunStatus.RUNNING: "#1f77d0",
    RunStatus.FINISHED: "#2e8b3a",
    RunStatus.MAX_ITERATIONS: "#b07d00",
    RunStatus.INCOMPLETE: "#8a8a8a",
    RunStatus.FAILED: "#c62828",
    RunStatus.CANCELLED: "#a0522d",
    DELETED: "#9e9e9e",
}


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(sanitize_str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def _when(ts: float) -> str:
    if not ts:
        return ""
    lt = time.localtime(ts)
    if time.strftime("%Y-%m-%d", lt) == time.strftime("%Y-%m-%d"):
        return time.strftime("%H:%M:%S", lt)
    return time.strftime("%Y-%m-%d %H:%M", lt)


class RunsTableModel(QStandardItemModel):
    """Rows = files, updated only through ``apply(ListingUpdate)`` and ``add_notice``.

    A ``QStandardItemModel``: the values live in C++ items, so painting and
    sorting never call into Python. That matters while the follower's worker
    thread is busy in Python: every Python ``data()`` call from a paint would
    have to win the GIL back, and a view makes thousands of them.
    Rows are only appended (a deleted file stays, marked), so row numbers are stable.
    """

    def __init__(self, parent: Any = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self._rows: list[RunSummary] = []
        self._index: dict[str, int] = {}
        self._deleted: set[str] = set()
        self._notices: dict[str, Notice] = {}
        self._bold = QFont()
        self._bold.setBold(True)
        self._italic = QFont()
        self._italic.setItalic(True)
        self._brushes = {k: QBrush(QColor(v)) for k, v in STATUS_COLORS.items()}
        self._right = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)

    # -- updates -------------------------------------------------------------------

    def apply(self, update: ListingUpdate) -> None:
        latest: dict[str, RunSummary] = {}
        for s in update.added + update.changed:
            latest[s.path] = s
        for path, s in latest.items():
            row = self._index.get(path)
            if row is None:
                self._index[path] = len(self._rows)
                self._rows.append(s)
                self.appendRow([self._item(col, values) for col, values in enumerate(self._values(s, False))])
            else:
                self._rows[row] = s
                self._deleted.discard(path)
                self._refresh(row)
        for path in update.removed:
            row = self._index.get(path)
            if row is not None and path not in self._deleted:
                self._deleted.add(path)
                self._refresh(row)

    def add_notice(self, notice: Notice) -> None:
        self._notices[notice.path] = notice
        row = self._index.get(notice.path)
        if row is not None:
            self._refresh(row)

    def summary(self, path: str) -> RunSummary | None:
        row = self._index.get(path)
        return self._rows[row] if row is not None else None

    def row_of(self, path: str) -> int | None:
        return self._index.get(path)

    def status_of(self, path: str) -> str | None:
        row = self._index.get(path)
        if row is None:
            return None
        return DELETED if path in self._deleted else str(self._rows[row].status)

    # -- items ---------------------------------------------------------------------

    @staticmethod
    def _item(col: int, values: dict[int, Any]) -> QStandardItem:
        # the text through the constructor, only the roles that have a value; items stay
        # "editable" (the view has no edit triggers): every call saved is a call that may
        # wait for the GIL while the follower thread is busy
        item = QStandardItem(values[DISPLAY])
        for role, value in values.items():
            if value is not None and role != DISPLAY:
                item.setData(value, role)
        return item

    def _refresh(self, row: int) -> None:
        """Update a row's items with one dataChanged for the whole row."""
        s = self._rows[row]
        values = self._values(s, s.path in self._deleted)
        blocked = self.blockSignals(True)
        try:
            for col, vals in enumerate(values):
                item = self.item(row, col)
                for role in _ROLES:
                    item.setData(vals.get(role), role)
        finally:
            self.blockSignals(blocked)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def _values(self, s: RunSummary, deleted: bool) -> list[dict[int, Any]]:
        display = [self._display(s, col, deleted) for col in range(len(COLUMNS))]
        numeric = {
            COL_ITERS: s.iterations,
            COL_CALLS: s.sub_calls,
            COL_MODIFIED: s.modified,
            COL_SIZE: s.size,
        }
        tip = self._tooltip(s, deleted)
        answer_tip = tip + ("\n\n" + s.final_answer if s.final_answer else "")
        if deleted:
            fg_row = self._brushes[DELETED]
        else:
            fg_row = None
        out = []
        for col in range(len(COLUMNS)):
            fg = fg_row
            font = self._italic if deleted else None
            if col == COL_STATUS and not deleted:
                fg = self._brushes.get(s.status)
                font = self._bold if s.status == RunStatus.RUNNING else None
            out.append(
                {
                    DISPLAY: display[col],
                    SORT_ROLE: numeric.get(col, display[col].lower()),
                    PATH_ROLE: s.path if col == COL_FILE else None,  # read via siblingAtColumn(0)
                    TOOLTIP: plain_tooltip(answer_tip) if col == COL_ANSWER
                    else plain_tooltip(tip) if col in _TIP_COLUMNS else None,
                    FOREGROUND: fg,
                    FONT: font,
                    ALIGN: self._right if col in numeric and col != COL_MODIFIED else None,
                }
            )
        return out

    def _status_text(self, s: RunSummary, deleted: bool) -> str:
        if deleted:
            return DELETED
        text = str(s.status).replace("_", " ")
        notice = self._notices.get(s.path)
        if notice is not None and notice.kind != NoticeKind.DELETED:
            text += f" ({notice.kind})"
        return text

    def _display(self, s: RunSummary, col: int, deleted: bool) -> str:
        if col == COL_FILE:
            return sanitize_str(s.name)
        if col == COL_STATUS:
            return self._status_text(s, deleted)
        if col == COL_ITERS:
            return str(s.iterations)
        if col == COL_CALLS:
            return str(s.sub_calls)
        if col == COL_ANSWER:
            return _one_line(s.final_answer) if s.final_answer is not None else ""
        if col == COL_MODIFIED:
            return _when(s.modified)
        if col == COL_SIZE:
            return _size(s.size)
        if col == COL_MODEL:
            return s.model
        return ""

    def _tooltip(self, s: RunSummary, deleted: bool) -> str:
        lines = [sanitize_str(s.path)]
        notice = self._notices.get(s.path)
        if notice is not None:
            lines.append(f"{notice.kind}: {notice.message} ({_when(notice.time)})")
        if s.error:
            lines.append(f"error: {s.error}")
        if s.pending and not deleted:
            lines.append("the last line is still being written")
        return "\n".join(lines)
