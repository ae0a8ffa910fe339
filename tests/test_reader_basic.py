"""Basic reader behaviour on hand-written lines of each era."""

from __future__ import annotations

from rlm_desktop.trajectory.model import RunStatus
from rlm_desktop.trajectory.reader import read_bytes

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
