"""The Run Tree's placeholder rows are made in idle time after a trajectory is shown
(``RunTreeModel._idle_slice``): a bounded number of rows per turn of the event loop, up to a
cap, never a page's rows, given up for a new trajectory, unseen by the view (nothing it shows
changes), and afterwards expanding all asks ``fetchMore`` nothing."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex, QTimer

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, RunStatus, Trajectory
from rlm_desktop.ui import tree_model
from rlm_desktop.ui.tree_model import Page, RunTreeModel
from tests.support.tree_rows import model_calls_expanding_all, shown_tree
from tests.test_ui_tree_store import tree_of, visible_rows


class Made:
    """Rows made (``_make_rows``), in all and per idle slice, with the nodes whose rows they are."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.rows = 0
        self.parents: list = []
        self.slices: list[int] = []
        make, idle = RunTreeModel._make_rows, RunTreeModel._idle_slice

        def make_rows(model, parent, pnode, start, count, queue):
            self.rows += count
            self.parents.append(pnode)
            return make(model, parent, pnode, start, count, queue)

        def idle_slice(model):
            before = self.rows
            idle(model)
            self.slices.append(self.rows - before)

        monkeypatch.setattr(RunTreeModel, "_make_rows", make_rows)
        monkeypatch.setattr(RunTreeModel, "_idle_slice", idle_slice)


def made_rows(model: RunTreeModel) -> int:
    """Rows below the top whose nodes' rows are made (a row with children counts once its
    children are items), walked without fetching anything."""
    n, stack = 0, [QModelIndex()]
    while stack:
        parent = stack.pop()
        if model.canFetchMore(parent):
            continue
        for r in range(model.rowCount(parent)):
            n += 1
            stack.append(model.index(r, 0, parent))
    return n


def only_rows_budget(monkeypatch: pytest.MonkeyPatch, rows: int) -> None:
    """A slice is bounded by its rows only (not by its time: the machine may be slow)."""
    monkeypatch.setattr(tree_model, "IDLE_SLICE", rows)
    monkeypatch.setattr(tree_model, "IDLE_SLICE_S", 60.0)


def test_idle_time_makes_every_row_of_a_10k_tree_a_bounded_slice_per_turn(qtbot, monkeypatch):
    made = Made(monkeypatch)
    only_rows_budget(monkeypatch, 300)
    monkeypatch.setattr(tree_model, "FILL_BUDGET", 1_000)
    traj, nodes = tree_of(iterations=110, blocks=3, calls=30)
    assert nodes > 10_000
    ticks: list[int] = []  # another timer of the same event loop gets its turns in between
    other = QTimer()
    other.setInterval(0)
    other.timeout.connect(lambda: ticks.append(len(made.slices)))
    tree = shown_tree(qtbot, traj, wait_ms=None)
    model = tree.model
    assert model.filling and made.rows < 2_000 and made.slices == []  # nothing yet
    other.start()
    with qtbot.waitSignal(model.filled, timeout=20_000):
        pass
    other.stop()
    assert not model.filling
    assert made_rows(model) == nodes  # every row is made, none is a placeholder
    assert not model._holes and not model._partial
    idle = sum(made.slices)
    assert idle > nodes - 2_000
    assert max(made.slices) <= 300 and len(made.slices) >= idle // 300
    assert len(set(ticks)) > len(made.slices) // 2  # the other timer ran between slices
    model.shutdown()


def test_idle_filling_stops_at_the_cap_and_fetching_goes_on(qtbot, monkeypatch):
    made = Made(monkeypatch)
    only_rows_budget(monkeypatch, 256)
    monkeypatch.setattr(tree_model, "FILL_BUDGET", 500)
    monkeypatch.setattr(tree_model, "IDLE_CAP", 3_000)
    traj, nodes = tree_of(iterations=110, blocks=3, calls=30)
    tree = shown_tree(qtbot, traj, wait_ms=None)
    model = tree.model
    with qtbot.waitSignal(model.filled, timeout=20_000):
        pass
    assert made.slices and made.rows <= 3_000  # rows made since the trajectory was shown
    assert made.rows > 3_000 - 31  # (the next node's rows, up to 30, would have passed it)
    assert made_rows(model) == made.rows < nodes and model._holes  # the rest stay placeholders
    qtbot.wait(50)
    assert made.rows <= 3_000 and not model.filling
    tree.view.expandAll()  # rows are still made when they are asked for
    assert visible_rows(tree) == nodes
    model.shutdown()


