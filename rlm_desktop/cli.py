"""``rlm-desktop inspect FILE``: print a trajectory's run tree, for scripts and CI.

    rlm-desktop inspect FILE [--json] [--summary] [--max-depth N] [--max-line-mb MB] [--running]

Text output: the file (size, lines, format era), its metadata, then per
completion (run): status, iterations, total time, tokens and cost of all
sub-calls (and of the root LM where our own logs record it), sub-calls per
depth, the final answer; per iteration: its number, line, time, blocks; per
block: the first line of the code, stdout/stderr sizes, the exception line if
the block failed, its sub-calls (model, time, tokens) and nested child runs,
indented. Last, every bad line with its line number and the reason.
``--summary`` prints only the run lines, from one streaming pass over the file
(``trajectory.totals``: memory stays bounded whatever the file size);
``--max-depth N`` stops nesting below child runs of depth N; ``--json`` prints
the same tree as one JSON document (strict JSON: no NaN, times as seconds or null).

Hostile input: only regular files are read (a FIFO or a device is refused with a
clear error, without blocking on it); a line longer than ``--max-line-mb`` (even
an endless one) is a bad line and is never held in memory whole. Text from the
log is printed on one line each with control characters, ANSI/OSC escape
sequences, bidi controls and line separators escaped (a log cannot drive the
terminal), cut to a preview length.

Exit status: 0 the file was read and every line is good; 1 the file was read
but has bad lines (including an unterminated last line, unless ``--running``
says the file is still being written and that line is pending); 2 the file
cannot be read (missing, a directory, a FIFO or device, no permission) or the
arguments are wrong.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import stat
import sys
from typing import Any

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, SubCall, Trajectory, Usage
from rlm_desktop.trajectory.reader import read_file
from rlm_desktop.trajectory.summary import call_usage, trajectory_usage
from rlm_desktop.trajectory.totals import FileTotals, RunTotals, scan_totals

PREVIEW = 100
_CONTROL = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)]}
_CONTROL.update({0x0A: "\\n", 0x0D: "\\r", 0x09: "\\t"})
# line/paragraph separators, bidi controls (a terminal would reorder the text), zero-width marks
_CONTROL.update({c: f"\\u{c:04x}" for c in [0x2028, 0x2029, *range(0x200B, 0x2010), *range(0x202A, 0x202F),
                                            *range(0x2066, 0x206A), 0xFEFF]})
#: lines longer than this are reported as bad lines and never held whole (``--max-line-mb``)
MAX_LINE_MB = 256


def one_line(text: Any, limit: int = PREVIEW) -> str:
    """A single terminal-safe line: control characters escaped, cut to ``limit`` chars."""
    s = text if isinstance(text, str) else str(text)
    more = len(s) - limit
    s = s[:limit].translate(_CONTROL)
    return s + (f"… (+{more} chars)" if more > 0 else "")


def first_code_line(code: str) -> str:
    for line in code.splitlines():
        if line.strip():
            return one_line(line.strip(), 80)
    return ""


def fmt_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"  # pragma: no cover


def fmt_time(t: float | None) -> str:
    return "-" if t is None else f"{t:.2f}s"


def fmt_usage(u: Usage) -> str:
    if u.calls == 0 and u.total_tokens == 0:
        return "tokens -"
    cost = "" if u.cost is None else f" ${u.cost:.4f}"
    return f"tokens {u.input_tokens:,} in / {u.output_tokens:,} out ({u.calls} calls){cost}"


def _num(v: float | None) -> float | None:
    return v if v is None or math.isfinite(v) else None


# -- JSON form --------------------------------------------------------------------------------


def usage_json(u: Usage) -> dict[str, Any]:
    return {
        "calls": u.calls,
        "input_tokens": u.input_tokens,
        "output_tokens": u.output_tokens,
        "cost": _num(u.cost),
    }


def call_json(c: SubCall, max_depth: int | None, upstream: bool | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "index": c.index,
        "path": c.path,
        "depth": c.depth,
        "model": c.model,
        "kind": "rlm" if c.child is not None else "llm",
        "execution_time": _num(c.execution_time),
        "usage": usage_json(c.usage),  # as logged for this entry
        "subtree_usage": usage_json(call_usage(c, upstream)),  # with its child run, each call once
        "response_preview": c.response[:PREVIEW],
        "error": c.error,
        "failed": c.failed,
    }
    if c.child is not None:
        out["child"] = run_json(c.child, max_depth, upstream)
    return out


def block_json(b: CodeBlock, max_depth: int | None, upstream: bool | None = None) -> dict[str, Any]:
    return {
        "index": b.index,
        "path": b.path,
        "code_first_line": first_code_line(b.code),
        "code_lines": len(b.code.splitlines()),
        "stdout_chars": len(b.stdout),
        "stderr_chars": len(b.stderr),
        "error": b.stderr.strip().splitlines()[-1] if b.stderr.strip() else None,
        "execution_time": _num(b.execution_time),
        "final_answer": b.final_answer,
        "sub_calls": [call_json(c, max_depth, upstream) for c in b.sub_calls],
    }


def iteration_json(it: Iteration, max_depth: int | None, upstream: bool | None = None) -> dict[str, Any]:
    return {
        "number": it.number,
        "path": it.path,
        "line": it.line_no,
        "timestamp": it.timestamp,
        "iteration_time": _num(it.iteration_time),
        "final_answer": it.final_answer,
        "is_default_answer": it.is_default_answer,
        "edited": it.edited,
        "usage": usage_json(it.usage) if it.usage is not None else None,
        "blocks": [block_json(b, max_depth, upstream) for b in it.code_blocks],
    }


def run_head_json(t: RunTotals, path: str) -> dict[str, Any]:
    """A run's own line (no iterations), from its totals."""
    return {
        "index": t.index,
        "path": path,
        "depth": t.depth,
        "model": t.model,
        "status": t.status.value,
        "error": t.error,
        "iterations_count": t.iterations,
        "total_time": _num(t.total_time),
        "usage": usage_json(t.usage),
        "root_usage": usage_json(t.root_usage),
        "sub_calls_by_depth": {str(k): v for k, v in sorted(t.sub_calls_by_depth.items())},
        "max_depth_reached": t.max_depth_reached,
        "final_answer": t.final_answer,
    }


