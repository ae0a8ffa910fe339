"""The JSONL log observer: an upstream-compatible trajectory file, written as the run goes.

``JsonlLogObserver(path, redactor)`` is an engine observer. It writes the
metadata line when the root run starts and one line per ROOT iteration when
that iteration finishes (child runs are nested inside their parent's iteration
line, under ``rlm_calls[].metadata``, exactly as upstream 0.1.2+ does). Every
line is flushed and fsynced before the engine goes on (``TrajectoryWriter``).
The engine's records already carry our extras under ``"rlm_desktop"`` (the root
call's usage, the edited marker, ``status``/``error`` on the record that ends a
failed or cancelled run). Every line passes through the redactor first.

A write error (disk full, ...) is kept in ``.error`` and logged; the run goes on.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from rlm_desktop.trajectory.writer import TrajectoryWriter, default_log_path

from .events import Event, IterationFinished, RunStarted
from .redaction import Redactor

log = logging.getLogger(__name__)


class JsonlLogObserver:
    def __init__(self, path: str | os.PathLike[str], redactor: Redactor | None = None, *, fsync: bool = True):
        self.path = Path(path)
        self.redactor = redactor or Redactor()
        self._writer = TrajectoryWriter(self.path, fsync=fsync)
        self._root_id: str | None = None
        self.error: str | None = None
        self.lines = 0

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
        if self.redactor:
            rec = self.redactor.obj(rec)
        try:
            if metadata:
                self._writer.write_metadata(rec)
            else:
                self._writer.write_record(rec)
            self.lines += 1
        except OSError as exc:
            self.error = self.redactor.text(f"cannot write the log {self.path}: {exc}")
            log.error("%s", self.error)

    def close(self) -> None:
        self._writer.close()
