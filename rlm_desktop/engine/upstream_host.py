"""``UpstreamProgram``: the user's own program, running upstream ``rlms``, as one more engine.

    prog = UpstreamProgram(["python", "my_eval.py", "--n", "5"], cwd=..., env={...})
    prog.add_observer(fn)          # the same typed events as RLMEngine (engine.events)
    prog.set_gate(controller)      # checkpoint(event) -> None / ResponseEdit, may block, may raise
    result = prog.completion()     # runs the program to its end (call it off the GUI thread)
    result.exit_code, result.completions, result.notices

The program runs unchanged, with the stdlib-only bootstrap (``resources/upstream_boot``)
first on its ``PYTHONPATH``: every Python process it starts that imports upstream ``rlm``
connects back here over a local channel (a unix socket in a private folder, or
127.0.0.1, plus a per-session token) and reports upstream's seams as events. Every
``RLM.completion()`` becomes a root run (several completions, several RLMs and several
processes each their own run); child runs nest as in our engine (run ids
``parent/iteration.block.call``).

Threads: one reader thread per connection applies the messages in arrival order
(``upstream_events.ProgramEvents`` makes the events and the iteration records; then the
observers get them).
A checkpoint is handed to a proxy thread that stands for the program's thread, so the
gate blocks that proxy (each program thread shows as its own paused thread, all-stop
works across processes), never the reader and never the caller. With ``wait=False``
(headless) the program does not wait at checkpoints at all and the gate must not block.

Stop: the gate raising ``RunCancelledError`` answers "stop"; the program raises a
``KeyboardInterrupt`` there, which upstream's completion turns into its own
``CancellationError``; the program's own error handling goes on from there.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import queue
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlm_desktop.paths import resource_path

from . import events as ev
from .parsing import find_code_blocks
from .redaction import Redactor
from .upstream_events import ProgramEvents

log = logging.getLogger(__name__)

ADDRESS_VAR = "RLM_DESKTOP_DEBUG"
TOKEN_VAR = "RLM_DESKTOP_DEBUG_TOKEN"
NO_COMPLETION = "finished without an RLM completion"
_KEY_VARS = ("API_KEY", "_TOKEN", "SECRET")


def boot_dir() -> Path:
    """The bootstrap folder put first on the program's PYTHONPATH."""
    return resource_path("upstream_boot")


@dataclass
class ProgramResult:
    """How the program ended (``status``: finished / failed / cancelled, like a completion)."""

    status: str
    exit_code: int | None
    completions: int = 0
    response: str | None = None  # the last root completion's answer
    error: str | None = None
    notices: list[str] = field(default_factory=list)
    processes: int = 0
    log_error: str | None = None


@dataclass
class _Conn:
    sock: socket.socket
    pid: int = 0
    version: str = ""
    proxies: dict[int, _Proxy] = field(default_factory=dict)
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False

    def send(self, msg: dict[str, Any]) -> None:
        data = (json.dumps(msg) + "\n").encode("ascii")
        with self.send_lock:
            if self.closed:
                return
            try:
                self.sock.sendall(data)
            except OSError:
                self.closed = True


class _Proxy(threading.Thread):
    """Stands for one thread of the program at the gate."""

    def __init__(self, host: UpstreamProgram, conn: _Conn, name: str) -> None:
        super().__init__(name=name, daemon=True)
        self.host = host
        self.conn = conn
        self.jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self.busy = False

    def run(self) -> None:
        while True:
            job = self.jobs.get()
            if job is None:
                return
            event, msg_id, final = job
            self.busy = True
            try:
                answer = self.host._answer(event, final)
            finally:
                self.busy = False
            answer["t"] = "ans"
            answer["id"] = msg_id
            self.conn.send(answer)


