"""Variables panel: the REPL locals after the selected block, as a lazy tree.

Columns name / type / value preview. Lists and dicts expand lazily (children
are made when first shown, in batches through ``fetchMore``), so a 2 MB
``context`` or a 100,000-item list costs nothing until opened. Variables
that are new or changed since the previous block are shown in bold. A filter
box filters the top level by name or type; the full value of the selected
item is shown below (capped). All strings are sanitised for Qt.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QHeaderView, QLineEdit, QSplitter, QTreeView, QVBoxLayout, QWidget

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, SubCall
from rlm_desktop.trajectory.names import iteration_no

from .common import CappedTextView, is_loading, loading_note, plain_label
from .output import block_state
from .variables_model import TopLevelFilter, VariablesModel, full_text, type_name, value_preview

__all__ = ["VariablesModel", "VariablesPanel", "full_text", "type_name", "value_preview"]

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
    its = run.iterations
    for i in range(min(it.position, len(its)) - 1, -1, -1):  # no copy of a 500,000-item list
        if its[i].code_blocks:
            return its[i].code_blocks[-1]
    return None


class VariablesPanel(QWidget):
    """Dock panel: the locals after the selected block (an iteration: after its last block)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("variablesPanel")
        self._node: Any = None
        self._block: CodeBlock | None = None
        self._paused: tuple[Any, str] | None = None  # (node, event kind) where the run is held
        self._shown: tuple[int, int] | None = None  # identity of the shown locals (live refresh)

        self.header = plain_label("", self)
        self.header.setContentsMargins(4, 2, 4, 2)
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText("Filter variables (name or type)")
        self.filter.setClearButtonEnabled(True)
        self.model = VariablesModel(self)
        self.proxy = TopLevelFilter(self)
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
            if self.model.variable_count() == len(block.locals):
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
            if isinstance(self._node, Iteration) and is_loading(self._node):
                self.header.setText(loading_note(self._node))
            elif isinstance(self._node, Iteration):
                self.header.setText(f"Iteration {iteration_no(self._node)} ran no code: no locals.")
            else:
                self.header.setText("Select a code block to see its variables.")
            return
        it = block.parent
        where = f"block {block.index + 1}" + (f" of iteration {iteration_no(it)}" if it is not None else "")
        n = len(block.locals)
        changed = self.model.changed_count()
        text = f"Locals after {where} · {n:,} variable{'s' if n != 1 else ''}"
        if changed:
            text += f" · {changed} new/changed (bold)"
        elif changed is None:
            text += " · new/changed in bold"
        if block.running:  # "running" only while its code runs (the debugger may hold it)
            state = block_state(block, self._paused)
            text = f"Block {block.index + 1}: {state.rstrip('…')}; locals so far · {n}"
        self.header.setText(text)

    def set_paused_at(self, node: Any, kind: str | None) -> None:
        """Where the debugger holds the live run (None: running or finished)."""
        self._paused = (node, kind or "") if node is not None else None
        block = self._block
        if block is not None:
            self._update_header(block)

    def _on_filter(self, text: str) -> None:
        self.proxy.set_needle(text)

    def _on_current(self, current: QModelIndex, _prev: QModelIndex) -> None:
        if not current.isValid():
            self.detail.set_text("")
            return
        item = self.model.item(self.proxy.mapToSource(current.siblingAtColumn(0)))
        self.detail.set_text(full_text(item.value))  # a container's JSON: at most DETAIL_CAP chars

    # -- expanded state across live refreshes ------------------------------------------

    def _expanded_paths(self) -> set[tuple[str, ...]]:
        out: set[tuple[str, ...]] = set()
        stack = [QModelIndex()]  # no recursion: values nest as deep as the log does
        while stack:
            parent = stack.pop()
            for r in range(self.proxy.rowCount(parent)):
                idx = self.proxy.index(r, 0, parent)
                if self.tree.isExpanded(idx):
                    out.add(self.model.item(self.proxy.mapToSource(idx)).path())
                    stack.append(idx)
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
