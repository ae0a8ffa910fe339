"""Diff benchmark: comparing two 220-iteration logs of ~34 MB against reading them.

    .venv/bin/python bench/diff_speed.py [--iterations 220] [--repeat 3]

Makes log A (``bench.gen_logs``: upstream 0.1.2+ shape, one completion of exactly
``--iterations`` turns, every prompt repeating the whole history, so ~34 MB for 220 turns)
and log B, a copy of A whose turns from two thirds on have another response (so their
responses, prompts and all later histories differ). Then, in this process, best of
``--repeat``:

* baseline: reading both files into model objects (``trajectory.reader.read_file``, as the
  diff does);
* ours: ``rlm-desktop diff``'s work, ``trajectory.diff.diff_files`` (reads both, aligns,
  compares every node, makes the unified diffs) plus its JSON document.

Prints both and the ratio; the target is ratio <= 2. Last line ``BENCH_RESULT {json}``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.gen_logs import Gen  # noqa: E402
from rlm_desktop.diff_cli import diff_json  # noqa: E402
from rlm_desktop.trajectory.diff import diff_files  # noqa: E402
from rlm_desktop.trajectory.reader import read_file  # noqa: E402
from rlm_desktop.trajectory.writer import dumps_record  # noqa: E402


class SmallGen(Gen):
    """Texts a fifth of ``Gen``'s length: 220 turns give ~34 MB, like upstream's 220-turn log."""

    def text(self, n: int) -> str:
        return super().text(max(1, n // 5))


def make_logs(folder: Path, iterations: int) -> tuple[Path, Path]:
    g = SmallGen(seed=7, output_kb=1, context_kb=4)
    meta = {"type": "metadata", "timestamp": g.stamp(), "root_model": "gen-root", "max_depth": 3,
            "max_iterations": iterations, "backend": "openai", "backend_kwargs": {"model_name": "gen-root"},
            "environment_type": "local", "environment_kwargs": {}, "other_backends": None}
    lines = [dumps_record(meta)] + [dumps_record(r) for r in g.completion(iterations, turns=iterations)]
    a, b = folder / "a.jsonl", folder / "b.jsonl"
    a.write_text("\n".join(lines) + "\n", encoding="ascii")
    cut = 1 + (2 * iterations) // 3
    # B: from turn `cut` on the model says "Plan!" instead of "Plan:" (responses and histories differ)
    b.write_text("\n".join(lines[:cut] + [ln.replace('"Plan: ', '"Plan! ') for ln in lines[cut:]]) + "\n",
                 encoding="ascii")
    return a, b


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=220)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    random.seed(0)
    with tempfile.TemporaryDirectory(prefix="diff_bench_") as tmp:
        a, b = make_logs(Path(tmp), args.iterations)
        size_mb = (os.path.getsize(a) + os.path.getsize(b)) / 2 / (1 << 20)
        print(f"logs: {args.iterations} iterations, {size_mb:.1f} MB each")
        read_s = best(lambda: (read_file(str(a)), read_file(str(b))), args.repeat)
        holder = {}

        def ours() -> None:
            d = diff_files(str(a), str(b))
            holder["doc"] = diff_json(d)

        diff_s = best(ours, args.repeat)
        doc = holder["doc"]
    ratio = diff_s / read_s
    first = doc["first_divergence"]
    print(f"read both (baseline): {read_s:.3f} s")
    print(f"diff (read + align + compare + JSON): {diff_s:.3f} s  -> {ratio:.2f}x the read (target <= 2x)")
    print(f"first divergence {first['path']} ({first['what']}); nodes {len(doc['nodes'])}, "
          f"changed {doc['totals']['changed']}")
    result = {"iterations": args.iterations, "size_mb": size_mb, "read_s": read_s, "diff_s": diff_s,
              "ratio": ratio, "first_divergence": first["path"]}
    print("BENCH_RESULT " + json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
