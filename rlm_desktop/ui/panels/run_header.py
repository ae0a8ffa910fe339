"""Run Summary: a header for the run of the selected node (any run or child run), at a glance.

Like upstream's banner: the question, the final answer (large, selectable, with a Copy
button), the status, and one line of totals (iterations, code blocks, sub-calls per depth,
tokens, cost, time) from ``trajectory.run_card``. Everything from the log is plain text.

The GUI thread never walks a big run: a lazily opened file's run takes its counts from the
whole-file totals (``run.extra[RUN_TOTALS_KEY]``), a run of more than ``SYNC_LIMIT``
iterations in memory is counted in a worker (``OffThread``) while the header shows the rest.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from rlm_desktop.trajectory.run_card import RunFacts, facts_of_totals, heading_facts, run_facts
from rlm_desktop.trajectory.totals import RUN_TOTALS_KEY, RunTotals, shared_totals
from rlm_desktop.ui.bridge import OffThread
from rlm_desktop.ui.elided_label import ElidedLabel

from .common import (
    fmt_cost,
    fmt_int,
    fmt_seconds,
    is_dark,
    node_run,
    one_line,
    plain,
    plain_label,
    role_color,
)

SYNC_LIMIT = 2_000  # iterations counted on the GUI thread; more go to a worker
ANSWER_CHARS = 20_000  # what the answer box holds at most (Copy copies all of it)
STATUS_ROLES = {"finished": "ok", "failed": "error", "cancelled": "warn", "incomplete": "warn",
                "max iterations": "warn", "running": "accent", "paused": "warn"}


def totals_line(f: RunFacts) -> str:
    parts = [f"{f.iterations} iteration{'s' if f.iterations != 1 else ''}",
             f"{f.code_blocks} code block{'s' if f.code_blocks != 1 else ''}"]
    if f.sub_calls_by_depth:
        per = ", ".join(f"depth {d}: {n}" for d, n in f.sub_calls_by_depth.items())
        parts.append(f"sub-calls {per}")
    else:
        parts.append("no sub-calls")
    parts.append(f"{fmt_int(f.tokens)} tokens")
    if f.cost is not None:
        parts.append(fmt_cost(f.cost))
    parts.append(fmt_seconds(f.seconds))
    return " · ".join(parts)


class RunSummaryHeader(QWidget):
    """Dock panel; ``show_node(node)`` shows the run that node belongs to."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runSummary")
        self._run: Any = None
        self._answer = ""
        self.job = OffThread(self)  # the facts of a big run
        self._counted: Any = None  # the run whose counts the totals line shows
        self.title = plain_label("", self)
        bold = QFont(self.title.font())
        bold.setBold(True)
        self.title.setFont(bold)
        self.status = plain_label("", self)
        self.status.setObjectName("runSummary.status")
        self.question = ElidedLabel("", self)  # one line; the whole question in its tooltip
        self.question.setObjectName("runSummary.question")
        self.answer = QPlainTextEdit(self)
        self.answer.setObjectName("runSummary.answer")
        self.answer.setReadOnly(True)
        self.answer.setFrameShape(QFrame.Shape.StyledPanel)
        big = QFont(self.answer.font())
        big.setPointSizeF(big.pointSizeF() * 1.25)
        self.answer.setFont(big)
        lines = 3
        self.answer.setFixedHeight(int(self.answer.fontMetrics().lineSpacing() * lines + 14))
        self.answer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.copy_button = QPushButton("Copy", self)
        self.copy_button.setObjectName("runSummary.copy")
        self.copy_button.setToolTip("Copy the whole final answer")
        self.copy_button.clicked.connect(self.copy_answer)
        self.totals = plain_label("", self, wrap=True)
        self.totals.setObjectName("runSummary.totals")

        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.status)
        ans = QHBoxLayout()
        ans.addWidget(self.answer, 1)
        ans.addWidget(self.copy_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 4, 6, 4)
        lay.setSpacing(3)
        lay.addLayout(top)
        lay.addWidget(self.question)
        lay.addLayout(ans)
        lay.addWidget(self.totals)
        self._paused_runs: frozenset[int] = frozenset()  # id() of runs a debugger thread is paused in
        self.show_node(None)

    # -- the panel interface -----------------------------------------------------------
    def show_node(self, node: Any) -> None:
        self._run = node_run(node)
        self._render()

    def refresh(self) -> None:
        self._render()

    def set_paused_nodes(self, nodes: Any) -> None:
        """Where the debugger's threads are paused (what the Run Tree is given too): a
        running run with one of them inside says "paused", not "running"."""
        runs = frozenset(id(r) for r in map(node_run, nodes) if r is not None)
        if runs != self._paused_runs:
            self._paused_runs = runs
            self._render()

    def run(self) -> Any:
        return self._run

    def answer_text(self) -> str:
        return self._answer

    def copy_answer(self) -> None:
        if self._answer:
            QGuiApplication.clipboard().setText(self._answer)

    # -- internals ---------------------------------------------------------------------
    def _render(self) -> None:
        run = self._run
        if run is None:
            self.title.setText("No run selected")
            self.status.setText("")
            self.question.setText("Open a trajectory or start a run; the selected run is summarised here.")
            self._set_answer(None, "")
            self.totals.setText("")
            self._counted = None
            self.job.cancel()
            return
        t = run.extra.get(RUN_TOTALS_KEY) if isinstance(run.extra, dict) else None
        if isinstance(t, RunTotals):
            self.job.cancel()
            self._show_facts(facts_of_totals(run, t))
        elif len(run.iterations) > SYNC_LIMIT:
            counting = f"Counting {len(run.iterations):,} iterations…"
            # a refresh of the same run keeps the last counts until the new ones come
            self._show_facts(heading_facts(run), self.totals.text() if self._counted is run else counting)
            # counted as the whole-file pass counts, yielding to the GUI thread as it goes
            # (upstream or not: the same rule as every other view's, decided in the worker)
            self.job.start(lambda cancelled: facts_of_totals(run, shared_totals(run, None, cancelled)),
                           lambda f: self._show_facts(f) if self._run is run else None)
        else:
            self.job.cancel()
            self._show_facts(run_facts(run))

    def _show_facts(self, f: RunFacts, totals: str | None = None) -> None:
        run = self._run
        model = f" · {run.model}" if run.model else ""
        self.title.setText(one_line(f.title + model, 300))
        if f.status == "running" and id(run) in self._paused_runs:
            f = replace(f, status="paused")
        self.status.setText(f.status)
        colour = role_color(STATUS_ROLES.get(f.status, "muted"), is_dark(self)).name()
        self.status.setStyleSheet(f"color: {colour}; font-weight: bold;")
        q = f.question
        shown = "Question: " + (" ".join(plain(q).split()) if q else "(not in the log)")
        self.question.set_full_text(shown[:2000], plain(q)[:4000] if q else "")
        if f.answer is not None:
            self._set_answer(f.answer, "")
        elif f.error:
            self._set_answer(None, f"(no final answer: {one_line(f.error, 300)})")
        elif f.status == "running":
            self._set_answer(None, "(no final answer yet: the run is going on)")
        elif f.status == "paused":
            self._set_answer(None, "(no final answer yet: the run is paused)")
        else:
            self._set_answer(None, "(no final answer)")
        self.totals.setText(totals if totals is not None else totals_line(f))
        if totals is None:
            self._counted = run

    def _set_answer(self, answer: str | None, placeholder: str) -> None:
        self._answer = plain(answer) if answer is not None else ""
        text = self._answer if len(self._answer) <= ANSWER_CHARS else self._answer[:ANSWER_CHARS] + "\n… [cut]"
        if text != self.answer.toPlainText():
            self.answer.setPlainText(text)
        self.answer.setPlaceholderText(placeholder)
        self.copy_button.setEnabled(bool(self._answer))


__all__ = ["SYNC_LIMIT", "RunSummaryHeader", "totals_line"]
