"""Find in the whole tree (Ctrl+F): code, REPL output and messages of every node.

The walk runs in a ``ui.bridge`` job (a new search cancels the last one) (a big tree is never scanned in the GUI thread);
results arrive in the GUI thread as one list. Enter / F3 jumps to the next hit and
selects its node everywhere; Shift+F3 goes back.

In a big file opened lazily the hits are found by streaming it (``grep``), in parsed copies of
the matching lines: such a hit names its document iteration (a placeholder until loaded) and
the path of its node below it (``Hit.inner``). A jump selects the iteration and, once it is
loaded (``NodeSelection.refresh`` from ``LazyDocuments``), the block or sub-call itself, the
same node a hit in a fully loaded file selects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rlm_desktop.trajectory.grep import matching_iterations
from rlm_desktop.trajectory.lazy import is_placeholder
from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, SubCall
from rlm_desktop.trajectory.names import where
from rlm_desktop.trajectory.reader import sanitize_str

from .bridge import Bridge, Job

MAX_HITS = 5000


@dataclass(frozen=True)
class Hit:
    node: Any
    field: str
    snippet: str
    #: a lazily searched hit below its iteration ``node``: the node's path under it
    #: ("b0/c1") and its name ("Block 1 › llm_query 2"); empty for a hit on ``node`` itself
    inner: str = ""
    inner_name: str = ""

    @property
    def label(self) -> str:
        """Where the hit is, for people ("Run 1 › Iteration 3 › Block 1")."""
        return where(self.node) + (f" › {self.inner_name}" if self.inner_name else "")

    @property
    def node_path(self) -> str:
        return f"{self.node.path}/{self.inner}" if self.inner else self.node.path


def inner_node(it: Iteration, inner: str) -> Any:
    """The node at path ``inner`` below the loaded iteration ``it``, or None."""
    want = f"{it.path}/{inner}"
    return next((n for n in _iteration_nodes(it) if n.path == want), None)


def _text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, list):
        return "\n".join(_text(m.get("content", "")) if isinstance(m, dict) else _text(m) for m in v)
    if isinstance(v, dict):
        return _text(v.get("content", ""))
    return "" if v is None else str(v)


def fields_of(node: Any) -> Iterator[tuple[str, str]]:
    if isinstance(node, Run):
        yield "final answer", node.final_answer or ""
    elif isinstance(node, Iteration):
        yield "response", node.response
        yield "prompt", _text(node.prompt)
    elif isinstance(node, CodeBlock):
        yield "code", node.code
        yield "stdout", node.stdout
        yield "stderr", node.stderr
    elif isinstance(node, SubCall):
        yield "sub-call prompt", _text(node.prompt)
        yield "sub-call response", node.response


def search_nodes(nodes: Any, text: str, case_sensitive: bool = False, cancel: Any = None) -> list[Hit]:
    if not text:
        return []
    needle = text if case_sensitive else text.lower()
    hits: list[Hit] = []
    for node in nodes:
        if cancel is not None and cancel():
            break
        for name, value in fields_of(node):
            hay = value if case_sensitive else value.lower()
            i = hay.find(needle)
            if i >= 0:
                lo = max(0, i - 30)
                snippet = " ".join(value[lo : i + len(text) + 50].split())
                hits.append(Hit(node, name, sanitize_str(snippet)))
                break
        if len(hits) >= MAX_HITS:
            break
    return hits


def _iteration_nodes(it: Iteration) -> Iterator[Any]:
    yield it
    for b in it.code_blocks:
        yield b
        for c in b.sub_calls:
            yield c
            if c.child is not None:
                yield from c.child.walk()


def search_lazy(traj: Any, text: str, case_sensitive: bool = False, cancel: Any = None) -> list[Hit]:
    """A lazily opened file: stream it for the text (``grep.matching_iterations``), check the
    fields of the lines found, and point every hit at the document's own iteration (loaded
    on demand when selected)."""
    hits: list[Hit] = []
    for ri, pos, parsed in matching_iterations(traj.lazy, text, case_sensitive=case_sensitive, cancel=cancel):
        if ri >= len(traj.runs) or pos >= len(traj.runs[ri].iterations):
            continue
        shell = traj.runs[ri].iterations[pos]
        top, top_name = parsed.path, where(parsed)
        for h in search_nodes(_iteration_nodes(parsed), text, case_sensitive, cancel):
            if h.node is parsed:
                hits.append(Hit(shell, h.field, h.snippet))
            else:
                name = where(h.node)
                name = name[len(top_name):].lstrip(" ›") if name.startswith(top_name) else name
                hits.append(Hit(shell, h.field, h.snippet, h.node.path[len(top) + 1:], name))
            if len(hits) >= MAX_HITS:
                return hits
    return hits


class SearchPanel(QWidget):
    finished = Signal(int)  # number of hits
    jumped = Signal(object, str)  # (Hit, query) after its node was selected

    def __init__(self, selection: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SearchPanel")
        self.selection = selection
        self.trajectory: Any = None
        self.hits: list[Hit] = []
        self.hit_row = -1
        self.bridge = Bridge(self._on_bridge, self)
        self._job: Job | None = None  # the search in progress; an older one is cancelled
        self._pending: Hit | None = None  # a lazy hit whose iteration is being loaded
        selection.changed.connect(self._selection_changed)

        self.edit = QLineEdit(self)
        self.edit.setPlaceholderText("Find in code, output and messages…")
        self.edit.setClearButtonEnabled(True)
        self.case = QCheckBox("Aa", self)
        self.case.setToolTip("Match case")
        self.status = QLabel("", self)
        self.results = QListWidget(self)
        self.results.setUniformItemSizes(True)
        top = QHBoxLayout()
        top.addWidget(self.edit, 1)
        top.addWidget(self.case)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(2, 2, 2, 2)
        lay.addLayout(top)
        lay.addWidget(self.status)
        lay.addWidget(self.results, 1)

        self.edit.returnPressed.connect(self._enter)
        self.results.itemActivated.connect(lambda item: self.jump(self.results.row(item)))
        self.results.currentRowChanged.connect(lambda row: self.jump(row) if row >= 0 else None)

    def set_trajectory(self, traj: Any) -> None:
        self.trajectory = traj
        self.hits = []
        self.hit_row = -1
        self.results.clear()
        self.status.setText("")

    def focus_input(self) -> None:
        self.edit.setFocus()
        self.edit.selectAll()

    def start(self, text: str | None = None) -> None:
        if text is not None:
            self.edit.setText(text)
        text = self.edit.text()
        if self._job is not None:
            self._job.discard()
            self._job.cancel()
            self._job = None
        self._query = text
        if not text or self.trajectory is None:
            self._done([])
            return
        self.status.setText("Searching…")
        traj, case = self.trajectory, self.case.isChecked()

        def work(job: Job) -> list[Hit]:
            try:
                if getattr(traj, "lazy", None) is not None:  # a big file: stream it, not the shells
                    return search_lazy(traj, text, case, lambda: job.cancelled)
                return search_nodes(list(traj.walk()), text, case, lambda: job.cancelled)
            except Exception:  # a live tree changed under us: report what we have (nothing)
                return []

        self._job = self.bridge.job("rlm-search").start(work)

    def _on_bridge(self, job: Job | None, kind: str, payload: Any) -> None:
        if job is not self._job or kind not in ("done", "error", "cancelled"):
            return
        self._job = None
        self._done(payload if kind == "done" else [])

    def _enter(self) -> None:
        if self.hits and getattr(self, "_query", None) == self.edit.text():
            self.next_hit()
        else:
            self.start()

    def _done(self, hits: list[Hit]) -> None:
        self.hits = hits
        self.hit_row = -1
        self.results.blockSignals(True)
        self.results.clear()
        for h in hits:
            item = QListWidgetItem(f"{h.label}  [{h.field}]  {h.snippet}")
            item.setToolTip(f"Node path (for copying): {h.node_path}")
            self.results.addItem(item)
        self.results.blockSignals(False)
        self.status.setText(f"{len(hits)} hit(s)" if self.edit.text() else "")
        self.finished.emit(len(hits))

    def jump(self, row: int) -> None:
        if not 0 <= row < len(self.hits):
            return
        self.hit_row = row
        self.results.blockSignals(True)
        self.results.setCurrentRow(row)
        self.results.blockSignals(False)
        hit = self.hits[row]
        self._pending = None
        target = hit.node
        if hit.inner:
            if is_placeholder(hit.node):
                self._pending = hit  # its node once the iteration is loaded
            else:
                target = inner_node(hit.node, hit.inner) or hit.node
        self.selection.select(target)
        self.status.setText(f"hit {row + 1} of {len(self.hits)}")
        if self._pending is None:  # else once its node is there (the text is found in it then)
            self.jumped.emit(hit, getattr(self, "_query", "") or self.edit.text())

    def _selection_changed(self, node: Any) -> None:
        hit = self._pending
        if hit is None:
            return
        if node is not hit.node:  # the user went elsewhere meanwhile
            self._pending = None
        elif not is_placeholder(node):  # loaded: on to the hit's own node
            self._pending = None
            target = inner_node(node, hit.inner)
            if target is not None:
                self.selection.select(target)
            self.jumped.emit(hit, getattr(self, "_query", "") or self.edit.text())

    def next_hit(self) -> None:
        if self.hits:
            self.jump((self.hit_row + 1) % len(self.hits))

    def previous_hit(self) -> None:
        if self.hits:
            self.jump((self.hit_row - 1) % len(self.hits))

    def shutdown(self) -> None:
        self._job = None
        self.bridge.shutdown()
