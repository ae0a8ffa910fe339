"""The one way work off the GUI thread talks to the GUI: a ``Bridge`` and its ``Job``s.

    bridge = Bridge(handler, parent)        # handler(job, kind, payload), always in the GUI thread
    job = bridge.job("rlm-load")            # a cancellable worker (threads are named by it)
    job.start(fn)                           # fn(job) runs in a new thread; its return value
                                            #   arrives as ("done", value), an exception as
                                            #   ("error", "Type: message"), job.check() raising
                                            #   Cancelled as ("cancelled", None)
    # in the worker:   job.emit("progress", 0.4); job.check()   (between steps)
    # in the GUI:      job.cancel()          # the worker stops at its next check()
    bridge.post("state", st)                # from any thread, without a job (listeners)
    bridge.shutdown()                       # cancel every job and join its thread

    latest = OffThread(self)                # one job per owner, the newest wins: big-run
    latest.start(lambda cancelled: work(cancelled), on_done, on_error)  # totals, layouts

Everything goes through ONE private signal with a queued connection, so messages reach
the handler in the order they were posted, on the GUI thread, and the GUI thread never
waits for a worker (only ``shutdown``/``Job.join`` do, after cancelling). A job that is
``discard()``-ed (its result is no longer wanted: a new run, a closed window) has its
queued and later messages dropped on arrival. A worker that runs its own threads (the
folder follower) is ``adopt``-ed: its ``cancel`` then calls the worker's own stop.

``OffThread`` is a ``Bridge`` with at most one live job: starting one cancels and discards
the one before, so only the newest result arrives. Its ``cancelled()`` also sleeps
``YIELD_S``: while a worker runs Python, every call from Qt into Python on the GUI thread
(a paint asks the models ~2,000 times) must win the GIL back, and each wait can last the
interpreter's switch interval (5 ms by default), so ``share_the_gil()`` lowers that interval
to ``SWITCH_INTERVAL_S`` for the whole process (the app calls it at start, every job too).

In the spirit of superqt's generator workers (cancel checked between steps) and
Electrum's one-decorator re-emission of engine events as Qt signals.
"""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

log = logging.getLogger(__name__)

Handler = Callable[["Job | None", str, Any], Any]
_names = itertools.count(1)
#: How long a thread may hold the GIL while another waits for it (Python's default: 5 ms).
SWITCH_INTERVAL_S = 0.0005
#: An ``OffThread`` job sleeps this long each time it asks ``cancelled()`` (every ~1,000
#: items of work), leaving the GIL to the GUI thread.
YIELD_S = 0.0005


def share_the_gil() -> None:
    """Let the GUI thread win the GIL back within ``SWITCH_INTERVAL_S`` of asking."""
    if sys.getswitchinterval() > SWITCH_INTERVAL_S:
        sys.setswitchinterval(SWITCH_INTERVAL_S)


class Cancelled(Exception):
    """Raised by ``Job.check()`` in the worker once the job was cancelled."""


