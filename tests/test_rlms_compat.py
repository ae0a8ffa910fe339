"""Our reader against REAL upstream logs (rlms 0.1.3 driven by the mock LM server).

Every field the model reports is compared with what upstream wrote, read back
independently with ``json.loads`` line by line; the facts the scripted model
guarantees (answers, call counts per depth, token counts) are checked as well.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, RunStatus, SubCall, Usage
from rlm_desktop.trajectory.reader import TrajectoryBuilder, iter_lines, read_bytes, read_file, sanitize_str
from rlm_desktop.trajectory.summary import covered_by_parent, run_usage, trajectory_usage
from tests.support.mock_openai import count_tokens
from tests.support.rlms_scenarios import SCENARIOS, shared_index, shared_logs


@pytest.fixture(scope="session")
def logs() -> dict[str, Path]:
    return shared_logs()


def raw_records(path: Path) -> list[dict[str, Any]]:
    """Upstream's lines as the standard library reads them (terminated lines only)."""
    data = path.read_bytes()
    lines = data.split(b"\n")
    return [json.loads(line) for line in lines[:-1]]


def same(ours: Any, theirs: Any) -> bool:
    """Deep equality where NaN equals NaN and strings compare after sanitising."""
    if isinstance(theirs, float) and isinstance(ours, float) and math.isnan(theirs):
        return math.isnan(ours)
    if isinstance(theirs, str):
        return ours == sanitize_str(theirs)
    if isinstance(theirs, list):
        return isinstance(ours, list) and len(ours) == len(theirs) and all(map(same, ours, theirs))
    if isinstance(theirs, dict):
        return (
            isinstance(ours, dict)
            and list(ours) == [sanitize_str(k) for k in theirs]
            and all(same(ours[sanitize_str(k)], v) for k, v in theirs.items())
        )
    return type(ours) is type(theirs) and ours == theirs


def usage_of(summary: dict[str, Any]) -> Usage:
    u = Usage()
    for m in summary["model_usage_summaries"].values():
        u.calls += m["total_calls"]
        u.input_tokens += m["total_input_tokens"]
        u.output_tokens += m["total_output_tokens"]
    return u


def check_call(call: SubCall, rec: dict[str, Any], caller_depth: int) -> None:
    assert call.model == rec["root_model"]
    assert same(call.prompt, rec["prompt"])
    assert call.response == sanitize_str(rec["response"])
    assert call.execution_time == rec["execution_time"]
    u = usage_of(rec["usage_summary"])
    assert (call.usage.calls, call.usage.input_tokens, call.usage.output_tokens) == (
        u.calls,
        u.input_tokens,
        u.output_tokens,
    )
    assert call.depth == caller_depth + 1
    assert call.error == rec.get("error")
    meta = rec.get("metadata")
    if meta is None:
        assert call.child is None
    else:
        assert call.child is not None and call.child.parent is call
        check_run(call.child, meta["run_metadata"], meta["iterations"], caller_depth + 1)


def check_block(block: CodeBlock, rec: dict[str, Any], depth: int) -> None:
    res = rec["result"]
    assert block.code == sanitize_str(rec["code"])
    assert block.stdout == sanitize_str(res["stdout"])
    assert block.stderr == sanitize_str(res["stderr"])
    assert same(block.locals, res["locals"])
    assert block.execution_time == res["execution_time"]
    assert block.final_answer == res["final_answer"]
    assert len(block.sub_calls) == len(res["rlm_calls"])
    for i, (call, crec) in enumerate(zip(block.sub_calls, res["rlm_calls"], strict=True)):
        assert call.index == i and call.parent is block
        check_call(call, crec, depth)


def check_iteration(it: Iteration, rec: dict[str, Any], depth: int) -> None:
    assert it.number == rec["iteration"]
    assert it.timestamp == rec["timestamp"]
    assert same(it.prompt, rec["prompt"])
    assert it.response == sanitize_str(rec["response"])
    assert it.final_answer == rec["final_answer"]
    assert it.iteration_time == rec["iteration_time"]
    assert it.depth == depth
    assert it.is_default_answer == (rec["iteration_time"] is None and rec["final_answer"] is not None)
    assert len(it.code_blocks) == len(rec["code_blocks"])
    for i, (block, brec) in enumerate(zip(it.code_blocks, rec["code_blocks"], strict=True)):
        assert block.index == i and block.parent is it
        check_block(block, brec, depth)


def check_run(run: Run, meta: dict[str, Any], records: list[dict[str, Any]], depth: int) -> None:
    assert run.depth == depth
    assert same(run.metadata, meta) or all(same(run.metadata.get(k), v) for k, v in meta.items())
    assert len(run.iterations) == len(records)
    for pos, (it, rec) in enumerate(zip(run.iterations, records, strict=True)):
        assert it.position == pos and it.parent is run
        check_iteration(it, rec, depth)
    finals = [r["final_answer"] for r in records if r["final_answer"] is not None]
    assert run.final_answer == (finals[-1] if finals else None)
    if not finals:
        assert run.status == RunStatus.INCOMPLETE
    elif records[-1]["iteration_time"] is None:
        assert run.status == RunStatus.MAX_ITERATIONS
    else:
        assert run.status == RunStatus.FINISHED


