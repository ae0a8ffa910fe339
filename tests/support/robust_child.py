"""A real engine run in a child process, for the robustness tests (kill -9, disk full).

    python tests/support/robust_child.py slow LOG_DIR
        A long run with a scripted model (a short pause per turn, ~100 KB of output
        per block, the REPL worker's pid printed by the first block). It runs until
        it is killed; "started" is printed once the engine runs.

    python tests/support/robust_child.py fsize LOG_DIR
        The log's file size is capped (RLIMIT_FSIZE; SIGXFSZ ignored, so a write past
        the cap fails with EFBIG as on a full disk) to what the metadata line and two
        iterations take plus 100 KB. Iteration 3 prints 400 KB (its line cannot be
        written), later ones are small (their lines would fit again). Prints the
        ``CompletionResult`` as JSON on the last line.

Uses the real subprocess REPL and the real JSONL log observer; only the model is scripted.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from rlm_desktop.engine.clients import ScriptedClient  # noqa: E402
from rlm_desktop.engine.config import BackendConfig, EngineConfig  # noqa: E402
from rlm_desktop.engine.rlm import RLMEngine  # noqa: E402


def fenced(code: str) -> str:
    return f"Working on it.\n\n```repl\n{code}\n```"


def turn_of(msgs: list[dict]) -> int:
    return sum(1 for m in msgs if m.get("role") == "assistant")


def slow(log_dir: str) -> int:
    def script(model, msgs, site):
        turn = turn_of(msgs)
        if turn == 0:
            return fenced("import os\nprint('worker pid', os.getpid())")
        return fenced(f"out = 'line {turn} ' * 12000\nprint(out)")

    config = EngineConfig(
        backend=BackendConfig(kind="scripted", model="robust-slow"),
        environment="subprocess",
        log_dir=log_dir,
        max_iterations=10_000,
    )
    eng = RLMEngine(config, client=ScriptedClient(script, model="robust-slow", delay=0.05))
    eng.add_observer(lambda e: print("started", flush=True) if e.kind == "RunStarted" else None)
    eng.completion("never finishes", "some context")
    return 0


def fsize(log_dir: str) -> int:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    def script(model, msgs, site):
        turn = turn_of(msgs)
        if turn == 2:
            return fenced("print('z' * 400_000)")
        if turn == 5:
            return fenced("answer['content'] = 'done despite the disk'\nanswer['ready'] = True")
        return fenced(f"print('turn {turn}')")

    config = EngineConfig(
        backend=BackendConfig(kind="scripted", model="robust-fsize"),
        environment="subprocess",
        log_dir=log_dir,
        max_iterations=10,
    )
    eng = RLMEngine(config, client=ScriptedClient(script, model="robust-fsize"))
    seen = {"iterations": 0}

    def cap_after_two(e) -> None:  # runs after the log observer wrote the line (it is first)
        if e.kind == "IterationFinished" and e.depth == 0:
            seen["iterations"] += 1
            if seen["iterations"] == 2:
                size = os.path.getsize(eng.log_path)
                resource.setrlimit(resource.RLIMIT_FSIZE, (size + 100_000, resource.RLIM_INFINITY))

    eng.add_observer(cap_after_two)
    result = eng.completion("q", "ctx")
    out = {
        "status": str(result.status),
        "response": result.response,
        "error": result.error,
        "log_error": result.log_error,
        "log_path": result.log_path,
        "iterations": result.iterations,
    }
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    mode, log_dir = sys.argv[1], sys.argv[2]
    raise SystemExit({"slow": slow, "fsize": fsize}[mode](log_dir))
