"""The lazy tree model behind the variables panel (values as upstream serialises them)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import islice
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt
from PySide6.QtGui import QFont

from rlm_desktop.ui.bounded_text import bounded_repr, float_text, pretty
from rlm_desktop.ui.plain_tooltip import plain_tooltip

from .common import one_line, plain

BATCH = 100
#: Containers inside containers are previewed this many levels deep.
MAX_NESTING = 3
#: The detail view's text of a list or dict is cut at this many characters.
DETAIL_CAP = 20_000
#: With at most this many variables the header counts the new/changed ones.
COUNT_LIMIT = 20_000
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


def value_preview(value: Any, limit: int = 200, _nested: int = 0) -> str:
    """One line for the Value column. Containers show their first few items, nested at most
    ``MAX_NESTING`` levels deep (deeper ones as ``[…]``/``{…}``): the cost never depends on a
    value's size or depth."""
    if isinstance(value, str):
        if _REPR_KIND.match(value) or _OBJECT_REPR.match(value):
            return one_line(value, limit)
        return '"' + one_line(value, limit - 2) + '"'
    if isinstance(value, float):
        return float_text(value)
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        try:
            s = str(value)
        except ValueError:  # more digits than Python converts
            return f"<int of {value.bit_length():,} bits>"
        return s if len(s) <= limit else s[: limit - 1] + "…"
    if isinstance(value, list):
        if _nested >= MAX_NESTING:
            return f"[…{len(value)}]" if value else "[]"
        inner = ", ".join(value_preview(v, 40, _nested + 1) for v in value[:8])
        more = ", …" if len(value) > 8 else ""
        return one_line(f"[{inner}{more}]", limit)
    if isinstance(value, dict):
        if _nested >= MAX_NESTING:
            return f"{{…{len(value)}}}" if value else "{}"
        parts = [f"{one_line(k, 30)}: {value_preview(v, 40, _nested + 1)}" for k, v in islice(value.items(), 6)]
        more = ", …" if len(value) > 6 else ""
        return one_line("{" + ", ".join(parts) + more + "}", limit)
    return one_line(bounded_repr(value, limit), limit)


def full_text(value: Any, limit: int = DETAIL_CAP) -> str:
    """The value as text for the detail view: a string as it is (the view cuts it), anything
    else as indented JSON of at most ``limit`` characters, at any size and depth."""
    if isinstance(value, str):
        return value
    text, cut = pretty(value, limit)
    if cut:
        text += f"\n… [cut at {limit:,} characters]"
    return plain(text)


class _Item:
    __slots__ = ("name", "value", "parent", "row", "children", "changed", "_keys", "previous")

    def __init__(self, name: str, value: Any, parent: _Item | None, row: int, changed: str = "") -> None:
        self.name = name
        self.value = value
        self.parent = parent
        self.row = row
        self.children: list[_Item] = []
        self.changed = changed  # "", "new", "changed"
        self._keys: Iterator[Any] | None = None  # a dict's keys from ``len(children)`` on
        self.previous: dict[str, Any] | None = None  # the root: the previous block's locals

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
            # the keys are read on from where the last fetch stopped (children are made in
            # order): a list of all keys of a 1M-key dict was ~15 ms of GIL-held copying at the
            # first expand, and a million-element list for the collector to walk afterwards
            if self._keys is None:
                self._keys = iter(self.value)
            prev = self.previous
            for i, k in zip(range(start, end), self._keys, strict=False):  # (keys go on past the batch)
                v = self.value[k]
                self.children.append(_Item(plain(k), v, self, i, _change(prev, k, v)))
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
        """Show ``locals_``; its variables are made as the view scrolls to them (``BATCH`` at
        a time, like any container's items), so 1M variables cost what is on screen."""
        self.beginResetModel()
        self._root = _Item("", locals_ or {}, None, 0)
        self._root.previous = previous
        self._root.fetch(BATCH)
        self.endResetModel()

    def variable_count(self) -> int:
        return self._root.total()

    def changed_count(self) -> int | None:
        """How many variables are new or changed since the previous block (None: too many
        variables to count on the GUI thread)."""
        root = self._root
        if root.previous is None:
            return 0
        if root.total() > COUNT_LIMIT:
            return None
        return sum(1 for k, v in root.value.items() if _change(root.previous, k, v))

    def item(self, index: Index) -> _Item:
        if index.isValid():
            return index.internalPointer()
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
        item: _Item = index.internalPointer()
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
        return len(item.children) < item.total()

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
        item: _Item = index.internalPointer()
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
                return plain_tooltip(value_preview(item.value, 1000))
        if role == Qt.ItemDataRole.FontRole and item.changed and col == 0:
            f = QFont()
            f.setBold(True)
            return f
        return None


def _change(previous: dict[str, Any] | None, key: Any, value: Any) -> str:
    if previous is None:
        return ""
    if key not in previous:
        return "new"
    return "" if _same(previous[key], value) else "changed"


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) or (a != a and b != b)  # NaN == NaN for our purposes
    except (RecursionError, TypeError, ValueError):
        return False


class TopLevelFilter(QSortFilterProxyModel):
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
