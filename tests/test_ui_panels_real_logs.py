"""Every panel on REAL upstream logs (rlms 0.1.3 driven by the mock LM server)."""

from __future__ import annotations

from pathlib import Path

import pytest
import test_ui_panels_data  # noqa: F401  (Qt crash guard)

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, SubCall
from rlm_desktop.trajectory.reader import read_file
from rlm_desktop.ui.panels.code_view import CodeView
from rlm_desktop.ui.panels.messages import MessagesPanel
from rlm_desktop.ui.panels.metrics import MetricsPanel
from rlm_desktop.ui.panels.output import OutputPanel
from rlm_desktop.ui.panels.variables import VariablesPanel
from tests.support.rlms_scenarios import shared_logs


@pytest.fixture(scope="session")
def logs() -> dict[str, Path]:
    return shared_logs()


@pytest.fixture
def panels(qtbot):
    ps = {
        "code": CodeView(),
        "output": OutputPanel(),
        "messages": MessagesPanel(),
        "variables": VariablesPanel(),
        "metrics": MetricsPanel(),
    }
    for p in ps.values():
        qtbot.addWidget(p)
        p.resize(500, 400)
        p.show()
    return ps


def test_every_node_of_every_log_in_every_panel(logs, panels):
    shown = 0
    for name, path in logs.items():
        traj = read_file(str(path))
        assert traj.runs, name
        for node in traj.walk():
            for p in panels.values():
                p.show_node(node)
            shown += 1
            if isinstance(node, CodeBlock):
                assert panels["code"].editor.toPlainText() == node.code.replace("\x00", "\u2400")
                assert panels["variables"].shown_block() is node
            if isinstance(node, Iteration):
                msgs = panels["messages"]
                assert len(msgs.items()) == len(node.prompt) + 1 + (1 if node.original_response else 0) + (
                    1 if node.final_answer is not None else 0
                )
                assert msgs.items()[len(node.prompt)].role == "response"
                if node.final_answer is not None:
                    assert msgs.items()[-1].role == "final" and msgs.items()[-1].text == node.final_answer
            if isinstance(node, SubCall):
                assert panels["messages"].items()[-1 if not node.error else -2].text == node.response
    assert shown > 50


def test_basic_stderr_and_final_answer(logs, panels):
    run = read_file(str(logs["basic"])).runs[0]
    err_block = next(b for it in run.iterations for b in it.code_blocks if b.stderr)
    panels["output"].show_node(err_block)
    assert "ZeroDivisionError: division by zero" in panels["output"].text()
    panels["output"].show_node(run)
    assert panels["output"].answer.toPlainText() == "The answer is 135"
    panels["code"].show_node(run.iterations[1])
    assert panels["code"].tabs.count() == 2


def test_depth3_metrics_per_depth(logs, panels):
    run = read_file(str(logs["depth3"])).runs[0]
    m = panels["metrics"]
    m.show_run(run)
    calls = dict(zip(m.metrics.depths, m.metrics.depth_calls, strict=True))
    assert calls == {0: 3, 1: 4, 2: 2, 3: 1}
    assert "max depth 3" in m.summary.text()
    assert sum(m.metrics.sub_tokens) > 0


def test_exotic_values_in_variables_and_output(logs, panels):
    run = read_file(str(logs["exotic"])).runs[0]
    v = panels["variables"]
    seen_values = []
    for it in run.iterations:
        for b in it.code_blocks:
            v.show_node(b)
            for r in range(v.proxy.rowCount()):
                seen_values.append(v.proxy.index(r, 2).data())
    joined = "\n".join(seen_values)
    assert "NaN" in joined and "Infinity" in joined
    panels["output"].show_node(run)
    assert "🚀" in panels["output"].answer.toPlainText()


def test_multi_completion_and_incomplete_runs(logs, panels):
    traj = read_file(str(logs["multi_completion"]))
    assert len(traj.runs) == 3
    for run in traj.runs:
        panels["metrics"].show_run(run)
        assert list(panels["metrics"].metrics.numbers) == [it.number for it in run.iterations]
    aborted = read_file(str(logs["aborted"])).runs[0]
    panels["output"].show_node(aborted)
    assert panels["output"].status.text() == "incomplete"
    assert isinstance(aborted, Run)
