"""Random debugger commands against parallel nested streams: never a deadlock, never a lost event."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlm_desktop.debugger.controller import DebugController
from tests.debugger_streams import Feeder, run_stream

COMMANDS = ("into", "over", "out", "resume", "select", "pause", "run_to")


def streams():
    out = []
    for c in range(3):
        rid = f"root/1.0.{c}"
        grand = run_stream(f"{rid}/1.0.0", 2)
        out.append(run_stream(rid, 1, iterations=2, children={1: [grand]}))
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    commands=st.lists(st.sampled_from(COMMANDS), min_size=1, max_size=40),
    bp_iteration=st.integers(1, 2),
    stop_at=st.one_of(st.none(), st.integers(0, 40)),
)
def test_random_commands(commands, bp_iteration, stop_at):
    ctl = DebugController()
    ctl.breakpoints.add(kind="iteration", iteration=bp_iteration)
    ctl.pause()
    feeders = [Feeder(ctl, s, name=f"w{i}") for i, s in enumerate(streams())]
    for f in feeders:
        f.start()
    deadline = time.monotonic() + 10
    for n, cmd in enumerate(commands):
        if stop_at is not None and n == stop_at:
            ctl.stop()
            break
        while not ctl.is_paused and any(f.is_alive() for f in feeders):
            assert time.monotonic() < deadline, "no progress"
            time.sleep(0.001)
        if not ctl.is_paused:
            break
        threads = ctl.paused_threads()
        if cmd == "into":
            ctl.step_into()
        elif cmd == "over":
            ctl.step_over()
        elif cmd == "out":
            ctl.step_out()
        elif cmd == "resume":
            ctl.resume()
        elif cmd == "select" and threads:
            try:
                ctl.select(threads[-1].thread_id)
            except KeyError:
                pass  # it left meanwhile
        elif cmd == "pause":
            ctl.pause()
        elif cmd == "run_to":
            ctl.run_to(run_id="root/1.0.1/1.0.0", iteration=1)
    ctl.breakpoints.clear()
    ctl.resume()
    for f in feeders:
        f.join(5)
        assert not f.is_alive(), "a thread stayed blocked"
        assert f.error is None
        if f.cancelled:
            assert f.passed == f.events[: len(f.passed)]
        else:
            assert f.passed == f.events
    assert ctl.paused_threads() == []


def test_states_are_numbered_in_the_order_they_happened():
    """3,000 step cycles with a tiny switch interval: announcements race (RUNNING is
    announced by the commanding thread, PAUSED by the engine thread), but ordered by
    their number they alternate exactly, and a listener that keeps the newest number
    (as ui.session does) ends every cycle on the state the controller is really in."""
    import sys
    import threading

    from rlm_desktop.debugger.state import PAUSED, RUNNING
    from tests.debugger_streams import run_stream, wait_for

    cycles = 3000
    ctl = DebugController()
    arrived: list = []
    lock = threading.Lock()
    newest = [None]

    def listener(st):
        with lock:
            arrived.append(st)
            if newest[0] is None or st.seq > newest[0].seq:
                newest[0] = st

    ctl.add_listener(listener)
    events = run_stream("root", 0, iterations=cycles // 5)
    ctl.pause()
    feeder = Feeder(ctl, events)
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        feeder.start()
        for _ in range(cycles):
            wait_for(lambda: ctl.is_paused)
            wait_for(lambda: newest[0] is not None and newest[0].state == PAUSED)
            ctl.step_into()
        wait_for(lambda: ctl.is_paused)
        ctl.breakpoints.clear()
        ctl.resume()
        feeder.join(10)
    finally:
        sys.setswitchinterval(old)
    assert not feeder.is_alive() and feeder.error is None
    seqs = [st.seq for st in arrived]
    assert len(set(seqs)) == len(seqs), "two states with one number"
    ordered = [st.state for st in sorted(arrived, key=lambda st: st.seq)]
    lifecycle = [s for s in ordered if s in (PAUSED, RUNNING)]
    assert lifecycle[: 2 * cycles] == [PAUSED, RUNNING] * cycles
    assert newest[0].state == "finished"
