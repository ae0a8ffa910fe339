"""Failures end a run cleanly: LM errors, REPL crashes, limits, cancel; keys never reach the log."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from rlm_desktop.engine import events as ev
from rlm_desktop.engine.clients import LMCallError, ScriptedClient
from rlm_desktop.engine.config import BackendConfig, EngineConfig
from rlm_desktop.engine.redaction import MASK, Redactor
from rlm_desktop.engine.rlm import RLMEngine
from rlm_desktop.trajectory.model import RunStatus
from rlm_desktop.trajectory.reader import read_file
from tests.test_engine_fakes import env_choice, fake_factory
from tests.test_engine_loop import R, make_engine

HANG = "import time\nwhile not (globals().get('_cancel') and _cancel.is_set()):\n    time.sleep(0.01)"


def records(path):
    return [json.loads(x) for x in Path(path).read_text(encoding="ascii").splitlines()]


def test_root_lm_failure_fails_the_run_and_keeps_the_log(tmp_path):
    def script(model, msgs, site):
        if site.position == 1:
            raise LMCallError("HTTP 500 from the provider")
        return R("print('first turn ok')")

    eng, events = make_engine(script, tmp_path)
    result = eng.completion("q", "ctx")
    assert result.status == RunStatus.FAILED
    assert "model call failed" in result.error and "HTTP 500" in result.error
    assert events[-1].kind == "RunFailed" and events[-1].error == result.error
    recs = records(result.log_path)
    assert recs[1]["code_blocks"][0]["result"]["stdout"] == "first turn ok\n"
    assert recs[2]["iteration"] == 2 and recs[2]["rlm_desktop"]["status"] == "failed"
    assert "HTTP 500" in recs[2]["rlm_desktop"]["error"]
    run = read_file(result.log_path).runs[0]
    assert run.status == RunStatus.FAILED and "HTTP 500" in run.error


def test_sub_call_failure_is_an_error_string_not_a_crash():
    def script(model, msgs, site):
        if site.kind == "sub":
            raise LMCallError("rate limited")
        return R("r = llm_query('x')\nanswer['content'] = r\nanswer['ready'] = True")

    eng, _ = make_engine(script)
    result = eng.completion("q", "ctx")
    assert result.ok and result.response.startswith("Error: LM query failed - rate limited")
    call = result.run.iterations[0].code_blocks[0].sub_calls[0]
    assert call.error == "rate limited"


def test_repl_crash_fails_the_run(tmp_path):
    script = {"r0/i0": R("print('fine')"), "r0/i1": R("CRASH_NOW()")}
    eng, events = make_engine(script, tmp_path, environment=fake_factory(crash_on="CRASH_NOW"))
    result = eng.completion("q", "ctx")
    assert result.status == RunStatus.FAILED and "crashed" in result.error
    recs = records(result.log_path)
    assert (
        recs[-1]["rlm_desktop"]["status"] == "failed" and recs[-1]["code_blocks"][0]["code"] == "CRASH_NOW()"
    )


def test_repl_that_cannot_start_fails_cleanly(tmp_path):
    def broken(context, handler, **kw):
        raise OSError("no such interpreter")

    eng, events = make_engine({"*": "x"}, tmp_path, environment=broken)
    result = eng.completion("q", "ctx")
    assert result.status == RunStatus.FAILED and "Could not start the REPL" in result.error
    assert [e.kind for e in events] == ["RunStarted", "IterationStarted", "IterationFinished", "RunFailed"]
    assert records(result.log_path)[-1]["rlm_desktop"]["status"] == "failed"


@pytest.mark.parametrize(
    ("limits", "words"),
    [
        ({"max_errors": 2}, "max_errors 2"),
        ({"max_tokens": 50}, "max_tokens 50"),
        ({"max_timeout": 0.05}, "max_timeout"),
        ({"max_budget": 0.001}, "max_budget"),
    ],
)
def test_limits_fail_the_run_with_a_readable_message(tmp_path, limits, words):
    def script(model, msgs, site):
        time.sleep(0.03)
        return R("x = 1/0")

    config = EngineConfig(
        backend=BackendConfig(kind="scripted", model="m"),
        environment=env_choice(),
        log_dir=str(tmp_path),
        max_iterations=20,
        **limits,
    )
    client = ScriptedClient(script, model="m", cost_per_token=0.0001)
    result = RLMEngine(config, client=client).completion("q", "ctx")
    assert result.status == RunStatus.FAILED
    assert words in result.error
    assert result.iterations < 20
    assert records(result.log_path)[-1]["rlm_desktop"]["error"] == result.error


def test_cancel_from_another_thread_interrupts_a_running_block(tmp_path):
    script = {"r0/i0": R(HANG)}
    eng, events = make_engine(script, tmp_path)
    started = threading.Event()
    eng.add_observer(lambda e: started.set() if e.kind == "CodeBlockStarted" else None)
    threading.Timer(0.0, lambda: (started.wait(5), eng.cancel())).start()
    t0 = time.monotonic()
    result = eng.completion("q", "ctx")
    assert time.monotonic() - t0 < 5
    assert result.status == RunStatus.CANCELLED
    assert events[-1].kind == "RunCancelled"
    assert records(result.log_path)[-1]["rlm_desktop"]["status"] == "cancelled"
    assert not eng.running


def test_cancel_during_a_slow_model_call_returns_at_once():
    release = threading.Event()

    class SlowClient(ScriptedClient):
        local = False  # behaves like a network client

    def slow(model, msgs, site):
        release.wait(10)
        return "late"

    eng = RLMEngine(EngineConfig(environment=env_choice()), client=SlowClient(slow, model="m"))
    threading.Timer(0.2, eng.cancel).start()
    t0 = time.monotonic()
    result = eng.completion("q", "ctx")
    release.set()
    assert time.monotonic() - t0 < 2
    assert result.status == RunStatus.CANCELLED


def test_cancel_inside_a_child_stops_the_whole_tree():
    script = {
        "r0/i0": R("r = rlm_query_batched(['a', 'b'])\nprint(r)"),
        "r0/i0/b0/c0/r/i0": R(HANG),
        "r0/i0/b0/c1/r/i0": R(HANG),
        "*": R("print('never')"),
    }
    eng, events = make_engine(script, max_depth=2)
    n = {"blocks": 0}
    lock = threading.Lock()

    def obs(e):
        if e.kind == "CodeBlockStarted" and e.depth == 1:
            with lock:
                n["blocks"] += 1
                if n["blocks"] == 2:
                    eng.cancel()

    eng.add_observer(obs)
    result = eng.completion("q", "ctx")
    assert result.status == RunStatus.CANCELLED
    kinds = {(e.kind, e.depth) for e in events}
    assert ("RunCancelled", 1) in kinds and ("RunCancelled", 0) in kinds


def test_api_keys_never_reach_the_log_or_errors(tmp_path, monkeypatch):
    key = "sk-test-" + "x" * 30
    monkeypatch.setenv("OPENAI_API_KEY", key)

    def script(model, msgs, site):
        if site.position == 0:
            return R(f"print('the key is {key}')")
        raise LMCallError(f"401 invalid key {key}")

    config = EngineConfig(
        backend=BackendConfig(kind="scripted", model="m", api_key=key),
        environment=env_choice(),
        log_dir=str(tmp_path),
    )
    seen = []
    eng = RLMEngine(config, client=ScriptedClient(script, model="m"))
    eng.add_observer(seen.append)
    result = eng.completion("q", "ctx")
    assert result.status == RunStatus.FAILED
    text = Path(result.log_path).read_text(encoding="ascii")
    assert key not in text and MASK in text
    assert key not in result.error and key not in repr(config) and key not in repr(config.backend)
    assert "api_key" not in json.dumps(config.backend.to_dict()).replace("api_key_env", "")
    assert all(key not in e.error for e in seen if isinstance(e, ev.RunFailed))


def test_redactor_masks_known_and_key_shaped_strings():
    r = Redactor(["my-very-secret-value", "short"])
    assert r.text("a my-very-secret-value b") == f"a {MASK} b"
    assert r.text("short stays") == "short stays"  # too short to be a key
    assert MASK in r.text("Bearer sk-ant-abcdefghijklmnopqrstuvwxyz012345")
    assert r.obj({"k": ["my-very-secret-value"]}) == {"k": [MASK]}


def test_max_timeout_stops_a_hanging_block(tmp_path):
    eng, events = make_engine({"r0/i0": R(HANG)}, tmp_path, max_timeout=0.3)
    t0 = time.monotonic()
    result = eng.completion("q", "ctx")
    assert time.monotonic() - t0 < 3
    assert result.status == RunStatus.FAILED and "max_timeout" in result.error
    assert records(result.log_path)[-1]["rlm_desktop"]["status"] == "failed"


def test_time_paused_in_the_gate_is_not_run_time(tmp_path):
    def gate(e):
        if isinstance(e, (ev.LMResponse, ev.SubCallStarted)) and e.depth == 0:
            time.sleep(0.4)  # the user looks at the paused run

    script = {"r0/i0": R("a = llm_query('x')\nanswer['content'] = a\nanswer['ready'] = True"), "*": "A"}
    eng, _ = make_engine(script, tmp_path, max_timeout=0.6)
    eng.set_gate(gate)
    result = eng.completion("q", "ctx")
    assert result.ok, result.error  # 0.8 s paused, but the limit counts only run time
    it = result.run.iterations[0]
    assert it.iteration_time < 0.3 and it.code_blocks[0].execution_time < 0.3
    assert result.execution_time < 0.3
