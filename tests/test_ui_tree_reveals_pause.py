"""A pause deep in the run: the Run Tree expands to the paused node and selects it, as a
debugger reveals the paused frame (the other panels showed it while the tree stayed on the
collapsed root; issue 13 follow-up, seen in docs/screenshot-upstream-depth2.png)."""

from __future__ import annotations

from PySide6.QtCore import Qt

from tests.test_engine_loop import R, make_engine

T = 20000

DEEP = {
    "r0/i0": R("a = rlm_query('part A')\nprint(a)"),
    "r0/i0/b0/c0/r/i0": R("b = rlm_query('deeper')\nanswer['content'] = 'd1 ' + b\nanswer['ready'] = True"),
    "r0/i0/b0/c0/r/i0/b0/c0/r/i0": R("answer['content'] = 'leaf'\nanswer['ready'] = True"),
    "r0/i1": R("answer['content'] = a\nanswer['ready'] = True"),
}


def assert_revealed(window, node):
    """``node`` is the tree's current row, every ancestor row is expanded, the row is on screen."""
    view = window.tree.view
    model = window.tree.model
    idx = model.index_of(node)
    assert idx.isValid()
    assert model.node(view.currentIndex()) is node
    assert view.selectionModel().isRowSelected(idx.row(), idx.parent())
    p = idx.parent()
    while p.isValid():
        assert view.isExpanded(p), model.node(p)
        p = p.parent()
    rect = view.visualRect(idx)
    assert rect.isValid() and view.viewport().rect().intersects(rect)


def test_a_pause_at_depth_2_expands_the_tree_to_the_paused_node(qtbot, window, tmp_path):
    eng, _ = make_engine(DEEP, tmp_path, max_depth=3, max_iterations=3)
    s = window.session
    s.breakpoints.add(kind="depth", depth=2)
    window.start_run("Go deep.", "some context", engine=eng)
    qtbot.waitUntil(lambda: s.controller.is_paused, timeout=T)
    event = s.controller.state().event
    assert event.depth == 2
    qtbot.waitUntil(lambda: window.selection.node is not None and getattr(window.selection.node, "depth", 0) == 2,
                    timeout=T)
    node = window.selection.node
    qtbot.waitUntil(lambda: window.tree.model.node(window.tree.view.currentIndex()) is node, timeout=T)
    assert_revealed(window, node)
    # step into with F11: the next paused node (deeper still in the grandchild) is revealed too
    window.activateWindow()
    before = node
    qtbot.keyClick(window.tree.view, Qt.Key.Key_F11)
    qtbot.waitUntil(lambda: s.controller.is_paused and window.selection.node is not before, timeout=T)
    qtbot.waitUntil(lambda: window.tree.model.node(window.tree.view.currentIndex()) is window.selection.node,
                    timeout=T)
    assert_revealed(window, window.selection.node)
    window.debug.stop.trigger()
    qtbot.waitUntil(lambda: not s.running, timeout=T)
