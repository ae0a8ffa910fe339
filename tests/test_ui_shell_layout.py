"""Layout save/restore/reset (incl. stale states), the lazy tree on a big run, app arguments, theme."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QTabBar

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, SubCall, Trajectory
from rlm_desktop.ui import layout as layout_mod
from rlm_desktop.ui.tree_model import RunTreeModel


@pytest.fixture
def make_window(qtbot, qapp):
    qapp.setOrganizationName("rlm-desktop-tests")
    qapp.setApplicationName("shell-layout")
    from rlm_desktop.ui.main_window import MainWindow

    made = []

    def make(**kw):
        w = MainWindow(**kw)
        qtbot.addWidget(w)
        w.show()
        made.append(w)
        return w

    yield make
    for w in made:
        w.shutdown()


def test_layout_saved_and_restored(make_window):
    w = make_window(restore_layout=False)
    assert w.docks["metrics"].isVisible()
    w.docks["metrics"].hide()
    w.docks["search"].setFloating(True)
    w.layout_keeper.save()
    w2 = make_window()
    assert not w2.docks["metrics"].isVisible()
    assert w2.docks["search"].isFloating()
    w2.reset_layout()
    assert w2.docks["metrics"].isVisible()
    assert not w2.docks["search"].isFloating()


@pytest.mark.parametrize("stale", ["old-version", "garbage", "wrong-type"])
def test_stale_layout_falls_back_to_default(make_window, stale):
    s = QSettings()
    if stale == "old-version":
        w0 = make_window(restore_layout=False)
        w0.docks["tree"].hide()
        s.setValue(layout_mod.STATE_KEY, w0.saveState(layout_mod.LAYOUT_VERSION - 1))
        s.setValue(layout_mod.VERSION_KEY, layout_mod.LAYOUT_VERSION - 1)
    elif stale == "garbage":
        s.setValue(layout_mod.STATE_KEY, QByteArray(b"\x00\x01not a state"))
        s.setValue(layout_mod.VERSION_KEY, layout_mod.LAYOUT_VERSION)
    else:
        s.setValue(layout_mod.STATE_KEY, "a string")
        s.setValue(layout_mod.VERSION_KEY, "x")
    w = make_window(restore_layout=False)
    assert w.layout_keeper.restore() is False
    for name in ("tree", "timeline", "code", "output", "messages", "metrics", "breakpoints"):
        assert w.docks[name].isVisible(), name


def test_no_stray_tab_bars_over_the_docks(qtbot, make_window):
    w = make_window(restore_layout=False)
    qtbot.waitUntil(lambda: all(
        b.isHidden() or b.parent() is not w
        or len({b.tabText(i) for i in range(b.count())}) == b.count()
        for b in w.findChildren(QTabBar)), timeout=2000)
    qtbot.wait(20)
    visible = [tuple(b.tabText(i) for i in range(b.count())) for b in w.findChildren(QTabBar)
               if b.parent() is w and b.isVisible()]
    # runs group + output group + metrics/flame-graph group, once each
    assert len(visible) == len(set(visible)) == 3, visible


def big_trajectory(n_iter: int, blocks: int = 1, calls: int = 2) -> Trajectory:
    traj = Trajectory()
    run = Run(index=0)
    traj.runs.append(run)
    for i in range(n_iter):
        it = run.add_iteration(Iteration(number=i + 1, response=f"resp {i}", iteration_time=0.01))
        for b in range(blocks):
            blk = it.add_block(CodeBlock(index=b, code=f"x = {i}\nprint(x)", stdout=str(i)))
            for c in range(calls):
                blk.add_sub_call(SubCall(index=c, prompt=f"q{i}.{c}", response="a"))
    return traj


def test_big_tree_is_filled_lazily(qtbot, qapp):
    from PySide6.QtWidgets import QTreeView

    traj = big_trajectory(12_000)  # 12k iterations + 12k blocks + 24k calls = 48k nodes
    model = RunTreeModel()
    view = QTreeView()
    qtbot.addWidget(view)
    view.setUniformRowHeights(True)
    view.setModel(model)
    model.set_trajectory(traj)
    view.resize(600, 400)
    view.show()
    run_idx = model.index_of(traj.runs[0])
    t0 = time.perf_counter()
    view.expand(run_idx)
    qapp.processEvents()
    first = model.rowCount(run_idx)
    assert first == 12  # 12,000 iterations shown as 12 pages of 1,000, not 12,000 rows
    for _ in range(3):
        view.scrollToBottom()
        qapp.processEvents()
    assert model.rowCount(run_idx) == first
    # jumping to a node deep in the tree fetches only what is on its way (its page)
    last_call = traj.runs[0].iterations[-1].code_blocks[0].sub_calls[-1]
    idx = model.index_of(last_call)
    assert idx.isValid() and model.node(idx) is last_call
    assert model.rowCount(model.index(11, 0, run_idx)) == 1_000
    assert model.fetched(traj.runs[0].iterations[5]) == 0  # untouched siblings stay unfetched
    assert time.perf_counter() - t0 < 5.0
    assert model.shutdown()  # the big run's totals worker (the window does this when it closes)


def test_tree_model_parent_child_consistency(qapp):
    traj = big_trajectory(3, blocks=2, calls=2)
    child = Run(depth=1)
    child.add_iteration(Iteration(number=1, final_answer="x"))
    call = traj.runs[0].iterations[1].code_blocks[1].sub_calls[0]
    call.child = child
    child.parent = call
    model = RunTreeModel()
    model.set_trajectory(traj)
    for node in list(traj.walk()):
        idx = model.index_of(node)
        assert idx.isValid() and model.node(idx) is node
        parent = model.parent(idx)
        assert model.node(parent) is (node.parent if not isinstance(node, Run) or node.parent else None)
        assert model.index(idx.row(), 0, parent) == idx
    assert model.data(model.index_of(child), 0).startswith("Child run")
    assert model.data(model.index_of(child).siblingAtColumn(1)) == "1"


def test_app_arguments():
    from rlm_desktop.ui.app import parse_args

    a = parse_args(["a.jsonl", "b.jsonl", "--follow", "/tmp/x", "--reset-layout"])
    assert a.files == ["a.jsonl", "b.jsonl"] and a.follow == "/tmp/x" and a.reset_layout
    assert not a.demo and not a.smoke
    assert parse_args(["--demo", "--smoke"]).demo


def test_theme_override_and_system(qapp):
    from PySide6.QtGui import QPalette

    from rlm_desktop.ui import theme

    try:
        assert theme.set_choice("dark") == "dark"
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 128
        assert theme.saved_choice() == "dark"
        assert theme.set_choice("light") == "light"
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 128
        with pytest.raises(ValueError):
            theme.set_choice("purple")
    finally:
        theme.set_choice("system")
