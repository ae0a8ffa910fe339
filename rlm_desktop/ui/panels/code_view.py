"""Code panel: the REPL code of a block (or of all blocks of an iteration, with a selector).

Read-only editor with Python highlighting, a line-number gutter with a
breakpoint-marker column (clicking it emits ``gutterClicked``), the cursor
line highlighted, and the "current" block (the one the debugger is paused at,
or a live block still running) tinted like an execution point.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QStackedWidget, QTabBar, QVBoxLayout, QWidget

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, SubCall
from rlm_desktop.trajectory.names import iteration_no

from .code_editor import CodeEditor
from .common import (
    LINE_CAP,
    cap_text,
    fmt_seconds,
    is_dark,
    is_loading,
    loading_note,
    node_iteration,
    plain_label,
)

#: Characters of a code block put into the editor at once; more behind "Show more".
CODE_CAP = 200_000
#: Each "Show more" shows this many times as much code.
MORE_FACTOR = 4


def _line_count(code: str) -> str:
    if len(code) > 4 * CODE_CAP:
        return f"{len(code):,} characters"
    n = code.count("\n") + 1
    return f"{n} line{'s' if n != 1 else ''}"


def _sub_call_lines(code: str) -> list[int]:
    return [
        i + 1
        for i, line in enumerate(code.split("\n"))
        if "llm_query" in line or "rlm_query" in line
    ]


class CodeView(QWidget):
    """Dock panel: code of the selected block, or of every block of an iteration.

    Signals:
      * ``gutterClicked(block, line)``: the user clicked the marker gutter at a
        1-based line of ``block`` (a ``CodeBlock``); the debugger decides what
        a line marker means, then calls ``set_markers(block, lines)``.
      * ``blockActivated(block)``: the user picked another block in the selector.
    """

    gutterClicked = Signal(object, int)
    blockActivated = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("codePanel")
        self._iteration: Iteration | None = None
        self._blocks: list[CodeBlock] = []
        self._block: CodeBlock | None = None
        self._node: Any = None
        self._current: CodeBlock | None = None
        self._markers: dict[str, set[int]] = {}
        self._updating = False

        self.header = plain_label("", self)
        self.header.setContentsMargins(4, 2, 4, 2)
        self.tabs = QTabBar(self)
        self.tabs.setDocumentMode(True)
        self.tabs.setExpanding(False)
        self.tabs.setUsesScrollButtons(True)
        self.tabs.currentChanged.connect(self._on_tab)
        self.editor = CodeEditor(self)
        self.editor.gutterClicked.connect(self._on_gutter)
        self.placeholder = plain_label("Select an iteration or a code block to see its code.", self, wrap=True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setEnabled(False)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(self.editor)
        self._budget = CODE_CAP
        self.more_bar = QWidget(self)
        self.more_label = plain_label("", self.more_bar)
        self.more_button = QPushButton("Show more", self.more_bar)
        self.more_button.clicked.connect(self.show_more)
        ml = QHBoxLayout(self.more_bar)
        ml.setContentsMargins(4, 2, 4, 2)
        ml.addWidget(self.more_label, 1)
        ml.addWidget(self.more_button)
        self.more_bar.hide()

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.tabs, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.header)
        lay.addLayout(top)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.more_bar)
        self.show_node(None)

    # -- API ----------------------------------------------------------------------

    def show_node(self, node: Run | Iteration | CodeBlock | SubCall | None) -> None:
        self._node = node
        it = node_iteration(node)
        block: CodeBlock | None = None
        if isinstance(node, CodeBlock):
            block = node
        elif isinstance(node, SubCall):
            block = node.parent
        self._iteration = it
        self._block = block
        self._budget = CODE_CAP
        self._rebuild(reset=True)

    def refresh(self) -> None:
        """The shown iteration may have new blocks (live run): update, keep scroll and selection.
        A selected run shows its newest iteration, as Messages and Variables do: when the
        run has a new one, the panel moves on to it."""
        if isinstance(self._node, Run):
            it = node_iteration(self._node)
            if it is not self._iteration:
                self._iteration, self._block = it, None
                self._rebuild(reset=True)
                return
        self._rebuild(reset=False)

    def show_more(self) -> None:
        """Put ``MORE_FACTOR`` times as much of a long code block into the editor."""
        if self._block is None or self.more_bar.isHidden():
            return
        self._budget *= MORE_FACTOR
        self._rebuild(reset=False)

    def current_block(self) -> CodeBlock | None:
        """The block shown in the editor."""
        return self._block

    def set_current_block(self, block: CodeBlock | None) -> None:
        """Mark the block the debugger is paused at (tinted, and marked in the selector)."""
        self._current = block
        self._update_tabs()
        self._apply_current()

    def set_markers(self, block: CodeBlock, lines: Iterable[int]) -> None:
        self._markers[block.path] = set(lines)
        if block is self._block:
            self.editor.set_markers(self._markers[block.path])

    def markers(self, block: CodeBlock) -> set[int]:
        return set(self._markers.get(block.path, ()))

    def changeEvent(self, event: Any) -> None:  # noqa: N802
        if event.type() == event.Type.PaletteChange and hasattr(self, "editor"):
            self._update_tabs()
        super().changeEvent(event)

    # -- internals ----------------------------------------------------------------

    def _rebuild(self, reset: bool) -> None:
        it = self._iteration
        self._blocks = list(it.code_blocks) if it is not None else []
        if self._block is None and self._blocks:
            self._block = self._blocks[0]
        if self._block is not None and self._block not in self._blocks:
            self._blocks = [self._block]
        self._update_tabs()
        self._update_header()
        if self._block is None:
            if it is not None and is_loading(it):
                msg = loading_note(it)
            elif it is not None and not it.code_blocks:
                msg = "This iteration ran no code blocks." if not it.running else "Waiting for code…"
            else:
                msg = "Select an iteration or a code block to see its code."
            self.placeholder.setText(msg)
            self.stack.setCurrentWidget(self.placeholder)
            self.more_bar.hide()
            return
        self.stack.setCurrentWidget(self.editor)
        vbar = self.editor.verticalScrollBar()
        old = vbar.value()
        self.editor.set_dark(is_dark(self))
        code = self._block.code
        # cut before anything looks at it (a block can be 300 MB); long lines too, since Qt
        # lays out a whole line at once; "Show more" multiplies both
        shown, cut = cap_text(code, self._budget, LINE_CAP * (self._budget // CODE_CAP))
        self.editor.set_code(shown)
        if cut:
            self.more_label.setText(
                f"Long code: showing {len(shown):,} of {len(code):,} characters (long lines cut)."
            )
            self.more_bar.show()
        else:
            self.more_bar.hide()
        self.editor.set_markers(self._markers.get(self._block.path, ()))
        self.editor.set_highlight_lines(_sub_call_lines(shown) if isinstance(self._node, SubCall) else ())
        self._apply_current()
        if not reset:
            vbar.setValue(min(old, vbar.maximum()))

    def _is_current(self, block: CodeBlock) -> bool:
        return block is self._current or (self._current is None and block.running)

    def _apply_current(self) -> None:
        self.editor.set_current(self._block is not None and self._is_current(self._block))

    def _update_tabs(self) -> None:
        self._updating = True
        try:
            while self.tabs.count() > len(self._blocks):
                self.tabs.removeTab(self.tabs.count() - 1)
            for i, b in enumerate(self._blocks):
                label = f"Block {b.index + 1}"
                if b.running or self._is_current(b):
                    label += " ▶"
                elif b.final_answer is not None:
                    label += " ✓"
                elif b.stderr:
                    label += " ⚠"
                tip = f"{_line_count(b.code)} · {fmt_seconds(b.execution_time)}"
                if b.sub_calls:
                    tip += f" · {len(b.sub_calls)} sub-call(s)"
                if b.stderr:
                    tip += " · wrote to stderr"
                if i >= self.tabs.count():
                    self.tabs.addTab(label)
                else:
                    self.tabs.setTabText(i, label)
                self.tabs.setTabToolTip(i, tip)
                if b.stderr:
                    self.tabs.setTabTextColor(i, QColor("#e53935"))
                else:
                    self.tabs.setTabTextColor(i, self.palette().color(self.palette().ColorRole.WindowText))
            if self._block is not None and self._block in self._blocks:
                self.tabs.setCurrentIndex(self._blocks.index(self._block))
            self.tabs.setVisible(len(self._blocks) > 1)
        finally:
            self._updating = False

    def _update_header(self) -> None:
        it = self._iteration
        if it is None:
            self.header.setText("")
            self.header.hide()
            return
        run = it.parent
        depth = f" · depth {run.depth}" if run is not None and run.depth else ""
        n = len(it.code_blocks)
        text = f"Iteration {iteration_no(it)}{depth} · {n} code block{'s' if n != 1 else ''}"
        if self._block is not None:
            text += f" · block {self._block.index + 1}: {fmt_seconds(self._block.execution_time)}"
        self.header.setText(text)
        self.header.show()

    def _on_tab(self, index: int) -> None:
        if self._updating or not (0 <= index < len(self._blocks)):
            return
        self._block = self._blocks[index]
        self._budget = CODE_CAP
        self._rebuild(reset=True)
        self.blockActivated.emit(self._block)

    def _on_gutter(self, line: int) -> None:
        if self._block is not None:
            self.gutterClicked.emit(self._block, line)
