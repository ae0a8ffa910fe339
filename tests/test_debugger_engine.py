"""The pause gate on the real engine (scripted model): breakpoints, steps, stop, edits, parallel."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from rlm_desktop.debugger.controller import FINISHED, DebugController
from rlm_desktop.engine import events as ev
from rlm_desktop.trajectory.model import RunStatus
from tests.debugger_streams import paused_at, wait_for
from tests.test_engine_fakes import real_repl_available
from tests.test_engine_loop import FULL, R, make_engine


class Runner(threading.Thread):
    def __init__(self, eng, *args):
        super().__init__(name="engine", daemon=True)
        self.eng, self.args, self.result = eng, args, None

    def run(self):
        self.result = self.eng.completion(*self.args)


def debug(script, tmp_path, **cfg):
    eng, events = make_engine(script, tmp_path, **cfg)
    ctl = DebugController()
    ctl.attach(eng)
    return eng, ctl, events


def go(eng):
    r = Runner(eng, "Summarise the parts.", "some context text")
    r.start()
    return r


def done(ctl, r):
    ctl.resume()
    r.join(10)
    assert not r.is_alive()
    return r.result


def test_breakpoint_then_continue_finishes(tmp_path):
    eng, ctl, events = debug(FULL, tmp_path, max_depth=2, max_iterations=6)
    bp = ctl.breakpoints.add(kind="stderr")
    r = go(eng)
    at = paused_at(ctl)
    assert isinstance(at, ev.CodeBlockFinished) and "NameError" in at.result["stderr"]
    assert ctl.state().breakpoint is bp and at.iteration == 2
    n = len(events)
    assert len(events) == n  # the engine waits
    res = done(ctl, r)
    assert res.status == RunStatus.FINISHED and res.response == "words=3 / ONE, TWO, THREE"
    assert ctl.state().state == FINISHED


def test_step_into_a_child_run_then_out(tmp_path):
    eng, ctl, _ = debug(FULL, tmp_path, max_depth=2, max_iterations=6)
    ctl.breakpoints.add(kind="subcall", condition="call_kind == 'rlm'", depth=0)
    r = go(eng)
    at = paused_at(ctl)
    assert isinstance(at, ev.SubCallStarted) and at.recursive
    ctl.step_into()
    wait_for(lambda: ctl.selected and ctl.selected.event is not at)
    child = ctl.selected.event
    assert isinstance(child, ev.RunStarted) and child.run_id == at.child_run_id and child.depth == 1
    ctl.step_into()
    wait_for(lambda: ctl.selected and ctl.selected.event is not child)
    assert isinstance(ctl.selected.event, ev.IterationStarted) and ctl.selected.run_id == child.run_id
    ctl.step_out()
    wait_for(lambda: ctl.selected and ctl.selected.depth == 0)
    back = ctl.selected.event
    assert isinstance(back, ev.SubCallFinished) and back.child_run_id == child.run_id
    assert back.completion["response"] == "words=3"
    ctl.step_over()
    wait_for(lambda: ctl.selected and ctl.selected.event is not back)
    assert isinstance(ctl.selected.event, ev.CodeBlockFinished) and ctl.selected.depth == 0
    assert done(ctl, r).status == RunStatus.FINISHED


def child_processes() -> list[str]:
    """Command lines of this process's live child processes (Linux /proc)."""
    import os

    me, out = str(os.getpid()), []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            if fields[1] == me and fields[0] != "Z":
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    out.append(f.read().replace(b"\0", b" ").decode(errors="replace"))
        except OSError:
            continue
    return out


def test_stop_while_paused_cancels_and_the_log_says_so(tmp_path):
    before = child_processes()
    eng, ctl, events = debug(FULL, tmp_path, max_depth=2, max_iterations=6)
    ctl.breakpoints.add(kind="iteration", iteration=1, depth=1)  # inside the child
    r = go(eng)
    paused_at(ctl)
    if real_repl_available():  # the root's and the child's REPL processes are alive while paused
        assert len([c for c in child_processes() if c not in before]) >= 2
    ctl.stop()
    r.join(10)
    assert not r.is_alive()
    res = r.result
    assert res.status == RunStatus.CANCELLED
    assert any(isinstance(e, ev.RunCancelled) and e.depth == 1 for e in events)
    # (with the subprocess REPL the interrupted sub-call's SubCallFinished may come last)
    ends = [e for e in events if isinstance(e, ev.TERMINAL_EVENTS) and e.depth == 0]
    assert len(ends) == 1 and isinstance(ends[0], ev.RunCancelled)
    recs = [json.loads(x) for x in Path(res.log_path).read_text(encoding="utf-8").splitlines()]
    assert recs[-1]["rlm_desktop"]["status"] == "cancelled"
    st = ctl.state()
    assert st.state == FINISHED and st.cancelled
    # the REPL processes (root and child) are gone
    wait_for(lambda: [c for c in child_processes() if c not in before] == [] or None, timeout=10)


def test_edit_and_continue_runs_and_logs_the_edit(tmp_path):
    script = {"r0/i0": R("print('original')"), "r0/i1": R("answer['content'] = 'never'\nanswer['ready'] = True")}
    eng, ctl, events = debug(script, tmp_path, max_iterations=3)
    ctl.breakpoints.add(kind="text", pattern="original", one_shot=True)
    r = go(eng)
    at = paused_at(ctl)
    assert isinstance(at, ev.LMResponse)
    ctl.edit_response(R("answer['content'] = 'edited!'\nanswer['ready'] = True"))
    res = done(ctl, r)
    assert res.status == RunStatus.FINISHED and res.response == "edited!"
    assert any(isinstance(e, ev.LMResponseEdited) and "original" in e.original for e in events)
    rec = json.loads(Path(res.log_path).read_text(encoding="utf-8").splitlines()[1])
    assert rec["rlm_desktop"]["edited"] is True and "original" in rec["rlm_desktop"]["original_response"]
    assert "edited!" in rec["response"]


