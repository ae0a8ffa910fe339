"""The Compare window: two runs side by side with change markers, keys for the divergences,
side-by-side diffs; File › Compare Runs…; a fork opens compared with its original."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from rlm_desktop.trajectory.diff import ADDED, SAME
from rlm_desktop.ui.compare.launch import Comparisons
from rlm_desktop.ui.compare.trees import NodeRole
from rlm_desktop.ui.compare.window import CompareWindow
from tests.support.diff_pairs import generate_pairs
from tests.test_engine_loop import R
from tests.test_ui_shell_fork import accept_defaults, open_demo_at, wait_fork_point  # noqa: F401

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    return generate_pairs(tmp_path_factory.mktemp("pairs"))


def shown(qtbot, cw):
    qtbot.waitUntil(lambda: cw.diff is not None, timeout=20000)
    return cw.diff


def current_path(cw):
    n = cw.trees.current()
    return n.path if n is not None else None


def test_keys_walk_the_divergences_and_panes_show_both_sides(qtbot, pairs):
    p = pairs["extra_turn"]
    cw = CompareWindow()
    qtbot.addWidget(cw)
    cw.show()
    cw.compare(str(p["a"]), str(p["b"]))
    d = shown(qtbot, cw)
    order = [n.path for n in d.divergences()]
    assert order[0] == "r0/i1" and len(order) > 3
    # opened at the first divergence: the turn only B has (an empty grey row in A)
    assert current_path(cw) == "r0/i1"
    a_view, b_view = cw.trees.views
    assert a_view.currentIndex().data(NodeRole) is b_view.currentIndex().data(NodeRole)
    assert a_view.currentIndex().siblingAtColumn(0).data() == "+ (only in B)"
    assert b_view.currentIndex().siblingAtColumn(0).data().startswith("+ Iteration 2  Let me look.")
    code = cw.panes.panes["code"].edits
    assert code[0].toPlainText() == "(not in A)" and "one more look" in code[1].toPlainText()
    a_view.setFocus()
    qtbot.keyClick(a_view, Qt.Key.Key_F8)
    assert current_path(cw) == order[1]
    qtbot.keyClick(a_view, Qt.Key.Key_F8)
    assert current_path(cw) == order[2]
    qtbot.keyClick(a_view, Qt.Key.Key_F8, Qt.KeyboardModifier.ShiftModifier)
    assert current_path(cw) == order[1]
    qtbot.keyClick(b_view, Qt.Key.Key_F7)
    assert current_path(cw) == "r0/i1"
    assert not cw.act_prev.isEnabled() and cw.act_next.isEnabled()
    # a row picked by hand: F8 goes on from there
    same = next(n for n in d.nodes() if n.status == SAME and n.kind == "iteration")
    cw.trees.select(same)
    assert current_path(cw) == same.path == "r0/i0"
    qtbot.keyClick(a_view, Qt.Key.Key_F8)
    assert current_path(cw) == "r0/i1"
    # a changed turn: the Messages tab is raised, both prompts are there, the differing lines tinted
    for _ in range(5):  # past the added turn's block
        qtbot.keyClick(a_view, Qt.Key.Key_F8)
        node = cw.trees.current()
        if node.status != ADDED:
            break
    assert node.status == "changed" and node.changes[0].field == "prompt"
    assert cw.panes.currentWidget() is cw.panes.panes["messages"]
    msgs = cw.panes.panes["messages"]
    assert msgs.edits[0].toPlainText() and msgs.edits[1].toPlainText()
    assert msgs.changed[1] and msgs.edits[1].extraSelections()
    assert "one more look" in msgs.edits[1].toPlainText() and "one more look" not in msgs.edits[0].toPlainText()
    assert cw.panes.tabText(2).endswith("≠")
    # clicking a row in B selects the same row in A
    idx = b_view.model().index(0, 0)
    b_view.scrollTo(idx)
    qtbot.mouseClick(b_view.viewport(), Qt.MouseButton.LeftButton, pos=b_view.visualRect(idx).center())
    assert current_path(cw) == "r0" and a_view.currentIndex().data(NodeRole).path == "r0"
    # named for people (1-based, as everywhere), the copyable node path in the tooltip
    assert "First divergence: Run 1 › Iteration 2: " in cw.summary.text() and "r0/" not in cw.summary.text()
    assert cw.summary.toolTip().endswith("(for copying): r0/i1")


def test_a_deep_difference_is_expanded_to_and_same_runs_say_so(qtbot, pairs, tmp_path):
    cw = CompareWindow()
    qtbot.addWidget(cw)
    cw.show()
    cw.compare(str(pairs["deep"]["a"]), str(pairs["deep"]["b"]))
    shown(qtbot, cw)
    assert current_path(cw) == "r0/i0/b0/c0/r/i1/b0/c0/r/i0"
    assert cw.trees.views[0].isExpanded(cw.trees.views[0].currentIndex().parent())
    resp = cw.panes.panes["messages"]
    assert "deepest question, reworded" in resp.edits[1].toPlainText()
    assert "deepest question, reworded" not in resp.edits[0].toPlainText()
    if os.environ.get("RLM_DESKTOP_SCREENSHOTS") or not os.path.exists(os.path.join(ROOT, "docs",
                                                                                     "screenshot-compare.png")):
        cw.resize(1300, 820)
        qtbot.wait(50)
        cw.grab().save(os.path.join(ROOT, "docs", "screenshot-compare.png"))
    cw2 = CompareWindow()
    qtbot.addWidget(cw2)
    cw2.compare(str(pairs["same"]["a"]), str(pairs["same"]["b"]))
    shown(qtbot, cw2)
    assert "No differences." in cw2.summary.text() and not cw2.act_first.isEnabled()
    cw3 = CompareWindow()
    qtbot.addWidget(cw3)
    with qtbot.waitSignal(cw3.failed, timeout=10000) as sig:
        cw3.compare(str(tmp_path / "missing.jsonl"), str(pairs["same"]["a"]))
    assert "missing.jsonl" in sig.args[0] and "Cannot compare" in cw3.summary.text()


def test_compare_runs_from_the_file_menu(qtbot, window, pairs):
    w = window
    p = pairs["deep"]
    w.open_files([str(p["a"]), str(p["b"])])
    qtbot.waitUntil(lambda: len(w.documents) == 2 and w.loader.pending == 0, timeout=10000)
    assert isinstance(w.comparisons, Comparisons)
    qtbot.keyClick(w, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    picker = w.comparisons.picker
    assert picker is not None and picker.isVisible()
    assert picker.sources() == (str(p["a"]), str(p["b"]))  # the shown file is B, the other A
    qtbot.mouseClick(picker.findChild(type(picker.buttons.button(QDialogButtonBox.StandardButton.Ok)),
                                      "compare.swap"), Qt.MouseButton.LeftButton)
    assert picker.sources() == (str(p["b"]), str(p["a"]))
    qtbot.mouseClick(picker.buttons.button(QDialogButtonBox.StandardButton.Ok), Qt.MouseButton.LeftButton)
    cw = w.comparisons.windows[-1]
    shown(qtbot, cw)
    assert cw.isVisible() and current_path(cw) == "r0/i0/b0/c0/r/i1/b0/c0/r/i0"
    assert os.path.basename(str(p["b"])) in cw.windowTitle()
    cw.close()


def test_a_finished_fork_opens_compared_with_its_original(qtbot, window, accept_defaults):  # noqa: F811
    w = window
    w.opened = []
    w.loader.loaded.connect(lambda p, t: w.opened.append(p))
    open_demo_at(qtbot, w, 2)
    w.act_fork.trigger()
    wait_fork_point(qtbot, w)
    w.panels["messages"].responseEdited.emit(w.selection.node,
                                             R("answer['content'] = 'forked answer'\nanswer['ready'] = True"))
    w.debug.cont.trigger()
    qtbot.waitUntil(lambda: not w.session.running, timeout=20000)
    qtbot.waitUntil(lambda: bool(w.comparisons.windows), timeout=5000)
    cw = w.comparisons.windows[-1]
    d = shown(qtbot, cw)
    first = d.first_divergence
    assert first.path == "r0/i2" and "response" in first.what
    assert all(n.status == SAME for n in d.nodes() if n.path.startswith(("r0/i0", "r0/i1")))
    assert [n.status for n in d.roots[0].children[3:]] == ["removed"] * (len(d.roots[0].children) - 3)
    assert "fork at r0/i2" in cw.windowTitle()
    assert current_path(cw) == "r0/i2"
    assert ADDED not in {n.status for n in d.nodes()}
    cw.close()
