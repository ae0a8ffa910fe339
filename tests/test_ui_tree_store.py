"""The Run Tree's rows live in Qt's C++ item store (``ui.tree_model``): laying a tree out asks
Python nothing per row, rows are placeholders until they are expanded or looked up, and the
rows of a replaced trajectory or a reloaded node let their nodes go."""

from __future__ import annotations

import gc
import weakref

from PySide6.QtCore import Qt

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, RunStatus, SubCall, Trajectory
from rlm_desktop.ui import tree_model
from rlm_desktop.ui.run_tree import RunTree
from tests.support.tree_rows import arrow_point, model_calls_expanding_all, shown_tree


def tree_of(iterations: int, blocks: int, calls: int) -> tuple[Trajectory, int]:
    """One run; every block's last call spawns a child run with one iteration."""
    run = Run(run_id="root", status=RunStatus.FINISHED)
    nodes = 1
    for i in range(iterations):
        it = run.add_iteration(Iteration(number=i + 1, response="r"))
        nodes += 1
        for b in range(blocks):
            blk = it.add_block(CodeBlock(index=b, code=f"x = {i}.{b}"))
            nodes += 1
            for c in range(calls):
                call = blk.add_sub_call(SubCall(index=c, prompt=f"q{i}.{b}.{c}", response="a"))
                nodes += 1
                if c == calls - 1:
                    child = Run(run_id=f"c{i}.{b}", depth=1, status=RunStatus.FINISHED)
                    child.add_iteration(Iteration(number=1, final_answer="x"))
                    child.parent, call.child = call, child
                    nodes += 2
    return Trajectory(runs=[run]), nodes


def visible_rows(tree: RunTree) -> int:
    view, n = tree.view, 0
    idx = tree.model.index(0, 0)
    while idx.isValid():
        n += 1
        idx = view.indexBelow(idx)
    return n


def test_expanding_all_of_a_10k_tree_asks_python_nothing_per_row(qtbot):
    traj, nodes = tree_of(iterations=110, blocks=3, calls=30)
    assert nodes > 10_000
    tree = shown_tree(qtbot, traj)
    calls = model_calls_expanding_all(tree)
    assert visible_rows(tree) == nodes  # every node is a row, each laid out
    # Qt asks Python only about rows with children (canFetchMore, and fetchMore when the row's
    # children were not made yet): ~1,100 of them; a Python model is asked index, parent and
    # hasChildren for each of the 10,000 rows
    parents = 1 + 110 + 110 * 3 + 2 * 110 * 3
    assert not {"index", "parent", "rowCount", "hasChildren", "flags"} & set(calls)
    assert calls.count("data") + calls.count("multiData") < 20  # the row height, measured once
    asked = calls.count("canFetchMore") + calls.count("fetchMore")
    assert asked < 2 * parents < nodes / 4
    assert len(calls) < nodes  # all of Python's work, helpers included: a few calls per row with children
    tree.model.shutdown()


def test_rows_are_placeholders_until_expanded_or_looked_up(qtbot, monkeypatch):
    monkeypatch.setattr(tree_model, "FILL_BUDGET", 1)  # make only the rows asked for
    monkeypatch.setattr(tree_model, "IDLE_CAP", 0)  # and none in idle time
    traj, _ = tree_of(iterations=3, blocks=2, calls=4)
    run = traj.runs[0]
    tree = shown_tree(qtbot, traj)
    model, view = tree.model, tree.view
    it = run.iterations[1]
    idx = model.index_of(it)
    assert idx.isValid() and not view.isExpanded(idx)
    # the iteration's rows are empty slots: Qt knows how many and shows the arrow
    assert model.fetched(it) == 0 and model.rowCount(idx) == 2 and model.hasChildren(idx)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=arrow_point(tree, idx))
    assert view.isExpanded(idx)
    assert model.fetched(it) == 2  # made when the view laid them out
    first = model.index(0, 0, idx)
    assert model.node(first) is it.code_blocks[0] and model.hasChildren(first)
    assert first.siblingAtColumn(2).data() == "done" and first.data().startswith("Block 1")
    # looking a node up makes the rows on its way down, not its siblings'
    block = run.iterations[2].code_blocks[1]
    call = block.sub_calls[3]
    assert model.fetched(block) == 0
    cidx = model.index_of(call)
    assert model.node(cidx) is call and cidx.row() == 3 and model.fetched(block) == 4
    assert model.fetched(run.iterations[2].code_blocks[0]) == 0
    assert model.hasChildren(cidx) and not model.hasChildren(model.index(0, 0, cidx.parent()))
    # a call's child run is a row below it, its iteration below that
    child_it = call.child.iterations[0]
    assert model.node(model.index_of(child_it).parent()) is call.child
    model.shutdown()


