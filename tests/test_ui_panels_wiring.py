"""Select anywhere selects everywhere: panels wired to a node selection."""

from __future__ import annotations

from test_ui_panels_data import sample_trajectory

from rlm_desktop.trajectory.model import Iteration
from rlm_desktop.ui.panels.code_view import CodeView
from rlm_desktop.ui.panels.messages import MessagesPanel
from rlm_desktop.ui.panels.metrics import MetricsPanel
from rlm_desktop.ui.panels.output import OutputPanel
from rlm_desktop.ui.panels.variables import VariablesPanel
from rlm_desktop.ui.panels.wiring import connect_selection, refresh_all
from rlm_desktop.ui.selection import NodeSelection
from tests.support.opening import shown


def test_selection_drives_all_panels_and_panels_select_back(qtbot):
    run = sample_trajectory().runs[0]
    sel = NodeSelection()
    code, out, msgs, vars_, metrics = CodeView(), OutputPanel(), MessagesPanel(), VariablesPanel(), MetricsPanel()
    panels = (code, out, msgs, vars_, metrics)
    for p in panels:
        qtbot.addWidget(p)
    connect_selection(sel, *panels)
    seen = []
    sel.changed.connect(seen.append)
    it = run.iterations[0]
    sel.select(it)
    shown(sel)
    assert code.editor.toPlainText() == it.code_blocks[0].code
    assert "ZeroDivisionError" in out.text()
    assert msgs.items()[-1].text == it.response
    assert vars_.shown_block() is it.code_blocks[1]
    assert metrics.run() is run and metrics.markers[0].value() == 0
    # the code view's block selector selects the block everywhere
    code.tabs.setCurrentIndex(1)
    assert seen[-1] is it.code_blocks[1]
    shown(sel)
    assert vars_.shown_block() is it.code_blocks[1] and out.text().startswith("summary of")
    # a click in the metrics selects an iteration everywhere
    metrics.nodeSelected.emit(run.iterations[2])
    assert seen[-1] is run.iterations[2]
    shown(sel)
    assert out.answer.toPlainText() == "child says 7!"
    n = len(seen)
    refresh_all(*panels)  # no selection changes from refreshing
    assert len(seen) == n


def test_node_for_event_and_paused_block(qtbot):
    from rlm_desktop.engine import events as ev
    from rlm_desktop.engine.recorder import LiveRecorder
    from rlm_desktop.ui.panels.wiring import node_for_event, show_paused
    from tests.test_engine_loop import FULL, make_engine

    eng, events = make_engine(FULL, None, max_depth=2, max_iterations=6)
    eng.completion("Summarise the parts.", "some context text")
    rec = LiveRecorder()
    code = CodeView()
    qtbot.addWidget(code)
    checked = 0
    for e in events:
        rec.apply(e)
        node = node_for_event(rec.run, e)
        if isinstance(e, ev.CodeBlockStarted):
            assert node.code == e.code and node.running
            code.show_node(node)
            show_paused(code, node)
            assert code.editor.is_current() and code.current_block() is node
            checked += 1
        elif isinstance(e, ev.SubCallStarted):
            assert node.index == e.call_index and node.parent.index == e.block_index
        elif isinstance(e, ev.IterationStarted):
            assert node.number == e.iteration and node.run.run_id == e.run_id
    assert checked >= 5
    show_paused(code, None)
    assert not code.editor.is_current()
    assert node_for_event({}, events[0]) is None


def test_session_link_pause_select_edit_resume(qtbot, monkeypatch):
    from rlm_desktop.ui.panels.response_editor import ResponseEditDialog
    from rlm_desktop.ui.panels.wiring import SessionLink
    from rlm_desktop.ui.session import DebugSession
    from tests.test_engine_loop import FULL, R, make_engine

    sel = NodeSelection()
    code, out, msgs, vars_, metrics = CodeView(), OutputPanel(), MessagesPanel(), VariablesPanel(), MetricsPanel()
    panels = [code, out, msgs, vars_, metrics]
    for p in panels:
        qtbot.addWidget(p)
    connect_selection(sel, *panels)
    session = DebugSession()
    link = SessionLink(session, sel, panels)
    session.breakpoints.add(kind="condition", condition="kind == 'LMResponse' and iteration == 2 and depth == 0")
    session.breakpoints.add(kind="stderr", depth=0)  # never hit once the edit removes the error
    eng, _ = make_engine(FULL, None, max_depth=2, max_iterations=6)
    edited = R("print('fixed from the UI')")
    monkeypatch.setattr(ResponseEditDialog, "exec", lambda dlg: (dlg.edit.setPlainText(edited), 1)[1])
    try:
        with qtbot.waitSignal(session.paused, timeout=10_000):
            session.start("Summarise the parts.", "ctx", engine=eng)
        it = sel.node
        assert isinstance(it, Iteration) and it.number == 2  # paused node selected everywhere
        assert metrics.run() is session.recorder.trajectory.runs[0]
        assert msgs.edit_button.isVisibleTo(msgs)
        msgs.edit_button.click()  # -> session.edit_response
        with qtbot.waitSignal(session.finished, timeout=20_000):
            session.resume()
        assert not msgs.edit_button.isVisibleTo(msgs)
        run = session.recorder.trajectory.runs[0]
        assert run.iterations[1].edited and run.iterations[1].code_blocks[0].stdout == "fixed from the UI\n"
        assert list(metrics.metrics.numbers) == [it.number for it in run.iterations]
        sel.select(run.iterations[1].code_blocks[0])
        shown(sel)
        assert out.text() == "fixed from the UI\n"
    finally:
        session.shutdown()
    assert link.timer is not None


def test_the_panels_play_the_roles_the_wiring_looks_for(qtbot):
    """The Protocols of ui/panels/roles.py match the real panels (a rename breaks this)."""
    from rlm_desktop.ui.panels.breakpoints import BreakpointsPanel
    from rlm_desktop.ui.panels.roles import NodePanel, NodePicker, ResponseEditor, RunPanel

    code, out, msgs, vars_, metrics = CodeView(), OutputPanel(), MessagesPanel(), VariablesPanel(), MetricsPanel()
    bps = BreakpointsPanel()
    for p in (code, out, msgs, vars_, metrics, bps):
        qtbot.addWidget(p)
        assert isinstance(p, NodePanel), type(p).__name__
    assert [type(p).__name__ for p in (code, out, msgs, vars_, metrics, bps) if isinstance(p, RunPanel)] == [
        "MetricsPanel"
    ]
    assert [type(p).__name__ for p in (code, out, msgs, vars_, metrics, bps) if isinstance(p, NodePicker)] == [
        "MetricsPanel"
    ]
    editors = [p for p in (code, out, msgs, vars_, metrics, bps) if isinstance(p, ResponseEditor)]
    assert editors == [msgs]
