"""Breakpoints panel: list/add/edit/enable/remove, hit counts on refresh, logpoint messages."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from PySide6.QtCore import Qt
from test_ui_panels_data import HOSTILE, sample_trajectory

from rlm_desktop.ui.panels.breakpoint_editor import BreakpointEditor, describe
from rlm_desktop.ui.panels.breakpoints import BreakpointsPanel


@dataclass
class FakeBP:
    id: int
    kind: str
    iteration: int | None = None
    depth: int | None = None
    pattern: str | None = None
    regex: bool = False
    condition: str | None = None
    enabled: bool = True
    hit_count: int = 0
    one_shot: bool = False
    log_message: str | None = None


class FakeManager:
    """The interface the panel documents (add/remove/update/breakpoints)."""

    def __init__(self):
        self._ids = itertools.count(1)
        self.items: list[FakeBP] = []

    def breakpoints(self):
        return list(self.items)

    def add(self, **fields):
        bp = FakeBP(id=next(self._ids), **fields)
        self.items.append(bp)
        return bp

    def remove(self, bp_id):
        self.items = [b for b in self.items if b.id != bp_id]

    def update(self, bp_id, **fields):
        for b in self.items:
            if b.id == bp_id:
                for k, v in fields.items():
                    setattr(b, k, v)


def _panel(qtbot):
    m = FakeManager()
    p = BreakpointsPanel(m)
    qtbot.addWidget(p)
    p.resize(700, 400)
    p.show()
    return p, m


def _cell(p, row, col, role=Qt.ItemDataRole.DisplayRole):
    return p.model.index(row, col).data(role)


def test_list_shows_every_kind(qtbot):
    p, m = _panel(qtbot)
    m.add(kind="iteration", iteration=3, depth=None)
    m.add(kind="depth", depth=2, condition="iteration > 1")
    m.add(kind="text", pattern=HOSTILE, regex=False, depth=0, log_message="saw <b>it</b> {iteration}")
    m.add(kind="final", one_shot=True)
    p.refresh()
    assert p.model.rowCount() == 4
    assert _cell(p, 0, 1) == "iteration 3 at any depth"
    assert _cell(p, 1, 1) == "depth ≥ 2" and _cell(p, 1, 2) == "iteration > 1"
    assert _cell(p, 2, 1).startswith("log: text ") and HOSTILE in _cell(p, 2, 1)
    assert _cell(p, 2, 5) == "saw <b>it</b> {iteration}"
    assert _cell(p, 3, 4, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert _cell(p, 0, 0, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked


def test_toggle_enabled_and_hits_refresh_keeps_selection(qtbot):
    p, m = _panel(qtbot)
    a = m.add(kind="subcall", depth=1)
    m.add(kind="stderr")
    p.refresh()
    p.table.selectRow(1)
    assert p.selected().kind == "stderr"
    assert p.model.setData(p.model.index(0, 0), Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert a.enabled is False
    assert _cell(p, 0, 0, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    m.items[1].hit_count = 5  # the debugger counted hits during a live run
    p.refresh()
    assert _cell(p, 1, 3) == "5"
    assert p.selected().kind == "stderr"


def test_add_here_edit_and_remove(qtbot, monkeypatch):
    run = sample_trajectory().runs[0]
    p, m = _panel(qtbot)
    assert not p.add_here_button.isEnabled()
    child_it = run.iterations[1].code_blocks[0].sub_calls[0].child.iterations[0]
    p.show_node(child_it.code_blocks[0])
    assert p.add_here_button.isEnabled()
    changed = []
    p.breakpointsChanged.connect(lambda: changed.append(1))
    p.add_here_button.click()
    assert [(b.kind, b.iteration, b.depth) for b in m.items] == [("iteration", 1, 1)]
    assert changed == [1]

    def fake_exec(dlg):
        dlg.kind.setCurrentIndex(dlg.kind.findData("condition"))
        dlg.condition.setText("depth >= 2 and iteration > 3")
        dlg.log_message.setText("deep")
        return BreakpointEditor.DialogCode.Accepted

    monkeypatch.setattr(BreakpointEditor, "exec", fake_exec)
    p.table.selectRow(0)
    p.edit_button.click()
    bp = m.items[0]
    assert bp.kind == "condition" and bp.condition == "depth >= 2 and iteration > 3" and bp.log_message == "deep"
    assert _cell(p, 0, 1) == "log: when depth >= 2 and iteration > 3"
    p.add_button.click()
    assert len(m.items) == 2
    p.table.selectRow(0)
    p.remove_button.click()
    assert len(m.items) == 1 and p.model.rowCount() == 1
    p.remove_all_button.click()
    assert m.items == [] and not p.remove_all_button.isEnabled()


def test_editor_fields_and_validation(qtbot):
    d = BreakpointEditor(None, {"kind": "iteration", "iteration": 4, "depth": 2})
    qtbot.addWidget(d)
    assert d.fields()["iteration"] == 4 and d.fields()["depth"] == 2
    d.any_depth.setChecked(True)
    assert d.fields()["depth"] is None
    d.kind.setCurrentIndex(d.kind.findData("text"))
    assert d.validation_error() == "Enter the text or regex to look for."
    d.pattern.setText("([unclosed")
    d.regex.setChecked(True)
    assert d.validation_error().startswith("Not a valid regular expression")
    d.regex.setChecked(False)
    assert d.validation_error() is None
    d.condition.setText("depth >=")
    assert d.validation_error().startswith("The condition is not a Python expression")
    d.accept()
    assert d.result() != BreakpointEditor.DialogCode.Accepted and d.error.text()
    assert describe({"kind": "depth", "depth": 3}) == "depth ≥ 3"


def test_logpoint_messages_plain_and_bounded(qtbot):
    p, _ = _panel(qtbot)
    p.add_log_message("<script>x</script> \ud800 hit at iteration 2")
    p.add_log_message("second")
    assert p.log.text() == "<script>x</script> \ufffd hit at iteration 2\nsecond\n"
    for i in range(10_050):
        p._log_lines.append(str(i))
    p.add_log_message("last")
    assert len(p._log_lines) <= 10_000 and p.log.text().endswith("last\n")
    p.clear_log()
    assert p.log.text() == ""


def test_no_manager_disables_actions(qtbot):
    p = BreakpointsPanel()
    qtbot.addWidget(p)
    assert not p.add_button.isEnabled() and p.model.rowCount() == 0
    m = FakeManager()
    m.add(kind="final")
    p.set_manager(m)
    assert p.add_button.isEnabled() and p.model.rowCount() == 1
