"""The bundled demo (resources/demo): made by our engine; replaying it reproduces answer and tree."""

from __future__ import annotations

from rlm_desktop.engine.demo import load_demo
from rlm_desktop.engine.rlm import RLMEngine
from rlm_desktop.trajectory.model import RunStatus
from rlm_desktop.trajectory.reader import read_file
from tests.test_engine_fakes import env_choice
from tests.test_parity_rlms import differences, tree


def test_demo_file_shows_every_feature():
    demo = load_demo(environment=env_choice())
    traj = read_file(str(demo.trajectory_path))
    assert not traj.bad_lines and traj.era == "rlm_desktop"
    run = traj.runs[0]
    assert run.status == RunStatus.FINISHED and run.final_answer == demo.expected_answer
    assert run.metadata["max_depth"] == 2
    blocks = [b for it in run.iterations for b in it.code_blocks]
    assert any("llm_query_batched" in b.code and len(b.sub_calls) == 3 for b in blocks)
    assert any(b.stderr and "ValueError" in b.stderr for b in blocks)  # an error ...
    assert run.iterations[-1].final_answer is not None  # ... recovered from: a final answer
    children = [c.child for b in blocks for c in b.sub_calls if c.child is not None]
    assert len(children) == 1 and children[0].depth == 1
    leaf = [c for it in children[0].iterations for b in it.code_blocks for c in b.sub_calls]
    assert len(leaf) == 1 and leaf[0].child is None  # the child's own llm_query
    assert run.total_usage().cost and run.total_usage().calls == 12
    assert "demo-model" == run.model


def test_replaying_the_demo_reproduces_answer_and_tree(tmp_path):
    demo = load_demo(environment=env_choice(), log_dir=str(tmp_path))
    result = RLMEngine(demo.config).completion(demo.prompt, demo.context)
    assert result.status == RunStatus.FINISHED, result.error
    assert result.response == demo.expected_answer
    recorded = read_file(str(demo.trajectory_path)).runs[0]
    replayed = read_file(result.log_path).runs[0]
    assert differences(tree(recorded), tree(replayed)) == []
    assert result.usage.calls == 12
