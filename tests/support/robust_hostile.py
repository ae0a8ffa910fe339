"""A hostile trajectory log for the robustness tests: HTML/script in every text, ANSI escapes,
bidi overrides, NUL, a lone surrogate, a 5 MB single line, deep sub-call trees (one that
upstream could write, 120 levels, and one it could not, 200 levels, built as text) and a
garbage line that is HTML. ``write_hostile(folder)`` returns the path and the markers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SCRIPT = "<script>alert(1)</script>"
BOLD = "<b>bold</b>"
IMG = "<img src=x onerror=alert(2)>"
HOSTILE = f"{SCRIPT} {BOLD} {IMG} \x1b[31mred\x1b[0m \u202eevil\u202c nul\x00here <a href='file:///etc/passwd'>x</a>"
MARKERS = (SCRIPT, BOLD, "<img src=x")
HUGE = 5 << 20
DEEP_OK = 120
DEEP_TOO = 200


def iteration(n: int, *, response: str = "", blocks: list | None = None, final: Any = None) -> dict[str, Any]:
    return {
        "type": "iteration",
        "iteration": n,
        "timestamp": "2026-01-01T00:00:00.000001",
        "prompt": [{"role": "system", "content": HOSTILE}, {"role": "user", "content": f"{BOLD} turn {n}"}],
        "response": response,
        "code_blocks": blocks or [],
        "final_answer": final,
        "iteration_time": 1.5,
    }


def block(code: str, stdout: str, *, calls: list | None = None, locals_: dict | None = None) -> dict[str, Any]:
    return {
        "code": code,
        "result": {
            "stdout": stdout,
            "stderr": f"\n<b>ValueError</b>: {SCRIPT}",
            "locals": locals_ or {},
            "execution_time": 0.25,
            "rlm_calls": calls or [],
            "final_answer": None,
        },
    }


def leaf(prompt: str, response: str, model: str = "<i>sub</i>") -> dict[str, Any]:
    return {
        "root_model": model,
        "prompt": prompt,
        "response": response,
        "usage_summary": {"model_usage_summaries": {model: {"total_calls": 1, "total_input_tokens": 3,
                                                            "total_output_tokens": 4}}},
        "execution_time": 0.5,
    }


def deep_line(levels: int) -> str:
    """One iteration line with ``levels`` nested child runs, built as text (json.dumps itself
    cannot encode this deep with the default recursion limit, so neither can upstream)."""
    inner = json.dumps(iteration(1, response=f"deepest {SCRIPT}", final=f"leaf answer {BOLD}"))
    for i in range(levels):
        call = leaf(f"level {i} {SCRIPT}", "ok", model=f"<b>m{i}</b>")
        call["metadata"] = {"run_metadata": {"root_model": f"<b>m{i}</b>"}, "iterations": ["@@"]}
        outer = iteration(1, response="```repl\nrlm_query('go deeper')\n```",
                          blocks=[block("rlm_query('go deeper')", "", calls=[call])])
        inner = json.dumps(outer).replace('"@@"', inner, 1)
    return inner


def write_hostile(folder: Path) -> Path:
    code = f"print({SCRIPT!r})\nx = {BOLD!r}"
    lines = [
        json.dumps({
            "type": "metadata", "timestamp": "2026-01-01T00:00:00", "root_model": f"<b>root</b>{IMG}",
            "max_depth": 300, "max_iterations": 30, "backend": "openai",
            "backend_kwargs": {"model_name": f"<b>root</b>{IMG}"}, "environment_type": "local",
            "environment_kwargs": {}, "other_backends": None,
        }),
        json.dumps(iteration(
            1,
            response=f"{HOSTILE}\n\n```repl\n{code}\n```",
            blocks=[block(code, f"{HOSTILE}\n" * 3,
                          calls=[leaf(HOSTILE, f"sub says {SCRIPT}")],
                          locals_={"<b>name</b>": f"<i>value</i> {SCRIPT}", "v": HOSTILE, "lone": "\ud800",
                                   "nested": {"k": [IMG, {"deeper": BOLD}]}})],
        )),
        json.dumps(iteration(2, response="```repl\nprint(blob)\n```",
                             blocks=[block("print(blob)", BOLD + "x" * HUGE + "\n")])),
        json.dumps(iteration(3, response="```repl\nrlm_query('go')\n```",
                             blocks=[block("rlm_query('go')", "", calls=[])])),
        f"<html><body onload=alert(3)>{BOLD} not json</body></html>",
        deep_line(DEEP_TOO),
        json.dumps(iteration(4, response="going deep")),
        json.dumps(iteration(5, response=f"final {SCRIPT}", final=f"the answer is {SCRIPT} {BOLD}")),
    ]
    # iteration 3 holds the deepest tree upstream could have written
    lines[3] = deep_line(DEEP_OK).replace('"iteration": 1,', '"iteration": 3,', 1)
    path = folder / "<b>hostile<img src=x> log.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="ascii")
    return path
