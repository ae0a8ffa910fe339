"""A scripted LM client for tests and demos (no network).

``ScriptedClient(script, model=...)``; ``script`` is one of:

* a dict ``{node path: reply}``: root turns by ``"r0/i0"``, sub-calls by
  ``"r0/i1/b0/c2"``, a child run's turns by ``"r0/i1/b0/c2/r/i0"``. A reply is a
  string or a callable ``(messages, site) -> str``. Paths make parallel
  (batched) calls deterministic. Key ``"*"`` answers anything not listed.
* a callable ``(model, messages, site) -> str | LMReply``;
* a list of replies used in order (running out raises ``LMCallError``).

Usage is counted like the mock server: ceil(chars / 4) tokens each way.
``delay`` (seconds, or a function of the reply text) simulates model latency.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from rlm_desktop.trajectory.model import Usage

from .base import CallSite, LMCallError, LMClient, LMReply, as_messages, estimate_tokens


class ScriptedClient(LMClient):
    backend = "scripted"
    local = True

    def __init__(
        self,
        script: Any,
        model: str = "scripted-model",
        *,
        cost_per_token: float | None = None,
        delay: float | Callable[[str], float] = 0.0,
    ) -> None:
        super().__init__(model)
        self.script = script
        self.cost_per_token = cost_per_token
        self.delay = delay
        self._pos = 0
        self._lock = threading.Lock()
        self.calls: list[tuple[str, list[dict[str, Any]], CallSite | None]] = []

    def complete(self, messages: Any, *, model: str | None = None, site: CallSite | None = None) -> LMReply:
        msgs = as_messages(messages)
        used = model or self.model
        t0 = time.perf_counter()
        with self._lock:
            self.calls.append((used, msgs, site))
        out = self._answer(used, msgs, site)
        if isinstance(out, LMReply):
            return out
        text = "" if out is None else str(out)
        wait = self.delay(text) if callable(self.delay) else self.delay
        if wait > 0:
            time.sleep(wait)
        inp = sum(estimate_tokens(str(m.get("content", ""))) for m in msgs)
        outt = estimate_tokens(text)
        cost = (inp + outt) * self.cost_per_token if self.cost_per_token is not None else None
        return LMReply(text, used, Usage(1, inp, outt, cost), time.perf_counter() - t0)

    def _answer(self, model: str, msgs: list[dict[str, Any]], site: CallSite | None) -> Any:
        script = self.script
        if isinstance(script, dict):
            path = site.path if site is not None else ""
            reply = script.get(path, script.get("*"))
            if reply is None:
                raise LMCallError(f"scripted client: no reply for {path or 'this call'}")
            return reply(msgs, site) if callable(reply) else reply
        if callable(script):
            return script(model, msgs, site)
        if isinstance(script, str):
            return script
        if isinstance(script, Sequence):
            with self._lock:
                if self._pos >= len(script):
                    raise LMCallError("scripted client: script exhausted")
                reply = script[self._pos]
                self._pos += 1
            return reply(msgs, site) if callable(reply) else reply
        raise LMCallError(f"scripted client: unusable script {type(script).__name__}")


ScriptFn = Callable[[str, list[dict[str, Any]], CallSite | None], Any]
