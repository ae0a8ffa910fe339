"""LM clients against the scripted mock server (OpenAI + Anthropic APIs) and the replay client."""

from __future__ import annotations

from pathlib import Path

import pytest

from rlm_desktop.engine import events as ev
from rlm_desktop.engine.clients import LMCallError, ScriptedClient, make_client
from rlm_desktop.engine.clients.anthropic_client import AnthropicClient, to_anthropic
from rlm_desktop.engine.clients.base import CallSite
from rlm_desktop.engine.clients.openai_client import OpenAIClient
from rlm_desktop.engine.clients.replay import ReplayClient
from rlm_desktop.engine.config import BackendConfig, EngineConfig
from rlm_desktop.engine.rlm import RLMEngine
from rlm_desktop.trajectory.model import RunStatus
from rlm_desktop.trajectory.reader import read_file
from tests.support.mock_openai import MockLMServer, MockReply
from tests.test_engine_fakes import env_choice, model_diff
from tests.test_engine_loop import FULL, R, make_engine

KEY = "sk-mock-" + "k" * 24


def openai_cfg(server, **kw) -> BackendConfig:
    kw.setdefault("max_retries", 3)
    return BackendConfig(
        kind="openai", model="mock-root", base_url=server.base_url, api_key=KEY, timeout=5, **kw
    )


def test_openai_client_text_usage_cost_and_model_override():
    with MockLMServer(
        lambda model, msgs: MockReply(
            f"hi from {model}", usage={"prompt_tokens": 7, "completion_tokens": 3}, cost=0.25
        )
    ) as srv:
        c = OpenAIClient(openai_cfg(srv))
        r = c.complete("hello")
        assert r.text == "hi from mock-root" and r.model == "mock-root"
        assert (r.usage.calls, r.usage.input_tokens, r.usage.output_tokens, r.usage.cost) == (1, 7, 3, 0.25)
        r2 = c.complete([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}], model="other")
        assert r2.text == "hi from other"
        req = srv.requests[-1]
        assert req.model == "other" and req.messages[0]["role"] == "system" and req.authorized
        c.close()


def test_openai_client_retries_5xx_and_429_then_succeeds():
    with MockLMServer("fine") as srv:
        srv.fail_next(2, 500)
        srv.fail_next(1, 429)
        c = OpenAIClient(openai_cfg(srv, max_retries=4))
        assert c.complete("x").text == "fine"
        assert [r.status for r in srv.requests] == [500, 500, 429, 200]
        c.close()


def test_openai_client_gives_up_with_a_readable_error_without_the_key():
    with MockLMServer("fine") as srv:
        srv.fail_next(5, 503, message=f"upstream overloaded, key {KEY}")
        c = OpenAIClient(openai_cfg(srv, max_retries=1))
        with pytest.raises(LMCallError) as err:
            c.complete("x")
        assert "503" in str(err.value) and KEY not in str(err.value)
        assert len(srv.requests) == 2
        c.close()


def test_openai_client_timeout_is_retried():
    with MockLMServer("late but fine") as srv:
        srv.delay_next(1, 1.5)
        cfg = openai_cfg(srv, max_retries=2)
        cfg.timeout = 0.3
        c = OpenAIClient(cfg)
        assert c.complete("x").text == "late but fine"
        c.close()


def test_anthropic_client_system_and_usage():
    with MockLMServer(lambda model, msgs: f"{msgs[0]['role']}:{msgs[0]['content']}|{len(msgs)}") as srv:
        cfg = BackendConfig(
            kind="anthropic", model="claude-mock", base_url=srv.root_url, api_key=KEY, timeout=5
        )
        c = AnthropicClient(cfg)
        r = c.complete(
            [
                {"role": "system", "content": "be brief"},
                {"role": "user", "content": "a"},
                {"role": "user", "content": "b"},
            ]
        )
        assert r.text == "system:be brief|2"  # system first, the two user turns joined
        assert r.usage.calls == 1 and r.usage.input_tokens > 0 and r.usage.output_tokens > 0
        assert srv.requests[-1].api == "anthropic"
        srv.fail_next(1, 529)
        assert c.complete("again").text.startswith("user:again")
        c.close()


def test_to_anthropic_keeps_turns_alternating():
    system, msgs = to_anthropic([{"role": "system", "content": "S"}, {"role": "assistant", "content": "A"}])
    assert system == "S" and [m["role"] for m in msgs] == ["user", "assistant"]


def brain(model, msgs):
    """Root turns (system message first) by turn number; plain calls echo."""
    if msgs[0]["role"] == "system":
        turn = sum(1 for m in msgs if m["role"] == "assistant")
        script = [
            R("parts = llm_query_batched(['a', 'b'])\nprint(parts)"),
            R("answer['content'] = '+'.join(parts)\nanswer['ready'] = True"),
        ]
        return script[min(turn, 1)]
    return "echo:" + msgs[-1]["content"]


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_engine_run_through_real_sdk_clients(tmp_path, kind):
    with MockLMServer(brain) as srv:
        url = srv.base_url if kind == "openai" else srv.root_url
        cfg = EngineConfig(
            backend=BackendConfig(kind=kind, model="mock-root", base_url=url, api_key=KEY, timeout=5),
            environment=env_choice(),
            log_dir=str(tmp_path),
        )
        result = RLMEngine(cfg).completion("join the parts", "ctx")
        assert result.status == RunStatus.FINISHED, result.error
        assert result.response == "echo:a+echo:b"
        assert result.usage.calls == 4 and result.usage.input_tokens > 0
        text = Path(result.log_path).read_text(encoding="ascii")
        assert KEY not in text
        meta = read_file(result.log_path).metadata
        assert meta["backend"] == kind and meta["backend_kwargs"]["base_url"] == url