def paged_trajectory() -> tuple[Trajectory, Run, int]:
    """A run with 2,500 iterations (three pages) and one with a deep tree."""
    long = Run(run_id="long", status=RunStatus.FINISHED)
    for i in range(2_500):
        it = long.add_iteration(Iteration(number=i + 1, response="r"))
        it.add_block(CodeBlock(index=0, code=f"x = {i}"))
    deep, _ = tree_of(iterations=40, blocks=3, calls=10)
    return Trajectory(runs=[long, deep.runs[0]]), long, 2_500 * 2 + 40 * (1 + 3 * (1 + 10 + 2))


def test_pages_of_a_long_list_stay_lazy_in_idle_time(qtbot, monkeypatch):
    made = Made(monkeypatch)
    monkeypatch.setattr(tree_model, "FILL_BUDGET", 50)
    traj, long, _ = paged_trajectory()
    tree = shown_tree(qtbot, traj, wait_ms=None)
    model = tree.model
    with qtbot.waitSignal(model.filled, timeout=20_000):
        pass
    pages = [model.node(model.index(r, 0, model.index_of(long))) for r in range(3)]
    assert all(type(p) is Page for p in pages)
    assert [model.fetched(p) for p in pages] == [0, 0, 0]  # no page's rows were made
    assert not any(type(p) is Page for p in made.parents)
    assert all(type(model._keep[k]) is Page for k in model._holes) and len(model._holes) == 3
    deep = traj.runs[1]
    assert made_rows(model) == 1 + 3 + 1 + 40 * (1 + 3 * (1 + 10 + 2))  # the rest is made
    assert model.fetched(deep.iterations[-1].code_blocks[-1].sub_calls[-1].child) == 1
    model.shutdown()


def top_run(node):
    while node is not None:
        node = node.owner if type(node) is Page else node
        if node.parent is None:
            return node
        node = node.parent
    return None


def test_a_new_trajectory_cancels_idle_filling(qtbot, monkeypatch):
    made = Made(monkeypatch)
    only_rows_budget(monkeypatch, 100)
    monkeypatch.setattr(tree_model, "FILL_BUDGET", 200)
    old, _ = tree_of(iterations=110, blocks=3, calls=30)
    tree = shown_tree(qtbot, old, wait_ms=None)
    model = tree.model
    qtbot.waitUntil(lambda: len(made.slices) >= 2, timeout=5_000)
    assert model.filling  # (far from done: 100 rows a slice)
    new, nodes = tree_of(iterations=20, blocks=2, calls=5)
    made.parents.clear()
    tree.set_trajectory(new)
    with qtbot.waitSignal(model.filled, timeout=20_000):
        pass
    assert made.parents  # the new trajectory's rows were made (at once and in idle time)
    assert {id(top_run(p)) for p in made.parents if p is not None} == {id(new.runs[0])}
    assert made_rows(model) == nodes
    # no trajectory: nothing to fill; shutting down stops it too
    tree.set_trajectory(old)
    assert model.filling
    model.shutdown()
    assert not model.filling
    made.parents.clear()
    qtbot.wait(50)
    assert made.parents == []
    tree.set_trajectory(old)
    tree.set_trajectory(None)
    assert not model.filling


def shown_rows(tree) -> list:
    """The rows the view lays out, top to bottom: (node, expanded)."""
    view, model, out = tree.view, tree.model, []
    idx = model.index(0, 0)
    while idx.isValid():
        out.append((model.node(idx), view.isExpanded(idx)))
        idx = view.indexBelow(idx)
    return out


def model_rows(tree) -> list:
    """What the view should lay out: the model's rows below every row it has expanded."""
    view, model, out = tree.view, tree.model, []
    stack = [model.index(r, 0) for r in reversed(range(model.rowCount()))]
    while stack:
        idx = stack.pop()
        out.append((model.node(idx), view.isExpanded(idx)))
        if view.isExpanded(idx):
            stack.extend(model.index(r, 0, idx) for r in reversed(range(model.rowCount(idx))))
    return out


