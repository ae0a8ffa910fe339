"""Property tests: the reader never raises, reports every bad line, and keeps the good ones."""

from __future__ import annotations

import functools
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlm_desktop.trajectory.lazy import LazyTrajectory
from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, SubCall
from rlm_desktop.trajectory.reader import read_bytes, read_file
from rlm_desktop.trajectory.writer import dumps_record, record_from_iteration
from tests.support.rlms_scenarios import shared_logs

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

# any text, lone surrogates included
texts = st.text(st.characters(exclude_categories=()), max_size=30)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


@functools.cache
def sample_lines() -> list[bytes]:
    """Real upstream lines (not a fixture: hypothesis would print them with every failure)."""
    logs = shared_logs()
    data = logs["depth3"].read_bytes() + logs["multi_completion"].read_bytes()
    return data.splitlines()


def touch_everything(traj: Any) -> None:
    """What the UI and the CLI do with a model: none of it may raise."""
    for run in traj.runs:
        run.total_usage()
        run.total_time()
        run.sub_calls_by_depth()
        run.max_depth_reached()
        _ = run.model, run.max_iterations, run.path
        for node in run.walk():
            assert traj.find(node.path) is node
            if isinstance(node, Iteration):
                node.total_usage()
                record_from_iteration(node)  # the writer accepts whatever was read
                json.dumps(record_from_iteration(node))
            elif isinstance(node, CodeBlock):
                node.usage()
                _ = node.has_error
            elif isinstance(node, SubCall):
                _ = node.failed, node.depth
            elif isinstance(node, Run):
                _ = node.final_answer
            for text in (
                getattr(node, "response", ""),
                getattr(node, "stdout", ""),
                getattr(node, "stderr", ""),
            ):
                text.encode("utf-8")  # sanitised: safe for Qt
    for bad in traj.bad_lines:
        assert 1 <= bad.line_no <= max(traj.line_count, 1)
        bad.text.encode("utf-8")


def lazy_agrees(data: bytes) -> None:
    fd, name = tempfile.mkstemp(suffix=".jsonl")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        with LazyTrajectory(name, chunk_size=1024) as lt:
            snap = lt.index_all(validate=True)
            traj = read_file(name)
            assert [[s.line_no for s in r.iterations] for r in snap.runs] == [
                [it.line_no for it in r.iterations] for r in traj.runs
            ]
            assert [r.status for r in snap.runs] == [r.status for r in traj.runs]
            assert [b.line_no for b in snap.bad_lines] == [b.line_no for b in traj.bad_lines]
            for r in snap.runs:
                for s in r.iterations:
                    it = lt.load_iteration(r.index, s.position)
                    assert it.number == s.number
    finally:
        os.unlink(name)


@SETTINGS
@given(st.binary(max_size=3000))
def test_random_bytes_never_raise(data: bytes) -> None:
    traj = read_bytes(data)
    touch_everything(traj)
    read_bytes(data, still_running=True)
    lazy_agrees(data)


@SETTINGS
@given(
    st.lists(
        st.sampled_from(
            [
                b"{",
                b"}",
                b"[",
                b"]",
                b'"',
                b"\\",
                b":",
                b",",
                b"\n",
                b"\r\n",
                b"NaN",
                b'{"type": "iteration"',
                b'"iteration": ',
                b"1",
                b'"final_answer": null, ',
                b'"iteration_time": ',
                b"null",
                b'"\\ud800"',
            ]
        ),
        max_size=60,
    )
)
def test_json_like_token_soup_never_raises(tokens: list[bytes]) -> None:
    data = b"".join(tokens)
    touch_everything(read_bytes(data))
    lazy_agrees(data)


@SETTINGS
@given(st.data())
def test_truncated_and_garbage_lines_are_reported_and_the_rest_loads(data: Any) -> None:
    lines = list(sample_lines())
    n_bad = data.draw(st.integers(1, 4))
    bad_positions: set[int] = set()
    for _ in range(n_bad):
        i = data.draw(st.integers(0, len(lines) - 1))
        if len(lines[i]) > 1 and data.draw(st.booleans()):
            cut = data.draw(st.integers(1, len(lines[i]) - 1))
            lines[i] = lines[i][:cut]  # a truncated record
        else:
            garbage = data.draw(
                st.binary(min_size=1, max_size=40).filter(lambda b: b"\n" not in b and b.strip())
            )
            lines.insert(i, b"}" + garbage)  # never valid JSON
            bad_positions = {p + 1 if p >= i else p for p in bad_positions}
        bad_positions.add(i)
    blob = b"\n".join(lines) + b"\n"
    traj = read_bytes(blob)
    touch_everything(traj)
    assert sorted(b.line_no for b in traj.bad_lines) == sorted(p + 1 for p in bad_positions)
    good_iterations = {
        i + 1
        for i, line in enumerate(lines)
        if i not in bad_positions and line.startswith(b'{"type": "iteration"')
    }
    loaded = {it.line_no for run in traj.runs for it in run.iterations}
    assert loaded == good_iterations
    lazy_agrees(blob)


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


