"""Generate large, realistic RLM trajectory logs (upstream 0.1.2+ format) for benchmarks.

    python -m bench.gen_logs OUT.jsonl [--size-mb 200] [--seed 0] [--output-kb 64]

Shape, as upstream writes it (see ../shared/spec/TRAJECTORY_FORMAT.md):

* every iteration's ``prompt`` repeats the whole message history (system
  message, context metadata, every earlier response and REPL output cut to
  20,000 chars), so line sizes grow with the iteration number;
* every block's ``locals`` holds ``context`` and ``context_0`` (two copies of
  the context) plus the REPL's own variables (a few NaN/Infinity floats);
* stdout of ``--output-kb`` per block, with an occasional MB-sized dump;
* sub-calls: plain ``llm_query`` entries, batches, and ``rlm_query`` children
  with nested trajectories two levels deep (a deep and wide tree);
* completions end with a final answer (or a default-answer record), and a new
  completion starts when the file is still below the target size.

Text is generated (words from a small vocabulary), never copied from upstream.
Generation is deterministic for a seed. Files are written with our writer's
``dumps_record`` (byte-compatible with upstream's ``json.dumps``).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path
from typing import Any

from rlm_desktop.trajectory.writer import dumps_record

WORDS = (
    "alpha beta gamma delta epsilon zeta theta kappa lambda sigma omega river stone cloud "
    "market ledger invoice account region quarter revenue growth signal vector matrix token "
    "chunk window summary answer context query result value error retry batch index"
).split()
REPL_OUTPUT_CAP = 20_000


class Gen:
    def __init__(self, seed: int, output_kb: int, context_kb: int) -> None:
        self.rng = random.Random(seed)
        self.output_kb = output_kb
        self.context = self.text(context_kb * 1024)
        self.clock = 1_767_225_600.0  # 2026-01-01

    def text(self, n: int) -> str:
        words = self.rng.choices(WORDS, k=n // 6 + 1)
        return " ".join(words)[:n]

    def stamp(self) -> str:
        self.clock += self.rng.uniform(0.5, 20)
        return (
            time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.clock))
            + f".{self.rng.randrange(10**6):06d}"
        )

    def usage(self, model: str, calls: int = 1) -> dict[str, Any]:
        return {
            "model_usage_summaries": {
                model: {
                    "total_calls": calls,
                    "total_input_tokens": self.rng.randrange(200, 90_000),
                    "total_output_tokens": self.rng.randrange(10, 2_000),
                }
            }
        }

    def leaf(self, model: str) -> dict[str, Any]:
        return {
            "root_model": model,
            "prompt": "Summarise this chunk: " + self.text(self.rng.randrange(200, 4000)),
            "response": self.text(self.rng.randrange(50, 600)),
            "usage_summary": self.usage(model),
            "execution_time": self.rng.uniform(0.2, 4.0),
        }

    def locals_(self, extra: dict[str, Any], context: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "answer": {"content": "", "ready": False},
            "f": "<_io.TextIOWrapper name='/tmp/repl_env_x/context_0.txt' mode='r' encoding='UTF-8'>",
            "context_0": context,
            "context": context,
        }
        out.update(extra)
        return out

    def block(self, depth: int, context: str, final: str | None, child_budget: int) -> dict[str, Any]:
        calls: list[dict[str, Any]] = []
        kind = self.rng.random()
        if kind < 0.35:
            calls.append(self.leaf("gen-sub"))
        elif kind < 0.55:
            calls.extend(self.leaf("gen-sub") for _ in range(self.rng.randrange(2, 8)))
        elif kind < 0.75 and depth < 2 and child_budget > 0:
            for _ in range(self.rng.randrange(1, 4)):
                calls.append(self.child(depth + 1))
        size = self.output_kb * 1024
        if self.rng.random() < 0.03:
            size = self.rng.randrange(1, 3) << 20  # an occasional MB-sized dump
        stdout = self.text(size)
        stderr = "" if self.rng.random() > 0.1 else "\nKeyError: 'missing'"
        extra = {
            "chunks": [self.text(80) for _ in range(5)],
            # NaN/Infinity locals are rare in real runs (and make strict parsers fail)
            "score": self.rng.choice([float("nan"), float("inf")]) if self.rng.random() < 0.02 else 0.5,
            "n": self.rng.randrange(10**6),
        }
        code = "chunks = context.split('.')\nfor c in chunks[:5]:\n    print(c)\nres = llm_query(chunks[0])"
        if final is not None:
            code += '\nanswer["content"] = res\nanswer["ready"] = True'
        return {
            "code": code,
            "result": {
                "stdout": stdout,
                "stderr": stderr,
                "locals": self.locals_(extra, context),
                "execution_time": self.rng.uniform(0.01, 5.0),
                "rlm_calls": calls,
                "final_answer": final,
            },
        }

    def child(self, depth: int) -> dict[str, Any]:
        model = f"gen-d{depth}"
        context = self.text(self.rng.randrange(500, 5000))
        n = self.rng.randrange(1, 4)
        history = [{"role": "system", "content": self.system}, {"role": "user", "content": "sub task"}]
        iterations = []
        answer = self.text(120)
        for i in range(1, n + 1):
            final = answer if i == n else None
            response = "Working.\n\n```repl\nprint(context[:100])\n```"
            history = history + [{"role": "assistant", "content": response}]
            iterations.append(
                {
                    "type": "iteration",
                    "iteration": i,
                    "timestamp": self.stamp(),
                    "prompt": history,
                    "response": response,
                    "code_blocks": [self.block(depth, context, final, child_budget=1)],
                    "final_answer": final,
                    "iteration_time": self.rng.uniform(0.5, 10.0),
                }
            )
        return {
            "root_model": model,
            "prompt": "sub task: " + self.text(200),
            "response": answer,
            "usage_summary": self.usage(model, n + 1),
            "execution_time": self.rng.uniform(1.0, 30.0),
            "metadata": {
                "run_metadata": {
                    "root_model": model,
                    "max_depth": 3,
                    "max_iterations": 30,
                    "backend": "openai",
                    "backend_kwargs": {"model_name": model},
                    "environment_type": "local",
                    "environment_kwargs": {},
                    "other_backends": None,
                },
                "iterations": iterations,
            },
        }

    system = (
        "You are a helpful research assistant working in a Python REPL with a variable named context. " * 40
    )

    def completion(self, max_iterations: int, turns: int | None = None) -> Any:
        """Yield iteration records for one completion (of ``turns`` turns, or a random number)."""
        history: list[dict[str, str]] = [
            {"role": "system", "content": self.system},
            {"role": "user", "content": f"Your context is a str of {len(self.context)} total characters."},
        ]
        forced = turns is not None  # a given number of turns ends with a final answer
        if turns is None:
            turns = self.rng.randrange(max_iterations // 2, max_iterations + 1)
        for i in range(1, turns + 1):
            history.append({"role": "user", "content": f"Turn {i}/{max_iterations}:"})
            final = self.text(300) if i == turns and (self.rng.random() < 0.9 or forced) else None
            blocks = [
                self.block(0, self.context, final if b == 0 else None, 2)
                for b in range(self.rng.randrange(1, 3))
            ]
            response = "Plan: " + self.text(400) + "".join(f"\n\n```repl\n{b['code']}\n```" for b in blocks)
            yield {
                "type": "iteration",
                "iteration": i,
                "timestamp": self.stamp(),
                "prompt": list(history),
                "response": response,
                "code_blocks": blocks,
                "final_answer": final,
                "iteration_time": self.rng.uniform(1.0, 60.0),
            }
            if final is not None:
                return
            history.append({"role": "assistant", "content": response})
            out = blocks[0]["result"]["stdout"]
            if len(out) > REPL_OUTPUT_CAP:
                out = out[:REPL_OUTPUT_CAP] + f"... + [{len(out) - REPL_OUTPUT_CAP} chars...]"
            history.append({"role": "user", "content": "REPL output:\n" + out})
        yield {
            "type": "iteration",
            "iteration": turns + 1,
            "timestamp": self.stamp(),
            "prompt": history + [{"role": "assistant", "content": "Please answer now."}],
            "response": "Best effort: " + self.text(200),
            "code_blocks": [],
            "final_answer": None,
            "iteration_time": None,
        }


def generate(
    path: str | Path,
    size_mb: float = 200,
    *,
    seed: int = 0,
    output_kb: int = 64,
    context_kb: int = 64,
    max_iterations: int = 60,
) -> dict[str, int]:
    """Write a log of at least ``size_mb`` MB. Returns counts (bytes, lines, completions)."""
    target = int(size_mb * (1 << 20))
    g = Gen(seed, output_kb, context_kb)
    written = lines = completions = 0
    with open(path, "w", encoding="ascii") as fh:
        meta = {
            "type": "metadata",
            "timestamp": g.stamp(),
            "root_model": "gen-root",
            "max_depth": 3,
            "max_iterations": max_iterations,
            "backend": "openai",
            "backend_kwargs": {"model_name": "gen-root"},
            "environment_type": "local",
            "environment_kwargs": {},
            "other_backends": None,
        }
        for rec in [meta]:
            s = dumps_record(rec) + "\n"
            fh.write(s)
            written += len(s)
            lines += 1
        while written < target:
            completions += 1
            for rec in g.completion(max_iterations):
                if rec["iteration_time"] is None:  # the default-answer record
                    rec["final_answer"] = rec["response"]
                s = dumps_record(rec) + "\n"
                fh.write(s)
                written += len(s)
                lines += 1
                if written >= target and rec["final_answer"] is not None:
                    break
    return {"bytes": written, "lines": lines, "completions": completions}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out")
    ap.add_argument("--size-mb", type=float, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--output-kb", type=int, default=64)
    ap.add_argument("--context-kb", type=int, default=64)
    ap.add_argument("--max-iterations", type=int, default=60)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    info = generate(
        args.out,
        args.size_mb,
        seed=args.seed,
        output_kb=args.output_kb,
        context_kb=args.context_kb,
        max_iterations=args.max_iterations,
    )
    info_s = ", ".join(f"{k} {v:,}" for k, v in info.items())
    print(f"{args.out}: {info_s} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
