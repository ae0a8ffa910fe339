"""The LM client interface the engine uses.

A client answers ``complete(messages, model=None, site=None) -> LMReply``.
``messages`` is an OpenAI-style list (a plain string is one user message);
``site`` says where in the run tree the call happens (the replay client
matches recordings by it; others ignore it). Errors after the client's own
retries are raised as ``LMCallError`` with a message a user can read (no key in it).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from rlm_desktop.trajectory.model import Usage


class LMCallError(RuntimeError):
    """An LM call failed for good (after retries)."""


@dataclass(frozen=True)
class CallSite:
    """Where an LM call happens in the run tree.

    ``run_path`` uses the model's node paths (``"r0"``, ``"r0/i1/b0/c2/r"``);
    ``position`` is the 0-based iteration position in that run; ``block`` and
    ``call`` are set for sub-calls made from REPL code.
    """

    run_path: str
    kind: str  # "root" (a turn of the run's own model) or "sub" (llm_query / leaf rlm_query)
    position: int
    block: int | None = None
    call: int | None = None
    depth: int = 0

    @property
    def path(self) -> str:
        base = f"{self.run_path}/i{self.position}"
        if self.kind == "sub":
            return f"{base}/b{self.block}/c{self.call}"
        return base


@dataclass
class LMReply:
    text: str
    model: str
    usage: Usage
    elapsed: float = 0.0


def as_messages(prompt: Any) -> list[dict[str, Any]]:
    """Normalise what REPL code passed (str, message list, one message dict) to a message list."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    if isinstance(prompt, dict):
        if "role" in prompt and "content" in prompt:
            return [dict(prompt)]
        return [{"role": "user", "content": str(prompt)}]
    if isinstance(prompt, (list, tuple)):
        if all(isinstance(m, dict) and "role" in m for m in prompt):
            return [dict(m) for m in prompt]
        return [{"role": "user", "content": str(list(prompt))}]
    return [{"role": "user", "content": str(prompt)}]


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


class LMClient(ABC):
    """Base class. ``backend`` is the upstream-style backend name for the log."""

    backend: str = "custom"
    #: True when ``complete`` returns quickly without network I/O (scripted/replay):
    #: the engine then calls it directly instead of from a cancellable helper thread.
    local: bool = False

    def __init__(self, model: str) -> None:
        self.model = model

    @abstractmethod
    def complete(
        self, messages: Any, *, model: str | None = None, site: CallSite | None = None
    ) -> LMReply: ...

    def public_kwargs(self) -> dict[str, Any]:
        return {"model_name": self.model}

    def close(self) -> None:  # noqa: B027 - optional hook
        pass

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r})"
