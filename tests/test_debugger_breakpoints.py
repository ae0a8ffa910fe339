"""Breakpoint kinds, conditions (safe, errors kept), logpoints, hit counts, one-shot, saving."""

from __future__ import annotations

import pytest

from rlm_desktop.debugger.breakpoints import Breakpoint, BreakpointManager, ConditionError, compile_expression
from rlm_desktop.engine import events as ev


def E(cls, run_id="root", depth=0, iteration=1, parent_id=None, **kw):
    return cls(run_id=run_id, parent_id=parent_id, depth=depth, iteration=iteration, **kw)


def it_started(i, depth=0, run_id="root"):
    return E(ev.IterationStarted, run_id=run_id, depth=depth, iteration=i)


def block_done(stderr="", depth=0):
    return E(ev.CodeBlockFinished, depth=depth, block_index=0, code="x",
             result={"stdout": "", "stderr": stderr})


def test_iteration_any_depth_and_given_depth():
    any_d = Breakpoint(kind="iteration", iteration=3)
    at1 = Breakpoint(kind="iteration", iteration=3, depth=1)
    assert any_d.matches(it_started(3)) and any_d.matches(it_started(3, depth=2))
    assert not any_d.matches(it_started(2))
    assert not any_d.matches(E(ev.LMRequest, iteration=3, messages=(), model="m"))
    assert at1.matches(it_started(3, depth=1)) and not at1.matches(it_started(3, depth=0))


def test_depth_subcall_stderr_final_kinds():
    deep = Breakpoint(kind="depth", depth=2)
    assert deep.matches(E(ev.RunStarted, depth=2, metadata={}))
    assert deep.matches(E(ev.RunStarted, depth=3, metadata={}))
    assert not deep.matches(E(ev.RunStarted, depth=1, metadata={}))
    assert not deep.matches(it_started(1, depth=2))
    sub = Breakpoint(kind="subcall")
    call = E(ev.SubCallStarted, block_index=0, call_index=0, model="m", prompt="p")
    assert sub.matches(call) and not sub.matches(it_started(1))
    err = Breakpoint(kind="stderr")
    assert err.matches(block_done("Traceback")) and not err.matches(block_done(""))
    fin = Breakpoint(kind="final", depth=0)
    assert fin.matches(E(ev.FinalAnswer, answer="42"))
    assert not fin.matches(E(ev.FinalAnswer, depth=1, answer="42"))


def test_text_and_regex_in_response_or_code():
    text = Breakpoint(kind="text", pattern="llm_query")
    resp = E(ev.LMResponse, text="I will call llm_query now", model="m")
    code = E(ev.CodeBlockStarted, block_index=0, code="x = llm_query('hi')")
    other = E(ev.CodeBlockStarted, block_index=0, code="print(1)")
    assert text.matches(resp) and text.matches(code) and not text.matches(other)
    rx = Breakpoint(kind="text", pattern=r"print\(\d+\)", regex=True)
    assert rx.matches(other) and not rx.matches(code)
    bad = Breakpoint(kind="text", pattern="(", regex=True)
    assert bad.error and "regular expression" in bad.error
    assert not bad.matches(code)


def test_condition_over_event_fields():
    bp = Breakpoint(kind="condition", condition="depth >= 2 and iteration > 3")
    assert bp.matches(it_started(4, depth=2))
    assert not bp.matches(it_started(3, depth=2)) and not bp.matches(it_started(5, depth=1))
    k = Breakpoint(kind="condition", condition="kind == 'LMResponse' and 'oops' in text")
    assert k.matches(E(ev.LMResponse, text="oops!", model="m"))
    assert not k.matches(it_started(1))  # `text` not evaluated: `and` short-circuits
    # a condition as an extra filter on another kind
    f = Breakpoint(kind="stderr", condition="'ZeroDivision' in stderr")
    assert f.matches(block_done("ZeroDivisionError")) and not f.matches(block_done("NameError"))


def test_condition_errors_are_kept_not_raised():
    bp = Breakpoint(kind="condition", condition="text.upper() == 'X'")
    assert bp.error is None
    assert not bp.matches(it_started(1))  # NameError: no `text` on IterationStarted
    assert bp.error and "NameError" in bp.error
    bad = Breakpoint(kind="condition", condition="depth >=")
    assert bad.error and "syntax" in bad.error and not bad.matches(it_started(1))


@pytest.mark.parametrize(
    "src",
    ["__import__('os').system('true')", "event.__class__", "(lambda: 1)()", "[x := 1]",
     "open('/etc/passwd')"],
)
def test_condition_is_restricted(src):
    try:
        code = compile_expression(src)
    except ConditionError:
        return
    bp = Breakpoint(kind="condition", condition=src)
    assert not bp.matches(it_started(1))
    assert bp.error and "NameError" in bp.error
    assert code is not None


