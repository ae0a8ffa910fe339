"""State shared by every run of one completion (the root and all its children).

The ``Session`` owns the event hook (observers first, then the gate), the
cancel flag, the live REPL environments (so ``cancel()`` can interrupt them),
the usage totals the limits are checked against, and the LM call helper.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from rlm_desktop.trajectory.model import Usage

from .clients.base import CallSite, LMCallError, LMClient, LMReply
from .config import EngineConfig
from .events import Event, ResponseEdit, RunCancelledError
from .redaction import Redactor
from .seams import AnyGate, EnvFactory, Environment, Observer, gate_function

log = logging.getLogger(__name__)


class LimitExceeded(RuntimeError):
    """A limit of ``EngineConfig`` was passed; the run fails with this message."""


class ReplFailure(RuntimeError):
    """The REPL process crashed or could not be used; the run fails with this message."""


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, (LimitExceeded, ReplFailure)):
        return str(exc)
    if isinstance(exc, LMCallError):
        return f"The model call failed: {exc}"
    return f"Internal engine error: {type(exc).__name__}: {exc}"


class Session:
    def __init__(
        self,
        config: EngineConfig,
        client: LMClient,
        sub_client: LMClient,
        *,
        observers: list[Observer],
        gate: AnyGate | None,
        redactor: Redactor,
        env_factory: EnvFactory,
        cancel_event: threading.Event,
    ) -> None:
        self.config = config
        self.client = client
        self.sub_client = sub_client
        self.observers = observers
        self.gate = gate
        self.redactor = redactor
        self.env_factory = env_factory
        self.cancel_event = cancel_event
        self.start = time.perf_counter()
        self._lock = threading.Lock()
        self._envs: dict[int, Environment] = {}  # by id(): environments need not be hashable
        self.totals = Usage()
        self.by_model: dict[str, Usage] = {}
        self.fatal_error: str | None = None  # set by fail(): the whole tree stops and fails
        # time spent blocked in the gate (paused in the debugger) does not count as run time
        self._in_gate = 0
        self._pause_start = 0.0
        self._paused = 0.0
        self._helpers = _HelperThreads()
        self._watch_stop = threading.Event()
        self._watchdog: threading.Thread | None = None
        #: extra threads for batched child runs, one bound for the whole tree (see subcalls)
        self.child_slots = threading.BoundedSemaphore(config.max_parallel)
        if config.max_timeout is not None:
            self._watchdog = threading.Thread(target=self._watch, name="rlm-timeout", daemon=True)
            self._watchdog.start()

    # -- the hook ------------------------------------------------------------------

    def notify(self, event: Event) -> None:
        """Observers only (exceptions are logged, never raised)."""
        for obs in self.observers:
            try:
                obs(event)
            except Exception:  # noqa: BLE001 - an observer must not break the run
                log.exception("engine observer %r failed on %s", obs, event.kind)

    def checkpoint(self, event: Event, *, terminal: bool = False) -> ResponseEdit | None:
        """Observers, then the gate. Raises ``RunCancelledError`` when cancelled
        (never for ``terminal`` events, where it is too late to stop)."""
        self.notify(event)
        if not terminal:
            self.check_cancel()
        result = None
        gate = self.gate
        if gate is not None:
            fn = gate_function(gate)
            self._gate_enter()
            try:
                result = fn(event)
            except RunCancelledError:
                if terminal:
                    return None
                self.cancel()
                raise
            except Exception:  # noqa: BLE001 - a broken gate must not kill the engine thread
                log.exception("engine gate failed on %s", event.kind)
                result = None
            finally:
                self._gate_leave()
        if not terminal:
            self.check_cancel()
        return result

    # -- cancellation ----------------------------------------------------------------

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def check_cancel(self) -> None:
        if self.cancel_event.is_set():
            raise RunCancelledError("cancelled by the user")

    def cancel(self) -> None:
        self.cancel_event.set()
        with self._lock:
            envs = list(self._envs.values())
        for env in envs:
            try:
                env.cancel()
            except Exception:  # noqa: BLE001
                log.exception("cancelling a REPL failed")

    def fail(self, message: str) -> None:
        """Stop the whole tree and fail it with ``message`` (e.g. a replay that diverged)."""
        with self._lock:
            if self.fatal_error is None:
                self.fatal_error = message
        self.cancel()

    def register_env(self, env: Environment) -> None:
        with self._lock:
            self._envs[id(env)] = env
        if self.cancel_event.is_set():
            try:
                env.cancel()
            except Exception:  # noqa: BLE001
                pass

    def unregister_env(self, env: Environment) -> None:
        with self._lock:
            self._envs.pop(id(env), None)

    # -- usage and limits --------------------------------------------------------------

    def add_usage(self, model: str, usage: Usage) -> None:
        with self._lock:
            self.totals = self.totals + usage
            self.by_model[model] = self.by_model.get(model, Usage()) + usage

    def _gate_enter(self) -> None:
        with self._lock:
            if self._in_gate == 0:
                self._pause_start = time.perf_counter()
            self._in_gate += 1

    def _gate_leave(self) -> None:
        with self._lock:
            self._in_gate -= 1
            if self._in_gate == 0:
                self._paused += time.perf_counter() - self._pause_start

    def paused(self) -> float:
        """Seconds spent paused in the gate so far (overlapping pauses counted once)."""
        with self._lock:
            extra = time.perf_counter() - self._pause_start if self._in_gate else 0.0
            return self._paused + extra

    def elapsed(self) -> float:
        """Run time so far, not counting time paused in the gate."""
        return time.perf_counter() - self.start - self.paused()

    def clock(self) -> float:
        """A clock that stands still while the run is paused (for timings)."""
        return time.perf_counter() - self.paused()

    def _watch(self) -> None:
        limit = self.config.max_timeout
        assert limit is not None
        while not self._watch_stop.wait(0.05):
            if self.elapsed() > limit:
                self.fail(f"Time limit reached: {self.elapsed():.1f} s used of max_timeout {limit:g} s")
                return

    def close(self) -> None:
        """Stop the session's own threads (the time-limit watchdog, idle LM call helpers)."""
        self._watch_stop.set()
        if self._watchdog is not None:
            self._watchdog.join(1.0)
        self._helpers.close()

    def limit_problem(self, *, check_tokens: bool = True) -> str | None:
        """A message when the whole tree is past a limit, else None."""
        cfg = self.config
        if cfg.max_timeout is not None and self.elapsed() > cfg.max_timeout:
            return f"Time limit reached: {self.elapsed():.1f} s used of max_timeout {cfg.max_timeout:g} s"
        with self._lock:
            totals = self.totals
        if check_tokens and cfg.max_tokens is not None and totals.total_tokens > cfg.max_tokens:
            return (
                f"Token limit reached: {totals.total_tokens:,} tokens used of max_tokens {cfg.max_tokens:,}"
            )
        if cfg.max_budget is not None and (totals.cost or 0.0) > cfg.max_budget:
            return f"Budget reached: ${totals.cost or 0.0:.6f} spent of max_budget ${cfg.max_budget:.6f}"
        return None

    # -- LM calls ----------------------------------------------------------------------

    def call_lm(self, client: LMClient, messages: Any, model: str | None, site: CallSite) -> LMReply:
        """One LM call; network clients run on a helper thread so cancel() is immediate."""
        self.check_cancel()
        if client.local:
            reply = self._complete(client, messages, model, site)
        else:
            done = threading.Event()
            box: dict[str, Any] = {}

            def work() -> None:
                try:
                    box["reply"] = self._complete(client, messages, model, site)
                except BaseException as exc:  # noqa: BLE001 - handed to the engine thread
                    box["error"] = exc
                finally:
                    done.set()

            self._helpers.run(work)
            while not done.wait(0.05):
                self.check_cancel()
            if "error" in box:
                raise box["error"]
            reply = box["reply"]
        self.add_usage(reply.model or model or client.model, reply.usage)
        return reply

    def _complete(self, client: LMClient, messages: Any, model: str | None, site: CallSite) -> LMReply:
        try:
            return client.complete(messages, model=model, site=site)
        except (LMCallError, RunCancelledError) as exc:
            if isinstance(exc, LMCallError) and self.redactor:
                raise type(exc)(self.redactor.text(str(exc))) from None
            raise
        except Exception as exc:  # noqa: BLE001 - any client failure becomes a readable error
            raise LMCallError(self.redactor.text(f"{type(exc).__name__}: {exc}")) from None


