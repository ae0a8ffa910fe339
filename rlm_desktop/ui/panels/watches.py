"""Watches panel: expressions over the recorded locals (``len(chunks)``, ``answer["ready"]``),
evaluated at every iteration of the selected node's run and plotted across them (pyqtgraph).

Expressions are typed by the user and evaluated by ``debugger.watch`` (a whitelist over
``ast`` with our own interpreter: log text is never run as code). The table shows each
watch's value at the selected iteration (or its error), the plot one line per watch with a
numeric value (booleans as 0/1), and a vertical line at the selected iteration; clicking a
point selects that iteration everywhere (``nodeSelected``). Delete removes the selected watch.
"""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from rlm_desktop.debugger.watch import Watch, WatchError, WatchPoint, series

from .common import node_iteration, node_run, one_line, plain_label

PENS = ["#42a5f5", "#ffa726", "#66bb6a", "#ab47bc", "#ef5350", "#26a69a", "#8d6e63", "#78909c"]


def value_text(p: WatchPoint | None) -> str:
    if p is None:
        return ""
    if p.error is not None:
        return f"⚠ {p.error}"
    return one_line(repr(p.value), 200)


class WatchesPanel(QWidget):
    nodeSelected = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panel.watches")
        self.watches: list[Watch] = []
        self.series: list[list[WatchPoint]] = []
        self.run: Any = None
        self.position: int | None = None  # the selected iteration's place in the run
        self.input = QLineEdit()
        self.input.setObjectName("watches.input")
        self.input.setPlaceholderText('Add a watch, e.g. len(chunks) or answer["ready"], then Enter')
        self.input.returnPressed.connect(self._add_from_input)
        add = QPushButton("Add")
        add.setObjectName("watches.add")
        add.clicked.connect(self._add_from_input)
        self.error = plain_label("")
        self.error.setObjectName("watches.error")
        self.table = QTableWidget(0, 2)
        self.table.setObjectName("watches.table")
        self.table.setHorizontalHeaderLabels(["Watch", "Value at the selected iteration"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.installEventFilter(self)
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("watches.plot")
        self.plot.setMinimumHeight(120)
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("bottom", "iteration")
        self.plot.addLegend(offset=(8, 8))
        self.iteration_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen("#9e9e9e", style=Qt.PenStyle.DashLine))
        self.plot.addItem(self.iteration_line)
        self.curves: list[Any] = []
        row = QHBoxLayout()
        row.addWidget(self.input, 1)
        row.addWidget(add)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(row)
        lay.addWidget(self.error)
        lay.addWidget(self.table, 1)
        lay.addWidget(self.plot, 2)

    # -- watches ------------------------------------------------------------------------------
    def add_watch(self, source: str) -> Watch | None:
        try:
            w = Watch.parse(source)
        except WatchError as exc:
            self.error.setText(f"Not added: {exc}")
            return None
        self.error.setText("")
        self.watches.append(w)
        self._evaluate()
        return w

    def remove_watch(self, index: int) -> None:
        if 0 <= index < len(self.watches):
            del self.watches[index]
            self._evaluate()

    def _add_from_input(self) -> None:
        if self.add_watch(self.input.text()) is not None:
            self.input.clear()

    def eventFilter(self, obj: Any, event: Any) -> bool:  # noqa: N802
        if obj is self.table and event.type() == event.Type.KeyPress and event.key() == Qt.Key.Key_Delete:
            self.remove_watch(self.table.currentRow())
            return True
        return super().eventFilter(obj, event)

    # -- the panel interface ------------------------------------------------------------------------
    def show_node(self, node: Any) -> None:
        run = node_run(node)
        it = node_iteration(node) if node is not None and node is not run else None
        position = it.position if it is not None else None
        if run is not self.run:
            self.run = run
            self.position = position
            self._evaluate()
        else:
            self.position = position
            self._show_values()

    def refresh(self) -> None:
        """A live run grew: evaluate again."""
        self._evaluate()

    # -- evaluating and showing -----------------------------------------------------------------------
    def _evaluate(self) -> None:
        run = self.run
        self.series = [series(run, w) if run is not None else [] for w in self.watches]
        for c in self.curves:
            self.plot.removeItem(c)
        self.curves = []
        legend = self.plot.plotItem.legend
        if legend is not None:
            legend.clear()
        for k, (w, pts) in enumerate(zip(self.watches, self.series, strict=True)):
            xs = [p.position + 1 for p in pts if p.number is not None]  # iterations are 1-based
            ys = [p.number for p in pts if p.number is not None]
            if not xs:
                continue
            colour = PENS[k % len(PENS)]
            curve = self.plot.plot(xs, ys, pen=pg.mkPen(colour, width=2), symbol="o", symbolSize=7,
                                   symbolBrush=colour, name=one_line(w.source, 40))
            curve.sigPointsClicked.connect(self._points_clicked)
            self.curves.append(curve)
        n = len(run.iterations) if run is not None else 0
        # whole iterations only: no "0.5" between two turns (pyqtgraph picks its own beyond 20)
        self.plot.getAxis("bottom").setTicks([[(i, str(i)) for i in range(1, n + 1)]] if 0 < n <= 20 else None)
        self._show_values()

    def _show_values(self) -> None:
        self.table.setRowCount(len(self.watches))
        pos = self.position
        for row, (w, pts) in enumerate(zip(self.watches, self.series, strict=True)):
            point = None
            if pts:
                point = pts[pos] if pos is not None and 0 <= pos < len(pts) else pts[-1]
            for col, text in enumerate((w.source, value_text(point))):
                item = QTableWidgetItem(text)  # plain text cells
                item.setToolTip("")
                self.table.setItem(row, col, item)
        if pos is not None:
            self.iteration_line.setValue(pos + 1)
            self.iteration_line.show()
        else:
            self.iteration_line.hide()

    def _points_clicked(self, _curve: Any, points: Any, *_args: Any) -> None:
        if self.run is None or not len(points):
            return
        pos = int(round(points[0].pos().x())) - 1
        if 0 <= pos < len(self.run.iterations):
            self.nodeSelected.emit(self.run.iterations[pos])

    def value_at(self, row: int) -> str:
        item = self.table.item(row, 1)
        return item.text() if item is not None else ""