def test_manager_logpoints_hits_and_one_shot():
    m = BreakpointManager()
    got, changes = [], []
    m.on_log(got.append)
    m.on_change(lambda: changes.append(1))
    lp = m.add(kind="iteration", iteration=2, log_message="run {run_id} it {iteration} d={depth * 10} {{x}} {nope}")
    once = m.add(kind="iteration", iteration=2, one_shot=True)
    always = m.add(kind="iteration", iteration=2)
    first = m.check(it_started(2))
    assert first is once  # logpoints never stop; the first stopping breakpoint wins
    assert lp.hit_count == 1 and once.hit_count == 1 and always.hit_count == 1
    assert not once.enabled  # one-shot disabled itself
    assert len(got) == 1 and got[0].text.startswith("run root it 2 d=0 {x} <NameError")
    assert m.check(it_started(2)) is always
    assert lp.hit_count == 2 and once.hit_count == 1 and always.hit_count == 2
    assert m.check(it_started(1)) is None
    assert len(m.messages) == 2 and changes
    m.update(always.id, enabled=False)
    assert m.check(it_started(2)) is None
    m.remove(lp.id)
    assert [b.id for b in m.breakpoints()] == [once.id, always.id]
    m.reset_hits()
    assert all(b.hit_count == 0 for b in m.breakpoints())


def test_listener_errors_do_not_break_check():
    m = BreakpointManager()
    m.on_log(lambda msg: 1 / 0)
    m.add(kind="final", log_message="done: {answer}")
    assert m.check(E(ev.FinalAnswer, answer="42")) is None
    assert m.messages[-1].text == "done: 42"


def test_serialisation_round_trip_and_bad_entries():
    m = BreakpointManager()
    m.add(kind="text", pattern="abc", regex=True, depth=1, one_shot=True)
    m.add(kind="condition", condition="iteration > 2", log_message="it {iteration}", enabled=False)
    saved = m.to_list()
    assert saved[0]["kind"] == "text" and saved[0]["regex"] is True and "hit_count" not in saved[0]
    m2 = BreakpointManager()
    loaded = m2.load(saved + [{"kind": "nonsense"}, {"kind": "final", "bogus": 1}])
    assert [b.to_dict() for b in loaded[:2]] == saved
    assert len(loaded) == 3  # the unknown kind is skipped, an unknown key ignored
    with pytest.raises(ValueError):
        m2.update(loaded[0].id, kind="nope")
    m2.update(loaded[0].id, pattern="(", regex=True)
    assert "regular expression" in (m2.get(loaded[0].id).error or "")


def test_hit_conditions_stop_on_the_nth_and_every_nth_hit():
    from rlm_desktop.debugger.breakpoints import BreakpointManager
    from tests.debugger_streams import run_stream

    events = [e for e in run_stream("root", 0, iterations=7) if e.kind == "IterationStarted"]

    def stops(**fields):
        m = BreakpointManager()
        bp = m.add(kind="condition", condition='kind == "IterationStarted"', **fields)
        return [e.iteration for e in events if m.check(e) is bp]

    assert stops() == [1, 2, 3, 4, 5, 6, 7]
    assert stops(hit_condition="3") == [3]
    assert stops(hit_condition="==2") == [2]
    assert stops(hit_condition="%3") == [3, 6]
    assert stops(hit_condition=">=6") == [6, 7]
    assert stops(hit_condition=">5") == [6, 7]
    m = BreakpointManager()
    bad = m.add(kind="iteration", iteration=1, hit_condition="every other")
    assert bad.error and "hit condition" in bad.error and m.check(events[0]) is None


def test_disabled_until_another_breakpoint_is_hit_and_saved_by_position():
    from rlm_desktop.debugger.breakpoints import BreakpointManager
    from tests.debugger_streams import run_stream

    events = run_stream("root", 0, iterations=4)
    m = BreakpointManager()
    later = m.add(kind="condition", condition='kind == "LMResponse"')
    trigger = m.add(kind="iteration", iteration=3)
    m.update(later.id, wait_for=trigger.id)
    hits = [(e.kind, e.iteration) for e in events if m.check(e) is not None]
    assert hits == [("IterationStarted", 3), ("LMResponse", 3), ("LMResponse", 4)]
    m.reset_hits()  # a new run: it waits again
    assert not later.armed and m.check(events[2]) is None  # LMResponse of iteration 1
    temp = m.add(kind="final", transient=True)
    saved = m.to_list()
    assert len(saved) == 2 and saved[0]["wait_for"] == 1 and saved[1]["wait_for"] is None
    m2 = BreakpointManager()
    m2.add(kind="final")  # ids differ in the new manager
    loaded = m2.load(saved)
    assert loaded[0].wait_for == loaded[1].id and loaded[0].kind == "condition"
    assert temp.transient and all(not b.transient for b in m2.breakpoints())
