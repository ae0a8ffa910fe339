"""Pick and build the REPL environment a run uses.

Names: ``"subprocess"`` (default; ``"local"`` is an alias), ``"inprocess"``,
``"docker"``. The classes live in ``rlm_desktop.engine.repl`` (written by the
REPL work); they are looked up lazily, so the engine imports without them.
A callable ``f(context, handler, **kwargs)`` can be given instead of a name.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from .config import EngineConfig

_MODULES = {
    "subprocess": "rlm_desktop.engine.repl.subprocess_env",
    "local": "rlm_desktop.engine.repl.subprocess_env",
    "inprocess": "rlm_desktop.engine.repl.inprocess_env",
    "docker": "rlm_desktop.engine.repl.docker_env",
}


class EnvironmentUnavailable(RuntimeError):
    pass


def environment_class(name: str) -> type:
    """The ``ReplEnvironment`` subclass defined in the module for ``name``."""
    modname = _MODULES.get(name)
    if modname is None:
        raise EnvironmentUnavailable(
            f"unknown REPL environment {name!r} (one of {', '.join(sorted(_MODULES))})"
        )
    try:
        module = importlib.import_module(modname)
        base = importlib.import_module("rlm_desktop.engine.repl.base").ReplEnvironment
    except ImportError as exc:
        raise EnvironmentUnavailable(f"the {name!r} REPL environment is not available: {exc}") from exc
    found = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, base)
        and obj is not base
        and obj.__module__ == module.__name__
        and not inspect.isabstract(obj)
    ]
    if not found:
        raise EnvironmentUnavailable(f"no REPL environment class in {modname}")
    # several classes: prefer the one named after the environment (e.g. SubprocessReplEnvironment)
    key = {"local": "subprocess"}.get(name, name)
    named = [c for c in found if key in c.__name__.lower().replace("_", "")]
    return (named or found)[0]


def make_environment(config: EngineConfig, context: Any, handler: Any) -> Any:
    kwargs: dict[str, Any] = {
        "block_timeout": config.block_timeout,
        "memory_limit_mb": config.memory_limit_mb,
    }
    kwargs.update(config.environment_kwargs)
    env = config.environment
    if callable(env):
        return env(context, handler, **kwargs)
    return environment_class(env)(context, handler, **kwargs)
