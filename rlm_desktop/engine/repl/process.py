"""Starting and stopping one REPL worker process (used by ``subprocess_env``; the docker
environment can reuse ``launch`` with its own ``command``).

``launch`` listens on ``<tmp>/<name>`` (a unix socket), starts the worker in a new
session/process group with stdin from /dev/null, its stdout+stderr on a pipe whose
tail is kept for crash reports, and returns once the worker has connected.
"""

from __future__ import annotations

import collections
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, Any, Protocol

from .protocol import HEADER, HostChannel

WORKER_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL", re.IGNORECASE)
_DIAG_LIMIT = 16 * 1024


def worker_program(python: str | None = None) -> list[str]:
    """The argv that starts a worker, before its options: the frozen app runs itself with
    ``--repl-worker``, else this (or the given) Python runs ``worker.py``."""
    if python is None and getattr(sys, "frozen", False):
        return [sys.executable, "--repl-worker"]
    return [python or sys.executable, WORKER_PATH]


def worker_command(socket_path: str, python: str | None = None) -> list[str]:
    """How to start a worker that connects to ``socket_path``."""
    return [*worker_program(python), "--connect", socket_path]


def worker_environment() -> dict[str, str]:
    """The app's environment without anything that looks like a secret (API keys)."""
    env = {k: v for k, v in os.environ.items() if not _SECRET_NAME.search(k)}
    env.setdefault("PYTHONIOENCODING", "utf-8")
    # OpenBLAS reserves address space per thread: on many-core machines ``import numpy``
    # would fail under the RLIMIT_AS memory limit with one thread per core
    env.setdefault("OPENBLAS_NUM_THREADS", str(min(8, os.cpu_count() or 1)))
    # glibc reserves address space per malloc arena (one per thread): small RLIMIT_AS limits
    # would fail trivial code with MemoryError
    env.setdefault("MALLOC_ARENA_MAX", "2")
    return env


class ChildProcess(Protocol):
    """What the REPL code needs of a started worker: ``subprocess.Popen``, or a look-alike
    such as a container (``docker_containers.ContainerProcess``, which has no local ``pid``
    and stops through its own ``kill_group()``)."""

    @property
    def pid(self) -> int | None: ...

    @property
    def stdout(self) -> IO[bytes] | None: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def kill(self) -> None: ...


def describe_exit(code: int | None) -> str:
    if code is None:
        return "the REPL process stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        text = f"the REPL process was killed by {name}"
        if -code == signal.SIGSEGV:
            text += " (segmentation fault)"
        elif -code == signal.SIGKILL:
            text += " (possibly out of memory)"
        return text
    return f"the REPL process exited with code {code}"


def kill_group(proc: ChildProcess) -> None:
    own = getattr(proc, "kill_group", None)
    if own is not None:  # not a local process group (e.g. a container, see docker_env)
        own()
        return
    if proc.pid is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
            os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, OSError):
        proc.kill()
    with contextlib.suppress(Exception):
        proc.wait(timeout=5)


def finalize(procs: list[ChildProcess], tmp: str | None) -> None:
    for p in procs:
        if p.poll() is None:
            kill_group(p)
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)


class TeeReader:
    """The host side of the worker's ``Tee`` pipe: keeps the output of the latest block,
    bounded to ``limit`` characters per stream, so what a block printed just before its
    process crashed is not lost (the live output frames lag up to 0.1 s behind)."""

    def __init__(self, fd: int, limit: int) -> None:
        self.fd = fd
        self.limit = limit
        self.block: str | None = None
        self.parts: dict[bytes, list[str]] = {b"o": [], b"e": []}
        self.sizes = {b"o": 0, b"e": 0}
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="repl-tee", daemon=True)
        self.thread.start()

    def _read(self, f: Any, n: int) -> bytes | None:
        data = f.read(n)
        return data if len(data) == n else None

    def _run(self) -> None:
        with os.fdopen(self.fd, "rb", buffering=256 * 1024) as f:
            while True:
                head = self._read(f, 5)
                if head is None:
                    return
                kind, (n,) = head[:1], HEADER.unpack(head[1:])
                if kind not in (b"B", b"o", b"e") or n > 16 * 1024 * 1024:
                    return  # garbage: model code wrote to the pipe; stop trusting it
                payload = self._read(f, n)
                if payload is None:
                    return
                with self.lock:
                    if kind == b"B":
                        self.block = payload.decode("ascii", "replace")
                        self.parts = {b"o": [], b"e": []}
                        self.sizes = {b"o": 0, b"e": 0}
                        continue
                    room = self.limit - self.sizes[kind]
                    if room > 0:
                        text = payload.decode("utf-8", "replace")[:room]
                        self.parts[kind].append(text)
                        self.sizes[kind] += len(text)

    def output(self, block_id: int, wait: float = 0.5) -> tuple[str, str] | None:
        """(stdout, stderr) teed for ``block_id`` (after up to ``wait`` s for the pipe's end)."""
        self.thread.join(wait)
        with self.lock:
            if self.block != str(block_id):
                return None
            return "".join(self.parts[b"o"]), "".join(self.parts[b"e"])


