"""``GuardedLines``: a JSONL file written line by line that stops at the first line that fails.

Both logs we write (one run's log, ``log_writer``; the record of a debugged program's
completions, ``completions_log``) follow one rule: a write error (disk full, a folder where
the file should be, ...) is kept in ``.error`` and logged, and no later line is written, since
a later, smaller line that fits again would leave a hole (a file claiming a run without one of
its iterations). Lines not written after the error are counted in ``.skipped``. With a
``redactor`` every record, and the error text (it may quote a path), are redacted first.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from rlm_desktop.trajectory.writer import TrajectoryWriter

from .redaction import Redactor

log = logging.getLogger(__name__)


class GuardedLines:
    def __init__(
        self, path: str | os.PathLike[str], *, fsync: bool, redactor: Redactor | None = None, what: str = "log"
    ) -> None:
        self.path = path
        self.writer = TrajectoryWriter(path, fsync=fsync)
        self.redactor = redactor
        self.what = what  # how the error names the file ("the log ...", "the record ...")
        self.error: str | None = None
        self.lines = 0
        self.skipped = 0

    def write(self, rec: dict[str, Any], metadata: bool = False) -> bool:
        """Write one line (the metadata line with ``metadata``); False when it was not written."""
        if self.error is not None:
            self.skipped += 1
            return False
        if self.redactor:
            rec = self.redactor.obj(rec)
        try:
            if metadata:
                self.writer.write_metadata(rec)
            else:
                self.writer.write_record(rec)
        except OSError as exc:
            error = f"cannot write the {self.what} {self.path} (it stops after line {self.lines}): {exc}"
            self.error = self.redactor.text(error) if self.redactor else error
            log.error("%s", self.error)
            return False
        self.lines += 1
        return True

    def close(self) -> None:
        self.writer.close()


class GuardedLog:
    """A log written through a ``GuardedLines`` (``self._lines``), with its write state public."""

    _lines: GuardedLines

    @property
    def error(self) -> str | None:
        """The first write error (redacted), None while every line was written."""
        return self._lines.error

    @property
    def lines(self) -> int:
        """Lines written."""
        return self._lines.lines

    @property
    def skipped(self) -> int:
        """Lines not written after a write error."""
        return self._lines.skipped


__all__ = ["GuardedLines", "GuardedLog"]
