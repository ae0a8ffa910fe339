"""Byte-offset line index for big JSONL logs.

A 1 GB log must open without parsing every line. ``LineIndex`` finds line
boundaries by scanning the file for ``\\n`` in chunks with numpy (no JSON
parsing, no per-byte Python work) and keeps each line's start offset in a
growing ``int64`` array. The scan is incremental: ``scan(max_bytes)`` indexes
the next piece and returns, so a worker thread can build the index step by
step while another thread reads what is indexed so far; lines are usable as
soon as their newline has been seen. A trailing line without ``\\n`` is not
indexed (it is still being written, or the writer died) and is reported by
``pending_bytes``.

    idx = LineIndex(path)
    idx.scan(8 << 20)           # index up to 8 MiB more; returns new complete lines
    idx.line_count              # complete lines indexed so far
    idx.span(i)                 # (start, end) of 0-based line i, end excludes "\\n" and "\\r"
    idx.read_line(i)            # the bytes of line i
    idx.head(i, 256), idx.tail(i, 256)   # the first / last bytes of line i
    idx.complete                # scanned up to the end of the file as it was
    idx.refresh()               # the file grew: keep going; it shrank: start again

The record rules for what those bytes mean (``peek_head``/``peek_tail``) are in
``format.py``.

All public methods are thread-safe (one lock; file reads use their own handle).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

NEWLINE = 0x0A
DEFAULT_CHUNK = 8 << 20


class LineIndex:
    """See the module docstring."""

    def __init__(self, path: str | os.PathLike[str], chunk_size: int = DEFAULT_CHUNK) -> None:
        self.path = os.fspath(path)
        self.chunk_size = max(1024, int(chunk_size))
        self._lock = threading.RLock()  # guards the state below
        self._scan_lock = threading.Lock()  # one scanner at a time
        self._starts = np.zeros(1024, dtype=np.int64)  # start offset of line i
        self._ends = np.zeros(1024, dtype=np.int64)  # offset of line i's "\n"
        self._count = 0
        self._scanned = 0  # offset just after the last newline seen
        self._scan_pos = 0  # bytes read by the scanner (>= _scanned)
        self._size = 0  # file size when last looked at
        self._started = False
        self._read_fh: Any = None
        self._generation = 0  # bumped when the file was replaced/truncated and the index restarted

    # -- state ---------------------------------------------------------------------

    @property
    def line_count(self) -> int:
        return self._count

    @property
    def scanned_bytes(self) -> int:
        return self._scanned

    @property
    def size(self) -> int:
        return self._size

    @property
    def complete(self) -> bool:
        """Scanned at least once, and up to the file size seen last."""
        return self._started and self._scan_pos >= self._size

    @property
    def pending_bytes(self) -> int:
        """Bytes after the last newline (an unterminated last line), once scanned to the end."""
        return self._size - self._scanned if self.complete else 0

    @property
    def generation(self) -> int:
        """Bumped each time the file shrank and the index started again."""
        return self._generation

    # -- scanning --------------------------------------------------------------------

    def _stat_size(self) -> int:
        try:
            return os.stat(self.path).st_size
        except OSError:
            return 0

    def refresh(self) -> bool:
        """Look at the file size again. Returns True if the index was reset (file shrank)."""
        with self._lock:
            size = self._stat_size()
            if size < self._scan_pos:
                self._reset()
                self._size = size
                return True
            self._size = size
            return False

    def _reset(self) -> None:
        self._count = 0
        self._scanned = 0
        self._scan_pos = 0
        self._generation += 1
        if self._read_fh is not None:
            self._read_fh.close()
            self._read_fh = None

    def _append(self, starts: np.ndarray, ends: np.ndarray) -> None:
        n = len(starts)
        need = self._count + n
        if need > len(self._starts):
            cap = max(need, 2 * len(self._starts))
            for name in ("_starts", "_ends"):
                old = getattr(self, name)
                new = np.zeros(cap, dtype=np.int64)
                new[: self._count] = old[: self._count]
                setattr(self, name, new)
        self._starts[self._count : need] = starts
        self._ends[self._count : need] = ends
        self._count = need

    def scan(self, max_bytes: int | None = None) -> int:
        """Index up to ``max_bytes`` more bytes (all remaining when None). Returns new complete lines.

        One scanner at a time; the file is read and searched outside the state
        lock, so readers are only held up while a chunk's offsets are published.
        """
        with self._scan_lock:
            with self._lock:
                if self._scan_pos >= self._size:
                    self.refresh()  # at the end: has the file grown (or shrunk)?
                self._started = True
                before = self._count
                pos, gen = self._scan_pos, self._generation
                left = self._size - pos
            budget = left if max_bytes is None else min(max_bytes, left)
            if budget <= 0:
                return 0
            try:
                fh = open(self.path, "rb")  # noqa: SIM115 - closed below
            except OSError:
                return 0
            try:
                fh.seek(pos)
                buf = bytearray(min(self.chunk_size, max(budget, 1)))
                while budget > 0:
                    want = min(len(buf), budget)
                    n = fh.readinto(memoryview(buf)[:want])
                    if not n:
                        break
                    arr = np.frombuffer(buf, dtype=np.uint8, count=n)
                    nl = np.flatnonzero(arr == NEWLINE).astype(np.int64) + pos
                    with self._lock:
                        if gen != self._generation:  # reset meanwhile (file shrank): stop
                            return 0
                        if len(nl):
                            starts = np.empty(len(nl), dtype=np.int64)
                            starts[0] = self._scanned
                            starts[1:] = nl[:-1] + 1
                            self._append(starts, nl)
                            self._scanned = int(nl[-1]) + 1
                        self._scan_pos += n
                    pos += n
                    budget -= n
            finally:
                fh.close()
            return self._count - before

    # -- reading ---------------------------------------------------------------------

    def span(self, i: int) -> tuple[int, int]:
        """(start, end) byte offsets of 0-based line ``i``; ``end`` excludes "\\n"."""
        with self._lock:
            if not 0 <= i < self._count:
                raise IndexError(i)
            return int(self._starts[i]), int(self._ends[i])

    def spans(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the (starts, ends) arrays of the lines indexed so far."""
        with self._lock:
            return self._starts[: self._count].copy(), self._ends[: self._count].copy()

    def _read(self, offset: int, n: int) -> bytes:
        with self._lock:
            if self._read_fh is None:
                self._read_fh = open(self.path, "rb")  # noqa: SIM115 - closed in close()
            self._read_fh.seek(offset)
            return self._read_fh.read(n)

    def read_line(self, i: int) -> bytes:
        start, end = self.span(i)
        data = self._read(start, end - start)
        return data[:-1] if data.endswith(b"\r") else data

    def head(self, i: int, n: int = 256) -> bytes:
        start, end = self.span(i)
        return self._read(start, min(n, end - start))

    def tail(self, i: int, n: int = 256) -> bytes:
        start, end = self.span(i)
        k = min(n + 1, end - start)
        data = self._read(end - k, k)
        if data.endswith(b"\r"):
            data = data[:-1]
        return data[-n:] if n else b""

    def read_pending(self, limit: int | None = None) -> bytes:
        """The unterminated bytes after the last newline (up to ``limit``)."""
        with self._lock:
            n = self._size - self._scanned
            if n <= 0:
                return b""
            return self._read(self._scanned, n if limit is None else min(n, limit))

    def close(self) -> None:
        with self._lock:
            if self._read_fh is not None:
                self._read_fh.close()
                self._read_fh = None

    def __enter__(self) -> LineIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
