"""Hostile but valid runs, built as model objects (what the reader makes of such a log), for
the responsiveness tests (tests/test_ui_responsive.py) and bench/hostile_gui.py:

* ``million_keys``: a block whose locals hold 1M variables and a variable with 1M keys;
* ``many_iterations``: one run of ``n`` iterations (500,000 in the bench);
* ``deep``: values nested 1,000 levels deep in a block's locals and in a message;
* ``huge_line``: one string of ``size`` characters (300 MB in the bench) as a block's code,
  its output, a prompt message, the response and a local;
* ``invisible``: code, output and a message with bidi overrides and zero-width characters
  (a "Trojan Source" line: what the code panel must not hide).
"""

from __future__ import annotations

from typing import Any

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, RunStatus, SubCall, Trajectory, Usage


def _trajectory(path: str) -> tuple[Trajectory, Run]:
    traj = Trajectory(path=path, metadata={"root_model": "hostile"}, era="rlm_desktop")
    run = Run(index=0, depth=0, metadata={"root_model": "hostile"}, status=RunStatus.FINISHED)
    traj.runs.append(run)
    return traj, run


def million_keys(n: int = 1_000_000) -> tuple[Trajectory, CodeBlock]:
    traj, run = _trajectory("million_keys.jsonl")
    it = run.add_iteration(Iteration(number=1, response="```repl\nbig = {...}\n```", iteration_time=1.0))
    big = {f"key_{i}": i for i in range(n)}
    locals_: dict[str, Any] = {"big": big, "small": [1, 2, 3]}
    locals_.update((f"v{i}", i) for i in range(n))  # and 1M variables at the top level
    block = it.add_block(CodeBlock(index=0, code="big = {f'key_{i}': i for i in range(10**6)}", stdout="",
                                   locals=locals_, execution_time=0.1))
    return traj, block


def many_iterations(n: int = 500_000) -> tuple[Trajectory, Run]:
    traj, run = _trajectory("many_iterations.jsonl")
    for i in range(n):
        it = run.add_iteration(Iteration(number=i + 1, response="r", iteration_time=1.0 + (i % 7)))
        it.usage = Usage(1, 10 + i % 13, 5)
        if i % 50 == 0:
            it.add_block(CodeBlock(index=0, code=f"x = {i}", stdout="ok\n", execution_time=0.01))
    run.final_answer = "done"
    return traj, run


def nested(levels: int, kind: str = "list") -> Any:
    """A value nested ``levels`` deep, built without recursion: [[[...]]] or {"a": {"a": ...}}."""
    value: Any = [] if kind == "list" else {}
    for _ in range(levels - 1):
        value = [value] if kind == "list" else {"a": value}
    return value


def deep(levels: int = 1000) -> tuple[Trajectory, CodeBlock]:
    traj, run = _trajectory("deep.jsonl")
    prompt = [
        {"role": "system", "content": "system"},
        {"role": "user", "content": nested(levels, "dict")},  # a structured message content
    ]
    it = run.add_iteration(Iteration(number=1, prompt=prompt, response="```repl\nx = ...\n```", iteration_time=1.0))
    locals_ = {"deep_list": nested(levels), "deep_dict": nested(levels, "dict"), "n": 1}
    block = it.add_block(CodeBlock(index=0, code="deep_list = ...", stdout="ok\n", locals=locals_,
                                   execution_time=0.1))
    call = block.add_sub_call(SubCall(index=0, model="sub", prompt=nested(levels), response="ok",
                                      usage=Usage(1, 3, 4), execution_time=0.1))
    assert call is not None
    return traj, block


def huge_line(size: int = 300_000_000) -> tuple[Trajectory, CodeBlock, str]:
    """One string of ``size`` characters, shared by the code, output, messages and locals
    (the reader holds repeated long strings once, too)."""
    text = "x = 1  # " + "y" * (size - 9)
    traj, run = _trajectory("huge_line.jsonl")
    prompt = [{"role": "system", "content": "sys"}, {"role": "user", "content": text}]
    it = run.add_iteration(Iteration(number=1, prompt=prompt, response=text, iteration_time=1.0))
    block = it.add_block(CodeBlock(index=0, code=text, stdout=text, locals={"context": text, "n": 1},
                                   execution_time=0.1))
    block.add_sub_call(SubCall(index=0, model="sub", prompt=text, response="ok", usage=Usage(1, 3, 4)))
    return traj, block, text


#: What ran: the comment hides ``; grant()`` from a reader who trusts what the line looks like.
TROJAN = 'access = "user\u202e \u2066# admin only\u2069 \u2066"; grant()  # \u200b'


def invisible() -> tuple[Trajectory, CodeBlock]:
    traj, run = _trajectory("invisible.jsonl")
    prompt = [{"role": "user", "content": f"check this: {TROJAN}"}]
    it = run.add_iteration(Iteration(number=1, prompt=prompt, response=f"```repl\n{TROJAN}\n```",
                                     iteration_time=1.0))
    block = it.add_block(CodeBlock(index=0, code=f"{TROJAN}\nprint(access)", stdout="out\u202eput\ufeff\n",
                                   execution_time=0.1))
    return traj, block
