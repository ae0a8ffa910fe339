"""Replay-then-fork on logs written by our engine (scripted model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlm_desktop.debugger.fork import ForkClient, ForkPlan, fork_engine, order_key, run_fork
from rlm_desktop.engine.clients import ScriptedClient
from rlm_desktop.engine.config import EngineConfig
from rlm_desktop.trajectory.model import RunStatus
from rlm_desktop.trajectory.reader import read_file
from tests.test_engine_fakes import env_choice, fake_factory
from tests.test_engine_loop import FULL, R, make_engine

PROMPT, CONTEXT = "Summarise the parts.", "some context text"


@pytest.fixture
def recording(tmp_path):
    eng, _ = make_engine(FULL, tmp_path / "orig", max_depth=2, max_iterations=6)
    res = eng.completion(PROMPT, CONTEXT)
    assert res.status == RunStatus.FINISHED
    return res.log_path


def cfg(tmp_path):
    return EngineConfig(environment=env_choice(), log_dir=str(tmp_path / "fork"))


def records(path):
    return [json.loads(x) for x in Path(path).read_text(encoding="utf-8").splitlines()]


def test_order_key_is_execution_order():
    seq = ["r0/i0", "r0/i0/b1/c0", "r0/i0/b1/c2", "r0/i2", "r0/i2/b0/c0/r/i0", "r0/i2/b0/c0/r/i0/b0/c0",
           "r0/i2/b0/c0/r/i1", "r0/i3"]
    assert sorted(seq, key=order_key) == seq


def test_fork_live_at_a_root_turn_rebuilds_the_repl_state(recording, tmp_path):
    live = ScriptedClient({"r0/i2": R("answer['content'] = 'forked: ' + ', '.join(parts)\nanswer['ready'] = True")},
                          model="live-model")
    fork = fork_engine(ForkPlan(recording, "r0/i2", PROMPT, CONTEXT, live=live), cfg(tmp_path))
    res = fork.run()
    assert res.status == RunStatus.FINISHED, res.error
    # `parts` came from iteration 1's batched llm_query: the replayed code really ran
    assert res.response == "forked: ONE, TWO, THREE"
    # (the batched calls may be served in any order)
    assert sorted(fork.client.replayed) == ["r0/i0", "r0/i0/b1/c0", "r0/i0/b1/c1", "r0/i0/b1/c2", "r0/i1"]
    assert fork.client.live_calls == ["r0/i2"]
    assert res.log_path != recording and res.log_path.startswith(str(tmp_path / "fork"))
    new, old = records(res.log_path), records(recording)
    assert len(new) == 4 and new[0]["root_model"] == "live-model"
    assert new[0]["backend_kwargs"]["fork_at"] == "r0/i2"
    for a, b in zip(new[1:3], old[1:3], strict=True):
        assert a["response"] == b["response"]
        assert [x["result"]["stdout"] for x in a["code_blocks"]] == [x["result"]["stdout"] for x in b["code_blocks"]]


def test_fork_with_an_edited_response_is_marked_and_needs_no_live_backend(recording, tmp_path):
    edit = R("answer['content'] = 'EDIT ' + sub\nanswer['ready'] = True")
    res = run_fork(ForkPlan(recording, "r0/i3", PROMPT, CONTEXT, edited_response=edit), cfg(tmp_path))
    assert res.status == RunStatus.FINISHED, res.error
    assert res.response == "EDIT words=3"  # the child run of turn 3 was replayed too
    last = records(res.log_path)[-1]
    assert last["rlm_desktop"]["edited"] is True
    assert "sub + ' / '" in last["rlm_desktop"]["original_response"]
    assert read_file(res.log_path).runs[0].iterations[-1].edited


def test_edit_without_live_backend_fails_cleanly_after_the_fork(recording, tmp_path):
    edit = R("print('no answer yet')")
    res = run_fork(ForkPlan(recording, "r0/i1", PROMPT, CONTEXT, edited_response=edit), cfg(tmp_path))
    assert res.status == RunStatus.FAILED and "no live backend" in res.error


def test_fork_inside_a_child_run(recording, tmp_path):
    live = ScriptedClient({
        "r0/i2/b0/c0/r/i1": R("answer['content'] = 'child-forked'\nanswer['ready'] = True"),
        "r0/i3": R("answer['content'] = sub\nanswer['ready'] = True"),
    })
    fork = fork_engine(ForkPlan(recording, "r0/i2/b0/c0/r/i1", PROMPT, CONTEXT, live=live), cfg(tmp_path))
    res = fork.run()
    assert res.status == RunStatus.FINISHED, res.error
    assert res.response == "child-forked"
    assert "r0/i2/b0/c0/r/i0/b0/c0" in fork.client.replayed
    assert fork.client.live_calls == ["r0/i2/b0/c0/r/i1", "r0/i3"]


def test_a_recording_that_does_not_reproduce_fails_with_the_divergence(recording, tmp_path):
    live = ScriptedClient({"*": "whatever"})
    res = run_fork(ForkPlan(recording, "r0/i3", PROMPT, "another context", live=live), cfg(tmp_path))
    assert res.status == RunStatus.FAILED and "replay diverged" in res.error


def test_bad_plans_are_refused(recording, tmp_path):
    with pytest.raises(ValueError, match="not a model turn"):
        fork_engine(ForkPlan(recording, "r0/i1/b0", PROMPT, CONTEXT, live=ScriptedClient("x")))
    with pytest.raises(ValueError, match="not a model turn"):
        fork_engine(ForkPlan(recording, "r0/i9", PROMPT, CONTEXT, live=ScriptedClient("x")))
    with pytest.raises(ValueError, match="live backend"):
        fork_engine(ForkPlan(recording, "r0/i1", PROMPT, CONTEXT))
    assert isinstance(fork_engine(ForkPlan(recording, "r0/i1", PROMPT, CONTEXT, live=ScriptedClient("x"))).client,
                      ForkClient)


def test_fork_live_on_an_openai_compatible_server(recording, tmp_path):
    from rlm_desktop.engine.config import BackendConfig
    from tests.support.mock_openai import MockLMServer

    answer = R("answer['content'] = 'served: ' + parts[0]\nanswer['ready'] = True")
    with MockLMServer(answer) as server:
        live = BackendConfig(kind="openai", model="mock-live", base_url=server.base_url, api_key="sk-test-123456")
        res = run_fork(ForkPlan(recording, "r0/i1", PROMPT, CONTEXT, live=live), cfg(tmp_path))
        assert res.status == RunStatus.FINISHED, res.error
        assert res.response == "served: ONE"
        assert len(server.requests) == 1 and server.requests[0].model == "mock-live"
    text = Path(res.log_path).read_text(encoding="utf-8")
    assert "sk-test-123456" not in text and '"root_model": "mock-live"' in text


def test_fork_the_bundled_demo_inside_its_child_run(tmp_path):
    import dataclasses

    from rlm_desktop.debugger.fork import demo_plan

    edit = R("answer['content'] = 'edited child'\nanswer['ready'] = True")
    plan, config = demo_plan("r0/i4/b0/c0/r/i1", edited_response=edit,
                             live=ScriptedClient({"r0/i5": R("answer['content'] = 'fork of the demo'\n"
                                                            "answer['ready'] = True")}))
    # replay needs the REPL the demo was recorded with (its outputs are in the prompts)
    recorded_env = read_file(plan.recording).runs[0].metadata.get("environment_type")
    env = env_choice() if recorded_env == "subprocess" else fake_factory()
    config = dataclasses.replace(config, environment=env, log_dir=str(tmp_path))
    fork = fork_engine(plan, config)
    res = fork.run()
    assert res.status == RunStatus.FINISHED, res.error
    assert res.response == "fork of the demo"
    assert fork.client.live_calls == ["r0/i5"]
    assert "r0/i4/b0/c0/r/i1" in fork.client.replayed  # the edited turn itself was replayed
    child = read_file(res.log_path).find("r0/i4/b0/c0/r/i1")
    assert child is not None and child.edited and "edited child" in child.response
