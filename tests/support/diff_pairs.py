"""Pairs of real upstream logs that differ in known places, for the diff tests.

    python -m tests.support.diff_pairs OUTDIR

Runs the upstream engine (``rlms``) against ``MockLMServer`` with two scripts per pair
(``PAIRS``: name -> (script A, script B, expected first divergence)) and writes
``<pair>_a_*.jsonl`` / ``<pair>_b_*.jsonl`` plus ``pairs.json`` ({pair: {"a", "b", "expect"}}).
Like ``rlms_scenarios``, generation runs in a subprocess from the tests (``generate_pairs``).
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from .mock_openai import MockLMServer
from .rlms_scenarios import BASIC, DEPTH3, Brain, _rlm, finish, repl


def _changed(brain: Brain, model: str, turn: int, text: str) -> Brain:
    turns = {k: list(v) for k, v in brain.turns.items()}
    turns[model][turn] = text
    return Brain(turns)


def _inserted(brain: Brain, model: str, turn: int, text: str) -> Brain:
    turns = {k: list(v) for k, v in brain.turns.items()}
    turns[model].insert(turn, text)
    return Brain(turns)


# (brain A, brain B, run kwargs, prompt, expected first divergence {path, path_b, what-contains})
PAIRS: dict[str, tuple[Brain, Brain, dict[str, Any], str, dict[str, Any]]] = {
    # the grandchild (depth 2) words its leaf question differently
    "deep": (
        DEPTH3,
        _changed(DEPTH3, "mock-d2", 0, repl(
            'leaf = rlm_query("deepest question, reworded", model="mock-leaf")\nprint(leaf)\n'
            + finish('"d2 says " + leaf'))),
        {"max_depth": 3},
        "Top-level context for the depth test.",
        {"path": "r0/i0/b0/c0/r/i1/b0/c0/r/i0", "what": "response"},
    ),
    # B takes one more look after the first turn: 4 vs 5 iterations
    "extra_turn": (
        BASIC,
        _inserted(BASIC, "mock-root", 1, repl('print("one more look")\nlooked = True')),
        {},
        "The quick brown fox jumps over the lazy dog. " * 3,
        {"path": "r0/i1", "path_b": "r0/i1", "what": "iteration added", "status": "added"},
    ),
    # the same script twice: no difference (memory addresses, temp dirs and times differ).
    # (Not DEPTH3: upstream's stdout capture races with rlm_query_batched's threads, so its
    # batch block's stdout really differs from run to run.)
    "same": (BASIC, BASIC, {}, "The quick brown fox jumps over the lazy dog. " * 3, {}),
}


def _run(server: MockLMServer, brain: Brain, outdir: Path, name: str, kw: dict[str, Any], prompt: str) -> Path:
    from rlm.logger import RLMLogger

    server.set_script(brain)
    server.clear()
    logger = RLMLogger(log_dir=str(outdir), file_name=name)
    rlm = _rlm(server, logger, **kw)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            rlm.completion(prompt)
    finally:
        rlm.close()
    if server.errors:
        raise RuntimeError(f"pair {name}: script error {server.errors[-1]!r}")
    return Path(logger.log_file_path)


def generate(outdir: str | Path) -> dict[str, Any]:
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    index: dict[str, Any] = {}
    with MockLMServer() as server:
        for name, (ba, bb, kw, prompt, expect) in PAIRS.items():
            pa = _run(server, ba, out, f"{name}_a", kw, prompt)
            pb = _run(server, bb, out, f"{name}_b", kw, prompt)
            index[name] = {"a": pa.name, "b": pb.name, "expect": expect}
    (out / "pairs.json").write_text(json.dumps(index, indent=2))
    return index


def generate_pairs(outdir: str | Path, timeout: float = 240) -> dict[str, dict[str, Any]]:
    """``generate`` in a fresh interpreter (see ``rlms_scenarios.generate_in_subprocess``);
    returns {pair: {"a": Path, "b": Path, "expect": {...}}}."""
    import os

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run([sys.executable, "-m", "tests.support.diff_pairs", str(outdir)], cwd=root, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"diff pair generation failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    index = json.loads((Path(outdir) / "pairs.json").read_text())
    return {k: {"a": Path(outdir) / v["a"], "b": Path(outdir) / v["b"], "expect": v["expect"]}
            for k, v in index.items()}


if __name__ == "__main__":
    generate(sys.argv[1])
