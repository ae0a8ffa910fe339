"""The Cost dock: a flame graph (icicle) of the selected run tree.

Width by tokens, cost or time (the toggle), colour by model, depth by recursion (a child
run's turns sit under the call that started it); see ``trajectory.flame`` for the layout.
Hovering a frame shows its totals (plain text); a click selects its node in every panel
(``nodeSelected``, wired to the window's ``NodeSelection``); a double click zooms into a
frame, Escape or a double click on the top row zooms out. A live run's graph grows as the
run goes (``refresh``, coalesced to a few times a second).

Painting stays cheap on big trees: the layout is computed once per change, each paint
draws only frames at least a pixel wide, merging runs of thinner ones into one sliver, and
hit-testing is a bisect per row. The layout itself is bounded (thin siblings merge into one
``Merged`` frame, grey, hover text only, not selectable); a run of more than ``SYNC_LIMIT``
iterations is laid out in a worker (``OffThread``, a newer layout cancels it), and a hidden
panel lays out only when it is shown.
"""

from __future__ import annotations

import math
import time
import zlib
from bisect import bisect_left, bisect_right
from typing import Any

from PySide6.QtCore import QLineF, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFontMetrics, QMouseEvent, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QToolButton,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from rlm_desktop.trajectory import summary
from rlm_desktop.trajectory.flame import METRICS, Cancelled, Flame, Frame, Merged, layout
from rlm_desktop.trajectory.model import Run, SubCall
from rlm_desktop.trajectory.names import title

from .bridge import OffThread
from .plain_tooltip import plain_tooltip

ROW = 20
SYNC_LIMIT = 2_000  # iterations laid out on the GUI thread; bigger runs go to a worker
MERGED = QColor(150, 150, 150)
PALETTE = [QColor.fromHsv(h, s, v) for h, s, v in ((24, 170, 235), (200, 120, 220), (95, 140, 210),
                                                   (340, 110, 230), (45, 160, 235), (160, 120, 200),
                                                   (270, 90, 225), (5, 130, 225), (120, 110, 205), (300, 80, 215))]


def colour_of(model: str) -> QColor:
    return PALETTE[zlib.crc32(model.encode("utf-8", "replace")) % len(PALETTE)]


def root_run(node: Any) -> Run | None:
    run = node if isinstance(node, Run) else getattr(node, "run", None)
    while run is not None and run.parent is not None:
        up = run.parent.run
        if up is None:
            break
        run = up
    return run


def frame_label(node: Any) -> str:
    name = title(node)  # the one 1-based numbering for people (trajectory.names)
    if isinstance(node, (Run, SubCall)):
        return f"{name}  {node.model}"
    return name


def hover_text(f: Frame, flame: Flame) -> str:
    share = f"{f.value / flame.total:.1%} of the run's {flame.metric}" if flame.total > 0 else ""
    cost = f"${f.cost:.4f}" if f.cost else "-"
    return (f"{getattr(f.node, 'path', '')}  ({f.model or 'model ?'})\n"
            f"tokens {f.tokens:,}   cost {cost}   time {f.time:.2f}s\n{share}")


