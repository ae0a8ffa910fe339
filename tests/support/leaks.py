"""What a test must not leave running: threads (daemon ones too, reported by name), QThreads,
QThreadPool work and active QTimers.

    before = snapshot()
    ...                       # the test
    problems = leaks(before)  # [] when everything the test started has stopped

``leaks`` waits up to ``wait`` seconds (turning the Qt event loop, so single-shot timers
fire, posted deletions happen and pool work finishes) before it reports. What was already
running at the snapshot (module-scoped fixtures, the main thread) is not counted.
Threads Python makes for foreign threads (``threading._DummyThread``, e.g. a QThreadPool
thread that ran Python code) never end; the pool they belong to is checked instead.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Snapshot:
    threads: set[threading.Thread]
    qt: weakref.WeakSet[Any] = field(default_factory=weakref.WeakSet)  # QTimers/QThreads running before


def _qt_core() -> Any:
    return sys.modules.get("PySide6.QtCore")


def _qt_objects(kinds: tuple[type, ...]) -> list[Any]:
    """The live Python wrappers of Qt objects of ``kinds``. Shiboken keeps a map of its
    wrappers, so this costs what Qt objects there are, not what the whole heap holds (a scan
    of ``gc.get_objects()`` took ~1 s per test once big fixture trajectories were alive)."""
    try:
        from shiboken6 import Shiboken

        wrappers = Shiboken.getAllValidWrappers()
    except (ImportError, AttributeError):  # an older shiboken: the slow, complete way
        wrappers = gc.get_objects()
    return [o for o in wrappers if isinstance(o, kinds)]


def _running_qt(qt: Any) -> list[Any]:
    """Active QTimers and running QThreads that have a Python wrapper."""
    from shiboken6 import isValid

    out = []
    for o in _qt_objects((qt.QTimer, qt.QThread)):
        try:
            if not isValid(o):
                continue
            running = o.isActive() if isinstance(o, qt.QTimer) else o.isRunning()
        except RuntimeError:  # deleted on the C++ side meanwhile
            continue
        if running:
            out.append(o)
    return out


def _busy_pools(qt: Any) -> list[Any]:
    """QThreadPools (ours and the global one) with work running."""
    from shiboken6 import isValid

    pools = _qt_objects((qt.QThreadPool,))
    glob = qt.QThreadPool.globalInstance()
    if glob is not None and all(p is not glob for p in pools):
        pools.append(glob)
    busy = []
    for p in pools:
        try:
            if isValid(p) and p.activeThreadCount() > 0:
                busy.append(p)
        except RuntimeError:  # deleted on the C++ side meanwhile
            continue
    return busy


def snapshot() -> Snapshot:
    snap = Snapshot(threads=set(threading.enumerate()))
    qt = _qt_core()
    if qt is not None:
        for o in _running_qt(qt):
            snap.qt.add(o)
    return snap


def _own_threads(before: Snapshot) -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t not in before.threads
        and t.is_alive()
        and t is not threading.main_thread()
        and not isinstance(t, threading._DummyThread)  # type: ignore[attr-defined]
    ]


def _describe(o: Any, qt: Any) -> str:
    try:
        name = o.objectName()
    except RuntimeError:
        name = ""
    if isinstance(o, qt.QTimer):
        shot = "single-shot " if o.isSingleShot() else ""
        parent = o.parent()
        owner = f" of {type(parent).__name__}" if parent is not None else " (no parent)"
        return f"{shot}QTimer{' ' + repr(name) if name else ''}{owner}, interval {o.interval()} ms"
    return f"{type(o).__name__}{' ' + repr(name) if name else ''} (a running QThread)"


def leaks(before: Snapshot, *, wait: float = 3.0) -> list[str]:
    """What was started after ``before`` and still runs after ``wait`` seconds."""
    qt = _qt_core()
    app = qt.QCoreApplication.instance() if qt is not None else None
    deadline = time.monotonic() + wait
    while True:
        if app is not None:
            app.processEvents()
            # widgets closed with deleteLater() (pytest-qt does that) take their timers along
            qt.QCoreApplication.sendPostedEvents(None, qt.QEvent.Type.DeferredDelete)
        found = [f"thread {t.name!r}{' (daemon)' if t.daemon else ''}" for t in _own_threads(before)]
        busy = _busy_pools(qt) if qt is not None else []
        found += [f"QThreadPool work ({p.activeThreadCount()} active)" for p in busy]
        if qt is not None:
            found += [_describe(o, qt) for o in _running_qt(qt) if o not in before.qt]
        if not found or time.monotonic() > deadline:
            return found
        for p in busy:
            p.waitForDone(20)
        time.sleep(0.02)
