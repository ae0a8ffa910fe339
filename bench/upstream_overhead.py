"""Instrumentation overhead of ``rlm-desktop debug`` on a real upstream ``rlms`` program.

    .venv/bin/python bench/upstream_overhead.py [--iterations 30] [--calls 100] [--repeat 3]

The same program (real upstream rlms, local REPL, the zero-latency mock LM server of the
tests: the worst case, every millisecond we add shows) runs in three ways, alternating, in
this run: plain (no debugger: the baseline), under the debugger as the GUI runs it (the
bootstrap waits at every checkpoint for the app's ``DebugController``, with a breakpoint
that never matches, so every boundary is asked), and headless (``--no-gui --record``: the
program does not wait, every event is recorded). The program measures itself: time per
iteration (a completion of N iterations with one small code block each, wall / N) and time
per ``llm_query`` (one block making M calls). Medians of ``--repeat`` runs; ratios against
the plain run. Target (issue 11): at most 1.1x.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROGRAM = r'''
import json, sys, time
from rlm import RLM

base, n_iter, n_calls = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
marks = []

def make(model, **kw):
    return RLM(backend="openai", backend_kwargs={"model_name": model, "base_url": base, "api_key": "sk-mock"},
               environment="local", custom_tools={"clock": time.perf_counter, "mark": marks.append}, **kw)

it = make("bench-iter", max_iterations=n_iter + 1)
t0 = time.perf_counter()
it.completion("iteration bench")
per_iteration = (time.perf_counter() - t0) / (n_iter + 1)
calls = make("bench-calls")
calls.completion("llm_query bench")
print(json.dumps({"iteration": per_iteration, "llm_query": marks[-1] / n_calls}))
'''


def brain(n_iter: int, n_calls: int):
    from tests.support.rlms_scenarios import finish, repl

    def script(model: str, messages: list[dict[str, Any]]) -> str:
        if not (messages and messages[0].get("role") == "system"):
            return "ok"
        turn = sum(1 for m in messages if m.get("role") == "assistant")
        if model == "bench-iter":
            return repl(finish('"done"')) if turn >= n_iter else repl(f"x = {turn}")
        if turn == 0:
            return repl(f't0 = clock()\nfor i in range({n_calls}):\n    llm_query("q")\nmark(clock() - t0)')
        return repl(finish('"done"'))

    return script


def run_plain(cmd: list[str]) -> dict[str, float]:
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_debugger(cmd: list[str]) -> dict[str, float]:
    from rlm_desktop.debugger import BreakpointManager, DebugController
    from rlm_desktop.engine.recorder import LiveRecorder
    from rlm_desktop.engine.upstream_host import UpstreamProgram

    bps = BreakpointManager()
    bps.add(kind="depth", depth=99)  # asked at every boundary, never stops
    ctl = DebugController(bps)
    ui_side = LiveRecorder()  # what the GUI's session does with every event
    with tempfile.TemporaryFile() as out:
        prog = UpstreamProgram(cmd, cwd=ROOT, stdout=out, wait=True)
        ctl.attach(prog)
        prog.add_observer(ui_side.apply)
        result = prog.run()
        assert result.exit_code == 0, result
        out.seek(0)
        return json.loads(out.read().decode().strip().splitlines()[-1])


def run_headless(cmd: list[str], record: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-m", "rlm_desktop", "debug", "--no-gui", "--record", record, "--", *cmd],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=600, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--calls", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    from tests.support.mock_openai import MockLMServer

    samples: dict[str, dict[str, list[float]]] = {m: {"iteration": [], "llm_query": []}
                                                  for m in ("plain", "debugger", "headless")}
    with tempfile.TemporaryDirectory() as tmp, MockLMServer(brain(args.iterations, args.calls)) as server:
        prog = Path(tmp) / "bench_program.py"
        prog.write_text(PROGRAM)
        cmd = [sys.executable, str(prog), server.base_url, str(args.iterations), str(args.calls)]
        modes = ["plain", "debugger", "headless"]
        for r in range(args.repeat):
            for mode in modes[r % 3:] + modes[: r % 3]:  # the order turns: no mode always goes first
                t0 = time.perf_counter()
                if mode == "plain":
                    got = run_plain(cmd)
                elif mode == "debugger":
                    got = run_debugger(cmd)
                else:
                    got = run_headless(cmd, str(Path(tmp) / f"rec{r}.jsonl"))
                for k in got:
                    samples[mode][k].append(got[k])
                print(f"  run {r + 1} {mode:<9} iteration {got['iteration'] * 1000:7.2f} ms  "
                      f"llm_query {got['llm_query'] * 1000:6.2f} ms  ({time.perf_counter() - t0:.1f} s)", flush=True)
    med = {m: {k: statistics.median(v) for k, v in d.items()} for m, d in samples.items()}
    print(f"\nupstream rlms under rlm-desktop debug, zero-latency mock LM; medians of {args.repeat}")
    print(f"{'metric':<22}{'plain':>12}{'debugger':>12}{'ratio':>8}{'headless':>12}{'ratio':>8}   target")
    summary: dict[str, Any] = {"iterations": args.iterations, "calls": args.calls, "repeat": args.repeat}
    for key in ("iteration", "llm_query"):
        p, d, h = med["plain"][key], med["debugger"][key], med["headless"][key]
        print(f"{'per ' + key:<22}{p * 1000:>9.2f} ms{d * 1000:>9.2f} ms{d / p:>7.2f}x{h * 1000:>9.2f} ms"
              f"{h / p:>7.2f}x   <= 1.1x {'PASS' if d / p <= 1.1 else 'FAIL'}")
        summary[key] = {"plain_ms": p * 1000, "debugger_ms": d * 1000, "headless_ms": h * 1000,
                        "ratio": d / p, "headless_ratio": h / p}
    print("BENCH_RESULT " + json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
