"""The default REPL: model code runs in a separate Python process (``worker.py``).

The host listens on a unix socket in a private temp dir and starts the worker in
a new process group (cwd: ``<tmp>/work``, stdin: /dev/null, secrets stripped from
its environment). One persistent connection carries blocks, results and sub-call
requests (see ``protocol.py``); sub-calls go to ``handler`` on a host thread pool.

* Block timeout: counts only the time the worker computes (time the block's own thread
  spends waiting for ``llm_query``/``rlm_query`` answers, e.g. in a paused child run, does
  not count; sub-calls made from model code's background threads do not stop the clock,
  and at most one sub-call at a time can stop it, whatever the frames claim).
  On expiry the block is interrupted (SIGINT to the worker's main thread; stderr
  ends with ``TimeoutError: ...`` and the variables survive). If it does not stop
  within ``interrupt_grace`` s, the process group is killed and the next block
  gets a fresh worker (``state_lost=True``, said in stderr).
* ``cancel()`` (any thread) does the same with failure ``"cancelled"``; a cancel
  that arrives between blocks cancels the next ``execute`` instead.
* ``on_output(stream, text)`` (optional) receives the running block's output live;
  output printed before a crash or a kill is kept in that block's result.
* A worker that dies (segfault, ``os._exit``, killed) gives failure ``"crashed"``
  with a readable stderr (exit code or signal, and the tail of the worker's own
  stderr, e.g. the faulthandler trace); the next ``execute`` starts a fresh one.
* Nothing from the worker is trusted (model code can write any frame): a malformed or
  oversized frame ends the block with a ``ReplProtocolError`` and a fresh worker; live
  output, the result's output, final answer and locals are cut to the same caps on the
  host as in the worker (``max_output`` characters per stream, ``worker.LOCALS_BUDGET``).
* Temp dirs carry an owner file; ones left by a killed app are removed at the next start
  (``tempdirs``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any, Literal

from . import tempdirs
from .base import (
    FAILURE_CANCELLED,
    FAILURE_CRASHED,
    FAILURE_TIMEOUT,
    ReplEnvironment,
    ReplResult,
    SubcallHandler,
    SubcallRequest,
)
from .process import (
    ChildProcess,
    TeeReader,
    WorkerProcess,
    describe_exit,
    finalize,
    kill_group,
    launch,
    worker_command,
)
from .protocol import PROTOCOL_VERSION, ProtocolError
from .worker import MAX_OUTPUT, TAIL_OUTPUT, bound_locals


def cap_text(text: Any, limit: int) -> str:
    """``text`` cut to ``limit`` characters plus a tail, as the worker's ``Capture`` does."""
    text = text if isinstance(text, str) else str(text)
    if len(text) <= limit + TAIL_OUTPUT + 200:
        return text
    dropped = len(text) - limit - TAIL_OUTPUT
    return f"{text[:limit]}\n[... {dropped} characters of output dropped ...]\n{text[-TAIL_OUTPUT:]}"


