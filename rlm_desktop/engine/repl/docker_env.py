"""The docker REPL: the same worker as the subprocess REPL, run in a locked-down container.

``DockerReplEnvironment`` is ``SubprocessReplEnvironment`` with another way to start the
worker: one container per worker, made with the ``docker`` SDK (imported lazily). Every
REPL behaviour (persistent state, live output, block timeout with an interrupt first and a
kill after ``interrupt_grace``, cancel, crash reports, a fresh worker after a kill) is the
parent's; only the process is a container.

The container:

* has no network (``network_mode="none"``): ``llm_query``/``rlm_query`` reach the host over
  the unix socket in the REPL's private temp dir, bind-mounted read-only at ``/rlm`` (a
  socket on a read-only mount still accepts connections); ``worker.py`` is copied there;
* is limited: memory (``memory_limit_mb``, no swap; the worker's own RLIMIT_AS turns most
  big allocations into ``MemoryError`` first), CPUs (``cpus``), processes (``pids_limit``);
* has a read-only root file system with tmpfs ``/tmp`` and ``/work`` (the working dir),
  runs as a non-root user (the app's uid, or ``nobody`` when the app runs as root) with
  every capability dropped and ``no-new-privileges``, under docker's init (so a signal
  death is reported as one);
* gets a fixed, small environment: nothing of the app's (API keys never enter it);
* carries labels (owner pid, its start time and host, session, temp dir) so that
  ``cleanup_leftover_containers()`` finds the containers of an app that crashed and
  removes them (and their temp dirs); every docker REPL calls it when it starts.

A container is removed when its worker is killed or the REPL closes (and at interpreter
exit for a REPL that was never closed). Needs a Docker engine on the same kernel (Linux):
the unix socket does not cross into a VM (Docker Desktop). The default image
``rlm-desktop-repl:latest`` is built offline by ``scripts/build_repl_image.sh``; any image
with ``python3`` works (``image=...``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import uuid
import weakref
from collections.abc import Mapping
from typing import Any

from .base import SubcallHandler
from .docker_containers import (
    BUILD_HINT,
    DEFAULT_IMAGE,
    ContainerProcess,
    DockerUnavailable,
    cleanup_leftover_containers,
    container_spec,
    default_user,
    docker_client,
    owner_labels,
    remove_all,
)
from .process import WORKER_PATH, TeeReader, WorkerProcess, launch
from .subprocess_env import SubprocessReplEnvironment

__all__ = [
    "DEFAULT_IMAGE",
    "DockerReplEnvironment",
    "DockerUnavailable",
    "cleanup_leftover_containers",
    "docker_client",
]


def _worker_source() -> bytes:
    try:
        with open(WORKER_PATH, "rb") as f:
            return f.read()
    except OSError:  # e.g. a frozen app: the file is a package resource
        from importlib import resources

        return resources.files(__package__).joinpath("worker.py").read_bytes()


# -- the environment ------------------------------------------------------------------------------


class DockerReplEnvironment(SubprocessReplEnvironment):
    """The subprocess REPL in a container. Extra options: ``image`` (default: ``$RLM_REPL_IMAGE``
    or ``rlm-desktop-repl:latest``), ``cpus``, ``pids_limit``,
    ``tmpfs_mb``, ``user``, ``container_python``, ``container_env`` (no secret-looking names
    pass), ``client`` (a docker client; default from the environment)."""

    name = "docker"

    def __init__(
        self,
        context: Any,
        handler: SubcallHandler,
        *,
        image: str | None = None,
        cpus: float | None = 1.0,
        pids_limit: int | None = 256,
        tmpfs_mb: int = 256,
        user: str | None = None,
        container_python: str = "python3",
        container_env: Mapping[str, str] | None = None,
        client: Any = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("command", None)  # the container is the command
        super().__init__(context, handler, **kwargs)
        self.image = image or os.environ.get("RLM_REPL_IMAGE") or DEFAULT_IMAGE
        self.cpus = cpus
        self.pids_limit = pids_limit
        self.tmpfs_mb = tmpfs_mb
        self.user = user or default_user()
        self.container_python = container_python
        self.container_env = dict(container_env or {})
        self.session = uuid.uuid4().hex
        self._client = client
        self._own_client = False  # made here: closed with the REPL
        self._containers: list[ContainerProcess] = []
        self._docker_finalizer: weakref.finalize | None = None
        #: containers removed as left-overs of dead owners when this REPL started
        self.cleaned_up: list[str] = []

    @property
    def container_name(self) -> str | None:
        """The running worker's container (None between a kill and the next block)."""
        w = self._w
        return getattr(w.proc, "name", None) if w is not None else None

    def start(self) -> None:
        if self._closed or self._started:
            return super().start()
        if self._client is None:
            self._client = docker_client()
            self._own_client = True
        with contextlib.suppress(Exception):  # best effort: never blocks a run
            self.cleaned_up = cleanup_leftover_containers(self._client)
        self._check_image()
        self._docker_finalizer = weakref.finalize(self, remove_all, self._containers)
        super().start()

    def _check_image(self) -> None:
        try:
            self._client.images.get(self.image)
        except Exception as exc:  # noqa: BLE001 - ImageNotFound, or the engine refused
            if type(exc).__name__ == "ImageNotFound":
                raise DockerUnavailable(f"the Docker image {self.image!r} is missing: {BUILD_HINT}") from exc
            raise DockerUnavailable(f"Docker is not reachable: {exc}") from exc

    def _launch(self, name: str) -> WorkerProcess:
        assert self._tmp is not None
        worker = os.path.join(self._tmp, "worker.py")
        if not os.path.exists(worker):
            with open(worker, "wb") as f:
                f.write(_worker_source())
        # a second socket for the worker's output copy (see worker.Tee): what a block printed
        # just before the container died reaches the host even when no live frame carried it
        tee_path = os.path.join(self._tmp, f"{name}.tee")
        tee = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            tee.bind(tee_path)
            tee.listen(1)
            self._tee_name = os.path.basename(tee_path)
            self._grant_access(tee_path)
            w = launch(self._tmp, name, self.start_timeout, command=lambda path: [path], spawn=self._start_container)
            tee.settimeout(5.0)
            with contextlib.suppress(OSError):
                conn, _ = tee.accept()
                w.tee = TeeReader(conn.detach(), self.output_limit)
            return w
        finally:
            tee.close()
            with contextlib.suppress(OSError):
                os.unlink(tee_path)

    def _grant_access(self, socket_path: str) -> None:
        """Let the container's user reach the socket and worker.py (when it is not our uid)."""
        uid_gid = self.user.split(":")
        if not hasattr(os, "getuid") or uid_gid[0] == str(os.getuid()):
            return
        assert self._tmp is not None
        os.chmod(self._tmp, 0o711)  # enter, not list
        os.chmod(os.path.join(self._tmp, "worker.py"), 0o644)
        if os.getuid() == 0 and uid_gid[0].isdigit():
            gid = int(uid_gid[1]) if len(uid_gid) > 1 and uid_gid[1].isdigit() else -1
            os.chown(socket_path, int(uid_gid[0]), gid)
        else:
            os.chmod(socket_path, 0o666)

    def _start_container(self, argv: list[str]) -> ContainerProcess:
        assert self._tmp is not None
        socket_path = argv[0]
        self._grant_access(socket_path)
        spec = container_spec(
            image=self.image,
            name=f"rlm-desktop-{self.session[:12]}-{self._spawns}",
            tmp=self._tmp,
            socket_name=os.path.basename(socket_path),
            labels=owner_labels(self.session, self._tmp),
            memory_limit_mb=self.memory_limit_mb,
            cpus=self.cpus,
            pids_limit=self.pids_limit,
            tmpfs_mb=self.tmpfs_mb,
            user=self.user,
            python=self.container_python,
            env=self.container_env,
            tee_name=getattr(self, "_tee_name", None),
        )
        try:
            container = self._client.containers.create(**spec)
        except Exception as exc:  # noqa: BLE001
            if type(exc).__name__ == "ImageNotFound":
                raise DockerUnavailable(f"the Docker image {self.image!r} is missing: {BUILD_HINT}") from exc
            raise RuntimeError(f"could not create the REPL container: {exc}") from exc
        try:
            container.start()
        except Exception as exc:  # noqa: BLE001 - e.g. no python3 in the image
            with contextlib.suppress(Exception):
                container.remove(force=True)
            raise RuntimeError(f"could not start the REPL container ({self.image}): {exc}") from exc
        proc = ContainerProcess(container)
        self._containers.append(proc)
        return proc

    def _discard(self, w: WorkerProcess) -> None:
        super()._discard(w)  # kill_group() removes the container
        with contextlib.suppress(ValueError):
            self._containers.remove(w.proc)  # type: ignore[arg-type]

    def close(self) -> None:
        super().close()
        if self._docker_finalizer is not None:
            self._docker_finalizer()
        if self._own_client and self._client is not None:
            with contextlib.suppress(Exception):
                self._client.close()


def _main(argv: list[str] | None = None) -> int:
    """``python -m rlm_desktop.engine.repl.docker_env --cleanup``: remove left-over containers."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv != ["--cleanup"]:
        print("usage: python -m rlm_desktop.engine.repl.docker_env --cleanup", file=sys.stderr)
        return 2
    try:
        removed = cleanup_leftover_containers()
    except DockerUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    print("\n".join(removed) or "no left-over REPL containers")
    return 0


if __name__ == "__main__":
    sys.exit(_main())

