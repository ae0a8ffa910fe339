"""The RLM engine: loop, LM clients, REPL environments; emits events (no Qt).

Public API (see ``rlm.py``)::

    from rlm_desktop.engine import RLMEngine, EngineConfig, BackendConfig, LiveRecorder
"""

from rlm_desktop.engine.config import BackendConfig, EngineConfig
from rlm_desktop.engine.recorder import LiveRecorder
from rlm_desktop.engine.rlm import CompletionResult, RLMEngine

__all__ = ["BackendConfig", "CompletionResult", "EngineConfig", "LiveRecorder", "RLMEngine"]