class Job:
    """One worker: a cancel flag checked between steps, messages posted to its bridge."""

    def __init__(self, bridge: Bridge, name: str, on_cancel: Callable[[], Any] | None = None) -> None:
        self.bridge = bridge
        self.name = name
        self.data: Any = None  # what the GUI side wants to remember about the job (a path)
        self._cancel = threading.Event()
        self._on_cancel = on_cancel
        self._discarded = False
        self._thread: threading.Thread | None = None

    # -- the GUI side ------------------------------------------------------------------
    def start(self, fn: Callable[[Job], Any], *, daemon: bool = True) -> Job:
        if self._thread is not None:
            raise RuntimeError(f"job {self.name} already started")
        self._thread = threading.Thread(target=self._run, args=(fn,), name=self.name, daemon=daemon)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the worker to stop (non-blocking); its ``check()`` raises from now on."""
        if self._cancel.is_set():
            return
        self._cancel.set()
        if self._on_cancel is not None:
            try:
                self._on_cancel()
            except Exception:  # noqa: BLE001 - cancelling must not raise into the GUI
                log.exception("cancelling %s failed", self.name)

    def set_cancel(self, fn: Callable[[], Any] | None) -> None:
        """What ``cancel()`` also calls (a worker's own stop)."""
        self._on_cancel = fn

    def discard(self) -> None:
        """Nobody wants this job's messages any more (queued ones are dropped too)."""
        self._discarded = True

    @property
    def discarded(self) -> bool:
        return self._discarded

    @property
    def running(self) -> bool:
        t = self._thread
        return t is not None and t.is_alive()

    def join(self, timeout: float | None = None) -> bool:
        t = self._thread
        if t is None or t is threading.current_thread():
            return True
        t.join(timeout)
        return not t.is_alive()

    # -- the worker side ---------------------------------------------------------------
    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Call between steps: raises ``Cancelled`` once the job was cancelled."""
        if self._cancel.is_set():
            raise Cancelled(self.name)

    def emit(self, kind: str, payload: Any = None) -> None:
        """Post a message to the GUI thread (from any thread)."""
        if not self._discarded:
            self.bridge.post(kind, payload, self)

    def _run(self, fn: Callable[[Job], Any]) -> None:
        try:
            result = fn(self)
        except Cancelled:
            self.emit("cancelled")
        except BaseException as exc:  # noqa: BLE001 - reported to the GUI
            log.exception("%s failed", self.name)
            self.emit("error", f"{type(exc).__name__}: {exc}")
        else:
            self.emit("cancelled" if self.cancelled and result is None else "done", result)
        finally:
            self.bridge._finished(self)


class Bridge(QObject):
    """Worker threads -> one queued signal -> ``handler(job, kind, payload)`` in the GUI thread."""

    _posted = Signal(object, str, object)  # job or None, kind, payload

    def __init__(self, handler: Handler, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._handler = handler
        self._lock = threading.Lock()
        self._jobs: list[Job] = []
        self._posted.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def job(self, name: str, on_cancel: Callable[[], Any] | None = None) -> Job:
        """A new job (call ``start(fn)`` on it, or use it to tag messages of a worker)."""
        j = Job(self, name, on_cancel)
        with self._lock:
            self._jobs.append(j)
        return j

    def adopt(self, name: str, stop: Callable[[], Any]) -> Job:
        """A job for a worker that runs its own threads: ``cancel()`` calls ``stop``."""
        return self.job(name, on_cancel=stop)

    def post(self, kind: str, payload: Any = None, job: Job | None = None) -> None:
        """Thread-safe: queue a message for the handler."""
        self._posted.emit(job, kind, payload)

    @property
    def jobs(self) -> list[Job]:
        with self._lock:
            return list(self._jobs)

    def _finished(self, job: Job) -> None:
        with self._lock:
            if job in self._jobs:
                self._jobs.remove(job)

    def forget(self, job: Job) -> None:
        """Stop tracking an adopted job (its worker was stopped by its owner)."""
        self._finished(job)

    @Slot(object, str, object)
    def _deliver(self, job: Job | None, kind: str, payload: Any) -> None:
        if job is not None and job.discarded:
            return
        self._handler(job, kind, payload)

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Cancel and discard every job, join the started ones. True when all ended."""
        ok = True
        for j in self.jobs:
            j.discard()
            j.cancel()
        for j in self.jobs:
            if not j.join(timeout):
                log.error("worker %s did not end within %.0f s", j.name, timeout)
                ok = False
            else:
                self._finished(j)
        return ok


class _Failed:
    """An ``OffThread`` job's exception, carried to the GUI thread as its result."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class OffThread(QObject):
    """Work too big for the GUI thread (totals, metrics, the flame layout of a run of
    500,000 iterations), one job at a time: a newer ``start`` cancels the running one.

    ``fn(cancelled)`` runs in a thread named ``rlm-offthread-…``; it should call
    ``cancelled()`` now and then and give up (return anything) once it is True.
    ``on_done(result)`` runs in the GUI thread, only for the newest job and only when it was
    not cancelled; an exception in ``fn`` is logged and goes to ``on_error`` (if given).
    ``wait(timeout)`` joins the running job's thread (tests, shutdown)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bridge = Bridge(self._arrived, self)
        self._job: Job | None = None
        self._on_done: Callable[[Any], None] | None = None
        self._on_error: Callable[[BaseException], None] | None = None

    @property
    def running(self) -> bool:
        return self._job is not None and self._job.running

    def start(
        self,
        fn: Callable[[Callable[[], bool]], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        share_the_gil()
        self.cancel()
        self._on_done, self._on_error = on_done, on_error
        job = self._job = self._bridge.job(f"rlm-offthread-{next(_names)}")

        def cancelled() -> bool:
            time.sleep(YIELD_S)  # a pause for the GUI thread each time the job looks up
            return job.cancelled

        def work(_job: Job) -> Any:
            try:
                return fn(cancelled)
            except Exception as exc:  # noqa: BLE001 - reported to the GUI thread
                log.exception("background job %s", job.name)
                return _Failed(exc)

        job.start(work)

    def cancel(self) -> None:
        """Drop the running job: its result, when it comes, is not delivered."""
        job, self._job = self._job, None
        if job is not None:
            job.discard()
            job.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Join the current job's thread; True when none is running any more."""
        job = self._job
        return job is None or job.join(timeout)

    def shutdown(self, timeout: float = 5.0) -> bool:
        self.cancel()
        return self._bridge.shutdown(timeout)

    def _arrived(self, job: Job | None, kind: str, payload: Any) -> None:
        if job is None or job is not self._job or kind != "done":
            return
        self._job = None
        if isinstance(payload, _Failed):
            if self._on_error is not None:
                self._on_error(payload.exc)
        elif self._on_done is not None:
            self._on_done(payload)


__all__ = ["SWITCH_INTERVAL_S", "YIELD_S", "Bridge", "Cancelled", "Job", "OffThread", "share_the_gil"]
