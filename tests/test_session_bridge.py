"""DebugSession: the engine in a worker thread, events and debugger state as Qt signals."""

from __future__ import annotations

import threading

import pytest

from rlm_desktop.engine import events as ev
from rlm_desktop.engine.clients import ScriptedClient
from rlm_desktop.engine.config import BackendConfig, EngineConfig
from rlm_desktop.engine.rlm import RLMEngine
from rlm_desktop.trajectory.model import Iteration, Run, RunStatus
from rlm_desktop.ui.session import FINISHED, PAUSED, DebugSession
from tests.test_engine_fakes import env_choice
from tests.test_engine_loop import FULL

T = 15000  # ms (generous: a loaded machine; waits end as soon as the signal comes)


def engine(tmp_path, script=FULL):
    cfg = EngineConfig(
        backend=BackendConfig(kind="scripted", model="mock-root"),
        log_dir=str(tmp_path),
        environment=env_choice(),
        max_depth=2,
        max_iterations=6,
    )
    return RLMEngine(cfg, client=ScriptedClient(script, model="mock-root"))


@pytest.fixture
def session(qtbot):
    s = DebugSession()
    yield s
    job = s._job
    assert s.shutdown()
    assert s._job is None and (job is None or not job.running)


def start(s, tmp_path, **kw):
    return s.start("Summarise the parts.", "some context text", engine=engine(tmp_path), **kw)


def test_run_to_the_end_events_in_the_gui_thread(qtbot, session, tmp_path):
    gui = threading.current_thread()
    seen = []
    session.event_applied.connect(lambda e, node: seen.append((e, node, threading.current_thread())))
    with qtbot.waitSignal(session.finished, timeout=T) as blocker:
        rec = start(session, tmp_path)
    result = blocker.args[0]
    assert result.status == RunStatus.FINISHED and result.response == "words=3 / ONE, TWO, THREE"
    assert seen and all(t is gui for _, _, t in seen)
    assert isinstance(seen[0][0], ev.RunStarted) and isinstance(seen[-1][0], ev.RunFinished)
    assert any(isinstance(n, Iteration) for _, n, _ in seen)
    root = rec.trajectory.runs[0]
    assert len(root.iterations) == 4 and root.status == RunStatus.FINISHED
    assert root.iterations[2].code_blocks[0].sub_calls[0].child.final_answer == "words=3"
    assert session.state.state == FINISHED and not session.running


def test_pause_at_a_breakpoint_then_continue(qtbot, session, tmp_path):
    bp = session.breakpoints.add(kind="iteration", iteration=2, depth=0)
    with qtbot.waitSignal(session.paused, timeout=T) as blocker:
        rec = start(session, tmp_path)
    st = blocker.args[0]
    assert st.state == PAUSED and st.breakpoint is bp and st.reason == "breakpoint"
    assert isinstance(st.event, ev.IterationStarted) and st.event.iteration == 2
    qtbot.waitUntil(lambda: len(rec.trajectory.runs[0].iterations) == 2, timeout=T)  # live model
    assert rec.trajectory.runs[0].iterations[1].running
    with qtbot.waitSignals([session.resumed, session.finished], timeout=T):
        session.resume()
    assert session.result.status == RunStatus.FINISHED


def test_step_into_a_sub_call(qtbot, session, tmp_path):
    session.breakpoints.add(kind="subcall", depth=0, condition="recursive")
    with qtbot.waitSignal(session.paused, timeout=T) as blocker:
        rec = start(session, tmp_path)
    at = blocker.args[0].event
    assert isinstance(at, ev.SubCallStarted) and at.child_run_id
    assert not session.edit_response("x")  # only at an LM response
    with qtbot.waitSignal(session.paused, timeout=T) as again:  # selecting re-announces the pause
        assert session.select_thread(blocker.args[0].selected)
    assert again.args[0].event is at
    with qtbot.waitSignal(session.paused, timeout=T) as blocker:
        session.step_into()
    inside = blocker.args[0].event
    assert isinstance(inside, ev.RunStarted) and inside.run_id == at.child_run_id and inside.depth == 1
    child = rec.run(inside.run_id)
    assert isinstance(child, Run) and child.depth == 1
    with qtbot.waitSignal(session.paused, timeout=T) as blocker:
        session.step_over()
    assert isinstance(blocker.args[0].event, ev.IterationStarted) and blocker.args[0].event.depth == 1
    with qtbot.waitSignal(session.finished, timeout=T):
        session.resume()


def test_stop_while_paused(qtbot, session, tmp_path):
    states = []
    session.state_changed.connect(lambda st: states.append(st.state))
    with qtbot.waitSignal(session.paused, timeout=T):
        start(session, tmp_path, pause_at_start=True)
    with qtbot.waitSignal(session.finished, timeout=T) as blocker:
        session.stop()
    assert blocker.args[0].status == RunStatus.CANCELLED
    assert session.state.cancelled and not session.running
    assert states[0] == "running" and PAUSED in states and states[-1] == FINISHED


