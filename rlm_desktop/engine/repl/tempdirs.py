"""The REPLs' private temp dirs (socket, scratch folder) and the clean-up of ones left behind.

``make_dir()`` creates ``<tmp>/rlm-repl-XXXX`` (mode 0700) with an ``owner`` file: the
app's pid and that process's start time (so a recycled pid is not mistaken for the owner).
A REPL removes its dir when it closes; an app killed with ``kill -9`` cannot, so the first
REPL of the next app calls ``cleanup_once()``, which removes every such dir whose owner is
no longer running. Dirs without an owner file (made by older versions, or being created
right now) are left alone unless they are older than a day.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
import time

PREFIX = "rlm-repl-"
OWNER_FILE = "owner"
_STALE_UNOWNED = 24 * 3600.0
_done = False
_lock = threading.Lock()


def process_start_time(pid: int) -> str | None:
    """The start time of ``pid`` in clock ticks since boot (Linux), or None (gone/unknown)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # the command name (field 2) may contain spaces and parentheses: fields after the last ")"
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def owner_alive(pid: int, start: str | None) -> bool:
    if pid <= 0:
        return False
    if os.path.isdir("/proc/self"):
        now = process_start_time(pid)
        return now is not None and (start is None or now == start)
    try:  # no /proc (macOS): the pid alone
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def make_dir(base: str | None = None) -> str:
    path = tempfile.mkdtemp(prefix=PREFIX, dir=base)
    pid = os.getpid()
    with open(os.path.join(path, OWNER_FILE), "w", encoding="ascii") as f:
        f.write(f"{pid} {process_start_time(pid) or '-'}\n")
    return path


def _owner(path: str) -> tuple[int, str | None] | None:
    try:
        with open(os.path.join(path, OWNER_FILE), encoding="ascii") as f:
            pid_text, _, start = f.read().strip().partition(" ")
        return int(pid_text), (None if start in ("", "-") else start)
    except (OSError, ValueError):
        return None


def cleanup_leftovers(base: str | None = None) -> list[str]:
    """Remove the REPL temp dirs of apps that are no longer running; returns their paths."""
    base = base or tempfile.gettempdir()
    removed: list[str] = []
    try:
        names = [n for n in os.listdir(base) if n.startswith(PREFIX)]
    except OSError:
        return removed
    for name in names:
        path = os.path.join(base, name)
        if not os.path.isdir(path) or os.path.islink(path):
            continue
        owner = _owner(path)
        if owner is None:
            with contextlib.suppress(OSError):
                if time.time() - os.stat(path).st_mtime < _STALE_UNOWNED:
                    continue
        elif owner_alive(*owner):
            continue
        shutil.rmtree(path, ignore_errors=True)
        if not os.path.exists(path):
            removed.append(path)
    return removed


def cleanup_once() -> list[str]:
    """``cleanup_leftovers()`` the first time it is called in this process."""
    global _done
    with _lock:
        if _done:
            return []
        _done = True
    return cleanup_leftovers()
