"""``RunTreeModel``: the Run Tree's rows in Qt's C++ item store, made lazily from the model objects.

Root runs -> iterations -> code blocks -> sub-calls -> child run. The model is a
``QStandardItemModel`` that overrides none of the questions a layout asks per row (``index``,
``parent``, ``rowCount``, ``columnCount``, ``hasChildren``, ``flags``): QTreeView's layout, the
one that expanding all of a tree runs over every node, is answered in C++ without a call into
Python (a Python ``QAbstractItemModel`` is asked ~3 questions per node there: the bench's
"minimal Python model", one list lookup per answer, took 2-3x a QTreeWidget to expand all).

What is stored: one ``QStandardItem`` per row that has children, made by Qt itself
(``insertColumns``/``insertRows`` on the row's empty slot: an item made in Python is a wrapper
whose first call from C++ looks for Python overrides), with 5 columns (the other cells need
valid indexes) and empty child slots for its first rows; a leaf is an empty slot of its
parent, no item at all. Nothing else: no text (the view paints a row from ``cells(node)``,
computed when it is painted; an older attempt that wrote every cell's text into items made
expanding all 27x slower), and not the node either (``setData`` of a Python object per row
doubled the cost of making a row). A row's node is its parent's child at its row
(``node(index)``: the parent's children, its pages or a block's sub-calls as shown), kept
per (parent item, row) until rows move or go; no Python object ever refers to an item, so
nothing can touch an item Qt has deleted.

Lazy: a row's child slots are placeholders until ``fetchMore`` fills them (the view calls it
when it lays out an expanded row, ``expandAll`` included; ``index_of`` on its way down).
Filling makes the children's items, each with placeholders for its own first rows (``CHUNK``,
or its pages when it has more than ``PAGE`` children), and goes on below them breadth first
up to ``FILL_BUDGET`` rows (fewer questions later), under blocked signals: nothing has seen
those rows. What a fill leaves as placeholders is made afterwards in idle time
(``_idle_slice``: a zero timer, at most ``IDLE_SLICE`` rows per turn of the event loop, up to
``IDLE_CAP`` rows made since the trajectory was shown; never a page's rows), so that expanding
all of a settled tree asks ``canFetchMore`` only its first line; ``filling``/``filled`` say
when it is done. More rows of a long list come in chunks (``fetchMore`` again). ``grow()``
announces (``rowsInserted``) what a live run appended below made rows, sub-calls inserted in
the middle of a block at their place, a leaf's first children (it gets its arrow), and
repaints the cells; ``reload_children`` replaces a row's children (a lazily loaded iteration
filled or emptied) and forgets what was kept for the old ones.
"""

from __future__ import annotations

import collections
import logging
import time
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QStandardItemModel

from rlm_desktop.trajectory import names, summary
from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, RunStatus, SubCall, Trajectory
from rlm_desktop.trajectory.totals import RUN_TOTALS_KEY, shared_totals
from rlm_desktop.ui.bridge import Bridge, Cancelled, Job, share_the_gil
from rlm_desktop.ui.tree_cells import LABEL_SCAN, depth, label, seconds, status, tokens

__all__ = [
    "CHUNK", "COLUMNS", "FILL_BUDGET", "IDLE_CAP", "IDLE_SLICE", "IDLE_SLICE_S", "LABEL_SCAN", "PAGE",
    "NodeRole", "Page", "RunTreeModel", "children_of", "depth", "label", "parent_of", "seconds", "status",
    "tokens",
]

