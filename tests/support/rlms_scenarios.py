"""Real upstream RLM logs, made at test time.

Drives the upstream reference engine (PyPI ``rlms``, import name ``rlm``)
against ``MockLMServer`` with scripted model replies, and lets upstream's own
``RLMLogger`` write the JSONL files. Nothing here writes log records itself, so
the files are exactly what upstream writes.

    python -m tests.support.rlms_scenarios OUTDIR [NAME ...]

writes one file per scenario into OUTDIR (upstream names them
``<scenario>_<date>_<time>_<hex>.jsonl``) plus ``scenarios.json``, which maps
each scenario name to its file name and to the facts the script guarantees
(``expect``), for tests to check the reader against.

Scenarios (see ``SCENARIOS``):

* ``basic``: 4 turns, max_depth 1: llm_query, a block raising ZeroDivisionError
  after printing, stderr without an exception, a reply without code and a
  ```` ```python ```` block (not run), two blocks in one reply, non-ASCII.
* ``depth3``: max_depth 3: root -> child (``mock-d1``: an llm_query, then a
  grandchild ``mock-d2``) -> grandchild's rlm_query at depth 3 becomes a leaf
  LM call (``mock-leaf``); then ``rlm_query_batched`` of 3 children
  (``mock-d1b``).
* ``batched``: llm_query_batched of 4 prompts; rlm_query_batched falling back
  to an LM batch at max_depth 1.
* ``max_iterations``: the model never answers; max_iterations 2 -> the
  default-answer record.
* ``nested_default``: a child RLM runs out of iterations (nested default answer).
* ``multi_completion``: one logger, one RLM, two completions (iteration
  numbering restarts) and a second RLM sharing the logger (its config is not
  logged).
* ``exotic``: NaN/Infinity/-Infinity locals, lone surrogates (locals only: in
  stdout they would reach the next prompt, which the OpenAI SDK cannot encode), non-ASCII and
  emoji, control characters, huge ints, -0.0, sets, bytes, tuple keys.
* ``aborted``: max_errors 2 -> upstream raises and the tripping iteration is not
  logged; the file ends without a final answer.
* ``anthropic``: the ``anthropic`` backend (upstream's client takes no base
  URL; the SDK's ``ANTHROPIC_BASE_URL`` points it at the mock's messages API).
* ``crash_partial``: the REPL passes ``bytes`` to ``rlm_query``; upstream's
  ``json.dump`` fails mid-record and leaves an unterminated last line.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .mock_openai import MockLMServer

DEFAULT_PREFIX = "Default answer from "


def repl(*codes: str, prose: str = "Let me look.") -> str:
    """A model reply with one ```repl block per code string."""
    parts = [prose] + [f"```repl\n{c}\n```" for c in codes]
    return "\n\n".join(parts)


def finish(value_expr: str) -> str:
    return f'answer["content"] = {value_expr}\nanswer["ready"] = True'


class Brain:
    """Scripted model: RLM turns by model name and turn number; plain calls echo.

    An RLM turn is recognised by a system message first; its turn number is the
    count of assistant messages so far. A request whose last message is from
    the assistant is upstream's default-answer request.
    """

    def __init__(self, turns: dict[str, list[str]], plain: Callable[[str, str], str] | None = None) -> None:
        self.turns = turns
        self.plain = plain or (lambda model, prompt: f"[{model}] re: {prompt[:40]}")

    def __call__(self, model: str, messages: list[dict[str, Any]]) -> str:
        if messages and messages[0].get("role") == "system":
            if messages[-1].get("role") == "assistant":
                return f"{DEFAULT_PREFIX}{model}"
            turn = sum(1 for m in messages if m.get("role") == "assistant")
            seq = self.turns.get(model)
            if not seq:
                return f"no script for {model}"
            return seq[min(turn, len(seq) - 1)]
        prompt = ""
        for m in reversed(messages):
            if m.get("role") == "user":
                prompt = str(m.get("content"))
                break
        return self.plain(model, prompt)


@dataclass
class Scenario:
    name: str
    brain: Brain
    run: Callable[[MockLMServer, Any, str], None]  # (server, logger, name) -> None
    expect: dict[str, Any] = field(default_factory=dict)


def _rlm(server: MockLMServer, logger: Any, model: str = "mock-root", **kw: Any) -> Any:
    from rlm import RLM

    return RLM(
        backend="openai",
        backend_kwargs={"model_name": model, "base_url": server.base_url, "api_key": "sk-mock-not-a-key"},
        environment="local",
        logger=logger,
        **kw,
    )


def _one(prompt: str, root_prompt: str | None = None, **kw: Any) -> Callable[[MockLMServer, Any, str], None]:
    def run(server: MockLMServer, logger: Any, name: str) -> None:
        rlm = _rlm(server, logger, **kw)
        try:
            rlm.completion(prompt, root_prompt=root_prompt)
        finally:
            rlm.close()

    return run


# -- scenarios -----------------------------------------------------------------

BASIC = Brain(
    {
        "mock-root": [
            repl(
                'chunk = context[:20]\nprint("chunk:", chunk)\nsub = llm_query("Summarise: " + chunk)\nprint(sub)'
            ),
            repl(
                'print("before the error")\nratio = 1 / 0',
                'import sys\nprint("warning: careful", file=sys.stderr)\nok = True',
            ),
            "No code this turn.\n\n```python\nprint('not run')\n```",
            repl(
                'total = len(context)\nprint("héllo wörld — 日本語 🚀", total)',
                finish('"The answer is " + str(total)'),
            ),
        ]
    }
)

DEPTH3 = Brain(
    {
        "mock-root": [
            repl('r = rlm_query("Delegate: analyse part A", model="mock-d1")\nprint("child said:", r)'),
            repl(
                'rs = rlm_query_batched(["batch item 0", "batch item 1", "batch item 2"], model="mock-d1b")\nprint(rs)'
            ),
            repl(finish('"root done: " + r + " | " + ", ".join(rs)')),
        ],
        "mock-d1": [
            repl('note = llm_query("d1 plain question")\nprint(note)'),
            repl('g = rlm_query("Go deeper on part A", model="mock-d2")\nprint(g)', finish('"d1 got " + g')),
        ],
        "mock-d2": [
            repl(
                'leaf = rlm_query("deepest question", model="mock-leaf")\nprint(leaf)\n'
                + finish('"d2 says " + leaf')
            ),
        ],
        "mock-d1b": [repl(finish('"B:" + context'))],
    }
)

BATCHED = Brain(
    {
        "mock-root": [
            repl(
                'outs = llm_query_batched(["alpha", "beta beta", "gamma gamma gamma", "delta"])\nfor o in outs:\n    print(o)'
            ),
            repl('more = rlm_query_batched(["x1", "x2"])\nprint(more)'),
            repl(finish('"batched: " + str(len(outs))')),
        ]
    }
)

IDLE = Brain({"mock-idle": [repl('print("still thinking")\nstep = 1')]})

NESTED_DEFAULT = Brain(
    {
        "mock-root": [
            repl('lazy = rlm_query("Please work on this", model="mock-lazy")\nprint(lazy)'),
            repl(finish('"root got: " + lazy')),
        ],
        "mock-lazy": [repl('print("lazy child thinking")')],
    }
)

MULTI = Brain(
    {
        "mock-root": [
            repl("first = context.split()[0]\nprint(first)"),
            repl(finish('"first word: " + first')),
        ],
        "mock-other": [repl(finish('"other: " + context'))],
    }
)

EXOTIC_CODE = r"""nan_v = float("nan")
inf_v = float("inf")
ninf_v = -float("inf")
floats = [nan_v, inf_v, {"neg": ninf_v}, -0.0, 5e-324]
lone = "\ud800 lone"
pair = "\ud83d\ude80"
uni = "héllo ünïcode — 日本語 🚀"
ctrl = "a\x00b\x1bc\x7fd\u2028e"
big = 10 ** 40
tuple_keys = {(1, 2): "tuple key", 3: "int key"}
a_set = {1, 2, 3}
raw = b"\x00\xffbytes"
cplx = 2 + 3j
print(uni)
print("<b>not bold</b> <script>alert(1)</script>")"""

EXOTIC = Brain(
    {
        "mock-root": [
            repl(EXOTIC_CODE, prose="Exotic values: ünïcode 🚀 in prose."),
            repl(finish('uni + " " + str(big)')),
        ]
    }
)

ABORT = Brain(
    {
        "mock-root": [
            repl('print("fine")'),
            repl("undefined_name + 1"),
            repl("also_undefined + 2"),
            repl(finish('"never"')),
        ]
    }
)


CRASH = Brain(
    {
        "mock-root": [
            repl('print("first turn fine")'),
            repl('r = rlm_query(b"raw bytes prompt")\nprint(r)'),
            repl(finish('"never"')),
        ],
    },
)


def _run_crash(server: MockLMServer, logger: Any, name: str) -> None:
    rlm = _rlm(server, logger, max_depth=2)
    try:
        rlm.completion("crash context")
    except TypeError:
        pass  # upstream's json.dump fails on bytes: the point of the scenario
    finally:
        rlm.close()


ANTHROPIC = Brain(
    {
        "claude-mock": [
            repl('s = llm_query("Anthropic sub question")\nprint(s)'),
            repl(finish('"anthropic says " + s')),
        ]
    }
)


def _run_anthropic(server: MockLMServer, logger: Any, name: str) -> None:
    import os

    from rlm import RLM

    old = os.environ.get("ANTHROPIC_BASE_URL")
    os.environ["ANTHROPIC_BASE_URL"] = server.root_url
    try:
        rlm = RLM(
            backend="anthropic",
            backend_kwargs={
                "model_name": "claude-mock",
                "api_key": "sk-ant-mock-not-a-key",
                "max_tokens": 256,
            },
            environment="local",
            logger=logger,
        )
        try:
            rlm.completion("anthropic context")
        finally:
            rlm.close()
    finally:
        if old is None:
            os.environ.pop("ANTHROPIC_BASE_URL", None)
        else:
            os.environ["ANTHROPIC_BASE_URL"] = old


def _run_multi(server: MockLMServer, logger: Any, name: str) -> None:
    rlm = _rlm(server, logger)
    try:
        rlm.completion("alpha beta gamma")
        rlm.completion("delta epsilon")
    finally:
        rlm.close()
    other = _rlm(server, logger, model="mock-other")
    try:
        other.completion("shared logger")
    finally:
        other.close()


def _run_abort(server: MockLMServer, logger: Any, name: str) -> None:
    rlm = _rlm(server, logger, max_errors=2)
    try:
        rlm.completion("abort me")
    except Exception as exc:  # noqa: BLE001 - the abort is the point
        if type(exc).__name__ != "ErrorThresholdExceededError":
            raise
    finally:
        rlm.close()


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in [
        Scenario(
            "basic",
            BASIC,
            _one("The quick brown fox jumps over the lazy dog. " * 3, root_prompt="How long is it?"),
            {
                "runs": 1,
                "iterations": [4],
                "blocks": [1, 2, 0, 2],
                "final_answer": "The answer is 135",
                "sub_calls_by_depth": {1: 1},
                "stderr_exception": "\nZeroDivisionError: division by zero",
            },
        ),
        Scenario(
            "depth3",
            DEPTH3,
            _one("root context for the depth test", max_depth=3),
            {
                "runs": 1,
                "iterations": [3],
                # root: 1 + 3 children; d1: llm_query + d2 child; d1b x3: none; d2: 1 leaf
                "sub_calls_by_depth": {1: 4, 2: 2, 3: 1},
                "max_run_depth": 2,
                "final_answer": (
                    "root done: d1 got d2 says [mock-leaf] re: deepest question | "
                    "B:batch item 0, B:batch item 1, B:batch item 2"
                ),
            },
        ),
        Scenario(
            "batched",
            BATCHED,
            _one("batch context"),
            {"runs": 1, "iterations": [3], "final_answer": "batched: 4"},
        ),
        Scenario(
            "max_iterations",
            IDLE,
            _one("never answered", model="mock-idle", max_iterations=2),
            {
                "runs": 1,
                "iterations": [3],
                "default_answer": f"{DEFAULT_PREFIX}mock-idle",
                "status": "max_iterations",
            },
        ),
        Scenario(
            "nested_default",
            NESTED_DEFAULT,
            _one("nested default context", max_depth=2, max_iterations=2),
            {
                "runs": 1,
                "iterations": [2],
                "child_default_answer": f"{DEFAULT_PREFIX}mock-lazy",
                "final_answer": f"root got: {DEFAULT_PREFIX}mock-lazy",
            },
        ),
        Scenario(
            "multi_completion",
            MULTI,
            _run_multi,
            {
                "runs": 3,
                "iterations": [2, 2, 1],
                "final_answers": ["first word: alpha", "first word: delta", "other: shared logger"],
            },
        ),
        Scenario(
            "exotic",
            EXOTIC,
            _one("exotic context"),
            {"runs": 1, "iterations": [2], "final_answer": "héllo ünïcode — 日本語 🚀 " + str(10**40)},
        ),
        Scenario(
            "aborted",
            ABORT,
            _run_abort,
            {"runs": 1, "iterations": [2], "status": "incomplete"},
        ),
        Scenario(
            "anthropic",
            ANTHROPIC,
            _run_anthropic,
            {
                "runs": 1,
                "iterations": [2],
                "final_answer": "anthropic says [claude-mock] re: Anthropic sub question",
                "sub_calls_by_depth": {1: 1},
            },
        ),
        Scenario(
            "crash_partial",
            CRASH,
            _run_crash,
            {"runs": 1, "iterations": [1], "status": "incomplete", "partial_tail": True},
        ),
    ]
}


def _sub_call_usage(server: MockLMServer, log_path: Path) -> dict[str, int]:
    """What the mock answered, except the root runs' own turns: the ground truth for
    the sub-call usage a log should add up to. Root turns are the requests that
    start with a system message and use a model of a top-level run (from the log)."""
    roots = set()
    with open(log_path, "rb") as fh:
        for line in fh:
            if line.startswith(b'{"type": "metadata"'):
                roots.add(json.loads(line)["root_model"])
    roots |= {"mock-other"}  # the second RLM sharing a logger is not in the metadata
    calls = inp = out = 0
    for r in server.calls():
        if r.model in roots and r.messages and r.messages[0].get("role") == "system":
            continue
        usage = count_tokens_of(r)
        calls += 1
        inp += usage[0]
        out += usage[1]
    return {"calls": calls, "input_tokens": inp, "output_tokens": out}


def count_tokens_of(r: Any) -> tuple[int, int]:
    from .mock_openai import count_tokens, prompt_tokens

    return prompt_tokens(r.messages), count_tokens(r.reply or "")


def generate(outdir: str | Path, names: list[str] | None = None) -> dict[str, Path]:
    """Run the scenarios (all by default) and return {name: log path}."""
    from rlm.logger import RLMLogger

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    index: dict[str, Any] = {}
    with MockLMServer() as server:
        for name in names or list(SCENARIOS):
            sc = SCENARIOS[name]
            server.set_script(sc.brain)
            server.clear()
            logger = RLMLogger(log_dir=str(out), file_name=name)
            # upstream prints nothing unless verbose; keep stray output off the caller's stdout
            with contextlib.redirect_stdout(io.StringIO()):
                sc.run(server, logger, name)
            if server.errors:
                raise RuntimeError(f"scenario {name}: script error {server.errors[-1]!r}")
            path = Path(logger.log_file_path)
            paths[name] = path
            index[name] = {
                "file": path.name,
                "expect": sc.expect,
                "mock_usage": _sub_call_usage(server, path),
            }
    (out / "scenarios.json").write_text(json.dumps(index, indent=2, default=str))
    return paths


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    paths = generate(argv[0], argv[1:] or None)
    for name, path in paths.items():
        print(f"{name}: {path}")
    return 0


_SHARED: dict[str, Path] | None = None


def generate_in_subprocess(
    outdir: str | Path, names: list[str] | None = None, timeout: float = 240
) -> dict[str, Path]:
    """``generate`` in a fresh interpreter.

    Upstream's local REPL swaps ``builtins`` and changes the working directory
    while a block runs; in a process that has PySide6 loaded (pytest-qt) its
    import hook then aborts the interpreter. A child process keeps both away.
    """
    import os
    import subprocess

    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "tests.support.rlms_scenarios", str(outdir), *(names or [])],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"rlms scenario generation failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    index = json.loads((Path(outdir) / "scenarios.json").read_text())
    return {name: Path(outdir) / info["file"] for name, info in index.items()}


def shared_logs() -> dict[str, Path]:
    """All scenarios, generated once per process into a temporary folder (removed at exit).

    Test modules call this from their own session-scoped fixtures, so one
    pytest run drives upstream only once however many modules use the logs.
    Generation runs in a subprocess (see ``generate_in_subprocess``).
    """
    global _SHARED
    if _SHARED is None:
        import atexit
        import shutil
        import tempfile

        tmp = tempfile.mkdtemp(prefix="rlms_logs_")
        atexit.register(shutil.rmtree, tmp, True)
        for attempt in range(3):
            _SHARED = generate_in_subprocess(os.path.join(tmp, str(attempt)))
            if not any(_lost_batched_stdout(p) for p in _SHARED.values()):
                break
    return dict(_SHARED)


def _lost_batched_stdout(path: Path) -> bool:
    """Upstream's known race: each ``LocalREPL`` swaps the process-wide ``sys.stdout``
    under its own lock, so parallel ``rlm_query_batched`` children can restore each
    other's buffers and the parent block's later prints are lost (its stdout ``''``).
    Such a recording is not what upstream means to log; ``shared_logs`` makes it again."""
    from rlm_desktop.trajectory.reader import read_file

    for run in read_file(str(path)).runs:
        for it in run.iterations:
            for b in it.code_blocks:
                batched = "rlm_query_batched" in (b.code or "") and "print(" in (b.code or "")
                if batched and not (b.stdout or "") and not (b.stderr or ""):
                    return True
    return False


def shared_index() -> dict[str, Any]:
    """``scenarios.json`` of the shared logs: per scenario its file, ``expect`` and
    ``mock_usage`` (what the mock server answered besides the root turns)."""
    paths = shared_logs()
    folder = next(iter(paths.values())).parent
    return json.loads((folder / "scenarios.json").read_text())


def expectations(paths: dict[str, Path]) -> dict[str, dict[str, Any]]:
    """The ``expect`` facts of the scenarios in ``paths``."""
    return {name: SCENARIOS[name].expect for name in paths}


if __name__ == "__main__":
    raise SystemExit(main())
