"""Output panel: stdout/stderr distinct, final answer, huge outputs capped, live refresh."""

from __future__ import annotations

import time

from PySide6.QtGui import QTextCursor
from test_ui_panels_data import HOSTILE, sample_trajectory

from rlm_desktop.trajectory.model import CodeBlock, RunStatus
from rlm_desktop.ui.panels.output import OutputPanel


def _panel(qtbot, **kw):
    p = OutputPanel(**kw)
    qtbot.addWidget(p)
    p.resize(600, 400)
    p.show()
    return p


def _color_at(panel, offset):
    cur = QTextCursor(panel.view.edit.document())
    cur.setPosition(offset + 1)
    return cur.charFormat().foreground().color()


def test_block_stdout_and_stderr_distinct(qtbot):
    run = sample_trajectory().runs[0]
    p = _panel(qtbot)
    b = run.iterations[0].code_blocks[0]
    p.show_node(b)
    text = p.text()
    assert text == "the context string t\nZeroDivisionError: division by zero\n"
    err = _color_at(p, text.index("ZeroDivision"))
    out = _color_at(p, 0)
    assert err != out and err.red() > 150 and err.green() < 100
    assert "stderr" in p.status.text()
    assert p.answer_box.isHidden()


def test_iteration_lists_every_block_and_final_answer(qtbot):
    run = sample_trajectory().runs[0]
    p = _panel(qtbot)
    p.show_node(run.iterations[0])
    text = p.text()
    assert "── block 1 · 2 ms ──" in text and "── block 2 · 400 ms ──" in text
    assert text.index("ZeroDivisionError") < text.index("summary of")
    assert HOSTILE in text  # shown literally, not interpreted
    p.show_node(run.iterations[2])
    assert not p.answer_box.isHidden()
    assert p.answer.toPlainText() == "child says 7!"
    p.show_node(run.iterations[0].code_blocks[1].sub_calls[0])  # sub-call -> the calling block
    assert p.text().startswith("summary of")


def test_run_status_and_error(qtbot):
    run = sample_trajectory().runs[0]
    p = _panel(qtbot)
    p.show_node(run)
    assert p.status.text() == "finished"
    assert p.answer.toPlainText() == "child says 7!"
    run.status = RunStatus.FAILED
    run.error = "boom <b>x</b>"
    p.refresh()
    assert "Error: boom <b>x</b>" in p.text()
    p.show_node(None)
    assert p.text() == "" and p.answer_box.isHidden()


def test_huge_output_capped_then_show_all_fast(qtbot):
    b = CodeBlock(index=0, code="print('x' * 10**6)", stdout="x" * 1_000_000 + "\n", stderr="E" * 50_000)
    p = _panel(qtbot, cap=100_000)
    t = time.perf_counter()
    p.show_node(b)
    qtbot.wait(1)
    assert time.perf_counter() - t < 1.0
    assert len(p.text()) < 110_000
    assert p.view.truncated and not p.view.bar.isHidden()
    assert "1,050,002" in p.view.bar_label.text()
    t = time.perf_counter()
    p.view.show_all_button.click()
    qtbot.wait(1)
    assert time.perf_counter() - t < 3.0
    assert len(p.text()) == 1_050_002
    assert p.view.bar.isHidden()


def test_hostile_text_and_lone_surrogates_plain(qtbot):
    b = CodeBlock(index=0, stdout=HOSTILE + "\ud800\x00end", stderr="\n<i>err</i>\udfff")
    p = _panel(qtbot)
    p.show_node(b)
    text = p.text()
    assert HOSTILE + "\ufffd\u2400end\n" in text
    assert "<i>err</i>\ufffd" in text


def test_live_refresh_keeps_scroll_and_follows_tail(qtbot):
    b = CodeBlock(index=0, stdout="".join(f"line {i}\n" for i in range(500)), running=True)
    p = _panel(qtbot)
    p.show_node(b)
    assert p.status.text() == "running…"
    bar = p.view.edit.verticalScrollBar()
    bar.setValue(100)
    b.stdout += "more\n"
    p.refresh()
    assert bar.value() == 100
    bar.setValue(bar.maximum())
    b.stdout += "".join(f"tail {i}\n" for i in range(50))
    p.refresh()
    assert bar.value() == bar.maximum()
    assert p.text().endswith("tail 49\n")
    b.running = False
    b.execution_time = 2.5
    p.refresh()
    assert p.status.text() == "2.50 s"
