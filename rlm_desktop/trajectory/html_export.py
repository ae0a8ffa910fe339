"""A run as one self-contained HTML file that opens offline in any browser (no Qt).

    html = export_html(trajectory)          # str; or write_html(trajectory, "run.html")

The page holds the run tree as nested ``<details>`` (runs, iterations, code blocks,
sub-calls, child runs), each node's code, stdout/stderr, the messages the model saw (an
iteration shows only the messages added since the previous turn: every upstream prompt
repeats the whole history), the response, the locals, the final answer, and metrics
(tokens, cost and time per iteration and per depth, each LM call counted once).

Safety: every text from the log goes through ``html.escape`` (quotes too) and nothing
else; the page has **no script at all** (the tree folds with ``<details>``) and a
Content-Security-Policy that forbids scripts, objects, frames and any network fetch, so
even a browser bug in parsing could not run or load anything. Styles are inline.
Very long texts are cut (``MAX_TEXT`` chars, with a note saying how much was left out).
"""

from __future__ import annotations

import html
import math
import os
from typing import Any

from . import summary
from .model import CodeBlock, Iteration, Run, SubCall, Trajectory, Usage

MAX_TEXT = 100_000
MAX_LOCAL = 2_000

CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; script-src 'none'; "
       "object-src 'none'; frame-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'")

