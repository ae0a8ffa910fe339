"""The pause gate driven by synthetic event streams from engine-like threads."""

from __future__ import annotations

import threading

import pytest

from rlm_desktop.debugger.breakpoints import BreakpointManager
from rlm_desktop.debugger.controller import FINISHED, PAUSED, RUNNING, DebugController
from rlm_desktop.debugger.targets import parse_node_path
from rlm_desktop.engine import events as ev
from tests.debugger_streams import Feeder, paused_at, run_stream, wait_for

ROOT = "root"
CHILD = "root/1.0.0"
GRAND = "root/1.0.0/1.0.0"


def nested():
    grand = run_stream(GRAND, 2)
    child = run_stream(CHILD, 1, children={1: [grand]})
    return run_stream(ROOT, 0, iterations=2, children={1: [child]})


def start(ctl, events):
    f = Feeder(ctl, events)
    f.start()
    return f


def finish(ctl, f):
    ctl.resume()
    f.join(10)
    assert not f.is_alive()


def key(e):
    return (e.kind, e.run_id, e.iteration)


def test_pause_then_step_into_visits_every_boundary_in_order():
    ctl = DebugController()
    ctl.pause()
    events = nested()
    f = start(ctl, events)
    seen = [paused_at(ctl)]
    for _ in range(len(events) - 1):
        ctl.step_into()
        wait_for(lambda: ctl.selected is not None and ctl.selected.event is not seen[-1])
        seen.append(ctl.selected.event)
    assert seen == events
    ctl.step_into()
    f.join(10)
    assert f.passed == events and ctl.state().state == FINISHED


def test_step_into_enters_the_child_and_step_over_skips_it():
    ctl = DebugController()
    ctl.breakpoints.add(kind="subcall", depth=0)
    f = start(ctl, nested())
    at = paused_at(ctl)
    assert isinstance(at, ev.SubCallStarted) and at.run_id == ROOT
    ctl.step_into()
    wait_for(lambda: ctl.selected and ctl.selected.event.run_id == CHILD)
    assert isinstance(ctl.selected.event, ev.RunStarted) and ctl.selected.reason == "step"
    finish(ctl, f)

    ctl = DebugController()
    ctl.breakpoints.add(kind="subcall", depth=0)
    f = start(ctl, nested())
    paused_at(ctl)
    ctl.step_over()
    wait_for(lambda: ctl.selected and isinstance(ctl.selected.event, ev.SubCallFinished))
    assert ctl.selected.event.run_id == ROOT
    # nothing of the child stopped, but all of it ran
    assert any(e.run_id == GRAND for e in f.passed)
    finish(ctl, f)


def test_step_over_inside_a_child_stays_in_it_then_returns_to_the_parent():
    ctl = DebugController()
    ctl.breakpoints.add(kind="final", depth=1)
    f = start(ctl, nested())
    assert key(paused_at(ctl)) == ("FinalAnswer", CHILD, 1)
    ctl.step_over()
    wait_for(lambda: ctl.selected and ctl.selected.event.kind == "RunFinished")
    assert ctl.selected.event.run_id == CHILD
    ctl.step_over()  # the child is done: the next boundary is the parent's
    wait_for(lambda: ctl.selected and ctl.selected.event.kind == "SubCallFinished")
    assert ctl.selected.event.run_id == ROOT
    finish(ctl, f)


def test_step_out_goes_to_the_parent_and_at_the_root_continues():
    ctl = DebugController()
    ctl.breakpoints.add(kind="depth", depth=2)
    f = start(ctl, nested())
    assert key(paused_at(ctl)) == ("RunStarted", GRAND, 0)
    ctl.step_out()
    wait_for(lambda: ctl.selected and ctl.selected.event.run_id == CHILD)
    assert ctl.selected.event.kind == "SubCallFinished"
    ctl.step_out()
    wait_for(lambda: ctl.selected and ctl.selected.event.run_id == ROOT)
    assert ctl.selected.event.kind == "SubCallFinished"
    ctl.step_out()  # at depth 0: like continue
    f.join(10)
    assert not f.is_alive() and len(f.passed) == len(f.events)