class FlameView(QWidget):
    nodeSelected = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("flame.view")
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.flame: Flame | None = None
        self.selected: Any = None
        self.zoom = (0.0, 1.0)  # the shown x range of the root's width
        self.hovered: Frame | None = None
        self._colours: dict[str, QColor] = {}
        self.painted = 0  # frames drawn by the last render (the bench reads it)
        self._cache: QPixmap | None = None  # the graph at the current zoom and size
        self._cache_key: Any = None
        self._frame_of: dict[int, Frame] = {}

    def set_flame(self, flame: Flame | None, keep_zoom: bool = False) -> None:
        self.flame = flame
        self._cache = None
        self._frame_of = {id(f.node): f for f in flame.frames} if flame is not None else {}
        if not keep_zoom:
            self.zoom = (0.0, 1.0)
        self.setMinimumHeight(max(ROW * 3, ROW * (flame.depth if flame else 0) + 2))
        self.update()

    def frame_at(self, pos: QPointF) -> Frame | None:
        if self.flame is None or self.width() <= 0:
            return None
        z0, zw = self.zoom
        return self.flame.at(z0 + zw * pos.x() / self.width(), int(pos.y() // ROW))

    def _colour(self, model: str) -> QColor:
        c = self._colours.get(model)
        if c is None:
            c = self._colours[model] = colour_of(model)
        return c

    def paintEvent(self, event: Any) -> None:  # noqa: N802
        p = QPainter(self)
        flame = self.flame
        if flame is None or flame.total <= 0:
            p.fillRect(self.rect(), self.palette().base())
            p.setPen(self.palette().text().color())
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter,
                       "No run selected" if flame is None else f"No {flame.metric} recorded in this run")
            p.end()
            return
        key = (id(flame), self.zoom, self.width(), self.height(), self.devicePixelRatioF())
        if self._cache is None or self._cache_key != key:
            self._cache = self._render()
            self._cache_key = key
        p.drawPixmap(0, 0, self._cache)
        f = self._frame_of.get(id(self.selected)) if self.selected is not None else None
        if f is not None and f.w > 0:  # the selection outline, over the cached picture
            z0, zw = self.zoom
            scale = self.width() / zw
            x0, x1 = (f.x - z0) * scale, (f.x + f.w - z0) * scale
            if x1 >= 0 and x0 <= self.width():
                p.setPen(QPen(self.palette().highlight().color(), 2))
                p.drawRect(QRectF(max(0.0, x0), f.depth * ROW, max(2.0, min(self.width(), x1) - max(0.0, x0)),
                                  ROW - 1).adjusted(1, 1, -1, -1))
        p.end()

    def _render(self) -> QPixmap:
        """The whole graph at the current zoom and size, drawn in batches: one ``drawRects``
        per colour, one for all sub-pixel slivers, one ``drawLines`` for the borders; text
        only where a frame is wide enough."""
        flame = self.flame
        assert flame is not None
        dpr = self.devicePixelRatioF()
        pix = QPixmap(int(self.width() * dpr), int(self.height() * dpr))
        pix.setDevicePixelRatio(dpr)
        pix.fill(self.palette().base().color())
        width = float(self.width())
        z0, zw = self.zoom
        z1 = z0 + zw
        scale = width / zw
        frames = flame.frames
        by_colour: dict[str, list[QRectF]] = {}
        slivers: list[QRectF] = []
        borders: list[QLineF] = []
        texts: list[tuple[QRectF, Any]] = []
        self.painted = 0
        for depth in range(min(flame.depth, self.height() // ROW + 1)):
            y = depth * ROW
            row, xs = flame.rows[depth], flame.row_xs(depth)
            k = max(0, bisect_right(xs, z0) - 1)  # the first frame that can reach into view
            n = len(row)
            while k < n:
                f = frames[row[k]]
                if f.x > z1:
                    break
                x0 = (f.x - z0) * scale
                x1 = x0 + f.w * scale
                if x1 - x0 < 1.0:
                    # thinner than a pixel: one grey sliver for everything that starts in this pixel
                    px = math.floor(x0)
                    nxt = bisect_left(xs, z0 + (px + 1) / scale, k + 1)
                    if f.w > 0 or nxt > k + 1:
                        slivers.append(QRectF(px, y, 1.0, ROW - 1))
                    k = max(nxt, k + 1)
                    continue
                k += 1
                if x1 < 0:
                    continue
                left, right = max(0.0, x0), min(width, x1)
                rect = QRectF(left, y, right - left, ROW - 1)
                if isinstance(f.node, Merged):
                    slivers.append(rect)
                    continue
                by_colour.setdefault(f.model, []).append(rect)
                self.painted += 1
                if right - left > 3:
                    borders.append(QLineF(right, y, right, y + ROW - 1))
                if right - left > 36:
                    texts.append((rect, f.node))
        p = QPainter(pix)
        p.setPen(Qt.PenStyle.NoPen)
        for model, rects in by_colour.items():
            p.setBrush(self._colour(model))
            p.drawRects(rects)
        if slivers:
            p.setBrush(MERGED)
            p.drawRects(slivers)
        p.setPen(QPen(QColor(255, 255, 255, 140)))
        if borders:
            p.drawLines(borders)
        p.setPen(QPen(QColor(20, 20, 20)))
        fm = QFontMetrics(self.font())
        for rect, node in texts:
            p.drawText(rect.adjusted(3, 0, -2, 0), Qt.AlignmentFlag.AlignVCenter,
                       fm.elidedText(frame_label(node), Qt.TextElideMode.ElideRight, int(rect.width()) - 5))
        p.end()
        return pix

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        f = self.frame_at(event.position())
        self.hovered = f
        if f is None or self.flame is None:
            QToolTip.hideText()
            self.setToolTip("")
            return
        text = plain_tooltip(hover_text(f, self.flame))  # paths and model names are log text
        self.setToolTip(text)
        QToolTip.showText(event.globalPosition().toPoint(), text, self)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        f = self.frame_at(event.position())
        if f is not None and not isinstance(f.node, Merged):
            self.selected = f.node
            self.update()
            self.nodeSelected.emit(f.node)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        f = self.frame_at(event.position())
        if f is None or f.depth == 0 or f.w <= 0:
            self.zoom = (0.0, 1.0)
        else:
            self.zoom = (f.x, f.w)
        self.update()

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape and self.zoom != (0.0, 1.0):
            self.zoom = (0.0, 1.0)
            self.update()
            return
        super().keyPressEvent(event)


class FlamePanel(QWidget):
    """The dock panel: the metric toggle and the flame view of the selected node's root run."""

    nodeSelected = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("flame.panel")
        self.run: Run | None = None
        self.shown_metric = "tokens"
        self.upstream = True
        self.view = FlameView()
        self.view.nodeSelected.connect(self.nodeSelected)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(QLabel("Width by:"))
        self.buttons = QButtonGroup(self)
        self.buttons.setExclusive(True)
        for m in METRICS:
            b = QToolButton()
            b.setObjectName(f"flame.metric.{m}")
            b.setText(m.capitalize())
            b.setCheckable(True)
            b.setChecked(m == self.shown_metric)
            b.clicked.connect(lambda _c=False, m=m: self.set_metric(m))
            self.buttons.addButton(b)
            bar.addWidget(b)
        bar.addStretch(1)
        self.total_label = QLabel("")
        self.total_label.setTextFormat(Qt.TextFormat.PlainText)
        bar.addWidget(self.total_label)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.view)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(scroll, 1)
        self._live = QTimer(self)
        self._live.setSingleShot(True)
        self._live.setInterval(250)
        self._live.timeout.connect(lambda: self._relayout(keep_zoom=True))
        self.job = OffThread(self)  # the layout of a big run
        self._stale: bool | None = None  # a layout skipped while hidden (its keep_zoom)
        # A dock behind another's tab stays "visible" to Qt (moved off the window), and a big
        # run's layout took seconds of a worker for a graph nobody saw: the dock's
        # visibilityChanged says when its tab is the one shown (``tab_shown``).
        self._behind_tab = False

    def set_metric(self, metric: str) -> None:
        self.shown_metric = metric
        for b in self.buttons.buttons():
            b.setChecked(b.objectName() == f"flame.metric.{metric}")
        self._relayout()

    def show_run(self, run: Run | None, upstream: bool | None = None) -> None:
        """``upstream`` None: the run's own rule (``summary.upstream_of``), as every view counts it."""
        self.upstream = upstream if upstream is not None else summary.upstream_of(run)
        if run is not self.run:
            self.run = run
            self._relayout()

    def show_node(self, node: Any) -> None:
        """The selection changed: show its root run and outline its frame (never emits)."""
        run = root_run(node) if node is not None else None
        if run is not None and run is not self.run:
            self.upstream = summary.upstream_of(run)
            self.run = run
            self._relayout()
        self.view.selected = node
        self.view.update()

    def refresh(self) -> None:
        """A live run grew: lay out again soon (coalesced)."""
        if self.run is not None and not self._live.isActive():
            self._live.start()

    def showEvent(self, event: Any) -> None:  # noqa: N802
        super().showEvent(event)
        self._catch_up()

    def tab_shown(self, shown: bool) -> None:
        """Its dock's ``visibilityChanged`` (``roles.TabAware``): its tab was raised or hidden."""
        self._behind_tab = not shown
        if shown:
            self._catch_up()

    def _catch_up(self) -> None:
        """On screen again: the layout skipped while hidden, if any."""
        if self._stale is not None:
            self._relayout(self._stale)

    @property
    def on_screen(self) -> bool:
        """Shown, and not in a dock behind another one's tab."""
        return self.isVisible() and not self._behind_tab

    def _relayout(self, keep_zoom: bool = False) -> None:
        if not self.on_screen:  # laid out when shown
            self.job.cancel()
            self._stale = keep_zoom if self._stale is None else self._stale and keep_zoom
            return
        self._stale = None
        run, metric, upstream = self.run, self.shown_metric, self.upstream
        if run is None or len(run.iterations) <= SYNC_LIMIT:
            self.job.cancel()
            t0 = time.perf_counter()
            flame = layout(run, metric, upstream) if run is not None else None
            self._laid_out(flame, keep_zoom, time.perf_counter() - t0)
            return
        if not keep_zoom or self.view.flame is None:
            self.total_label.setText(f"Laying out {len(run.iterations):,} iterations…")

        def work(cancelled: Any) -> Any:
            t0 = time.perf_counter()
            try:
                flame = layout(run, metric, upstream, cancelled=cancelled)
            except Cancelled:
                return None
            return flame, time.perf_counter() - t0

        def done(result: Any) -> None:
            if result is not None and run is self.run and metric == self.shown_metric:
                self._laid_out(result[0], keep_zoom, result[1])

        self.job.start(work, done)

    def _laid_out(self, flame: Flame | None, keep_zoom: bool, seconds: float) -> None:
        # a big live tree is laid out less often: at most a fifth of the time goes to it
        self._live.setInterval(max(250, int(seconds * 5000)))
        self.view.set_flame(flame, keep_zoom)
        if flame is None:
            self.total_label.setText("")
        elif self.shown_metric == "tokens":
            self.total_label.setText(f"{int(flame.total):,} tokens")
        elif self.shown_metric == "cost":
            self.total_label.setText(f"${flame.total:.4f}")
        else:
            self.total_label.setText(f"{flame.total:.2f}s")