STYLE = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#1d2125;background:#f6f7f9}
header{background:#24292f;color:#fff;padding:12px 20px}
header h1{font-size:18px;margin:0 0 4px}
main{padding:12px 20px}
.meta{color:#c9d1d9;font-size:12px}
details{margin:3px 0 3px 14px;border-left:2px solid #d0d7de;padding-left:8px}
details.run{border-left-color:#8250df}
details.it{border-left-color:#0969da}
details.block{border-left-color:#1a7f37}
details.call{border-left-color:#bf8700}
details.msgs{border-left-color:#afb8c1;font-size:12px}
summary{cursor:pointer;padding:2px 0}
summary .path{font-family:ui-monospace,monospace;color:#57606a;margin-right:6px}
summary .fig{color:#57606a;font-size:12px;margin-left:8px}
.err{color:#cf222e}
pre{background:#fff;border:1px solid #d0d7de;border-radius:4px;padding:6px 8px;white-space:pre-wrap;
    word-break:break-word;max-height:420px;overflow:auto;font:12px/1.35 ui-monospace,monospace;margin:4px 0}
pre.stderr{border-color:#cf222e}
.label{font-size:11px;text-transform:uppercase;color:#57606a;margin-top:6px}
table{border-collapse:collapse;margin:6px 0 14px;background:#fff}
td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:right;font-size:12px}
th{background:#eaeef2}
td:first-child,th:first-child{text-align:left}
.answer{background:#dafbe1;border-color:#1a7f37}
.msg-role{font-weight:600;font-size:12px}
"""


def esc(value: Any) -> str:
    s = value if isinstance(value, str) else ("" if value is None else str(value))
    return html.escape(s, quote=True)


def _cut(s: str, limit: int = MAX_TEXT) -> str:
    return s if len(s) <= limit else s[:limit] + f"\n… ({len(s) - limit:,} more characters not shown)"


def _pre(text: str, cls: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f"<pre{c}>{esc(_cut(text))}</pre>"


def _label(text: str) -> str:
    return f'<div class="label">{esc(text)}</div>'


def _num(v: float | None) -> float | None:
    return v if v is not None and math.isfinite(v) else None


def _fig(u: Usage | None, t: float | None) -> str:
    parts = []
    if u is not None and (u.total_tokens or u.calls):
        parts.append(f"{u.total_tokens:,} tokens")
        if _num(u.cost) is not None:
            parts.append(f"${u.cost:.4f}")
    if _num(t) is not None:
        parts.append(f"{t:.2f}s")
    return f'<span class="fig">{esc(" · ".join(parts))}</span>' if parts else ""


def _first_line(s: str, n: int = 90) -> str:
    for line in s.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= n else line[:n] + "…"
    return ""


def _messages(prompt: Any) -> list[tuple[str, str]]:
    if isinstance(prompt, str):
        return [("user", prompt)]
    if isinstance(prompt, dict):
        prompt = [prompt]
    out = []
    for m in prompt if isinstance(prompt, list) else [prompt]:
        if isinstance(m, dict):
            c = m.get("content")
            out.append((str(m.get("role", "")), c if isinstance(c, str) else str(c)))
        else:
            out.append(("", str(m)))
    return out


def _messages_html(msgs: list[tuple[str, str]], skipped: int) -> str:
    out = []
    if skipped:
        out.append(f'<div class="label">{skipped} earlier messages, as in the previous turn</div>')
    for role, text in msgs:
        out.append(f'<div class="msg-role">{esc(role)}</div>{_pre(text)}')
    return "".join(out)


class _Writer:
    def __init__(self, upstream: bool | None = None) -> None:
        self.upstream = upstream
        self.parts: list[str] = []

    def w(self, s: str) -> None:
        self.parts.append(s)

    def run(self, run: Run, open_: bool) -> None:
        status = run.status.value
        head = (f'<span class="path">{esc(run.path)}</span>run {esc(run.model or "?")} [{esc(status)}], '
                f'{len(run.iterations)} iterations'
                + _fig(summary.subtree_usage(run, self.upstream), run.total_time()))
        self.w(f'<details class="run"{" open" if open_ else ""}><summary>{head}</summary>')
        if run.error:
            self.w(_label("error") + _pre(run.error, "stderr"))
        prev: list[tuple[str, str]] = []
        for it in run.iterations:
            msgs = _messages(it.prompt)
            same = 0
            if prev and len(msgs) >= len(prev) and msgs[:len(prev)] == prev:
                same = len(prev)
            self.iteration(it, msgs[same:], same, open_=run.parent is None and it.position == 0)
            prev = msgs
        if run.final_answer is not None:
            self.w(_label("final answer") + _pre(run.final_answer, "answer"))
        self.w("</details>")

    def iteration(self, it: Iteration, new_msgs: list[tuple[str, str]], same: int, open_: bool = False) -> None:
        flags = " · default answer" if it.is_default_answer else ""
        flags += " · edited in the debugger" if it.edited else ""
        flags += " · FINAL" if it.final_answer is not None and not it.is_default_answer else ""
        head = (f'<span class="path">{esc(it.path)}</span>iteration {it.number}, '
                f'{len(it.code_blocks)} blocks{esc(flags)}'
                + _fig(summary.iteration_usage(it, self.upstream), it.iteration_time))
        self.w(f'<details class="it"{" open" if open_ else ""}><summary>{head}</summary>')
        self.w(f'<details class="msgs"><summary>messages the model saw ({same + len(new_msgs)}; '
               f'{len(new_msgs)} new this turn)</summary>{_messages_html(new_msgs, same)}</details>')
        self.w(_label("response") + _pre(it.response))
        if it.edited and it.original_response is not None:
            self.w(_label("original response (before the edit)") + _pre(it.original_response))
        for b in it.code_blocks:
            self.block(b)
        if it.final_answer is not None:
            self.w(_label("final answer") + _pre(it.final_answer, "answer"))
        self.w("</details>")

    def block(self, b: CodeBlock) -> None:
        err = ""
        if b.stderr.strip():
            err = f' <span class="err">{esc(_first_line(b.stderr.strip().splitlines()[-1], 60))}</span>'
        head = (f'<span class="path">{esc(b.path)}</span>block {b.index}: <code>{esc(_first_line(b.code))}</code>'
                f"{err}" + _fig(summary.block_usage(b, self.upstream), b.execution_time))
        self.w(f'<details class="block"><summary>{head}</summary>')
        self.w(_label("code") + _pre(b.code))
        if b.stdout:
            self.w(_label("stdout") + _pre(b.stdout))
        if b.stderr:
            self.w(_label("stderr") + _pre(b.stderr, "stderr"))
        if b.locals:
            lines = []
            for k in sorted(b.locals):
                v = b.locals[k]
                s = v if isinstance(v, str) else repr(v)
                lines.append(f"{k} = {_cut(s, MAX_LOCAL)}")
            self.w(_label("locals") + _pre("\n".join(lines)))
        for c in b.sub_calls:
            self.call(c)
        if b.final_answer is not None:
            self.w(_label("final answer (this block)") + _pre(b.final_answer, "answer"))
        self.w("</details>")

    def call(self, c: SubCall) -> None:
        kind = "rlm_query (child run)" if c.child is not None else "llm_query"
        fail = ' <span class="err">failed</span>' if c.failed else ""
        head = (f'<span class="path">{esc(c.path)}</span>{esc(kind)} {esc(c.model)}{fail}'
                + _fig(summary.call_usage(c, self.upstream), c.execution_time))
        self.w(f'<details class="call"><summary>{head}</summary>')
        self.w(f'<details class="msgs"><summary>prompt</summary>{_messages_html(_messages(c.prompt), 0)}</details>')
        self.w(_label("response") + _pre(c.response))
        if c.error:
            self.w(_label("error") + _pre(c.error, "stderr"))
        if c.child is not None:
            self.run(c.child, False)
        self.w("</details>")


def _metrics(traj: Trajectory) -> str:
    rows = []
    for run in traj.runs:
        upstream = summary.upstream_of(run)
        for it in run.iterations:
            u = summary.iteration_usage(it, upstream)
            cost = f"${u.cost:.4f}" if _num(u.cost) is not None else "-"
            t = f"{it.iteration_time:.2f}s" if _num(it.iteration_time) is not None else "-"
            rows.append(f"<tr><td>{esc(it.path)}</td><td>{u.input_tokens:,}</td><td>{u.output_tokens:,}</td>"
                        f"<td>{u.calls}</td><td>{esc(cost)}</td><td>{esc(t)}</td></tr>")
    per_it = ("<table><tr><th>iteration</th><th>input tokens</th><th>output tokens</th><th>calls</th>"
              "<th>cost</th><th>time</th></tr>" + "".join(rows) + "</table>")
    by_depth: dict[int, list[Any]] = {}
    covered = summary.CoveredCalls()
    for run in traj.runs:
        upstream = summary.upstream_of(run)
        for node in run.walk():
            if isinstance(node, SubCall):
                d = by_depth.setdefault(node.depth, [0, 0, None, 0.0])
                u = node.usage if not (upstream and covered(node)) else Usage()
                d[0] += 1
                d[1] += u.total_tokens
                if u.cost is not None:
                    d[2] = (d[2] or 0.0) + u.cost
                d[3] += node.execution_time or 0.0
    depth_rows = "".join(f"<tr><td>depth {k}</td><td>{int(v[0])}</td><td>{int(v[1]):,}</td>"
                         f"<td>{'-' if _num(v[2]) is None else f'${v[2]:.4f}'}</td>"
                         f"<td>{v[3]:.2f}s</td></tr>" for k, v in sorted(by_depth.items()))
    per_depth = ("<table><tr><th>sub-calls</th><th>count</th><th>tokens</th><th>cost</th><th>time</th></tr>"
                 + depth_rows + "</table>") if depth_rows else ""
    return per_it + per_depth


def export_html(traj: Trajectory, title: str | None = None) -> str:
    name = title or os.path.basename(traj.path or "") or "RLM run"
    total = summary.trajectory_usage(traj)
    meta = traj.metadata or {}
    w = _Writer()  # (each run counted by its own rule: summary.upstream_of)
    for run in traj.runs:
        w.run(run, True)
    cost = f", ${total.cost:.4f}" if _num(total.cost) is not None else ""
    facts = (f"{len(traj.runs)} run(s), {sum(len(r.iterations) for r in traj.runs)} iterations, "
             f"{total.total_tokens:,} tokens{cost}, "
             f"{sum(r.total_time() for r in traj.runs):.2f}s; format {traj.era}; "
             f"model {meta.get('root_model', '?')}, max depth {meta.get('max_depth', '?')}")
    bad = ""
    if traj.bad_lines:
        items = "".join(f"<li>line {b.line_no}: {esc(b.message)}</li>" for b in traj.bad_lines[:200])
        bad = f"<h2>Lines that could not be read ({len(traj.bad_lines)})</h2><ul>{items}</ul>"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(name)} — RLM run</title><style>{STYLE}</style></head><body>"
        f'<header><h1>{esc(name)}</h1><div class="meta">{esc(facts)}</div></header><main>'
        "<h2>Run tree</h2>" + "".join(w.parts)
        + "<h2>Metrics</h2>" + _metrics(traj) + bad
        + '<p class="meta" style="color:#57606a">Exported by rlm-desktop. This page runs no script.</p>'
        "</main></body></html>\n"
    )


def write_html(traj: Trajectory, path: str, title: str | None = None) -> None:
    text = export_html(traj, title)
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8", errors="replace") as fh:
        fh.write(text)
    os.replace(tmp, path)