def run_json(run: Run, max_depth: int | None, upstream: bool | None = None) -> dict[str, Any]:
    out = run_head_json(RunTotals.of_run(run, upstream), run.path)
    if max_depth is None or run.depth < max_depth:
        out["iterations"] = [iteration_json(it, max_depth, upstream) for it in run.iterations]
    return out


def _bad_json(bad_lines: Any) -> list[dict[str, Any]]:
    return [{"line": b.line_no, "message": b.message, "text": b.text} for b in bad_lines]


def trajectory_json(traj: Trajectory, size: int, max_depth: int | None) -> dict[str, Any]:
    return {
        "file": traj.path,
        "size_bytes": size,
        "era": traj.era,
        "line_count": traj.line_count,
        "pending_tail": traj.pending_tail,
        "metadata": traj.metadata,
        "usage": usage_json(trajectory_usage(traj)),
        "runs": [run_json(r, max_depth) for r in traj.runs],  # (each counted by its own rule)
        "bad_lines": _bad_json(traj.bad_lines),
    }


def totals_json(totals: FileTotals) -> dict[str, Any]:
    """``--summary --json``: the same document without iterations, from one streaming pass."""
    return {
        "file": totals.path,
        "size_bytes": totals.size,
        "era": totals.era,
        "line_count": totals.line_count,
        "pending_tail": totals.pending_tail,
        "metadata": totals.metadata,
        "usage": usage_json(totals.usage),
        "runs": [run_head_json(t, f"r{t.index}") for t in totals.runs],
        "bad_lines": _bad_json(totals.bad_lines),
        "bad_line_count": totals.bad_line_count,
    }


