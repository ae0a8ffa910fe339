"""LiveRecorder: a run recorded live equals, field by field, the run read back from its log."""

from __future__ import annotations

import threading

from rlm_desktop.engine import events as ev
from rlm_desktop.engine.recorder import LiveRecorder
from rlm_desktop.trajectory.model import CodeBlock, Iteration, RunStatus, SubCall
from rlm_desktop.trajectory.reader import read_file
from tests.test_engine_fakes import model_diff
from tests.test_engine_loop import FULL, R, make_engine


def record(script, tmp_path, *, gate=None, **cfg):
    eng, _ = make_engine(script, tmp_path, **cfg)
    rec = LiveRecorder()
    lock = threading.Lock()
    touched = []

    def obs(e):
        with lock:  # events of parallel children come from several threads
            touched.append(rec.apply(e))

    eng.add_observer(obs)
    if gate is not None:
        eng.set_gate(gate)
    result = eng.completion("Summarise the parts.", "some context text")
    return result, rec, touched


def test_live_equals_file_full_tree(tmp_path):
    result, rec, touched = record(FULL, tmp_path, max_depth=2, max_iterations=6)
    assert result.status == RunStatus.FINISHED
    live = rec.trajectory
    disk = read_file(result.log_path)
    assert len(live.runs) == len(disk.runs) == 1
    assert live.metadata == disk.metadata
    assert live.era == disk.era == "rlm_desktop"
    assert live.runs[0].run_id == disk.runs[0].run_id == result.run_id
    diff = model_diff(live.runs[0], disk.runs[0])
    assert diff == []
    # the recorder hands back the nodes it touched, and nothing is left running
    assert any(isinstance(n, SubCall) and n.child is not None for n in touched)
    assert not any(getattr(n, "running", False) for n in live.walk())
    child = live.find("r0/i2/b0/c0/r")
    assert child is not None and child.status == RunStatus.FINISHED and child.final_answer == "words=3"


def test_live_equals_file_default_answer_batched_and_edit(tmp_path):
    script = {
        "r0/i0": R("r = rlm_query_batched(['p0', 'p1', 'p2'])\nprint(r)"),
        "r0/i0/b0/c0/r/i0": R("answer['content'] = 'c0'\nanswer['ready'] = True"),
        "r0/i0/b0/c1/r/i0": R("answer['content'] = 'c1'\nanswer['ready'] = True"),
        "r0/i0/b0/c2/r/i0": "no code here",
        "r0/i0/b0/c2/r/i1": "still no code",
        "r0/i0/b0/c2/r/i2": "Child default.",
        "r0/i1": R("print('still going')"),
        "r0/i2": "Root default answer.",
    }

    def gate(e):
        if isinstance(e, ev.LMResponse) and e.depth == 0 and e.iteration == 2:
            return ev.ResponseEdit(R("print('edited')"))
        return None

    result, rec, _ = record(script, tmp_path, gate=gate, max_depth=2, max_iterations=2, max_parallel=3)
    assert result.status == RunStatus.MAX_ITERATIONS
    disk = read_file(result.log_path)
    assert model_diff(rec.trajectory.runs[0], disk.runs[0]) == []
    run = rec.trajectory.runs[0]
    assert [c.response for c in run.iterations[0].code_blocks[0].sub_calls] == ["c0", "c1", "Child default."]
    assert run.iterations[0].code_blocks[0].sub_calls[2].child.status == RunStatus.MAX_ITERATIONS
    assert run.iterations[1].edited and run.iterations[1].code_blocks[0].stdout == "edited\n"


def test_live_equals_file_failed_run(tmp_path):
    script = {"r0/i0": R("print('ok')"), "r0/i1": R("x = 1/0"), "r0/i2": R("y = 1/0")}
    result, rec, _ = record(script, tmp_path, max_errors=2)
    assert result.status == RunStatus.FAILED and "max_errors 2" in result.error
    disk = read_file(result.log_path)
    assert disk.runs[0].status == RunStatus.FAILED
    assert model_diff(rec.trajectory.runs[0], disk.runs[0]) == []


def test_running_flags_while_live():
    rec = LiveRecorder()
    seen = {}

    def obs(e):
        node = rec.apply(e)
        if isinstance(e, ev.CodeBlockStarted):
            seen["block"] = isinstance(node, CodeBlock) and node.running
            seen["it"] = node.parent.running
        if isinstance(e, ev.SubCallStarted):
            seen["call"] = node.running
        if isinstance(e, ev.IterationFinished) and e.depth == 0:
            seen.setdefault("done", isinstance(node, Iteration) and not node.running)

    eng, _ = make_engine(
        {"r0/i0": R("a = llm_query('x')\nanswer['content'] = a\nanswer['ready'] = True"), "r0/i0/b0/c0": "A"}
    )
    eng.add_observer(obs)
    eng.completion("q", "ctx")
    assert seen == {"block": True, "it": True, "call": True, "done": True}
    assert rec.trajectory.runs[0].final_answer == "A"


def test_live_equals_file_cancelled_inside_a_child(tmp_path):
    script = dict(FULL)

    def gate(e):
        if isinstance(e, ev.SubCallStarted) and e.depth == 1:
            raise ev.RunCancelledError("stopped in the debugger")

    result, rec, _ = record(script, tmp_path, gate=gate, max_depth=2, max_iterations=6)
    assert result.status == RunStatus.CANCELLED
    disk = read_file(result.log_path)
    assert model_diff(rec.trajectory.runs[0], disk.runs[0]) == []
    child = rec.trajectory.find("r0/i2/b0/c0/r")
    assert child.status == RunStatus.CANCELLED and disk.find("r0/i2/b0/c0/r").status == RunStatus.CANCELLED
    assert rec.trajectory.runs[0].status == RunStatus.CANCELLED
