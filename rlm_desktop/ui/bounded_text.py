"""Text of a logged value within a budget: the work is bounded by what is shown, never by the
value's size (a dict of 1M keys, a 300 MB string) or its depth (1,000 nested lists).

``pretty`` is ``json.dumps(value, indent=2, ensure_ascii=False, default=str)`` cut to ``limit``
characters, written without recursion; ``bounded_repr`` is the same on one line (``", "`` and
``": "`` separators). Both walk containers with iterators on an explicit stack and stop as soon
as the budget is spent, so the cost is O(limit + depth shown). No Qt here.
"""

from __future__ import annotations

import json
import math
from typing import Any

_END = object()


def float_text(value: float) -> str:
    """A float as its JSON-style text: NaN and ±Infinity by name, others as ``repr``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return repr(value)


def _scalar(value: Any, room: int) -> str:
    """One non-container value as JSON, looking at no more than ``room`` characters of a string."""
    if isinstance(value, str):
        if len(value) > room:
            return json.dumps(value[: max(room, 0)], ensure_ascii=False)[:-1]  # cut: no closing quote
        return json.dumps(value, ensure_ascii=False)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, float):
        return float_text(value)
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError:  # more digits than Python converts
            return f"<int of {value.bit_length():,} bits>"
    if isinstance(value, (list, dict)):
        return "[]" if isinstance(value, list) else "{}"
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - any object's str() may fail
        text = f"<{type(value).__name__}>"
    return json.dumps(text[: max(room, 0)], ensure_ascii=False)


def pieces(value: Any, indent: int | None = 2, room: int = 1 << 62) -> Any:
    """Yield the JSON text of ``value`` piece by piece (a generator: stop reading it to stop
    the walk). ``indent=None``: one line. ``room`` bounds how much of a single string is encoded."""
    pad = " " * indent if indent is not None else ""
    item_sep = "," if indent is not None else ", "
    stack: list[list[Any]] = []  # frames: [iterator, level, is_dict, first]
    current: Any = value
    level = 0
    pending = True
    while True:
        if pending:
            pending = False
            if isinstance(current, dict) and current:
                yield "{"
                stack.append([iter(current.items()), level + 1, True, True])
            elif isinstance(current, list) and current:
                yield "["
                stack.append([iter(current), level + 1, False, True])
            else:
                yield _scalar(current, room)
        if not stack:
            return
        frame = stack[-1]
        nxt = next(frame[0], _END)
        lvl = frame[1]
        if nxt is _END:
            stack.pop()
            close = "}" if frame[2] else "]"
            yield ("\n" + pad * (lvl - 1) + close) if indent is not None else close
            continue
        head = "" if frame[3] else item_sep
        frame[3] = False
        if indent is not None:
            head += "\n" + pad * lvl
        if frame[2]:
            key, current = nxt
            head += _scalar(key if isinstance(key, str) else str(key), room) + ": "
        else:
            current = nxt
        yield head
        level = lvl
        pending = True


def pretty(value: Any, limit: int, indent: int | None = 2) -> tuple[str, bool]:
    """``value`` as indented JSON text, at most ``limit`` characters; (text, was_cut)."""
    out: list[str] = []
    used = 0
    for piece in pieces(value, indent, room=limit + 1):
        out.append(piece)
        used += len(piece)
        if used > limit:
            return "".join(out)[:limit], True
    return "".join(out), False


def bounded_repr(value: Any, limit: int) -> str:
    """``value`` as one-line JSON-like text of at most ``limit`` characters ("…" when cut)."""
    if isinstance(value, str):
        return value[:limit]
    text, cut = pretty(value, limit, indent=None)
    return text[: max(limit - 1, 0)] + "…" if cut else text


def head(text: str, limit: int) -> tuple[str, bool]:
    """The first ``limit`` characters of ``text``; (head, was_cut). O(limit)."""
    if len(text) <= limit:
        return text, False
    return text[:limit], True
