"""Breakpoints panel: list/add/edit/enable/remove, hit counts on refresh, logpoint messages."""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt
from test_ui_panels_data import HOSTILE, sample_trajectory

from rlm_desktop.debugger.breakpoints import KINDS, BreakpointManager
from rlm_desktop.engine import events as ev
from rlm_desktop.ui.panels.breakpoint_editor import KINDS as EDITOR_KINDS
from rlm_desktop.ui.panels.breakpoint_editor import BreakpointEditor, describe
from rlm_desktop.ui.panels.breakpoints import BreakpointsPanel


def _panel(qtbot):
    m = BreakpointManager()
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
    m.update(m.breakpoints()[1].id, hit_count=5)  # the debugger counted hits
    qtbot.waitUntil(lambda: _cell(p, 1, 3) == "5", timeout=2000)  # refreshed from on_change
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
    assert [(b.kind, b.iteration, b.depth) for b in m.breakpoints()] == [("iteration", 1, 1)]
    assert changed == [1]

    def fake_exec(dlg):
        dlg.kind.setCurrentIndex(dlg.kind.findData("condition"))
        dlg.condition.setText("depth >= 2 and iteration > 3")
        dlg.log_message.setText("deep")
        return BreakpointEditor.DialogCode.Accepted

    monkeypatch.setattr(BreakpointEditor, "exec", fake_exec)
    p.table.selectRow(0)
    p.edit_button.click()
    bp = m.breakpoints()[0]
    assert bp.kind == "condition" and bp.condition == "depth >= 2 and iteration > 3" and bp.log_message == "deep"
    assert _cell(p, 0, 1) == "log: when depth >= 2 and iteration > 3"
    p.add_button.click()
    assert len(m.breakpoints()) == 2
    p.table.selectRow(0)
    p.remove_button.click()
    assert len(m.breakpoints()) == 1 and p.model.rowCount() == 1
    p.remove_all_button.click()
    assert m.breakpoints() == [] and not p.remove_all_button.isEnabled()


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
    assert d.validation_error().startswith("The condition cannot be used: syntax error")
    d.condition.setText("__import__('os')")
    assert "not allowed" in d.validation_error()
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
    m = BreakpointManager()
    m.add(kind="final")
    p.set_manager(m)
    assert p.add_button.isEnabled() and p.model.rowCount() == 1


def test_editor_kinds_match_the_debugger():
    assert set(EDITOR_KINDS) == set(KINDS)


def test_engine_thread_hits_logpoints_one_shot_and_errors_show_live(qtbot):
    p, m = _panel(qtbot)
    m.add(kind="iteration", iteration=2, log_message="it {iteration} at depth {depth} <b>")
    m.add(kind="subcall", one_shot=True)
    m.add(kind="iteration", iteration=2, condition="undefined_name > 1")
    p.refresh()
    events = [
        ev.IterationStarted(run_id="r", parent_id=None, depth=0, iteration=2),
        ev.SubCallStarted(run_id="r", parent_id=None, depth=0, iteration=2, block_index=0, call_index=0, prompt="p",
                          model="m"),
    ]

    def engine_thread():
        for e in events:
            m.check(e)

    t = threading.Thread(target=engine_thread)
    t.start()
    t.join()
    qtbot.waitUntil(lambda: "it 2 at depth 0 <b>" in p.log.text(), timeout=2000)
    qtbot.waitUntil(lambda: _cell(p, 1, 0, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked, timeout=2000)
    assert _cell(p, 0, 3) == "1" and _cell(p, 1, 3) == "1"  # hits
    assert _cell(p, 2, 2).startswith("⚠ condition failed at IterationStarted: NameError")
    assert _cell(p, 2, 2, Qt.ItemDataRole.ForegroundRole) is not None
    # a panel made later shows the messages the manager kept
    p2 = BreakpointsPanel(m)
    qtbot.addWidget(p2)
    assert "it 2 at depth 0 <b>" in p2.log.text()
