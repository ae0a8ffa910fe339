"""Typed events the engine emits at every step boundary.

The engine calls one hook, ``checkpoint(event)``, at each boundary. Observers
(the JSONL writer, the live model recorder, the UI bridge) and the debugger
all consume this single stream. Events are small frozen dataclasses; every
event carries ``run_id``, ``parent_id``, ``depth`` and ``iteration``.

Ids: a root run's id is a fresh hex string; a child run's id is
``f"{parent_run_id}/{iteration}.{block_index}.{call_index}"`` so an id says
where the run sits in the tree. ``iteration`` is the 1-based iteration number
of the run the event belongs to (0 before the first iteration starts).

Threading: events of one run arrive in order from the thread running that
run; parallel children (``rlm_query_batched``) emit from worker threads, so
observers must be thread-safe.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, kw_only=True)
class Event:
    run_id: str
    parent_id: str | None
    depth: int
    iteration: int
    time: float = field(default_factory=time.time)

    @property
    def kind(self) -> str:
        return type(self).__name__


@dataclass(frozen=True, kw_only=True)
class RunStarted(Event):
    """A run (root or child) begins. ``metadata`` has upstream's metadata keys."""

    metadata: dict[str, Any]
    prompt_preview: str = ""
    # The task the run was given, when known at its start (the root prompt, redacted); None:
    # not known before its first LM request (it may have none: a context-only completion).
    question: str | None = None
    # For a child run: where it was spawned from in the parent (iteration, block, call).
    spawned_at: tuple[int, int, int] | None = None


@dataclass(frozen=True, kw_only=True)
class IterationStarted(Event):
    pass


@dataclass(frozen=True, kw_only=True)
class LMRequest(Event):
    """The root LM of a run is about to be called with ``messages``."""

    messages: tuple[dict[str, Any], ...]
    model: str


@dataclass(frozen=True, kw_only=True)
class LMResponse(Event):
    """The root LM answered. At this checkpoint the debugger may return a
    ``ResponseEdit`` to replace the text before its code blocks are parsed and run."""

    text: str
    model: str
    usage: dict[str, Any] | None = None  # upstream-shaped usage_summary for this one call
    elapsed: float = 0.0
    code_blocks: tuple[str, ...] = ()  # the ```repl blocks found in ``text``


@dataclass(frozen=True, kw_only=True)
class LMResponseEdited(Event):
    """The gate replaced the root LM's text at ``LMResponse`` (observers only, not a boundary).

    ``text`` is what runs and what is logged; ``original`` is what the model said."""

    text: str
    original: str
    code_blocks: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class CodeBlockStarted(Event):
    block_index: int
    code: str


@dataclass(frozen=True, kw_only=True)
class CodeBlockOutput(Event):
    """Live output of a running block (observers only, not a boundary; the REPL may not send it).
    ``CodeBlockFinished`` later carries the whole output."""

    block_index: int
    stream: str  # "stdout" or "stderr"
    text: str


@dataclass(frozen=True, kw_only=True)
class CodeBlockFinished(Event):
    block_index: int
    code: str
    # upstream-shaped ``result``: stdout, stderr, locals, execution_time, rlm_calls, final_answer
    result: dict[str, Any]

    @property
    def has_error(self) -> bool:
        return bool(self.result.get("stderr"))


@dataclass(frozen=True, kw_only=True)
class SubCallStarted(Event):
    """A sub-call from REPL code: ``recursive`` when it spawns a child run (``child_run_id``)."""

    block_index: int
    call_index: int
    model: str
    prompt: Any
    recursive: bool = False
    child_run_id: str | None = None
    call_kind: str = "llm"  # what REPL code called: "llm" (llm_query*) or "rlm" (rlm_query*)
    batched: bool = False  # made by one of the *_batched helpers


@dataclass(frozen=True, kw_only=True)
class SubCallFinished(Event):
    block_index: int
    call_index: int
    # upstream-shaped RLMChatCompletion dict: root_model, prompt, response, usage_summary,
    # execution_time, and for child runs metadata {run_metadata, iterations}
    completion: dict[str, Any]
    error: str | None = None
    child_run_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class IterationFinished(Event):
    """The iteration is done; ``record`` is the upstream-format iteration record."""

    record: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class FinalAnswer(Event):
    answer: str
    block_index: int | None = None  # None for text FINAL(...) or the default answer


@dataclass(frozen=True, kw_only=True)
class RunFinished(Event):
    final_answer: str | None
    usage: dict[str, Any] | None = None
    elapsed: float = 0.0


@dataclass(frozen=True, kw_only=True)
class RunCancelled(Event):
    reason: str = "cancelled by the user"


@dataclass(frozen=True, kw_only=True)
class RunFailed(Event):
    error: str


@dataclass(frozen=True)
class ResponseEdit:
    """Returned by a checkpoint hook at ``LMResponse`` to replace the model's text."""

    text: str


TERMINAL_EVENTS = (RunFinished, RunCancelled, RunFailed)


class RunCancelledError(Exception):
    """Raised inside the engine thread (e.g. by a checkpoint gate) to stop a run cleanly."""
