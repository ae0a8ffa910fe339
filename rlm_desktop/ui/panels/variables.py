"""Variables panel: the REPL locals after the selected block, as a lazy tree.

Columns name / type / value preview. Lists and dicts expand lazily (children
are made when first shown, in batches through ``fetchMore``), so a 2 MB
``context`` or a 100,000-item list costs nothing until opened. Variables
that are new or changed since the previous block are shown in bold. A filter
box filters the top level by name or type; the full value of the selected
item is shown below (capped). All strings are sanitised for Qt.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHeaderView, QLineEdit, QSplitter, QTreeView, QVBoxLayout, QWidget

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, SubCall

from .common import CappedTextView, is_loading, one_line, plain, plain_label

BATCH = 200
_REPR_KIND = re.compile(r"^<(module|function|type|builtin_function_or_method|class) '")
_OBJECT_REPR = re.compile(r"^<[\w.]+ (object at 0x|name=)|^<_io\.")

Index = QModelIndex | QPersistentModelIndex


def type_name(value: Any) -> str:
    """Type of a logged (already serialised) value, with container sizes."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, list):
        return f"list[{len(value)}]"
    if isinstance(value, dict):
        return f"dict[{len(value)}]"
    if isinstance(value, str):
        m = _REPR_KIND.match(value)
        if m:
            return m.group(1).replace("builtin_function_or_method", "builtin")
        if _OBJECT_REPR.match(value):
            return "object"
        return f"str[{len(value):,}]" if len(value) > 80 else "str"
    return type(value).__name__


def value_preview(value: Any, limit: int = 200) -> str:
    if isinstance(value, str):
        if _REPR_KIND.match(value) or _OBJECT_REPR.match(value):
            return one_line(value, limit)
        return '"' + one_line(value, limit - 2) + '"'
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        return repr(value)
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        s = str(value)
        return s if len(s) <= limit else s[: limit - 1] + "…"
    if isinstance(value, list):
        inner = ", ".join(value_preview(v, 40) for v in value[:8])
        more = ", …" if len(value) > 8 else ""
        return one_line(f"[{inner}{more}]", limit)
    if isinstance(value, dict):
        parts = [f"{one_line(k, 30)}: {value_preview(v, 40)}" for k, v in list(value.items())[:6]]
        more = ", …" if len(value) > 6 else ""
        return one_line("{" + ", ".join(parts) + more + "}", limit)
    return one_line(repr(value), limit)


def full_text(value: Any) -> str:
    """The whole value as text for the detail view."""
    if isinstance(value, str):
        return plain(value)
    try:
        return plain(json.dumps(value, indent=2, ensure_ascii=False, default=str))
    except (TypeError, ValueError, RecursionError):
        return plain(repr(value))


class _Item:
    __slots__ = ("name", "value", "parent", "row", "children", "changed", "_keys")

    def __init__(self, name: str, value: Any, parent: _Item | None, row: int, changed: str = "") -> None:
        self.name = name
        self.value = value
        self.parent = parent
        self.row = row
        self.children: list[_Item] = []
        self.changed = changed  # "", "new", "changed"
        self._keys: list[Any] | None = None

    def expandable(self) -> bool:
        return isinstance(self.value, (list, dict)) and len(self.value) > 0

    def total(self) -> int:
        return len(self.value) if isinstance(self.value, (list, dict)) else 0

    def fetch(self, n: int) -> int:
        """Make up to ``n`` more children; returns how many were made."""
        start = len(self.children)
        end = min(self.total(), start + n)
        if isinstance(self.value, list):
            for i in range(start, end):
                self.children.append(_Item(f"[{i}]", self.value[i], self, i))
        elif isinstance(self.value, dict):
            if self._keys is None:
                self._keys = list(self.value.keys())
            for i in range(start, end):
                k = self._keys[i]
                self.children.append(_Item(plain(k), self.value[k], self, i))
        return end - start

    def path(self) -> tuple[str, ...]:
        out: list[str] = []
        node: _Item | None = self
        while node is not None and node.parent is not None:
            out.append(node.name)
            node = node.parent
        return tuple(reversed(out))


