"""A hostile trajectory (HTML/script in every text, ANSI, bidi overrides, NUL, a lone surrogate,
a 5 MB line, a 120-deep sub-call tree, a 200-deep one that is too deep to parse, an HTML
garbage line, an HTML file name) opens in the real main window, every node can be selected,
and every text is shown literally: no label, tooltip or text view interprets it as rich text.
"""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import Qt as QtGui_Qt
from PySide6.QtWidgets import QAbstractItemView, QLabel, QPlainTextEdit, QTextEdit

from tests.support.opening import shown as panels_shown
from tests.support.robust_hostile import BOLD, DEEP_OK, HUGE, MARKERS, SCRIPT, write_hostile

might_be_rich = QtGui_Qt.mightBeRichText
pytestmark = pytest.mark.timeout(120)


def has_marker(text: str) -> bool:
    return any(m in text for m in MARKERS)


def rich_labels(w: Any) -> list[str]:
    """Labels showing log text that Qt would render as HTML."""
    bad = []
    for label in w.findChildren(QLabel):
        text = label.text()
        if not has_marker(text):
            continue
        fmt = label.textFormat()
        if fmt == Qt.TextFormat.RichText or (fmt != Qt.TextFormat.PlainText and might_be_rich(text)):
            bad.append(f"{label.objectName() or type(label.parent()).__name__}: {text[:60]!r}")
    return bad


def rich_tooltips(w: Any, rows: int = 50, skip: tuple = ()) -> list[str]:
    """Tooltips of the first rows (two levels) of every item view: a tooltip is rendered as
    HTML when its first line looks like HTML, so log text there must be escaped."""
    bad = []
    for view in w.findChildren(QAbstractItemView):
        model = view.model()
        if model is None or view in skip:
            continue
        parents = [QModelIndex()]
        parents += [model.index(r, 0) for r in range(min(rows, model.rowCount()))]
        for parent in parents:
            try:
                columns = model.columnCount(parent)
            except TypeError:  # a list widget's private model
                columns = 1
            for r in range(min(rows, model.rowCount(parent))):
                for c in range(columns):
                    tip = model.data(model.index(r, c, parent), Qt.ItemDataRole.ToolTipRole)
                    if isinstance(tip, str) and has_marker(tip) and might_be_rich(tip):
                        bad.append(f"{type(model).__name__}[{r},{c}]: {tip[:60]!r}")
    return bad


def text_views(w: Any) -> list[str]:
    out = []
    for edit in w.findChildren(QPlainTextEdit):
        out.append(edit.toPlainText())
    for edit in w.findChildren(QTextEdit):
        out.append(edit.toPlainText())  # a rich view that parsed HTML would have lost the tags
    for label in w.findChildren(QLabel):
        out.append(label.text())
    return out


def shown(w: Any, needle: str) -> bool:
    return any(needle in t for t in text_views(w))


def select(qtbot, w: Any, node: Any) -> None:
    w.tree.show_node(node)
    w.selection.select(node)
    panels_shown(w, timeout=30.0)  # every panel has the node (a loaded machine takes several turns)


@pytest.fixture
def hostile_window(qtbot, window, tmp_path):
    path = write_hostile(tmp_path)
    window.open_files([str(path)])
    qtbot.waitUntil(lambda: window.loader.pending == 0 and window.trajectory is not None, timeout=60_000)
    return window


def test_hostile_log_opens_with_bad_lines_reported(qtbot, hostile_window):
    w = hostile_window
    traj = w.trajectory
    assert [it.number for it in traj.runs[0].iterations] == [1, 2, 3, 4, 5]
    assert {b.line_no for b in traj.bad_lines} == {5, 6}  # the HTML line and the 200-deep line
    assert len(w.problems.bad_lines) == 2
    assert max(r.depth for r in traj.runs[0].runs()) == DEEP_OK
    assert "<b>hostile" in w.windowTitle()  # a window title is never rich text
    assert not rich_labels(w)


def test_every_panel_shows_hostile_text_literally(qtbot, hostile_window):
    w = hostile_window
    run = w.trajectory.runs[0]
    it1 = run.iterations[0]
    blk = it1.code_blocks[0]
    call = blk.sub_calls[0]
    for node in (run, it1, blk, call, run.iterations[-1]):
        select(qtbot, w, node)
        assert w.tree.model.node(w.tree.view.currentIndex()) is node
        assert not rich_labels(w), node.path
    select(qtbot, w, blk)
    assert shown(w, SCRIPT) and shown(w, BOLD)  # code and output panels, tags intact
    select(qtbot, w, it1)
    assert shown(w, SCRIPT)  # the messages panel
    select(qtbot, w, run.iterations[-1])
    assert shown(w, f"the answer is {SCRIPT} {BOLD}")  # the final answer


def test_huge_line_and_deep_tree_select_without_hanging(qtbot, hostile_window):
    w = hostile_window
    run = w.trajectory.runs[0]
    big = run.iterations[1].code_blocks[0]
    assert len(big.stdout) > HUGE
    select(qtbot, w, big)
    assert shown(w, BOLD + "xxxx")
    deepest = max(run.runs(), key=lambda r: r.depth)
    leaf_it = deepest.iterations[0]
    select(qtbot, w, leaf_it)
    idx = w.tree.view.currentIndex()
    assert w.tree.model.node(idx) is leaf_it
    levels = 0
    while idx.isValid():
        levels += 1
        idx = idx.parent()
    assert levels > DEEP_OK * 3  # run > iteration > block > call > child run ... all expanded
    assert not rich_labels(w)


def test_item_view_tooltips_of_log_text_are_escaped(qtbot, hostile_window):
    w = hostile_window
    blk = w.trajectory.runs[0].iterations[0].code_blocks[0]
    select(qtbot, w, blk)  # fills the variables panel with hostile names and values
    assert not rich_tooltips(w)


def test_documents_combo_tooltips_are_escaped(qtbot, hostile_window):
    combo = hostile_window.doc_combo
    tips = [combo.itemData(i, Qt.ItemDataRole.ToolTipRole) or "" for i in range(combo.count())]
    assert any("hostile" in t for t in tips)
    assert not [t for t in tips if has_marker(t) and might_be_rich(t)]


def test_problems_tooltips_are_escaped(qtbot, hostile_window):
    w = hostile_window
    tips = [w.problems.list.item(i).toolTip() for i in range(w.problems.list.count())]
    assert any("&lt;script&gt;" in t for t in tips)  # a bad line's raw text, escaped
    assert not [t for t in tips if has_marker(t) and might_be_rich(t)]


def test_runs_list_tooltips_of_a_hostile_file_name_are_escaped(qtbot, window, tmp_path):
    write_hostile(tmp_path)
    assert window.follow(str(tmp_path))
    model = window.panels["runs"].model
    qtbot.waitUntil(lambda: model.rowCount() == 1, timeout=30_000)
    tips = [model.data(model.index(0, c), Qt.ItemDataRole.ToolTipRole) for c in range(model.columnCount())]
    assert any(t and "hostile&lt;img src=x&gt;" in t for t in tips)  # escaped, so shown literally
    assert not rich_tooltips(window)
