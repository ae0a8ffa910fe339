"""The RLM loop with a scripted model: turns, blocks, sub-calls, children, default answer, gate."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from rlm_desktop.engine import events as ev
from rlm_desktop.engine.clients import ScriptedClient
from rlm_desktop.engine.config import BackendConfig, EngineConfig
from rlm_desktop.engine.rlm import RLMEngine
from rlm_desktop.trajectory.model import RunStatus
from rlm_desktop.trajectory.reader import read_file
from tests.test_engine_fakes import env_choice


def R(*codes: str, prose: str = "Let me work on it.") -> str:
    return "\n\n".join([prose] + [f"```repl\n{c}\n```" for c in codes])


FULL = {
    "r0/i0": R("print(len(context))", "parts = llm_query_batched(['one', 'two', 'three'])\nprint(parts)"),
    "r0/i0/b1/c0": "ONE",
    "r0/i0/b1/c1": "TWO",
    "r0/i0/b1/c2": "THREE",
    "r0/i1": R("x = undefined_name + 1"),
    "r0/i2": R("sub = rlm_query('count the words: a b c')\nprint('child said', sub)"),
    "r0/i2/b0/c0/r/i0": R("w = llm_query('how many words? ' + context)\nprint(w)"),
    "r0/i2/b0/c0/r/i0/b0/c0": "3",
    "r0/i2/b0/c0/r/i1": R("answer['content'] = 'words=' + w\nanswer['ready'] = True"),
    "r0/i3": R("answer['content'] = sub + ' / ' + ', '.join(parts)\nanswer['ready'] = True"),
}


def make_engine(script, tmp_path=None, **cfg) -> tuple[RLMEngine, list]:
    cfg.setdefault("environment", env_choice())
    config = EngineConfig(
        backend=BackendConfig(kind="scripted", model="mock-root"),
        log_dir=str(tmp_path) if tmp_path else None,
        **cfg,
    )
    eng = RLMEngine(config, client=ScriptedClient(script, model="mock-root"))
    events: list = []
    lock = threading.Lock()

    def obs(e):
        with lock:
            events.append(e)

    eng.add_observer(obs)
    return eng, events


def test_full_run_answer_tree_and_log(tmp_path):
    eng, events = make_engine(FULL, tmp_path, max_depth=2, max_iterations=6)
    result = eng.completion("Summarise the parts.", "some context text")
    assert result.status == RunStatus.FINISHED, result.error
    assert result.response == "words=3 / ONE, TWO, THREE"
    assert result.iterations == 4
    # the tree the engine built
    run = result.run
    it0, it1, it2, it3 = run.iterations
    assert [b.code for b in it0.code_blocks][0] == "print(len(context))"
    assert it0.code_blocks[0].stdout.strip() == "17"
    assert [c.response for c in it0.code_blocks[1].sub_calls] == ["ONE", "TWO", "THREE"]
    assert "NameError" in it1.code_blocks[0].stderr
    call = it2.code_blocks[0].sub_calls[0]
    assert call.child is not None and call.child.depth == 1
    assert call.extra == {"kind": "rlm", "batched": False}
    assert it0.code_blocks[1].sub_calls[0].extra == {"kind": "llm", "batched": True}
    assert call.response == "words=3"
    assert call.child.iterations[0].code_blocks[0].sub_calls[0].response == "3"
    assert it2.code_blocks[0].stdout.strip() == "child said words=3"
    # the log: metadata + one line per root iteration, child nested
    lines = Path(result.log_path).read_text(encoding="ascii").splitlines()
    recs = [json.loads(x) for x in lines]
    assert [r["type"] for r in recs] == ["metadata"] + ["iteration"] * 4
    assert recs[0]["root_model"] == "mock-root" and recs[0]["max_depth"] == 2
    assert recs[0]["rlm_desktop"]["run_id"] == result.run_id
    assert [r["iteration"] for r in recs[1:]] == [1, 2, 3, 4]
    nested = recs[3]["code_blocks"][0]["result"]["rlm_calls"][0]["metadata"]
    assert nested["run_metadata"]["max_depth"] == 2 and "type" not in nested["run_metadata"]
    assert [i["iteration"] for i in nested["iterations"]] == [1, 2]
    assert recs[4]["final_answer"] == result.response
    assert recs[1]["rlm_desktop"]["usage"]["model_usage_summaries"]["mock-root"]["total_calls"] == 1
    # the reader understands it
    traj = read_file(result.log_path)
    assert not traj.bad_lines and traj.era == "rlm_desktop"
    assert traj.runs[0].final_answer == result.response
    assert traj.runs[0].status == RunStatus.FINISHED
    assert traj.find("r0/i2/b0/c0/r/i0/b0/c0").response == "3"


def test_event_order_and_ids():
    eng, events = make_engine(FULL, max_depth=2, max_iterations=6)
    result = eng.completion("q", "some context text")
    root = result.run_id
    child = f"{root}/3.0.0"
    assert {e.run_id for e in events} == {root, child}
    assert events[0].kind == "RunStarted" and events[0].parent_id is None and events[0].iteration == 0
    assert events[-1].kind == "RunFinished" and events[-1].run_id == root
    ch = [e for e in events if e.run_id == child]
    assert ch[0].kind == "RunStarted" and ch[0].parent_id == root and ch[0].depth == 1
    assert ch[0].spawned_at == (3, 0, 0)
    assert all(e.depth == 1 and e.parent_id == root for e in ch)
    started = next(e for e in events if e.kind == "SubCallStarted" and e.recursive)
    assert started.child_run_id == child and started.iteration == 3
    kinds = [e.kind for e in events if e.run_id == root and e.iteration == 1]
    assert kinds[:3] == ["IterationStarted", "LMRequest", "LMResponse"]
    assert kinds[-1] == "IterationFinished"
    assert kinds.count("SubCallStarted") == kinds.count("SubCallFinished") == 3
    # a child's events come between its SubCallStarted and SubCallFinished
    i_start = events.index(started)
    i_end = next(i for i, e in enumerate(events) if e.kind == "SubCallFinished" and e.child_run_id == child)
    assert all(i_start < events.index(e) < i_end for e in ch)
    fin = events[i_end]
    assert fin.completion["metadata"]["iterations"][-1]["final_answer"] == "words=3"


def test_default_answer_after_max_iterations(tmp_path):
    script = {"r0/i0": R("print('a')"), "r0/i1": R("print('b')"), "r0/i2": "My best guess is 42."}
    eng, events = make_engine(script, tmp_path, max_iterations=2)
    result = eng.completion("q", "ctx")
    assert result.status == RunStatus.MAX_ITERATIONS
    assert result.response == "My best guess is 42."
    recs = [json.loads(x) for x in Path(result.log_path).read_text().splitlines()]
    last = recs[-1]
    assert last["iteration"] == 3 and last["code_blocks"] == [] and last["iteration_time"] is None
    assert last["final_answer"] == last["response"] == "My best guess is 42."
    traj = read_file(result.log_path)
    assert traj.runs[0].status == RunStatus.MAX_ITERATIONS
    assert traj.runs[0].iterations[-1].is_default_answer


def test_rlm_query_at_max_depth_is_a_plain_call():
    script = {
        "r0/i0": R("a = rlm_query('sub question')\nanswer['content'] = a\nanswer['ready'] = True"),
        "r0/i0/b0/c0": "plain answer",
    }
    eng, events = make_engine(script, max_depth=1)
    result = eng.completion("q", "ctx")
    assert result.response == "plain answer"
    call = result.run.iterations[0].code_blocks[0].sub_calls[0]
    assert call.child is None
    assert not any(e.kind == "SubCallStarted" and e.recursive for e in events)


def test_text_final_for_older_prompts():
    eng, _ = make_engine({"r0/i0": R("v = 6 * 7"), "r0/i1": "Done.\nFINAL_VAR(v)"})
    assert eng.completion("q", "ctx").response == "42"
    eng, _ = make_engine({"r0/i0": "FINAL(the answer is (x) = 3)"})
    assert eng.completion("q", "ctx").response == "the answer is (x) = 3"


def test_gate_edit_changes_what_runs_and_is_logged(tmp_path):
    script = {"r0/i0": R("answer['content'] = 'from model'\nanswer['ready'] = True")}
    edited = R("answer['content'] = 'from the user'\nanswer['ready'] = True", prose="Edited.")

    class Gate:
        seen: list = []

        def checkpoint(self, e):
            self.seen.append(e.kind)
            if isinstance(e, ev.LMResponse):
                return ev.ResponseEdit(edited)
            return None

    eng, events = make_engine(script, tmp_path)
    eng.set_gate(Gate())
    result = eng.completion("q", "ctx")
    assert result.response == "from the user"
    rec = json.loads(Path(result.log_path).read_text().splitlines()[1])
    assert rec["response"] == edited
    assert rec["rlm_desktop"]["edited"] is True
    assert "from model" in rec["rlm_desktop"]["original_response"]
    assert any(e.kind == "LMResponseEdited" for e in events)
    # observers saw each event before the gate
    assert Gate.seen[0] == "RunStarted"
    it = read_file(result.log_path).runs[0].iterations[0]
    assert it.edited and "from model" in it.original_response


def test_gate_can_cancel_cleanly(tmp_path):
    script = {"r0/i0": R("print('one')"), "r0/i1": R("print('two')")}

    def gate(e):
        if isinstance(e, ev.LMRequest) and e.iteration == 2:
            raise ev.RunCancelledError("stopped in the debugger")

    eng, events = make_engine(script, tmp_path)
    eng.set_gate(gate)
    result = eng.completion("q", "ctx")
    assert result.status == RunStatus.CANCELLED and result.response is None
    assert events[-1].kind == "RunCancelled"
    recs = [json.loads(x) for x in Path(result.log_path).read_text().splitlines()]
    assert recs[-1]["iteration"] == 2 and recs[-1]["rlm_desktop"]["status"] == "cancelled"
    assert read_file(result.log_path).runs[0].status == RunStatus.CANCELLED


def test_batched_calls_run_in_parallel_within_the_bound():
    live = {"now": 0, "max": 0}
    lock = threading.Lock()
    gate = threading.Event()

    def slow(msgs, site):
        with lock:
            live["now"] += 1
            live["max"] = max(live["max"], live["now"])
        gate.wait(0.15)
        with lock:
            live["now"] -= 1
        return "x" + str(site.call)

    script = {
        "r0/i0": R(
            "r = llm_query_batched([str(i) for i in range(7)])\nanswer['content'] = ''.join(r)\n"
            "answer['ready'] = True"
        ),
        "*": slow,
    }
    eng, _ = make_engine(script, max_parallel=3)
    result = eng.completion("q", "ctx")
    assert result.response == "x0x1x2x3x4x5x6"
    assert live["max"] == 3


def test_broken_observers_and_gates_do_not_break_the_run(tmp_path, caplog):
    eng, events = make_engine({"r0/i0": R("answer['content'] = 'ok'\nanswer['ready'] = True")}, tmp_path)

    def bad_observer(e):
        raise RuntimeError("observer bug")

    def bad_gate(e):
        raise ValueError("gate bug")

    eng.add_observer(bad_observer)
    eng.set_gate(bad_gate)
    result = eng.completion("q", "ctx")
    assert result.ok and result.response == "ok"
    assert "observer bug" in caplog.text and "gate bug" in caplog.text
    assert events[-1].kind == "RunFinished"


def test_one_engine_runs_completions_one_after_another(tmp_path):
    script = {
        "r0/i0": lambda msgs, site: R(
            f"answer['content'] = str(len({msgs[1]['content']!r}))\nanswer['ready'] = True"
        )
    }
    eng, _ = make_engine(script, tmp_path)
    first = eng.completion("q", "a")
    second = eng.completion("q", "b" * 20)
    assert first.ok and second.ok and first.response != second.response
    assert first.log_path != second.log_path and first.run_id != second.run_id
    assert not eng.running
    # a second completion while one runs is refused
    hold = threading.Event()
    release = threading.Event()

    def gate(e):
        if e.kind == "LMRequest":
            hold.set()
            release.wait(5)

    eng.set_gate(gate)
    t = threading.Thread(target=eng.completion, args=("q", "c"))
    t.start()
    assert hold.wait(5)
    try:
        with pytest.raises(RuntimeError, match="already running"):
            eng.completion("q", "d")
    finally:
        release.set()
        t.join(5)
