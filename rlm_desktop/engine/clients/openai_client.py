"""OpenAI-compatible chat-completions client (OpenAI, OpenRouter, vLLM, Ollama, ...).

Uses the official ``openai`` SDK: its own retries (exponential backoff with
jitter on 408/409/429/5xx and connection errors/timeouts, honouring
``retry-after`` headers) with ``max_retries`` from the config, and a per-request
``timeout``. Token usage comes from the response; the cost when the provider
reports one (OpenRouter's ``usage.cost``). Errors become ``LMCallError`` with
the key masked.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

from rlm_desktop.engine.config import BackendConfig
from rlm_desktop.engine.redaction import Redactor
from rlm_desktop.trajectory.model import Usage

from .base import CallSite, LMCallError, LMClient, LMReply, as_messages

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

#: Used when an OpenAI-compatible local server (vLLM, Ollama) needs no key.
NO_KEY = "no-key-needed"


class OpenAIClient(LMClient):
    backend = "openai"

    def __init__(self, cfg: BackendConfig) -> None:
        import openai

        super().__init__(cfg.model or "gpt-4o-mini")
        self.cfg = cfg
        key = cfg.resolve_api_key()
        self._redactor = Redactor([key])
        self._client = openai.OpenAI(
            api_key=key or NO_KEY,
            base_url=cfg.base_url or None,
            timeout=cfg.timeout,
            max_retries=cfg.max_retries,
        )
        self._errors = (openai.OpenAIError,)

    @property
    def api_key(self) -> str | None:  # for the engine's redactor only
        return self.cfg.resolve_api_key()

    def public_kwargs(self) -> dict[str, Any]:
        return self.cfg.public_kwargs()

    def complete(self, messages: Any, *, model: str | None = None, site: CallSite | None = None) -> LMReply:
        used = model or self.model
        t0 = time.perf_counter()
        try:
            resp = self._client.chat.completions.create(
                model=used,
                # role/content dicts as the API takes them (as_messages checks the shape)
                messages=cast("list[ChatCompletionMessageParam]", as_messages(messages)),
                **self.cfg.sampling,
            )
        except self._errors as exc:
            raise LMCallError(self._redactor.text(_describe(exc))) from None
        choices = getattr(resp, "choices", None) or []
        if not choices:
            raise LMCallError(f"{used}: the response has no choices")
        text = choices[0].message.content or ""
        usage = _usage(getattr(resp, "usage", None))
        return LMReply(text, used, usage, time.perf_counter() - t0)

    def close(self) -> None:
        try:
            self._client.close()
        except Exception:  # noqa: BLE001
            pass


def _usage(u: Any) -> Usage:
    if u is None:
        return Usage(calls=1)
    cost = getattr(u, "cost", None)
    if cost is None:
        extra = getattr(u, "model_extra", None) or {}
        cost = extra.get("cost")
    return Usage(
        calls=1,
        input_tokens=int(getattr(u, "prompt_tokens", 0) or 0),
        output_tokens=int(getattr(u, "completion_tokens", 0) or 0),
        cost=float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None,
    )


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    msg = getattr(exc, "message", None) or str(exc)
    kind = type(exc).__name__
    return f"{kind} (HTTP {status}): {msg}" if status else f"{kind}: {msg}"