def test_a_double_click_does_not_edit_a_row(qtbot):
    traj, _ = tree_of(iterations=2, blocks=1, calls=1)
    tree = shown_tree(qtbot, traj)
    idx = tree.model.index_of(traj.runs[0].iterations[0], 2)
    rect = tree.view.visualRect(idx)
    qtbot.mouseDClick(tree.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert tree.view.state() != tree.view.State.EditingState  # Qt's items are editable by default
    assert idx.data() == "done"


def test_rows_let_their_nodes_go_with_a_new_trajectory_and_a_reload(qtbot):
    traj, _ = tree_of(iterations=4, blocks=2, calls=3)
    tree = shown_tree(qtbot, traj)
    model = tree.model
    tree.view.expandAll()
    it = traj.runs[0].iterations[2]
    old_block = it.code_blocks[1]
    old_call = old_block.sub_calls[2]
    assert model.node(model.index_of(old_call)) is old_call
    # the iteration's children are replaced in place (a lazily loaded iteration emptied)
    gone = [weakref.ref(old_block), weakref.ref(old_call), weakref.ref(old_call.child)]
    it.code_blocks = [CodeBlock(index=0, code="y = 1")]
    it.code_blocks[0].parent = it
    del old_block, old_call
    model.reload_children(it)
    idx = model.index_of(it)
    assert model.rowCount(idx) == 1 and model.node(model.index(0, 0, idx)) is it.code_blocks[0]
    assert not model.hasChildren(model.index(0, 0, idx))
    gc.collect()
    assert [g() for g in gone] == [None, None, None]
    # a new trajectory: the old one's rows and nodes go
    old_run = weakref.ref(traj.runs[0])
    other, _ = tree_of(iterations=1, blocks=1, calls=1)
    del traj, it
    tree.set_trajectory(other)
    tree.selection.select(other.runs[0])  # (the selection held the old run)
    gc.collect()
    assert old_run() is None
    assert model.rowCount() == 1 and model.node(model.index(0, 0)) is other.runs[0]
    model.shutdown()


def test_a_leaf_in_the_middle_of_made_rows_gets_its_first_children(qtbot):
    traj, _ = tree_of(iterations=2, blocks=1, calls=2)
    tree = shown_tree(qtbot, traj)
    model, view = tree.model, tree.view
    block = traj.runs[0].iterations[0].code_blocks[0]
    view.expand(model.index_of(block.parent))
    view.expand(model.index_of(block))
    leaf = block.sub_calls[0]  # no child run yet: an empty slot, no arrow
    idx = model.index_of(leaf)
    assert not model.hasChildren(idx) and not view.isExpanded(idx)
    child = Run(run_id="late", depth=1, status=RunStatus.RUNNING)
    child.add_iteration(Iteration(number=1, running=True))
    child.parent, leaf.child = leaf, child
    inserted = []
    model.rowsInserted.connect(lambda p, a, z: inserted.append((model.node(p), a, z)))
    tree.refresh()
    qtbot.wait(10)
    assert inserted == [(leaf, 0, 0)]
    idx = model.index_of(leaf)
    assert model.hasChildren(idx) and model.node(model.index(0, 0, idx)) is child
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=arrow_point(tree, idx))
    assert view.isExpanded(idx)
    assert model.node(model.index(0, 0, model.index_of(child))) is child.iterations[0]
    model.shutdown()


