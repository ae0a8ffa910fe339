"""The Run Summary header (issue 13 item 8) and pre-PyPI FINAL_VAR answers (item 12), in the
window: clicks in the tree pick the run (or child run) summarised; the answer is copyable."""

from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from rlm_desktop.engine.demo import load_demo
from rlm_desktop.trajectory.reader import read_bytes
from rlm_desktop.trajectory.run_card import question_of, run_facts
from rlm_desktop.trajectory.writer import record_from_iteration
from tests.support.opening import click_node, open_and_wait

DEMO = os.path.abspath(str(load_demo().trajectory_path))


def test_header_summarises_the_selected_run_and_child_run(qtbot, window):
    w = window
    open_and_wait(qtbot, w, DEMO)
    head = w.panels["summary"]
    assert w.docks["summary"].isVisible() and not w.docks["summary"].visibleRegion().isEmpty()
    run = w.trajectory.runs[0]
    w.tree.view.expandAll()
    click_node(qtbot, w, run.iterations[2])
    assert head.title.text() == "Run 1 · demo-model"
    assert head.status.text() == "finished"
    assert head.question.text().startswith("Question: Which product do reviewers complain about most")
    assert head.answer.toPlainText() == run.final_answer
    facts = run_facts(run)
    assert head.totals.text().startswith("6 iterations · 6 code blocks · sub-calls depth 1: 4, depth 2: 1 · ")
    assert f"{facts.tokens:,} tokens" in head.totals.text() and facts.tokens > 0
    assert f"${facts.cost:.4f}" in head.totals.text()
    # the answer is copyable: the button, and the text is selectable in the box
    QApplication.clipboard().clear()
    qtbot.mouseClick(head.copy_button, Qt.MouseButton.LeftButton)
    assert QApplication.clipboard().text() == run.final_answer
    assert head.answer.isReadOnly() and head.answer.font().pointSizeF() > head.totals.font().pointSizeF()
    # a node of the child run: the header is the child's
    call = run.iterations[4].code_blocks[0].sub_calls[0]
    click_node(qtbot, w, call.child.iterations[0])
    assert head.title.text().startswith("Run 1 › Iteration 5 › Block 1 › rlm_query 1 › Child run (depth 1)")
    assert head.question.text().startswith("Question: Reviews of Aurora X2 headphones")
    assert head.answer.toPlainText() == call.child.final_answer
    assert head.totals.text().startswith("2 iterations · 2 code blocks · sub-calls depth 2: 1 · ")


def test_header_text_is_plain(qtbot, window, tmp_path):
    meta = {"type": "metadata", "root_model": "<b>m</b>", "max_iterations": 3}
    rec = {"type": "iteration", "iteration": 1, "response": "r", "code_blocks": [], "iteration_time": 1.0,
           "prompt": [{"role": "user", "content": "Answer the following: <i>why</i>?\n\nYour context is"}],
           "final_answer": "<h1>big</h1>"}
    p = tmp_path / "html.jsonl"
    p.write_text(json.dumps(meta) + "\n" + json.dumps(rec) + "\n")
    open_and_wait(qtbot, window, str(p))
    head = window.panels["summary"]
    assert head.question.textFormat() == Qt.TextFormat.PlainText
    assert head.question.text() == "Question: <i>why</i>?"
    assert head.answer.toPlainText() == "<h1>big</h1>"
    assert head.title.text() == "Run 1 · <b>m</b>" and head.title.textFormat() == Qt.TextFormat.PlainText


META = {"type": "metadata", "root_model": "m", "max_iterations": 5}


def _pre(n, blocks=(), final=None):
    return {"type": "iteration", "iteration": n, "prompt": [], "response": "r", "final_answer": final,
            "iteration_time": 0.2,
            "code_blocks": [{"code": c, "result": {"stdout": "", "stderr": "", "locals": loc,
                                                   "execution_time": 0.1, "rlm_calls": []}}
                            for c, loc in blocks]}


def _write(tmp_path, name, lines):
    p = tmp_path / name
    p.write_text("\n".join(json.dumps(x) for x in [META, *lines]) + "\n")
    return str(p)


