"""The bubblewrap command line of the sandboxed REPL, and whether bubblewrap can run here.

``sandbox_argv()`` builds the ``bwrap`` argv (pure: no process is started):

* new user, PID, network (unless network is allowed), IPC, UTS and (where possible) cgroup
  namespaces; ``--die-with-parent``; ``--new-session`` (no terminal to inject keys into);
  ``--disable-userns`` (no nested user namespaces); every capability dropped;
* a root made of nothing but read-only binds of the system (``/usr``, the ``/bin``-style
  links, a short list of ``/etc`` files) and of the Python that runs the worker (the venv,
  its base installation, the worker's own folder, or the frozen app's folder); fresh
  ``/proc`` (only the sandbox's own processes) and minimal, read-only ``/dev``; size-bounded
  tmpfs ``/tmp`` and ``/dev/shm``; no home directory, no ``/sys``, no ``/run``, nothing of the
  user's files;
* the private scratch folder of the run, writable, at ``/scratch`` (also ``HOME`` and cwd).

``probe(path)`` runs that kind of sandbox once (cached) and says why it cannot run:
bubblewrap missing, user namespaces off, or another error, word for word.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SCRATCH = "/scratch"
#: ``/etc`` entries a Python program needs (dynamic loader, users, time zone, TLS, names).
ETC_FILES = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime", "timezone",
    "passwd", "group", "nsswitch.conf", "hosts", "host.conf", "resolv.conf", "gai.conf",
    "ssl", "ca-certificates", "ca-certificates.conf", "pki", "mime.types", "os-release",
    "protocols", "services",
)  # fmt: skip
#: The sandbox's whole environment, before the variables the user names.
BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": SCRATCH,
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONIOENCODING": "utf-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONNOUSERSITE": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MALLOC_ARENA_MAX": "2",
}
INSTALL_HINT = "install it with: sudo apt-get install bubblewrap (Fedora: dnf install bubblewrap)"


@dataclass(frozen=True)
class SandboxStatus:
    available: bool
    bwrap: str | None
    #: one plain sentence: what runs, or why not and what to do
    message: str


def find_bwrap(path: str | None = None) -> str | None:
    """``path``, else ``$RLM_BWRAP``, else ``bwrap`` on PATH (None when none exists)."""
    path = path or os.environ.get("RLM_BWRAP") or "bwrap"
    if os.sep in path:
        return path if os.path.isfile(path) and os.access(path, os.X_OK) else None
    return shutil.which(path)


def sandbox_environment(passthrough: Iterable[str] = (), source: Mapping[str, str] | None = None) -> dict[str, str]:
    """``BASE_ENV`` plus the variables named in ``passthrough`` (taken from ``source``,
    default the app's environment): nothing else of the app's environment enters."""
    source = os.environ if source is None else source
    env = dict(BASE_ENV)
    for name in passthrough:
        if name in source:
            env[name] = source[name]
    return env


def _system_binds() -> list[str]:
    args: list[str] = []
    for name in ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        p = "/" + name
        if os.path.islink(p):
            args += ["--symlink", os.readlink(p), p]
        elif os.path.isdir(p):
            args += ["--ro-bind", p, p]
    for name in ETC_FILES:
        p = os.path.join("/etc", name)
        if os.path.lexists(p):
            args += ["--ro-bind-try", p, p]
    return args


def program_dirs(program: list[str]) -> list[str]:
    """The folders the worker's program needs, read-only: the Python installation(s) and
    the worker's own folder, or the frozen app's folder (not under ``/usr``)."""
    dirs: list[str] = []
    if getattr(sys, "frozen", False) and program and program[0] == sys.executable:
        dirs.append(os.path.dirname(os.path.realpath(sys.executable)))
        meipass = getattr(sys, "_MEIPASS", None)
        if meipass:
            dirs.append(os.path.realpath(meipass))
    else:
        exe = program[0] if program else sys.executable
        for p in (exe, os.path.realpath(exe)):
            dirs.append(os.path.dirname(p))
        for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix):
            dirs.append(os.path.realpath(p))
            dirs.append(p)
        for arg in program[1:]:
            if arg.endswith(".py") and os.path.isabs(arg):
                dirs.append(os.path.dirname(arg))
    out: list[str] = []
    for d in sorted({os.path.abspath(d) for d in dirs}, key=lambda d: d.count(os.sep)):
        if d in ("/", "/usr") or d.startswith("/usr/") or not os.path.isdir(d):
            continue
        if not any(d == k or d.startswith(k.rstrip(os.sep) + os.sep) for k in out):
            out.append(d)  # a folder inside one already bound is bound with it
    return out


def sandbox_argv(
    bwrap: str,
    program: list[str],
    *,
    scratch: str,
    network: bool = False,
    tmp_mb: int = 256,
    extra_ro: Iterable[str] = (),
) -> list[str]:
    """The argv that runs ``program`` (already inside the sandbox's paths) in the sandbox."""
    uid = os.getuid() if hasattr(os, "getuid") else 1000
    args = [
        bwrap,
        "--unshare-user",
        "--uid", str(uid or 65534),
        "--gid", str(uid or 65534),
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--hostname", "rlm-sandbox",
        "--die-with-parent",
        "--new-session",
        "--disable-userns",
        "--cap-drop", "ALL",
    ]  # fmt: skip
    if not network:
        args.append("--unshare-net")
    args += _system_binds()
    args += [
        "--proc", "/proc",
        "--dev", "/dev",
        # both in memory, both bounded (POSIX semaphores of multiprocessing need /dev/shm)
        "--size", str(int(tmp_mb) * 1024 * 1024), "--tmpfs", "/dev/shm",
        "--remount-ro", "/dev",
        "--size", str(int(tmp_mb) * 1024 * 1024), "--tmpfs", "/tmp",
    ]  # fmt: skip
    # after /tmp: a one-file frozen app unpacks itself under /tmp (sys._MEIPASS)
    for d in [*program_dirs(program), *extra_ro]:
        args += ["--ro-bind", d, d]
    args += [
        "--bind", scratch, SCRATCH,
        "--remount-ro", "/",  # the root bwrap builds is a tmpfs: read-only once it is built
        "--chdir", SCRATCH,
        "--",
        *program,
    ]  # fmt: skip
    return args


@functools.lru_cache(maxsize=8)
def _probe(bwrap: str | None, requested: str | None) -> SandboxStatus:
    if bwrap is None:
        where = f"{requested!r} does not exist" if requested else "bwrap is not on PATH"
        return SandboxStatus(False, None, f"bubblewrap is not installed ({where}): {INSTALL_HINT}")
    scratch = tempfile.mkdtemp(prefix="rlm-probe-")
    argv = sandbox_argv(bwrap, [sys.executable, "-c", "pass"], scratch=scratch)
    try:
        done = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=30, env=sandbox_environment()
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SandboxStatus(False, bwrap, f"bubblewrap ({bwrap}) cannot run: {exc}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if done.returncode != 0:
        err = done.stderr.decode("utf-8", "replace").strip()[-500:] or f"exit code {done.returncode}"
        hint = ""
        if "namespace" in err.lower() or "permission" in err.lower():
            hint = " (user namespaces may be off: sysctl kernel.unprivileged_userns_clone=1)"
        return SandboxStatus(False, bwrap, f"bubblewrap ({bwrap}) cannot make a sandbox here: {err}{hint}")
    return SandboxStatus(True, bwrap, f"model code runs in a bubblewrap sandbox ({bwrap})")


def probe(path: str | None = None) -> SandboxStatus:
    """Whether the sandbox can run with ``path`` (see ``find_bwrap``); cached per path."""
    return _probe(find_bwrap(path), path or os.environ.get("RLM_BWRAP"))


def clear_probe_cache() -> None:
    _probe.cache_clear()
