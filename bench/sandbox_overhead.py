"""Sandbox overhead: the bubblewrap REPL (default) vs the unsandboxed subprocess REPL.

    .venv/bin/python bench/sandbox_overhead.py [--starts 10] [--blocks 200] [--calls 200]
                                               [--iterations 20] [--repeat 3]

Both REPLs run in the same process, one after the other, on the same machine state:

* start per run: ``start()`` + ``close()`` of one REPL (sandbox: probe cached, cgroup made,
  bwrap, the worker, the context loaded), median of ``--starts``;
* per block: ``execute("x = k")``, mean over ``--blocks``;
* per ``llm_query``: one block that calls ``llm_query`` ``--calls`` times (the handler
  answers at once): the block's time / calls;
* per iteration: a whole engine completion of ``--iterations`` turns against the
  zero-latency mock LM server (``bench/engine_overhead.py``'s set-up), wall / turns
  (start-up included) and the logged ``iteration_time``.

After one warm-up run of each, the two alternate (order swapped every repeat). Ratios are
sandbox / subprocess; the target is at most 1.2x per iteration.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from engine_overhead import iteration_brain, run_ours  # noqa: E402

from rlm_desktop.engine.repl.bwrap import probe  # noqa: E402
from rlm_desktop.engine.repl.sandbox_env import SandboxReplEnvironment  # noqa: E402
from rlm_desktop.engine.repl.subprocess_env import SubprocessReplEnvironment  # noqa: E402
from tests.support.mock_openai import MockLMServer  # noqa: E402

KINDS = {"subprocess": SubprocessReplEnvironment, "sandbox": SandboxReplEnvironment}
TARGET = 1.2


def answer(req: Any) -> list[str]:
    return ["ok"] * len(req.prompts)


def repl_numbers(cls: type, args: argparse.Namespace) -> dict[str, float]:
    starts = []
    for _ in range(args.starts):
        t0 = time.perf_counter()
        env = cls("bench context", answer)
        env.start()
        env.close()
        starts.append(time.perf_counter() - t0)
    env = cls("bench context", answer)
    env.start()
    try:
        env.execute("x = 0")
        t0 = time.perf_counter()
        for k in range(args.blocks):
            env.execute(f"x = {k}")
        block = (time.perf_counter() - t0) / args.blocks
        t0 = time.perf_counter()
        r = env.execute(f"for i in range({args.calls}):\n    llm_query('q')")
        assert r.failure is None, r.stderr
        call = (time.perf_counter() - t0) / args.calls
    finally:
        env.close()
    return {"start per run": statistics.median(starts), "per block": block, "per llm_query": call}


def iteration_numbers(kind: str, args: argparse.Namespace, server: MockLMServer, tmp: str, rep: int) -> dict[str, float]:
    server.set_script(iteration_brain(args.iterations))
    wall, recs = run_ours(server, args.iterations + 1, f"{tmp}/{kind}{rep}", kind)
    its = [r["iteration_time"] for r in recs if r.get("iteration_time") is not None]
    return {"iteration (wall / N)": wall / len(recs), "iteration (logged)": statistics.mean(its)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--starts", type=int, default=10)
    ap.add_argument("--blocks", type=int, default=200)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    status = probe()
    if not status.available:
        print(f"the sandbox cannot run here: {status.message}")
        print("BENCH_RESULT " + json.dumps({"error": status.message}))
        return 1
    runs: dict[str, dict[str, list[float]]] = {k: {} for k in KINDS}
    with MockLMServer() as server, tempfile.TemporaryDirectory() as tmp:
        for kind in KINDS:  # warm-up (imports, the SDK client, the first sandbox's probe): not counted
            iteration_numbers(kind, args, server, tmp, -1)
        for rep in range(args.repeat):
            # interleaved, the order swapped every repeat: both see the same machine load
            order = list(KINDS.items()) if rep % 2 == 0 else list(KINDS.items())[::-1]
            for kind, cls in order:
                nums = {**repl_numbers(cls, args), **iteration_numbers(kind, args, server, tmp, rep)}
                for key, v in nums.items():
                    runs[kind].setdefault(key, []).append(v)
    res = {k: {m: statistics.median(v) for m, v in d.items()} for k, d in runs.items()}
    print(f"sandbox overhead; medians of {args.repeat}; ratio = sandbox / subprocess (target <= {TARGET}x per iteration)")
    print(f"{'metric':<24}{'subprocess':>14}{'sandbox':>14}{'ratio':>10}")
    summary: dict[str, Any] = {"target": TARGET}
    for key in res["subprocess"]:
        base, ours = res["subprocess"][key], res["sandbox"][key]
        print(f"{key:<24}{base * 1000:>11.3f} ms{ours * 1000:>11.3f} ms{ours / base:>9.2f}x")
        summary[key] = {"subprocess_ms": base * 1000, "sandbox_ms": ours * 1000, "ratio": ours / base}
    print("BENCH_RESULT " + json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