def split_completions(records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Upstream 0.1.1+ numbering restarts at 1 for every completion."""
    groups: list[list[dict[str, Any]]] = []
    for rec in records:
        if rec["type"] != "iteration":
            continue
        if rec["iteration"] == 1 or not groups:
            groups.append([])
        groups[-1].append(rec)
    return groups


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_field_matches_upstream(logs: dict[str, Path], name: str) -> None:
    path = logs[name]
    records = raw_records(path)
    traj = read_file(str(path))
    assert traj.era == "0.1.2+"
    assert records[0]["type"] == "metadata"
    assert same(traj.metadata, records[0])
    groups = split_completions(records)
    assert len(traj.runs) == len(groups)
    for i, (run, recs) in enumerate(zip(traj.runs, groups, strict=True)):
        assert run.index == i and run.parent is None
        check_run(run, {k: v for k, v in records[0].items()}, recs, 0)
        for it, rec in zip(run.iterations, recs, strict=True):
            assert it.line_no == records.index(rec) + 1
    # every node path resolves back to the node
    for node in traj.walk():
        assert traj.find(node.path) is node


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scripted_facts(logs: dict[str, Path], name: str) -> None:
    """What the scripted model guarantees, independent of the JSON."""
    expect = SCENARIOS[name].expect
    traj = read_file(str(logs[name]))
    assert len(traj.runs) == expect["runs"]
    assert [len(r.iterations) for r in traj.runs] == expect["iterations"]
    run = traj.runs[0]
    if "blocks" in expect:
        assert [len(it.code_blocks) for it in run.iterations] == expect["blocks"]
    if "final_answer" in expect:
        assert run.final_answer == expect["final_answer"]
        assert run.status == RunStatus.FINISHED
    if "final_answers" in expect:
        assert [r.final_answer for r in traj.runs] == expect["final_answers"]
    if "sub_calls_by_depth" in expect:
        assert run.sub_calls_by_depth() == expect["sub_calls_by_depth"]
    if "max_run_depth" in expect:
        assert run.max_depth_reached() == expect["max_run_depth"]
    if "status" in expect:
        assert run.status.value == expect["status"]
    if "default_answer" in expect:
        last = run.iterations[-1]
        assert last.is_default_answer and last.final_answer == expect["default_answer"]
        assert last.number == run.max_iterations + 1 and not last.code_blocks
        assert run.final_answer == expect["default_answer"]
    if "child_default_answer" in expect:
        child = run.iterations[0].code_blocks[0].sub_calls[0].child
        assert child is not None and child.status == RunStatus.MAX_ITERATIONS
        assert child.iterations[-1].is_default_answer
        assert child.final_answer == expect["child_default_answer"]
    if expect.get("partial_tail"):
        assert traj.pending_tail
        assert [b.line_no for b in traj.bad_lines] == [traj.line_count]
    else:
        assert not traj.bad_lines and not traj.pending_tail


def test_exception_and_stderr_blocks(logs: dict[str, Path]) -> None:
    run = read_file(str(logs["basic"])).runs[0]
    failing, warned = run.iterations[1].code_blocks
    assert failing.stderr == SCENARIOS["basic"].expect["stderr_exception"] and failing.has_error
    assert failing.stdout == "before the error\n"
    assert "ratio" not in failing.locals  # upstream keeps no variables from a failing block
    assert warned.stderr == "warning: careful\n" and warned.locals["ok"] is True
    assert run.iterations[2].code_blocks == [] and "```python" in run.iterations[2].response
    assert "héllo wörld — 日本語 🚀 135" in run.iterations[3].code_blocks[0].stdout


def test_sub_call_tokens_match_what_the_mock_counted(logs: dict[str, Path]) -> None:
    call = next(read_file(str(logs["basic"])).runs[0].iterations[0].sub_calls())
    assert call.prompt.startswith("Summarise: ")
    assert call.usage.calls == 1
    assert call.usage.input_tokens == count_tokens(call.prompt)
    assert call.usage.output_tokens == count_tokens(call.response)


def test_depth3_tree_shape(logs: dict[str, Path]) -> None:
    run = read_file(str(logs["depth3"])).runs[0]
    d1_call = run.iterations[0].code_blocks[0].sub_calls[0]
    d1 = d1_call.child
    assert d1 is not None and d1.model == "mock-d1" and d1.depth == 1 and len(d1.iterations) == 2
    plain = d1.iterations[0].code_blocks[0].sub_calls[0]
    assert plain.child is None and plain.depth == 2 and plain.model == "mock-d1"
    d2 = d1.iterations[1].code_blocks[0].sub_calls[0].child
    assert d2 is not None and d2.model == "mock-d2" and d2.depth == 2
    leaf = d2.iterations[0].code_blocks[0].sub_calls[0]
    assert leaf.child is None and leaf.model == "mock-leaf" and leaf.depth == 3
    assert leaf.response == "[mock-leaf] re: deepest question"
    batch = run.iterations[1].code_blocks[0].sub_calls
    assert [c.child.final_answer for c in batch if c.child] == [f"B:batch item {i}" for i in range(3)]
    assert leaf.path.startswith(d2.path + "/") and d2.path.startswith(d1.path + "/")
    # nested usage includes every call below the root at every depth
    total = run.nested_usage()
    assert total.calls == sum(c.usage.calls for c in run.walk() if isinstance(c, SubCall))
    assert total.input_tokens > 0 and total.cost is None


def test_exotic_values(logs: dict[str, Path]) -> None:
    block = read_file(str(logs["exotic"])).runs[0].iterations[0].code_blocks[0]
    loc = block.locals
    assert math.isnan(loc["nan_v"]) and loc["inf_v"] == math.inf and loc["ninf_v"] == -math.inf
    assert loc["floats"][2] == {"neg": -math.inf} and math.copysign(1, loc["floats"][3]) == -1
    assert loc["floats"][4] == 5e-324
    assert loc["lone"] == "\ufffd lone"  # lone surrogate replaced, text kept
    assert loc["pair"] == "🚀"  # a surrogate *pair* is one character
    assert loc["uni"] == "héllo ünïcode — 日本語 🚀"
    assert loc["ctrl"] == "a\x00b\x1bc\x7fd\u2028e"
    assert loc["big"] == 10**40
    assert loc["tuple_keys"] == {"(1, 2)": "tuple key", "3": "int key"}
    assert loc["a_set"] == "{1, 2, 3}" and loc["raw"] == "b'\\x00\\xffbytes'"
    for node in read_file(str(logs["exotic"])).walk():
        for text in (getattr(node, "stdout", ""), getattr(node, "response", "")):
            text.encode("utf-8")  # every string is safe for Qt


def test_crash_partial_line_pending_or_bad(logs: dict[str, Path]) -> None:
    data = logs["crash_partial"].read_bytes()
    assert not data.endswith(b"\n")
    live = read_bytes(data, still_running=True)
    assert live.pending_tail and not live.bad_lines
    assert live.runs[0].status == RunStatus.RUNNING
    done = read_bytes(data)
    assert done.bad_lines[0].line_no == data.count(b"\n") + 1
    assert "unterminated" in done.bad_lines[0].message
    assert done.runs[0].status == RunStatus.INCOMPLETE


@pytest.mark.parametrize("name", ["depth3", "multi_completion", "exotic"])
def test_crlf_and_line_by_line_feeding_give_the_same_tree(logs: dict[str, Path], name: str) -> None:
    data = logs[name].read_bytes()
    base = read_bytes(data)
    crlf = read_bytes(data.replace(b"\n", b"\r\n"))
    builder = TrajectoryBuilder()
    for line_no, raw, _ in iter_lines(data):
        builder.feed_raw(line_no, raw)
    fed = builder.finish()
    for other in (crlf, fed):
        assert not other.bad_lines
        assert [n.path for n in other.walk()] == [n.path for n in base.walk()]
        assert [r.final_answer for r in other.runs] == [r.final_answer for r in base.runs]
        assert [r.status for r in other.runs] == [r.status for r in base.runs]


@pytest.mark.parametrize("name", [n for n in SCENARIOS if n not in ("batched", "crash_partial")])
def test_usage_totals_count_every_call_once(logs: dict[str, Path], name: str) -> None:
    """summary.trajectory_usage equals what the mock server really answered (root turns
    aside; upstream does not log those). ``batched`` is left out: upstream logs one
    batch's last usage for every entry and drops failed batches, so no reader can
    recover the truth from that file."""
    truth = shared_index()[name]["mock_usage"]
    u = trajectory_usage(read_file(str(logs[name])))
    assert (u.calls, u.input_tokens, u.output_tokens) == (
        truth["calls"],
        truth["input_tokens"],
        truth["output_tokens"],
    )


def test_model_roll_up_double_counts_child_llm_calls_and_summary_does_not(logs: dict[str, Path]) -> None:
    traj = read_file(str(logs["depth3"]))
    run = traj.runs[0]
    d1_call = run.iterations[0].code_blocks[0].sub_calls[0]
    llm_in_child = d1_call.child.iterations[0].code_blocks[0].sub_calls[0]
    assert covered_by_parent(llm_in_child)  # an llm_query inside a child: in the child's summary
    leaf = (
        d1_call.child.iterations[1]
        .code_blocks[0]
        .sub_calls[0]
        .child.iterations[0]
        .code_blocks[0]
        .sub_calls[0]
    )
    assert not covered_by_parent(leaf)  # a leaf rlm_query at max depth: a separate client
    assert run.total_usage().calls - run_usage(run).calls == 1
    assert run_usage(run, upstream=False) == run.total_usage()
