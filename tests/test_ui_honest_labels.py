"""Honest labels while a run is live (issue 13 item 6), on the bundled demo under the debugger
(no key), driven with the debug keys: "waiting for the model…" only once the request has
been sent, "running" only while a block runs, "cancelled" for a cancelled iteration, an
``rlm_query`` child run named as one, and the last run's "Run finished" cleared."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from rlm_desktop.engine import events as ev
from rlm_desktop.trajectory.model import Iteration
from rlm_desktop.ui.timeline import STATUS_COLOURS
from rlm_desktop.ui.tree_model import status


@pytest.fixture
def window(window, qtbot):
    window.activateWindow()
    qtbot.waitExposed(window)
    window.pauses = []
    window.session.paused.connect(window.pauses.append)
    return window


def key(qtbot, w, k, mod=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(QApplication.focusWidget() or w, k, mod)


def wait_pause(qtbot, w, n):
    qtbot.waitUntil(lambda: len(w.pauses) > n and w.session.controller.is_paused, timeout=15000)
    return w.pauses[-1].event


def step_until(qtbot, w, pred, k=Qt.Key.Key_F11, limit=80):
    """Press ``k`` (Step Into) until the paused event satisfies ``pred``."""
    for _ in range(limit):
        e = w.pauses[-1].event if w.pauses else None
        if e is not None and w.session.controller.is_paused and pred(e):
            return e
        n = len(w.pauses)
        key(qtbot, w, k)
        wait_pause(qtbot, w, n)
    raise AssertionError("never paused where expected")


def start_demo(qtbot, w):
    key(qtbot, w, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    wait_pause(qtbot, w, 0)


def messages_response(w):
    return [c.item.text for c in w.panels["messages"].cards if c.item.role == "response"]


def test_waiting_and_running_only_when_true(qtbot, window):
    w = window
    start_demo(qtbot, w)
    step_until(qtbot, w, lambda e: isinstance(e, ev.IterationStarted) and e.depth == 0)
    it = w.selection.node
    assert isinstance(it, Iteration) and it.running
    assert messages_response(w) == ["(the request has not been sent to the model yet)"]
    step_until(qtbot, w, lambda e: isinstance(e, ev.LMRequest))
    assert messages_response(w) == ["(paused before the request is sent: Continue or Step to send it)"]
    assert "waiting" not in " ".join(messages_response(w))
    # a block the debugger holds before it starts is not "running"
    step_until(qtbot, w, lambda e: isinstance(e, ev.CodeBlockStarted))
    out = w.panels["output"]
    assert out.status.text() == "not started: paused before it runs"
    assert "running" not in out.text()
    assert "running" not in window.panels["variables"].header.text()
    assert "not started" in window.panels["variables"].header.text()
    # once the run goes on, the block is really running or done; the iteration's response is there
    step_until(qtbot, w, lambda e: isinstance(e, ev.CodeBlockFinished))
    assert "running" not in out.status.text()
    key(qtbot, w, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: not w.session.running, timeout=30000)


def test_waiting_for_the_model_once_sent(qtbot):
    from rlm_desktop.ui.panels.messages import MessagesPanel

    p = MessagesPanel()
    qtbot.addWidget(p)
    it = Iteration(number=1, running=True, prompt=[{"role": "user", "content": "q"}])
    p.show_node(it)
    assert messages_response_panel(p) == ["(waiting for the model…)"]
    p.set_paused_at(it, "LMRequest")
    assert messages_response_panel(p) == ["(paused before the request is sent: Continue or Step to send it)"]
    p.set_paused_at(None, None)
    assert messages_response_panel(p) == ["(waiting for the model…)"]


def messages_response_panel(p):
    return [c.item.text for c in p.cards if c.item.role == "response"]


def test_child_run_is_an_rlm_query_and_a_cancelled_turn_is_cancelled(qtbot, window):
    w = window
    start_demo(qtbot, w)
    # into iteration 5's rlm_query: the call is a child run from its start on
    e = step_until(qtbot, w, lambda e: isinstance(e, ev.SubCallStarted) and e.call_kind == "rlm")
    call = w.selection.node
    assert call.running
    label = w.tree.model.index_of(call).data()
    assert label.startswith(f"rlm_query {e.call_index + 1} (child run)"), label
    assert "child RLM run" in w.panels["messages"].header.text()
    titles = [c.item.title for c in w.panels["messages"].cards if c.item.role == "response"]
    assert titles == ["response · not sent yet: paused before the call"]  # not "running…" yet
    step_until(qtbot, w, lambda e: isinstance(e, ev.IterationStarted) and e.depth == 1)
    child = call.child
    assert w.tree.model.index_of(child).data().startswith("Child run (rlm_query) · depth 1")
    root_it = call.parent.parent
    # Stop (Shift+F5) in the middle of the turn: it is cancelled, not a green "done"
    key(qtbot, w, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: not w.session.running, timeout=30000)
    w.refresh_live()
    assert status(root_it) == "cancelled"
    idx = w.tree.model.index_of(root_it)
    assert idx.siblingAtColumn(2).data() == "cancelled"
    assert STATUS_COLOURS["cancelled"] != STATUS_COLOURS["done"]
    w.tree.view.setFocus()
    w.tree.view.setCurrentIndex(idx)  # the root run's turn: the timeline shows the root run
    row = w.timeline.model.run.iterations.index(root_it)
    assert w.timeline.model.index(row, 0).data(Qt.ItemDataRole.ToolTipRole).startswith("Iteration 5: cancelled")
    assert w.status.state_label.text() == "Cancelled"


def test_run_finished_is_cleared_when_a_new_run_starts(qtbot, window):
    w = window
    start_demo(qtbot, w)
    key(qtbot, w, Qt.Key.Key_F5)
    qtbot.waitUntil(lambda: not w.session.running, timeout=30000)
    assert w.status.currentMessage().startswith("Run finished — answer:")
    start_demo(qtbot, w)
    assert "Run finished" not in w.status.currentMessage()
    key(qtbot, w, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: not w.session.running, timeout=30000)
