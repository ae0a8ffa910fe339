"""What of two aligned nodes is compared, and how a difference is shown (unified diff).

Values that differ between two runs of the very same code are not differences: memory
addresses in ``repr`` strings (``<Foo object at 0x7f...>``) and upstream's per-run REPL
temporary folder (``.../repl_env_<uuid>_<n>/``, in the leftover ``f`` local). Timestamps and
durations are reported as deltas, never as differences. NaN equals NaN here.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from typing import Any

#: a diff shows at most this many lines per field (the rest is counted)
MAX_DIFF_LINES = 300
#: and looks at most this many characters of each side
MAX_DIFF_CHARS = 200_000

_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,16}\b")
_REPL_DIR = re.compile(r"[^\s'\"]*repl_env_[0-9a-fA-F-]+(?:_[0-9A-Za-z_]+)?")


def normalize(s: str) -> str:
    if "0x" in s:
        s = _ADDRESS.sub("0x…", s)
    if "repl_env_" in s:
        s = _REPL_DIR.sub("<repl dir>", s)
    return s


def same_text(a: Any, b: Any) -> bool:
    if a == b:
        return True
    if isinstance(a, str) and isinstance(b, str):
        return normalize(a) == normalize(b)
    return False


def _canon(v: Any) -> str:
    return normalize(json.dumps(v, ensure_ascii=False, default=str, allow_nan=True))


def same_value(a: Any, b: Any) -> bool:
    """Equality of recorded values (locals), NaN-aware and blind to volatile text."""
    try:
        if a == b:
            return True
    except Exception:  # noqa: BLE001 - exotic values: fall back to their text
        pass
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b) and not (isinstance(a, (int, float)) and isinstance(b, (int, float))):
        return False
    return _canon(a) == _canon(b)


def value_text(v: Any, limit: int = 2000) -> str:
    s = json.dumps(v, ensure_ascii=False, default=str, allow_nan=True)
    return s if len(s) <= limit else s[:limit] + f"… (+{len(s) - limit} chars)"


def unified(a: str, b: str, label_a: str, label_b: str) -> str:
    """A unified diff of two texts (cut to ``MAX_DIFF_CHARS`` each, ``MAX_DIFF_LINES`` lines)."""
    cut = ""
    if len(a) > MAX_DIFF_CHARS or len(b) > MAX_DIFF_CHARS:
        cut = f"(texts of {len(a):,} and {len(b):,} chars: the first {MAX_DIFF_CHARS:,} compared)\n"
        a, b = a[:MAX_DIFF_CHARS], b[:MAX_DIFF_CHARS]
    la = a.splitlines()
    lb = b.splitlines()
    if a.endswith("\n") != b.endswith("\n"):
        la.append("(newline at end)" if a.endswith("\n") else "(no newline at end)")
        lb.append("(newline at end)" if b.endswith("\n") else "(no newline at end)")
    lines = list(difflib.unified_diff(la, lb, label_a, label_b, lineterm="", n=2))
    more = len(lines) - MAX_DIFF_LINES
    if more > 0:
        lines = lines[:MAX_DIFF_LINES] + [f"… ({more} more diff lines)"]
    return cut + "\n".join(lines)


def message_list(prompt: Any) -> list[tuple[str, str]]:
    """A prompt as (role, text) pairs: a string is one user message."""
    if isinstance(prompt, str):
        return [("user", prompt)]
    if isinstance(prompt, dict):
        prompt = [prompt]
    if not isinstance(prompt, list):
        return [("", str(prompt))]
    out = []
    for m in prompt:
        if isinstance(m, dict):
            c = m.get("content")
            out.append((str(m.get("role", "")), c if isinstance(c, str) else json.dumps(c, default=str)))
        else:
            out.append(("", str(m)))
    return out


def messages_text(msgs: list[tuple[str, str]]) -> str:
    return "\n".join(f"[{k}] {role}\n{text}" for k, (role, text) in enumerate(msgs))


def same_messages(a: Any, b: Any) -> bool:
    try:
        if a is b or a == b:  # the usual case, at C speed
            return True
    except Exception:  # noqa: BLE001
        pass
    ma, mb = message_list(a), message_list(b)
    return len(ma) == len(mb) and all(x[0] == y[0] and same_text(x[1], y[1]) for x, y in zip(ma, mb, strict=True))


#: a prompt diff shows the first differing message and the last ones, this many in all
MAX_MESSAGE_DIFFS = 3


def messages_diff(a: Any, b: Any, label_a: str, label_b: str) -> str:
    """The messages that differ, pair by pair (index and role): the first one that differs
    and the latest ones (what this turn added), each as a unified diff."""
    ma, mb = message_list(a), message_list(b)
    differ = [k for k in range(max(len(ma), len(mb)))
              if k >= len(ma) or k >= len(mb) or ma[k][0] != mb[k][0] or not same_text(ma[k][1], mb[k][1])]
    head = f"{len(ma)} vs {len(mb)} messages; {len(differ)} differ, the first at message {differ[0] if differ else '-'}"
    shown = differ if len(differ) <= MAX_MESSAGE_DIFFS else [differ[0], *differ[1 - MAX_MESSAGE_DIFFS:]]
    parts = [head]
    for pos, k in enumerate(shown):
        if pos == 1 and len(differ) > len(shown):
            parts.append(f"… ({len(differ) - len(shown)} more differing messages)")
        ra, ta = ma[k] if k < len(ma) else ("(none)", "")
        rb, tb = mb[k] if k < len(mb) else ("(none)", "")
        role = ra if ra == rb else f"{ra} -> {rb}"
        parts.append(f"message {k} ({role}):")
        parts.append(unified(ta, tb, f"{label_a}[{k}]", f"{label_b}[{k}]"))
    return "\n".join(parts)


def locals_diff(a: dict[str, Any], b: dict[str, Any], label_a: str, label_b: str) -> str | None:
    """None when equal; else a diff of the names that differ (``name = value`` lines)."""
    names = sorted(set(a) | set(b))
    la, lb = [], []
    for k in names:
        in_a, in_b = k in a, k in b
        if in_a and in_b and same_value(a[k], b[k]):
            continue
        if in_a:
            la.append(f"{k} = {value_text(a[k])}")
        if in_b:
            lb.append(f"{k} = {value_text(b[k])}")
    if not la and not lb:
        return None
    return unified("\n".join(la), "\n".join(lb), label_a, label_b)
