"""LM clients: OpenAI-compatible, Anthropic, replay (recorded trajectory), scripted (tests).

``make_client(BackendConfig) -> LMClient``; SDK imports happen only when such a
client is made.
"""

from __future__ import annotations

from typing import Any

from rlm_desktop.engine.config import BackendConfig, demo_trajectory_path

from .base import CallSite, LMCallError, LMClient, LMReply, as_messages
from .scripted import ScriptedClient

__all__ = [
    "CallSite",
    "LMCallError",
    "LMClient",
    "LMReply",
    "ScriptedClient",
    "as_messages",
    "make_client",
]


def make_client(cfg: BackendConfig, *, recorded: Any = None) -> LMClient:
    """``recorded``: for a replay backend, its recording already read (a Trajectory)."""
    kind = cfg.resolved_kind()
    if kind == "scripted":
        if cfg.script is None:
            raise ValueError("a scripted backend needs a script")
        return ScriptedClient(cfg.script, model=cfg.model or "scripted-model")
    if kind == "replay":
        from .replay import ReplayClient

        return ReplayClient(
            cfg.replay_path or str(demo_trajectory_path()),
            run_index=cfg.replay_run,
            check_prompts=cfg.replay_check_prompts,
            model=cfg.model or None,
            delay=cfg.replay_delay,
            trajectory=recorded,
        )
    if kind == "openai":
        from .openai_client import OpenAIClient

        return OpenAIClient(cfg)
    if kind == "anthropic":
        from .anthropic_client import AnthropicClient

        return AnthropicClient(cfg)
    raise ValueError(f"unknown backend kind {kind!r}")
