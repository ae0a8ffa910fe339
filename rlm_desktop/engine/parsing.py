"""Reading model replies and writing REPL output back into the history.

* ``find_code_blocks(text)``: the ```` ```repl ```` blocks of a reply, in order
  (the fence must be followed by a newline and the block closed by a newline
  and three backticks; each block's code is stripped). Other fences are not run.
* ``find_text_final(text)``: ``FINAL(...)`` / ``FINAL_VAR(...)`` at the start of
  a line, for models prompted the older way. ``FINAL(x)`` takes the text up to
  the last ``)`` of that line.
* ``format_turn(response, outputs, limit)``: the messages added to the history
  after a turn: the reply, then (when code ran) one user message with every
  block's output, each cut to ``limit`` characters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

_REPL_BLOCK = re.compile(r"```repl\s*\n(.*?)\n```", re.DOTALL)
_FINAL_VAR = re.compile(r"^\s*FINAL_VAR\((.*?)\)", re.MULTILINE)
_FINAL = re.compile(r"^\s*FINAL\((.*)\)", re.MULTILINE)
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def find_code_blocks(text: str) -> list[str]:
    return [m.group(1).strip() for m in _REPL_BLOCK.finditer(text or "")]


def find_text_final(text: str) -> tuple[str, str] | None:
    """``("FINAL_VAR", name)`` or ``("FINAL", text)`` found in the reply, else None.

    Text inside ```` ``` ```` fences is ignored (code that mentions FINAL is not an answer).
    """
    outside = re.sub(r"```.*?```", "", text or "", flags=re.DOTALL)
    m = _FINAL_VAR.search(outside)
    if m:
        return "FINAL_VAR", m.group(1).strip().strip("'\"")
    m = _FINAL.search(outside)
    if m:
        return "FINAL", m.group(1).strip()
    return None


def is_identifier(name: str) -> bool:
    return bool(_IDENT.fullmatch(name))


@dataclass
class BlockOutput:
    """What one block printed, for the history."""

    stdout: str = ""
    stderr: str = ""
    variables: list[str] = field(default_factory=list)


def variable_names(locals_: dict[str, Any]) -> list[str]:
    """Names worth mentioning to the model: no private names, no helper functions."""
    hidden = {"context", "answer"}
    out = []
    for k, v in locals_.items():
        if k.startswith("_") or k in hidden:
            continue
        if isinstance(v, str) and v.startswith(("<function ", "<builtin_function_or_method ", "<module ")):
            continue
        out.append(k)
    return out


def truncate(text: str, limit: int) -> str:
    if limit <= 0 or len(text) <= limit:
        return text
    return text[:limit] + f"\n[... {len(text) - limit:,} more characters not shown]"


def format_block_output(out: BlockOutput, limit: int) -> str:
    parts = []
    if out.stdout:
        parts.append(out.stdout.rstrip("\n"))
    if out.stderr:
        parts.append("Error output:\n" + out.stderr.strip("\n"))
    if out.variables:
        parts.append("Variables now defined: " + ", ".join(out.variables))
    text = "\n\n".join(parts) if parts else "(the block printed nothing)"
    return truncate(text, limit)


def format_turn(response: str, outputs: Sequence[BlockOutput], limit: int = 20_000) -> list[dict[str, str]]:
    messages = [{"role": "assistant", "content": response}]
    if not outputs:
        return messages
    if len(outputs) == 1:
        body = "Output of your code:\n" + format_block_output(outputs[0], limit)
    else:
        body = "\n\n".join(
            f"Output of block {i + 1}:\n{format_block_output(o, limit)}" for i, o in enumerate(outputs)
        )
    messages.append({"role": "user", "content": body})
    return messages
