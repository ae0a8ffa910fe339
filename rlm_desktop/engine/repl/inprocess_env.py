"""Opt-in REPL that runs model code inside the app's process (speed, debugging).

Same semantics as the subprocess REPL (it reuses ``worker.Repl``), with the limits of
sharing a process: no memory limit, model code sees the app's environment (API keys
included), a segfault or ``os._exit`` takes the app down,
and a block that ignores interrupts cannot be killed. Each environment runs its
blocks on its own daemon thread; ``print`` from that thread is routed to the
block's capture (other threads, including threads the model code starts, print to
the app's streams). Timeout and cancel raise ``KeyboardInterrupt`` in that thread
(``PyThreadState_SetAsyncExc``); a block that does not stop within
``interrupt_grace`` is abandoned (its thread keeps running) and the next block gets
a fresh namespace (``state_lost=True``).
"""

from __future__ import annotations

import ctypes
import queue
import sys
import threading
import time
from typing import Any, Literal

from .base import (
    FAILURE_CANCELLED,
    FAILURE_TIMEOUT,
    ReplEnvironment,
    ReplResult,
    SubcallHandler,
    SubcallRequest,
)
from .worker import Capture, Repl


class _Router:
    """Installed once on sys.stdout/sys.stderr: writes from a registered thread go to its
    capture, every other write to the original stream."""

    def __init__(self, original: Any, which: str) -> None:
        self._original = original
        self._which = which
        self._targets: dict[int, Capture] = {}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)

    def write(self, s: str) -> int:
        target = self._targets.get(threading.get_ident())
        if target is not None:
            return target.write(s)
        return self._original.write(s)

    def flush(self) -> None:
        if threading.get_ident() not in self._targets:
            self._original.flush()


_router_lock = threading.Lock()


def _routers() -> tuple[_Router, _Router]:
    with _router_lock:
        if not isinstance(sys.stdout, _Router):
            sys.stdout = _Router(sys.stdout, "stdout")
        if not isinstance(sys.stderr, _Router):
            sys.stderr = _Router(sys.stderr, "stderr")
        return sys.stdout, sys.stderr


def _async_raise(ident: int, exc: type[BaseException]) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exc))


class _Runner:
    """One namespace and the daemon thread that runs its blocks."""

    def __init__(self, env: InProcessReplEnvironment) -> None:
        self.env = env
        self.repl = Repl(self._request, Capture("<stdout>"), Capture("<stderr>"), redirect=False)
        self.repl.load_context(env.context)
        self.jobs: queue.Queue[Any] = queue.Queue()
        self.armed = False
        self.thread = threading.Thread(target=self._loop, name="repl-inprocess", daemon=True)
        self.thread.start()

    def _request(self, kind: Literal["llm", "rlm"], prompts: list[Any], model: str | None, batched: bool) -> list[str]:
        env = self.env
        with env._cv:
            env._active += 1
            if env._active == 1:
                env._pause_t0 = time.monotonic()
        try:
            answers = env.handler(
                SubcallRequest(kind=kind, prompts=list(prompts), model=model, batched=batched)
            )
            if len(answers) != len(prompts):
                raise RuntimeError(f"the engine returned {len(answers)} answers for {len(prompts)} prompts")
            return ["" if a is None else str(a) for a in answers]
        except Exception as exc:  # noqa: BLE001 - same text as the subprocess REPL
            raise RuntimeError(f"{type(exc).__name__}: {exc}") from None
        finally:
            with env._cv:
                env._active -= 1
                if env._active == 0:
                    env._paused += time.monotonic() - env._pause_t0
                env._cv.notify_all()

    def _arm(self, flag: bool) -> None:
        self.armed = flag

    def _loop(self) -> None:
        ident = threading.get_ident()
        while True:
            job = self.jobs.get()
            if job is None:
                return
            code, box = job
            out, err = _routers()  # per block: someone may have replaced sys.stdout meanwhile
            out._targets[ident] = self.repl.out
            err._targets[ident] = self.repl.err
            try:
                res = self.repl.run(code, self._arm)
            except BaseException as exc:  # noqa: BLE001 - an interrupt in bookkeeping
                res = {"stdout": "", "stderr": f"\n{type(exc).__name__}: {exc}", "locals": {}, "ok": False}
            finally:
                out._targets.pop(ident, None)
                err._targets.pop(ident, None)
            with self.env._cv:
                box.append(res)
                self.env._cv.notify_all()

    def interrupt(self, message: str) -> None:
        if self.armed and self.thread.ident is not None:
            self.repl.interrupt_reason = message
            _async_raise(self.thread.ident, KeyboardInterrupt)


