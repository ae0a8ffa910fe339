"""``rlm-desktop diff A.jsonl B.jsonl [--json]``: compare two runs by structure.

Text output: both files, the first divergence (node path in our notation, e.g.
``r0/i1/b0/c0/r/i0``, and what differs there), then every node that is not the same
(changed / added / removed) with its token, cost and time deltas and the unified diffs of
what changed; last the totals. ``--all`` also lists the nodes that are the same. ``--json``
prints one strict JSON document::

    {"first_divergence": {"path": ..., "path_b": ..., "what": ..., "fields": [...]} | null,
     "nodes": [{"path", "path_a", "path_b", "kind", "status", "changes": [{"field", "diff"}],
                "a": {tokens, input_tokens, output_tokens, cost, time} | null, "b": ..., "delta": ...}, ...],
     "totals": {"a": {...}, "b": {...}, "delta": {...}, "same": n, "changed": n, "added": n, "removed": n}}

Text from the logs is printed with control characters escaped (a log cannot drive the terminal).

Exit status: 0 no differences, 1 the runs differ, 2 a file is unreadable (or bad arguments).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from typing import Any

from rlm_desktop.trajectory.diff import DiffNode, TrajectoryDiff, Unreadable, diff_files, totals
from rlm_desktop.trajectory.diff.tree import SAME, Figures

_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if c != 0x0A}
_CONTROL.update({0x0D: "\\r", 0x09: "\\t", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def safe(text: str) -> str:
    """Terminal-safe: control characters escaped, newlines kept."""
    return text.translate(_CONTROL)


def _num(v: float | None) -> float | None:
    return v if v is None or math.isfinite(v) else None


def figures_json(f: Figures | None) -> dict[str, Any] | None:
    if f is None:
        return None
    return {"tokens": f.tokens, "input_tokens": f.input_tokens, "output_tokens": f.output_tokens,
            "cost": _num(f.cost), "time": _num(f.time)}


def delta_json(a: Figures | None, b: Figures | None) -> dict[str, Any] | None:
    ja, jb = figures_json(a), figures_json(b)
    if ja is None or jb is None:
        return None
    return {k: (None if ja[k] is None or jb[k] is None else jb[k] - ja[k]) for k in ja}


def node_json(n: DiffNode) -> dict[str, Any]:
    return {
        "path": n.path,
        "path_a": n.path_a,
        "path_b": n.path_b,
        "kind": n.kind,
        "status": n.status,
        "changes": [{"field": c.field, "diff": c.diff} for c in n.changes],
        "a": figures_json(n.fig_a),
        "b": figures_json(n.fig_b),
        "delta": delta_json(n.fig_a, n.fig_b),
    }


def diff_json(d: TrajectoryDiff) -> dict[str, Any]:
    first = d.first_divergence
    tot = totals(d.a, d.b)
    tot.update(d.counts())
    return {
        "a": d.a.path,
        "b": d.b.path,
        "first_divergence": None if first is None else {
            "path": first.path, "path_a": first.path_a, "path_b": first.path_b, "kind": first.kind,
            "what": first.what, "fields": [c.field for c in first.changes],
        },
        "nodes": [node_json(n) for n in d.nodes()],
        "totals": tot,
    }


def _signed(v: float | None, fmt: str) -> str:
    if v is None:
        return "?"
    return ("+" if v >= 0 else "-") + format(abs(v), fmt)


def deltas_text(a: Figures | None, b: Figures | None) -> str:
    if a is None or b is None:
        f = a or b
        if f is None:
            return ""
        cost = "" if f.cost is None else f" ${f.cost:.4f}"
        t = "" if f.time is None else f" {f.time:.2f}s"
        return f"{f.tokens:,} tokens{cost}{t}"
    parts = [f"tokens {a.tokens:,}→{b.tokens:,} ({_signed(b.tokens - a.tokens, ',')})"]
    if a.cost is not None or b.cost is not None:
        parts.append(f"cost {_signed((b.cost or 0.0) - (a.cost or 0.0), '.4f')}")
    if a.time is not None and b.time is not None:
        parts.append(f"time {_signed(b.time - a.time, '.2f')}s")
    return "  ".join(parts)


def _where(n: DiffNode) -> str:
    if n.path_a is None:
        return f"{n.path_b} (only in B)"
    if n.path_b is None:
        return f"{n.path_a} (only in A)"
    return n.path_a if n.path_a == n.path_b else f"{n.path_a} (B: {n.path_b})"


def print_text(d: TrajectoryDiff, out: Any, show_all: bool) -> None:
    w = out.write
    w(f"A: {safe(d.a.path or '')}  (era {d.a.era}, {len(d.a.runs)} runs)\n")
    w(f"B: {safe(d.b.path or '')}  (era {d.b.era}, {len(d.b.runs)} runs)\n")
    first = d.first_divergence
    if first is None:
        w("no differences\n")
    else:
        where = _where(first)
        w(f"first divergence: {where}: {first.what}\n")
    for n in d.nodes():
        if n.status == SAME and not show_all:
            continue
        depth = n.path.count("/")
        pad = "  " * depth
        w(f"{pad}{_where(n)}  {n.kind} {n.status}  {deltas_text(n.fig_a, n.fig_b)}\n")
        for c in n.changes:
            w(f"{pad}  {c.field}:\n")
            for line in c.diff.splitlines():
                w(f"{pad}    {safe(line)}\n")
    tot = totals(d.a, d.b)
    counts = d.counts()
    a, b, dl = tot["a"], tot["b"], tot["delta"]
    w(f"totals: iterations {a['iterations']}→{b['iterations']}  tokens {a['tokens']:,}→{b['tokens']:,} "
      f"({_signed(dl['tokens'], ',')})  time {a['time']:.2f}s→{b['time']:.2f}s\n")
    if a["cost"] is not None or b["cost"] is not None:
        w(f"        cost ${a['cost'] or 0:.4f}→${b['cost'] or 0:.4f}\n")
    w(f"nodes: {counts['same']} same, {counts['changed']} changed, {counts['added']} added, "
      f"{counts['removed']} removed\n")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="rlm-desktop diff",
        description="Compare two RLM trajectory logs (JSONL) by the structure of their run trees.",
        epilog="Exit status: 0 no differences, 1 the runs differ, 2 a file is unreadable or bad arguments.",
    )
    ap.add_argument("a", help="the first log (A)")
    ap.add_argument("b", help="the second log (B)")
    ap.add_argument("--json", action="store_true", help="print one JSON document")
    ap.add_argument("--all", action="store_true", help="also list the nodes that are the same")
    return ap


def diff_main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        d = diff_files(args.a, args.b)
    except Unreadable as exc:
        print(f"rlm-desktop diff: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout
    try:
        if hasattr(out, "reconfigure"):
            out.reconfigure(errors="backslashreplace")
        if args.json:
            json.dump(diff_json(d), out, indent=1, allow_nan=False, default=str)
            out.write("\n")
        else:
            print_text(d, out, args.all)
        out.flush()
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        except OSError:
            pass
    return 1 if d.differs else 0