def test_run_to_a_node_path_and_to_a_run_iteration():
    assert parse_node_path("r0/i0/b0/c0/r/i0").resolve("X") == "X/1.0.0"
    with pytest.raises(ValueError):
        parse_node_path("r0/b1")
    ctl = DebugController()
    ctl.run_to(path="r0/i0/b0/c0/r/i0/b0/c0/r")  # the grandchild run, set while running
    f = start(ctl, nested())
    at = paused_at(ctl)
    assert key(at) == ("RunStarted", GRAND, 0) and ctl.selected.reason == "run-to"
    ctl.run_to(run_id=ROOT, iteration=2)
    wait_for(lambda: ctl.selected and ctl.selected.event.run_id == ROOT)
    assert key(ctl.selected.event) == ("IterationStarted", ROOT, 2)
    ctl.run_to(path="r0/i1/b0")
    wait_for(lambda: ctl.selected and ctl.selected.event.kind == "CodeBlockStarted")
    assert key(ctl.selected.event) == ("CodeBlockStarted", ROOT, 2)
    finish(ctl, f)


def test_breakpoint_stops_report_state_to_listeners():
    ctl = DebugController()
    states = []
    ctl.add_listener(states.append)
    bp = ctl.breakpoints.add(kind="iteration", iteration=2)
    f = start(ctl, nested())
    at = paused_at(ctl)
    assert key(at) == ("IterationStarted", ROOT, 2)
    st = ctl.state()
    assert st.state == PAUSED and st.breakpoint is bp and st.reason == "breakpoint" and st.event is at
    assert states[-1].state == PAUSED and states[-1].breakpoint is bp
    ctl.resume()
    f.join(10)
    kinds = [s.state for s in states]
    assert kinds == [PAUSED, RUNNING, FINISHED]
    assert not states[-1].cancelled and bp.hit_count == 1


@pytest.mark.parametrize("change", ["remove", "clear", "disable"])
def test_a_breakpoint_taken_away_as_a_thread_hits_it_does_not_pause_it(change):
    """The GUI removes (or disables) a breakpoint and continues just after an engine thread
    matched it, before the thread took the controller's lock: the thread runs on (before,
    it paused after the continue, with nothing left to release it)."""
    ctl = DebugController()
    bp = ctl.breakpoints.add(kind="iteration", iteration=1)
    real_check = ctl.breakpoints.check

    def check_then_user_acts(event):
        hit = real_check(event)
        if hit is not None:
            if change == "remove":
                ctl.breakpoints.remove(bp.id)
            elif change == "clear":
                ctl.breakpoints.clear()
            else:
                ctl.breakpoints.update(bp.id, enabled=False)
            ctl.resume()
        return hit

    ctl.breakpoints.check = check_then_user_acts
    f = start(ctl, run_stream(ROOT, 0, iterations=2))
    f.join(10)
    assert not f.is_alive() and f.error is None
    assert ctl.state().state == FINISHED and bp.hit_count == 1


def test_a_one_shot_breakpoint_still_pauses_the_thread_it_stopped():
    ctl = DebugController()
    bp = ctl.breakpoints.add(kind="iteration", iteration=2, one_shot=True)
    f = start(ctl, run_stream(ROOT, 0, iterations=3))
    at = paused_at(ctl)
    assert key(at) == ("IterationStarted", ROOT, 2) and ctl.state().breakpoint is bp
    assert not bp.enabled
    finish(ctl, f)
    assert bp.hit_count == 1