log = logging.getLogger(__name__)
Index = QModelIndex | QPersistentModelIndex
COLUMNS = ("Node", "Depth", "Status", "Tokens", "Time")
_NCOL = len(COLUMNS)
CHUNK = 256
#: Making a row's children goes on below them, breadth first, until this many rows are made
#: in one go: expanding all of a tree asks Python about each row with children (three times
#: while its rows are not made, once after), and a row made early is one question. ~30 ms for
#: the bench's tree on the 2-core VM; twice as many rows took 3-5x as long (deeper levels are
#: mostly rows with children, an item each), too long a pause to open a file. Long lists stay
#: lazy: pages are only filled when asked for.
FILL_BUDGET = 8_192
#: What fetching left as placeholders is made afterwards in idle time, at most this many rows
#: per turn of the event loop (a node's rows are made together: a slice stops before a node
#: whose rows would take it past this; its first node is made whatever its size), and no more
#: nodes once a slice took ``IDLE_SLICE_S``. The bench's deeper rows (mostly rows with children,
#: an item each) took 3-10 ms per 512 on the 2-core VM under load, 12-24 ms per 1,024.
IDLE_SLICE = 512
IDLE_SLICE_S = 0.006
#: ... until this many rows were made since the trajectory was shown (fetching counts): a huge
#: trajectory's store does not grow in idle time past what a 64k-row tree takes.
IDLE_CAP = 65_536
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


def _has_children(node: Any, traj: Trajectory | None) -> bool:
    kind = type(node)
    if kind is SubCall:
        return node.child is not None
    if kind is CodeBlock:
        return bool(node.sub_calls)
    if kind is Iteration:
        return bool(node.code_blocks)
    return bool(children_of(node, traj))


def parent_of(node: Any) -> Any:
    return node.parent if node is not None else None


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


