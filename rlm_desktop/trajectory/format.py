"""The record rules of upstream's JSONL trajectory log, in one place (no Qt, no I/O policy).

**When upstream's log format changes, this module is the one place to change.** Every
reader goes through it: the whole-file reader (``reader.py``), the byte-offset index
and lazy document (``stub_index.py``/``lazy.py``), the one-pass totals (``totals.py``),
the per-file summaries of a runs list (``run_summary.py``) and the tailer (``tail.py``).
The facts come from ``../shared/spec/TRAJECTORY_FORMAT.md``; the rules drawn from them:

* **Record types** (§2): a line is ``{"type": "metadata", ...}`` or ``{"type": "iteration", ...}``
  (``METADATA``/``ITERATION``); anything else is a bad line. Upstream writes keys in a fixed
  order with ``json.dumps`` default separators, which ``peek_head``/``peek_tail`` rely on.
* **Run splitting** (§3, ``RunSplit``): no record marks the start of a completion. A new run
  starts at the first iteration after a metadata line, after an iteration with a final
  answer, and when the iteration number does not go up (0.1.1+ restart at 1 for every
  ``completion()``; pre/0.1.0 never restart, so only the final answer splits them).
* **Era** (§5, ``guess_era``): ``pre`` (``final_answer`` is a ``[kind, text]`` pair),
  ``0.1.0`` (blocks without ``result.final_answer``), ``0.1.1`` (with it), ``0.1.2+`` (with it
  and an ``answer`` dict holding ``ready`` in the locals), ``rlm_desktop`` (our extra key on
  the metadata line). The guess only moves forward from ``unknown``/``0.1.0``/``0.1.1``.
* **Who counts a completion's usage** (§4, ``counts_upstream``): upstream's way (a child
  RLM's ``usage_summary`` already holds its REPL's ``llm_query`` calls, ``summary.py``)
  unless the metadata line the completion is under is ours (``rlm_desktop`` era, our extra
  key). One metadata line per file, so this is the file's era; in a file with several
  (logs appended to one another) each completion goes by the line above it, and one with
  none above it (upstream's ``logger.log()`` without metadata, a model built in code) is upstream's.
* **Final answers** (§3, ``final_text``/``is_default_answer``): ``null``; a string (0.1.0+);
  a ``[kind, text]`` pair (pre; for ``FINAL_VAR`` the text is a variable *name*, whose value
  the reader looks up in the locals). The default-answer record (max iterations ran out)
  has no blocks, ``iteration_time`` null and ``final_answer == response``.
* **Byte peeks** (``peek_head``/``peek_tail``): type, iteration number and timestamp from a
  line's first bytes; ``final_answer`` (null or not, and its value when it fits),
  ``iteration_time`` (null or not) and our extras from its last bytes. Exact for upstream's
  and our files (``"final_answer": `` cannot occur unescaped inside a JSON string); anything
  else gives None and the caller parses the line.
* **Sub-call count by bytes** (``SUBCALL_KEY``): every ``rlm_calls`` entry at every depth has
  the key ``"usage_summary"``, which a JSON string cannot hold unescaped, so counting it in
  the raw bytes counts sub-calls without parsing (``run_summary.py``).
* **Non-finite numbers** (§1): upstream writes bare ``NaN``/``Infinity``/``-Infinity`` (only in
  locals and kwargs), which strict JSON parsers reject. Our writer writes them as the strings
  ``"NaN"``/``"Infinity"``/``"-Infinity"`` and lists where under ``rlm_desktop.nonfinite``
  (``encode_nonfinite``); the reader turns them back (``restore_nonfinite``) and still
  accepts upstream's bare constants.
* **File identity** (§6, ``FileMark``/``file_change``): upstream only appends. A file whose
  device/inode changed was *replaced*; one shorter than what was read was *truncated*; one
  whose bytes just before the read offset (or at its start) differ was *rewritten*. A
  follower then re-reads it from the start.
"""

from __future__ import annotations

import enum
import json
import math
import os
import re
from dataclasses import dataclass
from typing import Any

from .model import EXTRA_KEY

METADATA = "metadata"
ITERATION = "iteration"
RECORD_TYPES = (METADATA, ITERATION)

# -- final answers ---------------------------------------------------------------------------


def _s(v: Any) -> str:
    if v is None:
        return ""
    return v if isinstance(v, str) else str(v)


def final_text(v: Any) -> tuple[str | None, str | None]:
    """A ``final_answer`` value of any era as (text, kind): kind is ``"FINAL"``/``"FINAL_VAR"``
    for pre-era pairs (then, for ``FINAL_VAR``, text is the variable's name), else None."""
    if v is None:
        return None, None
    if isinstance(v, list):  # pre-PyPI pair [kind, text]
        if len(v) == 2:
            return _s(v[1]), _s(v[0]) or None
        return _s(v), None
    return _s(v), None


