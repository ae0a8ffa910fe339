"""Issue 15 item 3 follow-up: the Cost Flame Graph and the Run Summary on a run of
200,000 iterations: the flame layout is bounded by what can be seen, and neither panel
walks the run on the GUI thread."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QVBoxLayout, QWidget

from rlm_desktop.trajectory import run_card
from rlm_desktop.trajectory.flame import MIN_W, Merged, layout
from rlm_desktop.trajectory.model import Iteration
from rlm_desktop.trajectory.totals import RUN_TOTALS_KEY, RunTotals
from rlm_desktop.ui.flame_graph import FlamePanel
from rlm_desktop.ui.panels.run_header import RunSummaryHeader
from tests.support import hostile_models

N = 200_000


@pytest.fixture(scope="module")
def big():
    return hostile_models.many_iterations(N)


def test_flame_layout_of_a_huge_run_is_bounded_and_keeps_the_totals(big):
    traj, run = big
    flame = layout(run, "tokens")
    rows = [len(r) for r in flame.rows]
    assert max(rows) <= 2 / MIN_W + 2, rows  # not 200,000 frames a row
    assert len(flame.frames) < 4 / MIN_W
    merged = [f for f in flame.frames if isinstance(f.node, Merged)]
    assert merged and sum(len(f.node.nodes) for f in merged if f.depth == 1) == N
    row = [flame.frames[i] for i in flame.rows[1]]
    assert sum(f.tokens for f in row) == flame.total == sum(it.usage.total_tokens for it in run.iterations)
    assert abs(sum(f.w for f in row) - 1.0) < 1e-9
    # left to right without gaps: merged spans sit where their iterations would
    for a, b in zip(row, row[1:], strict=False):
        assert abs(a.x + a.w - b.x) < 1e-9
    assert "frames merged" in merged[0].node.path and flame.at(0.5, 1) is not None


def test_flame_layout_of_a_small_run_keeps_every_frame():
    traj, run = hostile_models.many_iterations(100)
    flame = layout(run, "time")
    row = [flame.frames[i].node for i in flame.rows[1]]
    assert len(row) == 100 and all(isinstance(n, Iteration) for n in row)
    # its 10-ms code blocks are thinner than MIN_W of a 400-s run: each a merged frame
    assert [len(f.node.nodes) for f in flame.frames if f.depth == 2] == [1] * 2


class Walks:
    """Counts, per thread, the walks over the run's iterations."""

    def __init__(self, items):
        self.items, self.threads = items, []

    def __iter__(self):
        self.threads.append(threading.current_thread())
        return iter(self.items)

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]

    def __bool__(self):
        return bool(self.items)


def test_run_summary_of_a_huge_run_counts_in_a_worker(qtbot, big):
    traj, run = big
    expected = run_card.run_facts(run, upstream=True)
    header = RunSummaryHeader()
    qtbot.addWidget(header)
    walks = Walks(run.iterations)
    run.iterations = walks
    try:
        header.show_node(run)
        assert header.totals.text().startswith(f"Counting {N:,} iterations")
        assert header.answer_text() == "done"
        qtbot.waitUntil(lambda: "code block" in header.totals.text(), timeout=60000)
        assert walks.threads and threading.main_thread() not in walks.threads
        assert f"{N} iterations · {expected.code_blocks} code blocks" in header.totals.text()
        assert f"{expected.tokens:,}" in header.totals.text()
    finally:
        run.iterations = walks.items
        header.job.wait(30)


def test_run_summary_takes_a_lazy_runs_whole_file_totals(qtbot, big):
    traj, run = big
    totals = RunTotals.of_run(run, upstream=True)
    assert totals.code_blocks == N // 50
    header = RunSummaryHeader()
    qtbot.addWidget(header)
    walks = Walks(run.iterations)
    run.iterations, run.extra[RUN_TOTALS_KEY] = walks, totals
    try:
        header.show_node(run)
        assert not walks.threads and not header.job.running  # no walk at all
        assert header.totals.text().startswith(f"{N} iterations · {N // 50} code blocks")
    finally:
        run.iterations = walks.items
        del run.extra[RUN_TOTALS_KEY]


def test_flame_panel_lays_a_huge_run_out_in_a_worker_only_when_shown(qtbot, big):
    traj, run = big
    host = QWidget()  # as in the window: the panel is never a top-level window of its own
    qtbot.addWidget(host)
    panel = FlamePanel(host)
    QVBoxLayout(host).addWidget(panel)
    host.hide()
    walks = Walks(run.iterations)
    run.iterations = walks
    try:
        panel.show_run(run)  # hidden: nothing is laid out yet
        assert panel.view.flame is None and not walks.threads and not panel.job.running
        host.resize(800, 300)
        host.show()
        qtbot.waitUntil(lambda: panel.view.flame is not None, timeout=120000)
        assert walks.threads and threading.main_thread() not in walks.threads
        assert panel.total_label.text().endswith("tokens")
        assert max(len(r) for r in panel.view.flame.rows) <= 2 / MIN_W + 2
    finally:
        run.iterations = walks.items
        panel.job.wait(30)
