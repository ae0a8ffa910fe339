"""Breakpoints and logpoints over the engine's event stream (no Qt, thread-safe).

Kinds (``Breakpoint.kind``) and the events they match:

* ``"iteration"``: ``IterationStarted`` with ``iteration == N`` (at ``depth`` when set);
* ``"depth"``: ``RunStarted`` of a run at ``depth`` D or deeper (entering recursion);
* ``"subcall"``: ``SubCallStarted`` (made by a run at ``depth`` when set);
* ``"stderr"``: ``CodeBlockFinished`` whose block wrote to stderr;
* ``"final"``: ``FinalAnswer``;
* ``"text"``: ``pattern`` (plain text, or a regular expression with ``regex``) found
  in a model response (``LMResponse.text``) or in code (``CodeBlockStarted.code``);
* ``"condition"``: any boundary event for which ``condition`` is true.

Every kind can carry a ``condition`` too (an extra filter). A condition is a
Python expression over the event's fields (``depth >= 2 and iteration > 3``,
``kind == "LMResponse" and "error" in text``): it is compiled once, may only
read names (the event's fields, ``kind``, ``event`` and a few safe builtins; no
dunder names or attributes), and an error while compiling or evaluating it is
kept on the breakpoint (``error``) instead of being raised into the engine (the
breakpoint then does not stop).

A breakpoint with a ``log_message`` is a logpoint: when it matches it records the
message (``{expression}`` parts are evaluated like conditions) and never stops.
``hit_count`` counts matches; a ``one_shot`` breakpoint disables itself after its
first hit. A ``hit_condition`` says which hits stop (or log): ``"3"`` or ``"==3"``
the third only, ``">=3"`` from the third on, ``"%3"`` every third (as in
debugpy/VS Code). ``wait_for`` (another breakpoint's id) keeps a breakpoint
dormant until that one has been hit (its hit condition held; VS Code's triggered
breakpoints);
``reset_hits`` makes it wait again. ``to_dict``/``from_dict`` (and the manager's
``to_list``/``load``, which map ``wait_for`` to list positions) serialise them for
the UI's settings; a ``transient`` breakpoint (the app's own, e.g. a fork point) is
never saved.
"""

from __future__ import annotations

import ast
import builtins
import dataclasses
import itertools
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rlm_desktop.engine import events as ev
from rlm_desktop.trajectory.names import place

log = logging.getLogger(__name__)

KINDS = ("iteration", "depth", "subcall", "stderr", "final", "text", "condition")

SAFE_BUILTINS: dict[str, Any] = {
    name: getattr(builtins, name)
    for name in (
        "abs", "all", "any", "bool", "dict", "float", "int", "isinstance", "len", "list", "max",
        "min", "repr", "round", "set", "sorted", "str", "sum", "tuple",
    )
}
SAFE_BUILTINS.update({"True": True, "False": False, "None": None})

MAX_LOG_VALUE = 500  # characters of one {expression} in a log message


class ConditionError(ValueError):
    """A condition that cannot be used (syntax or a forbidden name)."""


_HIT = re.compile(r"^\s*(==|>=|>|%)?\s*(\d+)\s*$")


def parse_hit_condition(text: str | None) -> tuple[str, int] | None:
    """``"3"``/``"==3"``, ``">=3"``, ``">3"``, ``"%3"`` -> (operator, N); None for none.
    Raises ``ConditionError`` for anything else (or N < 1)."""
    if text is None or not str(text).strip():
        return None
    m = _HIT.match(str(text))
    if m is None or int(m.group(2)) < 1:
        raise ConditionError(f"hit condition {text!r}: use N, ==N, >=N, >N or %N with N >= 1")
    return (m.group(1) or "==", int(m.group(2)))


def hit_condition_holds(cond: tuple[str, int] | None, hits: int) -> bool:
    if cond is None:
        return True
    op, n = cond
    if op == "==":
        return hits == n
    if op == ">=":
        return hits >= n
    if op == ">":
        return hits > n
    return hits % n == 0


