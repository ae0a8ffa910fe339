"""A memory limit for a whole sandbox, children included, that model code cannot raise
(and, where a ``pids`` controller is available, a bound on its number of processes).

``MemoryJail.create(limit_mb)`` picks the strongest mechanism the machine allows:

* ``"cgroup2"``: a child cgroup of the app's own cgroup on the unified (v2) hierarchy with
  the ``memory`` controller: ``memory.max`` (and ``memory.swap.max = 0``) covers every
  process in it; ``cgroup.kill`` (or a kill loop) ends them all at once;
* ``"cgroup1"``: the same with the v1 ``memory`` controller (``memory.limit_in_bytes``,
  ``memory.memsw.limit_in_bytes`` where swap accounting exists), where v2 has no memory
  controller but v1 is writable (hybrid machines);
* ``"rlimit"``: no cgroup can be made. The worker then sets a hard ``RLIMIT_AS`` (which an
  unprivileged process cannot raise and every child inherits): a per-process bound, not a
  bound on the sum. The sandbox always does this too, as a second line.

The sandbox is put into the cgroup before it starts (``wrap(argv)`` prefixes a tiny shell
that writes its own pid to ``cgroup.procs`` and then execs the sandbox), so no process of
it ever runs outside. Inside, nothing can leave it: the sandbox has no ``/sys`` and no
capability in the app's user namespace. ``cleanup_leftovers()`` removes the (empty)
cgroups of apps that were killed.

``pids_max`` (default 512) goes into ``pids.max`` of the same cgroup (v2) or of a sibling
cgroup in the v1 ``pids`` hierarchy, where one can be made: a fork bomb then stops there.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import time
import uuid

from .tempdirs import owner_alive, process_start_time

PREFIX = "rlm-sandbox-"
_V1_MEMORY = "/sys/fs/cgroup/memory"


def _mounts() -> list[tuple[str, str, str]]:
    """(mount point, fstype, super options) of every cgroup mount."""
    out = []
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                fields, rfields = left.split(), right.split()
                if len(fields) > 4 and rfields and rfields[0] in ("cgroup", "cgroup2"):
                    out.append((fields[4], rfields[0], rfields[-1] if len(rfields) > 2 else ""))
    except OSError:
        pass
    return out


def _own_cgroups() -> dict[str, str]:
    """hierarchy key ("" for v2, else the controller list) -> this process's cgroup path."""
    out = {}
    try:
        with open("/proc/self/cgroup", encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split(":", 2)
                if len(parts) == 3:
                    out[parts[1]] = parts[2]
    except OSError:
        pass
    return out


def _read(path: str) -> str:
    try:
        with open(path, encoding="ascii") as f:
            return f.read()
    except OSError:
        return ""


def _write(path: str, value: str) -> bool:
    try:
        with open(path, "w", encoding="ascii") as f:
            f.write(value)
        return True
    except OSError:
        return False


def _candidates() -> list[tuple[str, str]]:
    """(kind, parent cgroup dir) to try, strongest first."""
    own = _own_cgroups()
    found: list[tuple[str, str]] = []
    for mount, fstype, _opts in _mounts():
        if fstype == "cgroup2" and "" in own:
            found.append(("cgroup2", os.path.join(mount, own[""].lstrip("/"))))
    for mount, fstype, opts in _mounts():
        if fstype == "cgroup" and "memory" in opts.split(","):
            key = next((k for k in own if "memory" in k.split(",")), None)
            if key is not None:
                found.append(("cgroup1", os.path.join(mount, own[key].lstrip("/"))))
    if not any(k == "cgroup1" for k, _ in found) and os.path.isdir(_V1_MEMORY):
        found.append(("cgroup1", _V1_MEMORY))
    return found


class MemoryJail:
    """One sandbox's cgroup (or the rlimit fallback, where ``path`` is None)."""

    def __init__(self, kind: str, path: str | None, limit_mb: int | None, reason: str = "") -> None:
        self.kind = kind
        self.path = path
        self.limit_mb = limit_mb
        self.pids_path: str | None = None  # the cgroup holding pids.max (may be ``path``)
        self.pids_max: int | None = None
        self._marker: str | None = None
        #: why no cgroup is used (for the log's metadata and the status bar)
        self.reason = reason

    @classmethod
    def create(cls, limit_mb: int | None, *, allow_cgroups: bool = True, pids_max: int | None = 512) -> MemoryJail:
        if not allow_cgroups:
            return cls("rlimit" if limit_mb else "none", None, limit_mb, "cgroups were turned off")
        cleanup_leftovers()
        jail = None
        notes = []
        if limit_mb:
            for kind, parent in _candidates():
                found = cls._try(kind, parent, int(limit_mb))
                if isinstance(found, MemoryJail):
                    jail = found
                    break
                notes.append(f"{kind} at {parent}: {found}")
        if jail is None:
            reason = "; ".join(notes) or "no cgroup file system is mounted"
            jail = cls("rlimit" if limit_mb else "none", None, limit_mb, reason if limit_mb else "no memory limit")
        if pids_max:
            jail._add_pids(int(pids_max))
        jail._owner_note()
        return jail

    def _add_pids(self, pids_max: int) -> None:
        if self.kind == "cgroup2" and self.path is not None:
            parent = os.path.dirname(self.path)
            if "pids" not in _read(os.path.join(self.path, "cgroup.controllers")).split():
                _write(os.path.join(parent, "cgroup.subtree_control"), "+pids")
            if _write(os.path.join(self.path, "pids.max"), str(pids_max)):
                self.pids_path, self.pids_max = self.path, pids_max
                return
        own = _own_cgroups()
        key = next((k for k in own if "pids" in k.split(",")), None)
        for mount, fstype, opts in _mounts():
            if fstype != "cgroup" or "pids" not in opts.split(",") or key is None:
                continue
            path = os.path.join(mount, own[key].lstrip("/"), f"{PREFIX}{uuid.uuid4().hex[:12]}")
            try:
                os.mkdir(path)
            except OSError:
                return
            if _write(os.path.join(path, "pids.max"), str(pids_max)):
                self.pids_path, self.pids_max = path, pids_max
            else:
                with contextlib.suppress(OSError):
                    os.rmdir(path)
            return

    def _paths(self) -> list[str]:
        return [p for p in dict.fromkeys((self.path, self.pids_path)) if p]

    @classmethod
    def _try(cls, kind: str, parent: str, limit_mb: int) -> MemoryJail | str:
        if not os.path.isdir(parent):
            return "missing"
        path = os.path.join(parent, f"{PREFIX}{uuid.uuid4().hex[:12]}")
        try:
            os.mkdir(path)
        except OSError as exc:
            return exc.strerror or str(exc)
        limit = str(limit_mb * 1024 * 1024)
        ok = False
        if kind == "cgroup2":
            if "memory" not in _read(os.path.join(path, "cgroup.controllers")).split():
                _write(os.path.join(parent, "cgroup.subtree_control"), "+memory")
            ok = _write(os.path.join(path, "memory.max"), limit)
            if ok:
                _write(os.path.join(path, "memory.swap.max"), "0")
                _write(os.path.join(path, "memory.oom.group"), "1")
        else:
            ok = _write(os.path.join(path, "memory.limit_in_bytes"), limit)
            if ok and os.path.exists(os.path.join(path, "memory.memsw.limit_in_bytes")):
                _write(os.path.join(path, "memory.memsw.limit_in_bytes"), limit)
            _write(os.path.join(path, "memory.swappiness"), "0")
        if not ok:
            with contextlib.suppress(OSError):
                os.rmdir(path)
            return "the memory controller is not available there"
        _write(os.path.join(path, "notify_on_release"), "0")
        return cls(kind, path, limit_mb)

    def _owner_note(self) -> None:
        # cgroup dirs cannot hold files: the owner goes into a marker file in the temp folder
        paths = self._paths()
        if not paths:
            return
        owner = f"{os.getpid()} {process_start_time(os.getpid()) or '-'}"
        self._marker = os.path.join(_marker_dir(), os.path.basename(paths[0]))
        _write(self._marker, owner + "\n" + "".join(p + "\n" for p in paths))

    @property
    def covers_children(self) -> bool:
        return self.path is not None

    def describe(self) -> str:
        if self.kind == "none":
            text = "no memory limit"
        elif self.path is not None:
            text = f"{self.limit_mb} MB for the whole sandbox ({self.kind})"
        else:
            text = f"{self.limit_mb} MB per process (hard RLIMIT_AS; no cgroup: {self.reason})"
        if self.pids_max:
            text += f", at most {self.pids_max} processes"
        return text

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` started inside the cgroup(s) from its first instruction."""
        paths = self._paths()
        if not paths:
            return argv
        procs = [os.path.join(p, "cgroup.procs") for p in paths]
        script = " && ".join(f'echo $$ > "${i}"' for i in range(len(procs)))
        # $0 is the first file, $1.. the others; shift them off and exec the sandbox
        shift = f" && shift {len(procs) - 1}" if len(procs) > 1 else ""
        return ["/bin/sh", "-c", f'{script}{shift} && exec "$@"', *procs, *argv]

    def pids(self) -> list[int]:
        found: list[int] = []
        for path in self._paths():
            found += [int(p) for p in _read(os.path.join(path, "cgroup.procs")).split() if p.isdigit()]
        return sorted(set(found))

    def kill_all(self) -> None:
        if self.kind == "cgroup2" and self.path and _write(os.path.join(self.path, "cgroup.kill"), "1"):
            return
        for _ in range(20):  # a process may fork between the read and the kill: repeat
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def remove(self) -> None:
        """Kill what is left in the cgroup(s) and remove them (idempotent)."""
        paths = self._paths()
        if paths:
            self.kill_all()
        for path in paths:
            for _ in range(100):
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)  # killed processes take a moment to leave
        if self._marker:
            with contextlib.suppress(OSError):
                os.unlink(self._marker)
        self.path = self.pids_path = None


def _marker_dir() -> str:
    d = os.path.join(tempfile.gettempdir(), "rlm-sandbox-cgroups")
    with contextlib.suppress(OSError):
        os.makedirs(d, mode=0o700, exist_ok=True)
    return d


def cleanup_leftovers() -> list[str]:
    """Kill and remove the cgroups of apps that are no longer running."""
    removed: list[str] = []
    d = _marker_dir()
    try:
        names = [n for n in os.listdir(d) if n.startswith(PREFIX)]
    except OSError:
        return removed
    for name in names:
        marker = os.path.join(d, name)
        lines = _read(marker).splitlines()
        if len(lines) < 2:
            continue
        pid_text, _, start = lines[0].partition(" ")
        try:
            pid = int(pid_text)
        except ValueError:
            continue
        if owner_alive(pid, None if start in ("", "-") else start):
            continue
        paths = [p for p in lines[1:] if os.path.basename(p) == name or os.path.basename(p).startswith(PREFIX)]
        jail = MemoryJail("cgroup1", None, None)
        alive = [p for p in paths if os.path.isdir(p) and "/sys/fs/cgroup" in p]
        if alive:
            jail.path = alive[0]
            jail.pids_path = alive[1] if len(alive) > 1 else None
        jail._marker = marker
        jail.remove()
        removed += paths
    return removed
