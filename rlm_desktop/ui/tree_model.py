"""``RunTreeModel``: a lazily filled QAbstractItemModel over the trajectory model objects.

Root runs -> iterations -> code blocks -> sub-calls -> child run. Rows are handed to the
view in chunks (``canFetchMore``/``fetchMore``), so a tree of tens of thousands of nodes
costs only what is on screen. ``grow()`` announces what a live run appended since the last
call (``beginInsertRows``) and refreshes the status/tokens/time cells.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor

from rlm_desktop.trajectory import names, summary
from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, RunStatus, SubCall, Trajectory
from rlm_desktop.trajectory.reader import sanitize_str
from rlm_desktop.trajectory.totals import RUN_TOTALS_KEY, shared_totals
from rlm_desktop.ui.bounded_text import bounded_repr
from rlm_desktop.ui.bridge import Bridge, Cancelled, Job, share_the_gil
from rlm_desktop.ui.invisible import reveal_text

log = logging.getLogger(__name__)
Index = QModelIndex | QPersistentModelIndex
COLUMNS = ("Node", "Depth", "Status", "Tokens", "Time")
_NCOL = len(COLUMNS)
CHUNK = 256
NodeRole = Qt.ItemDataRole.UserRole + 1


def children_of(node: Any, traj: Trajectory | None) -> list[Any]:
    if node is None:
        return traj.runs if traj is not None else []
    kind = type(node)  # the exact types first: the view asks this on every index()
    if kind is Iteration:
        return node.code_blocks
    if kind is CodeBlock:
        return node.sub_calls
    if kind is Run:
        return node.iterations
    if isinstance(node, SubCall):
        return [node.child] if node.child is not None else []
    if isinstance(node, Run):
        return node.iterations
    if isinstance(node, Iteration):
        return node.code_blocks
    if isinstance(node, CodeBlock):
        return node.sub_calls
    return []


def parent_of(node: Any) -> Any:
    return node.parent if node is not None else None


#: A label looks at most this many characters of a code block or prompt (they can be 300 MB).
LABEL_SCAN = 4_000


def _first_line(text: str) -> str:
    """The first non-blank line of ``text``, looking only at its head."""
    head = text[:LABEL_SCAN]
    return next((ln for ln in head.splitlines() if ln.strip()), "")


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
        return reveal_text(sanitize_str(f"{names.title(node)}: {_first_line(node.code)[:60]}"))
    if isinstance(node, SubCall):
        prompt = node.prompt if isinstance(node.prompt, str) else bounded_repr(node.prompt, LABEL_SCAN)
        what = " (child run)" if names.call_kind(node) == "rlm_query" else ""
        return reveal_text(
            sanitize_str(f"{names.title(node)}{what}: {' '.join(prompt[:LABEL_SCAN].split())[:50]}")
        )
    return ""


def _stopped(node: Any) -> str | None:
    """ "cancelled"/"failed" for a node cut short by the end of its run, else None."""
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
            return (
                t.usage.total_tokens if t is not None else summary.subtree_usage(node, upstream).total_tokens
            )
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
_DISPLAY = Qt.ItemDataRole.DisplayRole.value
_FOREGROUND = Qt.ItemDataRole.ForegroundRole.value
_NODE = int(NodeRole)
#: Status cell colours, made once (a QColor per painted cell is measurable when scrolling).
_STATUS_COLOURS = {
    "error": QColor("#d9534f"),
    "failed": QColor("#d9534f"),
    str(RunStatus.FAILED): QColor("#d9534f"),
    "running": QColor("#3a87d6"),
    str(RunStatus.RUNNING): QColor("#3a87d6"),
    str(RunStatus.CANCELLED): QColor("#b07d12"),
    "paused": QColor("#c77700"),
}
#: A run with more iterations than this gets its totals cells from a worker thread.
BIG_RUN = 2_000
#: A node with more children than this shows them in pages of this many ("Iterations
#: 1–1,000", ...): the view lays out only what is expanded, and a row far down is reached
#: through its page instead of through every row above it.
PAGE = 1_000
_PAGE_KIND = {Run: "Iterations", Iteration: "Code blocks", CodeBlock: "Sub-calls"}


class Page:
    """Rows ``number * PAGE`` to ``number * PAGE + PAGE - 1`` of a node with many children."""

    __slots__ = ("owner", "number")

    def __init__(self, owner: Any, number: int) -> None:
        self.owner = owner
        self.number = number

    @property
    def parent(self) -> Any:
        return self.owner

    @property
    def path(self) -> str:
        return f"{getattr(self.owner, 'path', '')}#{self.number * PAGE + 1}"

    def size(self, traj: Trajectory | None) -> int:
        return max(0, min(PAGE, len(children_of(self.owner, traj)) - self.number * PAGE))

    def label(self, traj: Trajectory | None) -> str:
        start = self.number * PAGE
        kind = next((k for t, k in _PAGE_KIND.items() if isinstance(self.owner, t)), "Rows")
        return f"{kind} {start + 1:,}–{start + self.size(traj):,}"


_PENDING = "…"


class RunTreeModel(QAbstractItemModel):
    """The view asks ~2,000 questions per repainted page (``multiData`` per cell, ``parent``,
    ``index`` and ``rowCount`` per row and branch level), each a Python call: every answer is
    a dictionary hit after the first (parent indexes, rows, display cells are cached until the
    next ``grow``/reset), and a cell's roles are answered in one ``multiData`` call."""

    totalsReady = Signal()  # a big run's totals arrived from the worker (tests wait on it)

    def __init__(self, parent: Any = None, chunk: int = CHUNK) -> None:
        super().__init__(parent)
        self.trajectory: Trajectory | None = None
        self.chunk = chunk
        # id(node) (id(None) for the root) -> rows handed out; recorded the first time the
        # view asks (at most ``chunk``), more through fetchMore, growth through grow()
        self._fetched: dict[int, int] = {}
        self._keep: dict[int, Any] = {}  # keeps nodes alive while their id is a key
        # per node, until the next grow/reset: (node, the five display strings); the node is
        # kept so a recycled id() is never mistaken for it
        self._cells: dict[int, tuple[Any, tuple[str, ...]]] = {}
        self._rows: dict[int, tuple[Any, int]] = {}  # node -> its row (rows only ever append)
        self._parents: dict[int, tuple[Any, QModelIndex]] = {}  # node -> its parent's index
        self._levels: dict[int, tuple[Any, int]] = {}  # node -> its tree level (0: a top run)
        # node -> (node, the list its rows come from, rows handed out, offset into the list):
        # ``index()`` is asked once per row by every layout, expanding all of a tree included
        self._kids: dict[int, tuple[Any, list[Any], int, int]] = {}
        self._widths: dict[int, tuple[Any, str, int]] = {}  # node -> (label, its width in px)
        self._paged: dict[int, tuple[Any, list[Page]]] = {}  # node with > PAGE children -> its pages
        self._totals: dict[int, tuple[Any, int, str, str]] = {}  # big run -> (run, iterations, tokens, time)
        self._pending: set[int] = set()
        self._generation = 0
        self._bridge = Bridge(self._on_totals, self)  # big runs' totals, from workers
        # nodes the view was told have no children: when a live node gains its first ones,
        # ``grow`` announces them, or a collapsed node would never show its expand arrow
        self._childless: dict[int, Any] = {}
        # a block's sub-call rows as handed out: a live recorder inserts parallel calls in
        # call order, so a late first call lands in the middle (``grow`` finds where)
        self._shown: dict[int, tuple[Any, list[Any]]] = {}
        # shown instead of "running"/"incomplete" for unfinished runs (a deleted followed file)
        self.status_note: str | None = None
        self.paused_nodes: frozenset[int] = frozenset()  # id() of nodes a debugger thread is paused at

    # -- content -------------------------------------------------------------------------
    def set_trajectory(self, traj: Trajectory | None) -> None:
        self.beginResetModel()
        self.trajectory = traj
        self._generation += 1
        for job in self._bridge.jobs:  # totals of the trajectory shown before
            job.discard()
            job.cancel()
        self.status_note = None
        self._fetched.clear()
        self._kids.clear()
        self._keep.clear()
        self._cells.clear()
        self._rows.clear()
        self._parents.clear()
        self._levels.clear()
        self._widths.clear()
        self._paged.clear()
        self._totals.clear()
        self._pending.clear()
        self._childless.clear()
        self._shown.clear()
        self.endResetModel()

    def shutdown(self, timeout: float = 2.0) -> bool:
        """Cancel the big runs' totals workers and wait for them (the window closes)."""
        return self._bridge.shutdown(timeout)

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

    def _first_fetch(self, node: Any) -> int:
        """The first time the view asks about ``node``'s rows: a node with more than ``PAGE``
        children shows them in pages (all pages at once), a page all its rows, any other
        node up to ``chunk`` rows (more through fetchMore)."""
        if type(node) is Page:
            n = node.size(self.trajectory)
        else:
            kids = children_of(node, self.trajectory)
            if node is not None and len(kids) > PAGE:
                pages = self._grow_pages(node, len(kids))
                n = len(pages)
            else:
                n = min(self.chunk, len(kids))
        self._set_rows(node, n)
        if node is not None:
            self._keep[id(node)] = node
        return n

    def _set_rows(self, node: Any, n: int) -> None:
        """``node`` has ``n`` rows in the view now (a block's are remembered by identity)."""
        self._fetched[id(node)] = n
        self._kids.pop(id(node), None)
        if type(node) is CodeBlock and id(node) not in self._paged:
            self._shown[id(node)] = (node, node.sub_calls[:n])

    def _grow_pages(self, owner: Any, count: int) -> list[Page]:
        hit = self._paged.get(id(owner))
        pages = hit[1] if hit is not None else []
        if hit is None:
            self._paged[id(owner)] = (owner, pages)
        wanted = -(-count // PAGE)
        pages.extend(Page(owner, k) for k in range(len(pages), wanted))
        return pages

    def _total(self, node: Any) -> int:
        """How many rows ``node`` has now (pages count as rows of their owner)."""
        if type(node) is Page:
            return node.size(self.trajectory)
        paged = self._paged.get(id(node))
        n = len(children_of(node, self.trajectory))
        return len(self._grow_pages(node, n)) if paged is not None else n

    def fetched(self, node: Any) -> int:
        """Rows handed out below ``node`` so far (0 when the view never asked)."""
        return self._fetched.get(id(node), 0)

    def _ensure(self, node: Any) -> int:
        """Rows below ``node``, deciding them (pages or chunks) when nobody asked yet."""
        n = self._fetched.get(id(node))
        return self._first_fetch(node) if n is None else n

    def node(self, index: Index) -> Any:
        return index.internalPointer() if index.isValid() else None

    def _sibling_row(self, node: Any) -> int:
        """``node``'s place among its parent's children (pages aside)."""
        hit = self._rows.get(id(node))
        siblings = None
        if hit is not None and hit[0] is node:
            if not isinstance(node, SubCall):
                return hit[1]
            siblings = children_of(parent_of(node), self.trajectory)
            if hit[1] < len(siblings) and siblings[hit[1]] is node:  # calls can be inserted
                return hit[1]
        if siblings is None:
            siblings = children_of(parent_of(node), self.trajectory)
        row = -1
        for guess in (getattr(node, "position", None), getattr(node, "index", None)):
            if isinstance(guess, int) and 0 <= guess < len(siblings) and siblings[guess] is node:
                row = guess
                break
        else:
            row = next((i for i, s in enumerate(siblings) if s is node), -1)
        if row >= 0:
            self._rows[id(node)] = (node, row)
        return row

    def model_parent(self, node: Any) -> Any:
        """The node's parent row in the tree: its page when its parent is paged."""
        if type(node) is Page:
            return node.owner
        p = parent_of(node)
        if p is None:
            return None
        self._ensure(p)  # decides whether p is paged
        paged = self._paged.get(id(p))
        if paged is None:
            return p
        row = self._sibling_row(node)
        return paged[1][row // PAGE] if row >= 0 else None

    def row_of(self, node: Any) -> int:
        """``node``'s row under its tree parent (under its page when its parent is paged)."""
        if type(node) is Page:
            return node.number
        row = self._sibling_row(node)
        p = parent_of(node)
        if row >= 0 and p is not None and id(p) in self._paged:
            row %= PAGE
        return row

    def index_of(self, node: Any, column: int = 0) -> QModelIndex:
        """The index of ``node``, fetching the rows on its way down as needed."""
        if node is None or self.trajectory is None:
            return QModelIndex()
        chain = []
        n = node
        while n is not None:
            chain.append(n)
            n = self.model_parent(n)
        parent_index = index = QModelIndex()
        parent_node = None
        for n in reversed(chain):
            self._ensure(parent_node)
            row = self.row_of(n)
            if row < 0:
                return QModelIndex()
            while self.fetched(parent_node) <= row and self.canFetchMore(parent_index):
                self.fetchMore(parent_index)
            if self.fetched(parent_node) <= row:
                return QModelIndex()
            parent_index, index = index, self.index(row, 0, index)
            parent_node = n
        # the column from the parent found here, not through parent(): its cache is only
        # renewed by grow(), and a live run may have moved on since
        return self.index(index.row(), column, parent_index) if column else index

    def grow(self) -> None:
        """Announce rows a live run appended (below already-fetched parents) and refresh cells."""
        if self.trajectory is None:
            return
        self._cells.clear()  # live nodes' status and totals change
        self._parents.clear()  # lazy loading may have swapped a placeholder for the parsed node
        self._levels.clear()
        self._totals.clear()
        self._fetched.setdefault(id(None), min(self.chunk, len(self.trajectory.runs)))
        self._kids.clear()  # a sub-call's child run may have come, a page may have grown
        for key, node in list(self._childless.items()):
            if key in self._fetched:  # the view asked for its rows since: the loop below has it
                del self._childless[key]
            elif children_of(node, self.trajectory):  # its first children: announced below
                del self._childless[key]
                self._fetched[key] = 0
                self._kids.pop(key, None)
                self._keep[key] = node
        for key, count in list(self._fetched.items()):
            node = self._keep.get(key)
            if node is None and key != id(None):
                continue
            parent_index = self.index_of(node) if node is not None else QModelIndex()
            if node is not None and not parent_index.isValid():
                continue
            total = self._total(node)
            if total > count and type(node) is CodeBlock and key in self._shown:
                self._insert_calls(node, parent_index)
            elif total > count:
                self.beginInsertRows(parent_index, count, total - 1)
                self._set_rows(node, total)
                self.endInsertRows()
            rows = self._fetched[key]
            if rows:
                self.dataChanged.emit(
                    self.index(0, 0, parent_index), self.index(rows - 1, len(COLUMNS) - 1, parent_index)
                )

    def _insert_calls(self, block: CodeBlock, parent_index: QModelIndex) -> None:
        """Announce ``block``'s new sub-calls where they are, the handed-out rows being a
        subsequence of ``block.sub_calls`` (calls are only ever inserted)."""
        kids = block.sub_calls
        shown = self._shown[id(block)][1]
        for kid in kids:
            self._rows.pop(id(kid), None)  # rows below an insertion moved
        j = 0
        for old in shown:
            k = j
            while k < len(kids) and kids[k] is not old:
                k += 1
            if k == len(kids):  # not a subsequence after all: hand out every row again
                self.reload_children(block)
                return
            if k > j:
                self.beginInsertRows(parent_index, j, k - 1)
                self._fetched[id(block)] += k - j
                self._kids.pop(id(block), None)
                self.endInsertRows()
            j = k + 1
        if len(kids) > j:
            self.beginInsertRows(parent_index, j, len(kids) - 1)
            self._fetched[id(block)] += len(kids) - j
            self._kids.pop(id(block), None)
            self.endInsertRows()
        self._set_rows(block, len(kids))

    def reload_children(self, node: Any) -> None:
        """``node``'s children were replaced in place (a lazily loaded iteration was filled, or
        emptied again when its cache slot was needed): drop its rows and hand out the new ones."""
        if self.trajectory is None or node is None:
            return
        idx = self.index_of(node)
        if not idx.isValid():
            return
        key = id(node)
        self._cells.pop(key, None)
        self._parents.clear()
        self._levels.clear()
        have = self._fetched.get(key, 0)
        if have:
            self.beginRemoveRows(idx, 0, have - 1)
            self._set_rows(node, 0)
            self._forget_below(node)  # the old rows' nodes must not be kept alive here
            self.endRemoveRows()
        n = min(self.chunk, len(children_of(node, self.trajectory)))
        if n:
            self.beginInsertRows(idx, 0, n - 1)
            self._set_rows(node, n)
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

        for cache in (self._rows, self._cells, self._parents, self._levels, self._widths):
            for k in [k for k, entry in cache.items() if below(entry[0])]:
                del cache[k]
        for k in [k for k, n in self._keep.items() if below(n)]:
            del self._keep[k]
            self._fetched.pop(k, None)
            self._kids.pop(k, None)
            self._shown.pop(k, None)

    # -- QAbstractItemModel --------------------------------------------------------------------
    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:
        pnode = parent.internalPointer()  # None for the root (an invalid index)
        hit = self._kids.get(id(pnode))
        if hit is None or hit[0] is not pnode:
            hit = self._rows_source(pnode)
        _node, kids, n, offset = hit
        if 0 <= row < n and 0 <= column < _NCOL and row + offset < len(kids):
            return self.createIndex(row, column, kids[row + offset])
        return QModelIndex()

    def _rows_source(self, pnode: Any) -> tuple[Any, list[Any], int, int]:
        """Where ``pnode``'s rows come from: its children, its pages, or its page's slice of
        the owner's children (kept in ``_kids`` until the rows change)."""
        n = self._fetched.get(id(pnode))
        if n is None:
            n = self._first_fetch(pnode)
        if type(pnode) is Page:
            hit = (pnode, children_of(pnode.owner, self.trajectory), n, pnode.number * PAGE)
        else:
            paged = self._paged.get(id(pnode))
            hit = (pnode, paged[1] if paged is not None else children_of(pnode, self.trajectory), n, 0)
        self._kids[id(pnode)] = hit
        return hit

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        node = index.internalPointer()
        hit = self._parents.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        p = self.model_parent(node) if node is not None else None
        row = self.row_of(p) if p is not None else -1
        pidx = self.createIndex(row, 0, p) if row >= 0 else QModelIndex()
        if node is not None:
            self._parents[id(node)] = (node, pidx)
        return pidx

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        if parent.column() > 0:
            return 0
        node = parent.internalPointer()
        n = self._fetched.get(id(node))
        return self._first_fetch(node) if n is None else n

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        return _NCOL

    def hasChildren(self, parent: Index = QModelIndex()) -> bool:  # noqa: N802
        if parent.column() > 0:
            return False
        node = parent.internalPointer()
        if type(node) is Page:
            return True
        if children_of(node, self.trajectory):
            return True
        if node is not None:
            self._childless[id(node)] = node
        return False

    def canFetchMore(self, parent: Index) -> bool:  # noqa: N802
        pnode = self.node(parent)
        return self._ensure(pnode) < self._total(pnode)

    def fetchMore(self, parent: Index) -> None:  # noqa: N802
        pnode = self.node(parent)
        have = self._ensure(pnode)
        n = min(self.chunk, self._total(pnode) - have)
        if n <= 0:
            return
        self.beginInsertRows(parent, have, have + n - 1)
        self._set_rows(pnode, have + n)
        self.endInsertRows()

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def multiData(self, index: Index, roleDataSpan: Any) -> None:  # noqa: N802, N803
        """All roles of a painted cell in one call (the delegate asks ~7): only display text,
        the status colour and the node are answered; the rest stay empty."""
        node = index.internalPointer()
        if node is None:
            return
        col = index.column()
        try:
            for i in range(len(roleDataSpan)):
                rd = roleDataSpan[i]
                role = rd.role()
                if role == _DISPLAY:
                    rd.setData(self.cells(node)[col])
                elif role == _FOREGROUND:
                    colour = _STATUS_COLOURS.get(self.cells(node)[2]) if col == 2 else None
                    if colour is not None:
                        rd.setData(colour)
                    else:  # the delegate reuses its role array: a last cell's colour must not stay
                        rd.clearData()
                elif role == _NODE:
                    rd.setData(node)
                else:
                    rd.clearData()
        except Exception:  # never let a half-built live node take the view down
            log.exception("tree data")

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if role not in _ROLES or not index.isValid():  # a painted cell asks ~10 roles: answer most at once
            return None
        try:
            return self._data(index, role)
        except Exception:  # never let a half-built live node take the view down
            log.exception("tree data")
            return None

    def cells(self, node: Any) -> tuple[str, ...]:
        """The row's five display strings (what ``multiData`` answers and the view paints),
        computed once per node until the next ``grow``/reset instead of on every paint. A
        run's totals walk its whole subtree: for a big run they come from a worker thread
        (the cells show "…" until then)."""
        hit = self._cells.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        if type(node) is Page:
            cells = (node.label(self.trajectory), "", "", "", "")
            self._cells[id(node)] = (node, cells)
            return cells
        upstream = summary.is_upstream(self.trajectory) if self.trajectory is not None else False
        if isinstance(node, Run) and len(node.iterations) > BIG_RUN and RUN_TOTALS_KEY not in node.extra:
            tok, sec = self._big_totals(node, upstream)
        else:
            t, s = tokens(node, upstream), seconds(node)
            tok, sec = (f"{t:,}" if t else "", f"{s:.2f}s" if s else "")
        st = status(node)
        if self.status_note and isinstance(node, Run) and st in (RunStatus.RUNNING, RunStatus.INCOMPLETE):
            st = self.status_note
        elif id(node) in self.paused_nodes and st == RunStatus.RUNNING:
            st = "paused"
        cells = (label(node), str(depth(node)), st, tok, sec)
        self._cells[id(node)] = (node, cells)
        return cells

    def level(self, node: Any) -> int:
        """How many tree rows are above ``node`` on its way to the top (pages count)."""
        hit = self._levels.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        n, p = 0, self.model_parent(node)
        while p is not None:
            n, p = n + 1, self.model_parent(p)
        self._levels[id(node)] = (node, n)
        return n

    def label_width(self, node: Any, text: str, fm: Any) -> int:
        """The width of ``node``'s label ``text`` in ``fm``'s font, measured once per text."""
        hit = self._widths.get(id(node))
        if hit is not None and hit[0] is node and hit[1] == text:
            return hit[2]
        if len(self._widths) > 100_000:
            self._widths.clear()
        w = fm.horizontalAdvance(text)
        self._widths[id(node)] = (node, text, w)
        return w

    def forget_widths(self) -> None:
        """The font changed: labels are measured again."""
        self._widths.clear()

    @staticmethod
    def status_colour(text: str) -> QColor | None:
        """The colour a status cell is painted in (None: the palette's text colour)."""
        return _STATUS_COLOURS.get(text)

    def _big_totals(self, run: Run, upstream: bool) -> tuple[str, str]:
        done = self._totals.get(id(run))
        if done is not None and done[0] is run and done[1] == len(run.iterations):
            return done[2], done[3]
        if id(run) not in self._pending:
            self._pending.add(id(run))
            self._keep[id(run)] = run
            generation = self._generation
            share_the_gil()
            job = self._bridge.job("rlm-tree-totals")
            job.start(lambda j: self._compute_totals(j, generation, run, upstream), lane=True)
        return _PENDING, _PENDING

    def _compute_totals(self, job: Job, generation: int, run: Run, upstream: bool) -> Any:
        """In the worker: a root run's totals (``shared_totals``: walked once for every view
        that shows them), given up when the model shows another trajectory meanwhile."""
        n = len(run.iterations)
        try:
            if run.parent is None:
                totals = shared_totals(run, upstream, job.stop_requested)  # (yields to the GUI thread)
                job.check()  # cancelled: another trajectory is shown (the totals are partial)
                n = totals.iterations
                t, s = totals.usage.total_tokens, totals.total_time
            else:
                t, s = tokens(run, upstream), seconds(run)
        except Cancelled:
            raise
        except Exception:  # a run changing under a live writer: the next grow asks again
            t, s = None, None
        return generation, run, n, f"{t:,}" if t else "", f"{s:.2f}s" if s else ""

    def _on_totals(self, _job: Job | None, kind: str, payload: Any) -> None:
        if kind != "done":
            return
        generation, run, n, tok, sec = payload
        self._pending.discard(id(run))
        if generation != self._generation:
            return
        self._totals[id(run)] = (run, n, tok, sec)
        self._cells.pop(id(run), None)
        idx = self.index_of(run)
        if idx.isValid():
            self.dataChanged.emit(idx.siblingAtColumn(3), idx.siblingAtColumn(4))
        self.totalsReady.emit()

    def _data(self, index: Index, role: int):
        node = self.node(index)
        col = index.column()
        if role == NodeRole:
            return node
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cells(node)[col]
        if role == Qt.ItemDataRole.ToolTipRole and col == 0:
            return f"{names.where(node)}\nNode path (for copying): {node.path}"
        if role == Qt.ItemDataRole.ForegroundRole and col == 2:
            return _STATUS_COLOURS.get(self.cells(node)[2])
        return None