def test_final_var_answer_shows_the_value_from_an_earlier_turn(qtbot, window, tmp_path):
    path = _write(tmp_path, "var.jsonl", [
        _pre(1, [("summary_var = 'the summary'", {"summary_var": "the summary"})]),
        _pre(2, final=["FINAL_VAR", "summary_var"]),  # the turn that answers runs no code
    ])
    traj = read_bytes(Path(path).read_bytes())
    assert traj.era == "pre" and traj.runs[0].final_answer == "the summary"
    open_and_wait(qtbot, window, path)
    w = window
    run = w.trajectory.runs[0]
    click_node(qtbot, w, run.iterations[1])
    assert w.panels["summary"].answer.toPlainText() == "the summary"
    finals = [c.item.text for c in w.panels["messages"].cards if c.item.role == "final"]
    assert finals == ["the summary"]
    assert w.panels["output"].answer.toPlainText() == "the summary"


def test_final_var_without_its_value_says_so(qtbot, window, tmp_path):
    path = _write(tmp_path, "novar.jsonl", [_pre(1, [("x = 1", {"x": 1})]), _pre(2, final=["FINAL_VAR", "result"])])
    open_and_wait(qtbot, window, path)
    w = window
    run = w.trajectory.runs[0]
    click_node(qtbot, w, run.iterations[1])
    text = "variable `result` (value not in the log)"
    assert w.panels["summary"].answer.toPlainText() == text
    assert [c.item.text for c in w.panels["messages"].cards if c.item.role == "final"] == [text]
    assert w.panels["summary"].answer.toPlainText() != "result"
    # written back as it was read: the pair, not our sentence
    assert record_from_iteration(run.iterations[1])["final_answer"] == ["FINAL_VAR", "result"]


def test_question_of_a_child_run_is_its_rlm_query_prompt():
    traj = read_bytes(Path(DEMO).read_bytes())
    child = traj.runs[0].iterations[4].code_blocks[0].sub_calls[0].child
    assert question_of(child).startswith("Reviews of Aurora X2 headphones")


def test_a_paused_run_is_summarised_as_paused_not_running(qtbot, window):
    """The demo starts paused: the header says so, as the Run Tree and the REPL Output panel
    do, and says "running" again only once F5 lets the run go on (then "finished")."""
    w = window
    s = w.session
    head = w.panels["summary"]
    w.debug.demo.trigger()  # paused at the start
    qtbot.waitUntil(lambda: s.running and s.state.state == "paused", timeout=15000)
    qtbot.waitUntil(lambda: head.status.text() == "paused", timeout=5000)
    run = s.recorder.trajectory.runs[0]
    assert w.tree.model.index_of(run, 2).data() == "paused"
    assert head.answer.placeholderText() == "(no final answer yet: the run is paused)"
    output = w.panels["output"]  # the REPL Output panel's run line says the same
    qtbot.waitUntil(lambda: output.status.text() == "paused", timeout=5000)
    qtbot.keyClick(w, Qt.Key.Key_F5)  # continue: nothing else stops the demo
    qtbot.waitUntil(lambda: not s.running, timeout=30000)
    click_node(qtbot, w, w.trajectory.runs[0])
    qtbot.waitUntil(lambda: head.status.text() == "finished", timeout=5000)
    assert output.status.text() == "finished"


def test_a_live_run_paused_before_its_first_iteration_shows_the_question_it_was_given(qtbot, window):
    """The demo starts paused at its RunStarted: no iteration (so no LM request) yet, but the
    question is known from the start and shown, not "(not in the log)"."""
    w = window
    s = w.session
    head = w.panels["summary"]
    prompt = load_demo().prompt
    w.debug.demo.trigger()  # paused at the start
    qtbot.waitUntil(lambda: s.running and s.state.state == "paused", timeout=15000)
    run = s.recorder.trajectory.runs[0]
    assert run.iterations == []
    qtbot.waitUntil(lambda: head.run() is run and head.status.text() == "paused", timeout=5000)
    assert head.question.full_text() == "Question: " + " ".join(prompt.split())[:1990]
    assert "not in the log" not in head.question.text()
    qtbot.keyClick(w, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)  # Stop
    qtbot.waitUntil(lambda: not s.running, timeout=15000)


def test_the_question_is_not_in_the_log_only_where_nothing_is_known():
    """A run started with no task (a context-only completion) and no iteration: nothing known."""
    from rlm_desktop.engine import events as ev
    from rlm_desktop.engine.recorder import LiveRecorder

    rec = LiveRecorder()
    base = {"parent_id": None, "depth": 0, "iteration": 0, "metadata": {"type": "metadata"}}
    rec.apply(ev.RunStarted(run_id="asked", question="How many parts?", prompt_preview="ctx", **base))
    rec.apply(ev.RunStarted(run_id="context-only", prompt_preview="ctx", **base))
    assert question_of(rec.run("asked")) == "How many parts?"
    assert question_of(rec.run("context-only")) is None  # the preview is context, not a question
