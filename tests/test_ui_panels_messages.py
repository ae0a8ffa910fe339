"""Messages panel: prompt history + response, elision, sub-call prompts, edited marker, live growth."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from test_ui_panels_data import HOSTILE, sample_trajectory

from rlm_desktop.trajectory.model import Iteration, SubCall
from rlm_desktop.ui.panels.messages import MessagesPanel


def _panel(qtbot, **kw):
    p = MessagesPanel(**kw)
    qtbot.addWidget(p)
    p.resize(600, 500)
    p.show()
    return p


def test_iteration_history_and_response(qtbot):
    run = sample_trajectory().runs[0]
    p = _panel(qtbot)
    p.show_node(run.iterations[0])
    roles = [c.item.role for c in p.cards]
    assert roles == ["system", "user", "user", "response"]
    assert p.cards[2].body.text() == "Turn 1/5: " + HOSTILE  # literal, plain text
    assert p.cards[2].body.textFormat() == Qt.TextFormat.PlainText
    assert p.cards[-1].item.text == run.iterations[0].response
    assert "3 prompt messages" in p.header.text()
    # a code block shows its iteration's messages
    p.show_node(run.iterations[0].code_blocks[0])
    assert [c.item.role for c in p.cards] == roles


def test_long_text_elided_and_expandable(qtbot):
    run = sample_trajectory().runs[0]
    p = _panel(qtbot)
    p.show_node(run.iterations[0])
    system = p.cards[0]
    full = run.iterations[0].prompt[0]["content"]
    assert system.elided and system.toggle.isVisibleTo(p)
    assert len(system.shown_text()) < len(full) and system.shown_text().endswith("…")
    qtbot.mouseClick(system.toggle, Qt.MouseButton.LeftButton)
    assert system.expanded and system.shown_text() == full
    assert system.toggle.text() == "Collapse"
    qtbot.mouseClick(system.toggle, Qt.MouseButton.LeftButton)
    assert not system.expanded
    short = p.cards[1]
    assert not short.elided and not short.toggle.isVisibleTo(p)


def test_huge_message_expands_into_capped_view_fast(qtbot):
    it = Iteration(number=1, prompt=[{"role": "user", "content": ("word " * 20 + "\n") * 12_000}], response="ok")
    p = _panel(qtbot)
    t = time.perf_counter()
    p.show_node(it)
    card = p.cards[0]
    card.set_expanded(True)
    qtbot.wait(1)
    assert time.perf_counter() - t < 2
    assert card.big is not None and card.big.isVisible()
    assert card.big.total_chars == len(it.prompt[0]["content"])


def test_subcall_string_list_and_dict_prompts(qtbot):
    run = sample_trajectory().runs[0]
    b = run.iterations[0].code_blocks[1]
    p = _panel(qtbot)
    p.show_node(b.sub_calls[0])
    assert [(c.item.title, c.item.text) for c in p.cards] == [
        ("prompt", "Summarise: " + HOSTILE),
        ("response", "summary of " + HOSTILE),
    ]
    assert "Sub-call 1 (LM call) · mock-sub · depth 1" == p.header.text()
    p.show_node(b.sub_calls[1])
    assert [c.item.role for c in p.cards] == ["system", "user", "response"]
    call = SubCall(index=0, model="m", prompt={"a": [1, "\ud800"]}, response="r", error="Error: boom")
    p.show_node(call)
    assert '"a"' in p.cards[0].item.text and "\ufffd" in p.cards[0].item.text
    assert p.cards[-1].item.role == "error" and p.cards[-1].item.text == "Error: boom"
    child = run.iterations[1].code_blocks[0].sub_calls[0]
    p.show_node(child)
    assert "child RLM" in p.header.text()
    call.extra = {"kind": "llm", "batched": True}  # our engine records what made the call
    p.show_node(call)
    assert p.header.text().startswith("Sub-call 1 (llm_query_batched → LM call)")


def test_edited_iteration_shows_marker_and_original(qtbot):
    run = sample_trajectory().runs[0]
    p = _panel(qtbot)
    p.show_node(run.iterations[1])
    resp = [c for c in p.cards if c.item.role == "response"][0]
    assert resp.note_label.text() == "EDITED in debugger" and resp.note_label.isVisibleTo(p)
    orig = p.cards[-1]
    assert orig.item.role == "original" and orig.item.text == "```repl\nv = 'unedited'\n```"
    p.show_node(run.iterations[0])
    assert all(not c.note_label.isVisibleTo(p) for c in p.cards)


def test_many_messages_only_last_cards_built(qtbot):
    prompt = [{"role": "user" if i % 2 else "assistant", "content": f"message {i}"} for i in range(600)]
    it = Iteration(number=200, prompt=prompt, response="last")
    p = _panel(qtbot, max_cards=50)
    t = time.perf_counter()
    p.show_node(it)
    assert time.perf_counter() - t < 1.5
    assert len(p.cards) == 50 and p.first_shown == 551
    assert p.earlier.isVisibleTo(p) and p.earlier.text() == "Show 551 earlier messages"
    p.earlier.click()
    assert len(p.cards) == 601 and p.cards[0].item.text == "message 0"
    assert not p.earlier.isVisibleTo(p)


def test_live_refresh_appends_and_keeps_expanded_and_scroll(qtbot):
    run = sample_trajectory().runs[0]
    it = Iteration(number=1, prompt=list(run.iterations[2].prompt), response="", running=True)
    p = _panel(qtbot)
    p.show_node(it)
    assert p.cards[-1].item.text == "(waiting for the model…)"
    first = p.cards[0]
    first.set_expanded(True)
    qtbot.wait(10)
    bar = p.scroll_area.verticalScrollBar()
    bar.setValue(10)
    it.response = "```repl\nprint(1)\n```"
    p.refresh()
    assert p.cards[0] is first and first.expanded  # not rebuilt
    assert p.cards[-1].item.text == it.response
    assert bar.value() == 10
    n = len(p.cards)
    p.refresh()  # nothing changed: nothing rebuilt
    assert len(p.cards) == n and p.cards[0] is first


def test_edit_and_continue_through_the_debugger(qtbot, monkeypatch):
    import threading

    from rlm_desktop.debugger.breakpoints import BreakpointManager
    from rlm_desktop.debugger.controller import DebugController
    from rlm_desktop.engine.recorder import LiveRecorder
    from rlm_desktop.ui.panels.response_editor import ResponseEditDialog
    from rlm_desktop.ui.panels.wiring import node_for_event
    from tests.test_engine_loop import FULL, R, make_engine

    eng, events = make_engine(FULL, None, max_depth=2, max_iterations=6)
    bps = BreakpointManager()
    bps.add(kind="condition", condition="kind == 'LMResponse' and iteration == 2 and depth == 0")
    ctl = DebugController(breakpoints=bps)
    ctl.attach(eng)
    out = {}
    worker = threading.Thread(target=lambda: out.setdefault("r", eng.completion("Summarise the parts.", "ctx")))
    worker.start()
    try:
        qtbot.waitUntil(lambda: ctl.is_paused, timeout=10_000)
        rec = LiveRecorder()
        for e in list(events):
            rec.apply(e)
        it = node_for_event(rec.run, ctl.selected.event)
        assert isinstance(it, Iteration) and it.number == 2 and "undefined_name" in it.response
        p = _panel(qtbot)
        p.responseEdited.connect(lambda _it, text: ctl.edit_response(text))
        p.show_node(it)
        assert not p.edit_button.isVisibleTo(p)
        p.set_editable_iteration(it)
        assert p.edit_button.isVisibleTo(p)
        edited = R("print('edited in the UI <b>')")

        def fake_exec(dlg):
            assert dlg.text() == it.response
            dlg.edit.setPlainText(edited)
            return ResponseEditDialog.DialogCode.Accepted

        monkeypatch.setattr(ResponseEditDialog, "exec", fake_exec)
        got = []
        p.responseEdited.connect(lambda i, t: got.append((i, t)))
        p.edit_button.click()
        assert got == [(it, edited)]
        p.set_editable_iteration(None)
        assert not p.edit_button.isVisibleTo(p)
    finally:
        if ctl.is_paused:
            ctl.resume()
        worker.join(30)
    rec = LiveRecorder()
    for e in events:
        rec.apply(e)
    it2 = rec.trajectory.runs[0].iterations[1]
    assert it2.edited and it2.code_blocks[0].stdout == "edited in the UI <b>\n"
    p.show_node(it2)
    assert p.cards[-2].note_label.text() == "EDITED in debugger"
    assert "undefined_name" in p.cards[-1].item.text  # the original response
