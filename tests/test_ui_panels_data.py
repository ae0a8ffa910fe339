"""Hand-written upstream-format (rlms 0.1.2+) log lines for the panel tests, read with the real reader."""

from __future__ import annotations

import json

from rlm_desktop.trajectory.model import Trajectory
from rlm_desktop.trajectory.reader import read_bytes

HOSTILE = "<b>bold</b><script>alert('x')</script><img src=x onerror=alert(1)>&amp;"

META = {
    "type": "metadata",
    "timestamp": "2026-11-24T07:58:53.863098",
    "root_model": "mock-root",
    "max_depth": 2,
    "max_iterations": 5,
    "backend": "openai",
    "backend_kwargs": {"model_name": "mock-root", "base_url": "http://127.0.0.1:9/v1"},
    "environment_type": "local",
    "environment_kwargs": {},
    "other_backends": None,
}


def usage(model: str, calls: int, inp: int, out: int, cost: float | None = None) -> dict:
    entry = {"total_calls": calls, "total_input_tokens": inp, "total_output_tokens": out}
    res: dict = {"model_usage_summaries": {model: entry}}
    if cost is not None:
        entry["total_cost"] = cost
        res["total_cost"] = cost
    return res


def block(code, stdout="", stderr="", locs=None, calls=(), t=0.01, final=None):
    return {
        "code": code,
        "result": {
            "stdout": stdout,
            "stderr": stderr,
            "locals": locs if locs is not None else {},
            "execution_time": t,
            "rlm_calls": list(calls),
            "final_answer": final,
        },
    }


def iteration(n, prompt, response, blocks=(), final=None, t=1.0, ts="2026-11-24T07:59:0", extra=None):
    rec = {
        "type": "iteration",
        "iteration": n,
        "timestamp": f"{ts}{n}",
        "prompt": prompt,
        "response": response,
        "code_blocks": list(blocks),
        "final_answer": final,
        "iteration_time": t,
    }
    if extra:
        rec["rlm_desktop"] = extra
    return rec


SYSTEM = {"role": "system", "content": "You are a test model. Use the REPL.\n" + "rules " * 200}
USER0 = {"role": "user", "content": "Your context is a str of 42 total characters."}


def sample_records() -> list[dict]:
    """Three iterations: stderr + llm_query; a child RLM; the final answer."""
    base_locals = {
        "context": "the context string " * 3,
        "context_0": "the context string " * 3,
        "answer": {"content": "", "ready": False},
        "f": "<_io.TextIOWrapper name='/tmp/x/context_0.txt' mode='r' encoding='UTF-8'>",
    }
    leaf = {
        "root_model": "mock-sub",
        "prompt": "Summarise: " + HOSTILE,
        "response": "summary of " + HOSTILE,
        "usage_summary": usage("mock-sub", 1, 120, 30, 0.0012),
        "execution_time": 0.25,
    }
    msg_prompt_call = {
        "root_model": "mock-sub",
        "prompt": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        "response": "hello",
        "usage_summary": usage("mock-sub", 1, 10, 2),
        "execution_time": 0.1,
    }
    child_it = iteration(
        1,
        [{"role": "system", "content": "child sys"}, {"role": "user", "content": "child task"}],
        '```repl\nanswer["content"] = "child says 7"\nanswer["ready"] = True\n```',
        [block('answer["content"] = "child says 7"\nanswer["ready"] = True', final="child says 7")],
        final="child says 7",
        t=0.5,
    )
    child_call = {
        "root_model": "mock-child",
        "prompt": "compute seven",
        "response": "child says 7",
        "usage_summary": usage("mock-child", 2, 300, 40, 0.003),
        "execution_time": 0.9,
        "metadata": {"run_metadata": {"root_model": "mock-child", "max_depth": 2}, "iterations": [child_it]},
    }
    resp1 = (
        "Let me look.\n```repl\nprint(context[:20])\nx = 1 / 0\n```\nand\n"
        "```repl\ns = llm_query('Summarise: ' + context)\nm = llm_query([{'role': 'system'}])\nprint(s)\n```"
    )
    p1 = [SYSTEM, USER0, {"role": "user", "content": "Turn 1/5: " + HOSTILE}]
    it1 = iteration(
        1,
        p1,
        resp1,
        [
            block(
                "print(context[:20])\nx = 1 / 0",
                stdout="the context string t\n",
                stderr="\nZeroDivisionError: division by zero",
                locs=dict(base_locals),
                t=0.002,
            ),
            block(
                "s = llm_query('Summarise: ' + context)\nm = llm_query([{'role': 'system'}])\nprint(s)",
                stdout="summary of " + HOSTILE + "\n",
                locs={**base_locals, "s": "summary of " + HOSTILE, "m": "hello"},
                calls=[leaf, msg_prompt_call],
                t=0.4,
            ),
        ],
        t=1.5,
        extra={"usage": usage("mock-root", 1, 1000, 200, 0.01)},
    )
    p2 = p1 + [
        {"role": "assistant", "content": resp1},
        {"role": "user", "content": "REPL output (block 1):\n..."},
        {"role": "user", "content": "Turn 2/5"},
    ]
    resp2 = "```repl\nv = rlm_query('compute seven')\nnested = {'a': [1, 2, {'b': None}], 'big': 10**30}\n```"
    it2 = iteration(
        2,
        p2,
        resp2,
        [
            block(
                "v = rlm_query('compute seven')\nnested = {'a': [1, 2, {'b': None}], 'big': 10**30}",
                locs={**base_locals, "v": "child says 7", "nested": {"a": [1, 2, {"b": None}], "big": 10**30}},
                calls=[child_call],
                t=1.1,
            )
        ],
        t=2.5,
        extra={
            "usage": usage("mock-root", 1, 1500, 150, 0.015),
            "edited": True,
            "original_response": "```repl\nv = 'unedited'\n```",
        },
    )
    p3 = p2 + [{"role": "assistant", "content": resp2}, {"role": "user", "content": "Turn 3/5"}]
    resp3 = '```repl\nanswer["content"] = f"{v}!"\nanswer["ready"] = True\n```'
    it3 = iteration(
        3,
        p3,
        resp3,
        [
            block(
                'answer["content"] = f"{v}!"\nanswer["ready"] = True',
                locs={**base_locals, "answer": {"content": "child says 7!", "ready": True}},
                final="child says 7!",
            )
        ],
        final="child says 7!",
        t=0.7,
        extra={"usage": usage("mock-root", 1, 2000, 100, 0.02)},
    )
    return [META, it1, it2, it3]


def to_jsonl(records: list[dict]) -> bytes:
    return ("\n".join(json.dumps(r) for r in records) + "\n").encode("ascii")


def sample_trajectory() -> Trajectory:
    return read_bytes(to_jsonl(sample_records()))


def test_sample_reads_cleanly():
    traj = sample_trajectory()
    assert not traj.bad_lines
    run = traj.runs[0]
    assert [it.number for it in run.iterations] == [1, 2, 3]
    assert run.final_answer == "child says 7!"
    assert run.iterations[1].edited
    assert run.iterations[1].code_blocks[0].sub_calls[0].child is not None
