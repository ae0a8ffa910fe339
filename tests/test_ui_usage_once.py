"""The run tree and the status bar count every LM call of an upstream log once.

Upstream logs repeat the usage of an ``llm_query`` made inside a child run in the
child's summary on the spawning call; the model's plain roll-ups would count it
twice. The UI goes through ``trajectory.summary`` instead.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rlm_desktop.trajectory.reader import read_file
from rlm_desktop.trajectory.summary import call_usage, trajectory_usage
from tests.support.rlms_scenarios import shared_index, shared_logs


@pytest.fixture(scope="module")
def depth3() -> Path:
    return shared_logs()["depth3"]


def _cell(model, node) -> str:
    return model.data(model.index_of(node, 3))


def test_tree_tokens_match_what_the_mock_answered(qapp, depth3) -> None:
    from rlm_desktop.ui.tree_model import RunTreeModel

    traj = read_file(str(depth3))
    run = traj.runs[0]
    model = RunTreeModel()
    model.set_trajectory(traj)
    truth = shared_index()["depth3"]["mock_usage"]
    # upstream does not log the root run's own turns, so the root row is exactly the mock's count
    assert run.own_usage().total_tokens == 0
    assert _cell(model, run) == f"{truth['input_tokens'] + truth['output_tokens']:,}"
    assert run.total_usage().total_tokens > truth["input_tokens"] + truth["output_tokens"]  # the naive sum
    call = run.iterations[0].code_blocks[0].sub_calls[0]
    assert call.child is not None
    assert _cell(model, call) == f"{call_usage(call).total_tokens:,}"
    assert _cell(model, call.child) == _cell(model, call)  # a child run row: what its call cost in all


def test_status_bar_totals_count_each_call_once(qtbot, window, depth3) -> None:
    window.open_files([str(depth3)])
    qtbot.waitUntil(lambda: window.trajectory is not None and bool(window.trajectory.runs), timeout=10000)
    window.update_totals()
    want = trajectory_usage(read_file(str(depth3))).total_tokens
    assert window.status.tokens_label.text() == f"{want:,} tokens"