def _strict(obj: Any) -> Any:
    """Non-finite floats (only possible in metadata kwargs) become strings for strict JSON."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _strict(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_strict(v) for v in obj]
    return obj


# -- text form --------------------------------------------------------------------------------


class _Printer:
    def __init__(self, out: Any, max_depth: int | None, upstream: bool | None = None) -> None:
        self.out = out
        self.max_depth = max_depth
        self.upstream = upstream

    def line(self, indent: int, text: str) -> None:
        self.out.write("  " * indent + text + "\n")

    def run(self, t: RunTotals, indent: int, header: str) -> None:
        by_depth = " ".join(f"d{k}={v}" for k, v in sorted(t.sub_calls_by_depth.items())) or "none"
        self.line(
            indent,
            f"{header} [{t.status.value}] {one_line(t.model or '?', 60)}  {t.iterations} iterations  "
            f"{fmt_time(t.total_time)}  {fmt_usage(t.usage)}",
        )
        self.line(indent + 1, f"sub-calls by depth: {by_depth}")
        if t.error:
            self.line(indent + 1, f"error: {one_line(t.error)}")
        answer = "-" if t.final_answer is None else one_line(t.final_answer)
        self.line(indent + 1, f"final answer: {answer}")

    def tree(self, run: Run, indent: int) -> None:
        if self.max_depth is not None and run.depth >= self.max_depth:
            return
        for it in run.iterations:
            where = f"line {it.line_no}  " if it.line_no else ""
            flags = "  default answer" if it.is_default_answer else ""
            flags += "  edited" if it.edited else ""
            flags += "  FINAL" if it.final_answer is not None and not it.is_default_answer else ""
            own = f"  root {fmt_usage(it.usage)}" if it.usage is not None else ""
            self.line(
                indent,
                f"i{it.number}  {where}{fmt_time(it.iteration_time)}  {len(it.code_blocks)} blocks{own}{flags}",
            )
            for b in it.code_blocks:
                err = ""
                if b.stderr.strip():
                    err = f"  ! {one_line(b.stderr.strip().splitlines()[-1], 80)}"
                self.line(indent + 1, f"b{b.index}  {first_code_line(b.code)}")
                self.line(
                    indent + 2,
                    f"stdout {len(b.stdout)} chars, stderr {len(b.stderr)} chars  "
                    f"{fmt_time(b.execution_time)}  {len(b.sub_calls)} sub-calls{err}",
                )
                for c in b.sub_calls:
                    kind = "rlm" if c.child is not None else "llm"
                    fail = "  FAILED" if c.failed else ""
                    self.line(
                        indent + 2,
                        f"c{c.index}  {kind} d{c.depth} {one_line(c.model, 60)}  {fmt_time(c.execution_time)}  "
                        f"{fmt_usage(c.usage)}{fail}",
                    )
                    if c.child is not None:
                        totals = RunTotals.of_run(c.child, self.upstream)
                        self.run(totals, indent + 3, f"child run (depth {c.child.depth})")
                        self.tree(c.child, indent + 4)


def _print_head(p: _Printer, path: str | None, size: int, lines: int, era: str, pending: bool,
                meta: dict[str, Any] | None, runs: int, total_time: float, usage: Usage) -> None:
    note = "  (unterminated last line pending)" if pending else ""
    p.line(0, f"file: {one_line(path or '', 300)}  {fmt_bytes(size)}  {lines} lines  era {one_line(era, 20)}{note}")
    if meta:
        p.line(
            0,
            f"metadata: model {one_line(str(meta.get('root_model')), 60)}  backend {one_line(str(meta.get('backend')), 30)}  "
            f"environment {one_line(str(meta.get('environment_type')), 30)}  max_depth {one_line(str(meta.get('max_depth')), 20)}  "
            f"max_iterations {one_line(str(meta.get('max_iterations')), 20)}",
        )
    p.line(0, f"runs: {runs}  total time {fmt_time(total_time)}  {fmt_usage(usage)}")


def _print_bad(p: _Printer, bad_lines: Any, count: int) -> None:
    p.line(0, f"bad lines: {count}")
    for bad in bad_lines:
        p.line(1, f"line {bad.line_no}: {one_line(bad.message, 120)}  | {one_line(bad.text, 80)}")
    if count > len(bad_lines):
        p.line(1, f"… and {count - len(bad_lines)} more")


def print_text(traj: Trajectory, size: int, out: Any, max_depth: int | None) -> None:
    p = _Printer(out, max_depth)  # (each run counted by its own rule: summary.upstream_of)
    _print_head(p, traj.path, size, traj.line_count, traj.era, traj.pending_tail and not traj.bad_lines,
                traj.metadata, len(traj.runs), sum(r.total_time() for r in traj.runs), trajectory_usage(traj))
    for run in traj.runs:
        p.run(RunTotals.of_run(run), 0, f"run {run.index}")
        p.tree(run, 1)
    _print_bad(p, traj.bad_lines, len(traj.bad_lines))


def print_summary(totals: FileTotals, out: Any) -> None:
    """``--summary``: the run lines only, from one streaming pass (memory bounded)."""
    p = _Printer(out, 0, True)
    _print_head(p, totals.path, totals.size, totals.line_count, totals.era,
                totals.pending_tail and not totals.bad_lines, totals.metadata, len(totals.runs),
                totals.total_time, totals.usage)
    for t in totals.runs:
        p.run(t, 0, f"run {t.index}")
    _print_bad(p, totals.bad_lines, totals.bad_line_count)


def check_input(path: str) -> tuple[int, str | None]:
    """(size, None) for a regular file that can be opened, else (0, why not). Never blocks:
    a FIFO or device is looked at without reading (``O_NONBLOCK``) and refused."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        return 0, str(exc.strerror or exc)
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    if stat.S_ISDIR(st.st_mode):
        return 0, "is a directory"
    if not stat.S_ISREG(st.st_mode):
        kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else "a character device"
                if stat.S_ISCHR(st.st_mode) else "a block device" if stat.S_ISBLK(st.st_mode)
                else "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        return 0, f"is {kind}, not a log file; inspect reads regular files only"
    return st.st_size, None


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="rlm-desktop inspect",
        description="Print the run tree of an RLM trajectory log (JSONL).",
        epilog="Exit status: 0 all lines good, 1 bad lines found, 2 file unreadable or bad arguments.",
    )
    ap.add_argument("file", help="a .jsonl trajectory log (upstream rlms or rlm-desktop)")
    ap.add_argument("--json", action="store_true", help="print the tree as one JSON document")
    ap.add_argument("--summary", action="store_true", help="only the run lines, no iterations")
    ap.add_argument(
        "--max-depth", type=int, default=None, metavar="N", help="do not expand runs deeper than N"
    )
    ap.add_argument(
        "--max-line-mb",
        type=float,
        default=MAX_LINE_MB,
        metavar="MB",
        help=f"report lines longer than this as bad lines without reading them (default {MAX_LINE_MB})",
    )
    ap.add_argument(
        "--running",
        action="store_true",
        help="the file is still being written: an unterminated last line is pending",
    )
    return ap


