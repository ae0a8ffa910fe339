"""Engine configuration: which LM backend(s), limits, REPL environment, logging.

``BackendConfig`` says how to reach one model. API keys are taken from the
environment (``api_key_env``, or the provider's usual variable) or given
directly; they are never part of ``repr()``, ``public_kwargs()`` (what the log's
metadata line shows) or ``to_dict()``.

``EngineConfig`` holds the backend for the root model (and optionally another
one for sub-calls), the limits, the REPL environment and where logs go.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rlm_desktop.paths import resource_path

#: Backend kinds understood by ``rlm_desktop.engine.clients.make_client``.
BACKEND_KINDS = ("openai", "anthropic", "replay", "scripted", "auto")

#: The environment variable each provider's SDK reads by default.
DEFAULT_KEY_ENV = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
}

#: Every environment variable whose value is treated as a secret (redacted everywhere).
SECRET_ENV_VARS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY")

#: The demo trajectory shipped with the app (the replay backend's default file).
def demo_trajectory_path() -> Path:
    """The bundled demo recording (from source, a frozen build or ``RLM_DESKTOP_RESOURCES``)."""
    return resource_path("demo", "demo_trajectory.jsonl")


@dataclass
class BackendConfig:
    """How to reach one model.

    kind: ``"openai"`` (any OpenAI-compatible server via ``base_url``: vLLM,
    Ollama, OpenRouter), ``"anthropic"``, ``"replay"`` (answers from
    ``replay_path``), ``"scripted"`` (``script``, for tests) or ``"auto"``
    (openai when a key is available, else replay).
    """

    kind: str = "auto"
    model: str = ""
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    api_key_env: str | None = None  # name of the variable to read the key from
    default_key_env: bool = True  # else no fallback to the provider's variable (a local server)
    timeout: float = 120.0  # seconds per request
    max_retries: int = 4  # retries on 429/5xx/timeouts, exponential backoff
    sampling: dict[str, Any] = field(default_factory=dict)  # temperature, max_tokens, ...
    replay_path: str | None = None  # replay: the recorded trajectory file
    replay_run: int = 0  # replay: which completion in the file
    replay_check_prompts: bool = True  # replay: fail when a prompt differs from the recording
    replay_delay: float = 0.0  # replay: seconds to wait before each answer (to watch a demo unfold)
    script: Any = field(default=None, repr=False)  # scripted: see clients.scripted.ScriptedClient

    def __post_init__(self) -> None:
        if self.kind not in BACKEND_KINDS:
            raise ValueError(f"unknown backend kind {self.kind!r} (one of {', '.join(BACKEND_KINDS)})")

    # -- keys --------------------------------------------------------------------

    def resolve_api_key(self) -> str | None:
        """The key given, else the one in ``api_key_env``, else the provider's usual variable."""
        if self.api_key:
            return self.api_key
        names = [self.api_key_env] if self.api_key_env else []
        kind = self.kind if self.kind != "auto" else "openai"
        if kind in DEFAULT_KEY_ENV and self.default_key_env:
            names.append(DEFAULT_KEY_ENV[kind])
        for name in names:
            value = os.environ.get(name) if name else None
            if value:
                return value
        return None

    def resolved_kind(self) -> str:
        """``auto`` becomes ``openai`` when a key is available, else ``replay``."""
        if self.kind != "auto":
            return self.kind
        return "openai" if self.resolve_api_key() else "replay"

    # -- what may be shown ---------------------------------------------------------

    def public_kwargs(self) -> dict[str, Any]:
        """Upstream-style ``backend_kwargs`` for the log: never a key."""
        out: dict[str, Any] = {"model_name": self.model or "unknown"}
        if self.base_url:
            out["base_url"] = self.base_url
        kind = self.resolved_kind()
        if kind == "replay":
            out["replay_path"] = str(self.replay_path or demo_trajectory_path())
        if self.sampling:
            out["sampling_args"] = dict(self.sampling)
        return out

    def to_dict(self) -> dict[str, Any]:
        """Serialisable settings (for saving a run configuration); no key, only ``api_key_env``."""
        return {
            "kind": self.kind,
            "model": self.model,
            "base_url": self.base_url,
            "api_key_env": self.api_key_env,
            "default_key_env": self.default_key_env,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
            "sampling": dict(self.sampling),
            "replay_path": self.replay_path,
            "replay_run": self.replay_run,
            "replay_check_prompts": self.replay_check_prompts,
            "replay_delay": self.replay_delay,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> BackendConfig:
        allowed = set(cls().to_dict())
        return cls(**{k: v for k, v in d.items() if k in allowed})

    def __repr__(self) -> str:
        key = "set" if self.resolve_api_key() else "none"
        return (
            f"BackendConfig(kind={self.kind!r}, model={self.model!r}, base_url={self.base_url!r}, "
            f"api_key=<{key}>, timeout={self.timeout}, max_retries={self.max_retries})"
        )

    __str__ = __repr__


EnvFactory = Callable[..., Any]


@dataclass
class EngineConfig:
    """Everything an ``RLMEngine`` needs. All limits ``None`` = unlimited.

    * ``max_iterations``: root-LM turns per run; then one default-answer turn.
    * ``max_depth``: recursion limit (1 = ``rlm_query`` is a plain LM call).
    * ``max_budget`` (USD, where the provider reports cost), ``max_tokens``
      (input + output over the whole tree), ``max_timeout`` (seconds of wall time
      for the whole completion), ``max_errors`` (consecutive iterations with an
      error in a code block, per run): the run fails cleanly when one is passed.
    * ``environment``: ``"sandbox"`` (default; model code runs in a bubblewrap
      sandbox, see docs/sandbox.md), ``"subprocess"`` (a separate process with the
      app user's rights: no isolation), ``"inprocess"`` (explicit opt-in),
      ``"docker"``, or a factory ``f(context, handler, **kwargs) -> ReplEnvironment``.
    * ``allow_network``: the sandboxed REPL may open connections (off by default).
    * ``sandbox_env``: names of the app's environment variables passed into the
      sandbox (nothing else of the app's environment enters it).
    * ``max_parallel``: bound on concurrent calls of one batched sub-call.
    * ``log_dir``: where the JSONL log goes (``None``: no file).
    """

    backend: BackendConfig = field(default_factory=BackendConfig)
    sub_backend: BackendConfig | None = None  # llm_query / leaf calls; default: ``backend``
    max_iterations: int = 30
    max_depth: int = 1
    max_budget: float | None = None
    max_timeout: float | None = None
    max_tokens: int | None = None
    max_errors: int | None = None
    environment: str | EnvFactory = "sandbox"
    allow_network: bool = False
    sandbox_env: tuple[str, ...] = ()
    environment_kwargs: dict[str, Any] = field(default_factory=dict)
    block_timeout: float = 120.0
    memory_limit_mb: int | None = 2048
    log_dir: str | None = None
    log_file_name: str = "rlm"
    log_fsync: str = "async"  # fsync after every line: "async" (background), "sync" (inline) or "off"
    max_parallel: int = 4
    system_prompt: str | None = None  # None: ours (prompts.SYSTEM_PROMPT)
    output_limit: int = 20_000  # chars of one block's output put back into the history
    accept_text_final: bool = True  # also accept FINAL(...)/FINAL_VAR(...) in the reply text

    def __post_init__(self) -> None:
        if self.max_iterations < 1:
            raise ValueError("max_iterations must be at least 1")
        if self.max_depth < 1:
            raise ValueError("max_depth must be at least 1")
        if self.max_parallel < 1:
            raise ValueError("max_parallel must be at least 1")

    @property
    def environment_name(self) -> str:
        if isinstance(self.environment, str):
            return self.environment
        name = getattr(self.environment, "environment_name", None) or getattr(
            self.environment, "__name__", None
        )
        return str(name) if name else "custom"

    def secrets(self) -> list[str]:
        """Every key this configuration can reach (for redaction)."""
        out: list[str] = []
        for b in (self.backend, self.sub_backend):
            if b is not None:
                k = b.resolve_api_key()
                if k:
                    out.append(k)
        for name in SECRET_ENV_VARS:
            v = os.environ.get(name)
            if v:
                out.append(v)
        return out