class UpstreamProgram:
    def __init__(
        self,
        argv: list[str],
        *,
        cwd: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None,
        wait: bool = True,
        stdin: Any = None,
        stdout: Any = None,
        stderr: Any = None,
        on_notice: Callable[[str], Any] | None = None,
        linger: float = 5.0,
        transport: str = "auto",
    ) -> None:
        if not argv:
            raise ValueError("no command to run")
        self.argv = [str(a) for a in argv]
        self.cwd = str(cwd) if cwd else None
        self.extra_env = dict(env or {})
        self.wait = wait
        self.stdio = (stdin, stdout, stderr)
        self.linger = linger
        self.transport = transport
        self._observers: list[Callable[[ev.Event], Any]] = []
        self._notice_fns: list[Callable[[str], Any]] = [on_notice] if on_notice else []
        self._gate: Any = None
        self._lock = threading.RLock()  # the reader threads apply events one at a time
        self.events = ProgramEvents(self._notify, self._new_completion)
        self._stopped: set[str] = set()  # roots the user stopped
        self._conns: list[_Conn] = []
        self._token = secrets.token_hex(16)
        self._redactor = Redactor(v for k, v in {**os.environ, **self.extra_env}.items()
                                  if any(w in k.upper() for w in _KEY_VARS))
        self.notices: list[str] = []
        self.process: subprocess.Popen[bytes] | None = None
        self.pid: int | None = None
        self.detached = False
        self._exit_fns: list[Callable[[], Any]] = []

    # -- the engine-like interface ---------------------------------------------------------

    @property
    def recorder(self) -> Any:
        """Everything the program reported so far, as model objects (``LiveRecorder``)."""
        return self.events.recorder

    @property
    def completions(self) -> int:
        return self.events.completions

    @property
    def last_answer(self) -> str | None:
        return self.events.last_answer

    def add_observer(self, fn: Callable[[ev.Event], Any]) -> None:
        self._observers.append(fn)

    def on_notice(self, fn: Callable[[str], Any]) -> None:
        self._notice_fns.append(fn)

    def set_gate(self, gate: Any) -> None:
        self._gate = gate

    def cancel(self) -> None:
        """Stop is answered at the program's checkpoints (the gate raises there); nothing to kill."""

    def on_exit(self, fn: Callable[[], Any]) -> None:
        """``fn()`` runs (on the ``run`` thread) once the program and its connections are done."""
        self._exit_fns.append(fn)

    def detach(self) -> None:
        """Let the program go on without us (the app closes): its channels close, it stops
        waiting at checkpoints, and ``run`` returns without waiting for it to end."""
        self.detached = True
        self._shut_channels()

    def _shut_channels(self) -> list[Any]:
        """Shut every process's channel down (its reader sees the end); returns them."""
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return conns

    def completion(self, prompt: Any = None, context: Any = None) -> ProgramResult:
        return self.run()

    # -- running -------------------------------------------------------------------------

    def run(self) -> ProgramResult:
        tmp = tempfile.mkdtemp(prefix="rlm-desktop-debug-")
        server, address = self._listen(tmp)
        env = self._child_env(address)
        stdin, stdout, stderr = self.stdio
        accept = threading.Thread(target=self._accept_loop, args=(server,), name="rlm-debug-accept", daemon=True)
        try:
            try:
                self.process = subprocess.Popen(self.argv, cwd=self.cwd, env=env, stdin=stdin, stdout=stdout,
                                                stderr=stderr)
            except FileNotFoundError:
                return self._not_started(127, f"command not found: {self.argv[0]}")
            except PermissionError:
                return self._not_started(126, f"cannot run {self.argv[0]}: permission denied")
            except OSError as exc:
                return self._not_started(126, f"cannot run {self.argv[0]}: {exc.strerror or exc}")
            self.pid = self.process.pid
            accept.start()
            code = self._wait_process()
            if code is None:
                return ProgramResult("detached", None, self.completions, self.last_answer,
                                     notices=list(self.notices))
            self._wait_connections(self.linger)
        finally:
            self._closing = True
            try:
                server.close()
            except OSError:
                pass
            if accept.is_alive():
                accept.join(2)
            self._close_all()
            shutil.rmtree(tmp, ignore_errors=True)
            for fn in self._exit_fns:
                try:
                    fn()
                except Exception:  # noqa: BLE001
                    log.exception("exit callback failed")
        return self._result(code)

    def _wait_process(self) -> int | None:
        assert self.process is not None
        while not self.detached:
            try:
                return self.process.wait(0.1)
            except subprocess.TimeoutExpired:
                continue
            except KeyboardInterrupt:  # Ctrl+C reached the program too: let it decide
                continue
        return None

    def _not_started(self, code: int, message: str) -> ProgramResult:
        self._notice(message)
        return ProgramResult("failed", code, error=message, notices=list(self.notices))

    def _result(self, code: int) -> ProgramResult:
        exit_code = code if code >= 0 else 128 - code
        if self.completions == 0:
            hint = ""
            if not self._conns and not _looks_like_python(self.argv[0]):
                hint = f" (is `{self.argv[0]}` a Python program? only Python processes are debugged)"
            self._notice(f"the program {NO_COMPLETION} (exit status {exit_code}){hint}")
        status = "finished" if code == 0 else "failed"
        error = None if code == 0 else f"the program exited with status {exit_code}"
        return ProgramResult(status, exit_code, self.completions, self.last_answer, error,
                             list(self.notices), len({c.pid for c in self._conns}))

    def _child_env(self, address: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.extra_env)
        boot = str(boot_dir())
        old = env.get("PYTHONPATH")
        env["PYTHONPATH"] = boot + (os.pathsep + old if old else "")
        env[ADDRESS_VAR] = address
        env[TOKEN_VAR] = self._token
        return env

    def _listen(self, tmp: str) -> tuple[socket.socket, str]:
        self._closing = False
        if self.transport != "tcp" and hasattr(socket, "AF_UNIX"):
            path = os.path.join(tmp, "s")
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.bind(path)
            os.chmod(path, 0o600)
            address = f"unix:{path}"
        else:
            server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            server.bind(("127.0.0.1", 0))
            address = f"tcp:127.0.0.1:{server.getsockname()[1]}"
        server.listen(64)
        server.settimeout(0.2)
        return server, address

    def _accept_loop(self, server: socket.socket) -> None:
        while not self._closing:
            try:
                sock, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            conn = _Conn(sock)
            threading.Thread(target=self._serve, args=(conn,), name="rlm-debug-conn", daemon=True).start()

    def _wait_connections(self, linger: float) -> None:
        deadline = time.monotonic() + linger
        while time.monotonic() < deadline:
            with self._lock:
                if not any(not c.closed for c in self._conns):
                    return
            time.sleep(0.02)
        with self._lock:
            left = [c for c in self._conns if not c.closed]
        for c in left:
            self._notice(f"process {c.pid} is still running after the program ended: it goes on without the debugger")

    def _close_all(self) -> None:
        conns = self._shut_channels()
        for c in conns:
            for p in list(c.proxies.values()):
                p.join(0.5)
        if any(p.busy for c in conns for p in c.proxies.values()):
            stop = getattr(self._gate, "stop", None)  # threads of a dead program are still paused
            if callable(stop):
                stop()

    # -- one connection ----------------------------------------------------------------------

    def _serve(self, conn: _Conn) -> None:
        f = conn.sock.makefile("rb")
        try:
            hello = json.loads(f.readline() or b"{}")
            if not hmac.compare_digest(str(hello.get("token", "")), self._token):
                conn.sock.close()
                return
            conn.pid = int(hello.get("pid") or 0)
            conn.version = str(hello.get("rlms_version") or "")
            with self._lock:
                self._conns.append(conn)
            conn.send({"t": "hello", "ok": True, "wait": self.wait})
            for line in f:
                try:
                    # keys are masked in the JSON text itself (one pass of C-level scans, not a
                    # walk of every string): a key is letters, digits, "-" and "_", never escaped
                    msg = json.loads(self._redactor.text(line.decode("ascii", "replace")))
                except ValueError:
                    log.warning("bad message from process %s", conn.pid)
                    continue
                self._dispatch(conn, msg)
        except (OSError, ValueError) as exc:
            log.debug("connection ended: %s", exc)
        finally:
            conn.closed = True
            try:
                f.close()
                conn.sock.close()
            except OSError:
                pass
            for p in conn.proxies.values():
                p.jobs.put(None)
            with self._lock:
                self.events.process_ended(conn, conn.pid)

    def _dispatch(self, conn: _Conn, msg: dict[str, Any]) -> None:
        t = msg.get("t")
        if t == "unsupported":
            missing = ", ".join(f"RLM.{m}" for m in msg.get("missing") or [])
            self._notice(f"rlms {msg.get('version')} in process {conn.pid} has no {missing}: "
                         "that process runs without the debugger")
            return
        if t == "problem":
            self._notice(f"process {conn.pid}: {msg.get('text')}")
            return
        if t not in ("ev", "cp"):
            return
        with self._lock:
            event = self.events.apply(conn, msg)
        if event is None or t != "cp":
            if t == "cp" and "id" in msg:
                conn.send({"t": "ans", "id": msg["id"], "action": "go"})
            return
        final = bool(msg.get("final") or msg.get("terminal"))
        if "id" not in msg:  # a program that does not wait: the gate only looks
            self._answer(event, final)
            return
        th = int(msg.get("th") or 0)
        proxy = conn.proxies.get(th)
        if proxy is None:
            proxy = _Proxy(self, conn, f"pid {conn.pid} {msg.get('tn') or th}")
            conn.proxies[th] = proxy
            proxy.start()
        proxy.jobs.put((event, msg["id"], final))

    # -- events --------------------------------------------------------------------------------

    def _notify(self, event: ev.Event) -> None:
        for obs in list(self._observers):
            try:
                obs(event)
            except Exception:  # noqa: BLE001 - an observer must not break the channel
                log.exception("observer %r failed on %s", obs, event.kind)

    def _new_completion(self) -> None:
        begin = getattr(self._gate, "begin_completion", None)  # DebugController: a new root run
        if callable(begin):
            begin()

    # -- the gate ---------------------------------------------------------------------------

    def _answer(self, event: ev.Event, final: bool) -> dict[str, Any]:
        root = self.events.root_of(event.run_id)
        terminal = final or isinstance(event, ev.TERMINAL_EVENTS)
        if root in self._stopped and not terminal:
            return {"action": "stop"}
        gate = self._gate
        if gate is None:
            return {"action": "go"}
        fn = getattr(gate, "checkpoint", gate)
        try:
            out = fn(event)
        except ev.RunCancelledError:
            if terminal:
                return {"action": "go"}
            self._stopped.add(root)
            return {"action": "stop"}
        except Exception:  # noqa: BLE001 - a broken gate must not stop the program
            log.exception("the gate failed on %s", event.kind)
            return {"action": "go"}
        if isinstance(out, ev.ResponseEdit) and isinstance(event, ev.LMResponse) and out.text != event.text:
            edited = ev.LMResponseEdited(run_id=event.run_id, parent_id=event.parent_id, depth=event.depth,
                                         iteration=event.iteration, text=out.text, original=event.text,
                                         code_blocks=tuple(find_code_blocks(out.text)))
            with self._lock:
                self.events.emit(edited)
            return {"action": "edit", "text": out.text}
        return {"action": "go"}

    def _notice(self, text: str) -> None:
        text = self._redactor.text(text)
        self.notices.append(text)
        for fn in list(self._notice_fns):
            try:
                fn(text)
            except Exception:  # noqa: BLE001
                log.exception("notice listener failed")


def _looks_like_python(command: str) -> bool:
    path = shutil.which(command) or command
    name = os.path.basename(path).lower()
    if name.startswith(("python", "pypy")) or name.endswith(".py"):
        return True
    try:
        with open(path, "rb") as fh:
            head = fh.read(128)
    except OSError:
        return False
    return head.startswith(b"#!") and b"python" in head.split(b"\n", 1)[0]


__all__ = ["NO_COMPLETION", "ProgramResult", "UpstreamProgram", "boot_dir"]
