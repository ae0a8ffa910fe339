"""Output panel: what a REPL block printed (stdout, stderr in the error colour), its
final answer and timing; for an iteration, every block's output in order."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, RunStatus, SubCall
from rlm_desktop.trajectory.names import block_no, iteration_no, title
from rlm_desktop.ui.bounded_text import bounded_repr
from rlm_desktop.ui.invisible import reveal_text
from rlm_desktop.ui.tree_model import status as node_status

from .common import (
    DEFAULT_CAP,
    CappedTextView,
    fmt_seconds,
    is_dark,
    is_loading,
    loading_note,
    plain,
    plain_label,
    role_color,
)

#: The final-answer box shows at most this many characters.
ANSWER_CAP = 100_000


def _inside(node: Any, ancestor: Any) -> bool:
    while node is not None:
        if node is ancestor:
            return True
        node = getattr(node, "parent", None)
    return False


def block_state(block: CodeBlock, paused: tuple[Any, str] | None) -> str:
    """What the block is doing, honestly: "running…" only while its code runs. ``paused``
    is (node, event kind) where the debugger holds the run, or None."""
    st = node_status(block)
    if not block.running:
        return st if st in ("cancelled", "failed") else ""
    if paused is not None:
        node, kind = paused
        if node is block and kind == "CodeBlockStarted":
            return "not started: paused before it runs"
        if _inside(node, block):
            return "paused in a sub-call"
    return "running…"


def _block_segments(block: CodeBlock, with_header: bool, paused: tuple[Any, str] | None = None
                    ) -> list[tuple[str, str]]:
    segs: list[tuple[str, str]] = []
    state = block_state(block, paused)
    if with_header:
        head = f"── block {block_no(block)} · {fmt_seconds(block.execution_time)}"
        if state:
            head += f" · {state}"
        segs.append((head + " ──\n", "header"))
    # the texts go in as they are (no copies: an output can be 300 MB); the view cuts them
    if block.stdout:
        out = block.stdout
        segs.append((out, "normal"))
        if not out.endswith("\n"):
            segs.append(("\n", "normal"))
    if block.stderr:
        err = block.stderr
        if err.startswith("\n") and len(err) <= ANSWER_CAP:
            err = err.lstrip("\n")  # upstream prefixes exceptions with a newline
        segs.append((err, "stderr"))
        if not err.endswith("\n"):
            segs.append(("\n", "stderr"))
    if not block.stdout and not block.stderr:
        segs.append((f"({state})\n" if state else "(no output)\n", "header"))
    return segs


class OutputPanel(QWidget):
    """Dock panel: REPL output of the selected block (or all blocks of an iteration).

    Plain text only. At most ``cap`` characters are put into the widget at
    once (long lines cut); a "Show all" action loads the rest.
    """

    def __init__(self, parent: QWidget | None = None, *, cap: int = DEFAULT_CAP) -> None:
        super().__init__(parent)
        self.setObjectName("outputPanel")
        self._node: Any = None
        self._paused: tuple[Any, str] | None = None  # (node, event kind) where the run is held

        self.header = plain_label("", self)
        self.status = QLabel(self)
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        head = QHBoxLayout()
        head.setContentsMargins(4, 2, 4, 2)
        head.addWidget(self.header, 1)
        head.addWidget(self.status)

        self.view = CappedTextView(self, cap=cap)

        self.answer_label = plain_label("Final answer", self)
        font = self.answer_label.font()
        font.setBold(True)
        self.answer_label.setFont(font)
        self.answer = QPlainTextEdit(self)
        self.answer.setReadOnly(True)
        self.answer.setMaximumHeight(90)
        self.answer_box = QWidget(self)
        al = QVBoxLayout(self.answer_box)
        al.setContentsMargins(4, 2, 4, 2)
        al.setSpacing(2)
        al.addWidget(self.answer_label)
        al.addWidget(self.answer)
        self.answer_box.hide()

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(head)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.answer_box)
        self.show_node(None)

    # -- API ----------------------------------------------------------------------

    def show_node(self, node: Run | Iteration | CodeBlock | SubCall | None) -> None:
        self._node = node
        self._render(keep_scroll=False)

    def refresh(self) -> None:
        self._render(keep_scroll=True)

    def set_paused_at(self, node: Any, kind: str | None) -> None:
        """Where the debugger holds the live run (None: running or finished), so a block
        that has not started, or waits for a sub-call, is not called "running"."""
        self._paused = (node, kind or "") if node is not None else None
        self._render(keep_scroll=True)

    def text(self) -> str:
        """The output text currently in the widget (for tests and copy)."""
        return self.view.text()

    def changeEvent(self, event: Any) -> None:  # noqa: N802
        if event.type() == event.Type.PaletteChange and hasattr(self, "view"):
            self._render(keep_scroll=True)
        super().changeEvent(event)

    # -- internals ----------------------------------------------------------------

    def _set_status(self, text: str, role: str | None) -> None:
        self.status.setText(plain(text))
        if role:
            self.status.setStyleSheet(f"color: {role_color(role, is_dark(self)).name()};")
        else:
            self.status.setStyleSheet("")

    def _render(self, keep_scroll: bool) -> None:
        node = self._node
        segs: list[tuple[str, str]] = []
        answer: str | None = None
        status, role = "", None
        if isinstance(node, SubCall):
            node = node.parent
        if isinstance(node, CodeBlock):
            it = node.parent
            where = f"Iteration {iteration_no(it)} · " if it is not None else ""
            self.header.setText(f"{where}block {block_no(node)} output")
            segs = _block_segments(node, with_header=False, paused=self._paused)
            answer = node.final_answer
            state = block_state(node, self._paused)
            if state:
                status, role = state, ("accent" if node.running else "warn")
            elif node.stderr:
                status, role = f"stderr · {fmt_seconds(node.execution_time)}", "error"
            else:
                status = fmt_seconds(node.execution_time)
        elif isinstance(node, Iteration) and is_loading(node):
            self.header.setText(loading_note(node))
        elif isinstance(node, Iteration):
            n = len(node.code_blocks)
            self.header.setText(f"Iteration {iteration_no(node)} output · {n} block{'s' if n != 1 else ''}")
            for b in node.code_blocks:
                segs.extend(_block_segments(b, with_header=True, paused=self._paused))
            if not node.code_blocks:
                segs.append(("(this iteration ran no code)\n", "header"))
            answer = node.final_answer
            errors = sum(1 for b in node.code_blocks if b.stderr)
            status = f"{fmt_seconds(node.iteration_time)}"
            if errors:
                status += f" · {errors} block(s) with stderr"
                role = "error"
            it_state = node_status(node)
            if node.running:
                paused = self._paused[0] if self._paused is not None else None
                status = "paused" if _inside(paused, node) else "running…"
                role = "accent"
            elif it_state in ("cancelled", "failed"):
                status, role = it_state, "warn"
        elif isinstance(node, Run):
            self.header.setText(f"{title(node)} · {node.model or 'unknown model'}")
            answer = node.final_answer
            status = node.status.value.replace("_", " ")
            role = {
                RunStatus.FINISHED: "ok",
                RunStatus.FAILED: "error",
                RunStatus.CANCELLED: "warn",
                RunStatus.INCOMPLETE: "warn",
                RunStatus.MAX_ITERATIONS: "warn",
                RunStatus.RUNNING: "accent",
            }.get(node.status)
            if node.status is RunStatus.RUNNING and self._paused is not None and _inside(self._paused[0], node):
                status = "paused"  # as the Run Tree and the Run Summary say
            if node.error:
                segs.append((f"Error: {node.error}\n", "stderr"))
            if answer is None and not node.error:
                segs.append(("(no final answer)\n", "header"))
        else:
            self.header.setText("Select a code block or an iteration to see its output.")
        self._set_status(status, role)
        self.view.set_segments(segs, keep_scroll=keep_scroll)
        if answer is not None:
            raw = answer if isinstance(answer, str) else bounded_repr(answer, ANSWER_CAP + 1)
            text = reveal_text(plain(raw[:ANSWER_CAP]))  # cut before looking at it
            if len(raw) > ANSWER_CAP:
                text += f"\n… [cut: {len(raw):,} characters]"
            if text != self.answer.toPlainText():
                self.answer.setPlainText(text)
            self.answer_box.show()
        else:
            self.answer_box.hide()