class SubprocessReplEnvironment(ReplEnvironment):
    name = "subprocess"

    def __init__(
        self,
        context: Any,
        handler: SubcallHandler,
        *,
        block_timeout: float = 120,
        memory_limit_mb: int | None = 2048,
        setup_code: str | None = None,
        interrupt_grace: float = 2.0,
        start_timeout: float = 30.0,
        max_output: int | None = None,
        python: str | None = None,
        on_output: Callable[[str, str], None] | None = None,
        command: Callable[[str], list[str]] | None = None,
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
        self.start_timeout = start_timeout
        self.max_output = max_output
        self.python = python
        #: ``command(socket_path) -> argv`` to start the worker some other way (e.g. in a
        #: container with the socket's directory ``self._tmp`` mounted); default: this Python.
        self.command = command
        #: ``on_output(stream, text)``: live output of the running block ("stdout"/"stderr"),
        #: called on the REPL's reader thread about every 0.1 s while it prints.
        self.on_output = on_output
        self._live: tuple[list[str], list[str]] = ([], [])
        self._cv = threading.Condition()
        self._exec_lock = threading.Lock()
        self._w: WorkerProcess | None = None
        self._tmp: str | None = None
        self._spawns = 0
        self._procs: list[ChildProcess] = []
        self._results: dict[Any, Any] = {}
        self._block_id = 0
        self._running: int | None = None
        self._cancel_requested = False
        self._cancel_pending = False
        self._active_subcalls = 0
        self._subcall_serial = 0
        self._in_flight: set[int] = set()  # serials of the sub-calls being answered
        self._waiting_subcalls = 0  # sub-calls the block's own thread waits for (0 or 1)
        self._live_size = [0, 0]
        self._pause_t0 = 0.0
        self._paused = 0.0
        self._closed = False
        self._started = False
        self._finalizer: weakref.finalize | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self._closed:
            raise RuntimeError("the REPL is closed")
        if self._started:
            return
        tempdirs.cleanup_once()
        self._tmp = tempdirs.make_dir()
        os.makedirs(os.path.join(self._tmp, "work"), exist_ok=True)
        self._finalizer = weakref.finalize(self, finalize, self._procs, self._tmp)
        self._started = True
        try:
            self._spawn()
        except BaseException:
            self.close()
            raise

    @property
    def pid(self) -> int | None:
        w = self._w
        return w.proc.pid if w is not None else None

    def _spawn(self) -> None:
        assert self._tmp is not None
        w = self._launch(f"s{self._spawns}")
        self._spawns += 1
        self._procs.append(w.proc)
        proc = w.proc
        try:
            w.chan.sock.settimeout(self.start_timeout)  # a worker that connects but never speaks
            hello = w.chan.recv()
            w.chan.sock.settimeout(None)
            if hello is None:  # it died first (e.g. the sandbox could not be set up): say why
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=2)
                time.sleep(0.05)  # the drain thread takes the last words
                raise RuntimeError(
                    f"the REPL worker did not start ({describe_exit(self._exit_status(w))}): {w.diagnostics()}"
                )
            if hello.get("op") != "hello" or hello.get("protocol") != PROTOCOL_VERSION:
                raise RuntimeError(f"unexpected first message from the REPL worker: {hello!r:.200}")
            with self._cv:
                self._w = w
                self._results.pop("ready", None)
            w.readers = 1
            self._start_reader(w)
            init: dict[str, Any] = {"op": "init", "memory_limit_mb": self.memory_limit_mb}
            if self.max_output:
                init["max_output"] = int(self.max_output)
            if self.setup_code:
                init["setup_code"] = self.setup_code
            try:
                init["context"] = self.context
                w.chan.send(init, exact=True)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"the context cannot be sent to the REPL (str, list or dict expected): {exc}"
                ) from exc
            ready = self._wait_for("ready", self.start_timeout)
            if ready is None:
                raise RuntimeError(
                    f"the REPL worker did not load the context: {w.diagnostics() or describe_exit(proc.poll())}"
                )
            if ready.get("error"):
                raise RuntimeError(str(ready["error"]))
            setup = ready.get("setup")
            if setup and not setup.get("ok"):
                raise RuntimeError(f"the setup code failed:{setup.get('stderr', '')}")
        except BaseException:
            self._discard(w)
            raise

    @property
    def output_limit(self) -> int:
        return int(self.max_output or MAX_OUTPUT)

    def _launch(self, name: str) -> WorkerProcess:
        """Start one worker listening on ``<tmp>/<name>`` (the docker environment overrides it)."""
        assert self._tmp is not None
        if self.command is not None:
            return launch(self._tmp, name, self.start_timeout, self.python, self.command)
        r, wfd = os.pipe()
        try:
            w = launch(
                self._tmp,
                name,
                self.start_timeout,
                command=lambda path: [*worker_command(path, self.python), "--tee-fd", str(wfd)],
                pass_fds=(wfd,),
            )
        except BaseException:
            os.close(r)
            raise
        finally:
            os.close(wfd)
        w.tee = TeeReader(r, self.output_limit)
        return w

    def _wait_for(self, key: Any, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        with self._cv:
            while key not in self._results:
                w = self._w
                left = deadline - time.monotonic()
                if w is None or w.dead or left <= 0:
                    return None
                self._cv.wait(left)
            return self._results.pop(key)

    def _discard(self, w: WorkerProcess) -> None:
        """Kill a worker and forget it (the next block starts a fresh one)."""
        kill_group(w.proc)
        w.chan.close()
        with self._cv:
            w.dead = True
            if self._w is w:
                self._w = None
            self._cv.notify_all()
        # readers stop at once (the connection is closed); a thread still inside the
        # handler (e.g. a child run being cancelled) is a daemon and ends on its own
        deadline = time.monotonic() + 1.0
        for t in list(w.threads):
            if t is not threading.current_thread():
                t.join(timeout=max(0.0, deadline - time.monotonic()))
        if w.proc.stdout is not None:
            with contextlib.suppress(OSError):
                w.proc.stdout.close()
        with contextlib.suppress(ValueError):
            self._procs.remove(w.proc)

    def close(self) -> None:
        with self._cv:
            if self._closed:
                return
            self._closed = True
            w = self._w
            self._cv.notify_all()
        if w is not None:
            with contextlib.suppress(OSError):
                w.chan.send({"op": "shutdown"})
            with contextlib.suppress(subprocess.TimeoutExpired):
                w.proc.wait(timeout=0.3)
            self._discard(w)
        if self._finalizer is not None:
            self._finalizer()  # kills leftovers and removes the temp dir

    # -- threads -----------------------------------------------------------------------

    def _start_reader(self, w: WorkerProcess) -> None:
        t = threading.Thread(target=self._reader, args=(w,), name="repl-reader", daemon=True)
        w.threads.append(t)
        t.start()

    def _reader(self, w: WorkerProcess) -> None:
        """Leader/follower: the thread that reads a sub-call request runs the handler itself
        (no hand-off on the round trip's path) after making sure another thread is ready
        to read. Threads beyond two idle ones end."""
        while True:
            with w.read_lock:
                if w.dead:
                    return
                try:
                    msg = w.chan.recv()
                except ProtocolError as exc:
                    w.protocol_error = str(exc)
                    msg = None
                except (OSError, ValueError):
                    msg = None
                if msg is None:
                    with self._cv:
                        w.dead = True
                        self._cv.notify_all()
                    if w.protocol_error:
                        kill_group(w.proc)  # it can no longer be trusted
                    return
                op = msg.get("op")
                if op == "subcall":
                    with self._cv:
                        # at most one sub-call stops the block's clock (its thread waits in one)
                        waiting = msg.get("waiting") is True and self._waiting_subcalls == 0
                        msg["waiting"] = waiting
                        if waiting:
                            self._waiting_subcalls = 1
                            self._pause_t0 = time.monotonic()
                        self._active_subcalls += 1
                        self._subcall_serial += 1
                        msg["serial"] = self._subcall_serial
                        self._in_flight.add(self._subcall_serial)
                        w.readers -= 1
                        spawn = w.readers == 0
                        if spawn:
                            w.readers += 1
                    if spawn:
                        self._start_reader(w)
                elif op == "output":
                    self._live_output(msg)
                    continue
                else:
                    key = "ready" if op == "ready" else msg.get("id")
                    with self._cv:
                        self._results[key] = msg
                        self._cv.notify_all()
                    continue
            self._dispatch(w, msg)  # outside the read lock: another thread reads meanwhile
            with self._cv:
                if w.readers >= 2:
                    return
                w.readers += 1

    def _live_output(self, msg: dict[str, Any]) -> None:
        kept: dict[str, str] = {}
        with self._cv:
            if msg.get("id") != self._running:
                return
            for i, stream in enumerate(("stdout", "stderr")):
                # forged frames must not grow the app's copy past the worker's own cap
                room = self.output_limit - self._live_size[i]
                text = (msg.get(stream) or "")[: max(0, room)]
                if text:
                    self._live[i].append(text)
                    self._live_size[i] += len(text)
                    kept[stream] = text
        cb = self.on_output
        if cb is not None:
            for stream, text in kept.items():
                try:
                    cb(stream, text)
                except Exception:  # noqa: BLE001 - an observer must not break the REPL
                    pass

    def _subcall_done(self, waiting: bool, serial: int | None) -> None:
        with self._cv:
            self._active_subcalls -= 1
            self._in_flight.discard(serial)
            if waiting:
                self._waiting_subcalls = 0
                self._paused += time.monotonic() - self._pause_t0
            self._cv.notify_all()

    def _dispatch(self, w: WorkerProcess, msg: dict[str, Any]) -> None:
        prompts = list(msg.get("prompts") or [])
        kind: Literal["llm", "rlm"] = "rlm" if msg.get("kind") == "rlm" else "llm"
        req = SubcallRequest(
            kind=kind, prompts=prompts, model=msg.get("model"), batched=bool(msg.get("batched"))
        )
        try:
            answers = self.handler(req)
            answers = ["" if a is None else a if isinstance(a, str) else str(a) for a in answers]
            if len(answers) != len(prompts):
                raise RuntimeError(f"the engine returned {len(answers)} answers for {len(prompts)} prompts")
            reply: dict[str, Any] = {"op": "reply", "id": msg.get("id"), "responses": answers, "error": None}
        except Exception as exc:  # noqa: BLE001 - the model sees "Error: ..."
            reply = {"op": "reply", "id": msg.get("id"), "error": f"{type(exc).__name__}: {exc}"}
        finally:
            self._subcall_done(bool(msg.get("waiting")), msg.get("serial"))
        with contextlib.suppress(OSError, ValueError):
            w.chan.send(reply)

    # -- blocks ------------------------------------------------------------------------

    def cancel(self) -> None:
        with self._cv:
            if self._running is not None:
                self._cancel_requested = True
            elif not self._closed:
                self._cancel_pending = True
            self._cv.notify_all()

    def execute(self, code: str) -> ReplResult:
        with self._exec_lock:
            if not self._started:
                self.start()
            with self._cv:
                if self._closed:
                    raise RuntimeError("the REPL is closed")
                if self._cancel_pending:
                    self._cancel_pending = False
                    return ReplResult(
                        "", "\nKeyboardInterrupt: the run was cancelled", {}, 0.0, None, FAILURE_CANCELLED
                    )
            state_lost = False
            if self._w is None:
                self._spawn()
                state_lost = True
            w = self._w
            assert w is not None
            with self._cv:
                self._block_id += 1
                bid = self._block_id
                self._running = bid
                self._live = ([], [])
                self._live_size = [0, 0]
                self._cancel_requested = False
                self._paused = 0.0
            t0 = time.monotonic()
            try:
                w.chan.send({"op": "exec", "id": bid, "code": code})
                result = self._wait_block(w, bid, t0)
            finally:
                with self._cv:
                    self._running = None
                    self._cancel_requested = False
            # a restart was already reported on the block that lost the state
            del state_lost
            return result

    def _settle_subcalls(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cv:
            # only the ones in flight now: model code's threads may go on starting new ones
            pending = set(self._in_flight)
            while pending & self._in_flight and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._cv.wait(left)

    def _compute_time(self, t0: float, now: float) -> float:
        paused = self._paused + (now - self._pause_t0 if self._waiting_subcalls else 0.0)
        return now - t0 - paused

    def _wait_block(self, w: WorkerProcess, bid: int, t0: float) -> ReplResult:
        failure: str | None = None
        kill_at: float | None = None
        while True:
            send: str | None = None
            with self._cv:
                msg = self._results.pop(bid, None)
                if msg is not None:
                    break
                if w.dead or self._closed:
                    break
                now = time.monotonic()
                if failure is None:
                    if self._cancel_requested:
                        failure = FAILURE_CANCELLED
                        send = "KeyboardInterrupt: the run was cancelled"
                    elif self._compute_time(t0, now) >= self.block_timeout:
                        failure = FAILURE_TIMEOUT
                        send = f"TimeoutError: the block ran longer than {self.block_timeout:g} s and was interrupted"
                    if send:
                        kill_at = now + self.interrupt_grace
                if send is None:
                    if kill_at is not None:
                        wait = kill_at - now
                        if wait <= 0:
                            break
                    elif self._active_subcalls:
                        wait = 1.0
                    else:
                        wait = max(0.0, self.block_timeout - self._compute_time(t0, now)) + 0.001
                    self._cv.wait(min(wait, 5.0))
                    continue
            with contextlib.suppress(OSError):
                w.chan.send({"op": "interrupt", "message": send})
        # every sub-call of the block ends before the block does (e.g. a cancelled child run)
        # (a cancel waits less: an LM call that ignores the cancel must not hold up "stop")
        self._settle_subcalls(5.0 if failure == FAILURE_CANCELLED else 60.0)
        elapsed = time.monotonic() - t0
        if msg is not None:
            limit = self.output_limit
            final = msg.get("final_answer")
            res = ReplResult(
                stdout=cap_text(msg.get("stdout", ""), limit),
                stderr=cap_text(msg.get("stderr", ""), limit),
                locals=bound_locals(msg.get("locals") or {}),
                execution_time=float(msg.get("execution_time", elapsed)),
                final_answer=None if final is None else cap_text(final, limit),
                failure=failure,
            )
            if failure is None and msg.get("interrupted"):
                res.failure = FAILURE_CANCELLED
            return res
        # no result: the worker died, ignored the interrupt, or we are closing
        if self._closed:
            self._discard(w)
            return ReplResult(
                "", "\nKeyboardInterrupt: the REPL was closed", {}, elapsed, None, FAILURE_CANCELLED, True
            )
        if failure is not None:
            self._discard(w)
            why = (
                f"ran longer than {self.block_timeout:g} s" if failure == FAILURE_TIMEOUT else "was cancelled"
            )
            err = (
                f"\nTimeoutError: the block {why} and did not stop when interrupted; the REPL process was "
                "killed and restarted, so every variable is gone"
            )
            if failure == FAILURE_CANCELLED:
                err = err.replace("TimeoutError", "KeyboardInterrupt", 1)
            out, before = self._take_live()
            return ReplResult(out, before + err, {}, elapsed, None, failure, True)
        if w.protocol_error:
            self._discard(w)
            out, before = self._take_live()
            err = before + (
                f"\nReplProtocolError: the REPL sent a malformed frame ({w.protocol_error}); the REPL "
                "process was killed and restarted, so every variable is gone"
            )
            return ReplResult(out, err, {}, elapsed, None, FAILURE_CRASHED, True)
        with contextlib.suppress(subprocess.TimeoutExpired):
            w.proc.wait(timeout=2)
        code = self._exit_status(w)
        self._discard(w)
        diag = w.diagnostics()
        out, before = self._take_live()
        teed = w.tee.output(bid) if w.tee is not None else None
        if teed is not None and len(teed[0]) + len(teed[1]) > len(out) + len(before):
            out, before = teed  # the pipe holds what the last live frame missed
        err = before + (
            f"\nReplCrashed: {describe_exit(code)} while running this block; every variable is lost"
            + (" (the output shown is what it printed before)" if out else "")
        )
        if diag:
            err += f"\n--- REPL process output ---\n{diag}"
        return ReplResult(out, err, {}, elapsed, None, FAILURE_CRASHED, True)

    def _exit_status(self, w: WorkerProcess) -> int | None:
        """The worker's exit status as ``Popen.returncode`` has it (negative: a signal)."""
        return w.proc.poll()

    def _take_live(self) -> tuple[str, str]:
        with self._cv:
            out, err = "".join(self._live[0]), "".join(self._live[1])
            self._live = ([], [])
        return out, err
