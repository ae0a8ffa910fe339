"""ui.bridge: the one worker-to-GUI idiom (issue 15 item 6)."""

from __future__ import annotations

import pathlib
import re
import threading

from rlm_desktop.ui.bridge import Bridge, Job


def test_messages_arrive_in_order_in_the_gui_thread(qtbot):
    got = []
    bridge = Bridge(lambda job, kind, payload: got.append((kind, payload, threading.current_thread())))

    def work(job):
        for i in range(200):
            job.emit("step", i)
        return "result"

    bridge.job("rlm-test").start(work)
    qtbot.waitUntil(lambda: bool(got) and got[-1][0] == "done", timeout=5000)
    assert [p for k, p, _ in got if k == "step"] == list(range(200))
    assert got[-1][1] == "result"
    assert {t for *_, t in got} == {threading.main_thread()}


def test_cancel_is_checked_between_steps_and_reported(qtbot):
    got = []
    bridge = Bridge(lambda job, kind, payload: got.append(kind))
    started, steps = threading.Event(), []

    def work(job):
        started.set()
        while True:
            job.check()
            steps.append(1)
            threading.Event().wait(0.001)

    job = bridge.job("rlm-test").start(work)
    assert started.wait(5)
    job.cancel()
    assert job.join(5) and not job.running
    qtbot.waitUntil(lambda: "cancelled" in got, timeout=5000)
    assert "done" not in got and "error" not in got


def test_errors_arrive_as_text_and_discarded_jobs_are_silent(qtbot):
    got = []
    bridge = Bridge(lambda job, kind, payload: got.append((job.name, kind, payload)))
    bridge.job("rlm-bad").start(lambda job: 1 / 0)
    qtbot.waitUntil(lambda: any(k == "error" for _, k, _ in got), timeout=5000)
    assert ("rlm-bad", "error", "ZeroDivisionError: division by zero") in got
    gate = threading.Event()
    quiet = bridge.job("rlm-quiet")

    def work(job):
        job.emit("early")
        gate.wait(5)
        return "late"

    quiet.start(work)
    quiet.discard()  # e.g. a new search replaced this one
    gate.set()
    assert quiet.join(5)
    qtbot.wait(50)
    assert not [g for g in got if g[0] == "rlm-quiet"]


def test_shutdown_cancels_and_joins_every_job(qtbot):
    stops = []
    bridge = Bridge(lambda *a: None)

    def work(job):
        while not job.cancelled:
            threading.Event().wait(0.001)

    jobs = [bridge.job(f"rlm-{i}").start(work) for i in range(3)]
    bridge.adopt("rlm-own-threads", lambda: stops.append(1))
    assert bridge.shutdown(5)
    assert not any(j.running for j in jobs) and stops == [1] and bridge.jobs == []


def test_no_other_worker_to_gui_idiom_in_the_ui():
    """QRunnable/QThreadPool, hand-made queued connections and QThread live only in bridge.py."""
    ui = pathlib.Path(__file__).resolve().parents[1] / "rlm_desktop" / "ui"
    pattern = re.compile(r"QRunnable|QThreadPool|QueuedConnection|\bQThread\b|threading\.Thread\(")
    offenders = [
        str(p.relative_to(ui)) for p in ui.rglob("*.py") if p.name != "bridge.py" and pattern.search(p.read_text())
    ]
    assert offenders == []


def test_lane_jobs_run_one_after_another_in_one_thread(qtbot):
    got = []
    bridge = Bridge(lambda job, kind, payload: got.append((job.name, kind, payload)))
    gate = threading.Event()
    running, seen = [], []

    def work(job):
        running.append(job.name)
        seen.append((job.name, threading.current_thread().name, len(running)))
        gate.wait(5)
        running.remove(job.name)
        return job.name

    first = bridge.job("rlm-a").start(work, lane=True)
    second = bridge.job("rlm-b").start(work, lane=True)
    third = bridge.job("rlm-c").start(work, lane=True)
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    assert second.running and third.running  # queued counts as running: not finished
    third.cancel()  # cancelled while it waits: it never runs
    assert not second.join(0.05)  # still waiting behind the first
    gate.set()
    assert first.join(5) and second.join(5) and third.join(5)
    qtbot.waitUntil(lambda: len(got) == 3, timeout=5000)
    assert [(n, t, k) for n, t, k in seen] == [("rlm-a", "rlm-lane", 1), ("rlm-b", "rlm-lane", 1)]
    assert got == [("rlm-a", "done", "rlm-a"), ("rlm-b", "done", "rlm-b"), ("rlm-c", "cancelled", None)]
    assert not first.running and not third.running


