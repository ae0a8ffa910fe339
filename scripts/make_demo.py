"""Regenerate the demo run in resources/demo/ with OUR engine and a scripted model.

    .venv/bin/python scripts/make_demo.py [--out resources/demo] [--environment subprocess]

The task: a file of product reviews; which product draws the most complaints, and
what is the main complaint about it? The scripted model inspects ``context``, sends
the three products' reviews to ``llm_query_batched``, hits a ``ValueError`` while
parsing the answers and fixes it, delegates a closer look to an ``rlm_query`` child
(depth 1, ``max_depth`` 2) that itself calls ``llm_query``, and submits the answer.

Writes ``demo_context.txt`` (the context), ``demo_trajectory.jsonl`` (the log our
engine wrote, upstream-compatible) and ``demo.json`` (prompt, limits, file names).
The app's "demo run" replays the trajectory with the replay backend
(``rlm_desktop.engine.demo``); ``tests/test_engine_demo.py`` checks that replaying
reproduces the same answer and tree. Regenerate after changing ``prompts.py`` or
the REPL's output format (replay compares prompts).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rlm_desktop.engine.clients import ScriptedClient  # noqa: E402
from rlm_desktop.engine.config import BackendConfig, EngineConfig  # noqa: E402
from rlm_desktop.engine.rlm import RLMEngine  # noqa: E402

MODEL = "demo-model"
MAX_DEPTH = 2
MAX_ITERATIONS = 8
PROMPT = (
    "Which product do reviewers complain about most, and what is the most common complaint about it? "
    "Give the complaint counts per product."
)

REVIEWS = {
    "Aurora X2 headphones": [
        ("5", "Great sound, deep bass, comfortable for long flights."),
        ("2", "Battery dies after four hours, far from the advertised thirty."),
        ("4", "Noise cancelling works well on the train."),
        ("1", "The battery barely lasts a morning and charging takes ages."),
        ("3", "Sound is fine but the ear cushions get hot."),
        ("2", "Battery drains overnight even when switched off."),
    ],
    "Brisk smartwatch": [
        ("4", "Accurate step counter and a bright screen."),
        ("2", "The strap gave me a rash after a week."),
        ("5", "Sleep tracking is surprisingly good."),
        ("3", "Notifications arrive late sometimes."),
    ],
    "Cobalt e-reader": [
        ("5", "Crisp screen, light enough to hold in one hand."),
        ("4", "Battery lasts weeks, as promised."),
        ("2", "Page turns lag when a book has many images."),
        ("5", "Warm light setting is easy on the eyes at night."),
    ],
}


def context_text() -> str:
    parts = []
    for product, reviews in REVIEWS.items():
        parts.append(f"## Product: {product}")
        parts.extend(f"- [{stars} stars] {text}" for stars, text in reviews)
        parts.append("")
    return "\n".join(parts)


def repl(*codes: str, prose: str) -> str:
    return "\n\n".join([prose] + [f"```repl\n{c}\n```" for c in codes])


SPLIT = """sections = {}
current = None
for line in context.splitlines():
    if line.startswith("## Product: "):
        current = line[len("## Product: "):]
        sections[current] = []
    elif line.startswith("- ") and current:
        sections[current].append(line)
names = list(sections)
prompts = [
    "Here are customer reviews of " + name + ":\\n" + "\\n".join(sections[name])
    + "\\n\\nHow many reviews contain a complaint? Reply as 'complaints: N; main issue: ...'."
    for name in names
]
answers = llm_query_batched(prompts)
for name, a in zip(names, answers):
    print(name, "->", a)"""

BAD_PARSE = """counts = {name: int(a.split(":")[1]) for name, a in zip(names, answers)}
print(counts)"""

GOOD_PARSE = """import re
counts = {}
for name, a in zip(names, answers):
    m = re.search(r"complaints:\\s*(\\d+)", a)
    counts[name] = int(m.group(1)) if m else 0
