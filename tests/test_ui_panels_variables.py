"""Variables panel: locals tree, lazy children, types/previews, filter, changed marks, live refresh."""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, Qt
from test_ui_panels_data import HOSTILE, sample_trajectory

from rlm_desktop.trajectory.model import CodeBlock, Iteration
from rlm_desktop.ui.panels.variables import VariablesPanel, type_name, value_preview


def _panel(qtbot):
    p = VariablesPanel()
    qtbot.addWidget(p)
    p.resize(600, 500)
    p.show()
    return p


def _rows(p, parent=QModelIndex()):
    out = []
    for r in range(p.proxy.rowCount(parent)):
        out.append(tuple(p.proxy.index(r, c, parent).data() for c in range(3)))
    return out


def _row_index(p, name, parent=QModelIndex()):
    for r in range(p.proxy.rowCount(parent)):
        idx = p.proxy.index(r, 0, parent)
        if idx.data() == name:
            return idx
    raise AssertionError(name)


def test_block_locals_names_types_values(qtbot):
    run = sample_trajectory().runs[0]
    p = _panel(qtbot)
    b = run.iterations[1].code_blocks[0]
    p.show_node(b)
    rows = {r[0]: r for r in _rows(p)}
    assert list(rows) == ["context", "context_0", "answer", "f", "v", "nested"]
    assert rows["v"][1:] == ("str", '"child says 7"')
    assert rows["answer"][1] == "dict[2]"
    assert rows["f"][1] == "object"
    assert rows["nested"][1] == "dict[2]"
    assert "Locals after block 1 of iteration 2" in p.header.text()
    # v and nested are new since the previous block (iteration 1, block 2): shown bold
    bold = {
        r[0]
        for r in _rows(p)
        if p.proxy.index(list(rows).index(r[0]), 0).data(Qt.ItemDataRole.FontRole) is not None
    }
    assert bold == {"v", "nested"}
    assert "2 new/changed" in p.header.text()


def test_nested_expand_lazily_and_detail(qtbot):
    run = sample_trajectory().runs[0]
    p = _panel(qtbot)
    p.show_node(run.iterations[1].code_blocks[0])
    nested = _row_index(p, "nested")
    assert p.proxy.hasChildren(nested)
    src = p.model.item(p.proxy.mapToSource(nested))
    assert src.children == []  # nothing made before it is opened
    p.tree.expand(nested)
    qtbot.waitUntil(lambda: p.proxy.rowCount(nested) == 2, timeout=1000)
    a = _row_index(p, "a", nested)
    p.tree.expand(a)
    qtbot.waitUntil(lambda: p.proxy.rowCount(a) == 3, timeout=1000)
    assert _rows(p, a)[2] == ("[2]", "dict[1]", "{b: None}")
    p.tree.setCurrentIndex(a)
    assert p.detail.text().replace(" ", "").replace("\n", "") == '[1,2,{"b":null}]'


def test_iteration_run_subcall_pick_block(qtbot):
    run = sample_trajectory().runs[0]
    p = _panel(qtbot)
    p.show_node(run.iterations[0])
    assert p.shown_block() is run.iterations[0].code_blocks[1]
    p.show_node(run.iterations[0].code_blocks[1].sub_calls[0])
    assert p.shown_block() is run.iterations[0].code_blocks[1]
    p.show_node(run)
    assert p.shown_block() is run.iterations[2].code_blocks[0]
    p.show_node(Iteration(number=4))
    assert p.proxy.rowCount() == 0 and "no locals" in p.header.text()
    p.show_node(None)
    assert p.proxy.rowCount() == 0


def test_filter_top_level(qtbot):
    run = sample_trajectory().runs[0]
    p = _panel(qtbot)
    p.show_node(run.iterations[1].code_blocks[0])
    p.filter.setText("CONTEXT")
    assert [r[0] for r in _rows(p)] == ["context", "context_0"]
    p.filter.setText("dict")
    assert [r[0] for r in _rows(p)] == ["answer", "nested"]
    p.filter.setText("(")  # not a regex
    assert _rows(p) == []
    p.filter.clear()
    assert len(_rows(p)) == 6


def test_exotic_values_and_hostile_strings(qtbot):
    locs = {
        "nan": float("nan"),
        "inf": float("-inf"),
        "big": 10**40,
        "mod": "<module 'json'>",
        "fn": "<function 'helper'>",
        "html": HOSTILE,
        "bad\ud800key": "lone \udfff surrogate",
        "nl": "a\nb\tc",
    }
    p = _panel(qtbot)
    p.show_node(CodeBlock(index=0, locals=locs))
    rows = {r[0]: r for r in _rows(p)}
    assert rows["nan"][2] == "NaN" and rows["inf"][2] == "-Infinity"
    assert rows["big"][2] == str(10**40)
    assert rows["mod"][1] == "module" and rows["fn"][1] == "function"
    assert rows["html"][2] == '"' + HOSTILE + '"'
    assert rows["bad\ufffdkey"][2] == '"lone \ufffd surrogate"'
    assert rows["nl"][2] == '"a\\nb\\tc"'
    assert type_name([1, 2]) == "list[2]" and value_preview(True) == "True"


def test_huge_list_fetched_in_batches_fast(qtbot):
    locs = {"xs": list(range(100_000)), "ctx": "c" * 3_000_000}
    p = _panel(qtbot)
    t = time.perf_counter()
    p.show_node(CodeBlock(index=0, locals=locs))
    xs = _row_index(p, "xs")
    p.tree.expand(xs)
    qtbot.wait(5)
    assert time.perf_counter() - t < 1.5
    loaded = p.proxy.rowCount(xs)
    assert 0 < loaded < 100_000
    p.tree.setCurrentIndex(_row_index(p, "ctx"))
    assert p.detail.truncated and p.detail.total_chars == 3_000_000


def test_live_refresh_keeps_expanded_selection_and_scroll(qtbot):
    run = sample_trajectory().runs[0]
    b = run.iterations[1].code_blocks[0]
    b.locals.update({f"v{i}": i for i in range(100)})
    b.running = True
    p = _panel(qtbot)
    p.show_node(b)
    nested = _row_index(p, "nested")
    p.tree.expand(nested)
    qtbot.waitUntil(lambda: p.proxy.rowCount(nested) == 2, timeout=1000)
    p.tree.setCurrentIndex(_row_index(p, "a", nested))
    bar = p.tree.verticalScrollBar()
    bar.setValue(3)
    b.locals = {**b.locals, "late": 1}
    b.running = False
    p.refresh()
    nested = _row_index(p, "nested")
    assert p.tree.isExpanded(nested)
    assert p.tree.currentIndex().data() == "a"
    assert bar.value() == 3
    assert "late" in [r[0] for r in _rows(p)]
