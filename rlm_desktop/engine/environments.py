"""Pick and build the REPL environment a run uses.

Names: ``"sandbox"`` (default: bubblewrap), ``"subprocess"`` (``"local"`` is an alias; no
isolation), ``"inprocess"``, ``"docker"``. The classes live in ``rlm_desktop.engine.repl``;
their modules are imported lazily (only the one a run uses).
A callable ``f(context, handler, **kwargs)`` can be given instead of a name.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from .config import EngineConfig
from .repl.base import ReplEnvironment, SubcallHandler
from .seams import Environment

_MODULES = {
    "sandbox": "rlm_desktop.engine.repl.sandbox_env",
    "subprocess": "rlm_desktop.engine.repl.subprocess_env",
    "local": "rlm_desktop.engine.repl.subprocess_env",
    "inprocess": "rlm_desktop.engine.repl.inprocess_env",
    "docker": "rlm_desktop.engine.repl.docker_env",
}


class EnvironmentUnavailable(RuntimeError):
    pass


def environment_class(name: str) -> type[ReplEnvironment]:
    """The ``ReplEnvironment`` subclass defined in the module for ``name``."""
    modname = _MODULES.get(name)
    if modname is None:
        raise EnvironmentUnavailable(
            f"unknown REPL environment {name!r} (one of {', '.join(sorted(_MODULES))})"
        )
    try:
        module = importlib.import_module(modname)
    except ImportError as exc:
        raise EnvironmentUnavailable(f"the {name!r} REPL environment is not available: {exc}") from exc
    found: list[type[ReplEnvironment]] = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, ReplEnvironment)
        and obj is not ReplEnvironment
        and obj.__module__ == module.__name__
        and not inspect.isabstract(obj)
    ]
    if not found:
        raise EnvironmentUnavailable(f"no REPL environment class in {modname}")
    # several classes: prefer the one named after the environment (e.g. SubprocessReplEnvironment)
    key = {"local": "subprocess"}.get(name, name)
    named = [c for c in found if key in c.__name__.lower().replace("_", "")]
    return (named or found)[0]


def isolation_metadata(config: EngineConfig) -> dict[str, Any]:
    """What holds model code, for the log's metadata: said plainly, never guessed."""
    name = config.environment_name
    if name == "sandbox":
        from rlm_desktop.engine.repl.bwrap import probe

        kw = config.environment_kwargs
        status = probe(kw.get("bwrap"))
        return {
            "isolation": "bubblewrap" if status.available else "unavailable",
            "sandboxed": status.available,
            "network": bool(kw.get("network", config.allow_network)),
            "message": status.message,
        }
    if name == "docker":
        return {"isolation": "docker", "sandboxed": True, "network": False, "message": "model code runs in a Docker container"}
    return {
        "isolation": "none",
        "sandboxed": False,
        "network": True,
        "message": f"UNSANDBOXED: the {name} REPL runs model code with the app user's rights",
    }


def make_environment(config: EngineConfig, context: Any, handler: SubcallHandler) -> Environment:
    kwargs: dict[str, Any] = {
        "block_timeout": config.block_timeout,
        "memory_limit_mb": config.memory_limit_mb,
    }
    if config.environment == "sandbox":
        kwargs["network"] = config.allow_network
        kwargs["env_passthrough"] = tuple(config.sandbox_env)
    kwargs.update(config.environment_kwargs)
    env = config.environment
    if callable(env):
        made: Environment = env(context, handler, **kwargs)
        return made
    made = environment_class(env)(context, handler, **kwargs)
    return made