def test_stop_while_paused_raises_in_the_engine_thread_and_cancels():
    ctl = DebugController()
    cancels = []
    ctl.set_cancel(lambda: cancels.append(1))
    ctl.breakpoints.add(kind="iteration", iteration=1, depth=1)
    f = start(ctl, nested())
    paused_at(ctl)
    ctl.stop()
    f.join(10)
    assert f.cancelled and cancels == [1] and not ctl.is_paused
    # terminal events after a cancel pass (the engine reports the cancellation), others raise
    assert ctl.checkpoint(ev.RunCancelled(run_id=ROOT, parent_id=None, depth=0, iteration=1)) is None
    assert ctl.state().state == FINISHED and ctl.state().cancelled
    with pytest.raises(ev.RunCancelledError):
        ctl.checkpoint(ev.IterationStarted(run_id=ROOT, parent_id=None, depth=0, iteration=2))


def test_edit_and_continue_returns_the_edit_once():
    ctl = DebugController()
    ctl.breakpoints.add(kind="text", pattern="reply root 1")
    f = start(ctl, nested())
    at = paused_at(ctl)
    assert isinstance(at, ev.LMResponse)
    ctl.edit_response("edited text")
    finish(ctl, f)
    assert [(e.kind, r.text) for e, r in f.edits] == [("LMResponse", "edited text")]

    ctl = DebugController()
    ctl.breakpoints.add(kind="iteration", iteration=1, depth=0)
    f = start(ctl, nested())
    paused_at(ctl)
    with pytest.raises(RuntimeError):
        ctl.edit_response("x")  # not at an LMResponse
    finish(ctl, f)
    with pytest.raises(RuntimeError):
        ctl.edit_response("x")  # not paused


def parallel_children(n=3, iterations=3):
    return [run_stream(f"{ROOT}/1.0.{c}", 1, iterations=iterations) for c in range(n)]


def test_all_stop_with_parallel_children_and_pick_a_thread_to_step():
    ctl = DebugController()
    # child 1 stops at its iteration 2; the others must block at their next checkpoint
    ctl.breakpoints.add(kind="condition", condition=f"run_id == '{ROOT}/1.0.1' and kind == 'IterationStarted' "
                        "and iteration == 2")
    gate = threading.Event()

    class Gated:
        def checkpoint(self, e):  # children start together (like a thread pool)
            gate.wait(3)
            return ctl.checkpoint(e)

    feeders = [Feeder(Gated(), s, name=f"rlm-subcall_{i}") for i, s in enumerate(parallel_children())]
    for f in feeders:
        f.start()
    gate.set()
    wait_for(lambda: ctl.is_paused)
    first = ctl.selected
    assert first.run_id == f"{ROOT}/1.0.1" and first.reason == "breakpoint"
    # every other thread stops at its next boundary (or has already finished its stream)
    wait_for(lambda: all(
        not f.is_alive() or any(t.thread_name == f.name for t in ctl.paused_threads()) for f in feeders
    ))
    others = [t for t in ctl.paused_threads() if t.thread_id != first.thread_id]
    assert all(t.reason == "all-stop" for t in others)
    # while paused nobody advances
    counts = [len(f.passed) for f in feeders]
    assert [len(f.passed) for f in feeders] == counts
    if others:
        pick = others[0]
        ctl.select(pick.thread_id)
        assert ctl.state().selected == pick.thread_id
        ctl.step_over()
        wait_for(lambda: ctl.selected is not None and ctl.selected.thread_id == pick.thread_id
                 and ctl.selected.event is not pick.event)
        assert ctl.selected.run_id == pick.run_id and ctl.selected.reason == "step"
        idx = next(i for i, f in enumerate(feeders) if f.name == pick.thread_name)
        stream = feeders[idx].events
        assert ctl.selected.event is stream[stream.index(pick.event) + 1]
    ctl.resume()
    for f in feeders:
        f.join(10)
        assert not f.is_alive() and len(f.passed) == len(f.events)