def test_replay_reproduces_a_recorded_run(tmp_path):
    eng, _ = make_engine(FULL, tmp_path / "rec", max_depth=2, max_iterations=6)
    recorded = eng.completion("Summarise the parts.", "some context text")
    client = ReplayClient(recorded.log_path)
    cfg = EngineConfig(
        backend=BackendConfig(kind="replay"),
        max_depth=2,
        max_iterations=6,
        environment=env_choice(),
        log_dir=str(tmp_path / "replay"),
    )
    again = RLMEngine(cfg, client=client).completion("Summarise the parts.", "some context text")
    assert again.status == RunStatus.FINISHED, again.error
    assert again.response == recorded.response
    a, b = read_file(recorded.log_path).runs[0], read_file(again.log_path).runs[0]
    diff = [d for d in model_diff(a, b) if not d.split(":")[0].endswith(("timestamp", "time", "metadata"))]
    assert diff == []
    assert "r0/i2/b0/c0/r/i0/b0/c0" in client.served


def test_replay_divergence_names_the_node(tmp_path):
    eng, _ = make_engine(FULL, tmp_path / "rec", max_depth=2, max_iterations=6)
    recorded = eng.completion("Summarise the parts.", "some context text")
    cfg = EngineConfig(
        backend=BackendConfig(kind="replay", replay_path=recorded.log_path),
        max_depth=2,
        max_iterations=6,
        environment=env_choice(),
    )
    # a different context: the very first prompt differs
    bad = RLMEngine(cfg).completion("Summarise the parts.", "other context")
    assert bad.status == RunStatus.FAILED
    assert "replay diverged at r0/i0" in bad.error and "message 2" in bad.error
    # the child's sub-call prompt differs (the child's code was edited): the node is named and the
    # whole tree fails, not just the child
    changed = R("w = llm_query('how many WORDS? ' + context)\nprint(w)")
    client_check = ReplayClient(recorded.log_path)
    eng2 = RLMEngine(cfg, client=client_check)

    def gate(e):
        if isinstance(e, ev.LMResponse) and e.depth == 1 and e.iteration == 1:
            return ev.ResponseEdit(changed)
        return None

    eng2.set_gate(gate)
    res = eng2.completion("Summarise the parts.", "some context text")
    assert res.status == RunStatus.FAILED
    assert "replay diverged at r0/i2/b0/c0/r/i0/b0/c0" in res.error and "WORDS" in res.error
    assert len(res.run.iterations) == 3  # the root stopped in the turn that spawned the child


def test_replay_missing_turn_is_reported(tmp_path):
    eng, _ = make_engine({"r0/i0": R("answer['content'] = 'x'\nanswer['ready'] = True")}, tmp_path)
    rec = eng.completion("q", "ctx")
    client = ReplayClient(rec.log_path, check_prompts=False)
    with pytest.raises(LMCallError, match="no model turn there"):
        client.complete("x", site=CallSite("r0", "root", 5))
    with pytest.raises(LMCallError, match="no sub-call there"):
        client.complete("x", site=CallSite("r0", "sub", 0, 0, 3))


def test_replay_is_the_default_without_a_key(monkeypatch, tmp_path):
    for k in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(k, raising=False)
    assert BackendConfig().resolved_kind() == "replay"
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    assert BackendConfig().resolved_kind() == "openai"
    assert isinstance(make_client(BackendConfig(kind="scripted", script="x")), ScriptedClient)
    with pytest.raises(FileNotFoundError):
        make_client(BackendConfig(kind="replay", replay_path=str(tmp_path / "missing.jsonl")))
    # a backend that cannot be set up fails the run with a readable message
    res = RLMEngine(
        EngineConfig(
            backend=BackendConfig(kind="replay", replay_path=str(tmp_path / "no.jsonl")),
            environment=env_choice(),
        )
    ).completion("q", "c")
    assert res.status == RunStatus.FAILED and "Could not set up the model backend" in res.error


def test_replay_delay_paces_the_run_and_cancel_stays_immediate(tmp_path):
    import threading
    import time

    eng, _ = make_engine(FULL, tmp_path / "rec", max_depth=2, max_iterations=6)
    recorded = eng.completion("Summarise the parts.", "some context text")
    cfg = EngineConfig(
        backend=BackendConfig(kind="replay", replay_path=recorded.log_path, replay_delay=0.05),
        max_depth=2,
        max_iterations=6,
        environment=env_choice(),
    )
    t0 = time.monotonic()
    res = RLMEngine(cfg).completion("Summarise the parts.", "some context text")
    assert res.ok and res.usage.calls == 10
    assert time.monotonic() - t0 >= 0.05 * 8  # 10 calls, 3 of them in parallel
    slow = EngineConfig(
        backend=BackendConfig(kind="replay", replay_path=recorded.log_path, replay_delay=5),
        max_depth=2,
        max_iterations=6,
        environment=env_choice(),
    )
    eng2 = RLMEngine(slow)
    threading.Timer(0.2, eng2.cancel).start()
    t0 = time.monotonic()
    assert eng2.completion("Summarise the parts.", "some context text").status == RunStatus.CANCELLED
    assert time.monotonic() - t0 < 2