def inspect_main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help is 0, bad usage is 2
        return int(exc.code or 0)
    path = args.file
    size, why = check_input(path)
    if why is not None:
        print(f"rlm-desktop inspect: {one_line(path, 300)}: {why}", file=sys.stderr)
        return 2
    max_line = max(1, int(args.max_line_mb * (1 << 20)))
    doc: Trajectory | FileTotals
    if args.summary:  # one streaming pass: memory stays bounded whatever the file size
        try:
            doc = scan_totals(path, still_running=args.running, max_line=max_line)
        except OSError as exc:
            print(f"rlm-desktop inspect: {one_line(path, 300)}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        bad = doc.bad_line_count
    else:
        doc = read_file(path, still_running=args.running, max_line=max_line)
        if doc.bad_lines and doc.bad_lines[0].line_no == 0:  # raced: became unreadable
            print(f"rlm-desktop inspect: {one_line(path, 300)}: {doc.bad_lines[0].message}", file=sys.stderr)
            return 2
        bad = len(doc.bad_lines)
    out = sys.stdout
    try:
        if hasattr(out, "reconfigure"):
            out.reconfigure(errors="backslashreplace")
        if args.json:
            data = totals_json(doc) if isinstance(doc, FileTotals) else trajectory_json(doc, size, args.max_depth)
            json.dump(_strict(data), out, indent=1, allow_nan=False)
            out.write("\n")
        elif isinstance(doc, FileTotals):
            print_summary(doc, out)
        else:
            print_text(doc, size, out, args.max_depth)
        out.flush()
    except BrokenPipeError:  # `| head`
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        except OSError:
            pass
    return 1 if bad else 0
