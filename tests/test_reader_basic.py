"""Basic reader behaviour on hand-written lines of each era."""

from __future__ import annotations

import json

from rlm_desktop.trajectory.model import RunStatus
from rlm_desktop.trajectory.reader import read_bytes, read_file

META = b'{"type": "metadata", "timestamp": "2026-01-01T00:00:00", "root_model": "m", "max_depth": 2, "max_iterations": 3, "backend": "openai", "backend_kwargs": {}, "environment_type": "local", "environment_kwargs": {}, "other_backends": null}'


def _it(n, final="null", blocks="[]", t="1.5", response='"r"'):
    return (
        f'{{"type": "iteration", "iteration": {n}, "timestamp": "2026-01-01T00:00:0{n}", "prompt": [], '
        f'"response": {response}, "code_blocks": {blocks}, "final_answer": {final}, "iteration_time": {t}}}'
    ).encode()


def test_pre_pair_and_completion_split_without_reset():
    data = b"\n".join([META, _it(1), _it(2, final='["FINAL", "42"]'), _it(3), _it(4, final='"x"')]) + b"\n"
    traj = read_bytes(data)
    assert [len(r.iterations) for r in traj.runs] == [2, 2]
    assert traj.runs[0].final_answer == "42"
    assert traj.runs[0].iterations[1].final_answer_kind == "FINAL"
    assert traj.era == "pre"
    assert not traj.bad_lines


def test_bad_lines_nan_crlf_and_partial_tail():
    block = (
        '[{"code": "x = float(\'nan\')", "result": {"stdout": "\\ud800", "stderr": "", '
        '"locals": {"x": NaN}, "execution_time": 0.1, "rlm_calls": [], "final_answer": null}}]'
    )
    data = META + b"\r\n" + _it(1, blocks=block) + b"\r\n{garbage\n" + _it(2)[:40]
    traj = read_bytes(data)
    assert len(traj.runs) == 1
    b = traj.runs[0].iterations[0].code_blocks[0]
    assert b.stdout == "\ufffd"
    assert b.locals["x"] != b.locals["x"]
    assert [bl.line_no for bl in traj.bad_lines] == [3, 4]
    assert traj.runs[0].status == RunStatus.INCOMPLETE


def test_default_answer_record_and_nested_child():
    child = (
        '{"root_model": "c", "prompt": "p", "response": "child-final", "usage_summary": '
        '{"model_usage_summaries": {"c": {"total_calls": 2, "total_input_tokens": 10, "total_output_tokens": 5}}}, '
        '"execution_time": 0.5, "metadata": {"run_metadata": {"root_model": "c"}, "iterations": ['
        + _it(1, final='"child-final"').decode()
        + "]}}"
    )
    block = (
        '[{"code": "y = rlm_query(1)", "result": {"stdout": "", "stderr": "", "locals": {}, '
        f'"execution_time": 0.6, "rlm_calls": [{child}], "final_answer": null}}}}]'
    )
    data = b"\n".join([META, _it(1, blocks=block), _it(4, final='"r"', t="null")]) + b"\n"
    traj = read_bytes(data)
    assert len(traj.runs) == 1
    run = traj.runs[0]
    assert run.status == RunStatus.MAX_ITERATIONS and run.iterations[-1].is_default_answer
    call = run.iterations[0].code_blocks[0].sub_calls[0]
    assert call.child is not None and call.child.depth == 1
    assert call.child.final_answer == "child-final"
    assert call.usage.input_tokens == 10 and call.depth == 1
    assert traj.find(call.child.iterations[0].path) is call.child.iterations[0]
    assert run.sub_calls_by_depth() == {1: 1}


# -- one test per upstream era (shapes from ../shared/spec/TRAJECTORY_FORMAT.md) -------------------


def _rec(n, final=None, blocks=(), t=1.0, ts=None):
    return json.dumps(
        {
            "type": "iteration",
            "iteration": n,
            "timestamp": ts or f"2026-01-05T10:00:{n:02d}.000001",
            "prompt": [{"role": "system", "content": "s"}, {"role": "assistant", "content": "ctx meta"}],
            "response": "resp",
            "code_blocks": list(blocks),
            "final_answer": final,
            "iteration_time": t,
        }
    ).encode()


