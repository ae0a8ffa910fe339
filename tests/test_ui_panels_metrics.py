"""Metrics panel: per-iteration/per-depth numbers, click-to-select, live refresh."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from test_ui_panels_data import sample_trajectory

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, SubCall, Usage
from rlm_desktop.ui.panels.metrics import MetricsPanel, RunMetrics


def _panel(qtbot):
    p = MetricsPanel()
    qtbot.addWidget(p)
    p.resize(640, 560)
    p.show()
    qtbot.waitExposed(p)
    return p


def _drawn(qtbot, p: MetricsPanel) -> None:
    """The plots draw on the next turn of the event loop (once per turn): wait for it."""
    qtbot.waitUntil(lambda: not p.drawing, timeout=3000)


def test_run_metrics_numbers():
    run = sample_trajectory().runs[0]
    m = RunMetrics.of(run)
    assert list(m.numbers) == [1, 2, 3]
    assert list(m.root_in) == [1000, 1500, 2000] and list(m.root_out) == [200, 150, 100]
    assert list(m.sub_tokens) == [150 + 12, 340, 0]
    assert list(m.time) == [1.5, 2.5, 0.7]
    assert abs(m.repl_time[0] - 0.402) < 1e-9
    assert m.any_cost and abs(m.cost[0] - 0.0112) < 1e-9
    assert m.depths == [0, 1]
    assert m.depth_tokens == [4950, 502]
    assert m.depth_calls == [3, 3]  # 3 root turns; 3 calls at depth 1
    # cost: the root turns' own, then each depth-1 call's (no cost reported counts 0)
    assert [round(c, 6) for c in m.depth_cost] == [0.045, 0.0042]
    # time: the root run's at depth 0, the depth-1 calls' execution times summed
    assert [round(t, 6) for t in m.depth_time] == [4.7, 1.25]


def _tree(ours: bool) -> Run:
    child = Run(depth=1)
    cit = child.add_iteration(Iteration(number=1))
    cb = cit.add_block(CodeBlock(index=0))
    cb.add_sub_call(SubCall(index=0, usage=Usage(1, 100, 10)))
    root = Run(metadata={"rlm_desktop": {"version": "0.1.0"}} if ours else {})
    it = root.add_iteration(Iteration(number=1))
    call = it.add_block(CodeBlock(index=0)).add_sub_call(SubCall(index=0, usage=Usage(2, 400, 40), child=child))
    child.parent = call
    return root


def test_llm_query_inside_child_counted_once_per_log_kind():
    # upstream: the child's usage_summary (2 calls) = its 1 turn + its llm_query
    assert list(RunMetrics.of(_tree(ours=False)).sub_tokens) == [440]
    # our engine: the child call's usage is its own turn only; the llm_query is separate
    m = RunMetrics.of(_tree(ours=True))
    assert list(m.sub_tokens) == [440 + 110]
    assert dict(zip(m.depths, m.depth_tokens, strict=True)) == {0: 0, 1: 440, 2: 110}


def test_child_summary_not_double_counted():
    # a child RLM whose usage summary already covers the llm_query it made
    child = Run(depth=1)
    cit = child.add_iteration(Iteration(number=1))
    cb = cit.add_block(CodeBlock(index=0))
    cb.add_sub_call(SubCall(index=0, usage=Usage(1, 100, 10)))
    grand = Run(depth=2)
    gcall = cb.add_sub_call(SubCall(index=1, usage=Usage(2, 50, 5), child=grand))
    grand.parent = gcall
    grand.add_iteration(Iteration(number=1)).add_block(CodeBlock(index=0)).add_sub_call(
        SubCall(index=0, usage=Usage(1, 7, 1))
    )
    root = Run()
    it = root.add_iteration(Iteration(number=1))
    call = it.add_block(CodeBlock(index=0)).add_sub_call(SubCall(index=0, usage=Usage(3, 400, 40), child=child))
    child.parent = call
    m = RunMetrics.of(root)
    assert list(m.sub_tokens) == [440 + 55]  # child's summary + grandchild's; the covered leaves not again
    assert dict(zip(m.depths, m.depth_tokens, strict=True)) == {0: 0, 1: 440, 2: 55, 3: 0}
    assert dict(zip(m.depths, m.depth_calls, strict=True)) == {0: 1, 1: 1, 2: 2, 3: 1}


def _scene_point(plot, x, y_frac=0.3):
    vb = plot.getViewBox()
    y0, y1 = vb.viewRange()[1]
    return vb.mapViewToScene(QPointF(x, y0 + (y1 - y0) * y_frac))


def test_click_bar_selects_iteration(qtbot):
    run = sample_trajectory().runs[0]
    p = _panel(qtbot)
    p.show_run(run)
    _drawn(qtbot, p)
    got = []
    p.nodeSelected.connect(got.append)
    view = p.iter_view
    scene_pos = _scene_point(p.tokens_plot, 1.0, 0.2)
    widget_pos = view.mapFromScene(scene_pos)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(widget_pos.x(), widget_pos.y()))
    assert got == [run.iterations[1]]
    assert p.markers[0].isVisible() and p.markers[0].value() == 1
    # the cost and time plots too; between bars -> nothing
    assert p.click_iteration_at(_scene_point(p.time_plot, 2.1)) is run.iterations[2]
    assert p.click_iteration_at(_scene_point(p.cost_plot, 0.5)) is None
    assert got == [run.iterations[1], run.iterations[2]]


def test_click_depth_bar_selects_first_run_at_depth(qtbot):
    run = sample_trajectory().runs[0]
    p = _panel(qtbot)
    p.show_run(run)
    p.tabs.setCurrentIndex(1)
    qtbot.wait(5)
    got = []
    p.nodeSelected.connect(got.append)
    child = run.iterations[1].code_blocks[0].sub_calls[0].child
    assert p.click_depth_at(_scene_point(p.depth_calls_plot, 1.0)) is child
    assert got == [child]


def test_show_node_marks_iteration_and_switches_run(qtbot):
    run = sample_trajectory().runs[0]
    p = _panel(qtbot)
    p.show_node(run.iterations[0].code_blocks[1].sub_calls[0])
    assert p.run() is run and p.markers[0].value() == 0
    child = run.iterations[1].code_blocks[0].sub_calls[0].child
    p.show_node(child.iterations[0])
    assert p.run() is child and list(p.metrics.numbers) == [1]
    assert "1 iteration" in p.summary.text()
    p.show_run(None)
    assert p.summary.text() == "No run selected." and list(p.metrics.numbers) == []


def test_the_plots_draw_once_per_turn_of_the_event_loop(qtbot):
    """The numbers are there at once, the plots are drawn on the next turn of the event
    loop, once for all that was asked in this one: opening a file shows no run, then its
    first run, and each pyqtgraph redraw is ~12 ms. No run alone empties them."""
    run = sample_trajectory().runs[0]
    p = _panel(qtbot)
    p.show_run(run)
    _drawn(qtbot, p)
    drawn: list[int] = []
    own = p._draw
    p._draw_timer.timeout.disconnect()
    p._draw_timer.timeout.connect(lambda: (drawn.append(p._to_draw[0].n if p._to_draw else -1), own()))
    p.show_node(None)
    assert p.summary.text() == "No run selected." and list(p.metrics.numbers) == []
    p.show_node(run.iterations[1])
    assert list(p.metrics.numbers) == [1, 2, 3] and p.markers[0].value() == 1  # at once
    assert p.drawing and len(p.bars_root_in.opts["x"]) == 3  # (still the last drawing)
    _drawn(qtbot, p)
    assert drawn == [3] and len(p.bars_root_in.opts["x"]) == len(run.iterations)
    p.show_run(None)
    assert len(p.bars_root_in.opts["x"]) == len(run.iterations)  # (not yet)
    _drawn(qtbot, p)
    assert drawn == [3, 0] and len(p.bars_root_in.opts["x"]) == 0 and not p.markers[0].isVisible()


def test_live_refresh_adds_iterations(qtbot):
    run = sample_trajectory().runs[0]
    p = _panel(qtbot)
    p.show_run(run)
    assert "3 iterations" in p.summary.text()
    it = run.add_iteration(Iteration(number=4, iteration_time=3.0, usage=Usage(1, 10, 1, 0.5)))
    p.refresh()
    assert list(p.metrics.numbers) == [1, 2, 3, 4] and p.metrics.cost[-1] == 0.5
    _drawn(qtbot, p)
    assert list(p.bars_root_in.opts["height"]) == [1000, 1500, 2000, 10]
    assert "4 iterations" in p.summary.text()
    assert p.click_iteration_at(_scene_point(p.tokens_plot, 3.0)) is it
    # zoomed in by the user: a refresh does not move the view
    p.tokens_plot.setXRange(-0.5, 1.5, padding=0)
    run.add_iteration(Iteration(number=5))
    p.refresh()
    _drawn(qtbot, p)
    assert p.tokens_plot.getViewBox().viewRange()[0][1] < 2


def test_legends_are_title_keys_not_drawn_over_the_bars(qtbot):
    p = _panel(qtbot)
    p.show_run(sample_trajectory().runs[0])
    _drawn(qtbot, p)
    # no pyqtgraph LegendItem floats over a plot's data area
    for plot in p.iteration_plots + p.depth_plots:
        assert plot.legend is None
    for plot in p.iteration_plots:
        assert plot.height() >= 100  # readable, not squashed
    keys = p.legend_text(p.tokens_plot)
    assert "Tokens per iteration" in keys and "■ root in" in keys and "■ sub-calls" in keys
    assert "■ REPL" in p.legend_text(p.time_plot)
    assert p.legend_text(p.cost_plot).startswith("Cost per iteration ($)")
    # per depth: tokens, calls, cost and time, drawn from the same numbers
    assert [p.legend_text(x) for x in p.depth_plots] == [
        "Tokens per depth", "Calls per depth", "Cost per depth ($)", "Time per depth (s, calls summed)"]
    heights = p.bars_depth_cost.opts["height"]
    assert [round(float(h), 6) for h in heights] == [0.045, 0.0042]
    assert [round(float(h), 6) for h in p.bars_depth_time.opts["height"]] == [4.7, 1.25]


def test_plot_data_of_a_big_run_is_bounded_and_keeps_the_run_s_numbers():
    from rlm_desktop.ui.panels.plot_data import PlotData

    n = 10_001
    m = RunMetrics(numbers=list(range(1, n + 1)), root_in=[1] * n, root_out=[2] * n, sub_tokens=[0] * n,
                   cost=[0.0] * n, time=[float(i % 7) for i in range(n)], repl_time=[0.5] * n)
    m.root_in[123] = 1000  # one tall bar: its bin's mean is lower, the y top is its own
    p = PlotData.of(m, max_bars=100)
    assert p.n == n and p.grouped and len(p.x) <= 100 and len(p.root_in) == len(p.x)
    assert p.top_tokens == 1002 and p.top_time == 6.0 and p.total_time == sum(m.time)
    assert p.any_root_tokens and p.consecutive and p.digits == 5
    # ticks: only those in view (and the first), on numbers divisible by the step
    ticks = p.major_ticks(1000, 2_500, 6_500)
    assert ticks[0] == (0, "1")
    assert [label for _, label in ticks[1:]] == ["3000", "4000", "5000", "6000"]
    assert all(int(label) == pos + 1 for pos, label in ticks)
    gaps = PlotData.of(RunMetrics(numbers=[1, 5, 10, 20], root_in=[0] * 4, root_out=[0] * 4, sub_tokens=[0] * 4,
                                  cost=[0.0] * 4, time=[0.0] * 4, repl_time=[0.0] * 4))
    assert not gaps.consecutive and not gaps.any_root_tokens
    assert gaps.major_ticks(5, 0, 3) == [(0, "1"), (1, "5"), (2, "10"), (3, "20")]


def test_a_run_s_series_are_its_totals_arrays_and_plot_the_same_as_lists():
    """RunMetrics keeps the totals' ``array.array``s (a copy into lists held the GIL for tens
    of ms per 500,000 numbers, in the worker, while the GUI thread waited) and PlotData reads
    them through their buffer: the plots get the same numbers as from lists."""
    from rlm_desktop.trajectory.totals import RunTotals
    from rlm_desktop.ui.panels.plot_data import PlotData

    run = Run()
    for i in range(5_000):
        it = run.add_iteration(Iteration(number=i + 1, iteration_time=float(i % 11)))
        it.usage = Usage(1, i % 13, i % 5, 0.001 * (i % 3))
    t = RunTotals.of_run(run)
    m = RunMetrics.from_totals(t)
    assert m.root_in is t.root_in and m.time is t.time and m.cost is t.cost  # no copies
    as_lists = RunMetrics(numbers=list(t.numbers), root_in=list(t.root_in), root_out=list(t.root_out),
                          sub_tokens=list(t.sub_tokens), cost=list(t.cost), time=list(t.time),
                          repl_time=list(t.repl_time))
    a, b = PlotData.of(m, max_bars=300), PlotData.of(as_lists, max_bars=300)
    for name in ("x", "root_in", "root_out", "sub", "repl", "lm", "cost"):
        assert getattr(a, name).tolist() == getattr(b, name).tolist(), name
    assert (a.top_tokens, a.top_time, a.top_cost, a.total_time) == (b.top_tokens, b.top_time, b.top_cost, b.total_time)
    assert a.top_tokens == 12 + 4 and a.top_time == 10.0 and a.consecutive and a.digits == 4


def test_the_worker_hands_the_panel_bounded_arrays(qtbot):
    from rlm_desktop.ui.panels.binning import MAX_BARS
    from rlm_desktop.ui.panels.common import fmt_seconds

    run = Run()
    for i in range(3_000):  # over SYNC_LIMIT: measured in the worker
        run.add_iteration(Iteration(number=i + 1, iteration_time=1.0)).usage = Usage(1, 10, 5)
    p = _panel(qtbot)
    p.show_run(run)
    assert p.summary.text().startswith("Measuring 3,000 iterations")
    qtbot.waitUntil(lambda: p.summary.text().startswith("3000 iterations"), timeout=30_000)
    assert p.plot.n == 3_000 and len(p.bars_root_in.opts["x"]) <= MAX_BARS
    assert f"time {fmt_seconds(3000.0)}" in p.summary.text()
    labelled = [t for t in p.time_plot.getAxis("bottom")._tickLevels[0] if t[1]]
    assert 2 <= len(labelled) <= 40
