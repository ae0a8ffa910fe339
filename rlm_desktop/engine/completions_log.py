"""``CompletionsLog``: every root completion of a debuggee in ONE upstream-compatible JSONL file.

An observer of the engine event stream (``rlm-desktop debug --record FILE.jsonl``). A
user's program may run several completions, one after another or at the same time (several
RLMs, threads, processes). The file is what upstream's own logger writes for one logger
shared by several completions: one metadata line (the first completion's), then the
iteration lines of each completion, its iteration numbers starting again at 1, child runs
nested in their parent's line. Completions that overlap are kept apart: the lines of the
one being written go out as its iterations finish; the others wait in memory until it ends.

Lines are written with ``TrajectoryWriter`` (one unbuffered ``write`` per line, so a reader
sees each line at once; ``fsync=True`` also syncs every line, by default the file is synced
once at ``close``, so a fast program does not wait for the disk). A write error is kept in
``.error``; later lines are dropped (no holes: ``line_guard.GuardedLines``, as for a run's log).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from rlm_desktop.trajectory.writer import now_timestamp

from . import events as ev
from .line_guard import GuardedLines, GuardedLog

log = logging.getLogger(__name__)


class CompletionsLog(GuardedLog):
    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = path
        self._lines = GuardedLines(path, fsync=fsync, what="record")
        self._current: str | None = None
        self._waiting: dict[str, list[dict[str, Any]]] = {}  # root id -> lines, in start order
        self._ended: set[str] = set()
        self.completions = 0

    def __call__(self, event: ev.Event) -> None:
        if event.depth != 0 or event.parent_id is not None:
            return
        rid = event.run_id
        if isinstance(event, ev.RunStarted):
            self.completions += 1
            if self.completions == 1:
                meta = {"type": "metadata", "timestamp": now_timestamp()}
                meta.update({k: v for k, v in event.metadata.items() if k not in ("type", "timestamp")})
                self._write(meta, metadata=True)
            if self._current is None:
                self._current = rid
            else:
                self._waiting.setdefault(rid, [])
        elif isinstance(event, ev.IterationFinished):
            if rid == self._current:
                self._write(event.record)
            elif rid in self._waiting:
                self._waiting[rid].append(event.record)
        elif isinstance(event, ev.TERMINAL_EVENTS):
            if rid == self._current:
                self._current = None
                self._next()
            elif rid in self._waiting:
                self._ended.add(rid)

    def _next(self) -> None:
        while self._waiting and self._current is None:
            rid = next(iter(self._waiting))
            for rec in self._waiting.pop(rid):
                self._write(rec)
            if rid in self._ended:
                self._ended.discard(rid)
            else:
                self._current = rid

    def _write(self, rec: dict[str, Any], metadata: bool = False) -> None:
        self._lines.write(rec, metadata)

    def close(self) -> None:
        """Write what is still waiting (completions the program never ended), then close."""
        self._current = None
        self._ended.update(self._waiting)
        self._next()
        try:
            fh = self._lines.writer._fh
            if fh is not None:
                os.fsync(fh.fileno())
        except OSError as exc:
            log.warning("fsync of %s failed: %s", self.path, exc)
        self._lines.close()


__all__ = ["CompletionsLog"]
