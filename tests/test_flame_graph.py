"""The cost flame graph: layout over real upstream logs and our own runs (no Qt), the dock
(metric toggle, hover totals, a click selects everywhere), and a live run that grows."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import QPoint, Qt

from rlm_desktop.engine.demo import load_demo
from rlm_desktop.trajectory import summary
from rlm_desktop.trajectory.flame import layout
from rlm_desktop.trajectory.model import CodeBlock, Iteration, SubCall
from rlm_desktop.trajectory.reader import read_file
from rlm_desktop.ui.flame_graph import ROW, FlamePanel, colour_of, hover_text
from tests.support.diff_pairs import generate_pairs
from tests.support.opening import shown

DEMO_PATH = str(load_demo().trajectory_path)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def depth3(tmp_path_factory):
    return str(generate_pairs(tmp_path_factory.mktemp("pairs"))["deep"]["a"])


def test_layout_counts_each_call_once_and_nests(depth3):
    traj = read_file(depth3)
    run = traj.runs[0]
    flame = layout(run, "tokens", summary.upstream_of(traj.runs[0]))
    assert flame.total == summary.trajectory_usage(traj).total_tokens > 0
    by_node = {id(f.node): f for f in flame.frames}
    for f in flame.frames:
        kids = [g for g in flame.frames if getattr(g.node, "parent", None) is not None and (
            g.node.parent is f.node or (isinstance(f.node, SubCall) and f.node.child is not None
                                        and g.node.parent is f.node.child))]
        if kids:
            assert sum(k.w for k in kids) <= f.w + 1e-9
            assert all(f.x - 1e-9 <= k.x and k.x + k.w <= f.x + f.w + 1e-9 for k in kids)
            assert all(k.depth == f.depth + 1 for k in kids)
    # depth by recursion: the grandchild's leaf call is 9 rows down; colour by model
    leaf = next(f for f in flame.frames if f.node.path == "r0/i0/b0/c0/r/i1/b0/c0/r/i0/b0/c0")
    assert leaf.depth == 9 and leaf.model == "mock-leaf" and leaf.tokens > 0
    assert by_node[id(run)].model == "mock-root"
    assert colour_of("mock-leaf") == colour_of("mock-leaf")
    # hit test: the middle of the leaf's frame finds it
    assert flame.at(leaf.x + leaf.w / 2, leaf.depth) is leaf
    assert flame.at(0.5, 99) is None
    t = layout(run, "time", True)
    assert t.total >= run.total_time() > 0
    assert "tokens" in hover_text(leaf, flame) and leaf.node.path in hover_text(leaf, flame)


def test_our_engine_logs_count_root_turns(tmp_path):
    from tests.test_engine_loop import FULL, make_engine

    eng, _ = make_engine(FULL, tmp_path, max_depth=2, max_iterations=6)
    res = eng.completion("Summarise the parts.", "some context text")
    traj = read_file(res.log_path)
    flame = layout(traj.runs[0], "tokens", summary.upstream_of(traj.runs[0]))
    assert flame.total == summary.trajectory_usage(traj).total_tokens > 0
    its = [f for f in flame.frames if isinstance(f.node, Iteration) and f.depth == 1]
    assert len(its) == len(traj.runs[0].iterations) and all(f.w > 0 for f in its)


@pytest.fixture
def opened(qtbot, window, depth3):
    window.open_files([depth3])
    qtbot.waitUntil(lambda: depth3 in window.documents and window.loader.pending == 0, timeout=10000)
    dock = window.docks["flame"]
    dock.show()
    dock.raise_()
    panel = window.panels["flame"]
    assert isinstance(panel, FlamePanel)
    qtbot.waitUntil(lambda: panel.view.flame is not None and panel.view.isVisible(), timeout=3000)
    return window, panel


def centre_of(view, frame):
    z0, zw = view.zoom
    x = (frame.x + frame.w / 2 - z0) / zw * view.width()
    return QPoint(int(x), frame.depth * ROW + ROW // 2)


def test_toggle_hover_and_click_select_everywhere(qtbot, opened):
    w, panel = opened
    view = panel.view
    assert panel.shown_metric == "tokens" and panel.total_label.text().endswith("tokens")
    qtbot.mouseClick(panel.findChild(type(panel.buttons.buttons()[0]), "flame.metric.time"), Qt.MouseButton.LeftButton)
    assert panel.shown_metric == "time" and view.flame.metric == "time" and panel.total_label.text().endswith("s")
    qtbot.mouseClick(panel.findChild(type(panel.buttons.buttons()[0]), "flame.metric.tokens"),
                     Qt.MouseButton.LeftButton)
    assert view.flame.metric == "tokens"
    # hover a block frame: its totals
    block = max((f for f in view.flame.frames if isinstance(f.node, CodeBlock)), key=lambda f: f.w)
    qtbot.mouseMove(view, centre_of(view, block))
    qtbot.waitUntil(lambda: view.hovered is block, timeout=2000)
    assert block.node.path in view.toolTip() and f"tokens {block.tokens:,}" in view.toolTip()
    # click it: selected in every panel (the code panel shows its code)
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=centre_of(view, block))
    assert shown(w) is block.node
    code = w.panels["code"]
    assert block.node.code.splitlines()[0] in code.editor.toPlainText()
    # a selection made elsewhere outlines its frame
    it = w.trajectory.runs[0].iterations[1]
    w.selection.select(it)
    assert shown(w) is it and view.selected is it
    # double click zooms into a frame, Escape zooms out
    qtbot.mouseDClick(view, Qt.MouseButton.LeftButton, pos=centre_of(view, block))
    assert view.zoom == (block.x, block.w)
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Escape)
    assert view.zoom == (0.0, 1.0)
    if os.environ.get("RLM_DESKTOP_SCREENSHOTS") or not os.path.exists(os.path.join(ROOT, "docs",
                                                                                     "screenshot-flame.png")):
        w.resize(1400, 880)
        w.docks["flame"].raise_()
        w.selection.select(block.node)
        shown(w)
        qtbot.wait(100)
        w.grab().save(os.path.join(ROOT, "docs", "screenshot-flame.png"))


def test_a_live_runs_graph_grows(qtbot, window):
    w = window
    panel = w.panels["flame"]
    w.docks["flame"].show()
    w.docks["flame"].raise_()
    pauses = []
    w.session.paused.connect(pauses.append)
    w.debug.demo.trigger()
    qtbot.waitUntil(lambda: bool(pauses) and w.session.controller.is_paused, timeout=15000)
    qtbot.waitUntil(lambda: panel.run is not None, timeout=3000)
    assert panel.run is w.session.recorder.trajectory.runs[0]
    sizes = [len(panel.view.flame.frames)]
    for _ in range(8):
        n = len(pauses)
        w.debug.step_over.trigger()
        qtbot.waitUntil(lambda n=n: len(pauses) > n and w.session.controller.is_paused, timeout=10000)
        qtbot.wait(300)  # the coalesced re-layout
        sizes.append(len(panel.view.flame.frames))
    assert sizes[-1] > sizes[0] and sizes == sorted(sizes)
    w.debug.stop.trigger()
    qtbot.waitUntil(lambda: not w.session.running, timeout=15000)


def test_a_layout_of_a_long_run_polls_within_its_iterations():
    """A worker's layout of a run with many iterations polls ``cancelled()`` every
    ``POLL_EVERY`` of them on every pass over them (visiting, adding up, placing), not only
    between nodes: the run's own list of iterations was looped over at once, ~30 ms a pass
    for 500,000, with no chance to yield to the GUI thread; and it stops there when asked."""
    from rlm_desktop.trajectory import flame
    from rlm_desktop.trajectory.model import Run, Usage

    n = 20 * flame.POLL_EVERY
    run = Run(index=0, depth=0)
    for i in range(n):
        it = run.add_iteration(Iteration(number=i + 1, response="r", iteration_time=1.0))
        it.usage = Usage(1, 10, 5)
    calls = [0]

    def cancelled() -> bool:
        calls[0] += 1
        return False

    laid = flame.layout(run, cancelled=cancelled)
    assert len(laid.frames) > 1
    # two visits per node, then a pass to list, one to add up and one to place the iterations
    assert calls[0] >= 4.5 * n / flame.POLL_EVERY, calls[0]

    asked = [0]

    def stop_late() -> bool:  # asked to stop in the middle of the pass that adds them up
        asked[0] += 1
        return asked[0] > calls[0] // 2

    with pytest.raises(flame.Cancelled):
        flame.layout(run, cancelled=stop_late)


def test_a_graph_behind_another_tab_is_laid_out_when_its_tab_is_shown(qtbot, window):
    """The default layout has the flame graph in a tab behind Metrics: Qt keeps such a dock
    "visible" (moved off the window), and a big run's layout took seconds of a worker for a
    graph nobody saw. It is laid out when its tab is raised."""
    from tests.support.opening import show_opened

    flame = window.panels["flame"]
    assert flame.isVisible() and not flame.on_screen  # behind the Metrics tab
    traj = show_opened(window, read_file(DEMO_PATH), DEMO_PATH)
    assert flame.run is traj.runs[0] and flame.view.flame is None  # not laid out
    window.docks["flame"].raise_()
    qtbot.waitUntil(lambda: flame.view.flame is not None, timeout=5000)
    assert flame.on_screen and flame.view.flame.total > 0
    window.docks["metrics"].raise_()
    qtbot.waitUntil(lambda: not flame.on_screen, timeout=2000)
    window.selection.select(None)
    other = read_file(DEMO_PATH)
    show_opened(window, other, DEMO_PATH)
    assert flame.run is other.runs[0] and flame.view.flame.frames[0].node is not other.runs[0]  # kept stale