class InProcessReplEnvironment(ReplEnvironment):
    name = "inprocess"

    def __init__(
        self,
        context: Any,
        handler: SubcallHandler,
        *,
        block_timeout: float = 120,
        memory_limit_mb: int | None = None,  # not applied: it would limit the app itself
        setup_code: str | None = None,
        interrupt_grace: float = 2.0,
        **_ignored: Any,
    ) -> None:
        super().__init__(
            context,
            handler,
            block_timeout=block_timeout,
            memory_limit_mb=memory_limit_mb,
            setup_code=setup_code,
        )
        self.interrupt_grace = interrupt_grace
        self._cv = threading.Condition()
        self._exec_lock = threading.Lock()
        self._runner: _Runner | None = None
        self._active = 0
        self._pause_t0 = 0.0
        self._paused = 0.0
        self._running = False
        self._cancel_requested = False
        self._cancel_pending = False
        self._closed = False
        self._last_ok = True

    def start(self) -> None:
        if self._closed:
            raise RuntimeError("the REPL is closed")
        if self._runner is None:
            self._runner = _Runner(self)
            if self.setup_code:
                res = self._run(self.setup_code)
                if res.failure or not self._last_ok:
                    raise RuntimeError(f"the setup code failed:{res.stderr}")

    def cancel(self) -> None:
        with self._cv:
            if self._running:
                self._cancel_requested = True
            elif not self._closed:
                self._cancel_pending = True
            self._cv.notify_all()

    def close(self) -> None:
        with self._cv:
            if self._closed:
                return
            self._closed = True
            runner, self._runner = self._runner, None
            self._cv.notify_all()
        if runner is not None:
            runner.interrupt("KeyboardInterrupt: the REPL was closed")
            runner.jobs.put(None)
            runner.thread.join(timeout=0.5)

    def execute(self, code: str) -> ReplResult:
        with self._exec_lock:
            if self._runner is None:
                self.start()
            with self._cv:
                if self._cancel_pending:
                    self._cancel_pending = False
                    return ReplResult(
                        "", "\nKeyboardInterrupt: the run was cancelled", {}, 0.0, None, FAILURE_CANCELLED
                    )
            return self._run(code)

    def _run(self, code: str) -> ReplResult:
        runner = self._runner
        if runner is None or self._closed:
            raise RuntimeError("the REPL is closed")
        box: list[dict[str, Any]] = []
        t0 = time.monotonic()
        failure: str | None = None
        kill_at: float | None = None
        with self._cv:
            self._running, self._cancel_requested, self._paused = True, False, 0.0
        runner.jobs.put((code, box))
        try:
            while True:
                message = None
                with self._cv:
                    if box or self._closed:
                        break
                    now = time.monotonic()
                    used = now - t0 - self._paused - (now - self._pause_t0 if self._active else 0.0)
                    if failure is None and self._cancel_requested:
                        failure, message = FAILURE_CANCELLED, "KeyboardInterrupt: the run was cancelled"
                    elif failure is None and used >= self.block_timeout:
                        failure = FAILURE_TIMEOUT
                        message = f"TimeoutError: the block ran longer than {self.block_timeout:g} s and was interrupted"
                    if message is None:
                        if kill_at is not None and now >= kill_at:
                            break
                        wait = (
                            kill_at - now
                            if kill_at is not None
                            else 1.0
                            if self._active
                            else self.block_timeout - used
                        )
                        self._cv.wait(max(0.001, min(wait, 5.0)))
                        continue
                    kill_at = now + self.interrupt_grace
                runner.interrupt(message)
        finally:
            with self._cv:
                self._running = False
        elapsed = time.monotonic() - t0
        if box:
            msg = box[0]
            self._last_ok = bool(msg.get("ok"))
            return ReplResult(
                msg.get("stdout", ""),
                msg.get("stderr", ""),
                msg.get("locals") or {},
                float(msg.get("execution_time", elapsed)),
                msg.get("final_answer"),
                failure,
            )
        # the block would not stop (or we are closing): abandon its thread and namespace
        runner.jobs.put(None)
        with self._cv:
            if self._runner is runner:
                self._runner = None  # the next execute starts a fresh namespace
        what = "TimeoutError" if failure == FAILURE_TIMEOUT else "KeyboardInterrupt"
        return ReplResult(
            "",
            f"\n{what}: the block did not stop when interrupted; it was abandoned and the REPL restarted, "
            "so every variable is gone",
            {},
            elapsed,
            None,
            failure or FAILURE_CANCELLED,
            True,
        )
