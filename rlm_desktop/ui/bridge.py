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
the one before, so only the newest result arrives. Its jobs (the views' derived work:
totals, plot data, layouts of a big run) and the run tree's totals run in the *lane*
(``start(fn, lane=True)``): one thread, one job after another. The GIL serialises Python
work anyway, and while a worker runs Python every call from Qt into Python on the GUI
thread (a paint makes hundreds) must win the GIL back: five workers at once made each such
call wait behind five threads. So there is one, and it goes second: ``Job.yield_to_gui()``
(``OffThread``'s ``cancelled()`` calls it) waits while the GUI thread has been busy
handling events for more than ``GUI_BUSY_S`` (its event dispatcher's ``awake`` and
``aboutToBlock`` say when), and ``share_the_gil()`` lowers the interpreter's switch
interval to ``SWITCH_INTERVAL_S`` for the whole process (the app calls it at start, every
job too), so that a GIL request is granted within 0.1 ms instead of 5.

In the spirit of superqt's generator workers (cancel checked between steps) and
Electrum's one-decorator re-emission of engine events as Qt signals.
"""

from __future__ import annotations

import collections
import itertools
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QTimer, Signal, Slot

log = logging.getLogger(__name__)

Handler = Callable[["Job | None", str, Any], Any]
_names = itertools.count(1)
#: How long a thread may hold the GIL while another waits for it (Python's default: 5 ms).
SWITCH_INTERVAL_S = 0.0001
#: A lane job sleeps this long, leaving the GIL to the GUI thread, at most every
#: ``GUI_BUSY_S`` of its work (``Job.yield_to_gui``), and in steps of it while it waits.
YIELD_S = 0.0005
#: The GUI thread counts as busy once it has been handling events this long without a pause;
#: a lane job then waits for it, at most ``GUI_FIRST_S`` at a time (so it still gets on
#: while the GUI thread is busy for long; a first paint of the window can take ~0.1 s).
GUI_BUSY_S = 0.003
GUI_FIRST_S = 0.5
#: The GUI thread's heartbeat while the lane has work (``_GuiActivity``): a turn of its
#: event loop at least this often, unless it is busy.
HEARTBEAT_S = 0.002


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
        self._thread: threading.Thread | None = None  # its own, or the lane's
        self._started = False
        self._done = threading.Event()

    # -- the GUI side ------------------------------------------------------------------
    def start(self, fn: Callable[[Job], Any], *, daemon: bool = True, lane: bool = False) -> Job:
        """Run ``fn(job)`` in a new thread, or with ``lane=True`` in the lane: the one thread
        that runs the views' derived work (totals, plot data, layouts) one job after another."""
        if self._started:
            raise RuntimeError(f"job {self.name} already started")
        self._started = True
        if lane:
            _GUI.starting_here()
            _LANE.submit(self, fn)
        else:
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
        """Started (or queued in the lane) and not finished."""
        return self._started and not self._done.is_set()

    def join(self, timeout: float | None = None) -> bool:
        if not self._started or self._thread is threading.current_thread():
            return True
        _GUI.waiting()  # a GUI thread blocked here is not busy: the lane must not wait for it
        return self._done.wait(timeout)

    # -- the worker side ---------------------------------------------------------------
    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        """Call between steps: raises ``Cancelled`` once the job was cancelled."""
        if self._cancel.is_set():
            raise Cancelled(self.name)

    def yield_to_gui(self) -> None:
        """Call every few milliseconds of work: while the GUI thread is busy (handling a
        click, painting) wait for it to finish, at most ``GUI_FIRST_S``; else pause
        ``YIELD_S``. Each call Qt makes into Python on the GUI thread must win the GIL
        first, and a worker running Python beside it made a click's hundreds of such calls
        wait up to the switch interval each."""
        _GUI.wait_idle(self._cancel)

    def stop_requested(self) -> bool:
        """What a lane job polls between steps: ``yield_to_gui()``, then True once cancelled
        (the ``cancelled()`` that ``OffThread`` functions and ``RunTotals.of_run`` take)."""
        self.yield_to_gui()
        return self.cancelled

    def emit(self, kind: str, payload: Any = None) -> None:
        """Post a message to the GUI thread (from any thread)."""
        if not self._discarded:
            self.bridge.post(kind, payload, self)

    def _run(self, fn: Callable[[Job], Any]) -> None:
        self._thread = threading.current_thread()
        try:
            self.check()  # cancelled while it waited in the lane
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
            self._done.set()


class _Lane:
    """One worker thread for the views' derived work, each job after the one before.

    Python work is serialised by the GIL anyway: five views walking the same run of 500,000
    iterations at once (totals, Run Summary, metrics, the tree's totals, the flame layout)
    were no faster than one after another, and each call from Qt into Python on the GUI
    thread had to win the GIL from five threads instead of one (the stalls while such a run
    was selected were mostly the GUI thread waiting for it). The thread ends when the queue
    is empty, and starts again with the next job."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: collections.deque[tuple[Job, Callable[[Job], Any]]] = collections.deque()
        self._thread: threading.Thread | None = None

    def submit(self, job: Job, fn: Callable[[Job], Any]) -> None:
        with self._lock:
            self._queue.append((job, fn))
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="rlm-lane", daemon=True)
                self._thread.start()

    def busy(self) -> bool:
        """A job is running or queued."""
        with self._lock:
            return self._thread is not None or bool(self._queue)

    def _loop(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._thread = None
                    return
                job, fn = self._queue.popleft()
            job._run(fn)


class _GuiActivity:
    """Is the GUI thread busy now? It is when it has not come back to its event loop for a
    while: a heartbeat timer on the GUI thread (``HEARTBEAT_S``, running only while the lane
    has work) notes each turn of the loop, and a lane job finding no turn for
    ``HEARTBEAT_S + GUI_BUSY_S`` waits for the next one.

    (The event dispatcher's ``awake``/``aboutToBlock`` signals said this before, wrongly on
    the GLib dispatcher Qt uses on Linux, offscreen and xcb alike: it says ``aboutToBlock``
    at the start of each turn, before handling what it waits for, and ``awake`` only after
    it. A worker saw the GUI thread idle while it painted, and a click during a flame-graph
    layout stalled twice as long.)"""

    def __init__(self) -> None:
        self._last_turn: float | None = None  # None: no heartbeat (nothing known: idle)
        self._blocked = False  # the GUI thread waits on a worker: it competes for nothing
        self._last_pause = 0.0  # (the lane's: one worker thread)
        self._timer: QTimer | None = None

    def starting_here(self) -> None:
        """A lane job is being started. On the GUI thread: start the heartbeat, and count the
        GUI thread busy from now (it is: it runs this) until its next turn, so that a job it
        starts in the middle of its own work (opening a file starts the metrics worker, then
        fills the other panels) waits for it too."""
        app = QCoreApplication.instance()
        if app is None or app.thread() is not QThread.currentThread():
            return
        if self._timer is None:
            timer = self._timer = QTimer()
            timer.setTimerType(Qt.TimerType.PreciseTimer)
            timer.setInterval(round(HEARTBEAT_S * 1000))
            timer.timeout.connect(self._turn)
        self._blocked = False
        self._last_turn = time.monotonic() - HEARTBEAT_S  # busy from now
        self._timer.start()

    def _turn(self) -> None:
        """The heartbeat: the GUI thread is in its event loop. Stops with the lane's work."""
        self._last_turn = time.monotonic()
        self._blocked = False
        if not _LANE.busy() and self._timer is not None:
            self._timer.stop()
            self._last_turn = None

    def waiting(self) -> None:
        """The GUI thread is about to block on a worker (at shutdown, a join): it does not
        compete for the GIL meanwhile, so the lane need not wait for it."""
        app = QCoreApplication.instance()
        if app is not None and app.thread() is QThread.currentThread():
            self._blocked = True

    def busy(self, now: float) -> bool:
        last = self._last_turn
        return last is not None and not self._blocked and now - last > HEARTBEAT_S + GUI_BUSY_S

    def wait_idle(self, cancel: threading.Event) -> None:
        """Cheap while the GUI thread is idle (a pause of ``YIELD_S`` every ``GUI_BUSY_S``
        of work at most); while it is busy, wait for its next turn (``GUI_FIRST_S`` at most)."""
        now = time.monotonic()
        if not self.busy(now):
            if now - self._last_pause < GUI_BUSY_S:
                return
        else:
            deadline = now + GUI_FIRST_S
            while not cancel.is_set() and now < deadline and self.busy(now):
                time.sleep(YIELD_S)
                now = time.monotonic()
        time.sleep(YIELD_S)
        self._last_pause = time.monotonic()


_LANE = _Lane()
_GUI = _GuiActivity()


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

        def work(_job: Job) -> Any:
            try:
                return fn(job.stop_requested)  # the GUI thread first, each time the job looks up
            except Exception as exc:  # noqa: BLE001 - reported to the GUI thread
                log.exception("background job %s", job.name)
                return _Failed(exc)

        job.start(work, lane=True)

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
