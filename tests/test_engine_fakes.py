"""Helpers for the engine tests (no tests here).

``FakeRepl`` is a tiny in-process REPL with the interface of
``rlm_desktop.engine.repl.base.ReplEnvironment``, used only where a test needs
to control the REPL itself (crashes, hangs). ``env_factory()`` picks the real
subprocess REPL when it is available and this fake otherwise.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from rlm_desktop.trajectory.writer import serialize_value


@dataclass
class FakeResult:
    stdout: str
    stderr: str
    locals: dict
    execution_time: float
    final_answer: str | None = None
    failure: str | None = None


@dataclass
class FakeRequest:
    kind: str
    prompts: list
    model: str | None
    batched: bool


class _Answer(dict):
    def __init__(self, on_ready):
        super().__init__(content="", ready=False)
        self._on_ready = on_ready

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        if key == "ready" and value:
            self._on_ready(self.get("content", ""))


@dataclass
class FakeRepl:
    context: Any
    handler: Any
    block_timeout: float = 120
    memory_limit_mb: int | None = None
    setup_code: str | None = None
    crash_on: str | None = None  # code containing this string "crashes" the REPL
    started: bool = False
    closed: bool = False
    _cancel: threading.Event = field(default_factory=threading.Event)

    HELPERS = (
        "llm_query",
        "llm_query_batched",
        "rlm_query",
        "rlm_query_batched",
        "SHOW_VARS",
        "FINAL_VAR",
        "print",
    )

    def start(self) -> None:
        self.started = True
        self._final: str | None = None
        self.ns: dict[str, Any] = {"context": self.context, "answer": _Answer(self._set_final)}
        h = self.handler

        def call(kind, prompts, model, batched):
            return h(FakeRequest(kind, list(prompts), model, batched))

        self.helpers = {
            "llm_query": lambda p, model=None: call("llm", [p], model, False)[0],
            "llm_query_batched": lambda ps, model=None: call("llm", ps, model, True),
            "rlm_query": lambda p, model=None: call("rlm", [p], model, False)[0],
            "rlm_query_batched": lambda ps, model=None: call("rlm", ps, model, True),
            "SHOW_VARS": lambda: sorted(k for k in self.ns if not k.startswith("_")),
            "FINAL_VAR": lambda name: str(self.ns.get(name, name)),
        }

    def _set_final(self, content: Any) -> None:
        self._final = str(content)

    def execute(self, code: str) -> FakeResult:
        t0 = time.perf_counter()
        out: list[str] = []
        err = ""
        if self.crash_on and self.crash_on in code:
            return FakeResult("", "", {}, 0.0, None, "crashed")

        errs: list[str] = []

        def _print(*a, sep=" ", end="\n", file=None):
            (errs if file is not None and file in (sys.stderr, sys.__stderr__) else out).append(
                sep.join(str(x) for x in a) + end
            )

        env = {**self.ns, **self.helpers, "print": _print, "time": time, "_cancel": self._cancel}
        try:
            exec(compile(code, "<repl>", "exec"), env)
            for k, v in env.items():
                if k not in self.helpers and k != "print" and not k.startswith("_") and k != "__builtins__":
                    self.ns[k] = v
        except Exception as exc:  # noqa: BLE001
            err = f"\n{type(exc).__name__}: {exc}"
        err = "".join(errs) + err
        failure = "cancelled" if self._cancel.is_set() else None
        final, self._final = self._final, None
        locs = {k: serialize_value(v) for k, v in self.ns.items() if not k.startswith("_")}
        return FakeResult("".join(out), err, locs, time.perf_counter() - t0, final, failure)

    def cancel(self) -> None:
        self._cancel.set()

    def close(self) -> None:
        self.closed = True


def fake_factory(**kw: Any):
    made: list[FakeRepl] = []

    def factory(context, handler, **kwargs):
        env = FakeRepl(context, handler, **{**kwargs, **kw})
        made.append(env)
        return env

    factory.made = made  # type: ignore[attr-defined]
    return factory


def real_repl_available() -> bool:
    try:
        from rlm_desktop.engine.environments import environment_class

        environment_class("subprocess")
        return True
    except Exception:  # noqa: BLE001
        return False


def env_choice():
    """The real subprocess REPL when it exists, else the fake."""
    return "subprocess" if real_repl_available() else fake_factory()


# -- comparing model trees -------------------------------------------------------------

RUN_FIELDS = ("depth", "metadata", "status", "final_answer", "error")
IT_FIELDS = (
    "number",
    "timestamp",
    "prompt",
    "response",
    "final_answer",
    "final_answer_kind",
    "iteration_time",
    "is_default_answer",
    "usage",
    "edited",
    "original_response",
    "extra",
    "position",
    "running",
)
BLOCK_FIELDS = (
    "index",
    "code",
    "stdout",
    "stderr",
    "locals",
    "execution_time",
    "final_answer",
    "extra",
    "running",
)
CALL_FIELDS = ("index", "model", "prompt", "response", "usage", "execution_time", "error", "extra", "running")


def model_diff(a, b, path: str = "") -> list[str]:
    """Field-by-field differences between two run trees (empty list = equal)."""
    out: list[str] = []

    def cmp(x, y, fields, where):
        for f in fields:
            vx, vy = getattr(x, f), getattr(y, f)
            if vx != vy:
                out.append(f"{where}.{f}: {vx!r:.120} != {vy!r:.120}")

    def run(x, y, where):
        cmp(x, y, RUN_FIELDS, where)
        if len(x.iterations) != len(y.iterations):
            out.append(f"{where}: {len(x.iterations)} iterations != {len(y.iterations)}")
        for ix, iy in zip(x.iterations, y.iterations, strict=False):
            w = f"{where}/i{ix.position}"
            cmp(ix, iy, IT_FIELDS, w)
            if len(ix.code_blocks) != len(iy.code_blocks):
                out.append(f"{w}: block count differs")
            for bx, by in zip(ix.code_blocks, iy.code_blocks, strict=False):
                wb = f"{w}/b{bx.index}"
                cmp(bx, by, BLOCK_FIELDS, wb)
                if len(bx.sub_calls) != len(by.sub_calls):
                    out.append(f"{wb}: call count differs")
                for cx, cy in zip(bx.sub_calls, by.sub_calls, strict=False):
                    wc = f"{wb}/c{cx.index}"
                    cmp(cx, cy, CALL_FIELDS, wc)
                    if (cx.child is None) != (cy.child is None):
                        out.append(f"{wc}: child presence differs")
                    elif cx.child is not None:
                        run(cx.child, cy.child, wc + "/r")

    run(a, b, path or a.path)
    return out