def is_default_answer(rec: dict[str, Any], final: str | None, has_blocks: bool) -> bool:
    """The record upstream appends when ``max_iterations`` ran out (§3.5)."""
    return (
        final is not None
        and not has_blocks
        and "iteration_time" in rec
        and rec["iteration_time"] is None
        and final == _s(rec.get("response"))
    )


# -- run splitting ---------------------------------------------------------------------------


class RunSplit:
    """Decides, iteration by iteration in file order, where a completion starts (see module doc)."""

    __slots__ = ("_last", "_final", "_open")

    def __init__(self) -> None:
        self._last: int | None = None
        self._final = False
        self._open = False

    def metadata(self) -> None:
        """A metadata line: the next iteration starts a run."""
        self._open = False

    def starts_run(self, number: int, has_final: bool) -> bool:
        """Feed the next iteration (its number and whether it has a final answer); True when
        it starts a new run."""
        new = not self._open or self._final or (self._last is not None and number <= self._last)
        self._open = True
        self._last = number
        self._final = has_final
        return new


# -- era ---------------------------------------------------------------------------------------

ERAS = ("unknown", "pre", "0.1.0", "0.1.1", "0.1.2+", "rlm_desktop")


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def era_of_metadata(rec: dict[str, Any], era: str) -> str:
    return "rlm_desktop" if EXTRA_KEY in rec else era


def counts_upstream(metadata: Any) -> bool:
    """True when a completion under this metadata line (a root run's ``metadata``) is counted
    upstream's way (see the module doc): it was not written under a metadata line of ours.
    A dict lookup: no iteration is looked at (a record of an upstream program made by
    ``rlm-desktop debug --record`` carries our per-iteration usage extras and is still
    upstream's: its sub-calls' ``usage_summary`` are upstream's)."""
    return era_of_metadata(_dict(metadata), "unknown") != "rlm_desktop"


def guess_era(era: str, rec: dict[str, Any]) -> str:
    """The era after seeing one more iteration record (see module doc)."""
    if era not in ("unknown", "0.1.0", "0.1.1"):
        return era
    if isinstance(rec.get("final_answer"), list):
        return "pre"
    for b in _list(rec.get("code_blocks")):
        result = _dict(_dict(b).get("result"))
        if "final_answer" in result:
            ans = _dict(result.get("locals")).get("answer")
            return "0.1.2+" if isinstance(ans, dict) and "ready" in ans else "0.1.1"
        if result and era == "unknown":
            era = "0.1.0"
    return era


# -- byte peeks --------------------------------------------------------------------------------

_HEAD_RE = re.compile(
    rb'^\{"type": "([A-Za-z_]+)"(?:, "iteration": (-?\d+))?(?:, "timestamp": "([^"\\]{0,64})")?'
)
_TIME_KEY = b'"iteration_time": '
_FINAL_KEY = b'"final_answer": '
_FINAL_NULL = b'"final_answer": null, '
_NUMBER_RE = re.compile(rb"^(null|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|NaN|-?Infinity)")
_EXTRA_PREFIX = b', "' + EXTRA_KEY.encode() + b'": '
#: ``TailInfo.value`` when the final answer's value did not fit in the peeked bytes
UNKNOWN = object()


@dataclass(frozen=True)
class HeadInfo:
    kind: str  # "metadata" / "iteration" / anything else written in "type"
    iteration: int | None
    timestamp: str | None


@dataclass(frozen=True)
class TailInfo:
    final: bool  # final_answer is not null
    time_null: bool  # iteration_time is null (default-answer records)
    extra: dict[str, Any] | None  # our "rlm_desktop" extras, when present
    value: Any = UNKNOWN  # the final_answer value (None, str, pair...) when it fits, else UNKNOWN


def peek_head(head: bytes) -> HeadInfo | None:
    """Type / iteration / timestamp from the first bytes of a line, or None."""
    m = _HEAD_RE.match(head)
    if m is None:
        return None
    kind = m.group(1).decode()
    number = int(m.group(2)) if m.group(2) is not None else None
    if kind == ITERATION and number is None:
        return None  # not upstream's key order: let the caller parse
    stamp = m.group(3).decode("utf-8", "replace") if m.group(3) is not None else None
    return HeadInfo(kind, number, stamp)


def peek_tail(tail: bytes) -> TailInfo | None:
    """Final-answer / iteration-time facts from the last bytes of an iteration line, or None."""
    tail = tail.rstrip(b"\r\n")
    pos = tail.rfind(_TIME_KEY)
    if pos < 0:
        return None
    rest = tail[pos + len(_TIME_KEY) :]
    m = _NUMBER_RE.match(rest)
    if m is None:
        return None
    time_null = m.group(1) == b"null"
    rest = rest[m.end() :]
    extra: dict[str, Any] | None = None
    if rest == b"}":
        pass
    elif rest.startswith(_EXTRA_PREFIX) and rest.endswith(b"}"):
        try:
            extra = json.loads(rest[len(_EXTRA_PREFIX) : -1])
        except ValueError:
            return None
        if not isinstance(extra, dict):
            return None
    else:
        return None
    before = tail[:pos]
    key = before.rfind(_FINAL_KEY)
    if key < 0:
        return None  # the top-level final_answer key is not in the window: unknown
    final = before[key:] != _FINAL_NULL
    value: Any = None if not final else UNKNOWN
    if final:
        segment = before[key + len(_FINAL_KEY) :].rstrip()
        if segment.endswith(b","):
            try:
                value = json.loads(segment[:-1])
            except ValueError:
                value = UNKNOWN  # its start is cut off by the window
    return TailInfo(final, time_null, extra, value)


