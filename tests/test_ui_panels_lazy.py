"""Panels on a lazily opened big file: placeholders say "loading", loaded iterations show."""

from __future__ import annotations

from test_ui_panels_data import sample_records, to_jsonl

from rlm_desktop.trajectory.lazy import LazyTrajectory, is_placeholder
from rlm_desktop.ui.panels.code_view import CodeView
from rlm_desktop.ui.panels.messages import MessagesPanel
from rlm_desktop.ui.panels.metrics import MetricsPanel
from rlm_desktop.ui.panels.output import OutputPanel
from rlm_desktop.ui.panels.variables import VariablesPanel


def test_placeholders_show_loading_then_content(qtbot, tmp_path):
    path = tmp_path / "big.jsonl"
    path.write_bytes(to_jsonl(sample_records()))
    lt = LazyTrajectory(str(path))
    try:
        lt.index_all()
        run = lt.run(0)
        it = run.iterations[1]
        assert is_placeholder(it)
        code, out, msgs, vars_, metrics = CodeView(), OutputPanel(), MessagesPanel(), VariablesPanel(), MetricsPanel()
        for p in (code, out, msgs, vars_, metrics):
            qtbot.addWidget(p)
            p.show_node(it)
        assert code.placeholder.text() == "Iteration 2: loading…"
        assert out.header.text() == "Iteration 2: loading…"
        assert msgs.header.text() == "Iteration 2: loading…" and msgs.cards == []
        assert vars_.header.text() == "Iteration 2: loading…"
        assert "3 not loaded yet" in metrics.summary.text()
        loaded = lt.load_iteration(0, 1)
        assert run.iterations[1] is loaded and not is_placeholder(loaded)
        for p in (code, out, msgs, vars_):
            p.show_node(loaded)
        metrics.refresh()
        assert code.editor.toPlainText().startswith("v = rlm_query(")
        assert msgs.cards[-2].item.title == "response"
        assert vars_.shown_block() is loaded.code_blocks[0]
        assert "2 not loaded yet" in metrics.summary.text()
    finally:
        lt.close()
