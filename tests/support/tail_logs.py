"""Synthetic upstream-shaped logs and a controllable writer process (tail tests, bench).

Records have upstream's shape and framing (``json.dumps`` default separators,
one record per line, §1-§4 of TRAJECTORY_FORMAT.md) but made-up content, so
tests need no LM server.

Writer process (``python -m tests.support.tail_logs PATH SEED``) reads commands
from stdin and answers ``ok`` on stdout once the bytes are flushed:

* ``w N``      append the next N records, whole
* ``c K``      append the next record in K chunks, flushing (and sleeping 1 ms) between them
* ``h``        append the first half of the next record (no newline)
* ``r``        append the rest of a half-written record
* ``crash``    append half of the next record and exit at once (no newline)
* ``q``        exit
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from typing import Any


def usage(model: str, calls: int = 1, inp: int = 50, out: int = 10) -> dict[str, Any]:
    return {
        "model_usage_summaries": {
            model: {"total_calls": calls, "total_input_tokens": inp, "total_output_tokens": out}
        }
    }


def metadata(model: str = "mock-root", max_iterations: int = 30) -> dict[str, Any]:
    return {
        "type": "metadata",
        "timestamp": "2026-11-24T07:58:53.863098",
        "root_model": model,
        "max_depth": 2,
        "max_iterations": max_iterations,
        "backend": "openai",
        "backend_kwargs": {"model_name": model, "base_url": "http://127.0.0.1:9/v1"},
        "environment_type": "local",
        "environment_kwargs": {},
        "other_backends": None,
    }


def sub_call(i: int, child_iters: int = 0) -> dict[str, Any]:
    call: dict[str, Any] = {
        "root_model": "mock-sub",
        "prompt": f"sub prompt {i}",
        "response": f"sub answer {i}",
        "usage_summary": usage("mock-sub"),
        "execution_time": 0.01,
    }
    if child_iters:
        call["metadata"] = {
            "run_metadata": {
                k: v for k, v in metadata("mock-child").items() if k not in ("type", "timestamp")
            },
            "iterations": [
                iteration(n + 1, sub_calls=1, final="child done" if n + 1 == child_iters else None)
                for n in range(child_iters)
            ],
        }
    return call


def iteration(
    n: int,
    *,
    sub_calls: int = 0,
    child_iters: int = 0,
    final: str | None = None,
    pad: int = 0,
    extra: dict[str, Any] | None = None,
    default_answer: bool = False,
) -> dict[str, Any]:
    """An iteration record; ``pad`` adds that many bytes of stdout (long lines)."""
    calls = [sub_call(i, child_iters if i == 0 else 0) for i in range(sub_calls)]
    response = f"Turn {n}: let me look.\n```repl\nprint({n})\n```"
    blocks = [
        {
            "code": f"print({n})",
            "result": {
                "stdout": f"{n}\n" + "x" * pad,
                "stderr": "",
                "locals": {
                    "context": "the context",
                    "answer": {"content": final or "", "ready": final is not None},
                },
                "execution_time": 0.001,
                "rlm_calls": calls,
                "final_answer": final,
            },
        }
    ]
    rec: dict[str, Any] = {
        "type": "iteration",
        "iteration": n,
        "timestamp": "2026-11-24T07:58:54.000001",
        "prompt": [{"role": "system", "content": "sys"}, {"role": "user", "content": f"turn {n}"}],
        "response": response,
        "code_blocks": blocks,
        "final_answer": final,
        "iteration_time": 0.5,
    }
    if default_answer:
        rec.update(response=final or "", code_blocks=[], iteration_time=None)
    if extra:
        rec["rlm_desktop"] = extra
    return rec


def line(rec: dict[str, Any]) -> bytes:
    return (json.dumps(rec) + "\n").encode("ascii")


def script(seed: int = 0, n: int = 40) -> list[bytes]:
    """A deterministic run: metadata, n iterations (some long, some with sub-calls), an answer."""
    rnd = random.Random(seed)
    out = [line(metadata())]
    for i in range(1, n + 1):
        pad = rnd.choice([0, 0, 0, 20_000, 150_000])
        final = "the answer" if i == n else None
        out.append(
            line(
                iteration(
                    i, sub_calls=rnd.randint(0, 3), child_iters=rnd.choice([0, 2]), final=final, pad=pad
                )
            )
        )
    return out


def write_log(path: str | os.PathLike[str], lines: list[bytes]) -> None:
    with open(path, "wb") as fh:
        fh.writelines(lines)


def append(path: str | os.PathLike[str], lines: list[bytes]) -> None:
    """Append ``lines`` to the end of ``path``, flushing after each one, as a writer does."""
    with open(path, "ab") as fh:
        for ln in lines:
            fh.write(ln)
            fh.flush()


def _writer(path: str, seed: int) -> None:
    lines = script(seed)
    idx = 0
    half: bytes | None = None
    with open(path, "ab", buffering=0) as fh:
        for cmd in sys.stdin:
            parts = cmd.split()
            if not parts:
                continue
            op = parts[0]
            if op == "w":
                for _ in range(int(parts[1])):
                    fh.write(lines[idx])
                    idx += 1
            elif op == "c":
                data, k = lines[idx], int(parts[1])
                idx += 1
                step = max(1, len(data) // k)
                for j in range(0, len(data), step):
                    fh.write(data[j : j + step])
                    time.sleep(0.001)
            elif op in ("h", "crash"):
                data = lines[idx]
                idx += 1
                fh.write(data[: len(data) // 2])
                half = data[len(data) // 2 :]
                if op == "crash":
                    os._exit(3)
            elif op == "r" and half is not None:
                fh.write(half)
                half = None
            elif op == "q":
                break
            sys.stdout.write("ok\n")
            sys.stdout.flush()


if __name__ == "__main__":
    _writer(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0)
