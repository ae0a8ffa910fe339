"""The leak check every test runs (tests/conftest.py, tests/support/leaks.py) can fail:
on a daemon thread, an active QTimer, a running QThread and QThreadPool work."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from PySide6.QtCore import QRunnable, QThread, QThreadPool, QTimer

from tests.support import leaks

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent


def test_a_leaked_daemon_thread_is_reported_by_name():
    before = leaks.snapshot()
    stop = threading.Event()
    t = threading.Thread(target=stop.wait, name="left-behind", daemon=True)
    t.start()
    try:
        assert leaks.leaks(before, wait=0.1) == ["thread 'left-behind' (daemon)"]
    finally:
        stop.set()
        t.join()
    assert leaks.leaks(before, wait=0.1) == []


def test_a_thread_that_ends_within_the_grace_time_is_not_a_leak():
    before = leaks.snapshot()
    t = threading.Thread(target=threading.Event().wait, args=(0.2,), name="short", daemon=True)
    t.start()
    assert leaks.leaks(before, wait=3.0) == []
    assert not t.is_alive()


def test_a_running_qtimer_is_reported(qapp):
    before = leaks.snapshot()
    timer = QTimer()
    timer.setObjectName("ticker")
    timer.start(1000)
    try:
        found = leaks.leaks(before, wait=0.1)
        assert found == ["QTimer 'ticker' (no parent), interval 1000 ms"]
    finally:
        timer.stop()
    assert leaks.leaks(before, wait=0.1) == []


def test_a_timer_running_before_the_test_is_not_counted(qapp):
    timer = QTimer()
    timer.start(1000)
    try:
        before = leaks.snapshot()
        assert leaks.leaks(before, wait=0.1) == []
    finally:
        timer.stop()


def test_a_pending_single_shot_timer_is_waited_for(qapp):
    before = leaks.snapshot()
    fired = []
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(lambda: fired.append(1))
    timer.start(50)
    assert leaks.leaks(before, wait=3.0) == []
    assert fired == [1]


def test_a_running_qthread_is_reported(qapp):
    before = leaks.snapshot()
    stop = threading.Event()

    class Worker(QThread):
        def run(self):
            stop.wait(10)

    w = Worker()
    w.start()
    try:
        assert leaks.leaks(before, wait=0.1) == ["Worker (a running QThread)"]
    finally:
        stop.set()
        w.wait()
    assert leaks.leaks(before, wait=0.1) == []


def test_qthreadpool_work_is_reported(qapp):
    before = leaks.snapshot()
    stop = threading.Event()
    pool = QThreadPool()

    class Job(QRunnable):
        def run(self):
            stop.wait(10)

    pool.start(Job())
    try:
        assert leaks.leaks(before, wait=0.1) == ["QThreadPool work (1 active)"]
    finally:
        stop.set()
        pool.waitForDone()
    assert leaks.leaks(before, wait=0.1) == []


def test_the_conftest_fixture_fails_a_leaking_test(pytester, monkeypatch):
    """Our conftest, as is, in a fresh pytest process: the leaking test errors at teardown."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    pytester.makeconftest((ROOT / "tests" / "conftest.py").read_text(encoding="utf-8"))
    pytester.makepyfile(
        test_leaky="""
        import threading

        def test_leaks_a_daemon_thread():
            threading.Thread(target=threading.Event().wait, name="leaky-worker", daemon=True).start()

        def test_clean():
            pass
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:randomly")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*test left running: thread 'leaky-worker' (daemon)*"])
