"""The engine's seams, as types: what it calls out to at every step boundary, and the REPL it
drives. Anything of these shapes plugs in; the engine never asks ``hasattr``.

* ``Observer``: ``fn(event)``, for every event, on any engine thread; what it returns is
  ignored and what it raises is logged (the JSONL writer, the live UI model, a test's list).
* ``Gate``: ``gate.checkpoint(event) -> ResponseEdit | None`` at every checkpoint, after the
  observers. It may block the engine thread (the debugger pauses there), return an edit of the
  model's reply (at ``LMResponse``) or raise ``RunCancelledError``. A plain function of the
  same signature is a gate too (``GateFunction``); ``gate_function`` gives the call either way.
* ``Environment``: one REPL for one run (``repl.base.ReplEnvironment`` or a look-alike):
  ``start``, ``execute(code) -> ReplResult``, ``cancel`` (any thread) and ``close``. The run
  loop sets ``on_output`` to receive a running block's output live; an environment that
  cannot stream leaves it unused.
* ``EnvFactory``: ``factory(context, handler) -> Environment``; ``handler`` is how the REPL's
  ``llm_query``/``rlm_query`` reach the engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeAlias, runtime_checkable

from .events import Event, ResponseEdit
from .repl.base import OutputListener, ReplResult, SubcallHandler


class Observer(Protocol):
    def __call__(self, event: Event, /) -> object: ...


@runtime_checkable
class Gate(Protocol):
    def checkpoint(self, event: Event, /) -> ResponseEdit | None: ...


GateFunction: TypeAlias = Callable[[Event], "ResponseEdit | None"]
AnyGate: TypeAlias = "Gate | GateFunction"


def gate_function(gate: AnyGate) -> GateFunction:
    """The call a gate is: its ``checkpoint`` method, or the function itself."""
    return gate.checkpoint if isinstance(gate, Gate) else gate


class Environment(Protocol):
    on_output: OutputListener | None

    def start(self) -> None: ...

    def execute(self, code: str) -> ReplResult: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


EnvFactory: TypeAlias = Callable[[Any, SubcallHandler], Environment]
