"""Docker plumbing of the docker REPL (``docker_env``): the client, the container spec,
owner labels and the clean-up of left-overs, and ``ContainerProcess`` (a started container
that looks like the ``subprocess.Popen`` the REPL code expects). The ``docker`` SDK is
imported lazily (``docker_client``); nothing here needs a Docker engine to import.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Mapping
from typing import Any

from .process import _SECRET_NAME

DEFAULT_IMAGE = "rlm-desktop-repl:latest"
MOUNT = "/rlm"  # the REPL's temp dir (socket + worker.py) inside the container
WORKDIR = "/work"
LABEL_PID = "rlm-desktop.owner-pid"
LABEL_START = "rlm-desktop.owner-start"
LABEL_HOST = "rlm-desktop.owner-host"
LABEL_SESSION = "rlm-desktop.session"
LABEL_TMP = "rlm-desktop.tmp"
NOBODY = "65534:65534"
BUILD_HINT = "build it with scripts/build_repl_image.sh (no registry needed) or pass image=... (any image with python3)"


class DockerUnavailable(RuntimeError):
    """No Docker engine (or SDK, or image) to run the REPL in; the message says why and what to do."""


def _probe_unix_socket(timeout: float) -> None:
    """Fail early (and close our socket) when the engine's unix socket does not answer: the
    SDK leaks its socket when that first connection fails."""
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if not host.startswith("unix://"):
        return
    path = host[len("unix://") :]
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(timeout)
        try:
            probe.connect(path)
        except OSError as exc:
            raise DockerUnavailable(
                f"Docker is not reachable: {path}: {exc.strerror or exc}. "
                "Start the Docker engine (dockerd) or set DOCKER_HOST."
            ) from exc


def docker_client(timeout: float = 10.0) -> Any:
    """A connected ``docker.DockerClient`` (from ``DOCKER_HOST`` etc.), or DockerUnavailable."""
    try:
        import docker
    except ImportError as exc:
        raise DockerUnavailable(
            f"Docker is not reachable: the 'docker' Python package is missing ({exc}); pip install docker"
        ) from exc
    _probe_unix_socket(timeout)
    client = None
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
    except Exception as exc:  # noqa: BLE001 - DockerException, requests errors, bad DOCKER_HOST, ...
        if client is not None:
            client.close()
        raise DockerUnavailable(
            f"Docker is not reachable: {exc}. Start the Docker engine (dockerd) or set DOCKER_HOST."
        ) from exc
    return client


# -- owner bookkeeping (labels) and left-over cleanup -----------------------------------------------


def process_start(pid: int) -> str | None:
    """An id of the process ``pid``'s life (its start time on Linux, "" elsewhere), None if dead."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return None if fields[0] == b"Z" else fields[19].decode()
    except FileNotFoundError:
        return None
    except (OSError, IndexError):  # no /proc: fall back to "does it exist"
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except OSError:
            pass
        return ""


def owner_labels(session: str, tmp: str | None = None) -> dict[str, str]:
    pid = os.getpid()
    labels = {
        LABEL_PID: str(pid),
        LABEL_START: process_start(pid) or "",
        LABEL_HOST: socket.gethostname(),
        LABEL_SESSION: session,
    }
    if tmp:
        labels[LABEL_TMP] = tmp
    return labels


def owner_is_gone(labels: Mapping[str, str]) -> bool:
    """True for a container made on this host by a process that no longer runs."""
    if labels.get(LABEL_HOST, socket.gethostname()) != socket.gethostname():
        return False  # another machine's container on a shared engine: not ours to judge
    try:
        pid = int(labels.get(LABEL_PID, ""))
    except ValueError:
        return False
    now = process_start(pid)
    if now is None:
        return True
    started = labels.get(LABEL_START, "")
    return bool(started and now and started != now)  # the pid was reused by another process


def _remove_tmp(path: str | None) -> None:
    """Remove a dead owner's REPL temp dir (only ones that look like ours)."""
    if not path:
        return
    path = os.path.realpath(path)
    base = os.path.realpath(tempfile.gettempdir())
    if os.path.dirname(path) == base and os.path.basename(path).startswith("rlm-repl-"):
        shutil.rmtree(path, ignore_errors=True)


def cleanup_leftover_containers(client: Any = None) -> list[str]:
    """Remove the REPL containers whose owner process is gone (an app that crashed or was
    killed); returns their names. Containers of live owners are left alone."""
    own = client is None
    client = docker_client() if own else client
    removed = []
    try:
        for c in client.containers.list(all=True, filters={"label": LABEL_PID}):
            labels = dict(c.labels or {})
            if not owner_is_gone(labels):
                continue
            with contextlib.suppress(Exception):  # already gone (another cleaner), engine hiccup
                c.remove(force=True)
                removed.append(c.name)
                _remove_tmp(labels.get(LABEL_TMP))
    finally:
        if own:
            client.close()
    return removed


# -- the container spec --------------------------------------------------------------------------


def container_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The container's whole environment: fixed values plus ``extra`` without secret-looking names."""
    env = {
        "PYTHONIOENCODING": "utf-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "HOME": WORKDIR,
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        # glibc reserves 64 MiB of address space per thread arena: without a cap the
        # worker's RLIMIT_AS (= the memory limit) is used up by reservations alone
        "MALLOC_ARENA_MAX": "2",
    }
    for k, v in (extra or {}).items():
        if not _SECRET_NAME.search(k):
            env[str(k)] = str(v)
    return env


