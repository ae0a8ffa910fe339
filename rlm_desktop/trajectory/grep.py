"""Find which lines of a big log mention a text, without parsing any line.

Upstream and our writer escape strings with ``json.dumps`` (ASCII only:
non-ASCII as ``\\uXXXX`` with lower-case hex, quotes and newlines escaped), so
a text from a JSON string appears in the raw bytes exactly as
``json.dumps(text)[1:-1]``. ``grep_lines`` searches the file for that byte
string chunk by chunk (``bytes.find``, chunks overlapping by the needle's
length) and maps hits to 1-based line numbers with the ``LineIndex`` offsets.
Case-insensitive search lower-cases ASCII letters on both sides (escapes are
lower-case already, so non-ASCII letters match only in the case typed).

    hits = grep_lines(index, "ZeroDivisionError")   # [2, 5, ...] line numbers
    hits = grep_lines(index, "héllo", case_sensitive=False)

A hit means the text occurs somewhere in the line's JSON (in any field, at any
depth); the caller parses those lines to show where. Lines that were not
indexed yet (``index.line_count``) are not searched. A ``cancel`` callable is
polled between chunks so a UI can abandon a search.

This is the search backend for a log opened lazily (only its index and the
iterations on screen are in memory): ``matching_iterations(lazy, text)`` streams
the file for the text and parses only the lines that contain it (not installed
into the document: the caller checks the exact fields and points at the shells).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .index import LineIndex

CHUNK = 8 << 20


def needle_for(text: str) -> bytes:
    """The bytes a JSON string containing ``text`` holds for it, as upstream writes them."""
    return json.dumps(text)[1:-1].encode("ascii")


def grep_lines(
    index: LineIndex,
    text: str,
    *,
    case_sensitive: bool = True,
    cancel: Callable[[], bool] | None = None,
    chunk_size: int = CHUNK,
) -> list[int]:
    """1-based numbers of the indexed lines whose raw bytes contain ``text`` (see module doc)."""
    if not text:
        return []
    needle = needle_for(text)
    if not case_sensitive:
        needle = needle.lower()
    starts, ends = index.spans()
    if not len(starts):
        return []
    stop = int(ends[-1])
    offsets: list[int] = []
    pos = 0
    overlap = len(needle) - 1
    with open(index.path, "rb") as fh:
        while pos < stop:
            if cancel is not None and cancel():
                break
            fh.seek(pos)
            chunk = fh.read(min(chunk_size, stop - pos) + overlap)
            if not chunk:
                break
            hay = chunk if case_sensitive else chunk.lower()
            i = hay.find(needle)
            while i >= 0:
                offsets.append(pos + i)
                i = hay.find(needle, i + 1)
            pos += max(1, min(chunk_size, stop - pos))
    if not offsets:
        return []
    # the escaped needle holds no raw newline, so a hit never spans two lines
    hit_lines = np.searchsorted(starts, np.asarray(offsets, dtype=np.int64), side="right") - 1
    return [int(n) + 1 for n in np.unique(hit_lines) if n >= 0]


def matching_iterations(
    lazy: Any, text: str, *, case_sensitive: bool = True, cancel: Callable[[], bool] | None = None
) -> Iterator[tuple[int, int, Any]]:
    """(run index, position, parsed ``Iteration``) of a ``lazy.LazyTrajectory``'s iteration lines
    that contain ``text`` (see ``grep_lines``), in file order. Any thread."""
    lines = grep_lines(lazy.index, text, case_sensitive=case_sensitive, cancel=cancel)
    if not lines:
        return
    snap = lazy.snapshot()
    where = {s.line_no: (s.run_index, s.position) for r in snap.runs for s in r.iterations}
    for line_no in lines:
        if cancel is not None and cancel():
            return
        hit = where.get(line_no)
        if hit is not None:
            yield hit[0], hit[1], lazy.parse_iteration(*hit)
