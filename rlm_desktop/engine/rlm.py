"""``RLMEngine``: the public entry point of the engine (no Qt).

    eng = RLMEngine(config)
    eng.add_observer(fn)        # fn(event) for every event, any thread; exceptions are logged
    eng.set_gate(gate)          # gate.checkpoint(event) (or a callable) -> ResponseEdit | None;
                                # may block; may raise RunCancelledError (see seams.py)
    result = eng.completion(prompt, context)   # blocking, in the caller's thread
    eng.cancel()                # any thread; running REPL blocks are interrupted
    eng.log_path                # the JSONL file of the last completion, or None

``completion(prompt, context)``: ``prompt`` is the question the root model is
asked about ``context`` (the data put in the REPL). With ``context=None`` the
prompt itself is the context and there is no separate question (upstream's
single-argument form; child runs work this way).

``completion`` never raises for run failures: the ``CompletionResult`` says how
the run ended (``status``: finished, max_iterations, failed, cancelled; ``error``).
Each completion writes its own log file in ``config.log_dir``.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from rlm_desktop.trajectory.model import Run, RunStatus, Usage

from .clients import LMClient, make_client
from .clients.base import CallSite, LMReply
from .config import EngineConfig
from .environments import make_environment
from .events import Event
from .log_writer import JsonlLogObserver
from .redaction import Redactor
from .run_loop import RunLoop
from .seams import AnyGate, Observer
from .session import Session

log = logging.getLogger(__name__)


@dataclass
class CompletionResult:
    response: str | None  # the final answer (None when the run failed or was cancelled)
    status: RunStatus
    run_id: str
    error: str | None = None
    usage: Usage = field(default_factory=Usage)  # every LM call of the whole tree
    usage_by_model: dict[str, Usage] = field(default_factory=dict)
    execution_time: float = 0.0
    iterations: int = 0
    log_path: str | None = None
    log_error: str | None = None
    run: Run | None = field(default=None, repr=False)  # the engine's model of the run tree

    @property
    def ok(self) -> bool:
        return self.status in (RunStatus.FINISHED, RunStatus.MAX_ITERATIONS)

    def usage_summary(self) -> dict[str, Any]:
        """Upstream-shaped usage summary over all models."""
        models = {}
        total_cost = None
        for model, u in self.usage_by_model.items():
            entry: dict[str, Any] = {
                "total_calls": u.calls,
                "total_input_tokens": u.input_tokens,
                "total_output_tokens": u.output_tokens,
            }
            if u.cost is not None:
                entry["total_cost"] = u.cost
                total_cost = (total_cost or 0.0) + u.cost
            models[model] = entry
        out: dict[str, Any] = {"model_usage_summaries": models}
        if total_cost is not None:
            out["total_cost"] = total_cost
        return out


class RLMEngine:
    def __init__(
        self,
        config: EngineConfig | None = None,
        *,
        client: LMClient | None = None,
        sub_client: LMClient | None = None,
    ) -> None:
        self.config = config or EngineConfig()
        self._client = client
        self._sub_client = sub_client
        self._observers: list[Observer] = []
        self._gate: AnyGate | None = None
        self._lock = threading.Lock()
        self._session: Session | None = None
        self._cancel = threading.Event()
        self._running = False
        self.log_path: str | None = None

    # -- hooks -------------------------------------------------------------------------

    def add_observer(self, fn: Observer) -> None:
        with self._lock:
            self._observers.append(fn)

    def remove_observer(self, fn: Observer) -> None:
        with self._lock:
            if fn in self._observers:
                self._observers.remove(fn)

    def set_gate(self, gate: AnyGate | None) -> None:
        self._gate = gate
        if self._session is not None:
            self._session.gate = gate

    @property
    def running(self) -> bool:
        return self._running

    def cancel(self) -> None:
        """Stop the running completion (any thread). Idempotent; no-op when idle."""
        self._cancel.set()
        session = self._session
        if session is not None:
            session.cancel()

    # -- running -------------------------------------------------------------------------

    def _make_clients(self) -> tuple[LMClient, LMClient, list[LMClient]]:
        created: list[LMClient] = []
        client = self._client
        if client is None:
            client = make_client(self.config.backend)
            created.append(client)
        sub = self._sub_client
        if sub is None:
            if self.config.sub_backend is not None:
                sub = make_client(self.config.sub_backend)
                created.append(sub)
            else:
                sub = client
        return client, sub, created

    def completion(self, prompt: Any, context: Any = None) -> CompletionResult:
        with self._lock:
            if self._running:
                raise RuntimeError("this engine is already running a completion")
            self._running = True
            observers = list(self._observers)
        self._cancel.clear()
        run_id = uuid.uuid4().hex[:12]
        root_prompt = None if context is None else (prompt if prompt is None else str(prompt))
        if context is None:
            context = prompt
        redactor = Redactor(self.config.secrets())
        startup_error = None
        created: list[LMClient] = []
        try:
            client, sub, created = self._make_clients()
        except Exception as exc:  # noqa: BLE001 - reported as a failed run
            startup_error = redactor.text(f"Could not set up the model backend: {exc}")
            client = sub = _NoClient(self.config.backend.model or "unknown")
        for c in (client, sub):
            redactor.add(getattr(c, "api_key", None))
        log_obs = None
        self.log_path = None
        if self.config.log_dir:
            # records are redacted where the engine makes them; the observer need not walk them again
            log_obs = JsonlLogObserver.in_dir(
                self.config.log_dir, self.config.log_file_name, fsync=self.config.log_fsync
            )
            self.log_path = str(log_obs.path)
            observers.insert(0, log_obs)
        session = Session(
            self.config,
            client,
            sub,
            observers=observers,
            gate=self._gate,
            redactor=redactor,
            env_factory=lambda ctx, handler: make_environment(self.config, ctx, handler),
            cancel_event=self._cancel,
        )
        self._session = session
        try:
            loop = RunLoop(
                session,
                run_id=run_id,
                parent_id=None,
                depth=0,
                context=context,
                root_prompt=root_prompt,
                startup_error=startup_error,
            )
            run = loop.execute()
        finally:
            session.close()
            self._session = None
            if log_obs is not None:
                log_obs.close()
            for c in created:
                try:
                    c.close()
                except Exception:  # noqa: BLE001
                    log.exception("closing a client failed")
            with self._lock:
                self._running = False
        ok = run.status in (RunStatus.FINISHED, RunStatus.MAX_ITERATIONS)
        return CompletionResult(
            response=run.final_answer if ok else None,
            status=run.status,
            run_id=run_id,
            error=run.error,
            usage=session.totals,
            usage_by_model=dict(session.by_model),
            execution_time=session.elapsed(),
            iterations=len(run.iterations),
            log_path=self.log_path,
            log_error=log_obs.error if log_obs is not None else None,
            run=run,
        )


class _NoClient(LMClient):
    """Stands in when the backend could not be set up (the run fails at once)."""

    backend = "unavailable"
    local = True

    def complete(self, messages: Any, *, model: str | None = None, site: CallSite | None = None) -> LMReply:
        raise RuntimeError("no model backend")


__all__ = ["CompletionResult", "EngineConfig", "Event", "RLMEngine"]