def default_user() -> str:
    """The app's own uid:gid (the socket is then reachable as is), ``nobody`` for root."""
    if not hasattr(os, "getuid") or os.getuid() == 0:
        return NOBODY
    return f"{os.getuid()}:{os.getgid()}"


def container_spec(
    *,
    image: str,
    name: str,
    tmp: str,
    socket_name: str,
    labels: Mapping[str, str],
    memory_limit_mb: int | None,
    cpus: float | None = 1.0,
    pids_limit: int | None = 256,
    tmpfs_mb: int = 256,
    user: str | None = None,
    python: str = "python3",
    env: Mapping[str, str] | None = None,
    init: bool = True,
    tee_name: str | None = None,
) -> dict[str, Any]:
    """The keyword arguments of ``client.containers.create`` for one worker."""
    user = user or default_user()
    # docker copies the image's /work (root, 0755) onto the tmpfs, whatever ``mode`` says: the
    # working folder is only writable when the tmpfs belongs to the container's user
    ids = user.split(":")
    owner = ""
    if ids[0].isdigit():
        owner = f",uid={ids[0]},gid={ids[1] if len(ids) > 1 and ids[1].isdigit() else ids[0]}"
    spec: dict[str, Any] = {
        "image": image,
        "command": [python, f"{MOUNT}/worker.py", "--connect", f"{MOUNT}/{socket_name}"]
        + (["--tee-connect", f"{MOUNT}/{tee_name}"] if tee_name else []),
        "name": name,
        "labels": dict(labels),
        "network_mode": "none",
        "read_only": True,
        "tmpfs": {
            "/tmp": f"rw,nosuid,nodev,size={int(tmpfs_mb)}m,mode=1777",
            WORKDIR: f"rw,nosuid,nodev,size={int(tmpfs_mb)}m,mode=1777{owner}",
        },
        "working_dir": WORKDIR,
        "volumes": {tmp: {"bind": MOUNT, "mode": "ro"}},
        "user": user,
        "environment": container_environment(env),
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "init": init,
        "stdin_open": False,
        "tty": False,
    }
    if memory_limit_mb:
        spec["mem_limit"] = f"{int(memory_limit_mb)}m"
        spec["memswap_limit"] = f"{int(memory_limit_mb)}m"  # no swap on top
    if cpus:
        spec["nano_cpus"] = int(float(cpus) * 1e9)
    if pids_limit:
        spec["pids_limit"] = int(pids_limit)
    return spec


# -- a container that looks like the Popen the REPL code expects ---------------------------------


def exit_status(code: int | None, oom_killed: bool = False) -> int:
    """Docker's exit code as a Popen return code: a signal death (128+n under docker's init,
    or an out-of-memory kill) becomes -n, so crash reports name the signal."""
    if oom_killed:
        return -signal.SIGKILL
    if code is None:
        return -signal.SIGKILL
    if 128 < code <= 128 + 64:
        return -(code - 128)
    return code


class ContainerProcess:
    """One started worker container: ``poll``/``wait``/``stdout`` (its log stream, for crash
    reports) like ``subprocess.Popen``, and ``kill_group()`` that kills and removes it.
    Made after ``container.start()`` (the log stream of a container not yet running ends at once)."""

    pid = None  # no local process

    def __init__(self, container: Any) -> None:
        self.container = container
        self.name = container.name
        self.returncode: int | None = None
        self.removed = False
        self._exited = threading.Event()
        self._lock = threading.Lock()
        rfd, self._wfd = os.pipe()
        self.stdout = os.fdopen(rfd, "rb", buffering=0)
        self._pump_thread = threading.Thread(target=self._pump, name="repl-docker-logs", daemon=True)
        self._pump_thread.start()

    def _pump(self) -> None:
        logs = None
        try:
            logs = self.container.logs(stream=True, follow=True, stdout=True, stderr=True)
            for chunk in logs:
                os.write(self._wfd, chunk)
        except Exception:  # noqa: BLE001 - removed, engine gone, reader closed (EPIPE)
            pass
        finally:
            close = getattr(logs, "close", None)  # the SDK's stream holds a connection
            if close is not None:
                with contextlib.suppress(Exception):
                    close()
        code: int | None = None
        oom = False
        if not self.removed:
            with contextlib.suppress(Exception):
                code = int(self.container.wait(timeout=10).get("StatusCode"))
                self.container.reload()
                oom = bool(self.container.attrs.get("State", {}).get("OOMKilled"))
        with contextlib.suppress(OSError):
            os.close(self._wfd)
        self._set_exit(exit_status(code, oom))

    def _set_exit(self, code: int) -> None:
        with self._lock:
            if self.returncode is None:
                self.returncode = code
        self._exited.set()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._exited.wait(timeout):
            raise subprocess.TimeoutExpired(self.name, timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def kill_group(self) -> None:
        """Kill and remove the container (idempotent); its log stream ends with it."""
        with self._lock:
            first = not self.removed
            self.removed = True
        if first:
            with contextlib.suppress(Exception):  # already removed, or the engine is gone
                self.container.remove(force=True)
        self._set_exit(-signal.SIGKILL)  # keeps the exit code the pump found, if any
        if self._pump_thread is not threading.current_thread():
            self._pump_thread.join(timeout=2.0)

    kill = kill_group


def remove_all(procs: list[ContainerProcess]) -> None:
    for p in list(procs):
        p.kill_group()
