"""The default REPL: the subprocess REPL's worker, run inside a bubblewrap sandbox.

``SandboxReplEnvironment`` is ``SubprocessReplEnvironment`` (every REPL behaviour: state,
live output, timeouts, cancel, crash reports, the host-side caps) with another way to start
the worker: ``bwrap`` (see ``bwrap.py`` for what the sandbox holds) inside a memory cgroup
where the machine allows one (``memory_jail.py``). The worker's only way out is the
connected socket it inherits (``--fd``): no path, no port, no network (unless
``network=True``).

Where bubblewrap is missing or cannot make a sandbox (user namespaces off), ``start()``
raises ``SandboxUnavailable`` with the reason and the choices; it never falls back to an
unsandboxed process by itself.

Options (``EngineConfig.environment_kwargs`` or the config fields): ``network`` (False),
``env_passthrough`` (names of the app's environment variables to pass in; nothing else of
the app's environment enters), ``bwrap`` (path; default ``$RLM_BWRAP`` or ``bwrap`` on
PATH), ``tmp_mb`` (size of the sandbox's ``/tmp``), ``use_cgroups`` (True), ``pids_max``
(512: processes at most, where a pids cgroup can be made), ``program``
(the worker's argv before its options; default this Python running ``worker.py``, or the
frozen app running itself with ``--repl-worker``: its folder is bound read-only).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import weakref
from collections.abc import Iterable
from typing import Any

from .base import FAILURE_CANCELLED, FAILURE_TIMEOUT, ReplResult, SubcallHandler
from .bwrap import SandboxStatus, probe, sandbox_argv, sandbox_environment
from .memory_jail import MemoryJail
from .process import TeeReader, WorkerProcess, kill_group, start_drain, worker_program
from .protocol import HostChannel
from .subprocess_env import SubprocessReplEnvironment

FALLBACK_CHOICES = (
    "Choose the Docker REPL, or the unsandboxed subprocess REPL (model code then runs with "
    "your user's rights and can read your files and keys)."
)


class SandboxUnavailable(RuntimeError):
    """bubblewrap cannot run here; the message says why and what to choose instead."""


class SandboxReplEnvironment(SubprocessReplEnvironment):
    name = "sandbox"

    def __init__(
        self,
        context: Any,
        handler: SubcallHandler,
        *,
        network: bool = False,
        env_passthrough: Iterable[str] = (),
        bwrap: str | None = None,
        tmp_mb: int = 256,
        use_cgroups: bool = True,
        program: list[str] | None = None,
        pids_max: int | None = 512,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("command", None)  # the sandbox is the command
        super().__init__(context, handler, **kwargs)
        self.network = bool(network)
        self.env_passthrough = tuple(env_passthrough)
        self.bwrap = bwrap
        self.tmp_mb = tmp_mb
        self.use_cgroups = use_cgroups
        self.pids_max = pids_max
        #: the worker's argv before its options (default: this Python + worker.py, or the
        #: frozen app + ``--repl-worker``); e.g. a built app checked from source
        self.program = list(program) if program else None
        self.status: SandboxStatus | None = None
        self.jail: MemoryJail | None = None
        self._jail_finalizer: weakref.finalize | None = None

    def start(self) -> None:
        if self._closed or self._started:
            return super().start()
        self.status = probe(self.bwrap)
        if not self.status.available:
            raise SandboxUnavailable(f"{self.status.message}. {FALLBACK_CHOICES}")
        self.jail = MemoryJail.create(self.memory_limit_mb, allow_cgroups=self.use_cgroups, pids_max=self.pids_max)
        self._jail_finalizer = weakref.finalize(self, self.jail.remove)
        super().start()

    def describe(self) -> str:
        """One line for the status bar and the log: what holds model code."""
        parts = ["bubblewrap sandbox", "network allowed" if self.network else "no network"]
        if self.jail is not None:
            parts.append(self.jail.describe())
        return ", ".join(parts)

    def _launch(self, name: str) -> WorkerProcess:
        assert self._tmp is not None and self.status is not None and self.status.bwrap
        host, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        tee_r, tee_w = os.pipe()
        fds = (child.fileno(), tee_w)
        base = self.program or worker_program(self.python)
        program = [*base, "--fd", str(fds[0]), "--tee-fd", str(fds[1])]
        argv = sandbox_argv(
            self.status.bwrap,
            program,
            scratch=os.path.join(self._tmp, "work"),
            network=self.network,
            tmp_mb=self.tmp_mb,
        )
        if self.jail is not None:
            argv = self.jail.wrap(argv)
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=self._tmp,
                env=sandbox_environment(self.env_passthrough),
                start_new_session=True,
                close_fds=True,
                pass_fds=fds,
            )
        except BaseException:
            host.close()
            os.close(tee_r)
            raise
        finally:
            child.close()
            os.close(tee_w)
        w = WorkerProcess(proc, HostChannel(host))
        w.tee = TeeReader(tee_r, self.output_limit)
        start_drain(w)
        return w

    def execute(self, code: str) -> ReplResult:
        res = super().execute(code)
        if res.failure in (FAILURE_CANCELLED, FAILURE_TIMEOUT) and not res.state_lost:
            self.kill_strays()  # what the stopped block started (setsid, double-forked) dies too
        return res

    def kill_strays(self) -> list[int]:
        """Kill every process of the sandbox but bwrap and the worker; returns their pids.
        In the sandbox's PID namespace every orphan is reparented to bwrap's init, so the
        process tree under bwrap holds them all (``setsid`` does not leave it)."""
        w = self._w
        if w is None or w.proc.poll() is not None:
            return []
        children = _children_map()
        init = children.get(w.proc.pid, []) if w.proc.pid is not None else []
        keep = {w.proc.pid, *init}
        worker = [c for i in init for c in children.get(i, [])][:1]  # the first child: the worker
        keep.update(worker)
        strays: list[int] = []
        todo = list(init)
        while todo:
            pid = todo.pop()
            for c in children.get(pid, []):
                todo.append(c)
                if c not in keep:
                    strays.append(c)
        for pid in strays:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        return strays

    def _exit_status(self, w: WorkerProcess) -> int | None:
        code = super()._exit_status(w)
        # bwrap exits with 128 + n when the worker was killed by signal n
        return -(code - 128) if code is not None and 128 < code < 160 else code

    def _discard(self, w: WorkerProcess) -> None:
        kill_group(w.proc)
        if self.jail is not None:
            self.jail.kill_all()  # whatever the sandbox started, wherever it went
        super()._discard(w)

    def close(self) -> None:
        super().close()
        if self._jail_finalizer is not None:
            self._jail_finalizer()
        with contextlib.suppress(Exception):
            if self.jail is not None:
                self.jail.remove()


def _children_map() -> dict[int, list[int]]:
    """ppid -> child pids (sorted by pid, i.e. mostly by age) of every process on the host."""
    out: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1].isdigit():
            out.setdefault(int(fields[1]), []).append(int(name))
    for kids in out.values():
        kids.sort()
    return out
