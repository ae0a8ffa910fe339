"""Work that is too big for the GUI thread (totals and metrics of a run of 500,000 iterations),
done in a worker thread, one job at a time per owner, cancelled when a newer one starts.

    job = OffThread(self)
    job.start(lambda cancelled: RunMetrics.of(run, cancelled), self._apply)

``fn(cancelled)`` runs in a daemon thread named ``rlm-offthread-…``; it should call
``cancelled()`` now and then (each call also sleeps ``YIELD_S``, leaving the GIL to the GUI
thread) and give up (return anything) once it is True. ``on_done(result)``
runs in the GUI thread (a queued signal), only for the newest job and only if it was not
cancelled; an exception in ``fn`` is logged and ``on_error`` (if given) gets it. ``cancel()``
drops the running job; ``wait(timeout)`` joins its thread (tests, shutdown).

While a worker runs Python, every call from Qt into Python on the GUI thread (a paint asks
the models ~2,000 times) must win the GIL back, and each wait can last the interpreter's
switch interval (5 ms by default): a repaint then takes seconds. ``share_the_gil()`` lowers
the interval to ``SWITCH_INTERVAL_S`` for the whole process; every job start calls it.
"""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

log = logging.getLogger(__name__)
_names = itertools.count(1)
#: How long a thread may hold the GIL while another waits for it (Python's default: 5 ms).
SWITCH_INTERVAL_S = 0.0005
#: A job sleeps this long each time it asks ``cancelled()`` (every ~1,000 items of work).
YIELD_S = 0.0005


def share_the_gil() -> None:
    """Let the GUI thread win the GIL back within ``SWITCH_INTERVAL_S`` of asking."""
    if sys.getswitchinterval() > SWITCH_INTERVAL_S:
        sys.setswitchinterval(SWITCH_INTERVAL_S)


class OffThread(QObject):
    _finished = Signal(int, object, object)  # generation, result, error

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._generation = 0
        self._thread: threading.Thread | None = None
        self._on_done: Callable[[Any], None] | None = None
        self._on_error: Callable[[BaseException], None] | None = None
        self._finished.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(
        self,
        fn: Callable[[Callable[[], bool]], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        share_the_gil()
        self._generation += 1
        generation = self._generation
        self._on_done, self._on_error = on_done, on_error

        def cancelled() -> bool:
            time.sleep(YIELD_S)  # a pause for the GUI thread each time the job looks up
            return generation != self._generation

        def run() -> None:
            result: Any = None
            error: BaseException | None = None
            try:
                result = fn(cancelled)
            except Exception as exc:  # noqa: BLE001 - reported to the GUI thread
                log.exception("background job")
                error = exc
            if cancelled():
                return
            try:
                self._finished.emit(generation, result, error)
            except RuntimeError:  # the owner was deleted meanwhile
                pass

        self._thread = threading.Thread(target=run, name=f"rlm-offthread-{next(_names)}", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._generation += 1

    def wait(self, timeout: float | None = None) -> bool:
        """Join the current job's thread; True when none is running any more."""
        t = self._thread
        if t is not None:
            t.join(timeout)
        return not self.running

    def _deliver(self, generation: int, result: Any, error: BaseException | None) -> None:
        if generation != self._generation:
            return  # a newer job was started (or this one cancelled) meanwhile
        self._thread = None
        if error is not None:
            if self._on_error is not None:
                self._on_error(error)
            return
        if self._on_done is not None:
            self._on_done(result)
