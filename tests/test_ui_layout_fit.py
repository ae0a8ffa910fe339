"""Layout (issue 13 item 11): metrics plots do not clip after a resize and their ticks stay
readable with 220 iterations, the Breakpoints list shows several rows, docks keep their width
when tabs are switched, status bar text elides, deep tree nodes stay readable."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QTabBar

from rlm_desktop.ui.panels.metrics import TICK_SPACING
from tests.support.opening import open_and_wait


@pytest.fixture
def window(window, qtbot):
    window.activateWindow()
    qtbot.waitExposed(window)
    return window


def long_log(tmp_path, n=220):
    lines = [json.dumps({"type": "metadata", "root_model": "m", "max_iterations": n + 10})]
    for i in range(1, n + 1):
        lines.append(json.dumps({
            "type": "iteration", "iteration": i, "prompt": [], "response": "r", "iteration_time": 0.1 + i % 5,
            "final_answer": "done" if i == n else None,
            "code_blocks": [{"code": "print(1)", "result": {"stdout": "1", "stderr": "", "locals": {},
                                                           "execution_time": 0.05, "rlm_calls": []}}],
        }))
    p = tmp_path / "long.jsonl"
    p.write_text("\n".join(lines) + "\n")
    return p


def deep_log(tmp_path, depth=6):
    def it(child):
        calls = [] if child is None else [{
            "root_model": "m", "prompt": "a nested sub-problem with a long description", "response": "ok",
            "usage_summary": {"model_usage_summaries": {}}, "execution_time": 0.1,
            "metadata": {"run_metadata": {"root_model": "m"}, "iterations": [child]}}]
        return {"type": "iteration", "iteration": 1, "prompt": [], "response": "r", "final_answer": "a",
                "iteration_time": 0.3, "code_blocks": [{"code": "x = rlm_query('deeper and deeper')", "result": {
                    "stdout": "", "stderr": "", "locals": {}, "execution_time": 0.1, "rlm_calls": calls}}]}
    node = it(None)
    for _ in range(depth):
        node = it(node)
    p = tmp_path / "deep.jsonl"
    p.write_text(json.dumps({"type": "metadata", "root_model": "m", "max_iterations": 3}) + "\n" + json.dumps(node) + "\n")
    return p


def labelled_ticks(panel):
    return [t for t in panel.time_plot.getAxis("bottom")._tickLevels[0] if t[1]]


def test_metrics_plots_fit_after_a_resize_and_ticks_stay_readable(qtbot, window, tmp_path):
    w = window
    open_and_wait(qtbot, w, long_log(tmp_path))
    m = w.panels["metrics"]
    w.resize(1100, 620)  # the metrics dock gets lower than its three plots
    qtbot.waitUntil(lambda: m.iter_view.height() >= m.iter_view.minimumHeight(), timeout=3000)
    qtbot.wait(50)
    # no plot is cut off: each lies inside its view, which scrolls in its page when needed
    for plot in m.iteration_plots:
        rect = plot.mapRectToScene(plot.boundingRect())
        assert rect.bottom() <= m.iter_view.height() + 1
    assert m.iter_scroll.verticalScrollBar().maximum() > 0
    # ticks: labelled ticks at least TICK_SPACING px apart, and they adapt to the width
    def spacing():
        ticks = labelled_ticks(m)
        vb = m.tokens_plot.getViewBox()
        lo, hi = vb.viewRange()[0]
        px = vb.width() / (hi - lo)
        gaps = [(b[0] - a[0]) * px for a, b in zip(ticks[1:], ticks[2:], strict=False)]
        return ticks, min(gaps)
    ticks, gap = spacing()
    assert gap >= TICK_SPACING and 4 <= len(ticks) <= 20
    assert all(int(label) % 10 == 0 for _, label in ticks[1:])
    w.resize(1600, 900)
    w.resizeDocks([w.docks["metrics"]], [900], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: len(labelled_ticks(m)) > len(ticks) + 3, timeout=3000)
    wide = labelled_ticks(m)
    assert spacing()[1] >= TICK_SPACING
    w.resizeDocks([w.docks["metrics"]], [260], Qt.Orientation.Horizontal)
    qtbot.waitUntil(lambda: len(labelled_ticks(m)) < len(wide), timeout=3000)
    assert spacing()[1] >= TICK_SPACING
    for plot in m.iteration_plots:  # a narrow dock: the plots are not pushed out at the right
        assert plot.mapRectToScene(plot.boundingRect()).right() <= m.iter_view.width() + 1


def test_breakpoints_list_shows_several_rows(qtbot, window):
    w = window
    panel = w.panels["breakpoints"]
    w.docks["breakpoints"].raise_()
    for n in (1, 2, 3):
        panel.manager.add(kind="iteration", iteration=n)
    panel.refresh()
    qtbot.wait(20)
    table = panel.table
    row = table.rowHeight(0)
    assert table.viewport().height() >= 3 * row  # three whole rows, not one and a half
    assert table.rowViewportPosition(2) + row <= table.viewport().height()


def tab_bar_with(w, title):
    for bar in w.findChildren(QTabBar):
        titles = [bar.tabText(i) for i in range(bar.count())]
        if title in titles and bar.isVisible():
            return bar, titles
    raise AssertionError(f"no tab bar with {title}")


def click_tab(qtbot, bar, title):
    i = [bar.tabText(k) for k in range(bar.count())].index(title)
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(i).center())


def test_docks_keep_their_width_when_tabs_are_switched(qtbot, window, tmp_path):
    w = window
    open_and_wait(qtbot, w, deep_log(tmp_path))
    w.tree.view.expandAll()
    deepest = list(w.trajectory.walk())[-1]
    w.selection.select(deepest)  # long headers in Variables, Output, Messages
    w.resizeDocks([w.docks["tree"]], [260], Qt.Orientation.Horizontal)
    w.resizeDocks([w.docks["code"]], [300], Qt.Orientation.Horizontal)
    qtbot.wait(50)
    left, code = w.docks["tree"].width(), w.docks["code"].width()
    bar, titles = tab_bar_with(w, "Breakpoints")
    for title in titles + titles[:1]:
        click_tab(qtbot, bar, title)
        qtbot.wait(20)
        assert w.docks["tree"].width() == left, title
    bar, titles = tab_bar_with(w, "Variables")
    for title in titles + titles[:1]:
        click_tab(qtbot, bar, title)
        qtbot.wait(20)
        assert w.docks["code"].width() == code, title
    assert w.panels["variables"].header.text()  # the header is there, elided if need be


def test_status_bar_text_elides_instead_of_running_into_the_widgets(qtbot, window):
    w = window
    sb = w.status
    sb.set_node("Run 1 › Iteration 2", "r0/i1")
    long = "Run finished — answer: " + "a very long answer " * 200
    sb.showMessage(long)
    qtbot.wait(20)
    label = sb.message_label
    assert label.text() == long and label.shown_text().endswith("…") and len(label.shown_text()) < len(long)
    assert label.geometry().right() < sb.node_label.geometry().left()
    assert label.toolTip()  # the whole message is in the tooltip
    sb.set_state("Paused (" + "a breakpoint condition " * 40 + ")")
    qtbot.wait(20)
    assert sb.state_label.geometry().right() <= sb.width()
    assert sb.state_label.shown_text().endswith("…")


def test_deep_tree_nodes_stay_readable(qtbot, window, tmp_path):
    w = window
    open_and_wait(qtbot, w, deep_log(tmp_path))
    view = w.tree.view
    view.expandAll()
    view.setFocus()
    view.setCurrentIndex(w.tree.model.index_of(w.trajectory.runs[0]))
    qtbot.keyClick(view, Qt.Key.Key_End)  # the deepest node, from the keyboard
    idx = view.currentIndex()
    node = w.tree.model.node(idx)
    assert w.tree.model.index_of(node) == idx and node.run.depth == 6
    qtbot.waitUntil(lambda: 0 <= view.visualRect(idx).left() < view.viewport().width() // 2, timeout=3000)
    rect = view.visualRect(idx)
    label = idx.data()
    text_px = view.fontMetrics().horizontalAdvance(label)
    # the whole label fits in its column, which starts in view
    assert w.tree.view.header().sectionSize(0) >= rect.left() + view.horizontalScrollBar().value() + min(text_px, 200)
    assert view.indexAt(QPoint(rect.left() + 5, rect.center().y())) == idx