class _HelperThreads:
    """The threads that run one session's network LM calls, reused (starting a thread per call
    costs more than the hand-off). ``close()`` ends the idle ones and joins them; a call that
    outlives a cancelled run finishes in the background, is dropped, and its thread ends then."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = 0
        self._threads: list[threading.Thread] = []
        self._busy: set[threading.Thread] = set()
        self._closed = False

    def run(self, fn: Callable[[], None]) -> None:
        new = None
        with self._lock:
            if self._closed:
                raise RuntimeError("the session is closed")
            if self._idle:
                self._idle -= 1
            else:
                new = threading.Thread(target=self._loop, name="rlm-lm-call", daemon=True)
                self._threads.append(new)
        if new is not None:
            new.start()
        self._queue.put(fn)

    def _loop(self) -> None:
        me = threading.current_thread()
        while True:
            fn = self._queue.get()
            if fn is None:
                return
            with self._lock:
                self._busy.add(me)
            try:
                fn()
            except BaseException:  # noqa: BLE001 - fn reports its own errors
                log.exception("LM helper thread")
            with self._lock:
                self._busy.discard(me)
                self._idle += 1

    def close(self, timeout: float = 1.0) -> None:
        with self._lock:
            self._closed = True
            threads = list(self._threads)
            idle = [t for t in threads if t not in self._busy]
        for _ in threads:
            self._queue.put(None)  # one stop per thread: busy ones take theirs when their call ends
        deadline = time.monotonic() + timeout
        for t in idle:
            t.join(max(0.0, deadline - time.monotonic()))