BATCH = {
    "r0/i0": R("outs = rlm_query_batched(['a', 'b', 'c'])\nprint(outs)"),
    "r0/i0/b0/c0/r/i0": R("answer['content'] = 'A'\nanswer['ready'] = True"),
    "r0/i0/b0/c1/r/i0": R("answer['content'] = 'B'\nanswer['ready'] = True"),
    "r0/i0/b0/c2/r/i0": R("answer['content'] = 'C'\nanswer['ready'] = True"),
    "r0/i1": R("answer['content'] = '+'.join(outs)\nanswer['ready'] = True"),
}


def test_parallel_children_all_stop_and_stepping_one(tmp_path):
    eng, ctl, _ = debug(BATCH, tmp_path, max_depth=2, max_iterations=3, max_parallel=3)
    ctl.breakpoints.add(kind="depth", depth=1, one_shot=True)
    r = go(eng)
    first = paused_at(ctl)
    assert isinstance(first, ev.RunStarted) and first.depth == 1
    # the other children stop at their next boundary: all-stop
    wait_for(lambda: len(ctl.paused_threads()) == 3)
    threads = ctl.paused_threads()
    assert sorted(t.reason for t in threads) == ["all-stop", "all-stop", "breakpoint"]
    assert len({t.thread_id for t in threads}) == 3
    # the siblings stopped at their own next boundary (each batched call runs on its own
    # thread): their sub-call's start, or, when a sibling got past it before the stop, a
    # boundary of its child run (which one depends on how the threads were scheduled)
    others = [t for t in threads if t.reason == "all-stop"]

    def call_of(t) -> int:
        return t.event.call_index if isinstance(t.event, ev.SubCallStarted) else int(t.event.run_id[-1])

    for t in others:
        assert (isinstance(t.event, ev.SubCallStarted) and t.depth == 0) or t.depth == 1, t.event
    assert len({call_of(t) for t in others} | {int(first.run_id[-1])}) == 3
    pick = min(others, key=lambda t: not isinstance(t.event, ev.SubCallStarted))
    ctl.select(pick.thread_id)
    if isinstance(pick.event, ev.SubCallStarted):
        ctl.step_over()  # over its child run, to the end of its own sub-call (not a sibling's)
    else:
        ctl.step_out()  # out of its child run, to the end of the sub-call that spawned it
    wait_for(lambda: ctl.selected is not None and ctl.selected.reason == "step")
    got = ctl.selected.event
    assert isinstance(got, ev.SubCallFinished) and got.call_index == call_of(pick)
    assert ctl.selected.thread_id == pick.thread_id
    assert got.completion["response"] == "ABC"[call_of(pick)]
    res = done(ctl, r)
    assert res.status == RunStatus.FINISHED and res.response == "A+B+C"


def test_stop_with_parallel_children_paused(tmp_path):
    eng, ctl, _ = debug(BATCH, tmp_path, max_depth=2, max_iterations=3, max_parallel=3)
    ctl.breakpoints.add(kind="depth", depth=1)
    r = go(eng)
    wait_for(lambda: len(ctl.paused_threads()) == 3)
    ctl.stop()
    r.join(10)
    assert not r.is_alive() and r.result.status == RunStatus.CANCELLED
    assert ctl.paused_threads() == []


def test_threads_of_a_parallel_batch_and_continuing_one(tmp_path):
    """Every parallel child's thread is listed with its state; one can be continued alone
    while the others stay paused (all-stop holds for them)."""
    from rlm_desktop.debugger.state import PAUSED, RUNNING

    eng, ctl, _ = debug(BATCH, tmp_path, max_depth=2, max_iterations=3, max_parallel=3)
    bp = ctl.breakpoints.add(kind="depth", depth=1, one_shot=True)
    r = go(eng)
    paused_at(ctl)
    wait_for(lambda: len(ctl.paused_threads()) == 3)
    st = ctl.state()
    lanes = {t.thread_id: t for t in st.runs}
    assert len(lanes) == 4  # the root's thread and one per batched call
    root = [t for t in st.runs if t.label == "root run"]
    assert len(root) == 1 and root[0].state == RUNNING  # it waits in the batch, not at a boundary
    kids = [t for t in st.runs if t.label != "root run"]
    assert sorted(t.label for t in kids) == [f"rlm_query #{c} (iteration 1, block 1)" for c in (1, 2, 3)]
    assert all(t.state == PAUSED for t in kids)
    hit = [t for t in kids if t.breakpoint is not None]
    assert len(hit) == 1 and hit[0].breakpoint.id == bp.id and hit[0].reason == "breakpoint"
    one = kids[0]
    assert ctl.continue_thread(one.thread_id)
    from rlm_desktop.debugger.state import FINISHED as DONE

    wait_for(lambda: {t.thread_id: t.state for t in ctl.state().runs}[one.thread_id] == DONE)
    st = ctl.state()
    assert st.state == PAUSED and len(st.threads) == 2 and one.thread_id not in {t.thread_id for t in st.threads}
    assert not ctl.continue_thread(one.thread_id)  # not paused any more
    res = done(ctl, r)
    assert res.status == RunStatus.FINISHED and res.response == "A+B+C"
    assert all(t.state == DONE for t in ctl.state().runs)
