"""Anthropic Messages API client (official ``anthropic`` SDK).

System messages go to the ``system`` parameter; consecutive messages with the
same role are joined (the API wants user/assistant turns). The SDK retries
429/5xx/timeouts with exponential backoff (``max_retries``); ``timeout`` is per
request. ``max_tokens`` (required by the API) comes from ``sampling`` or 4096.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

from rlm_desktop.engine.config import BackendConfig
from rlm_desktop.engine.redaction import Redactor
from rlm_desktop.trajectory.model import Usage

from .base import CallSite, LMCallError, LMClient, LMReply, as_messages
from .openai_client import _describe

if TYPE_CHECKING:
    from anthropic.types import MessageParam

DEFAULT_MAX_TOKENS = 4096


def to_anthropic(messages: list[dict[str, Any]]) -> tuple[str | None, list[dict[str, str]]]:
    system: list[str] = []
    out: list[dict[str, str]] = []
    for m in messages:
        role = m.get("role")
        content = m.get("content")
        text = content if isinstance(content, str) else str(content)
        if role == "system":
            system.append(text)
            continue
        role = "assistant" if role == "assistant" else "user"
        if out and out[-1]["role"] == role:
            out[-1] = {"role": role, "content": out[-1]["content"] + "\n\n" + text}
        else:
            out.append({"role": role, "content": text})
    if not out or out[0]["role"] != "user":
        out.insert(0, {"role": "user", "content": "(start)"})
    return ("\n\n".join(system) or None), out


class AnthropicClient(LMClient):
    backend = "anthropic"

    def __init__(self, cfg: BackendConfig) -> None:
        import anthropic

        super().__init__(cfg.model or "claude-sonnet-4-5")
        self.cfg = cfg
        key = cfg.resolve_api_key()
        self._redactor = Redactor([key])
        self._client = anthropic.Anthropic(
            api_key=key, base_url=cfg.base_url or None, timeout=cfg.timeout, max_retries=cfg.max_retries
        )
        self._errors = (anthropic.AnthropicError,)

    @property
    def api_key(self) -> str | None:
        return self.cfg.resolve_api_key()

    def public_kwargs(self) -> dict[str, Any]:
        return self.cfg.public_kwargs()

    def complete(self, messages: Any, *, model: str | None = None, site: CallSite | None = None) -> LMReply:
        used = model or self.model
        system, msgs = to_anthropic(as_messages(messages))
        params = dict(self.cfg.sampling)
        params.setdefault("max_tokens", DEFAULT_MAX_TOKENS)
        if system:
            params["system"] = system
        t0 = time.perf_counter()
        try:
            resp = self._client.messages.create(
                model=used, messages=cast("list[MessageParam]", msgs), **params
            )
        except self._errors as exc:
            raise LMCallError(self._redactor.text(_describe(exc))) from None
        text = "".join(
            getattr(b, "text", "") for b in (resp.content or []) if getattr(b, "type", "") == "text"
        )
        u = getattr(resp, "usage", None)
        usage = Usage(
            calls=1,
            input_tokens=int(getattr(u, "input_tokens", 0) or 0),
            output_tokens=int(getattr(u, "output_tokens", 0) or 0),
        )
        return LMReply(text, used, usage, time.perf_counter() - t0)

    def close(self) -> None:
        try:
            self._client.close()
        except Exception:  # noqa: BLE001
            pass
