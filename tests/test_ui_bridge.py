"""ui.bridge: the one worker-to-GUI idiom (issue 15 item 6)."""

from __future__ import annotations

import pathlib
import re
import threading

from rlm_desktop.ui.bridge import Bridge


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