def test_step_into_from_one_parallel_child_ignores_its_siblings():
    ctl = DebugController()
    ctl.breakpoints.add(kind="condition", condition=f"run_id == '{ROOT}/1.0.0' and kind == 'LMResponse'",
                        one_shot=True)
    streams = parallel_children(2, iterations=2)
    feeders = [Feeder(ctl, s, name=f"t{i}") for i, s in enumerate(streams)]
    feeders[0].start()
    at = paused_at(ctl)
    assert at.run_id == f"{ROOT}/1.0.0"
    ctl.step_into()
    feeders[1].start()  # a sibling runs meanwhile: step into must not land in it
    wait_for(lambda: ctl.selected is not None and ctl.selected.reason == "step")
    assert ctl.selected.run_id == f"{ROOT}/1.0.0"
    assert ctl.selected.event is streams[0][streams[0].index(at) + 1]
    ctl.resume()
    for f in feeders:
        f.join(10)
        assert len(f.passed) == len(f.events)


def test_stop_wakes_every_paused_thread():
    ctl = DebugController()
    ctl.pause()
    feeders = [Feeder(ctl, s, name=f"t{i}") for i, s in enumerate(parallel_children(3))]
    for f in feeders:
        f.start()
    wait_for(lambda: len(ctl.paused_threads()) == 3)
    ctl.stop()
    for f in feeders:
        f.join(10)
        assert f.cancelled and not f.is_alive()
    assert ctl.paused_threads() == []


def test_listener_exceptions_and_logpoints_do_not_stop():
    bpm = BreakpointManager()
    ctl = DebugController(bpm)
    ctl.add_listener(lambda s: 1 / 0)
    lp = bpm.add(kind="iteration", iteration=1, log_message="{run_id}@{depth}")
    f = start(ctl, nested())
    f.join(10)
    assert len(f.passed) == len(f.events) and lp.hit_count == 3
    assert [m.text for m in bpm.messages] == [f"{ROOT}@0", f"{CHILD}@1", f"{GRAND}@2"]
    ctl.reset()
    assert ctl.state().state == RUNNING


def batched_call_stream(c):
    """What one worker thread of llm_query_batched reports: its own sub-call start and end."""
    from tests.debugger_streams import E

    return [
        E(ev.SubCallStarted, ROOT, 0, 1, block_index=0, call_index=c, model="m", prompt=str(c)),
        E(ev.SubCallFinished, ROOT, 0, 1, block_index=0, call_index=c, completion={}),
    ]


def test_step_over_a_batched_call_lands_on_its_own_end_not_a_siblings():
    ctl = DebugController()
    ctl.breakpoints.add(kind="subcall", condition="call_index == 2", one_shot=True)
    streams = [batched_call_stream(c) for c in range(3)]
    feeders = [Feeder(ctl, s, name=f"w{c}") for c, s in enumerate(streams)]
    feeders[2].start()
    at = paused_at(ctl)
    assert at.call_index == 2
    ctl.step_over()
    feeders[0].start()
    feeders[1].start()  # siblings of the same block pass through: they are other threads
    wait_for(lambda: ctl.selected is not None and ctl.selected.reason == "step")
    got = ctl.selected.event
    assert isinstance(got, ev.SubCallFinished) and got.call_index == 2
    ctl.resume()
    for f in feeders:
        f.join(10)
        assert len(f.passed) == 2


def test_scheduled_edit_applies_once_without_pausing_and_select_checks_ids():
    ctl = DebugController()
    ctl.schedule_edit("new child text", path="r0/i0/b0/c0/r/i0")
    with pytest.raises(ValueError):
        ctl.schedule_edit("x", path="r0/i0/b0")
    f = start(ctl, nested())
    f.join(10)
    assert [(e.run_id, e.iteration, r.text) for e, r in f.edits] == [(CHILD, 1, "new child text")]
    with pytest.raises(KeyError):
        ctl.select(12345)
    assert not ctl.step_over()  # nothing paused: nothing to step
