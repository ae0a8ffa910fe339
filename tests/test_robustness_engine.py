"""Fault injection in the engine with real parts: the OpenAI SDK client against the mock HTTP
server (500s, timeouts, 429 + retry-after), the subprocess REPL killed from outside mid-block,
a log that cannot grow (RLIMIT_FSIZE: EFBIG, like a full disk) and the app process killed -9
mid-run. Every time: a readable error, every finished iteration on disk, a file that opens.

(Scripted ``LMCallError``s, REPL crashes caused by model code, limits and cancel are in
``test_engine_failures.py``; the SDK's retry rules alone in ``test_engine_clients.py``.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from rlm_desktop.engine.clients import ScriptedClient
from rlm_desktop.engine.config import BackendConfig, EngineConfig
from rlm_desktop.engine.rlm import RLMEngine
from rlm_desktop.trajectory.lazy import LazyTrajectory
from rlm_desktop.trajectory.model import RunStatus
from rlm_desktop.trajectory.reader import read_file
from rlm_desktop.trajectory.writer import ITERATION_KEYS, METADATA_KEYS
from tests.support.mock_openai import MockLMServer
from tests.test_engine_fakes import env_choice, real_repl_available

KEY = "sk-robust-" + "k" * 24
CHILD = Path(__file__).resolve().parent / "support" / "robust_child.py"
needs_repl = pytest.mark.skipif(not real_repl_available(), reason="the subprocess REPL is not available")


def fenced(code: str) -> str:
    return f"Working.\n\n```repl\n{code}\n```"


FINISH = fenced("answer['content'] = 'done'\nanswer['ready'] = True")


def records(path: str | Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in Path(path).read_text(encoding="ascii").splitlines()]


def upstream_shaped(path: str | Path) -> None:
    """Every line is one JSON object with upstream's keys in upstream's order (extras after)."""
    recs = records(path)
    assert recs[0]["type"] == "metadata" and tuple(recs[0])[: len(METADATA_KEYS)] == METADATA_KEYS
    for r in recs[1:]:
        assert tuple(r)[: len(ITERATION_KEYS)] == ITERATION_KEYS


def http_engine(srv: MockLMServer, tmp_path: Path, **backend: Any) -> RLMEngine:
    cfg = BackendConfig(kind="openai", model="mock-root", base_url=srv.base_url, api_key=KEY, **backend)
    return RLMEngine(EngineConfig(backend=cfg, environment=env_choice(), log_dir=str(tmp_path), max_iterations=6))


def brain(on_turn: dict[int, Any], replies: dict[int, str]):
    """Root turns by number (the count of assistant messages); ``on_turn[n](...)`` runs when
    turn n is answered (to arm the next failure); plain sub-calls answer "sub answer"."""

    def script(model: str, msgs: list[dict[str, Any]]) -> str:
        if msgs and msgs[0].get("role") == "system":
            turn = sum(1 for m in msgs if m.get("role") == "assistant")
            if turn in on_turn:
                on_turn[turn]()
            return replies.get(turn, FINISH)
        return "sub answer"

    return script


def test_http_500s_on_a_root_turn_end_the_run_and_keep_the_finished_iteration(tmp_path):
    with MockLMServer() as srv:
        srv.set_script(
            brain({0: lambda: srv.fail_next(3, 500, message="the provider is down")},
                  {0: fenced("print('turn one ran')")})
        )
        result = http_engine(srv, tmp_path, timeout=5, max_retries=2).completion("q", "ctx")
        statuses = [r.status for r in srv.requests]
    assert statuses == [200, 500, 500, 500]  # the SDK retried twice, then gave up
    assert result.status == RunStatus.FAILED
    assert "HTTP 500" in result.error and "the provider is down" in result.error and KEY not in result.error
    recs = records(result.log_path)
    assert recs[1]["code_blocks"][0]["result"]["stdout"] == "turn one ran\n"
    assert recs[-1]["rlm_desktop"]["status"] == "failed" and "HTTP 500" in recs[-1]["rlm_desktop"]["error"]
    upstream_shaped(result.log_path)
    traj = read_file(result.log_path)
    assert not traj.bad_lines and traj.runs[0].status == RunStatus.FAILED
    assert traj.runs[0].iterations[0].code_blocks[0].stdout == "turn one ran\n"


def test_http_500s_on_a_sub_call_are_an_error_string_and_the_run_goes_on(tmp_path):
    code = "r = llm_query('hi')\nprint(r)"
    with MockLMServer() as srv:
        srv.set_script(brain({0: lambda: srv.fail_next(2, 502)}, {0: fenced(code)}))
        result = http_engine(srv, tmp_path, timeout=5, max_retries=1).completion("q", "ctx")
    assert result.ok and result.response == "done", result.error
    block = result.run.iterations[0].code_blocks[0]
    assert block.stdout.startswith("Error: LM query failed") and "502" in block.stdout
    assert "502" in (block.sub_calls[0].error or "")
    traj = read_file(result.log_path)
    assert not traj.bad_lines and [it.number for it in traj.runs[0].iterations] == [1, 2]


def test_lm_timeouts_end_the_run_with_a_readable_error(tmp_path):
    with MockLMServer() as srv:
        srv.set_script(brain({0: lambda: srv.delay_next(2, 3.0)}, {0: fenced("x = 1")}))
        t0 = time.monotonic()
        result = http_engine(srv, tmp_path, timeout=0.3, max_retries=1).completion("q", "ctx")
        elapsed = time.monotonic() - t0
    assert result.status == RunStatus.FAILED
    assert "timed out" in result.error.lower(), result.error
    assert elapsed < 3.0  # the client's timeout ended it, not the server's late answer
    assert [r["iteration"] for r in records(result.log_path)[1:]] == [1, 2]
    assert read_file(result.log_path).runs[0].status == RunStatus.FAILED


def test_429_with_retry_after_is_waited_out_and_the_run_finishes(tmp_path):
    with MockLMServer() as srv:
        srv.set_script(
            brain({0: lambda: srv.fail_next(1, 429, message="slow down", retry_after_ms=700)},
                  {0: fenced("x = 1")})
        )
        result = http_engine(srv, tmp_path, timeout=5, max_retries=2).completion("q", "ctx")
        reqs = srv.requests
    assert result.ok, result.error
    assert [r.status for r in reqs] == [200, 429, 200]
    assert reqs[2].time - reqs[1].time >= 0.6  # the retry waited for the server's retry-after
    assert [r["iteration"] for r in records(result.log_path)[1:]] == [1, 2]


@needs_repl
def test_repl_killed_from_outside_mid_block_ends_the_run_cleanly(tmp_path):
    script = {
        "r0/i0": fenced("print('first block')"),
        "r0/i1": fenced("import os, time\nprint('pid', os.getpid(), flush=True)\ntime.sleep(60)"),
        "*": FINISH,
    }
    config = EngineConfig(
        backend=BackendConfig(kind="scripted", model="m"), environment="subprocess", log_dir=str(tmp_path)
    )
    eng = RLMEngine(config, client=ScriptedClient(script, model="m"))
    killed: list[int] = []

    def kill_worker(e: Any) -> None:  # the OOM killer, a user with `kill -9`, ...
        if e.kind == "CodeBlockOutput" and e.text.startswith("pid ") and not killed:
            pid = int(e.text.split()[1])
            killed.append(pid)
            threading.Thread(target=os.kill, args=(pid, signal.SIGKILL), daemon=True).start()

    eng.add_observer(kill_worker)
    t0 = time.monotonic()
    result = eng.completion("q", "ctx")
    assert time.monotonic() - t0 < 30 and killed
    assert result.status == RunStatus.FAILED
    assert "SIGKILL" in result.error and "block 1" in result.error
    block = result.run.iterations[1].code_blocks[0]
    assert block.stdout.startswith("pid ") and "SIGKILL" in block.stderr
    recs = records(result.log_path)
    assert recs[1]["code_blocks"][0]["result"]["stdout"] == "first block\n"
    assert recs[2]["rlm_desktop"]["status"] == "failed"
    traj = read_file(result.log_path)
    assert not traj.bad_lines and traj.runs[0].status == RunStatus.FAILED
    with pytest.raises(ProcessLookupError):
        os.kill(killed[0], 0)
    # the next run of the same engine gets a fresh REPL
    eng.remove_observer(kill_worker)
    eng._client = ScriptedClient({"r0/i0": fenced("print('x' in dir(), context)"), "*": FINISH}, model="m")
    again = eng.completion("q2", "fresh ctx")
    assert again.ok, again.error
    assert again.run.iterations[0].code_blocks[0].stdout == "False fresh ctx\n"


@needs_repl
def test_disk_full_while_logging_stops_the_log_at_the_last_whole_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(CHILD), "fsize", str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # the run itself goes on (its tree is in the app); the log error says where the file stopped
    assert out["status"] == "finished" and out["response"] == "done despite the disk"
    assert "cannot write the log" in out["log_error"] and "File too large" in out["log_error"]
    assert "stops after line 3" in out["log_error"]
    recs = records(out["log_path"])
    # metadata + iterations 1 and 2; iteration 3 did not fit and nothing after it was written,
    # though the later, smaller lines would have fitted (no hole in the log)
    assert [r.get("iteration") for r in recs] == [None, 1, 2]
    assert recs[2]["code_blocks"][0]["result"]["stdout"] == "turn 1\n"
    upstream_shaped(out["log_path"])
    traj = read_file(out["log_path"])
    assert not traj.bad_lines and [it.number for it in traj.runs[0].iterations] == [1, 2]


def complete_lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


@needs_repl
def test_app_killed_9_mid_run_keeps_every_finished_iteration(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, str(CHILD), "slow", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
        deadline = time.monotonic() + 30
        log = None
        while time.monotonic() < deadline:
            logs = list(tmp_path.glob("*.jsonl"))
            if logs and complete_lines(logs[0]) >= 8:
                log = logs[0]
                break
            time.sleep(0.02)
        assert log is not None, "the child wrote no log"
        on_disk = complete_lines(log)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    traj = read_file(str(log))
    numbers = [it.number for it in traj.runs[0].iterations]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= on_disk - 1
    assert len(traj.bad_lines) <= 1 and all(b.line_no == traj.line_count for b in traj.bad_lines)
    assert not read_file(str(log), still_running=True).bad_lines
    assert traj.runs[0].iterations[1].code_blocks[0].stdout.startswith("line 1 line 1")
    with LazyTrajectory(str(log)) as lt:
        snap = lt.index_all(validate=True)
        assert [s.number for s in snap.runs[0].iterations] == numbers
        assert lt.load_iteration(0, len(numbers) - 1).number == numbers[-1]
    # the REPL worker died with the app (no orphan left computing)
    pid = int(traj.runs[0].iterations[0].code_blocks[0].stdout.split()[-1])
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"REPL worker {pid} outlived the killed app")