def test_logpoints_and_breakpoint_changes_reach_the_gui(qtbot, session, tmp_path):
    messages = []
    session.log_message.connect(messages.append)
    with qtbot.waitSignal(session.breakpoints_changed, timeout=T):
        session.breakpoints.add(kind="final", log_message="answer={answer} at depth {depth}")
    with qtbot.waitSignal(session.finished, timeout=T):
        start(session, tmp_path)
    qtbot.waitUntil(lambda: len(messages) == 2, timeout=T)
    assert messages == ["answer=words=3 at depth 1", "answer=words=3 / ONE, TWO, THREE at depth 0"]


def test_shutdown_while_paused_leaves_no_thread(qtbot, tmp_path):
    s = DebugSession()
    s.breakpoints.add(kind="depth", depth=1)
    with qtbot.waitSignal(s.paused, timeout=T):
        start(s, tmp_path)
    job = s._job
    assert job is not None and job.running
    tid = s.paused_threads[0].thread_id
    assert s.shutdown()
    assert not job.running and not s.running
    assert not s.edit_response("x") and not s.select_thread(tid)


def test_a_second_run_after_the_first(qtbot, session, tmp_path):
    with qtbot.waitSignal(session.paused, timeout=T):
        first = start(session, tmp_path / "a", pause_at_start=True)
    with pytest.raises(RuntimeError):
        start(session, tmp_path / "b")  # one run at a time
    with qtbot.waitSignal(session.finished, timeout=T):
        session.resume()
    with qtbot.waitSignal(session.finished, timeout=T) as blocker:
        rec = start(session, tmp_path / "b")
    assert blocker.args[0].status == RunStatus.FINISHED and len(rec.trajectory.runs) == 1
    assert rec is not first and first.trajectory.runs[0].status == RunStatus.FINISHED


def test_fork_from_a_recording_in_the_session(qtbot, session, tmp_path):
    from rlm_desktop.debugger.fork import ForkPlan
    from tests.test_engine_loop import R

    with qtbot.waitSignal(session.finished, timeout=T) as blocker:
        start(session, tmp_path / "orig")
    recording = blocker.args[0].log_path
    session.breakpoints.add(kind="iteration", iteration=4, depth=0)  # the fork turn
    plan = ForkPlan(recording, "r0/i3", "Summarise the parts.", "some context text",
                    edited_response=R("answer['content'] = 'fork ' + sub\nanswer['ready'] = True"))
    cfg = EngineConfig(environment=env_choice(), log_dir=str(tmp_path / "fork"))
    with qtbot.waitSignal(session.paused, timeout=T) as paused:
        rec = session.start_fork(plan, cfg)
    assert isinstance(paused.args[0].event, ev.IterationStarted)
    assert len(rec.trajectory.runs[0].iterations) == 4  # three replayed turns + the fork turn
    with qtbot.waitSignal(session.finished, timeout=T) as blocker:
        session.resume()
    res = blocker.args[0]
    assert res.status == RunStatus.FINISHED and res.response == "fork words=3"
    assert rec.trajectory.runs[0].iterations[-1].edited and res.log_path != recording


def test_commands_never_block_the_gui_thread(qtbot, session, tmp_path):
    import time

    cfg = EngineConfig(backend=BackendConfig(kind="scripted", model="m"), environment=env_choice(),
                       log_dir=str(tmp_path), max_iterations=3)
    import threading

    in_call = threading.Event()

    class Slow(ScriptedClient):
        def complete(self, messages, **kw):
            in_call.set()
            return super().complete(messages, **kw)

    slow = Slow({"*": "thinking"}, model="m", delay=0.4)  # the engine is busy in an LM call
    eng = RLMEngine(cfg, client=slow)
    session.start("q", "ctx", engine=eng)
    # the engine thread is inside the LM call (past the LMRequest boundary) before we command it
    qtbot.waitUntil(in_call.is_set, timeout=T)
    t0 = time.perf_counter()
    session.pause()
    session.breakpoints.add(kind="final")
    session.run_to(run_id="nope", iteration=1)
    assert time.perf_counter() - t0 < 0.1  # the engine thread is still inside its 0.4 s call
    with qtbot.waitSignal(session.paused, timeout=T) as blocker:
        pass
    assert isinstance(blocker.args[0].event, ev.LMResponse)  # the next boundary after the call
    t0 = time.perf_counter()
    with qtbot.waitSignal(session.finished, timeout=T) as done:
        session.stop()
        assert time.perf_counter() - t0 < 0.1
    assert done.args[0].status == RunStatus.CANCELLED