def _block(code="x = 1", locals_=None, calls=(), final=..., stdout="", stderr=""):
    result = {
        "stdout": stdout,
        "stderr": stderr,
        "locals": locals_ or {},
        "execution_time": 0.25,
        "rlm_calls": list(calls),
    }
    if final is not ...:
        result["final_answer"] = final
    return {"code": code, "result": result}


def test_pre_era_final_var_pair_resolves_from_locals_and_empty_usage():
    leaf = {
        "root_model": "m",
        "prompt": [{"role": "user", "content": "as messages"}],
        "response": "r",
        "usage_summary": {"model_usage_summaries": {}},
        "execution_time": 0.5,
    }
    blocks = [_block("summary_var = 'the summary'", {"summary_var": "the summary"}, calls=[leaf])]
    data = b"\n".join(
        [META, _rec(1, blocks=blocks), _rec(2, final=["FINAL_VAR", "summary_var"], blocks=blocks)]
    )
    traj = read_bytes(data + b"\n")
    assert traj.era == "pre"
    run = traj.runs[0]
    last = run.iterations[-1]
    assert last.final_answer == "the summary" and last.final_answer_kind == "FINAL_VAR"
    assert last.extra["final_var_name"] == "summary_var"
    call = run.iterations[0].code_blocks[0].sub_calls[0]
    assert call.usage.calls == 0 and call.prompt == [{"role": "user", "content": "as messages"}]
    assert run.total_usage().total_tokens == 0


def test_v010_string_finals_split_completions_without_number_reset():
    b = [_block(final=...)]  # 0.1.0: no result.final_answer key
    lines = [
        META,
        _rec(1, blocks=b),
        _rec(2, final="The answer is 7 (seven)", blocks=b),
        _rec(3, blocks=b),
        _rec(4, final="second", blocks=b),
    ]
    traj = read_bytes(b"\n".join(lines) + b"\n")
    assert traj.era == "0.1.0"
    assert [r.final_answer for r in traj.runs] == ["The answer is 7 (seven)", "second"]
    assert [[it.number for it in r.iterations] for r in traj.runs] == [[1, 2], [3, 4]]
    assert [it.position for it in traj.runs[1].iterations] == [0, 1] and traj.runs[1].path == "r1"


def test_v011_block_final_answer_nested_child_and_aborted_run_before_next_completion():
    child_it = json.loads(_rec(1, final="child says hi", blocks=[_block(final="child says hi")]))
    child = {
        "root_model": "child-m",
        "prompt": "task",
        "response": "child says hi",
        "usage_summary": {
            "model_usage_summaries": {
                "child-m": {
                    "total_calls": 2,
                    "total_input_tokens": 30,
                    "total_output_tokens": 4,
                    "total_cost": 0.5,
                }
            },
            "total_cost": 0.5,
        },
        "execution_time": 1.5,
        "metadata": {"run_metadata": {"root_model": "child-m", "max_depth": 2}, "iterations": [child_it]},
    }
    lines = [
        META,
        _rec(1, blocks=[_block(final=None, stderr="\nNameError: name 'y' is not defined")]),
        _rec(2, blocks=[_block(final=None)]),  # aborted here (max_errors): no final, then a reset
        _rec(1, blocks=[_block(calls=[child], final=None)]),
        _rec(2, final="done", blocks=[_block(final="done")], ts="2026-01-05T10:00:02"),
    ]
    traj = read_bytes(b"\n".join(lines) + b"\n")
    assert traj.era == "0.1.1"
    first, second = traj.runs
    assert first.status == RunStatus.INCOMPLETE and first.final_answer is None
    assert first.iterations[0].code_blocks[0].has_error
    assert second.status == RunStatus.FINISHED and second.iterations[1].code_blocks[0].final_answer == "done"
    assert second.iterations[1].timestamp == "2026-01-05T10:00:02"  # no microseconds: kept as written
    call = second.iterations[0].code_blocks[0].sub_calls[0]
    assert call.child.status == RunStatus.FINISHED and call.child.model == "child-m"
    assert call.usage.cost == 0.5 and second.total_usage().cost == 0.5


