"""The writer produces what upstream writes (byte for byte where the data is the same)."""

from __future__ import annotations

import errno
import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from rlm.core.types import RLMChatCompletion, UsageSummary

from rlm_desktop.trajectory.model import EXTRA_KEY, CodeBlock, Iteration, Run, RunStatus, SubCall, Usage
from rlm_desktop.trajectory.reader import parse_line, read_bytes, read_file
from rlm_desktop.trajectory.writer import (
    ITERATION_KEYS,
    METADATA_KEYS,
    TrajectoryWriter,
    WriteError,
    dumps_record,
    filter_sensitive,
    metadata_record,
    record_from_iteration,
    serialize_value,
    sub_call_record,
    write_trajectory,
)
from tests.support.rlms_scenarios import SCENARIOS, shared_logs
from tests.test_rlms_compat import same


@pytest.fixture(scope="session")
def logs() -> dict[str, Path]:
    return shared_logs()


def shape(obj: Any) -> Any:
    """Keys in order, recursively (lists: the shape of each element)."""
    if isinstance(obj, dict):
        return [(k, shape(v)) for k, v in obj.items()]
    if isinstance(obj, list):
        return [shape(v) for v in obj]
    return type(obj).__name__


@pytest.mark.parametrize("name", [n for n in SCENARIOS if n not in ("exotic",)])
def test_rewrite_of_upstream_log_is_byte_identical(logs: dict[str, Path], name: str, tmp_path: Path) -> None:
    src = logs[name].read_bytes()
    complete = src[: src.rfind(b"\n") + 1]  # crash_partial: the unterminated fragment is not data
    traj = read_bytes(complete)
    out = tmp_path / "out.jsonl"
    write_trajectory(out, traj.runs, traj.metadata)
    assert out.read_bytes() == complete


def test_rewrite_of_exotic_values_equals_upstream_after_sanitising(
    logs: dict[str, Path], tmp_path: Path
) -> None:
    src = logs["exotic"].read_bytes()
    traj = read_bytes(src)
    out = tmp_path / "out.jsonl"
    write_trajectory(out, traj.runs, traj.metadata)
    data = out.read_bytes()
    assert data.isascii()
    ours = [parse_line(line) for line in data.splitlines()]  # our NaN strings back to floats
    theirs = [json.loads(line) for line in src.splitlines()]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert shape(a) == shape(b)
        assert same(a, b)
    assert b": NaN" not in data and b": -Infinity" not in data  # no bare tokens: strict JSON
    assert b'"NaN"' in data and b'"-Infinity"' in data and b'"nonfinite"' in data
    assert b"\\ud83d\\ude80" in data  # non-BMP as an escaped surrogate pair


def _strict_loads(line: bytes) -> Any:
    """A browser's JSON.parse: NaN/Infinity are syntax errors."""

    def refuse(name: str) -> Any:
        raise ValueError(f"not standard JSON: {name}")

    return json.loads(line, parse_constant=refuse)


def test_every_line_we_write_is_standard_json(logs: dict[str, Path], tmp_path: Path) -> None:
    """Upstream's exotic log (bare NaN/Infinity in locals) and our engine's records with
    non-finite floats in locals, kwargs and nested child runs: a strict parser accepts
    every line we write, and our reader gives the same floats back."""
    src = logs["exotic"].read_bytes()
    with pytest.raises(ValueError):
        for line in src.splitlines():
            _strict_loads(line)  # upstream's own lines are not standard JSON
    traj = read_bytes(src)
    out = tmp_path / "out.jsonl"
    write_trajectory(out, traj.runs, traj.metadata)
    run = _engine_like_run()
    run.iterations[0].code_blocks[0].locals.update({"inf": math.inf, "ninf": [-math.inf, {"n": math.nan}]})
    child_block = run.iterations[0].code_blocks[0].sub_calls[0].child.iterations[0].add_block(CodeBlock(0))
    child_block.locals["deep"] = math.nan
    with TrajectoryWriter(out) as w:
        w.write_metadata(metadata_record(root_model="m", backend_kwargs={"temperature": math.inf}))
        w.write_iteration(run.iterations[0])
    lines = out.read_bytes().splitlines()
    assert len(lines) == len(src.splitlines()) + 2
    for line in lines:
        _strict_loads(line)
    back = read_bytes(b"\n".join(lines[-2:]) + b"\n")
    assert back.metadata["backend_kwargs"]["temperature"] == math.inf
    loc = back.runs[0].iterations[0].code_blocks[0].locals
    assert math.isnan(loc["nan"]) and loc["inf"] == math.inf and loc["ninf"][0] == -math.inf
    assert math.isnan(loc["ninf"][1]["n"])
    child = back.runs[0].iterations[0].code_blocks[0].sub_calls[0].child
    assert math.isnan(child.iterations[0].code_blocks[0].locals["deep"])
    assert "nonfinite" not in back.runs[0].iterations[0].extra  # the marker is the reader's, not the model's
    # a real string "NaN" that we did not write as a number stays a string
    rec = read_bytes(b'{"type": "iteration", "iteration": 1, "prompt": [], "response": "NaN", '
                     b'"code_blocks": [], "final_answer": null, "iteration_time": 1.0}\n')
    assert rec.runs[0].iterations[0].response == "NaN"


