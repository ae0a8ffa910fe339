"""The JSONL log observer: an upstream-compatible trajectory file, written as the run goes.

``JsonlLogObserver(path, redactor)`` is an engine observer. It writes the
metadata line when the root run starts and one line per ROOT iteration when
that iteration finishes (child runs are nested inside their parent's iteration
line, under ``rlm_calls[].metadata``, exactly as upstream 0.1.2+ does). Every
line goes to the file in one unbuffered ``write`` before the engine goes on, so a
tailer sees it at once; it is then fsynced after every iteration: by default on a
background thread (``fsync="async"``: the engine does not wait for the disk, and
``close()`` waits for the last fsync), or inline (``fsync="sync"``).
The engine's records already carry our extras under ``"rlm_desktop"`` (the root
call's usage, the edited marker, ``status``/``error`` on the record that ends a
failed or cancelled run). Records from the engine are already redacted; a ``redactor`` given here is applied again.

A write error (disk full, ...) is kept in ``.error`` and logged, and no later line is written
(``line_guard.GuardedLines``: a later line that fits again would leave a hole); the run goes
on, and ``CompletionResult.log_error`` says where the log stopped.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from rlm_desktop.trajectory.writer import default_log_path

from .events import Event, IterationFinished, RunStarted
from .line_guard import GuardedLines, GuardedLog
from .redaction import Redactor

log = logging.getLogger(__name__)


class JsonlLogObserver(GuardedLog):
    def __init__(
        self, path: str | os.PathLike[str], redactor: Redactor | None = None, *, fsync: str = "async"
    ) -> None:
        if fsync not in ("async", "sync", "off"):
            raise ValueError("fsync must be 'async', 'sync' or 'off'")
        self.path = Path(path)
        self.redactor = redactor
        self._lines = GuardedLines(self.path, fsync=fsync == "sync", redactor=redactor)
        self._syncer = _Syncer(self.path) if fsync == "async" else None
        self._root_id: str | None = None

    @classmethod
    def in_dir(cls, log_dir: str | os.PathLike[str], file_name: str = "rlm", **kw: Any) -> JsonlLogObserver:
        return cls(default_log_path(log_dir, file_name), **kw)

    def __call__(self, event: Event) -> None:
        if event.depth != 0:
            return
        if isinstance(event, RunStarted):
            if self._root_id is None:
                self._root_id = event.run_id
                meta = dict(event.metadata)
                meta.setdefault("type", "metadata")
                self._write(meta, metadata=True)
        elif isinstance(event, IterationFinished):
            self._write(event.record)

    def _write(self, rec: dict[str, Any], metadata: bool = False) -> None:
        if self._lines.write(rec, metadata) and self._syncer is not None:
            self._syncer.request()

    def close(self) -> None:
        self._lines.close()
        if self._syncer is not None:
            self._syncer.close()


class _Syncer:
    """fsyncs a file on a daemon thread whenever asked (requests coalesce)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cond = threading.Condition()
        self._wanted = 0
        self._done = 0
        self._closed = False
        self._thread: threading.Thread | None = None

    def request(self) -> None:
        with self._cond:
            self._wanted += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="rlm-log-fsync", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def _loop(self) -> None:
        fd = -1
        try:
            fd = os.open(self.path, os.O_RDONLY)
            while True:
                with self._cond:
                    while self._done >= self._wanted and not self._closed:
                        self._cond.wait()
                    if self._done >= self._wanted and self._closed:
                        return
                    target = self._wanted
                os.fsync(fd)
                with self._cond:
                    self._done = target
                    self._cond.notify_all()
        except OSError as exc:
            log.error("fsync of %s failed: %s", self.path, exc)
            with self._cond:
                self._done = self._wanted = 0
                self._closed = True
                self._cond.notify_all()
        finally:
            if fd >= 0:
                os.close(fd)

    def close(self, timeout: float = 10.0) -> None:
        """Wait for the last requested fsync, then stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            self._cond.wait_for(lambda: self._done >= self._wanted, timeout)
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def synced(self) -> int:
        return self._done
