"""Replay-then-fork: re-run a recording up to a chosen model turn, then go live (no Qt).

    plan = ForkPlan(recording="run.jsonl", fork_at="r0/i3", prompt=..., context=...,
                    live=BackendConfig(kind="openai", model="gpt-4o-mini"))   # and/or
                    # edited_response="```repl\\n...\\n```"
    fork = fork_engine(plan, config)     # .engine (a new log in config.log_dir), .controller
    result = fork.run()                  # or DebugSession.start_fork(plan, config)

Every LM call of the new run goes through a ``ForkClient``. Calls are ordered by
where they sit in the run tree (pre-order of the node paths: a turn, then its
sub-calls and their child runs, then the next turn), which is the order the
engine makes them in; parallel batched calls are ordered by call index. Calls
before the fork point are answered by the replay client (so the REPL state is
rebuilt by really running the recorded code, and a recording that no longer
reproduces fails with the replay's divergence message); the fork turn and
everything after it go to the live backend. With ``edited_response`` the fork
turn itself is still replayed and its text replaced through the debugger
(``DebugController.schedule_edit``), so the log marks it edited and keeps the
original; calls after it go live (without a live backend they fail the run
with a clear message, unless the edited turn ends the run).

The recording's ``max_iterations`` and ``max_depth`` are used (the prompts
mention them, so replay needs the same values); ``prompt`` and ``context`` must
be the original ones (logs do not hold the context). Upstream (``rlms``) logs
have other prompt texts: replay them with ``check_prompts=False``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
from dataclasses import dataclass
from typing import Any

from rlm_desktop.engine.clients import make_client
from rlm_desktop.engine.clients.base import CallSite, LMCallError, LMClient, LMReply
from rlm_desktop.engine.clients.replay import ReplayClient
from rlm_desktop.engine.config import BackendConfig, EngineConfig
from rlm_desktop.trajectory.model import Iteration

from .controller import DebugController


def order_key(path: str) -> tuple[int, ...]:
    """Execution order of a node path: ``r0/i2/b0/c1/r/i0`` -> ``(2, 0, 1, 0)``."""
    out: list[int] = []
    for seg in path.split("/")[1:]:
        m = re.fullmatch(r"[ibc](\d+)", seg)
        if m:
            out.append(int(m.group(1)))
        elif seg != "r":
            raise ValueError(f"bad segment {seg!r} in node path {path!r}")
    return tuple(out)


class ForkClient(LMClient):
    """Replays calls before ``fork_at`` and sends the others to ``live``.

    ``replay_fork_turn``: the call at ``fork_at`` itself is replayed (an edit follows)."""

    def __init__(
        self, replay: ReplayClient, live: LMClient | None, fork_at: str, *, replay_fork_turn: bool = False
    ) -> None:
        super().__init__(live.model if live is not None else replay.model)
        self.replay = replay
        self.live = live
        self.fork_at = fork_at
        self.fork_key = order_key(fork_at)
        self.replay_fork_turn = replay_fork_turn
        self.backend = live.backend if live is not None else replay.backend
        self.local = replay.local and (live is None or live.local)
        self._lock = threading.Lock()
        self.replayed: list[str] = []
        self.live_calls: list[str] = []

    @property
    def api_key(self) -> str | None:  # for the engine's redactor
        return getattr(self.live, "api_key", None)

    def public_kwargs(self) -> dict[str, Any]:
        out = dict(self.live.public_kwargs()) if self.live is not None else {"model_name": self.model}
        out["replay_path"] = self.replay.path
        out["fork_at"] = self.fork_at
        return out

    def is_replayed(self, site: CallSite) -> bool:
        key = order_key(site.path)
        return key < self.fork_key or (self.replay_fork_turn and key == self.fork_key)

    def complete(self, messages: Any, *, model: str | None = None, site: CallSite | None = None) -> LMReply:
        if site is None:
            raise LMCallError("fork: a call without a place in the run tree")
        if self.is_replayed(site):
            reply = self.replay.complete(messages, model=None, site=site)
            with self._lock:
                self.replayed.append(site.path)
            return reply
        if self.live is None:
            raise LMCallError(
                f"fork: {site.path} comes after the fork point {self.fork_at} and no live backend is set"
            )
        with self._lock:
            self.live_calls.append(site.path)
        return self.live.complete(messages, model=model, site=site)

    def close(self) -> None:
        if self.live is not None:
            self.live.close()


@dataclass
class ForkPlan:
    recording: str | os.PathLike[str]
    fork_at: str  # node path of a model turn in the recording ("r0/i3", "r0/i1/b0/c0/r/i1")
    prompt: Any
    context: Any = None
    live: BackendConfig | LMClient | None = None
    edited_response: str | None = None
    run_index: int = 0
    check_prompts: bool = True
    recorded: Any = None  # the recording's Trajectory when already read (not read again)

    def validate(self, replay: ReplayClient) -> Iteration:
        if self.live is None and self.edited_response is None:
            raise ValueError("a fork needs a live backend, an edited response, or both")
        path = self.fork_at
        if path == "r0" or path.startswith("r0/"):
            path = replay.run.path + path[2:]
        node = replay.trajectory.find(path)
        if not isinstance(node, Iteration):
            raise ValueError(f"{self.fork_at} is not a model turn of the recording")
        return node


@dataclass
class Fork:
    """A fork ready to run: ``engine.completion(plan.prompt, plan.context)``."""

    plan: ForkPlan
    engine: Any
    controller: DebugController
    client: ForkClient

    def run(self) -> Any:
        """Blocking: the fork's ``CompletionResult`` (its ``log_path`` is the new log)."""
        try:
            return self.engine.completion(self.plan.prompt, self.plan.context)
        finally:
            self.client.close()


