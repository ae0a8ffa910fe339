"""Tolerant reader for upstream RLM JSONL logs of every version.

Never raises on bad input: a line that cannot be read becomes a ``BadLine``
with its 1-based line number and the rest of the file still loads. See
``../shared/spec/TRAJECTORY_FORMAT.md`` for the eras handled here.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from .format import (
    ITERATION,
    METADATA,
    RunSplit,
    era_of_metadata,
    final_text,
    guess_era,
    is_default_answer,
    restore_nonfinite,
)
from .model import (
    EXTRA_KEY,
    BadLine,
    CodeBlock,
    Iteration,
    Run,
    RunStatus,
    SubCall,
    Trajectory,
    Usage,
)

PREVIEW_CHARS = 300


class LineError(ValueError):
    """A line that is not a usable record."""


def sanitize_str(s: str) -> str:
    """Replace lone surrogates (legal in JSON escapes, illegal for Qt/UTF-8) with U+FFFD."""
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _sanitize(obj: Any) -> Any:
    """Sanitise every string (keys too) of a parsed value, in place, without recursion
    (a line may nest as deep as the JSON parser allows)."""
    if isinstance(obj, str):
        return sanitize_str(obj)
    if not isinstance(obj, (list, dict)):
        return obj
    stack: list[Any] = [obj]
    while stack:
        c = stack.pop()
        if isinstance(c, list):
            for i, v in enumerate(c):
                if isinstance(v, str):
                    c[i] = sanitize_str(v)
                elif isinstance(v, (list, dict)):
                    stack.append(v)
        else:
            items = list(c.items())
            c.clear()
            for k, v in items:
                if isinstance(v, str):
                    v = sanitize_str(v)
                elif isinstance(v, (list, dict)):
                    stack.append(v)
                c[sanitize_str(k) if isinstance(k, str) else k] = v
    return obj


#: orjson gives a float for an integer it cannot hold in 64 bits; such a float is this big
_BIG = float(2**63)


def _has_big_float(obj: Any) -> bool:
    """A float of 2**63 or more (in magnitude) anywhere in a parsed value: maybe an integer
    beyond 64 bits that orjson turned into a float (then the exact stdlib parser reads the
    line again). A walk over the values, not the bytes: long strings cost nothing."""
    stack = [obj]
    pop, push = stack.pop, stack.append
    while stack:
        c = pop()
        for v in c.values() if type(c) is dict else c:
            t = type(v)
            if t is float:
                if v >= _BIG or v <= -_BIG:
                    return True
            elif t is dict or t is list:
                push(v)
    return False


_SURROGATE_ESCAPE = re.compile(rb"\\[uU][dD][89a-fA-F]")


def parse_line(raw: bytes | str) -> dict[str, Any]:
    """Parse one JSONL line into a dict, or raise ``LineError`` saying why.

    orjson first (fast, strict); on failure the standard library parser, which
    accepts NaN/Infinity and lone surrogate escapes (which are then replaced,
    as are bytes that are not UTF-8). Never raises anything but ``LineError``.
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    raw = raw.rstrip(b"\r\n")
    if raw.startswith(b"\xef\xbb\xbf"):  # a BOM left by an editor
        raw = raw[3:]
    if not raw.strip():
        raise LineError("empty line")
    try:
        obj = orjson.loads(raw)
        if isinstance(obj, (dict, list)) and _has_big_float(obj):  # keep ints beyond 64 bits exact
            obj = json.loads(raw)
    except (orjson.JSONDecodeError, ValueError):
        try:
            obj = json.loads(raw.decode("utf-8", "replace"))
            if _SURROGATE_ESCAPE.search(raw):
                obj = _sanitize(obj)
        except (ValueError, RecursionError) as exc:
            msg = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
            raise LineError(f"not valid JSON: {msg}") from None
    except RecursionError:
        raise LineError("not valid JSON: nested too deeply") from None
    if not isinstance(obj, dict):
        raise LineError(f"expected a JSON object, got {type(obj).__name__}")
    if EXTRA_KEY in obj:  # our writer's NaN/Infinity strings back to floats
        restore_nonfinite(obj)
    return obj


def preview(raw: bytes | str, limit: int = PREVIEW_CHARS) -> str:
    if isinstance(raw, bytes):
        raw = raw[: limit * 4].decode("utf-8", "replace")
    raw = sanitize_str(raw.rstrip("\r\n"))
    return raw if len(raw) <= limit else raw[:limit] + f"… [{len(raw) - limit} more chars]"


# -- small coercions: junk in a field never aborts a record --------------------