class WorkerProcess:
    """One live worker process and its connection."""

    def __init__(self, proc: ChildProcess, chan: HostChannel) -> None:
        self.proc = proc
        self.chan = chan
        self.dead = False
        #: why the host stopped trusting the worker (a malformed frame), or None
        self.protocol_error: str | None = None
        self.tee: TeeReader | None = None
        self.diag: collections.deque[bytes] = collections.deque()
        self.diag_size = 0
        self.threads: list[threading.Thread] = []
        self.read_lock = threading.Lock()  # one reader at a time (leader/follower)
        self.readers = 0  # threads reading or ready to read (guarded by the env's condition)

    def diagnostics(self) -> str:
        text = b"".join(self.diag).decode("utf-8", "replace").strip()
        return text[-4000:]


def _drain(w: WorkerProcess) -> None:
    """Keep the tail of the worker's own stdout/stderr (crash reports, C-level prints)."""
    assert w.proc.stdout is not None
    fd = w.proc.stdout.fileno()
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            return
        if not chunk:
            return
        w.diag.append(chunk)
        w.diag_size += len(chunk)
        while w.diag_size > _DIAG_LIMIT and len(w.diag) > 1:
            w.diag_size -= len(w.diag.popleft())


def launch(
    tmp: str,
    name: str,
    start_timeout: float = 30.0,
    python: str | None = None,
    command: Callable[[str], list[str]] | None = None,
    cwd: str | None = None,
    spawn: Callable[[list[str]], ChildProcess] | None = None,
    pass_fds: tuple[int, ...] = (),
) -> WorkerProcess:
    """Start a worker that connects to the socket ``<tmp>/<name>``; ``command(path)`` gives
    its argv (default ``worker_command``). ``spawn(argv)`` starts it instead of a local
    process group (it returns a Popen look-alike with ``poll``, ``wait``, ``stdout`` and a
    ``kill_group()`` method, e.g. a container). Raises RuntimeError when it does not connect."""
    path = os.path.join(tmp, name)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(path)
        listener.listen(1)
        listener.settimeout(0.1)
        argv = command(path) if command is not None else worker_command(path, python)
        proc: ChildProcess
        proc = spawn(argv) if spawn is not None else subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=cwd or os.path.join(tmp, "work"),
            env=worker_environment(),
            start_new_session=True,
            close_fds=True,
            pass_fds=pass_fds,
        )
        deadline = time.monotonic() + start_timeout
        conn = None
        while conn is None:
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = b""
                    if proc.poll() is not None and proc.stdout is not None:
                        out = proc.stdout.read()
                    kill_group(proc)
                    raise RuntimeError(
                        f"the REPL worker did not start ({describe_exit(proc.poll())}): "
                        f"{out.decode('utf-8', 'replace').strip()[-2000:]}"
                    ) from None
    finally:
        listener.close()
        with contextlib.suppress(OSError):
            os.unlink(path)
    conn.settimeout(None)
    w = WorkerProcess(proc, HostChannel(conn))
    start_drain(w)
    return w


def start_drain(w: WorkerProcess) -> None:
    """Keep the tail of ``w``'s own stdout/stderr on a daemon thread (see ``_drain``)."""
    drain = threading.Thread(target=_drain, args=(w,), name="repl-drain", daemon=True)
    drain.start()
    w.threads.append(drain)