def test_failed_sub_calls_and_odd_prompts():
    calls = [
        {
            "root_model": "m",
            "prompt": {"weird": "dict"},
            "response": "Error: Child RLM completion failed - boom",
            "usage_summary": {"model_usage_summaries": {}},
            "execution_time": 0.0,
        },
        {
            "root_model": "m",
            "prompt": "p",
            "response": "",
            "usage_summary": {"model_usage_summaries": {}},
            "execution_time": 0.0,
            "error": "llm() call failed - Event loop is closed",
        },
        {
            "root_model": "m",
            "prompt": "p",
            "response": "fine",
            "usage_summary": "junk",
            "execution_time": "slow",
        },
    ]
    traj = read_bytes(META + b"\n" + _rec(1, blocks=[_block(calls=calls, final=None)]) + b"\n")
    c0, c1, c2 = traj.runs[0].iterations[0].code_blocks[0].sub_calls
    assert c0.failed and c0.prompt == {"weird": "dict"} and c0.error is None
    assert c1.failed and c1.error.startswith("llm() call failed")
    assert not c2.failed and c2.execution_time is None and c2.usage.calls == 0
    assert not traj.bad_lines


def test_read_file_on_missing_file_and_directory(tmp_path):
    assert read_file(str(tmp_path / "missing.jsonl")).bad_lines[0].line_no == 0
    assert read_file(str(tmp_path)).bad_lines[0].line_no == 0


def test_bom_on_the_first_line_is_accepted():
    traj = read_bytes(b"\xef\xbb\xbf" + META + b"\n" + _rec(1, final="x") + b"\n")
    assert not traj.bad_lines and traj.metadata["root_model"] == "m" and traj.runs[0].final_answer == "x"


def test_integers_beyond_64_bits_stay_exact():
    from rlm_desktop.trajectory.reader import parse_line

    big = 2**70 + 1
    assert parse_line(f'{{"n": {big}, "m": -{big}, "f": 1.5}}'.encode()) == {"n": big, "m": -big, "f": 1.5}
    # with NaN on the same line (the non-strict fallback) too
    obj = parse_line(f'{{"n": {big}, "x": NaN}}')
    assert obj["n"] == big and obj["x"] != obj["x"]
    # long digit runs inside strings change nothing
    assert parse_line(b'{"s": "123456789012345678901234567890"}') == {"s": "123456789012345678901234567890"}


def test_history_and_context_repeated_on_every_line_are_held_once():
    system = "You are an RLM. " * 40  # long texts upstream repeats on every iteration line
    context = "row," * 500
    lines = [META]
    history = [{"role": "system", "content": system}]
    for n in (1, 2, 3):
        history = [*history, {"role": "user", "content": f"turn {n} " + "x" * 300}]
        rec = json.loads(_it(n))
        rec["prompt"] = history
        rec["code_blocks"] = [{"code": "print(1)", "result": {"stdout": "1\n", "stderr": "", "locals": {"context": context}, "execution_time": 0.1, "rlm_calls": []}}]
        lines.append(json.dumps(rec).encode())
    traj = read_bytes(b"\n".join(lines) + b"\n")
    its = traj.runs[0].iterations
    assert [len(it.prompt) for it in its] == [2, 3, 4]
    assert its[0].prompt[0]["content"] == system
    assert its[2].prompt[0]["content"] is its[0].prompt[0]["content"]  # one object, not three copies
    assert its[2].prompt[1]["content"] is its[1].prompt[1]["content"]
    assert its[2].code_blocks[0].locals["context"] is its[0].code_blocks[0].locals["context"] == context
    assert its[2].prompt[3]["content"].startswith("turn 3 ")
