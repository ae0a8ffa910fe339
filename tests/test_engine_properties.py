"""Property test: any mix of model replies (code, errors, sub-calls, children, answers, edits,
cancellation) ends cleanly, with balanced events, nothing left running, and the live model equal
to the file read back."""

from __future__ import annotations

import threading

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlm_desktop.engine import events as ev
from rlm_desktop.engine.clients import LMCallError
from rlm_desktop.engine.recorder import LiveRecorder
from rlm_desktop.trajectory.model import RunStatus
from rlm_desktop.trajectory.reader import read_file
from tests.test_engine_fakes import env_choice, model_diff
from tests.test_engine_loop import R, make_engine

SNIPPETS = [
    "print('hello')",
    "x = 1 / 0",
    "import sys\nprint('warn', file=sys.stderr)",
    "a = llm_query('q')\nprint(a)",
    "bs = llm_query_batched(['p1', 'p2', 'p3'])\nprint(bs)",
    "r = rlm_query('sub task')\nprint(r)",
    "rs = rlm_query_batched(['t1', 't2'])\nprint(rs)",
    "answer['content'] = 'done'\nanswer['ready'] = True",
    "v = [1, 2, {'k': (3, 4)}]",
]

reply = st.one_of(
    st.lists(st.sampled_from(SNIPPETS), min_size=1, max_size=3).map(lambda cs: R(*cs)),
    st.sampled_from(["no code at all", "FINAL(plain text answer)", "```python\nprint('not run')\n```"]),
    st.just("RAISE"),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    replies=st.lists(reply, min_size=1, max_size=12),
    max_depth=st.integers(1, 3),
    max_iterations=st.integers(1, 4),
    cancel_at=st.one_of(st.none(), st.integers(1, 40)),
    edit_at=st.one_of(st.none(), st.integers(1, 6)),
)
def test_any_run_ends_cleanly_and_live_equals_file(
    tmp_path, replies, max_depth, max_iterations, cancel_at, edit_at
):
    lock = threading.Lock()
    counter = {"n": 0}

    def script(msgs, site):
        with lock:
            counter["n"] += 1
            text = replies[counter["n"] % len(replies)]
        if text == "RAISE":
            raise LMCallError("scripted failure")
        return text

    eng, events = make_engine(
        {"*": script},
        tmp_path,
        max_depth=max_depth,
        max_iterations=max_iterations,
        environment=env_choice(),
    )
    rec = LiveRecorder()
    seen = {"n": 0}

    def obs(e):
        with lock:
            rec.apply(e)

    def gate(e):
        with lock:
            seen["n"] += 1
            n = seen["n"]
        if cancel_at is not None and n == cancel_at:
            raise ev.RunCancelledError("property cancel")
        if edit_at is not None and isinstance(e, ev.LMResponse) and n % 7 == edit_at:
            return ev.ResponseEdit(R("print('edited')"))
        return None

    eng.add_observer(obs)
    eng.set_gate(gate)
    result = eng.completion("question", "the context")
    assert result.status in (
        RunStatus.FINISHED,
        RunStatus.MAX_ITERATIONS,
        RunStatus.FAILED,
        RunStatus.CANCELLED,
    )
    assert events[-1].kind in ("RunFinished", "RunFailed", "RunCancelled") and events[-1].depth == 0
    assert not eng.running
    # balanced: every run, iteration, block and call that started also finished
    for start, end in (
        (ev.RunStarted, ev.TERMINAL_EVENTS),
        (ev.IterationStarted, (ev.IterationFinished,)),
        (ev.CodeBlockStarted, (ev.CodeBlockFinished,)),
        (ev.SubCallStarted, (ev.SubCallFinished,)),
    ):
        assert sum(isinstance(e, start) for e in events) == sum(isinstance(e, end) for e in events), start
    live = rec.trajectory
    assert not any(getattr(n, "running", False) for n in live.walk())
    disk = read_file(result.log_path)
    assert not disk.bad_lines
    assert model_diff(live.runs[0], disk.runs[0]) == []
    assert disk.runs[0].status == result.status