class VariablesModel(QAbstractItemModel):
    """Lazy tree over a ``locals`` dict (values as upstream serialises them)."""

    COLUMNS = ("Name", "Type", "Value")

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._root = _Item("", {}, None, 0)

    def set_locals(self, locals_: dict[str, Any] | None, previous: dict[str, Any] | None = None) -> None:
        self.beginResetModel()
        self._root = _Item("", {}, None, 0)
        for i, (k, v) in enumerate((locals_ or {}).items()):
            changed = ""
            if previous is not None:
                if k not in previous:
                    changed = "new"
                elif not _same(previous[k], v):
                    changed = "changed"
            self._root.children.append(_Item(plain(k), v, self._root, i, changed))
        self.endResetModel()

    def item(self, index: Index) -> _Item:
        if index.isValid():
            return index.internalPointer()  # type: ignore[return-value]
        return self._root

    # -- Qt model API ---------------------------------------------------------------

    def index(self, row: int, column: int, parent: Index = QModelIndex()) -> QModelIndex:
        item = self.item(parent)
        if 0 <= row < len(item.children) and 0 <= column < 3:
            return self.createIndex(row, column, item.children[row])
        return QModelIndex()

    def parent(self, index: Index = QModelIndex()) -> QModelIndex:  # type: ignore[override]
        if not index.isValid():
            return QModelIndex()
        item: _Item = index.internalPointer()  # type: ignore[assignment]
        p = item.parent
        if p is None or p is self._root:
            return QModelIndex()
        return self.createIndex(p.row, 0, p)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        if parent.isValid() and parent.column() != 0:
            return 0
        return len(self.item(parent).children)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802
        return 3

    def hasChildren(self, parent: Index = QModelIndex()) -> bool:  # noqa: N802
        item = self.item(parent)
        if item is self._root:
            return bool(item.children)
        return parent.column() == 0 and item.expandable()

    def canFetchMore(self, parent: Index) -> bool:  # noqa: N802
        item = self.item(parent)
        return item is not self._root and len(item.children) < item.total()

    def fetchMore(self, parent: Index) -> None:  # noqa: N802
        item = self.item(parent)
        start = len(item.children)
        n = min(BATCH, item.total() - start)
        if n <= 0:
            return
        self.beginInsertRows(parent, start, start + n - 1)
        item.fetch(n)
        self.endInsertRows()

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        item: _Item = index.internalPointer()  # type: ignore[assignment]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == 0:
                return item.name
            if col == 1:
                return type_name(item.value)
            return value_preview(item.value)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 0 and item.changed:
                return f"{item.changed} since the previous block"
            if col == 2:
                return value_preview(item.value, 1000)
        if role == Qt.ItemDataRole.FontRole and item.changed and col == 0:
            f = QFont()
            f.setBold(True)
            return f
        return None


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) or (a != a and b != b)  # NaN == NaN for our purposes
    except (RecursionError, TypeError, ValueError):
        return False