def test_upstream_bare_constants_are_still_read() -> None:
    line = (b'{"type": "iteration", "iteration": 1, "prompt": [], "response": "", "code_blocks": '
            b'[{"code": "", "result": {"locals": {"a": NaN, "b": Infinity, "c": -Infinity}}}], '
            b'"final_answer": null, "iteration_time": 1.0}\n')
    loc = read_bytes(line).runs[0].iterations[0].code_blocks[0].locals
    assert math.isnan(loc["a"]) and loc["b"] == math.inf and loc["c"] == -math.inf


def test_every_written_sub_call_survives_upstreams_own_types(logs: dict[str, Path]) -> None:
    traj = read_file(str(logs["depth3"]))
    calls = [n for n in traj.walk() if isinstance(n, SubCall)]
    assert len(calls) == 7
    for call in calls:
        rec = json.loads(dumps_record(sub_call_record(call)))
        assert RLMChatCompletion.from_dict(rec).to_dict() == rec
        assert UsageSummary.from_dict(rec["usage_summary"]).to_dict() == rec["usage_summary"]


def _engine_like_run() -> Run:
    """A run as our engine's recorder would build it (no file behind it)."""
    run = Run(metadata={"root_model": "gpt-x"}, status=RunStatus.RUNNING)
    it = run.add_iteration(
        Iteration(number=1, timestamp="2026-01-01T10:00:00", response="```repl\nx = 1\n```")
    )
    it.prompt = [{"role": "system", "content": "s"}, {"role": "user", "content": "héllo 🚀"}]
    it.iteration_time = 1.25
    it.usage = Usage(1, 100, 20, 0.003)
    it.edited = True
    it.original_response = "orig"
    block = it.add_block(
        CodeBlock(0, code="x = 1", stdout="out\n", locals={"x": 1, "t": (1, 2), "s": {3}, "nan": math.nan})
    )
    block.execution_time = 0.5
    child = Run(depth=1, metadata={"root_model": "gpt-child", "max_depth": 2, "max_iterations": 5})
    cit = child.add_iteration(Iteration(number=1, timestamp="2026-01-01T10:00:01", response="r"))
    cit.final_answer = "child answer"
    cit.iteration_time = 0.1
    child.final_answer = "child answer"
    call = block.add_sub_call(
        SubCall(
            0, model="gpt-child", prompt="sub", response="child answer", usage=Usage(2, 10, 5), child=child
        )
    )
    call.execution_time = 0.2
    child.parent = call
    return run


def test_records_built_from_the_model_have_upstreams_key_order(logs: dict[str, Path]) -> None:
    up = [json.loads(line) for line in logs["depth3"].read_bytes().splitlines()]
    up_block = up[1]["code_blocks"][0]
    up_call = up_block["result"]["rlm_calls"][0]
    rec = record_from_iteration(_engine_like_run().iterations[0])
    assert list(rec)[: len(ITERATION_KEYS)] == list(ITERATION_KEYS) == list(up[1])
    block = rec["code_blocks"][0]
    assert list(block) == list(up_block) and list(block["result"]) == list(up_block["result"])
    call = block["result"]["rlm_calls"][0]
    assert list(call) == list(up_call)
    assert list(call["metadata"]) == list(up_call["metadata"])
    assert list(call["metadata"]["run_metadata"])[:3] == ["root_model", "max_depth", "max_iterations"]
    assert list(call["metadata"]["iterations"][0])[: len(ITERATION_KEYS)] == list(ITERATION_KEYS)
    meta = metadata_record(
        root_model="gpt-x", backend_kwargs={"model_name": "gpt-x"}, extra={"run_id": "abc"}
    )
    assert list(meta) == [*METADATA_KEYS, EXTRA_KEY] and list(up[0]) == list(METADATA_KEYS)
    assert block["result"]["locals"]["t"] == [1, 2] and block["result"]["locals"]["s"] == "{3}"


def test_our_extras_round_trip_through_the_reader(tmp_path: Path) -> None:
    run = _engine_like_run()
    path = tmp_path / "ours.jsonl"
    with TrajectoryWriter(path) as w:
        assert w.write_metadata(
            metadata_record(root_model="gpt-x", extra={"version": "0.1.0", "run_id": "r1"})
        )
        assert not w.write_metadata(metadata_record(root_model="other"))  # once per file, as upstream
        w.write_iteration(run.iterations[0])
        second = Iteration(number=2, timestamp="2026-01-01T10:00:02", response="stopped")
        run.add_iteration(second)
        w.write_iteration(second, status="cancelled", error="stopped by the user")
    traj = read_file(str(path))
    assert traj.era == "rlm_desktop" and not traj.bad_lines
    r = traj.runs[0]
    assert r.run_id == "r1" and r.status == RunStatus.CANCELLED and r.error == "stopped by the user"
    it = r.iterations[0]
    assert it.usage == Usage(1, 100, 20, 0.003)
    assert it.edited and it.original_response == "orig"
    assert it.prompt[1]["content"] == "héllo 🚀"
    assert math.isnan(it.code_blocks[0].locals["nan"])
    call = it.code_blocks[0].sub_calls[0]
    assert call.child is not None and call.child.final_answer == "child answer"
    assert call.usage == Usage(2, 10, 5) and r.total_usage() == Usage(3, 110, 25, 0.003)