def compile_expression(source: str) -> Any:
    """Compile ``source`` as an expression; no dunder names, attributes or lambdas."""
    try:
        tree = ast.parse(source.strip(), "<breakpoint condition>", "eval")
    except SyntaxError as exc:
        raise ConditionError(f"syntax error: {exc.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id.startswith("__"):
            raise ConditionError(f"name {node.id!r} is not allowed")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ConditionError(f"attribute {node.attr!r} is not allowed")
        if isinstance(node, (ast.Lambda, ast.NamedExpr)):
            raise ConditionError("lambdas and assignments are not allowed")
    return compile(tree, "<breakpoint condition>", "eval")


def event_fields(event: ev.Event) -> dict[str, Any]:
    """The names a condition can read for ``event``."""
    names = {f.name: getattr(event, f.name) for f in dataclasses.fields(event)}
    names["kind"] = event.kind
    names["event"] = event
    # 1-based numbers, as people count (block_index/call_index stay 0-based, as in node paths)
    if isinstance(names.get("block_index"), int):
        names["block"] = names["block_index"] + 1
    if isinstance(names.get("call_index"), int):
        names["call"] = names["call_index"] + 1
    if isinstance(event, ev.CodeBlockFinished):
        names["has_error"] = event.has_error
        names["stderr"] = str(event.result.get("stderr") or "")
        names["stdout"] = str(event.result.get("stdout") or "")
    return names


def evaluate(code: Any, event: ev.Event) -> Any:
    return eval(code, {"__builtins__": SAFE_BUILTINS}, event_fields(event))  # noqa: S307 - restricted


@dataclass
class Breakpoint:
    kind: str = "iteration"
    iteration: int | None = None
    depth: int | None = None
    pattern: str | None = None
    regex: bool = False
    condition: str | None = None
    enabled: bool = True
    one_shot: bool = False
    log_message: str | None = None
    hit_condition: str | None = None  # which hits stop: "3", "==3", ">=3", ">3", "%3"
    wait_for: int | None = None  # id of the breakpoint that must stop first
    transient: bool = False  # the app's own (a fork point): never saved
    id: int = 0
    hit_count: int = 0
    armed: bool = False  # ``wait_for`` has been hit: this one is active
    error: str | None = None  # last problem with the condition/pattern/message (shown in the UI)
    _code: Any = field(default=None, repr=False, compare=False)
    _rx: Any = field(default=None, repr=False, compare=False)
    _hit: Any = field(default=None, repr=False, compare=False)

    SAVED = ("kind", "iteration", "depth", "pattern", "regex", "condition", "enabled", "one_shot",
             "log_message", "hit_condition", "wait_for")

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown breakpoint kind {self.kind!r} (one of {', '.join(KINDS)})")
        self.prepare()

    @property
    def is_logpoint(self) -> bool:
        return bool(self.log_message)

    def prepare(self) -> None:
        """(Re)compile the condition and the pattern; problems go to ``error``."""
        self.error = None
        self._code = None
        self._rx = None
        self._hit = None
        try:
            self._hit = parse_hit_condition(self.hit_condition)
        except ConditionError as exc:
            self.error = str(exc)
        if self.kind == "condition" and not (self.condition or "").strip():
            self.error = "a condition breakpoint needs a condition"
        if (self.condition or "").strip():
            try:
                self._code = compile_expression(self.condition or "")
            except ConditionError as exc:
                self.error = f"condition: {exc}"
        if self.kind == "text":
            if not self.pattern:
                self.error = "a text breakpoint needs a pattern"
            elif self.regex:
                try:
                    self._rx = re.compile(self.pattern)
                except re.error as exc:
                    self.error = f"regular expression: {exc}"

    # -- matching --------------------------------------------------------------------

    def _depth_ok(self, event: ev.Event) -> bool:
        return self.depth is None or event.depth == self.depth

    def matches_kind(self, event: ev.Event) -> bool:
        k = self.kind
        if k == "iteration":
            return (
                isinstance(event, ev.IterationStarted)
                and event.iteration == self.iteration
                and self._depth_ok(event)
            )
        if k == "depth":
            return isinstance(event, ev.RunStarted) and event.depth >= (self.depth or 0)
        if k == "subcall":
            return isinstance(event, ev.SubCallStarted) and self._depth_ok(event)
        if k == "stderr":
            return isinstance(event, ev.CodeBlockFinished) and event.has_error and self._depth_ok(event)
        if k == "final":
            return isinstance(event, ev.FinalAnswer) and self._depth_ok(event)
        if k == "text":
            if isinstance(event, ev.LMResponse):
                hay = event.text
            elif isinstance(event, ev.CodeBlockStarted):
                hay = event.code
            else:
                return False
            if not self.pattern or not self._depth_ok(event):
                return False
            if self.regex:
                return self._rx is not None and self._rx.search(hay) is not None
            return self.pattern in hay
        if k == "condition":
            return self._code is not None
        return False

    def matches(self, event: ev.Event) -> bool:
        """Kind and condition; a failing condition sets ``error`` and does not match."""
        if not self.enabled or (self.hit_condition and self._hit is None) or not self.matches_kind(event):
            return False
        if self._code is None:
            return not (self.condition or "").strip()
        try:
            ok = bool(evaluate(self._code, event))
        except Exception as exc:  # noqa: BLE001 - reported on the breakpoint
            self.error = f"condition failed at {event.kind}: {type(exc).__name__}: {exc}"
            return False
        return ok

    def format_message(self, event: ev.Event) -> str:
        """The logpoint message with each ``{expression}`` evaluated (``{{``/``}}`` are braces)."""
        text = self.log_message or ""
        out: list[str] = []
        pos = 0
        for m in re.finditer(r"\{\{|\}\}|\{([^{}]+)\}", text):
            out.append(text[pos : m.start()])
            pos = m.end()
            token = m.group(0)
            if token in ("{{", "}}"):
                out.append(token[0])
                continue
            try:
                value = evaluate(compile_expression(m.group(1)), event)
                s = value if isinstance(value, str) else repr(value)
            except Exception as exc:  # noqa: BLE001 - shown in the message
                s = f"<{type(exc).__name__}: {exc}>"
            out.append(s if len(s) <= MAX_LOG_VALUE else s[:MAX_LOG_VALUE] + "…")
        out.append(text[pos:])
        return "".join(out)

    # -- saving ------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.SAVED}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Breakpoint:
        return cls(**{k: d[k] for k in cls.SAVED if k in d})


@dataclass(frozen=True)
class LogMessage:
    breakpoint_id: int
    text: str
    event: ev.Event
    time: float

    @property
    def place(self) -> str:
        """Where it fired, 1-based as everywhere for people ("depth 1 › Iteration 2 › Block 1")."""
        e = self.event
        return place(None, e.iteration, getattr(e, "block_index", None), getattr(e, "call_index", None),
                     e.depth)

    @property
    def line(self) -> str:
        """The message as shown in the Breakpoints panel: its place, then its text."""
        where = self.place
        return f"{where}: {self.text}" if where else self.text


class BreakpointManager:
    """The set of breakpoints; ``check(event)`` is called by the controller at every boundary.

    The breakpoints panel uses ``breakpoints()``, ``add(**fields)``, ``remove(id)`` and
    ``update(id, **fields)``. Listeners (plain callbacks, called outside the lock on the
    thread that caused the change): ``on_change(fn)`` -> ``fn()`` (added/removed/updated,
    hit counts, errors), ``on_log(fn)`` -> ``fn(LogMessage)``.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._bps: dict[int, Breakpoint] = {}
        self._ids = itertools.count(1)
        self._change: list[Callable[[], Any]] = []
        self._log: list[Callable[[LogMessage], Any]] = []
        self.messages: list[LogMessage] = []  # the last MAX_MESSAGES logpoint messages
        self.MAX_MESSAGES = 10_000

    # -- listeners --------------------------------------------------------------------

    def on_change(self, fn: Callable[[], Any]) -> None:
        with self._lock:
            self._change.append(fn)

    def on_log(self, fn: Callable[[LogMessage], Any]) -> None:
        with self._lock:
            self._log.append(fn)

    def _emit(self, fns: list[Callable[..., Any]], *args: Any) -> None:
        for fn in fns:
            try:
                fn(*args)
            except Exception:  # noqa: BLE001 - a listener must not break the engine
                log.exception("breakpoint listener failed")

    def _changed(self) -> None:
        with self._lock:
            fns = list(self._change)
        self._emit(fns)

    # -- editing ------------------------------------------------------------------------

    def breakpoints(self) -> list[Breakpoint]:
        with self._lock:
            return list(self._bps.values())

    def get(self, bp_id: int) -> Breakpoint | None:
        with self._lock:
            return self._bps.get(bp_id)

    def add(self, bp: Breakpoint | None = None, **fields: Any) -> Breakpoint:
        if bp is None:
            bp = Breakpoint(**{k: v for k, v in fields.items() if k in Breakpoint.SAVED or k == "transient"})
        with self._lock:
            bp.id = next(self._ids)
            self._bps[bp.id] = bp
        self._changed()
        return bp

    def remove(self, bp_id: int) -> None:
        with self._lock:
            found = self._bps.pop(bp_id, None)
        if found is not None:
            self._changed()

    def update(self, bp_id: int, **fields: Any) -> Breakpoint:
        with self._lock:
            bp = self._bps[bp_id]
            if "kind" in fields and fields["kind"] not in KINDS:
                raise ValueError(f"unknown breakpoint kind {fields['kind']!r}")
            for k, v in fields.items():
                if k in Breakpoint.SAVED or k == "hit_count":
                    setattr(bp, k, v)
            bp.prepare()
        self._changed()
        return bp

    def clear(self) -> None:
        with self._lock:
            self._bps.clear()
        self._changed()

    def reset_hits(self) -> None:
        """A new run: hit counts start again, ``wait_for`` breakpoints wait again."""
        with self._lock:
            for bp in self._bps.values():
                bp.hit_count = 0
                bp.armed = False
        self._changed()

    def to_list(self) -> list[dict[str, Any]]:
        """The saved form (transient ones left out; ``wait_for`` as a list position)."""
        with self._lock:
            kept = [bp for bp in self._bps.values() if not bp.transient]
            pos = {bp.id: i for i, bp in enumerate(kept)}
            out = []
            for bp in kept:
                d = bp.to_dict()
                d["wait_for"] = pos.get(bp.wait_for) if bp.wait_for is not None else None
                out.append(d)
            return out

    def load(self, items: list[dict[str, Any]]) -> list[Breakpoint]:
        """Add saved breakpoints (``to_list``'s form; bad entries are skipped and logged)."""
        out: list[Breakpoint | None] = []
        for d in items:
            try:
                bp = Breakpoint.from_dict({**d, "wait_for": None})
            except (TypeError, ValueError) as exc:
                log.warning("skipping a saved breakpoint: %s", exc)
                out.append(None)
                continue
            out.append(self.add(bp))
        with self._lock:
            for d, added in zip(items, out, strict=True):
                w = d.get("wait_for") if isinstance(d, dict) else None
                other = out[w] if isinstance(w, int) and 0 <= w < len(out) else None
                if added is not None and other is not None and other is not added:
                    added.wait_for = other.id
        kept = [b for b in out if b is not None]
        if any(b.wait_for is not None for b in kept):
            self._changed()
        return kept

    # -- the check ----------------------------------------------------------------------

    def still_stops(self, bp: Breakpoint) -> bool:
        """Whether ``bp``, which ``check`` returned, is still set (not removed, not disabled
        since; a one-shot breakpoint disables itself as it stops, and still counts). The
        controller asks under its own lock, so a breakpoint removed before a ``resume`` never
        pauses a thread that checked it just before the removal."""
        with self._lock:
            return self._bps.get(bp.id) is bp and (bp.enabled or bp.one_shot)

    def check(self, event: ev.Event) -> Breakpoint | None:
        """Count hits, record logpoint messages; the first breakpoint that stops, or None."""
        stop: Breakpoint | None = None
        fired: list[int] = []  # stopped, logged, or would have stopped (a second match)
        messages: list[LogMessage] = []
        changed = False
        with self._lock:
            for bp in list(self._bps.values()):
                error_before = bp.error
                if bp.wait_for is not None and not bp.armed and bp.wait_for in self._bps:
                    continue  # dormant until the other one has stopped the run
                if bp.matches(event):
                    bp.hit_count += 1
                    changed = True
                    if not hit_condition_holds(bp._hit, bp.hit_count):
                        continue
                    fired.append(bp.id)
                    if bp.is_logpoint:
                        messages.append(LogMessage(bp.id, bp.format_message(event), event, time.time()))
                    elif stop is None:
                        stop = bp
                    else:
                        continue
                    if bp.one_shot:
                        bp.enabled = False
                elif bp.error != error_before:
                    changed = True
            for other in self._bps.values():  # "disabled until another breakpoint is hit"
                if other.wait_for in fired and not other.armed:
                    other.armed = True
            if messages:
                self.messages.extend(messages)
                if len(self.messages) > self.MAX_MESSAGES:
                    del self.messages[: len(self.messages) - self.MAX_MESSAGES]
            log_fns = list(self._log)
        for m in messages:
            self._emit(log_fns, m)
        if changed:
            self._changed()
        return stop