def _s(v: Any) -> str:
    if v is None:
        return ""
    return v if isinstance(v, str) else str(v)


def _f(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def _list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _dict(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}




# -- record -> model -------------------------------------------------------------


def sub_call_from_dict(index: int, d: dict[str, Any], depth: int) -> SubCall:
    """``depth`` is the depth of the run that made the call."""
    call = SubCall(
        index=index,
        model=_s(d.get("root_model")),
        prompt=d.get("prompt", ""),
        response=_s(d.get("response")),
        usage=Usage.from_summary(d.get("usage_summary")),
        execution_time=_f(d.get("execution_time")),
        error=_s(d["error"]) if d.get("error") else None,
        extra=_dict(d.get(EXTRA_KEY)),
    )
    meta = d.get("metadata")
    if isinstance(meta, dict) and ("iterations" in meta or "run_metadata" in meta):
        child = run_from_nested(meta, depth + 1)
        child.parent = call
        call.child = child
    return call


def block_from_dict(index: int, d: dict[str, Any], depth: int) -> CodeBlock:
    result = _dict(d.get("result"))
    block = CodeBlock(
        index=index,
        code=_s(d.get("code")),
        stdout=_s(result.get("stdout")),
        stderr=_s(result.get("stderr")),
        locals=_dict(result.get("locals")),
        execution_time=_f(result.get("execution_time")),
        final_answer=final_text(result.get("final_answer"))[0],
        extra=_dict(d.get(EXTRA_KEY)),
    )
    for i, c in enumerate(_list(result.get("rlm_calls"))):
        if isinstance(c, dict):
            block.add_sub_call(sub_call_from_dict(i, c, depth))
    return block


def iteration_from_record(rec: dict[str, Any], depth: int = 0, line_no: int | None = None) -> Iteration:
    number = rec.get("iteration")
    final, kind = final_text(rec.get("final_answer"))
    extra = _dict(rec.get(EXTRA_KEY))
    it = Iteration(
        number=number if isinstance(number, int) and not isinstance(number, bool) else 0,
        timestamp=_s(rec.get("timestamp")),
        prompt=rec.get("prompt", []),
        response=_s(rec.get("response")),
        final_answer=final,
        final_answer_kind=kind,
        iteration_time=_f(rec.get("iteration_time")),
        line_no=line_no,
        extra=extra,
    )
    for i, b in enumerate(_list(rec.get("code_blocks"))):
        if isinstance(b, dict):
            it.add_block(block_from_dict(i, b, depth))
    it.is_default_answer = is_default_answer(rec, final, bool(it.code_blocks))
    if kind == "FINAL_VAR":
        _resolve_final_var(it)
    if extra:
        if "usage" in extra:
            it.usage = Usage.from_summary(extra["usage"])
        it.edited = bool(extra.get("edited"))
        if isinstance(extra.get("original_response"), str):
            it.original_response = extra["original_response"]
    return it


def build_iteration(rec: dict[str, Any], line_no: int | None = None) -> Iteration:
    """``iteration_from_record`` for a top-level line; ``LineError`` if it nests too deeply to build."""
    try:
        return iteration_from_record(rec, 0, line_no)
    except RecursionError:
        raise LineError("nested too deeply") from None


def _record_preview(rec: dict[str, Any], raw: bytes | None) -> str:
    if raw is not None:
        return preview(raw)
    try:
        return preview(json.dumps(rec)[: PREVIEW_CHARS * 4])
    except (ValueError, RecursionError):
        return "<record>"


def missing_final_var(name: str) -> str:
    """What a pre-era ``["FINAL_VAR", name]`` answer says when the log lacks the value."""
    return f"variable `{name}` (value not in the log)"


def _resolve_final_var(it: Iteration, earlier: list[Iteration] | None = None) -> None:
    """pre-era ``["FINAL_VAR", name]`` logs the name only (TRAJECTORY_FORMAT §3.1): take the
    value from the locals of this turn's blocks, else of the run's earlier turns (the REPL
    keeps its variables); without one, say so instead of showing the bare name as the answer."""
    name = str(it.extra.get("final_var_name", it.final_answer or ""))
    for turn in [it, *reversed(earlier or [])]:
        for block in reversed(turn.code_blocks):
            if name in block.locals:
                it.extra["final_var_name"] = name
                it.extra.pop("final_var_missing", None)
                it.final_answer = _s(block.locals[name])
                return
    it.extra["final_var_name"] = name
    it.extra["final_var_missing"] = True
    it.final_answer = missing_final_var(name)


def _apply_final(run: Run, it: Iteration) -> None:
    if it.extra.get("final_var_missing"):
        _resolve_final_var(it, run.iterations[: it.position])
    if it.final_answer is not None:
        run.final_answer = it.final_answer
        run.status = RunStatus.MAX_ITERATIONS if it.is_default_answer else RunStatus.FINISHED
    status = it.extra.get("status")
    if status in {s.value for s in RunStatus}:
        run.status = RunStatus(status)
        if it.extra.get("error"):
            run.error = _s(it.extra["error"])


def run_from_nested(meta: dict[str, Any], depth: int) -> Run:
    run = Run(depth=depth, metadata=_dict(meta.get("run_metadata")))
    for rec in _list(meta.get("iterations")):
        if isinstance(rec, dict):
            it = run.add_iteration(iteration_from_record(rec, depth))
            _apply_final(run, it)
    return run


#: Strings this long or longer are shared between records when equal (``_share_repeats``).
SHARE_MIN_CHARS = 256


class TrajectoryBuilder:
    """Turns parsed records into a ``Trajectory``, one line at a time.

    Used for whole files and for live tailing: feed lines as they arrive,
    ``finish()`` settles the status of runs without a final answer.
    """

    def __init__(self, traj: Trajectory | None = None) -> None:
        self.traj = traj if traj is not None else Trajectory()
        self._meta: dict[str, Any] = {}
        self._current: Run | None = None
        self._split = RunSplit()
        self._seen: dict[str, str] = {}  # long strings already in the model (see _share_repeats)

    def feed_raw(self, line_no: int, raw: bytes) -> Run | None:
        """Parse and add one line; bad lines are recorded. Returns the run touched."""
        self.traj.line_count = max(self.traj.line_count, line_no)
        try:
            rec = parse_line(raw)
        except LineError as exc:
            if raw.strip():
                self.traj.bad_lines.append(BadLine(line_no, str(exc), preview(raw)))
            return None
        return self.feed(line_no, rec, raw)

    def feed(self, line_no: int, rec: dict[str, Any], raw: bytes | None = None) -> Run | None:
        kind = rec.get("type")
        if kind == METADATA:
            meta = {k: v for k, v in rec.items()}
            if self.traj.metadata is None:
                self.traj.metadata = meta
            self._meta = meta
            self.traj.era = era_of_metadata(meta, self.traj.era)
            self._current = None
            self._split.metadata()
            return None
        if kind != ITERATION:
            self.traj.bad_lines.append(
                BadLine(line_no, f"unknown record type {kind!r}", _record_preview(rec, raw))
            )
            return None
        self._share_repeats(rec)
        try:
            it = build_iteration(rec, line_no)
        except LineError as exc:
            self.traj.bad_lines.append(BadLine(line_no, str(exc), _record_preview(rec, raw)))
            return None
        run = self._current
        if self._split.starts_run(it.number, it.final_answer is not None) or run is None:
            run = Run(index=len(self.traj.runs), depth=0, metadata=self._meta, status=RunStatus.RUNNING)
            if isinstance(self._meta.get(EXTRA_KEY), dict):
                run.run_id = _s(self._meta[EXTRA_KEY].get("run_id"))
            self.traj.runs.append(run)
            self._current = run
        run.add_iteration(it)
        _apply_final(run, it)
        self.traj.era = guess_era(self.traj.era, rec)
        return run

    def _share_repeats(self, rec: dict[str, Any]) -> None:
        """Make long strings equal to one already read the same object.

        Upstream lines repeat the whole message history and the REPL's ``context``
        locals on every iteration, so most of a big log is text the model already
        holds: sharing it keeps a 1 GB log's model far smaller than the file.
        """
        seen = self._seen
        stack: list[Any] = [rec]
        while stack:
            obj = stack.pop()
            items = obj.items() if isinstance(obj, dict) else enumerate(obj)
            for k, v in items:
                if isinstance(v, str):
                    if len(v) >= SHARE_MIN_CHARS:
                        obj[k] = seen.setdefault(v, v)
                elif isinstance(v, dict | list):
                    stack.append(v)


    def finish(self, still_running: bool = False) -> Trajectory:
        for run in self.traj.runs:
            if run.status == RunStatus.RUNNING and not (still_running and run is self._current):
                run.status = RunStatus.INCOMPLETE
        return self.traj


def iter_lines(data: bytes):
    """Yield (line_no, raw_line, terminated) over a byte buffer, accepting \\n and \\r\\n."""
    start = 0
    n = len(data)
    line_no = 0
    while start < n:
        end = data.find(b"\n", start)
        line_no += 1
        if end < 0:
            yield line_no, data[start:], False
            return
        yield line_no, data[start:end], True
        start = end + 1


class OverlongLine(bytes):
    """The first bytes of a line longer than a reader's ``max_line`` limit; the rest was
    skipped without being held in memory. ``nbytes`` is the whole line's length."""

    nbytes: int = 0


READ_CHUNK = 4 << 20


def iter_file_lines(fh: Any, max_line: int | None = None):
    """Like ``iter_lines`` over a binary file object, one line (and one read chunk) in memory
    at a time. With ``max_line``, a longer line (even an endless one) is never held whole:
    it comes as an ``OverlongLine`` (its start) and the reader goes on after its newline."""
    line_no = 0
    pending: list[bytes] = []  # pieces of the line being read
    size = 0  # bytes in pending (or, when skipping, of the overlong line so far)
    skipping: OverlongLine | None = None
    while True:
        buf = fh.read(READ_CHUNK)
        if not buf:
            break
        start = 0
        n = len(buf)
        while start < n:
            end = buf.find(b"\n", start)
            stop = n if end < 0 else end
            if skipping is not None:
                size += stop - start
            elif max_line is not None and size + stop - start > max_line:
                head = b"".join(pending) + buf[start : min(stop, start + PREVIEW_CHARS * 4)]
                skipping = OverlongLine(head[: PREVIEW_CHARS * 4])
                size += stop - start
                pending = []
            elif end >= 0 and not pending:
                line_no += 1
                yield line_no, buf[start:end], True
                start = end + 1
                continue
            else:
                pending.append(buf[start:stop])
                size += stop - start
            if end < 0:
                break
            line_no += 1
            if skipping is not None:
                skipping.nbytes = size
                yield line_no, skipping, True
                skipping = None
            else:
                yield line_no, b"".join(pending), True
            pending = []
            size = 0
            start = end + 1
    if skipping is not None:
        skipping.nbytes = size
        yield line_no + 1, skipping, False
    elif pending:
        yield line_no + 1, b"".join(pending), False


def overlong_bad_line(line_no: int, raw: OverlongLine) -> BadLine:
    return BadLine(line_no, f"line too long ({raw.nbytes:,} bytes); not read", preview(raw))


def read_lines(
    lines: Any,
    path: str | None = None,
    still_running: bool = False,
    builder: TrajectoryBuilder | None = None,
) -> Trajectory:
    """Build a trajectory from ``(line_no, raw, terminated)`` items (``iter_lines``,
    ``iter_file_lines``); the last line is handled as ``read_bytes`` says. ``builder``
    (default a ``TrajectoryBuilder``) decides what is kept (see ``totals.TotalsBuilder``)."""
    builder = builder if builder is not None else TrajectoryBuilder(Trajectory(path=path))
    for line_no, raw, terminated in lines:
        if isinstance(raw, OverlongLine):
            builder.traj.line_count = line_no
            builder.traj.bad_lines.append(overlong_bad_line(line_no, raw))
            if not terminated:
                builder.traj.pending_tail = True
                break
            continue
        if not terminated:
            builder.traj.pending_tail = True
            if still_running:
                break
            try:
                rec = parse_line(raw)
            except LineError:
                builder.traj.line_count = line_no
                builder.traj.bad_lines.append(
                    BadLine(line_no, "unterminated last line (the writer stopped mid-record)", preview(raw))
                )
                break
            builder.traj.line_count = line_no
            builder.feed(line_no, rec, raw)
            break
        builder.feed_raw(line_no, raw)
    return builder.finish(still_running)


def read_bytes(data: bytes, path: str | None = None, still_running: bool = False) -> Trajectory:
    """Read a whole log held in memory. A trailing unterminated line is kept as
    pending (``still_running``) or, for a finished file, read if it parses and
    reported as a bad line if it does not."""
    return read_lines(iter_lines(data), path, still_running)


def read_file(path: str, still_running: bool = False, max_line: int | None = None) -> Trajectory:
    """Read a log file, streaming (one line in memory at a time; the model itself
    holds everything, so for big files see ``lazy.LazyTrajectory``). I/O errors
    become a ``BadLine`` at line 0, never an exception. Lines over ``max_line`` bytes
    are bad lines, never held whole."""
    try:
        with open(path, "rb") as fh:
            return read_lines(iter_file_lines(fh, max_line), str(path), still_running)
    except OSError as exc:
        traj = Trajectory(path=str(path))
        traj.bad_lines.append(BadLine(0, f"cannot read file: {exc.strerror or exc}", ""))
        return traj