def test_idle_filling_leaves_what_the_user_sees_and_selected_alone(qtbot, monkeypatch):
    only_rows_budget(monkeypatch, 200)
    monkeypatch.setattr(tree_model, "FILL_BUDGET", 300)
    traj, _ = tree_of(iterations=110, blocks=3, calls=30)
    tree = shown_tree(qtbot, traj, wait_ms=None)
    model, view = tree.model, tree.view
    run = traj.runs[0]
    # the user opens a few rows, some of them placeholders still, and selects a deep call
    it = run.iterations[60]
    view.expand(model.index_of(it))
    view.expand(model.index_of(it.code_blocks[1]))
    view.expand(model.index_of(run.iterations[3]))
    call = it.code_blocks[1].sub_calls[29]
    tree.selection.select(call)
    qtbot.wait(1)
    view.expand(model.index_of(call))
    view.collapse(model.index_of(run.iterations[3]))  # expanded below a collapsed row
    view.expand(model.index_of(run.iterations[3].code_blocks[0]))
    view.scrollTo(model.index_of(call.child))
    assert model.filling
    before = shown_rows(tree)
    current = model.node(view.currentIndex())
    selected = [model.node(i) for i in view.selectionModel().selectedRows()]
    bar = view.verticalScrollBar().value()
    assert current is call and selected == [call] and len(before) > 140
    with qtbot.waitSignal(model.filled, timeout=20_000):
        pass
    assert not [k for k in model._holes if type(model._keep[k]) is not Page]  # all made now
    assert shown_rows(tree) == before  # the view shows the same rows, expanded the same
    assert model_rows(tree) == before  # and they are what the model has (no row it missed)
    assert model.node(view.currentIndex()) is current
    assert [model.node(i) for i in view.selectionModel().selectedRows()] == selected
    assert view.verticalScrollBar().value() == bar
    assert tree.selection.node is call
    # rows made in idle time are laid out right when they are expanded
    view.expand(model.index_of(run.iterations[3]))  # (its block was expanded before)
    view.expand(model.index_of(run.iterations[90]))
    assert shown_rows(tree) == model_rows(tree)
    assert (run.iterations[3].code_blocks[0].sub_calls[0], False) in shown_rows(tree)
    model.shutdown()


def test_expanding_all_after_idle_filling_fetches_nothing(qtbot):
    traj, nodes = tree_of(iterations=110, blocks=3, calls=30)
    tree = shown_tree(qtbot, traj, wait_ms=None)
    model = tree.model
    assert model.filling  # (more than one fill's rows)
    with qtbot.waitSignal(model.filled, timeout=20_000):
        pass
    calls = model_calls_expanding_all(tree)
    assert visible_rows(tree) == nodes
    assert "fetchMore" not in calls and "_fill" not in calls
    # canFetchMore answered from its first line (nothing is left to fetch): nothing else ran
    assert calls.count("canFetchMore") > 1_000
    assert not set(calls) - {"canFetchMore", "data", "multiData", "headerData", "_data", "cells", "node"}
    model.shutdown()


def test_a_reload_lets_the_old_rows_nodes_go_before_idle_filling_gets_to_them(qtbot, monkeypatch):
    import gc
    import weakref

    monkeypatch.setattr(tree_model, "FILL_BUDGET", 5)
    traj, _ = tree_of(iterations=40, blocks=3, calls=5)
    tree = shown_tree(qtbot, traj, wait_ms=None)
    model = tree.model
    it = traj.runs[0].iterations[30]
    model.index_of(it.code_blocks[0])  # (its blocks' rows are made, theirs wait for idle time)
    assert model.filling and any(node is it.code_blocks[2] for _, node in model._waiting)
    gone = [weakref.ref(b) for b in it.code_blocks]
    it.code_blocks = [CodeBlock(index=0, code="y = 1")]
    it.code_blocks[0].parent = it
    model.reload_children(it)
    gc.collect()
    assert [g() for g in gone] == [None, None, None]
    with qtbot.waitSignal(model.filled, timeout=20_000):
        pass
    assert model.node(model.index(0, 0, model.index_of(it))) is it.code_blocks[0]
    model.shutdown()


def test_opening_a_run_shown_in_pages_leaves_its_page_rows_to_idle_time(qtbot, monkeypatch):
    """A run of more than ``PAGE`` iterations: opening makes its row and no row of its pages
    (each page is an item with a placeholder per iteration: a run of 500,000 had 500 of them
    made while it was opened, ~15 ms); they come in idle time, or when the run is expanded."""
    made = Made(monkeypatch)
    traj, long, _ = paged_trajectory()
    tree = shown_tree(qtbot, traj, wait_ms=None)  # (no event handled yet: the opening alone)
    model = tree.model
    assert long not in made.parents and model.fetched(long) == 0  # its pages: not made yet
    assert model.canFetchMore(model.index_of(long))  # (an expand makes them)
    with qtbot.waitSignal(model.filled, timeout=20_000):
        pass
    assert long in made.parents and model.fetched(long) == 3  # made in idle time
    pages = [model.node(model.index(r, 0, model.index_of(long))) for r in range(3)]
    assert [model.fetched(p) for p in pages] == [0, 0, 0]  # (their own rows stay lazy)
    model.shutdown()