#: bytes every sub-call entry holds once (see the module doc)
SUBCALL_KEY = b'"usage_summary":'

# -- non-finite numbers --------------------------------------------------------------------------

NONFINITE_KEY = "nonfinite"
_NONFINITE_TEXT = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def _nonfinite_name(x: float) -> str:
    return "NaN" if x != x else ("Infinity" if x > 0 else "-Infinity")


def encode_nonfinite(rec: dict[str, Any]) -> dict[str, Any]:
    """``rec`` ready for strict JSON: every NaN/±Infinity float becomes its name as a string
    and its path (keys and list indexes from the record's top) is listed under
    ``rec["rlm_desktop"]["nonfinite"]``. Returns ``rec`` itself when it has none, else a copy
    (the caller's values are not changed)."""
    try:
        json.dumps(rec, allow_nan=False)
        return rec
    except ValueError:
        pass
    paths: list[list[Any]] = []

    def conv(v: Any, path: list[Any]) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            paths.append(path)
            return _nonfinite_name(v)
        if isinstance(v, dict):
            return {k: conv(x, [*path, k]) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [conv(x, [*path, i]) for i, x in enumerate(v)]
        return v

    out = {k: conv(v, [k]) for k, v in rec.items() if k != EXTRA_KEY}
    extra = dict(_dict(rec.get(EXTRA_KEY)))
    extra[NONFINITE_KEY] = paths
    out[EXTRA_KEY] = extra
    return out


def restore_nonfinite(rec: dict[str, Any]) -> dict[str, Any]:
    """Undo ``encode_nonfinite`` in place (tolerant: a path that does not lead to one of
    the three strings is skipped). Returns ``rec``."""
    extra = rec.get(EXTRA_KEY)
    if not isinstance(extra, dict):
        return rec
    paths = extra.pop(NONFINITE_KEY, None)
    if not extra:
        del rec[EXTRA_KEY]
    for path in _list(paths):
        if not isinstance(path, list) or not path:
            continue
        obj: Any = rec
        try:
            for k in path[:-1]:
                obj = obj[k]
            last = path[-1]
            v = obj[last]
        except (KeyError, IndexError, TypeError):
            continue
        if isinstance(v, str) and v in _NONFINITE_TEXT:
            obj[last] = _NONFINITE_TEXT[v]
    return rec


# -- file identity ---------------------------------------------------------------------------------

#: bytes just before the read offset and at the start of the file compared on every look
SIGNATURE_BYTES = 32


class Change(enum.StrEnum):
    REPLACED = "replaced"  # another file has this name now (device/inode differ)
    TRUNCATED = "truncated"  # shorter than what was read
    REWRITTEN = "rewritten"  # the bytes already read changed (same or larger size)


@dataclass(frozen=True)
class FileMark:
    """What a reader remembers of a file to notice that it was replaced, truncated or rewritten."""

    ident: tuple[int, int]
    consumed: int  # bytes read up to the end of the last complete line
    sig: bytes = b""  # the SIGNATURE_BYTES before ``consumed``
    head: bytes = b""  # the first SIGNATURE_BYTES of the file


def mark_file(fd: int, consumed: int, st: os.stat_result | None = None) -> FileMark:
    """A ``FileMark`` of an open file after reading ``consumed`` bytes of it."""
    st = st if st is not None else os.fstat(fd)
    n = min(SIGNATURE_BYTES, consumed)
    sig = os.pread(fd, n, consumed - n) if n else b""
    head = os.pread(fd, n, 0) if n else b""
    return FileMark((st.st_dev, st.st_ino), consumed, sig, head)


def file_change(fd: int, st: os.stat_result, mark: FileMark | None) -> Change | None:
    """How the open file differs from what ``mark`` remembers (None: it only grew, or is new)."""
    if mark is None:
        return None
    if (st.st_dev, st.st_ino) != mark.ident:
        return Change.REPLACED
    if st.st_size < mark.consumed:
        return Change.TRUNCATED
    if mark.sig and os.pread(fd, len(mark.sig), mark.consumed - len(mark.sig)) != mark.sig:
        return Change.REWRITTEN
    if mark.head and os.pread(fd, len(mark.head), 0) != mark.head:
        return Change.REWRITTEN
    return None
