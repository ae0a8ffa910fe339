"""Metrics panel (pyqtgraph): tokens, cost and time per iteration and per depth of a run.

Clicking a bar or point emits ``nodeSelected`` with that iteration (per
depth: the first run at that depth). ``refresh()`` re-reads the run (live).

Token accounting follows the log's meaning (``trajectory.summary``): an
iteration's own root-LM usage (when the log has it), plus each sub-call's
``usage_summary``, each LM call once. In upstream logs a child RLM's summary
already includes the plain ``llm_query`` calls made inside it, so those are
not added again; in our engine's logs they are separate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, SubCall, Usage
from rlm_desktop.trajectory.summary import root_run
from rlm_desktop.trajectory.totals import RUN_TOTALS_KEY, RunTotals, shared_totals
from rlm_desktop.ui.bridge import OffThread

from .common import fmt_cost, fmt_int, fmt_seconds, is_dark, is_loading, node_iteration, node_run, plain_label
from .plot_data import PlotData

#: Runs with more iterations than this are measured in a worker thread.
SYNC_LIMIT = 2_000
MIN_PLOT_HEIGHT = 110
MIN_DEPTH_PLOT_HEIGHT = 80  # four plots share the "Per depth" tab
COLOURS = {
    "root_in": "#42a5f5",
    "root_out": "#1565c0",
    "sub": "#ffa726",
    "cost": "#ab47bc",
    "repl": "#66bb6a",
    "lm": "#90a4ae",
    "depth": "#26a69a",
}


@dataclass
class RunMetrics:
    """The per-iteration series behind the plots (also what the tests check) and the
    per-depth sums. The series are the totals' own ``array.array``s, not copies: copying
    500,000 numbers into a list, and a list into numpy, is a C loop that holds the GIL for
    tens of milliseconds, and a worker doing it stalled the GUI thread that long; numpy reads
    an ``array`` through the buffer protocol in one copy. Only read, never changed."""

    numbers: Sequence[int] = field(default_factory=list)
    root_in: Sequence[int] = field(default_factory=list)
    root_out: Sequence[int] = field(default_factory=list)
    sub_tokens: Sequence[int] = field(default_factory=list)
    cost: Sequence[float] = field(default_factory=list)
    any_cost: bool = False
    time: Sequence[float] = field(default_factory=list)
    repl_time: Sequence[float] = field(default_factory=list)
    depths: list[int] = field(default_factory=list)
    depth_tokens: list[int] = field(default_factory=list)
    depth_calls: list[int] = field(default_factory=list)
    depth_cost: list[float] = field(default_factory=list)
    depth_time: list[float] = field(default_factory=list)  # the run's time at its own depth, summed call times below
    total: Usage = field(default_factory=Usage)
    loading: int | None = None  # placeholders not loaded yet, when counted off the GUI thread

    @classmethod
    def of(cls, run: Run, cancelled: Callable[[], bool] | None = None) -> RunMetrics:
        """Each LM call counted once (``trajectory.summary``): in upstream logs a child
        RLM's usage already holds the ``llm_query`` calls its REPL made. The numbers are
        ``totals.RunTotals``: for a big file opened lazily, those of the whole-file pass
        (``run.extra[RUN_TOTALS_KEY]``, set when it arrives), else of the run in memory
        (a worker's ``cancelled()`` is polled meanwhile: the numbers are partial once True)."""
        t = run.extra.get(RUN_TOTALS_KEY)
        return cls.from_totals(t if isinstance(t, RunTotals) else shared_totals(run, cancelled=cancelled))

    def count_loading(self, run: Run) -> RunMetrics:
        """Count the run's iterations not loaded yet (a walk over the run: for a worker)."""
        self.loading = sum(1 for it in run.iterations if is_loading(it))
        return self

    @classmethod
    def from_totals(cls, t: RunTotals) -> RunMetrics:
        m = cls(
            numbers=t.numbers,
            root_in=t.root_in,
            root_out=t.root_out,
            sub_tokens=t.sub_tokens,
            cost=t.cost,
            any_cost=t.any_cost,
            time=t.time,
            repl_time=t.repl_time,
            total=t.usage,
        )
        # per depth: each call's own usage at its depth (a child call's usage stands for the
        # child's turns, so child iterations are not added again)
        by_depth = t.by_depth or {t.depth: [0, 0, 0.0, 0.0]}
        for d in sorted(by_depth):
            m.depths.append(d)
            m.depth_tokens.append(by_depth[d][0])
            m.depth_calls.append(by_depth[d][1])
            m.depth_cost.append(by_depth[d][2])
            m.depth_time.append(by_depth[d][3])
        return m


TICK_SPACING = 28  # px per labelled tick at least (wider numbers need more)


def tick_step(shown: float, width_px: float, digits: int = 3) -> int:
    """Iterations between labelled ticks: the smallest of 1, 2, 5, 10, 20, 50… that leaves
    each label about ``TICK_SPACING`` px (wider numbers need more)."""
    spacing = max(TICK_SPACING, 7 * digits + 12)
    need = shown * spacing / max(width_px, 1.0)
    base = 1
    while True:
        for mult in (1, 2, 5):
            step = base * mult
            if step >= need:
                return step
        base *= 10


def _shrinkable_title(plot: Any) -> None:
    """A plot title asks for its text's width (``LabelItem.updateMin``): in a narrow dock that
    pushed the plots out of the view, cut off at the right. Here the title may be cut instead."""
    label = plot.titleLabel
    own = label.updateMin

    def update_min() -> None:
        own()
        height = label.minimumHeight()
        label.setMinimumWidth(0)
        label._sizeHint[Qt.SizeHint.MinimumSize] = (0, height)
        label._sizeHint[Qt.SizeHint.PreferredSize] = (0, height)
        label.updateGeometry()

    label.updateMin = update_min
    update_min()


def _scroller(view: QWidget, minimum_height: int) -> QScrollArea:
    view.setMinimumHeight(minimum_height)
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    area.setWidget(view)
    return area


class MetricsPanel(QWidget):
    """Dock panel: per-iteration and per-depth charts of one run.

    ``show_run(run)`` picks the run; ``show_node(node)`` shows the node's run and
    marks its iteration. ``nodeSelected(node)`` is emitted when the user clicks
    an iteration's bar/point (an ``Iteration``) or a depth's bar (a ``Run``).
    """

    nodeSelected = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("metricsPanel")
        self._run: Run | None = None
        self._marked: Iteration | None = None
        #: show the top-level run of what is selected, not its own run (the main window's
        #: Metrics dock: its per-depth plots cover the child runs)
        self.follow_root = False
        self.metrics = RunMetrics()
        self.plot = PlotData()  # what the per-iteration plots draw (bounded arrays)
        self._ticks: tuple[int, ...] | None = None  # (step, count, minor, first, last) of the ticks set
        self.job = OffThread(self)  # metrics of a big run
        # The numbers (``metrics``, the summary) are set at once; the plots are drawn on the
        # next turn of the event loop, once for everything asked of them in this one: opening
        # a file shows no run, then its first run (one pyqtgraph redraw, ~12 ms, not two),
        # and the window's first paint is not held up by the plots' (``_draw``)
        self._draw_timer = QTimer(self)
        self._draw_timer.setSingleShot(True)
        self._draw_timer.setInterval(0)
        self._draw_timer.timeout.connect(self._draw)
        self._to_draw: tuple[PlotData, bool] | None = None  # (what to draw, autorange?)
        self._titles_set: dict[Any, str] = {}  # plot -> the title's HTML (set only when it changes)

        self.summary = plain_label("", self, wrap=True)
        self.summary.setContentsMargins(4, 2, 4, 2)
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)

        self.iter_view = pg.GraphicsLayoutWidget()
        self.tokens_plot = self.iter_view.addPlot(row=0, col=0, title="Tokens per iteration")
        self.cost_plot = self.iter_view.addPlot(row=1, col=0, title="Cost per iteration")
        self.time_plot = self.iter_view.addPlot(row=2, col=0, title="Time per iteration (s)")
        self.depth_view = pg.GraphicsLayoutWidget()
        self.depth_tokens_plot = self.depth_view.addPlot(row=0, col=0, title="Tokens per depth")
        self.depth_calls_plot = self.depth_view.addPlot(row=1, col=0, title="Calls per depth")
        self.depth_cost_plot = self.depth_view.addPlot(row=2, col=0, title="Cost per depth ($)")
        self.depth_time_plot = self.depth_view.addPlot(row=3, col=0, title="Time per depth (s)")
        self.iteration_plots = (self.tokens_plot, self.cost_plot, self.time_plot)
        self.depth_plots = (self.depth_tokens_plot, self.depth_calls_plot, self.depth_cost_plot,
                            self.depth_time_plot)
        for p in self.iteration_plots[1:]:
            p.setXLink(self.tokens_plot)
        for p in self.depth_plots[1:]:
            p.setXLink(self.depth_tokens_plot)
        for p in self.iteration_plots + self.depth_plots:
            p.showGrid(x=False, y=True, alpha=0.25)
            p.setMenuEnabled(False)
            p.getViewBox().setMouseEnabled(x=True, y=False)
            p.hideButtons()
            p.getAxis("left").setWidth(54)
            _shrinkable_title(p)
            p.setMinimumHeight(MIN_PLOT_HEIGHT if p in self.iteration_plots else MIN_DEPTH_PLOT_HEIGHT)
        # the legends are coloured keys in the titles: nothing is drawn over the bars
        self.titles = {
            self.tokens_plot: ("Tokens per iteration", (("root in", "root_in"), ("root out", "root_out"),
                                                        ("sub-calls", "sub"))),
            self.cost_plot: ("Cost per iteration ($)", ()),
            self.time_plot: ("Time per iteration (s)", (("REPL", "repl"), ("LM + other", "lm"))),
            self.depth_tokens_plot: ("Tokens per depth", ()),
            self.depth_calls_plot: ("Calls per depth", ()),
            self.depth_cost_plot: ("Cost per depth ($)", ()),
            self.depth_time_plot: ("Time per depth (s, calls summed)", ()),
        }
        for view in (self.iter_view, self.depth_view):
            view.ci.layout.setVerticalSpacing(2)
            view.ci.setContentsMargins(2, 2, 6, 2)

        self.bars_root_in = pg.BarGraphItem(x=[], height=[], width=0.7, brush=COLOURS["root_in"], name="root in")
        self.bars_root_out = pg.BarGraphItem(x=[], height=[], width=0.7, brush=COLOURS["root_out"], name="root out")
        self.bars_sub = pg.BarGraphItem(x=[], height=[], width=0.7, brush=COLOURS["sub"], name="sub-calls")
        for item in (self.bars_root_in, self.bars_root_out, self.bars_sub):
            self.tokens_plot.addItem(item)
        self.cost_curve = self.cost_plot.plot(
            [], [], pen=pg.mkPen(COLOURS["cost"], width=2), symbol="o", symbolSize=7,
            symbolBrush=COLOURS["cost"], symbolPen=None,
        )
        self.bars_repl = pg.BarGraphItem(x=[], height=[], width=0.7, brush=COLOURS["repl"], name="REPL")
        self.bars_lm = pg.BarGraphItem(x=[], height=[], width=0.7, brush=COLOURS["lm"], name="LM + other")
        for item in (self.bars_repl, self.bars_lm):
            self.time_plot.addItem(item)
        self.bars_depth_tokens = pg.BarGraphItem(x=[], height=[], width=0.6, brush=COLOURS["depth"])
        self.depth_tokens_plot.addItem(self.bars_depth_tokens)
        self.bars_depth_calls = pg.BarGraphItem(x=[], height=[], width=0.6, brush=COLOURS["sub"])
        self.depth_calls_plot.addItem(self.bars_depth_calls)
        self.bars_depth_cost = pg.BarGraphItem(x=[], height=[], width=0.6, brush=COLOURS["cost"])
        self.depth_cost_plot.addItem(self.bars_depth_cost)
        self.bars_depth_time = pg.BarGraphItem(x=[], height=[], width=0.6, brush=COLOURS["repl"])
        self.depth_time_plot.addItem(self.bars_depth_time)

        self.markers = []
        for p in self.iteration_plots:
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#e53935", width=1, style=Qt.PenStyle.DashLine))
            line.hide()
            p.addItem(line, ignoreBounds=True)
            self.markers.append(line)

        self.iter_view.scene().sigMouseClicked.connect(self._on_iter_click)
        self.depth_view.scene().sigMouseClicked.connect(self._on_depth_click)
        # each page scrolls when the dock is lower than its plots need, instead of clipping
        # the lower plots (a GraphicsLayoutWidget does not shrink below its plots' minimum)
        self.iter_scroll = _scroller(self.iter_view, len(self.iteration_plots) * (MIN_PLOT_HEIGHT + 22))
        self.depth_scroll = _scroller(self.depth_view, len(self.depth_plots) * (MIN_DEPTH_PLOT_HEIGHT + 22))
        self.tabs.addTab(self.iter_scroll, "Per iteration")
        self.tabs.addTab(self.depth_scroll, "Per depth")
        self.iter_view.installEventFilter(self)  # ticks follow the plots' width and zoom
        self.tokens_plot.getViewBox().sigXRangeChanged.connect(lambda *_: self._set_iteration_ticks())

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.summary)
        lay.addWidget(self.tabs, 1)
        self._apply_theme()
        self.show_run(None)

    # -- API ----------------------------------------------------------------------

    def show_run(self, run: Run | None) -> None:
        self._run = run
        self._marked = None
        self._update(autorange=True)

    def show_node(self, node: Run | Iteration | CodeBlock | SubCall | None) -> None:
        run = node_run(node)
        if self.follow_root and run is not None:
            run = root_run(run) or run
        if run is not self._run:
            self.show_run(run)
        self.mark_iteration(node_iteration(node) if not isinstance(node, Run) else None)

    def refresh(self) -> None:
        self._update(autorange=False)

    def run(self) -> Run | None:
        return self._run

    def mark_iteration(self, it: Iteration | None) -> None:
        self._marked = it
        pos = None
        its = self._run.iterations if self._run is not None else []
        if it is not None and 0 <= it.position < len(its) and its[it.position] is it:
            pos = it.position
        elif it is not None and it in its:
            pos = its.index(it)
        for line in self.markers:
            if pos is None:
                line.hide()
            else:
                line.setValue(pos)
                line.show()

    # -- internals ----------------------------------------------------------------

    def _apply_theme(self) -> None:
        bg = self.palette().color(self.palette().ColorRole.Base)
        fg = "#cfcfcf" if is_dark(self) else "#404040"
        for view in (self.iter_view, self.depth_view):
            view.setBackground(bg)
        for p in self.iteration_plots + self.depth_plots:
            for axis in ("left", "bottom"):
                ax = p.getAxis(axis)
                ax.setPen(pg.mkPen(fg))
                ax.setTextPen(pg.mkPen(fg))
        for p in self.titles:
            self._set_title(p)

    def _set_title(self, plot: Any, text: str | None = None) -> None:
        """Title plus legend keys (fixed strings, no log text): ``■ root in  ■ root out``."""
        base, keys = self.titles[plot]
        if text is not None:
            self.titles[plot] = (text, keys)
            base = text
        fg = "#cfcfcf" if is_dark(self) else "#404040"
        key_html = "".join(
            f'&nbsp;&nbsp;<span style="color:{COLOURS[c]}">&#9632;</span>&nbsp;{name}' for name, c in keys
        )
        html = f"<b>{base}</b>{'&nbsp;&nbsp;' + key_html if keys else ''}"
        if self._titles_set.get(plot) != html + fg:  # (a new title lays the plot out again)
            self._titles_set[plot] = html + fg
            plot.setTitle(html, color=fg, size="8pt")

    def legend_text(self, plot: Any) -> str:
        """What a plot's title says, tags removed (tests, accessibility)."""
        import re

        return re.sub(r"<[^>]+>", "", plot.titleLabel.text).replace("&nbsp;", " ").replace("&#9632;", "■")

    def changeEvent(self, event: Any) -> None:  # noqa: N802
        if event.type() in (event.Type.PaletteChange, event.Type.StyleChange):
            self._apply_theme()
        super().changeEvent(event)

    def _update(self, autorange: bool) -> None:
        run = self._run
        if run is not None and len(run.iterations) > SYNC_LIMIT and RUN_TOTALS_KEY not in run.extra:
            # a big run in memory: measured in a worker, the GUI goes on meanwhile
            self.summary.setText(f"Measuring {len(run.iterations):,} iterations…")
            # (the arrays the plots draw are made there too: the GUI thread gets ``MAX_BARS`` points)
            self.job.start(lambda cancelled: self._measure(run, cancelled),
                           lambda result: self._measured(run, result, autorange))
            return
        self.job.cancel()
        self._apply(run, *self._measure(run), autorange)

    @staticmethod
    def _measure(run: Run | None, cancelled: Callable[[], bool] | None = None) -> tuple[RunMetrics, PlotData]:
        """The metrics and what the plots draw; in a worker (``cancelled`` given) the
        iterations not loaded yet are counted there too."""
        m = RunMetrics.of(run, cancelled) if run is not None else RunMetrics()
        if cancelled is not None and run is not None:
            m.count_loading(run)
        return m, PlotData.of(m)

    def _measured(self, run: Run, result: tuple[RunMetrics, PlotData], autorange: bool) -> None:
        if run is self._run:
            self._apply(run, *result, autorange)

    @property
    def drawing(self) -> bool:
        """True while the plots have not drawn the latest numbers yet (see ``_draw``)."""
        return self._to_draw is not None

    def _apply(self, run: Run | None, m: RunMetrics, plot: PlotData, autorange: bool) -> None:
        self.metrics = m
        self._update_summary(run, m, plot)
        self.mark_iteration(self._marked)
        pending = self._to_draw
        self._to_draw = (plot, autorange or (pending is not None and pending[1]))
        self._draw_timer.start()

    def _draw(self) -> None:
        if self._to_draw is None:
            return
        plot, autorange = self._to_draw
        self._to_draw = None
        m = self.metrics
        prev_n = self.plot.n
        # live: keep following the newest iteration unless the user zoomed/panned away
        right = self.tokens_plot.getViewBox().viewRange()[0][1]
        following = right >= prev_n - 0.45
        self.plot = plot
        n = plot.n
        # more iterations than bars a plot can draw in a frame: means of equal groups (PlotData)
        x, width = plot.x, plot.width
        rin, rout, sub, repl, lm, cost = plot.root_in, plot.root_out, plot.sub, plot.repl, plot.lm, plot.cost
        self.bars_root_in.setOpts(x=x, height=rin, y0=np.zeros(len(x)), width=width)
        self.bars_root_out.setOpts(x=x, height=rout, y0=rin, width=width)
        self.bars_sub.setOpts(x=x, height=sub, y0=rin + rout, width=width)
        # (the symbol in the same call: set after the data, 2,000 points were made symbols first)
        self.cost_curve.setData(x, cost, symbol="o" if len(x) <= 300 else None)
        grouped = f" (means of {round(width / 0.9):,})" if plot.grouped else ""
        self._set_title(
            self.cost_plot,
            ("Cost per iteration ($)" if m.any_cost else "Cost per iteration (no cost reported)") + grouped,
        )
        self._set_title(self.tokens_plot, "Tokens per iteration" + grouped)
        self._set_title(self.time_plot, "Time per iteration (s)" + grouped)
        self.bars_repl.setOpts(x=x, height=repl, y0=np.zeros(len(x)), width=width)
        self.bars_lm.setOpts(x=x, height=lm, y0=repl, width=width)
        dx = np.asarray(m.depths, dtype=float)
        self.bars_depth_tokens.setOpts(x=dx, height=np.asarray(m.depth_tokens, dtype=float))
        self.bars_depth_calls.setOpts(x=dx, height=np.asarray(m.depth_calls, dtype=float))
        self.bars_depth_cost.setOpts(x=dx, height=np.asarray(m.depth_cost, dtype=float))
        self.bars_depth_time.setOpts(x=dx, height=np.asarray(m.depth_time, dtype=float))
        dticks = [[(d, f"depth {d}") for d in m.depths]]
        for p in self.depth_plots:
            p.getAxis("bottom").setTicks(dticks)
        if autorange or following or n <= 1:
            for p in self.iteration_plots:
                p.setXRange(-0.6, max(n, 1) - 0.4, padding=0)
            for p in self.depth_plots:
                p.setXRange((min(m.depths) if m.depths else 0) - 0.6, (max(m.depths) if m.depths else 0) + 0.6, padding=0)
        # y ranges: a little headroom above the tallest bar
        for p, top in (
            (self.tokens_plot, plot.top_tokens),
            (self.cost_plot, plot.top_cost),
            (self.time_plot, plot.top_time),
            (self.depth_tokens_plot, float(max(m.depth_tokens, default=0))),
            (self.depth_calls_plot, float(max(m.depth_calls, default=0))),
            (self.depth_cost_plot, float(max(m.depth_cost, default=0))),
            (self.depth_time_plot, float(max(m.depth_time, default=0))),
        ):
            p.setYRange(0, (top or 1.0) * 1.08, padding=0)
        self._set_iteration_ticks()  # for the x range just set (``_apply`` placed the markers)

    def _set_iteration_ticks(self) -> None:
        """Labels 1, 2, 5, 10, 20, 50… iterations apart, as many as the plot's width has room
        for (about ``TICK_SPACING`` px each); every iteration gets an unlabelled tick while
        there is room for it."""
        plot = self.plot
        lo, hi = self.tokens_plot.getViewBox().viewRange()[0]
        shown = max(hi - lo, 1.0)
        width = max(float(self.tokens_plot.getViewBox().width()), 50.0)
        step = tick_step(shown, width, plot.digits)
        n = plot.n
        # only the ticks in view (and the first): a few dozen, not one per iteration of a big run
        first, last = max(int(lo) - 1, 0), min(int(hi) + 2, n)
        minor_on = width / shown >= 4 and step > 1
        key = (step, n, minor_on, first, last)
        if self._ticks == key:
            return
        self._ticks = key
        ticks = [plot.major_ticks(step, lo, hi), [(i, "") for i in range(first, last)] if minor_on else []]
        for p in self.iteration_plots:
            p.getAxis("bottom").setTicks(ticks)

    def eventFilter(self, obj: Any, event: Any) -> bool:  # noqa: N802
        if obj is self.iter_view and event.type() == event.Type.Resize:
            self._ticks = None
            QTimer.singleShot(0, self, self._set_iteration_ticks)  # after the plots have their new size
        return False

    def _update_summary(self, run: Run | None, m: RunMetrics, plot: PlotData) -> None:
        if run is None:
            self.summary.setText("No run selected.")
            return
        t = m.total
        parts = [
            f"{len(m.numbers)} iteration{'s' if len(m.numbers) != 1 else ''}",
            f"tokens {fmt_int(t.input_tokens)} in / {fmt_int(t.output_tokens)} out",
            f"cost {fmt_cost(t.cost)}",
            f"time {fmt_seconds(plot.total_time)}",  # the run's total_time(), without walking the run
            f"max depth {max(m.depths) if m.depths else run.depth}",
        ]
        loading = m.loading if m.loading is not None else sum(1 for it in run.iterations if is_loading(it))
        if loading:
            parts.append(f"{loading} not loaded yet")
        if not plot.any_root_tokens and run.iterations:
            parts.append("root-LM tokens not in this log")
        self.summary.setText(" · ".join(parts))

    def _plot_at(self, plots: tuple[Any, ...], scene_pos: Any) -> Any:
        for p in plots:
            if p.sceneBoundingRect().contains(scene_pos):
                return p
        return None

    def _on_iter_click(self, event: Any) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        self.click_iteration_at(event.scenePos())

    def click_iteration_at(self, scene_pos: Any) -> Iteration | None:
        plot = self._plot_at(self.iteration_plots, scene_pos)
        run = self._run
        if plot is None or run is None or not run.iterations:
            return None
        x = plot.getViewBox().mapSceneToView(scene_pos).x()
        i = int(round(x))
        if abs(x - i) > 0.45 or not 0 <= i < len(run.iterations):
            return None
        it = run.iterations[i]
        self.mark_iteration(it)
        self.nodeSelected.emit(it)
        return it

    def _on_depth_click(self, event: Any) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        self.click_depth_at(event.scenePos())

    def click_depth_at(self, scene_pos: Any) -> Run | None:
        plot = self._plot_at(self.depth_plots, scene_pos)
        run = self._run
        if plot is None or run is None:
            return None
        x = plot.getViewBox().mapSceneToView(scene_pos).x()
        d = int(round(x))
        if abs(x - d) > 0.4:
            return None
        target = next((r for r in run.runs() if r.depth == d), None)
        if target is not None:
            self.nodeSelected.emit(target)
        return target
