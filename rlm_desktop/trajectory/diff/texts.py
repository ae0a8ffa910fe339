"""The texts a Compare view puts side by side for one node, by tab (no Qt).

``side_texts(node)`` gives, for a model node (or None: a node one side does not have),
``{"code", "output", "messages", "locals", "answer"}`` -> text. An iteration shows all its
blocks; a sub-call its prompt and response; a run its answer and status. Long texts are cut
at ``MAX_CHARS`` with a note (the view stays responsive on huge logs).
"""

from __future__ import annotations

from typing import Any

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, SubCall
from rlm_desktop.trajectory.names import title

from .fields import message_list, messages_text, value_text

TABS = ("code", "output", "messages", "locals", "answer")
MAX_CHARS = 120_000


def _cut(s: str) -> str:
    return s if len(s) <= MAX_CHARS else s[:MAX_CHARS] + f"\n… (+{len(s) - MAX_CHARS:,} chars not shown)"


def _output(b: CodeBlock) -> str:
    out = b.stdout
    if b.stderr:
        out += ("" if not out or out.endswith("\n") else "\n") + "--- stderr ---\n" + b.stderr
    return out


def _locals(b: CodeBlock) -> str:
    return "\n".join(f"{k} = {value_text(v, 1000)}" for k, v in sorted(b.locals.items()))


def side_texts(node: Any) -> dict[str, str]:
    t = dict.fromkeys(TABS, "")
    if isinstance(node, CodeBlock):
        t.update(code=node.code, output=_output(node), locals=_locals(node), answer=node.final_answer or "")
    elif isinstance(node, Iteration):
        many = len(node.code_blocks) > 1
        t["code"] = "\n".join((f"# ── block {b.index}\n" if many else "") + b.code for b in node.code_blocks)
        t["output"] = "\n".join((f"── block {b.index}\n" if many else "") + _output(b) for b in node.code_blocks)
        t["messages"] = messages_text(message_list(node.prompt)) + "\n\n[response] assistant\n" + node.response
        t["locals"] = _locals(node.code_blocks[-1]) if node.code_blocks else ""
        t["answer"] = node.final_answer or ""
    elif isinstance(node, SubCall):
        t["messages"] = messages_text(message_list(node.prompt)) + "\n\n[response]\n" + node.response
        t["answer"] = node.response + (f"\n[error] {node.error}" if node.error else "")
    elif isinstance(node, Run):
        t["answer"] = (node.final_answer or "") + f"\n[status] {node.status.value}" + (
            f"\n[error] {node.error}" if node.error else "")
        if node.iterations:
            t["messages"] = messages_text(message_list(node.iterations[0].prompt))
    return {k: _cut(v) for k, v in t.items()}


def label(node: Any) -> str:
    """A one-line label for a tree row."""
    def first(s: str) -> str:
        for line in s.splitlines():
            if line.strip():
                s = line.strip()
                break
        else:
            s = ""
        return s if len(s) <= 60 else s[:60] + "…"

    name = title(node)  # the one 1-based numbering for people (trajectory.names)
    if isinstance(node, Run):
        return f"{name}  {node.model or '?'} [{node.status.value}]"
    if isinstance(node, Iteration):
        return f"{name}  {first(node.response)}"
    if isinstance(node, CodeBlock):
        return f"{name}  {first(node.code)}"
    if isinstance(node, SubCall):
        return f"{name}  {node.model}"
    return name
