"""The interface every REPL environment implements (no Qt, no engine imports).

A ``ReplEnvironment`` runs model-written Python blocks in one persistent
namespace that holds ``context`` and the helper functions (``llm_query``,
``llm_query_batched``, ``rlm_query``, ``rlm_query_batched``, ``SHOW_VARS``,
``FINAL_VAR``) and the ``answer`` dict. Sub-calls made by the code reach the
engine through ``handler(SubcallRequest) -> list[str]`` (one answer per prompt),
called on a thread of the environment while the block runs.

Implementations: ``sandbox`` (the engine's default: the subprocess REPL inside bubblewrap,
``sandbox_env``), ``subprocess`` (``subprocess_env``; no isolation), ``inprocess`` (opt-in,
``inprocess_env``), ``docker`` (``docker_env``), all imported lazily.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

#: ``ReplResult.failure`` values.
FAILURE_TIMEOUT = "timeout"  # the block ran past ``block_timeout`` (state kept unless ``state_lost``)
FAILURE_CANCELLED = "cancelled"  # ``cancel()`` interrupted it
FAILURE_CRASHED = "crashed"  # the REPL process died (segfault, os._exit, killed, ...)


@dataclass
class ReplResult:
    """What one block did. ``locals`` is the namespace serialised by upstream's rules."""

    stdout: str
    stderr: str
    locals: dict[str, Any] = field(default_factory=dict)
    execution_time: float = 0.0
    final_answer: str | None = None
    failure: str | None = None  # None, "timeout", "cancelled" or "crashed"
    state_lost: bool = False  # the REPL was restarted: every variable is gone


@dataclass
class SubcallRequest:
    """``llm_query``/``rlm_query`` (``batched=False``, one prompt) or their batched forms
    (one request for all prompts; the handler runs them in parallel with a bound)."""

    kind: Literal["llm", "rlm"]
    prompts: list[Any]
    model: str | None = None
    batched: bool = False


SubcallHandler = Callable[[SubcallRequest], list[str]]

#: ``on_output(stream, text)``: output of the running block as it is written ("stdout"/"stderr").
OutputListener = Callable[[str, str], None]


class ReplEnvironment(ABC):
    """One REPL for one run. ``execute`` never raises for errors in model code."""

    name = "base"
    #: set by the engine; environments that stream a running block's output call it
    on_output: OutputListener | None = None

    def __init__(
        self,
        context: Any,
        handler: SubcallHandler,
        *,
        block_timeout: float = 120,
        memory_limit_mb: int | None = 2048,
        setup_code: str | None = None,
    ) -> None:
        self.context = context
        self.handler = handler
        self.block_timeout = block_timeout
        self.memory_limit_mb = memory_limit_mb
        self.setup_code = setup_code

    @abstractmethod
    def start(self) -> None:
        """Spawn the process/container and load ``context`` (and run ``setup_code``)."""

    @abstractmethod
    def execute(self, code: str) -> ReplResult:
        """Run one block; blocks the caller until it ends, times out or is cancelled."""

    @abstractmethod
    def cancel(self) -> None:
        """From any thread: interrupt the running block (its result has failure "cancelled")."""

    @abstractmethod
    def close(self) -> None:
        """Stop everything (process, threads, sockets, temp files). Idempotent."""

    def __enter__(self) -> ReplEnvironment:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_MODULES = {
    "sandbox": ("rlm_desktop.engine.repl.sandbox_env", "SandboxReplEnvironment"),
    "subprocess": ("rlm_desktop.engine.repl.subprocess_env", "SubprocessReplEnvironment"),
    "local": ("rlm_desktop.engine.repl.subprocess_env", "SubprocessReplEnvironment"),
    "inprocess": ("rlm_desktop.engine.repl.inprocess_env", "InProcessReplEnvironment"),
    "docker": ("rlm_desktop.engine.repl.docker_env", "DockerReplEnvironment"),
}


def environment_class(name: str = "subprocess") -> type[ReplEnvironment]:
    """The class for ``name`` ("subprocess" default, "inprocess", "docker"), imported lazily."""
    try:
        modname, clsname = _MODULES[name]
    except KeyError:
        raise ValueError(
            f"unknown REPL environment {name!r} (one of {', '.join(sorted(_MODULES))})"
        ) from None
    module = importlib.import_module(modname)
    cls = getattr(module, clsname, None)
    if cls is None:  # tolerate another class name in the module
        found = [
            v
            for v in vars(module).values()
            if isinstance(v, type) and issubclass(v, ReplEnvironment) and v.__module__ == modname
        ]
        if not found:
            raise ImportError(f"no ReplEnvironment class in {modname}")
        cls = found[0]
    return cls


def environment_from_name(
    name: str | None, context: Any, handler: SubcallHandler, **kwargs: Any
) -> ReplEnvironment:
    """Build (not start) the environment called ``name`` (None means "subprocess")."""
    return environment_class(name or "subprocess")(context, handler, **kwargs)