class RunTreeModel(QStandardItemModel):
    """The Run Tree's rows (see the module docstring). Python is asked only what a layout
    asks rarely: ``canFetchMore``/``fetchMore`` (once or twice per expanded row with
    children), ``data``/``multiData`` (a tooltip, a test, Qt's own delegate: the view paints
    rows itself) and ``headerData``."""

    totalsReady = Signal()  # a big run's totals arrived from the worker (tests wait on it)
    #: idle filling stopped: no placeholder rows are left but pages', or ``IDLE_CAP`` was reached
    filled = Signal()
    #: ``grow`` refreshed every row's cells: a view repaints what it shows (the Run Tree's
    #: view is connected; Qt repaints only the rows a ``dataChanged`` names, and naming each
    #: made row's parent took a live refresh of a big tree ~0.5 s)
    cellsChanged = Signal()

    def __init__(self, parent: Any = None, chunk: int = CHUNK) -> None:
        super().__init__(parent)
        self.setColumnCount(_NCOL)
        self.trajectory: Trajectory | None = None
        self.chunk = chunk
        # Per row with children, by id(node) (id(None): the top level), the node kept alive
        # in ``_keep`` while its id is a key: its rows filled with items (``_fetched``), or its
        # placeholder rows not filled yet (``_holes``); ``_partial``: filled rows are fewer
        # than its children (fetchMore has more). ``_childless``: rows made without children
        # (a live node's first ones are announced by ``grow``). ``_under``: the keys made
        # below a key (what ``reload_children`` forgets).
        self._fetched: dict[int, int] = {}
        self._holes: dict[int, int] = {}
        self._partial: set[int] = set()
        self._childless: set[int] = set()
        self._keep: dict[int, Any] = {}
        self._under: dict[int, list[int]] = {}
        # (the parent item's address, row) -> the row's node, until rows move or go
        self._nodes: dict[tuple[int, int], Any] = {}
        # per node, until the next grow/reset: (node, the five display strings); the node is
        # kept so a recycled id() is never mistaken for it
        self._cells: dict[int, tuple[Any, tuple[str, ...]]] = {}
        self._rows: dict[int, tuple[Any, int]] = {}  # node -> its row among its siblings
        self._levels: dict[int, tuple[Any, int]] = {}  # node -> its tree level (0: a top run)
        self._widths: dict[int, tuple[Any, str, int]] = {}  # node -> (label, its width in px)
        self._paged: dict[int, tuple[Any, list[Page]]] = {}  # node with > PAGE children -> its pages
        self._totals: dict[int, tuple[Any, int, str, str]] = {}  # big run -> (run, iterations, tokens, time)
        self._pending: set[int] = set()
        self._generation = 0
        self._bridge = Bridge(self._on_totals, self)  # big runs' totals, from workers
        # a block's sub-calls as its rows show them: a live recorder inserts parallel calls in
        # call order, so a late first call lands in the middle (``grow`` finds where)
        self._shown: dict[int, tuple[Any, list[Any]]] = {}
        # shown instead of "running"/"incomplete" for unfinished runs (a deleted followed file)
        self.status_note: str | None = None
        self.paused_nodes: frozenset[int] = frozenset()  # id() of nodes a debugger thread is paused at
        # idle filling (``_idle_slice``): a repeating zero timer, one slice per timeout (a timer
        # event comes after the input and paint events of its turn of the event loop)
        self._made = 0  # rows made since set_trajectory
        self._resetting = False
        # the holes a fill left (breadth first, pages never): ``_left`` as the fill's indexes,
        # ``_waiting`` as persistent indexes (kept right by the model while rows move or go)
        self._left: list[tuple[QModelIndex, Any]] = []
        self._waiting: collections.deque[tuple[QPersistentModelIndex, Any]] = collections.deque()
        self.idle_log: list[tuple[int, float]] = []  # per idle slice: (rows made, seconds)
        self._idle = QTimer(self)
        self._idle.setInterval(0)
        self._idle.timeout.connect(self._idle_slice)
        self.modelAboutToBeReset.connect(self._idle.stop)

    # -- content -------------------------------------------------------------------------
    def set_trajectory(self, traj: Trajectory | None) -> None:
        self.beginResetModel()
        self.trajectory = traj
        self._generation += 1
        for job in self._bridge.jobs:  # totals of the trajectory shown before
            job.discard()
            job.cancel()
        self.status_note = None
        self._idle.stop()  # (the reset stopped it already: the old trajectory's rows are not made)
        self._made = 0
        self.idle_log = []
        for state in (self._fetched, self._holes, self._partial, self._childless, self._keep, self._under,
                      self._nodes, self._cells, self._rows, self._levels, self._widths, self._paged,
                      self._totals, self._pending, self._shown, self._left, self._waiting):
            state.clear()  # (the persistent indexes go before the rows: nothing to update)
        self.blockSignals(True)  # the reset tells the view
        self._resetting = True
        try:
            self.removeRows(0, self.rowCount())  # the old items
            n = min(self.chunk, len(traj.runs)) if traj is not None else 0
            self.insertRows(0, n)
            self._fill(QModelIndex(), None, 0, n)
        finally:
            self._resetting = False
            self.blockSignals(False)
        self._set_rows(None, n)
        self.endResetModel()
        self._idle_later()

    def shutdown(self, timeout: float = 2.0) -> bool:
        """Stop filling rows in idle time; cancel the big runs' totals workers and wait for
        them (the window closes)."""
        self._idle.stop()
        self._left.clear()
        self._waiting.clear()
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

    # -- the store -----------------------------------------------------------------------
    def _first_rows(self, node: Any) -> int:
        """How many rows ``node`` gets when its row is made: a page all its rows, a node with
        more than ``PAGE`` children its pages, any other node up to ``chunk`` rows."""
        if type(node) is Page:
            return node.size(self.trajectory)
        return self._rows_of(node, len(children_of(node, self.trajectory)))

    def _rows_of(self, node: Any, n: int) -> int:
        """The first rows of ``node`` (not a page) with ``n`` children: its pages when it has
        more than ``PAGE`` (the top level never is paged), else up to ``chunk``."""
        if node is not None and (n > PAGE or id(node) in self._paged):
            return len(self._grow_pages(node, n))
        return min(self.chunk, n)

    def _source(self, pnode: Any) -> tuple[list[Any], int]:
        """The list ``pnode``'s rows show and the offset of its row 0 in it: the node's
        children, its pages, its page's slice of the owner's children, or a block's sub-calls
        as shown (a new call is only a row once ``grow`` put it at its place)."""
        if type(pnode) is Page:
            return children_of(pnode.owner, self.trajectory), pnode.number * PAGE
        key = id(pnode)
        paged = self._paged.get(key)
        if paged is not None:
            return paged[1], 0
        shown = self._shown.get(key)
        if shown is not None and shown[0] is pnode:
            return shown[1], 0
        return children_of(pnode, self.trajectory), 0

    def _fill(self, parent: Index, pnode: Any, start: int, count: int, budget: int | None = None) -> int:
        """Rows ``start`` to ``start + count - 1`` of ``parent`` (placeholders nobody has seen)
        get their nodes' items, and so on below them, breadth first, a node's rows at a time
        while they keep the rows made within ``budget`` (default ``FILL_BUDGET``; pages are
        only filled when asked for). Returns the rows made."""
        if budget is None:
            budget = FILL_BUDGET
        queue: list[tuple[QModelIndex, Any]] = []
        blocked = self.blockSignals(True)  # nobody has seen these rows: nothing to tell
        try:
            made = self._make_rows(parent, pnode, start, count, queue)
            i = 0
            holes, paged = self._holes, self._paged
            later = []  # nodes shown in pages: their page rows wait for idle time or an expand
            while i < len(queue) and made < budget:
                below, node = queue[i]
                i += 1
                if id(node) in paged:
                    later.append((below, node))
                    continue
                n = holes.get(id(node))
                if n is not None:
                    if made + n > budget:
                        i -= 1
                        break
                    made += self._make_rows(below, node, 0, n, queue)
                    self._set_rows(node, n)
        finally:
            self.blockSignals(blocked)
        # what is left is made in idle time (a run of 500,000 iterations: its 500 page rows,
        # each with 1,000 placeholders, were ~15 ms of opening it)
        self._left.extend(later)
        self._left.extend(queue[i:])
        if not self._resetting:  # (a reset invalidates persistent indexes: after it)
            self._idle_later()
        return made

    # -- rows made in idle time ------------------------------------------------------------
    @property
    def filling(self) -> bool:
        """Placeholder rows are being made in idle time (``filled`` is emitted when it stops)."""
        return self._idle.isActive()

    def _idle_later(self) -> None:
        """What fills left as placeholders is made in later turns of the event loop (called
        when a fill is over, before any row can move: the fill's indexes are right)."""
        if self._made >= IDLE_CAP:  # (no more in idle time: nothing is kept for it)
            self._left.clear()
            self._waiting.clear()
            return
        if self._left:  # (persistent: rows may move or go before their turn)
            self._waiting.extend((QPersistentModelIndex(idx), node) for idx, node in self._left)
            self._left.clear()
        if self._waiting and not self._idle.isActive():
            self._idle.start()

    def _idle_slice(self) -> None:
        """One turn's rows: placeholder rows nobody has seen get their items, breadth first, up
        to ``IDLE_SLICE`` rows (its first node's rows whatever their number), and never past
        ``IDLE_CAP`` rows made since the trajectory was shown, under blocked signals like any
        fill.

        Why no view needs telling: a node with placeholder rows (a hole) has never been laid
        out expanded, because laying an expanded row out asks ``canFetchMore`` first and
        ``fetchMore`` makes its rows then; so no view has a row below it, and its own row
        already had its children (the placeholders) before. What changes is below rows no view
        knows. Persistent indexes (selection, current, the view's expanded set) are kept by the
        model whatever the signals; only rows are inserted, below placeholders, none moved.
        Pages' rows are never made here (a long list stays lazy)."""
        t0 = time.perf_counter()
        room = IDLE_CAP - self._made
        budget = min(IDLE_SLICE, room)
        made = 0
        capped = False
        holes, waiting = self._holes, self._waiting
        clock = time.perf_counter
        while waiting and made < budget and clock() - t0 < IDLE_SLICE_S:
            pidx, node = waiting[0]
            n = holes.get(id(node))
            if n is None or self._keep.get(id(node)) is not node or not pidx.isValid():
                waiting.popleft()  # made meanwhile (fetched), or its row went
                continue
            if made + n > room:
                capped = True  # (the cap is never passed)
                break
            if made and made + n > budget:
                break  # the next slice starts with it
            waiting.popleft()
            idx = self.index(pidx.row(), 0, pidx.parent())
            if self.node(idx) is not node:
                continue
            made += self._fill(idx, node, 0, n, budget - made)
            self._set_rows(node, n)
        self.idle_log.append((made, clock() - t0))
        if not waiting or capped or self._made >= IDLE_CAP:
            self._idle.stop()
            waiting.clear()  # (capped: what is left waits for fetchMore)
            self.filled.emit()

    def _make_rows(self, parent: Index, pnode: Any, start: int, count: int,
                   queue: list[tuple[QModelIndex, Any]]) -> int:
        """Rows ``start`` to ``start + count - 1`` below ``parent`` get their nodes' items: a
        child with children an item with placeholder rows for its first rows (queued to be
        filled next, unless it is a page), a leaf stays an empty slot. The items are made by
        Qt (``insertColumns``/``insertRows`` on the empty slot): a ``QStandardItem`` made in
        Python is a wrapper whose first virtual call from C++ (the layout asks each row's
        ``flags``) looks for a Python override, and nothing Python would hold one. Returns
        ``count``."""
        if count <= 0:
            return 0
        self._made += count
        src, offset = self._source(pnode)
        under = self._under.setdefault(id(pnode), [])
        holes, childless, keep, nodes, rows_of = self._holes, self._childless, self._keep, self._nodes, self._rows_of
        traj = self.trajectory
        index, insert_columns, insert_rows = self.index, self.insertColumns, self.insertRows
        address = index(start, 0, parent).internalId()  # the rows' parent item
        for row in range(start, start + count):
            kid = src[offset + row]
            nodes[(address, row)] = kid
            key = id(kid)
            kind = type(kid)
            if kind is SubCall:  # the usual kinds inline: this runs once per row made
                n = 0 if kid.child is None else 1
            elif kind is CodeBlock:
                n = len(kid.sub_calls)
            elif kind is Iteration:
                n = len(kid.code_blocks)
            elif kind is Page:
                n = kid.size(traj)
            else:
                n = len(children_of(kid, traj))
            keep[key] = kid
            under.append(key)
            if not n:
                childless.add(key)
                continue
            if kind is not Page:  # (a page shows all its rows)
                n = rows_of(kid, n)
            holes[key] = n
            below = index(row, 0, parent)
            insert_columns(0, _NCOL, below)  # (the item is made here)
            insert_rows(0, n, below)
            if kind is not Page:
                queue.append((below, kid))
        return count

    def _set_rows(self, node: Any, n: int) -> None:
        """``node`` has ``n`` rows with their items now."""
        key = id(node)
        self._fetched[key] = n
        self._holes.pop(key, None)
        if node is not None:
            self._keep[key] = node
        if n < self._total(node):
            self._partial.add(key)
        else:
            self._partial.discard(key)
        if type(node) is CodeBlock and key not in self._paged:
            self._shown[key] = (node, node.sub_calls[:n])

    def _append(self, parent: Index, node: Any, count: int) -> None:
        """``count`` more rows below ``parent`` (announced: ``rowsInserted``), their items made."""
        have = self.rowCount(parent)
        if type(node) is CodeBlock:  # appended at the end: the rows are the calls themselves
            self._shown.pop(id(node), None)
        columns = self.columnCount(parent)
        if columns < _NCOL:  # a leaf's first rows (its item is made here; nothing is below it)
            blocked = self.blockSignals(True)
            self.insertColumns(columns, _NCOL - columns, parent)
            self.blockSignals(blocked)
        self.insertRows(have, count, parent)
        self._fill(parent, node, have, count)
        self._set_rows(node, have + count)

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
        """Rows below ``node`` with their items made so far (0 while they are placeholders)."""
        return self._fetched.get(id(node), 0)

    def node(self, index: Index) -> Any:
        """The node of ``index``'s row (any column), None for the top."""
        if not index.isValid():
            return None
        nodes = self._nodes
        key = (index.internalId(), index.row())
        hit = nodes.get(key)
        if hit is not None:
            return hit
        # climb to a row whose node is known (or the top), then back down: a deep tree
        # (runs in runs in runs...) is deeper than Python's recursion limit
        chain = [(key, index.row())]
        up = index.parent()
        pnode = None
        while up.isValid():
            k = (up.internalId(), up.row())
            pnode = nodes.get(k)
            if pnode is not None:
                break
            chain.append((k, up.row()))
            up = up.parent()
        for k, row in reversed(chain):
            src, offset = self._source(pnode)
            row += offset
            pnode = src[row] if row < len(src) else None
            if pnode is None:
                return None
            nodes[k] = pnode
        return pnode

    def _siblings(self, node: Any) -> list[Any]:
        p = parent_of(node)
        if type(p) is CodeBlock:
            shown = self._shown.get(id(p))
            if shown is not None and shown[0] is p:
                return shown[1]
        return children_of(p, self.trajectory)

    def _sibling_row(self, node: Any) -> int:
        """``node``'s place among its parent's children as rows show them (pages aside)."""
        hit = self._rows.get(id(node))
        siblings = None
        if hit is not None and hit[0] is node:
            if not isinstance(node, SubCall):
                return hit[1]
            siblings = self._siblings(node)
            if hit[1] < len(siblings) and siblings[hit[1]] is node:  # calls can be inserted
                return hit[1]
        if siblings is None:
            siblings = self._siblings(node)
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
        kids = children_of(p, self.trajectory)
        if id(p) not in self._paged and (id(p) in self._keep or len(kids) <= PAGE):
            return p  # its row was made without pages, or will be
        pages = self._grow_pages(p, len(kids))  # (decided now when its row is not made yet)
        row = self._sibling_row(node)
        return pages[row // PAGE] if row >= 0 else None

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
        """The index of ``node``, filling the rows on its way down as needed."""
        if node is None or self.trajectory is None:
            return QModelIndex()
        chain = []
        n = node
        while n is not None:
            chain.append(n)
            n = self.model_parent(n)
        index = QModelIndex()
        parent_node = None
        for n in reversed(chain):
            row = self.row_of(n)
            if row < 0:
                return QModelIndex()
            while self.fetched(parent_node) <= row and self.canFetchMore(index):
                self.fetchMore(index)
            if self.fetched(parent_node) <= row:
                return QModelIndex()
            index = self.index(row, 0, index)
            parent_node = n
        return index.siblingAtColumn(column) if column else index

    def grow(self) -> None:
        """Announce rows a live run appended (below filled rows) and refresh the cells.

        Only rows that grew are looked up (a tree with every row made has thousands of
        made rows: a lookup and a ``dataChanged`` each took a live refresh ~0.5 s). The top
        rows get a ``dataChanged`` (their totals); every row's cells are fresh (the cache is
        cleared here) and ``cellsChanged`` tells the view to repaint what it shows."""
        traj = self.trajectory
        if traj is None:
            return
        self._cells.clear()  # live nodes' status and totals change
        self._levels.clear()
        self._totals.clear()
        keep = self._keep
        for key in [k for k in self._childless if _has_children(keep[k], traj)]:
            self._childless.discard(key)  # its first children: its row gets them (and its arrow)
            node = keep[key]
            idx = self.index_of(node)
            if idx.isValid():
                self._append(idx, node, self._first_rows(node))
        for key, count in list(self._fetched.items()):
            node = keep.get(key)
            if node is None and key != id(None):
                continue
            total = self._total(node)
            if total <= count:
                continue
            parent_index = self.index_of(node) if node is not None else QModelIndex()
            if node is not None and not parent_index.isValid():
                continue
            if type(node) is CodeBlock and key in self._shown:
                self._insert_calls(node, parent_index)
            else:
                self._append(parent_index, node, total - count)
        top = self.rowCount()
        if top:
            self.dataChanged.emit(self.index(0, 0), self.index(top - 1, _NCOL - 1))
        self.cellsChanged.emit()

    def _insert_calls(self, block: CodeBlock, parent_index: QModelIndex) -> None:
        """Announce ``block``'s new sub-calls where they are, its rows being a subsequence
        of ``block.sub_calls`` (calls are only ever inserted)."""
        kids = block.sub_calls
        shown = self._shown[id(block)][1]
        plan = []  # (row, calls inserted there)
        j = 0
        for old in shown:
            k = j
            while k < len(kids) and kids[k] is not old:
                k += 1
            if k == len(kids):  # not a subsequence after all: make every row again
                self.reload_children(block)
                return
            if k > j:
                plan.append((j, kids[j:k]))
            j = k + 1
        if len(kids) > j:
            plan.append((j, kids[j:]))
        for kid in kids:
            self._rows.pop(id(kid), None)  # rows below an insertion moved
        key = id(block)
        for row, calls in plan:
            # the rows' nodes as they are after this insertion, then the rows (announced)
            rows = self._shown[key][1]
            self._shown[key] = (block, rows[:row] + calls + rows[row:])
            self._nodes.clear()
            self.insertRows(row, len(calls), parent_index)
            self._fill(parent_index, block, row, len(calls))
            self._fetched[key] += len(calls)
        self._nodes.clear()
        self._set_rows(block, len(kids))

    def reload_children(self, node: Any) -> None:
        """``node``'s children were replaced in place (a lazily loaded iteration was filled, or
        emptied again when its cache slot was needed): drop its rows and make the new ones."""
        if self.trajectory is None or node is None:
            return
        idx = self.index_of(node)
        if not idx.isValid():
            return
        key = id(node)
        self._cells.pop(key, None)
        self._levels.clear()
        self._nodes.clear()
        self._forget_below(key)  # the old rows' nodes must not be kept alive here
        self._keep[key] = node
        self._paged.pop(key, None)
        self._childless.discard(key)
        if self.rowCount(idx):
            self.removeRows(0, self.rowCount(idx), idx)
            # the rows that went: idle filling lets their nodes go now, not in its next turn
            self._waiting = collections.deque(e for e in self._waiting if e[0].isValid())
        n = self._first_rows(node)
        if n:
            self._append(idx, node, n)
        else:
            self._childless.add(key)
        self.dataChanged.emit(idx, idx.siblingAtColumn(_NCOL - 1))

    def _forget_below(self, key: int) -> None:
        """Drop what is kept for the rows made below ``key`` (their nodes go with the rows)."""
        stack = list(self._under.pop(key, ()))
        drop: tuple[dict[int, Any], ...] = (self._fetched, self._holes, self._shown)
        for state in drop:
            state.pop(key, None)
        self._partial.discard(key)
        while stack:
            k = stack.pop()
            stack.extend(self._under.pop(k, ()))
            for state in (*drop, self._paged, self._keep, self._rows, self._cells, self._levels, self._widths):
                state.pop(k, None)
            self._partial.discard(k)
            self._childless.discard(k)

    # -- what Qt asks Python (rarely) ----------------------------------------------------------
    def canFetchMore(self, parent: Index) -> bool:  # noqa: N802
        if not self._holes and not self._partial:  # everything made: expanding all asks per row
            return False
        node = self._nodes.get((parent.internalId(), parent.row())) if parent.isValid() else None
        if node is None:
            node = self.node(parent)
        key = id(node)
        return key in self._holes or key in self._partial

    def fetchMore(self, parent: Index) -> None:  # noqa: N802
        pnode = self.node(parent)
        key = id(pnode)
        holes = self._holes.get(key)
        if holes is not None:  # the placeholders become rows: nobody has seen them yet
            self._fill(parent, pnode, 0, holes)
            self._set_rows(pnode, holes)
            return
        n = min(self.chunk, self._total(pnode) - self.fetched(pnode))
        if n > 0:
            self._append(parent, pnode, n)
        else:
            self._partial.discard(key)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section] if 0 <= section < _NCOL else None
        return None

    def multiData(self, index: Index, roleDataSpan: Any) -> None:  # noqa: N802, N803
        """All roles of a cell in one call, for Qt's own delegate (the Run Tree's view paints
        its rows itself): display text, the status colour and the node; the rest stay empty."""
        node = self.node(index)
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
        if role not in _ROLES or not index.isValid():
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
        upstream = summary.upstream_of(node)
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
        levels = self._levels
        hit = levels.get(id(node))
        if hit is not None and hit[0] is node:
            return hit[1]
        # up to the first row whose level is known (a painted page's rows share their parent),
        # then every row on the way down gets its own
        path, p, above = [node], self.model_parent(node), -1
        while p is not None:
            hit = levels.get(id(p))
            if hit is not None and hit[0] is p:
                above = hit[1]
                break
            path.append(p)
            p = self.model_parent(p)
        for n, row in enumerate(reversed(path), start=above + 1):
            levels[id(row)] = (row, n)
        return above + len(path)

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
