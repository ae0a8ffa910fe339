"""Engine overhead: our engine vs upstream ``rlms`` against a zero-latency mock LM.

    .venv/bin/python bench/engine_overhead.py [--iterations 20] [--calls 50] [--repeat 3]
                                              [--environment subprocess]

Both engines talk to the same ``MockLMServer`` (127.0.0.1, answers at once) over
HTTP with the OpenAI SDK, in the same process, one after the other:

* per iteration: a run of N turns that each run one tiny block (``x = k``); the
  time per iteration is the mean ``iteration_time`` of the logged turns (LM call +
  block + bookkeeping), and the completion's wall time / N (start-up included);
* per ``llm_query`` round trip: one block that calls ``llm_query`` M times in a
  loop; the block's logged ``execution_time`` / M.

Medians over ``--repeat`` runs; the last column is ours / upstream (< 1 = faster).
Our engine runs the model's code in a separate process (``subprocess`` REPL) by
default; upstream runs it in-process.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rlm_desktop.engine.config import BackendConfig, EngineConfig  # noqa: E402
from rlm_desktop.engine.rlm import RLMEngine  # noqa: E402
from tests.support import mock_openai  # noqa: E402
from tests.support.mock_openai import MockLMServer  # noqa: E402

# Zero latency means no Nagle/delayed-ACK stall (~40 ms) between the mock's header and body writes.
mock_openai._Handler.disable_nagle_algorithm = True

KEY = "sk-bench-not-a-key"


def fenced(code: str) -> str:
    return f"Working.\n\n```repl\n{code}\n```"


def finish() -> str:
    return fenced('answer["content"] = "done"\nanswer["ready"] = True')


def iteration_brain(n: int):
    def script(model: str, messages: list[dict[str, Any]]) -> str:
        if messages and messages[0].get("role") == "system":
            turn = sum(1 for m in messages if m.get("role") == "assistant")
            return fenced(f"x = {turn}") if turn < n - 1 else finish()
        return "ok"

    return script


def calls_brain(m: int):
    def script(model: str, messages: list[dict[str, Any]]) -> str:
        if messages and messages[0].get("role") == "system":
            turn = sum(1 for msg in messages if msg.get("role") == "assistant")
            if turn == 0:
                return fenced(f"for i in range({m}):\n    r = llm_query('question %d' % i)")
            return finish()
        return "answer"

    return script


def records(path: str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in Path(path).read_text().splitlines() if '"iteration"' in x[:40]]


def run_upstream(
    server: MockLMServer, max_iterations: int, logdir: str
) -> tuple[float, list[dict[str, Any]]]:
    from rlm import RLM
    from rlm.logger import RLMLogger

    logger = RLMLogger(log_dir=logdir, file_name="upstream")
    rlm = RLM(
        backend="openai",
        backend_kwargs={"model_name": "bench", "base_url": server.base_url, "api_key": KEY},
        environment="local",
        max_iterations=max_iterations,
        logger=logger,
    )
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        rlm.completion("bench context")
    wall = time.perf_counter() - t0
    rlm.close()
    return wall, records(logger.log_file_path)


def run_ours(server: MockLMServer, max_iterations: int, logdir: str, environment: Any) -> tuple[float, list]:
    config = EngineConfig(
        backend=BackendConfig(kind="openai", model="bench", base_url=server.base_url, api_key=KEY),
        environment=environment,
        max_iterations=max_iterations,
        log_dir=logdir,
    )
    t0 = time.perf_counter()
    result = RLMEngine(config).completion("bench context")
    wall = time.perf_counter() - t0
    if not result.ok:
        raise SystemExit(f"our engine failed: {result.error}")
    return wall, records(result.log_path)


def measure(args: argparse.Namespace, environment: Any) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, list[float]]] = {"upstream": {}, "ours": {}}
    with MockLMServer() as server, tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeat):
            for name in ("upstream", "ours"):
                runner = (
                    run_upstream if name == "upstream" else (lambda s, mi, d: run_ours(s, mi, d, environment))
                )
                server.set_script(iteration_brain(args.iterations))
                wall, recs = runner(server, args.iterations + 1, f"{tmp}/{name}{rep}a")
                its = [r["iteration_time"] for r in recs if r.get("iteration_time") is not None]
                d = out[name]
                d.setdefault("iteration (logged)", []).append(statistics.mean(its))
                d.setdefault("iteration (wall / N)", []).append(wall / len(recs))
                d.setdefault("completion wall", []).append(wall)
                server.set_script(calls_brain(args.calls))
                wall, recs = runner(server, 3, f"{tmp}/{name}{rep}b")
                block = recs[0]["code_blocks"][0]["result"]
                assert len(block["rlm_calls"]) == args.calls, (name, len(block["rlm_calls"]))
                d.setdefault("llm_query round trip", []).append(block["execution_time"] / args.calls)
    return {name: {k: statistics.median(v) for k, v in d.items()} for name, d in out.items()}


def resolve_environment(name: str) -> Any:
    if name != "fake":
        from rlm_desktop.engine.environments import EnvironmentUnavailable, environment_class

        try:
            environment_class(name)
            return name
        except EnvironmentUnavailable as exc:
            print(f"note: {exc}; using the in-test fake REPL instead", file=sys.stderr)
    from tests.test_engine_fakes import fake_factory

    return fake_factory()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--environment", default="subprocess", help="subprocess (default), inprocess, fake")
    args = ap.parse_args(argv)
    env = resolve_environment(args.environment)
    env_name = env if isinstance(env, str) else "fake (in-process test REPL)"
    res = measure(args, env)
    print(f"engine overhead, zero-latency mock LM; ours: {env_name} REPL; medians of {args.repeat}")
    print(f"{'metric':<26}{'upstream':>14}{'ours':>14}{'ours/upstream':>16}")
    summary: dict[str, Any] = {"environment": env_name}
    for key in res["upstream"]:
        up, us = res["upstream"][key], res["ours"][key]
        print(f"{key:<26}{up * 1000:>11.3f} ms{us * 1000:>11.3f} ms{us / up:>15.2f}x")
        summary[key] = {"upstream_ms": up * 1000, "ours_ms": us * 1000, "ratio": us / up}
    print("BENCH_RESULT " + json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
