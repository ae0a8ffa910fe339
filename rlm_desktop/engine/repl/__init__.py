"""REPL environments that run model-written code (see ``base.py`` for the interface)."""

from rlm_desktop.engine.repl.base import (
    ReplEnvironment,
    ReplResult,
    SubcallHandler,
    SubcallRequest,
    environment_from_name,
)

__all__ = ["ReplEnvironment", "ReplResult", "SubcallHandler", "SubcallRequest", "environment_from_name"]