def test_a_lane_job_waits_while_the_gui_thread_is_busy(qtbot):
    """``yield_to_gui`` in the worker: while the GUI thread handles one long event the worker
    stops competing for the GIL; it goes on once the GUI thread is idle again."""
    import time

    from rlm_desktop.ui import bridge as bridge_mod

    bridge = Bridge(lambda *_: None)
    steps: list[float] = []
    stop = threading.Event()

    def work(job):
        while not stop.is_set() and len(steps) < 100_000:
            job.yield_to_gui()
            steps.append(time.monotonic())

    job = bridge.job("rlm-busy").start(work, lane=True)
    qtbot.waitUntil(lambda: len(steps) > 10, timeout=5000)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 0.06:  # one long GUI-thread event (no return to the loop)
        pass
    busy_steps = [t for t in steps if t0 + bridge_mod.GUI_BUSY_S + 0.01 < t < t0 + 0.06]
    qtbot.wait(50)  # idle again: the worker goes on
    after = [t for t in steps if t > time.monotonic() - 0.04]
    stop.set()
    assert job.join(5)
    assert len(busy_steps) <= 2, busy_steps  # it waited (at most a step in flight)
    assert len(after) > 5


def stepping_job(name: str, steps: list[float]) -> Job:
    """A lane job that yields to the GUI thread between steps, noting each step's time in
    ``steps``, until it is cancelled."""
    import time

    def work(job):
        while len(steps) < 100_000 and not job.cancelled:
            job.yield_to_gui()
            steps.append(time.monotonic())

    return Bridge(lambda *_: None).job(name).start(work, lane=True)


def test_a_lane_job_waits_while_the_event_loop_handles_a_long_event(qtbot):
    """A long event handled inside the event loop (a timer's slot here; a click, a paint):
    the worker waits for it too. (The GLib dispatcher, Qt's on Linux, says ``aboutToBlock``
    before such an event and ``awake`` after it: read as idle/busy, the worker ran beside
    the event all along.)"""
    import time

    from PySide6.QtCore import QTimer

    from rlm_desktop.ui import bridge as bridge_mod

    steps: list[float] = []
    job = stepping_job("rlm-long-event", steps)
    qtbot.waitUntil(lambda: len(steps) > 10, timeout=5000)
    span: list[float] = []

    def long_event():
        span.append(time.monotonic())
        while time.monotonic() - span[0] < 0.06:
            pass
        span.append(time.monotonic())

    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(long_event)
    timer.start(5)
    qtbot.waitUntil(lambda: len(span) == 2, timeout=5000)
    qtbot.wait(30)
    job.cancel()
    assert job.join(5)
    late = span[0] + bridge_mod.HEARTBEAT_S + bridge_mod.GUI_BUSY_S + 0.01
    busy_steps = [t for t in steps if late < t < span[1]]
    assert len(busy_steps) <= 2, len(busy_steps)
    assert [t for t in steps if t > span[1]]  # and it went on after the event


def test_a_lane_job_started_by_a_busy_gui_thread_waits_for_it(qtbot):
    """The GUI thread starting a lane job in the middle of its own work (opening a file
    starts the metrics worker, then fills the other panels) is busy even if its dispatcher
    has said nothing since (the first lane job of the session; after joining a worker): the
    job waits until the GUI thread is back in its event loop."""
    import time

    from rlm_desktop.ui import bridge as bridge_mod

    steps: list[float] = []
    bridge_mod._GUI.waiting()  # what the dispatcher last said: nothing is running here
    t0 = time.monotonic()
    job = stepping_job("rlm-started-busy", steps)
    while time.monotonic() - t0 < 0.08:  # the rest of the GUI thread's work, no return to the loop
        pass
    busy_steps = [t for t in steps if t0 + bridge_mod.GUI_BUSY_S + 0.01 < t < t0 + 0.08]
    qtbot.wait(50)
    job.cancel()
    assert job.join(5)
    assert len(busy_steps) <= 2, len(busy_steps)
    assert len(steps) > 5  # and it went on once the GUI thread was idle