def test_a_refresh_repaints_a_deep_row_whose_status_changed(qtbot):
    """``grow`` tells the view once (a ``dataChanged`` over the top rows): the whole viewport is
    repainted from fresh cells, a row four levels down included."""
    from PySide6.QtCore import QEvent, QObject

    traj, _ = tree_of(iterations=2, blocks=1, calls=2)
    call = traj.runs[0].iterations[1].code_blocks[0].sub_calls[0]
    call.running = True
    tree = shown_tree(qtbot, traj)
    model, view = tree.model, tree.view
    idx = model.index_of(call, 2)
    view.scrollTo(idx)  # (expands the rows above it)
    qtbot.wait(20)
    rect = view.visualRect(idx)
    assert rect.isValid() and idx.data() == "running"

    class Paints(QObject):
        regions: list = []

        def eventFilter(self, obj, event):  # noqa: N802
            if event.type() == QEvent.Type.Paint:
                self.regions.append(event.region())
            return False

    paints = Paints()
    view.viewport().installEventFilter(paints)
    qtbot.wait(20)
    paints.regions.clear()
    call.running = False
    tree.refresh()
    qtbot.waitUntil(lambda: any(r.contains(rect) for r in paints.regions), timeout=2000)
    view.viewport().removeEventFilter(paints)
    assert idx.data() == "done"
    model.shutdown()


def test_a_row_deeper_than_pythons_recursion_limit_finds_its_node(qtbot):
    """Runs spawned by calls in runs, 400 deep: 1,600 tree levels. The rows' nodes are found
    from their parents' (after a reload forgot every one), never by recursion."""
    run = top = Run(run_id="r0", status=RunStatus.FINISHED)
    for d in range(400):
        it = run.add_iteration(Iteration(number=1))
        blk = it.add_block(CodeBlock(index=0, code=f"x = {d}"))
        call = blk.add_sub_call(SubCall(index=0, prompt="deeper"))
        child = Run(run_id=f"r{d + 1}", depth=d + 1, status=RunStatus.FINISHED)
        child.parent, call.child = call, child
        run = child
    leaf = run.add_iteration(Iteration(number=1, final_answer="done"))
    traj = Trajectory(runs=[top])
    tree = shown_tree(qtbot, traj)
    model = tree.model
    idx = model.index_of(leaf)
    assert idx.isValid() and model.node(idx) is leaf
    model.reload_children(top.iterations[0].code_blocks[0])  # forgets the rows' nodes below
    idx = model.index_of(leaf)
    model._nodes.clear()  # and every other one: a lookup climbs all the way up
    assert model.node(idx) is leaf and model.node(idx.parent()) is run
    model.shutdown()


def test_a_rows_level_counts_its_tree_parents_whatever_was_asked_first(qtbot):
    """``level`` (the indentation the view paints) keeps what it learns on the way up: a row
    asked after its parent, before it, or under a page gets the count of rows above it."""
    traj, _ = tree_of(iterations=tree_model.PAGE + 5, blocks=1, calls=1)
    run = traj.runs[0]
    tree = shown_tree(qtbot, traj)
    model = tree.model

    def hops(node) -> int:
        n, p = 0, model.model_parent(node)
        while p is not None:
            n, p = n + 1, model.model_parent(p)
        return n

    far = run.iterations[-1]  # under the second page of iterations
    deep = far.code_blocks[0].sub_calls[0].child.iterations[0]
    near = run.iterations[0].code_blocks[0]
    order = [deep, far, run, near, far.code_blocks[0], near.sub_calls[0]]
    assert [model.level(n) for n in order] == [hops(n) for n in order]
    assert model.level(far) == 2 and model.level(deep) == 6  # page, iteration; then block, call, run
    model._levels.clear()
    assert [model.level(n) for n in reversed(order)] == [hops(n) for n in reversed(order)]
    model.shutdown()