class _TopLevelFilter(QSortFilterProxyModel):
    """Filters top-level variables by name/type; children are never filtered."""

    needle = ""

    def set_needle(self, text: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9
            self.beginFilterChange()
            self.needle = text.strip()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:  # pragma: no cover - older Qt
            self.needle = text.strip()
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:  # noqa: N802
        if source_parent.isValid():
            return True
        text = self.needle
        if not text:
            return True
        model: VariablesModel = self.sourceModel()  # type: ignore[assignment]
        item = model.item(model.index(source_row, 0, source_parent))
        needle = text.lower()
        return needle in item.name.lower() or needle in type_name(item.value).lower()


def _previous_block(block: CodeBlock) -> CodeBlock | None:
    it = block.parent
    if it is None:
        return None
    if block in it.code_blocks:
        i = it.code_blocks.index(block)
        if i > 0:
            return it.code_blocks[i - 1]
    run = it.parent
    if run is None:
        return None
    for prev in reversed(run.iterations[: it.position]):
        if prev.code_blocks:
            return prev.code_blocks[-1]
    return None


class VariablesPanel(QWidget):
    """Dock panel: the locals after the selected block (an iteration: after its last block)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("variablesPanel")
        self._node: Any = None
        self._block: CodeBlock | None = None
        self._shown: tuple[int, int] | None = None  # identity of the shown locals (live refresh)

        self.header = plain_label("", self)
        self.header.setContentsMargins(4, 2, 4, 2)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter variables (name or type)")
        self.filter.setClearButtonEnabled(True)
        self.model = VariablesModel(self)
        self.proxy = _TopLevelFilter(self)
        self.proxy.setSourceModel(self.model)
        self.filter.textChanged.connect(self._on_filter)
        self.tree = QTreeView(self)
        self.tree.setModel(self.proxy)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        self.tree.header().setStretchLastSection(True)
        self.tree.setColumnWidth(0, 160)
        self.tree.setColumnWidth(1, 90)
        self.tree.selectionModel().currentChanged.connect(self._on_current)
        self.detail = CappedTextView(self, cap=100_000)
        self.detail.edit.setPlaceholderText("Select a variable to see its whole value.")
        self.split = QSplitter(Qt.Orientation.Vertical, self)
        self.split.addWidget(self.tree)
        self.split.addWidget(self.detail)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 1)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.header)
        lay.addWidget(self.filter)
        lay.addWidget(self.split, 1)
        self.show_node(None)

    # -- API ----------------------------------------------------------------------

    def show_node(self, node: Run | Iteration | CodeBlock | SubCall | None) -> None:
        self._node = node
        self._load(reset=True)

    def refresh(self) -> None:
        self._load(reset=False)

    def shown_block(self) -> CodeBlock | None:
        return self._block

    # -- internals ----------------------------------------------------------------

    def _pick_block(self) -> CodeBlock | None:
        node = self._node
        if isinstance(node, SubCall):
            return node.parent
        if isinstance(node, CodeBlock):
            return node
        if isinstance(node, Run):
            node = next((it for it in reversed(node.iterations) if it.code_blocks), None)
        if isinstance(node, Iteration):
            done = [b for b in node.code_blocks if not b.running] or node.code_blocks
            return done[-1] if done else None
        return None

    def _load(self, reset: bool) -> None:
        block = self._pick_block()
        ident = (id(block), id(block.locals)) if block is not None else None
        if not reset and ident == self._shown and block is not None and block.locals is not None:
            # Same dict object; a live block may still have filled it in place.
            if self.model.rowCount() == len(block.locals):
                return
        expanded = self._expanded_paths() if not reset else set()
        current = self._current_path() if not reset else None
        vbar = self.tree.verticalScrollBar()
        old_scroll = vbar.value()

        self._block = block
        self._shown = ident
        prev = _previous_block(block) if block is not None else None
        self.model.set_locals(block.locals if block is not None else None, prev.locals if prev else None)
        self._update_header(block)
        if not reset:
            self._restore(expanded, current)
            vbar.setValue(min(old_scroll, vbar.maximum()))
        else:
            self.detail.set_text("")

    def _update_header(self, block: CodeBlock | None) -> None:
        if block is None:
            if is_loading(self._node):
                self.header.setText(f"Iteration {self._node.number}: loading…")
            elif isinstance(self._node, Iteration):
                self.header.setText(f"Iteration {self._node.number} ran no code: no locals.")
            else:
                self.header.setText("Select a code block to see its variables.")
            return
        it = block.parent
        where = f"block {block.index + 1}" + (f" of iteration {it.number}" if it is not None else "")
        n = len(block.locals)
        changed = sum(1 for c in self.model._root.children if c.changed)
        text = f"Locals after {where} · {n} variable{'s' if n != 1 else ''}"
        if changed:
            text += f" · {changed} new/changed (bold)"
        if block.running:
            text = f"Block {block.index + 1} is running; locals so far · {n}"
        self.header.setText(text)

    def _on_filter(self, text: str) -> None:
        self.proxy.set_needle(text)

    def _on_current(self, current: QModelIndex, _prev: QModelIndex) -> None:
        if not current.isValid():
            self.detail.set_text("")
            return
        item = self.model.item(self.proxy.mapToSource(current.siblingAtColumn(0)))
        self.detail.set_text(full_text(item.value))

    # -- expanded state across live refreshes ------------------------------------------

    def _expanded_paths(self) -> set[tuple[str, ...]]:
        out: set[tuple[str, ...]] = set()

        def walk(parent: QModelIndex) -> None:
            for r in range(self.proxy.rowCount(parent)):
                idx = self.proxy.index(r, 0, parent)
                if self.tree.isExpanded(idx):
                    out.add(self.model.item(self.proxy.mapToSource(idx)).path())
                    walk(idx)

        walk(QModelIndex())
        return out

    def _current_path(self) -> tuple[str, ...] | None:
        idx = self.tree.currentIndex()
        if not idx.isValid():
            return None
        return self.model.item(self.proxy.mapToSource(idx.siblingAtColumn(0))).path()

    def _find(self, path: tuple[str, ...]) -> QModelIndex:
        parent = QModelIndex()
        for name in path:
            src_parent = self.proxy.mapToSource(parent)
            item = self.model.item(src_parent)
            while self.model.canFetchMore(src_parent) and not any(c.name == name for c in item.children):
                self.model.fetchMore(src_parent)
            found = QModelIndex()
            for r in range(self.proxy.rowCount(parent)):
                idx = self.proxy.index(r, 0, parent)
                if self.model.item(self.proxy.mapToSource(idx)).name == name:
                    found = idx
                    break
            if not found.isValid():
                return QModelIndex()
            parent = found
        return parent

    def _restore(self, expanded: set[tuple[str, ...]], current: tuple[str, ...] | None) -> None:
        for path in sorted(expanded, key=len):
            idx = self._find(path)
            if idx.isValid():
                self.tree.expand(idx)
        if current is not None:
            idx = self._find(current)
            if idx.isValid():
                self.tree.setCurrentIndex(idx)
