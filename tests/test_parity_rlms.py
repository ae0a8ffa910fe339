"""Parity with upstream: the same scripted mock-LM scenarios through upstream ``rlms`` (PyPI) and
through our engine (OpenAI client against the same mock server), compared turn by turn: code,
stdout, errors, final answers and the whole sub-call tree (models, prompts, responses, children).

Upstream's logs come from ``tests.support.rlms_scenarios`` (generated once per test process, in a
subprocess, against ``MockLMServer``); our engine runs the same ``Brain`` scripts. The only
difference in the scripts: our default-answer request is a user message in our own words, which
the wrapper below recognises the way the Brain recognises upstream's.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from rlm_desktop.engine.config import BackendConfig, EngineConfig
from rlm_desktop.engine.prompts import DEFAULT_ANSWER_REQUEST
from rlm_desktop.engine.rlm import RLMEngine
from rlm_desktop.trajectory.reader import read_file
from tests.support.mock_openai import MockLMServer
from tests.support.rlms_scenarios import DEFAULT_PREFIX, SCENARIOS, shared_logs
from tests.test_engine_fakes import env_choice

# name -> (completion prompt, context, model, config) matching the upstream scenario's call
CASES: dict[str, tuple[str, str | None, str, dict[str, Any]]] = {
    "basic": ("How long is it?", "The quick brown fox jumps over the lazy dog. " * 3, "mock-root", {}),
    "depth3": ("root context for the depth test", None, "mock-root", {"max_depth": 3}),
    "max_iterations": ("never answered", None, "mock-idle", {"max_iterations": 2}),
    "nested_default": ("nested default context", None, "mock-root", {"max_depth": 2, "max_iterations": 2}),
}


@pytest.fixture(scope="module")
def upstream_logs():
    return shared_logs()


def ours(name: str, tmp_path) -> str:
    prompt, context, model, cfg = CASES[name]
    brain = SCENARIOS[name].brain

    def script(m, messages):
        if messages and messages[-1].get("content") == DEFAULT_ANSWER_REQUEST:
            return f"{DEFAULT_PREFIX}{m}"
        return brain(m, messages)

    with MockLMServer(script) as srv:
        config = EngineConfig(
            backend=BackendConfig(
                kind="openai", model=model, base_url=srv.base_url, api_key="sk-mock-not-a-key"
            ),
            environment=env_choice(),
            log_dir=str(tmp_path),
            **cfg,
        )
        result = RLMEngine(config).completion(prompt, context)
        assert not srv.errors, srv.errors
    assert result.ok, result.error
    return result.log_path


_NOISE_LINE = re.compile(
    r"^(-{40}|Exception occurred during processing of request.*|Traceback .*|\s.*|"
    r"(ConnectionResetError|BrokenPipeError|ConnectionAbortedError): .*)$"
)


def _err(stderr: str) -> str:
    """The error line of a block's stderr (the form of tracebacks may differ by REPL).

    Upstream's REPL captures the process-wide ``sys.stderr`` while a block runs, so the
    mock HTTP server's own "connection reset" reports (printed by its other threads,
    possibly interleaved) can land in a block's stderr; they are not the block's output
    and are dropped here.
    """
    lines = [x for x in stderr.strip().splitlines() if x.strip()]
    if "Exception occurred during processing of request" in stderr:
        lines = [x for x in lines if not _NOISE_LINE.match(x)]
    return lines[-1].strip() if lines else ""


def tree(run) -> dict[str, Any]:
    return {
        "status": run.status.value,
        "final": run.final_answer,
        "model": run.model,
        "iterations": [
            {
                "default": it.is_default_answer,
                "final": it.final_answer,
                "response": it.response,
                "blocks": [
                    {
                        "code": b.code,
                        "stdout": b.stdout,
                        "error": _err(b.stderr),
                        "final": b.final_answer,
                        "calls": [
                            {
                                "model": c.model,
                                "prompt": c.prompt,
                                "response": c.response,
                                "child": tree(c.child) if c.child is not None else None,
                            }
                            for c in b.sub_calls
                        ],
                    }
                    for b in it.code_blocks
                ],
            }
            for it in run.iterations
        ],
    }


def differences(a: Any, b: Any, where: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            out += differences(a.get(k), b.get(k), f"{where}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{where}[{i}]")
        ]
    return [] if a == b else [f"{where}: upstream {a!r:.200} != ours {b!r:.200}"]


@pytest.mark.parametrize("name", list(CASES))
def test_same_scenario_same_trajectory(name, upstream_logs, tmp_path):
    theirs = read_file(str(upstream_logs[name]))
    mine = read_file(ours(name, tmp_path))
    assert not theirs.bad_lines and not mine.bad_lines
    assert len(theirs.runs) == len(mine.runs) == 1
    a, b = tree(theirs.runs[0]), tree(mine.runs[0])
    if a["iterations"] and a["iterations"][-1]["default"]:
        # the default answer text echoes the model; the rest of the tree must match exactly
        assert b["iterations"][-1]["default"]
    assert differences(a, b) == []
    assert theirs.runs[0].sub_calls_by_depth() == mine.runs[0].sub_calls_by_depth()


@pytest.mark.parametrize("name", ["basic", "depth3"])
def test_our_engine_replays_an_upstream_recording(name, upstream_logs, tmp_path):
    """An upstream log can be re-run in our engine (and so in the debugger): the replay client
    answers by position (prompts differ: upstream's own system prompt), and the run reproduces
    upstream's code, outputs, sub-call tree and answer."""
    prompt, context, model, cfg = CASES[name]
    config = EngineConfig(
        backend=BackendConfig(
            kind="replay", replay_path=str(upstream_logs[name]), replay_check_prompts=False
        ),
        environment=env_choice(),
        log_dir=str(tmp_path),
        **cfg,
    )
    result = RLMEngine(config).completion(prompt, context)
    assert result.ok, result.error
    theirs = read_file(str(upstream_logs[name])).runs[0]
    mine = read_file(result.log_path).runs[0]
    assert differences(tree(theirs), tree(mine)) == []