def fork_engine(
    plan: ForkPlan, config: EngineConfig | None = None, *, controller: DebugController | None = None
) -> Fork:
    """An engine set up for the fork; its gate is ``controller`` (new or given, reset here)."""
    from rlm_desktop.engine.rlm import RLMEngine

    replay = ReplayClient(plan.recording, run_index=plan.run_index, check_prompts=plan.check_prompts,
                          trajectory=plan.recorded)
    plan.validate(replay)
    live = plan.live
    if isinstance(live, BackendConfig):
        same = live.resolved_kind() == "replay" and live.replay_path and \
            os.path.realpath(live.replay_path) == os.path.realpath(str(plan.recording))
        live = make_client(live, recorded=replay.trajectory if same else None)  # not read twice
    client = ForkClient(replay, live, plan.fork_at, replay_fork_turn=plan.edited_response is not None)
    meta = replay.run.metadata or {}
    base = config or EngineConfig()
    changes: dict[str, Any] = {"log_file_name": "fork"}
    for key in ("max_iterations", "max_depth"):
        if isinstance(meta.get(key), int) and meta[key] >= 1:
            changes[key] = meta[key]
    if isinstance(plan.live, BackendConfig):
        changes["backend"] = plan.live
    cfg = dataclasses.replace(base, **changes)
    engine = RLMEngine(cfg, client=client, sub_client=client)
    ctl = controller if controller is not None else DebugController()
    ctl.reset()
    ctl.attach(engine)
    if plan.edited_response is not None:
        ctl.schedule_edit(plan.edited_response, path=plan.fork_at)
    return Fork(plan, engine, ctl, client)


def run_fork(plan: ForkPlan, config: EngineConfig | None = None) -> Any:
    """Blocking convenience: set up the fork and run it."""
    return fork_engine(plan, config).run()


def demo_plan(
    fork_at: str,
    *,
    live: BackendConfig | LMClient | None = None,
    edited_response: str | None = None,
    demo_dir: str | os.PathLike[str] | None = None,
) -> tuple[ForkPlan, EngineConfig]:
    """A fork of the bundled demo run (its prompt and context are known) and its config
    (without ``log_dir`` and with the demo's environment: adjust before running)."""
    from rlm_desktop.engine.demo import load_demo

    demo = load_demo(demo_dir)
    plan = ForkPlan(
        demo.trajectory_path, fork_at, demo.prompt, demo.context, live=live, edited_response=edited_response
    )
    return plan, demo.config