worst = max(counts, key=counts.get)
print(counts)
print("most complaints:", worst)"""

DELEGATE = """detail = rlm_query(
    "Reviews of " + worst + ":\\n" + "\\n".join(sections[worst])
    + "\\n\\nGroup the complaints in these reviews into themes and report the most common theme with its count."
)
print(detail)"""

CHILD_LOOK = """lines = [l for l in context.splitlines() if l.startswith("- ")]
print(len(lines), "reviews")
themes = llm_query(
    "Group the complaints in these reviews into themes, one 'theme: count' per line, most common first:\\n"
    + "\\n".join(lines)
)
print(themes)"""

CHILD_ANSWER = """top = themes.splitlines()[0]
answer["content"] = "Most common complaint theme: " + top
answer["ready"] = True"""

FINISH = """total = sum(counts.values())
answer["content"] = (
    f"{worst} draws the most complaints ({counts[worst]} of {total} complaining reviews). "
    + detail + ". Complaints per product: "
    + ", ".join(f"{name}: {n}" for name, n in counts.items()) + "."
)
answer["ready"] = True"""

SCRIPT = {
    "r0/i0": repl(
        "print(type(context).__name__, len(context))\nprint(context[:300])",
        prose="First I will look at the size and the start of the context.",
    ),
    "r0/i1": repl(
        SPLIT,
        prose="The reviews are grouped under '## Product:' headers. I will split them per product and ask a "
        "helper model to count the complaints of each product in parallel.",
    ),
    "r0/i1/b0/c0": "complaints: 4; main issue: battery life far below what is advertised",
    "r0/i1/b0/c1": "complaints: 2; main issue: a skin rash from the strap",
    "r0/i1/b0/c2": "complaints: 1; main issue: slow page turns in image-heavy books",
    "r0/i2": repl(BAD_PARSE, prose="Now I turn the answers into numbers."),
    "r0/i3": repl(
        GOOD_PARSE,
        prose="The split left text after the number, so int() failed. A regular expression picks out the count.",
    ),
    "r0/i4": repl(
        DELEGATE,
        prose="The headphones lead. I will hand their reviews to a sub-RLM to group the complaints into themes.",
    ),
    "r0/i4/b0/c0/r/i0": repl(CHILD_LOOK, prose="I will collect the review lines and ask for themes."),
    "r0/i4/b0/c0/r/i0/b0/c0": "battery life: 3\nheat and comfort: 1",
    "r0/i4/b0/c0/r/i1": repl(CHILD_ANSWER, prose="Battery life is clearly the top theme."),
    "r0/i5": repl(FINISH, prose="I have the counts and the main theme, so I can answer."),
}


def make(out: Path, environment: Any = "subprocess") -> Path:
    out.mkdir(parents=True, exist_ok=True)
    context = context_text()
    (out / "demo_context.txt").write_text(context, encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        config = EngineConfig(
            backend=BackendConfig(kind="scripted", model=MODEL),
            max_depth=MAX_DEPTH,
            max_iterations=MAX_ITERATIONS,
            environment=environment,
            log_dir=tmp,
        )
        # simulated latency (first token + ~150 tokens/s), so the recorded times look like a real run
        client = ScriptedClient(
            SCRIPT, model=MODEL, cost_per_token=2e-6, delay=lambda text: 0.12 + len(text) / 4 / 150
        )
        result = RLMEngine(config, client=client).completion(PROMPT, context)
        if not result.ok:
            raise SystemExit(f"the demo run failed: {result.error}")
        target = out / "demo_trajectory.jsonl"
        shutil.copyfile(result.log_path, target)
    manifest = {
        "prompt": PROMPT,
        "context_file": "demo_context.txt",
        "trajectory": "demo_trajectory.jsonl",
        "model": MODEL,
        "max_depth": MAX_DEPTH,
        "max_iterations": MAX_ITERATIONS,
        "environment": environment if isinstance(environment, str) else "subprocess",
        "final_answer": result.response,
    }
    (out / "demo.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {target} ({result.iterations} iterations): {result.response}")
    return target


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "resources" / "demo"))
    ap.add_argument("--environment", default="subprocess")
    args = ap.parse_args(argv)
    make(Path(args.out), args.environment)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
