"""``RunTreeModel``: a lazily filled QAbstractItemModel over the trajectory model objects.

Root runs -> iterations -> code blocks -> sub-calls -> child run. Rows are handed to the
view in chunks (``canFetchMore``/``fetchMore``), so a tree of tens of thousands of nodes
costs only what is on screen. ``grow()`` announces what a live run appended since the last
call (``beginInsertRows``) and refreshes the status/tokens/time cells.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt

from rlm_desktop.trajectory import names, summary
from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, RunStatus, SubCall, Trajectory
from rlm_desktop.trajectory.reader import sanitize_str
from rlm_desktop.trajectory.totals import RUN_TOTALS_KEY

log = logging.getLogger(__name__)
Index = QModelIndex | QPersistentModelIndex
COLUMNS = ("Node", "Depth", "Status", "Tokens", "Time")
CHUNK = 256
NodeRole = Qt.ItemDataRole.UserRole + 1


def children_of(node: Any, traj: Trajectory | None) -> list[Any]:
    if node is None:
        return traj.runs if traj is not None else []
    if isinstance(node, Run):
        return node.iterations
    if isinstance(node, Iteration):
        return node.code_blocks
    if isinstance(node, CodeBlock):
        return node.sub_calls
    if isinstance(node, SubCall):
        return [node.child] if node.child is not None else []
    return []


def parent_of(node: Any) -> Any:
    return node.parent if node is not None else None


def label(node: Any) -> str:
    """The Node column: 1-based numbers (``trajectory.names``); the path is in the tooltip."""
    if isinstance(node, Run):
        model = node.model or "?"
        if node.depth == 0 or node.parent is None:
            return sanitize_str(f"{names.title(node)} · {model}")
        return sanitize_str(f"Child run (rlm_query) · depth {node.depth} · {model}")
    if isinstance(node, Iteration):
        tail = " · final" if node.final_answer is not None else ""
        return f"{names.title(node)}{tail}{' · edited' if node.edited else ''}"
    if isinstance(node, CodeBlock):
        first = next((ln for ln in node.code.splitlines() if ln.strip()), "")
        return sanitize_str(f"{names.title(node)}: {first[:60]}")
    if isinstance(node, SubCall):
        prompt = node.prompt if isinstance(node.prompt, str) else str(node.prompt)
        what = " (child run)" if names.call_kind(node) == "rlm_query" else ""
        return sanitize_str(f"{names.title(node)}{what}: {' '.join(prompt.split())[:50]}")
    return ""


def _stopped(node: Any) -> str | None:
    """"cancelled"/"failed" for a node cut short by the end of its run, else None."""
    it = node if isinstance(node, Iteration) else getattr(node, "parent", None)
    while it is not None and not isinstance(it, Iteration):
        it = getattr(it, "parent", None)
    if it is None:
        return None
    how = it.extra.get("status")
    if how not in (str(RunStatus.CANCELLED), str(RunStatus.FAILED)):
        return None
    if isinstance(node, Iteration):
        return how
    # a block or a call that had not finished when the run stopped
    return how if node.execution_time is None else None


def status(node: Any) -> str:
    if isinstance(node, Run):
        return str(node.status)
    if getattr(node, "running", False):
        return "running"
    stopped = _stopped(node)
    if stopped is not None:
        return stopped
    if isinstance(node, Iteration):
        if any(b.has_error for b in node.code_blocks):
            return "error"
        return "final" if node.final_answer is not None else "done"
    if isinstance(node, CodeBlock):
        return "error" if node.has_error else "done"
    if isinstance(node, SubCall):
        return "failed" if node.failed else "done"
    return ""


def tokens(node: Any, upstream: bool = False) -> int | None:
    """Tokens of a node and everything under it, each LM call counted once (upstream logs
    repeat a child run's turns in its spawning call's usage: see trajectory.summary)."""
    try:
        if isinstance(node, Run):
            t = node.extra.get(RUN_TOTALS_KEY)  # a lazily opened file's run: the whole-file pass
            return t.usage.total_tokens if t is not None else summary.subtree_usage(node, upstream).total_tokens
        if isinstance(node, Iteration):
            return summary.iteration_usage(node, upstream).total_tokens
        if isinstance(node, CodeBlock):
            return summary.block_usage(node, upstream).total_tokens
        if isinstance(node, SubCall):
            return summary.call_usage(node, upstream).total_tokens
    except Exception:  # a half-written live node
        return None
    return None


def seconds(node: Any) -> float | None:
    if isinstance(node, Run):
        t = node.extra.get(RUN_TOTALS_KEY)
        return t.total_time if t is not None else node.total_time()
    if isinstance(node, Iteration):
        return node.iteration_time
    if isinstance(node, CodeBlock | SubCall):
        return node.execution_time
    return None


def depth(node: Any) -> int:
    if isinstance(node, CodeBlock):
        run = node.run
        return run.depth if run is not None else 0
    return int(getattr(node, "depth", 0))


_ROLES = frozenset(
    {
        NodeRole,
        Qt.ItemDataRole.DisplayRole,
        Qt.ItemDataRole.ToolTipRole,
        Qt.ItemDataRole.ForegroundRole,
    }
)


class RunTreeModel(QAbstractItemModel):
    def __init__(self, parent: Any = None, chunk: int = CHUNK) -> None:
        super().__init__(parent)
        self.trajectory: Trajectory | None = None
        self.chunk = chunk
        self._fetched: dict[int, int] = {}  # id(node) (0 for the root) -> rows handed out
        self._keep: dict[int, Any] = {}  # keeps nodes alive while their id is a key
        # per node, until the next grow/reset: (node, the five display strings); the node is
        # kept so a recycled id() is never mistaken for it
        self._cells: dict[int, tuple[Any, tuple[str, ...]]] = {}
        self._rows: dict[int, tuple[Any, int]] = {}  # node -> its row (rows only ever append)
        # nodes the view was told have no children: when a live node gains its first ones,
        # ``grow`` announces them, or a collapsed node would never show its expand arrow
        self._childless: dict[int, Any] = {}
        # shown instead of "running"/"incomplete" for unfinished runs (a deleted followed file)
        self.status_note: str | None = None
        self.paused_nodes: frozenset[int] = frozenset()  # id() of nodes a debugger thread is paused at

    # -- content -------------------------------------------------------------------------
    def set_trajectory(self, traj: Trajectory | None) -> None:
        self.beginResetModel()
        self.trajectory = traj
        self.status_note = None
        self._fetched.clear()
        self._keep.clear()
        self._cells.clear()
        self._rows.clear()
        self._childless.clear()
        self.endResetModel()

    def set_status_note(self, note: str | None) -> None:
        """Unfinished runs show ``note`` (e.g. "deleted") as their status, or their own."""
        if note != self.status_note:
            self.status_note = note
            self.grow()

    def set_paused_nodes(self, nodes: Any) -> None:
        """Nodes the debugger's threads are paused at (runs, sub-calls, iterations, blocks)
        show "paused" instead of "running" (the caller keeps the nodes alive)."""
        ids = frozenset(id(n) for n in nodes if n is not None)
        if ids != self.paused_nodes:
            self.paused_nodes = ids
            self.grow()

    def _key(self, node: Any) -> int:
        return 0 if node is None else id(node)

    def fetched(self, node: Any) -> int:
        return self._fetched.get(self._key(node), 0)

    def node(self, index: Index) -> Any:
        return index.internalPointer() if index.isValid() else None

    def row_of(self, node: Any) -> int:
        hit = self._rows.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        siblings = children_of(parent_of(node), self.trajectory)
        for guess in (getattr(node, "position", None), getattr(node, "index", None)):
            if isinstance(guess, int) and 0 <= guess < len(siblings) and siblings[guess] is node:
                return guess
        for i, s in enumerate(siblings):
            if s is node:
                return i
        return -1

    def index_of(self, node: Any, column: int = 0) -> QModelIndex:
        """The index of ``node``, fetching the rows on its way down as needed."""
        if node is None or self.trajectory is None:
            return QModelIndex()
        chain = []
        n = node
        while n is not None:
            chain.append(n)
            n = parent_of(n)
        parent_index = QModelIndex()
        parent_node = None
        for n in reversed(chain):
            row = self.row_of(n)
            if row < 0:
                return QModelIndex()
            while self.fetched(parent_node) <= row and self.canFetchMore(parent_index):
                self.fetchMore(parent_index)
            if self.fetched(parent_node) <= row:
                return QModelIndex()
            parent_index = self.index(row, 0, parent_index)
            parent_node = n
        return parent_index.siblingAtColumn(column) if column else parent_index

    def grow(self) -> None:
        """Announce rows a live run appended (below already-fetched parents) and refresh cells."""
        if self.trajectory is None:
            return
        self._cells.clear()  # live nodes' status and totals change
        self._fetched.setdefault(0, 0)
        for key, node in list(self._childless.items()):
            kids = children_of(node, self.trajectory)
            if not kids or self._fetched.get(key, 0):
                continue
            del self._childless[key]
            idx = self.index_of(node)
            if idx.isValid():  # rows under a collapsed parent: the view now draws its arrow
                n = min(self.chunk, len(kids))
                self.beginInsertRows(idx, 0, n - 1)
                self._fetched[key] = n
                self._keep[key] = node
                self.endInsertRows()
        for key, count in list(self._fetched.items()):
            node = self._keep.get(key) if key else None
            if key and node is None:
                continue
            parent_index = self.index_of(node) if node is not None else QModelIndex()
            if node is not None and not parent_index.isValid():
                continue
            kids = children_of(node, self.trajectory)
            if len(kids) > count:
                self.beginInsertRows(parent_index, count, len(kids) - 1)
                self._fetched[key] = len(kids)
                self.endInsertRows()
            rows = self._fetched[key]
            if rows:
                self.dataChanged.emit(
                    self.index(0, 0, parent_index), self.index(rows - 1, len(COLUMNS) - 1, parent_index)
                )

    def reload_children(self, node: Any) -> None:
        """``node``'s children were replaced in place (a lazily loaded iteration was filled, or
        emptied again when its cache slot was needed): drop its rows and hand out the new ones."""
        if self.trajectory is None or node is None:
            return
        idx = self.index_of(node)
        if not idx.isValid():
            return
        key = self._key(node)
        self._cells.pop(key, None)
        have = self._fetched.get(key, 0)
        if have:
            self.beginRemoveRows(idx, 0, have - 1)
            self._fetched[key] = 0
            self._forget_below(node)  # the old rows' nodes must not be kept alive here
            self.endRemoveRows()
        n = min(self.chunk, len(children_of(node, self.trajectory)))
        if n:
            self.beginInsertRows(idx, 0, n - 1)
            self._fetched[key] = n
            self._keep[key] = node
            self.endInsertRows()
        self.dataChanged.emit(idx, idx.siblingAtColumn(len(COLUMNS) - 1))

    def _forget_below(self, node: Any) -> None:
        def below(n: Any) -> bool:
            p = parent_of(n)
            while p is not None:
                if p is node:
                    return True
                p = parent_of(p)
            return False

        for cache in (self._rows, self._cells):
            for k in [k for k, (n, _v) in cache.items() if below(n)]:
                del cache[k]
        for k in [k for k, n in self._keep.items() if below(n)]:
            del self._keep[k]
            self._fetched.pop(k, None)

    # -- QAbstractItemModel --------------------------------------------------------------------
    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:
        pnode = self.node(parent)
        if row < 0 or column < 0 or column >= len(COLUMNS) or row >= self.fetched(pnode):
            return QModelIndex()
        kids = children_of(pnode, self.trajectory)
        if row >= len(kids):
            return QModelIndex()
        kid = kids[row]
        if column == 0:
            self._rows[id(kid)] = (kid, row)
        return self.createIndex(row, column, kid)

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        p = parent_of(self.node(index))
        if p is None:
            return QModelIndex()
        row = self.row_of(p)  # cached: a view asks for hundreds of parents per frame
        return self.createIndex(row, 0, p) if row >= 0 else QModelIndex()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        if parent.isValid() and parent.column() != 0:
            return 0
        return self.fetched(self.node(parent))

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        return len(COLUMNS)

    def hasChildren(self, parent: Index = QModelIndex()) -> bool:  # noqa: N802
        if parent.isValid() and parent.column() != 0:
            return False
        node = self.node(parent)
        has = bool(children_of(node, self.trajectory))
        if not has and node is not None:
            self._childless[id(node)] = node
        return has

    def canFetchMore(self, parent: Index) -> bool:  # noqa: N802
        pnode = self.node(parent)
        return self.fetched(pnode) < len(children_of(pnode, self.trajectory))

    def fetchMore(self, parent: Index) -> None:  # noqa: N802
        pnode = self.node(parent)
        kids = children_of(pnode, self.trajectory)
        have = self.fetched(pnode)
        n = min(self.chunk, len(kids) - have)
        if n <= 0:
            return
        self.beginInsertRows(parent, have, have + n - 1)
        key = self._key(pnode)
        self._fetched[key] = have + n
        if pnode is not None:
            self._keep[key] = pnode
        self.endInsertRows()

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if role not in _ROLES or not index.isValid():  # a painted cell asks ~10 roles: answer most at once
            return None
        try:
            return self._data(index, role)
        except Exception:  # never let a half-built live node take the view down
            log.exception("tree data")
            return None

    def _display(self, node: Any) -> tuple[str, ...]:
        """The row's five cells, computed once per node until the next ``grow``/reset
        instead of on every paint (a run's totals walk its whole subtree)."""
        hit = self._cells.get(id(node))
        if hit is None or hit[0] is not node:
            upstream = summary.is_upstream(self.trajectory) if self.trajectory is not None else False
            t, s = tokens(node, upstream), seconds(node)
            st = status(node)
            if self.status_note and isinstance(node, Run) and st in (RunStatus.RUNNING, RunStatus.INCOMPLETE):
                st = self.status_note
            elif id(node) in self.paused_nodes and st == RunStatus.RUNNING:
                st = "paused"
            cells = (label(node), str(depth(node)), st, f"{t:,}" if t else "", f"{s:.2f}s" if s else "")
            hit = (node, cells)
            self._cells[id(node)] = hit
        return hit[1]

    def _data(self, index: Index, role: int):
        node = self.node(index)
        col = index.column()
        if role == NodeRole:
            return node
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(node)[col]
        if role == Qt.ItemDataRole.ToolTipRole and col == 0:
            return f"{names.where(node)}\nNode path (for copying): {node.path}"
        if role == Qt.ItemDataRole.ForegroundRole and col == 2:
            from PySide6.QtGui import QColor

            st = self._display(node)[2]
            if st in ("error", "failed", str(RunStatus.FAILED)):
                return QColor("#d9534f")
            if st == str(RunStatus.CANCELLED):
                return QColor("#b07d12")
            if st in ("running", str(RunStatus.RUNNING)):
                return QColor("#3a87d6")
            if st == "paused":
                return QColor("#c77700")
        return None