def test_default_answer_record_shape() -> None:
    run = Run(metadata={"root_model": "m"})
    it = run.add_iteration(Iteration(number=4, timestamp="t", response="the default"))
    it.is_default_answer = True
    it.iteration_time = 3.0
    rec = record_from_iteration(it)
    assert rec["code_blocks"] == [] and rec["iteration_time"] is None and rec["final_answer"] == "the default"
    back = read_bytes((dumps_record(rec) + "\n").encode())
    assert back.runs[0].iterations[0].is_default_answer and back.runs[0].status == RunStatus.MAX_ITERATIONS


def test_secrets_never_reach_the_log() -> None:
    kw = {
        "model_name": "m",
        "api_key": "sk-1",
        "OPENAI_API_KEY": "sk-2",
        "apiKey": "sk-3",
        "client_secret": "x",
        "auth_token": "y",
        "max_tokens": 5,
        "base_url": "http://127.0.0.1:1/v1",
    }
    line = dumps_record(metadata_record(root_model="m", backend_kwargs=kw, environment_kwargs=kw))
    assert "sk-" not in line and '"x"' not in line and '"y"' not in line
    assert filter_sensitive(kw) == {"model_name": "m", "max_tokens": 5, "base_url": "http://127.0.0.1:1/v1"}


def test_serialize_value_rules() -> None:
    import json as json_module

    def helper() -> None:
        pass

    assert serialize_value({(1, 2): (3, [4]), 5: json_module, "f": helper, "l": len}) == {
        "(1, 2)": [3, [4]],
        "5": "<module 'json'>",
        "f": "<function 'helper'>",
        "l": "<builtin_function_or_method 'len'>",
    }
    assert serialize_value(b"\x00") == "b'\\x00'" and serialize_value(2 + 3j) == "(2+3j)"

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert serialize_value(Broken()) == "<Broken>"


def test_every_line_is_flushed_and_fsynced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd)))
    path = tmp_path / "x.jsonl"
    w = TrajectoryWriter(path)
    w.write_metadata(metadata_record(root_model="m"))
    assert path.read_bytes().count(b"\n") == 1  # on disk before close
    w.write_iteration(_engine_like_run().iterations[0])
    assert len(synced) == 2 and path.read_bytes().count(b"\n") == 2
    w.close()


def test_failed_write_cuts_back_to_the_last_complete_line(tmp_path: Path) -> None:
    path = tmp_path / "full.jsonl"
    w = TrajectoryWriter(path, fsync=False)
    w.write_metadata(metadata_record(root_model="m"))
    good = path.read_bytes()
    fh = w._open()
    real_write = fh.write
    calls = {"n": 0}

    def failing_write(buf: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            return real_write(bytes(buf[:10]))  # a short write ...
        raise OSError(errno.ENOSPC, "No space left on device")  # ... then the disk is full

    w._fh = type("F", (), {"write": staticmethod(failing_write), "fileno": fh.fileno, "close": fh.close})()
    with pytest.raises(WriteError) as info:
        w.write_iteration(_engine_like_run().iterations[0])
    assert info.value.errno == errno.ENOSPC
    assert path.read_bytes() == good
    w._fh = fh
    w.write_iteration(_engine_like_run().iterations[0])
    w.close()
    traj = read_file(str(path))
    assert not traj.bad_lines and len(traj.runs[0].iterations) == 1


KILL_CHILD = r"""
import sys
from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run
from rlm_desktop.trajectory.writer import TrajectoryWriter, metadata_record

path = sys.argv[1]
w = TrajectoryWriter(path)
w.write_metadata(metadata_record(root_model="m"))
run = Run(metadata={"root_model": "m"})
n = 0
while True:  # until killed
    n += 1
    it = run.add_iteration(Iteration(number=n, timestamp="t", response="r" * 1000))
    it.add_block(CodeBlock(0, code="x", stdout="o" * (200_000 + n)))
    it.iteration_time = 0.1
    w.write_iteration(it)
    run.iterations.clear()
    print(n, flush=True)
"""


def test_killed_writer_leaves_every_finished_line_readable(tmp_path: Path) -> None:
    path = tmp_path / "killed.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_CHILD, str(path)], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    assert proc.stdout is not None
    written = 0
    for line in proc.stdout:  # lines reported as written (fsynced) by the child
        written = int(line)
        if written >= 15:
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    traj = read_file(str(path))
    numbers = [it.number for it in traj.runs[0].iterations]
    assert numbers[:written] == list(range(1, written + 1))  # nothing reported written is lost
    assert len(traj.bad_lines) <= 1  # at most the line being written when killed
    assert all(b.line_no == traj.line_count for b in traj.bad_lines)
    live = read_file(str(path), still_running=True)
    assert not live.bad_lines