def _replace(obj: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    obj[path[0]] = _replace(obj[path[0]], path[1:], value)
    return obj


@SETTINGS
@given(st.data())
def test_random_values_in_any_field(data: Any) -> None:
    sample = sample_lines()
    line_i = data.draw(st.integers(1, len(sample) - 1))
    rec = json.loads(sample[line_i])
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(rec)[1:]
        path = data.draw(st.sampled_from(paths))
        rec = _replace(rec, path, data.draw(json_values))
    line = dumps_record(rec).encode()
    blob = sample[0] + b"\n" + line + b"\n" + sample[1] + b"\n"
    traj = read_bytes(blob)
    touch_everything(traj)
    is_iteration = rec.get("type") == "iteration"
    if is_iteration:
        assert any(it.line_no == 2 for run in traj.runs for it in run.iterations)
    elif rec.get("type") != "metadata":
        assert [b.line_no for b in traj.bad_lines] == [2]
    assert any(it.line_no == 3 for run in traj.runs for it in run.iterations)  # the next line still loads
    lazy_agrees(blob)


def test_deep_nesting_is_a_bad_line_not_a_crash() -> None:
    deep_list = b"[" * 100_000 + b"]" * 100_000
    deep_nan = b'{"type": "iteration", "iteration": 1, "x": ' + b"[" * 990 + b"NaN" + b"]" * 990 + b"}"
    child: dict[str, Any] = {"type": "iteration", "iteration": 1, "code_blocks": [], "final_answer": None}
    for _ in range(100):  # 100 levels of nested child runs: ~800 JSON containers
        call = {"root_model": "m", "response": "r", "metadata": {"run_metadata": {}, "iterations": [child]}}
        child = {
            "type": "iteration",
            "iteration": 1,
            "code_blocks": [{"code": "", "result": {"rlm_calls": [call]}}],
        }
    nested = json.dumps(child).encode()
    ok = b'{"type": "iteration", "iteration": 1, "final_answer": null}'
    blob = b"\n".join([deep_list, deep_nan, nested, ok]) + b"\n"
    traj = read_bytes(blob)
    touch_everything(traj)
    assert {b.line_no for b in traj.bad_lines} >= {1}
    assert 4 in {it.line_no for run in traj.runs for it in run.iterations}
    if not any(b.line_no == 3 for b in traj.bad_lines):
        assert max(r.depth for r in traj.runs[0].runs()) == 100
    lazy_agrees(blob)


def test_special_numbers_survive(tmp_path: Path) -> None:
    line = b'{"type": "iteration", "iteration": 1, "code_blocks": [{"code": "", "result": {"locals": {"a": NaN, "b": -Infinity, "c": 1e400, "d": 123456789012345678901234567890}}}], "final_answer": null, "iteration_time": 1e999}'
    traj = read_bytes(line + b"\n")
    loc = traj.runs[0].iterations[0].code_blocks[0].locals
    assert math.isnan(loc["a"]) and loc["b"] == -math.inf and loc["c"] == math.inf
    assert loc["d"] == 123456789012345678901234567890
    assert traj.runs[0].iterations[0].iteration_time is None  # infinite time is not a time


def test_deep_values_with_nan_from_a_deep_call_stack() -> None:
    """The non-strict fallback path (NaN forces it) must not leak RecursionError, however
    deep the caller's own stack already is."""

    def nested(depth: int) -> bytes:
        return b'{"type": "iteration", "iteration": 1, "x": ' + b"[" * depth + b"NaN" + b"]" * depth + b"}"

    def at_stack_depth(frames: int, data: bytes) -> Any:
        if frames:
            return at_stack_depth(frames - 1, data)
        return read_bytes(data)

    for frames in (0, 300, 600):
        for depth in (100, 400, 700, 950):
            traj = at_stack_depth(frames, nested(depth) + b"\n" + b'{"type": "iteration", "iteration": 2}\n')
            assert 2 in {it.line_no for run in traj.runs for it in run.iterations}
            assert len(traj.bad_lines) + sum(len(r.iterations) for r in traj.runs) == 2
