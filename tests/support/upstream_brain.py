"""The scripted model for ``upstream_program.py`` (served by ``MockLMServer``)."""

from __future__ import annotations

from typing import Any

from .rlms_scenarios import Brain, finish, repl

EDIT_MARK = "edited-by-the-debugger"
CHAT_MARK = "chat-step-1-done"

_TURNS = {
    "mock-root": [
        repl('t = double(21)\nouts = llm_query_batched(["alpha", "beta beta"])\nprint("tool:", t, outs)'),
        repl('r = rlm_query("Delegate: analyse part A", model="mock-d1")\nprint("child said:", r)'),
        repl('rs = rlm_query_batched(["batch item 0", "batch item 1"], model="mock-d1b")\nprint(rs)'),
        repl(finish('"root done: " + r + " | " + ", ".join(rs) + " | " + str(t)')),
    ],
    "mock-d1": [
        repl('note = llm_query("d1 plain question")\nprint(note)'),
        repl('g = rlm_query("Go deeper on part A", model="mock-d2")\nprint(g)', finish('"d1 got " + g')),
    ],
    "mock-d2": [
        repl('leaf = rlm_query("deepest question", model="mock-leaf")\nprint(leaf)\n' + finish('"d2 says " + leaf')),
    ],
    "mock-d1b": [repl(finish('"B:" + context + ":" + str(double(2))'))],
    "mock-deep": [
        repl('import time\nprint("tick")\ntime.sleep(0.4)\nprint("tock")\n'
             'r = rlm_query("Delegate the deep part", model="mock-d1")\nprint("child said:", r)'),
        repl(finish('"deep done: " + r')),
    ],
}

_brain = Brain(_TURNS)


def _text(m: dict[str, Any]) -> str:
    c = m.get("content")
    return c if isinstance(c, str) else str(c)


def _chat(messages: list[dict[str, Any]]) -> str:
    last = _text(messages[-1]) if messages else ""
    seen = any(CHAT_MARK in _text(m) for m in messages)
    if "Summarize your progress" in last:
        return f"Summary: {CHAT_MARK} (step 1 is done)" if seen else "Summary: nothing done yet"
    if seen:
        return repl(finish('"chat answer " + str(len(context))'))
    return repl(f'print("{CHAT_MARK}", len(context))')


def _old(messages: list[dict[str, Any]]) -> str:
    if any("re: old sub question" in _text(m) for m in messages):
        return "The sub-call answered.\nFINAL(old done)"
    return repl('s = llm_query("old sub question")\nprint(s)')


def brain(model: str, messages: list[dict[str, Any]]) -> str:
    if model == "mock-chat" and messages and messages[0].get("role") == "system":
        return _chat(messages)
    if model == "mock-old" and messages and messages[0].get("role") == "system":
        return _old(messages)
    return _brain(model, messages)
