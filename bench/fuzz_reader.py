"""Fuzz the trajectory reader (and the lazy index) for a fixed time budget.

    python -m bench.fuzz_reader [--seconds 30 | --inputs N] [--seed 1] [--lazy-every 20]

Starts from realistic upstream-format lines (``bench/gen_logs.py``, small) and
mutates them: byte flips, inserted/deleted/duplicated ranges, truncation,
spliced lines, stray newlines and carriage returns, NaN/Infinity for numbers,
lone surrogate escapes, deep nesting. Every input goes through
``read_bytes`` (finished and still-running) and a walk over the whole model
(paths, usage roll-ups, writer records); every ``--lazy-every``-th input also
through ``LazyTrajectory`` on a temporary file, checked against the reader.
Any exception is a crash: the input is saved next to the report and the exit
status is 1. Prints executions per second and the number of bad lines seen.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from rlm_desktop.trajectory.lazy import LazyTrajectory
from rlm_desktop.trajectory.model import Iteration
from rlm_desktop.trajectory.reader import read_bytes, read_file
from rlm_desktop.trajectory.writer import dumps_record, record_from_iteration

TOKENS = [
    b"NaN",
    b"-Infinity",
    b"\\ud800",
    b"\\udfff",
    b"null",
    b"[]",
    b"{}",
    b'"',
    b"\\",
    b"\n",
    b"\r\n",
    b'{"type": "iteration", "iteration": 1, ',
    b'"final_answer": null, "iteration_time": ',
    b"\xff\xfe",
    b"\x00",
]


def seed_corpus(rng: random.Random) -> list[bytes]:
    from bench.gen_logs import generate

    fd, path = tempfile.mkstemp(suffix=".jsonl")
    os.close(fd)
    try:
        generate(path, 1.0, seed=rng.randrange(1000), output_kb=1, context_kb=1, max_iterations=6)
        with open(path, "rb") as fh:
            lines = fh.read().splitlines()
        # the generator's occasional MB-sized outputs would make most inputs huge and slow
        # (huge lines have their own tests); keep the fuzz on many small, varied lines
        return [ln for ln in lines if len(ln) < 100_000] or lines
    finally:
        os.unlink(path)


def mutate(rng: random.Random, lines: list[bytes]) -> bytes:
    picked = [bytearray(rng.choice(lines)) for _ in range(rng.randrange(1, 5))]
    for line in picked:
        for _ in range(rng.randrange(0, 6)):
            op = rng.randrange(9)
            n = len(line)
            i = rng.randrange(n + 1)
            if op == 0 and n:
                line[rng.randrange(n)] ^= 1 << rng.randrange(8)
            elif op == 1:
                line[i:i] = rng.choice(TOKENS)
            elif op == 2 and n:
                del line[i : i + rng.randrange(1, 64)]
            elif op == 3 and n:
                j = rng.randrange(n)
                line[i:i] = line[j : j + rng.randrange(1, 256)]
            elif op == 4:
                del line[i:]
            elif op == 5:
                line[i:i] = b"[" * rng.randrange(100, 3000)
            elif op == 6:
                line[i:i] = str(rng.choice([10**40, -0.0, 5e-324, 1e308])).encode()
            elif op == 7:
                line[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 16)))
            # op 8: leave as is
    sep = rng.choice([b"\n", b"\r\n"])
    blob = sep.join(bytes(p) for p in picked)
    return blob + (sep if rng.random() < 0.8 else b"")


def exercise(blob: bytes) -> int:
    traj = read_bytes(blob)
    read_bytes(blob, still_running=True)
    for node in traj.walk():
        assert traj.find(node.path) is node
        if isinstance(node, Iteration):
            node.total_usage()
            dumps_record(record_from_iteration(node))
    for run in traj.runs:
        run.total_usage(), run.sub_calls_by_depth(), run.total_time()
    return len(traj.bad_lines)


def exercise_lazy(blob: bytes) -> None:
    fd, name = tempfile.mkstemp(suffix=".jsonl")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
        with LazyTrajectory(name, chunk_size=1024) as lt:
            snap = lt.index_all(validate=True)
            traj = read_file(name)
            got = [[s.line_no for s in r.iterations] for r in snap.runs]
            want = [[it.line_no for it in r.iterations] for r in traj.runs]
            assert got == want, f"lazy split {got} != reader split {want}"
            assert [b.line_no for b in snap.bad_lines] == [b.line_no for b in traj.bad_lines]
            for r in snap.runs:
                for s in r.iterations:
                    lt.load_iteration(r.index, s.position)
    finally:
        os.unlink(name)


def fuzz(
    seed: int = 1,
    *,
    seconds: float | None = None,
    inputs: int | None = None,
    lazy_every: int = 20,
    crash_dir: str | None = ".",
) -> dict[str, float]:
    """Run until ``seconds`` pass or ``inputs`` were tried (whichever is given; both: first).
    Returns counts; crashing inputs are saved in ``crash_dir`` (None: not saved)."""
    if seconds is None and inputs is None:
        raise ValueError("give a time budget or a number of inputs")
    rng = random.Random(seed)
    lines = seed_corpus(rng)
    execs = crashes = bad = 0
    t0 = time.perf_counter()
    t_end = t0 + seconds if seconds is not None else float("inf")
    first_crash = ""
    while time.perf_counter() < t_end and (inputs is None or execs < inputs):
        blob = mutate(rng, lines)
        try:
            bad += exercise(blob)
            if lazy_every and execs % lazy_every == 0:
                exercise_lazy(blob)
        except Exception:  # noqa: BLE001 - a crash is what we look for
            crashes += 1
            where = "(not saved)"
            if crash_dir is not None:
                where = os.path.join(crash_dir, f"fuzz_crash_{seed}_{execs}.jsonl")
                with open(where, "wb") as fh:
                    fh.write(blob)
            report = f"CRASH on input {execs} (saved to {where}):\n{traceback.format_exc()}"
            first_crash = first_crash or report
            print(report, file=sys.stderr)
        execs += 1
    dt = time.perf_counter() - t0
    return {"inputs": execs, "seconds": dt, "bad_lines": bad, "crashes": crashes, "first_crash": first_crash}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Fuzz the trajectory reader for a time budget")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--inputs", type=int, default=None, help="stop after this many inputs instead")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--lazy-every", type=int, default=20)
    ap.add_argument("--crash-dir", default=".")
    args = ap.parse_args(argv)
    r = fuzz(
        args.seed,
        seconds=None if args.inputs else args.seconds,
        inputs=args.inputs,
        lazy_every=args.lazy_every,
        crash_dir=args.crash_dir,
    )
    print(
        f"fuzz_reader: {r['inputs']} inputs in {r['seconds']:.1f}s ({r['inputs'] / r['seconds']:.0f}/s), "
        f"{r['bad_lines']} bad lines reported, {r['crashes']} crashes"
    )
    print("BENCH_RESULT " + json.dumps({k: v for k, v in r.items() if k != "first_crash"}))
    return 1 if r["crashes"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
