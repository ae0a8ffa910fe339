"""Replay client: answers from a recorded trajectory file instead of a model.

Calls are matched by where they happen in the run tree (``CallSite``), not by
arrival order, so parallel sub-calls replay deterministically:

* a root turn of run ``R`` at iteration position ``k`` -> the recorded
  iteration ``R/ik`` (its response; the model's original text when the
  iteration had been edited in the debugger);
* a sub-call (``llm_query`` or a leaf ``rlm_query``) -> ``R/ik/bB/cC``;
* a child run's turns -> the nested run ``R/ik/bB/cC/r`` recursively.

``R`` for the root is ``r<run_index>`` of the file. When the run diverges (the
recording has no such call, the recorded node is not the same kind of call,
or the prompt differs while ``check_prompts`` is on) ``ReplayDivergence`` names
the node and says what differs; the engine fails the run with that message.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from rlm_desktop.trajectory.model import Iteration, SubCall, Trajectory, Usage
from rlm_desktop.trajectory.reader import read_file

from .base import CallSite, LMCallError, LMClient, LMReply, as_messages


class ReplayDivergence(LMCallError):
    """The run asked for something the recording does not have."""


class ReplayClient(LMClient):
    backend = "replay"
    local = True

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        run_index: int = 0,
        check_prompts: bool = True,
        model: str | None = None,
        delay: float = 0.0,
        trajectory: Trajectory | None = None,
    ) -> None:
        """``trajectory``: the recording already read (by the app's worker), not read again."""
        self.path = str(path)
        self.delay = max(0.0, float(delay))
        # with a delay, calls run on the engine's helper threads so cancel() stays immediate
        self.local = self.delay == 0.0
        if trajectory is None and not os.path.isfile(self.path):
            raise FileNotFoundError(f"replay: no recording at {self.path}")
        self.trajectory: Trajectory = trajectory if trajectory is not None else read_file(self.path)
        runs = self.trajectory.runs
        if not runs:
            raise ValueError(f"replay: {self.path} holds no run")
        if not 0 <= run_index < len(runs):
            raise ValueError(f"replay: {self.path} has {len(runs)} runs, not {run_index + 1}")
        self.run = runs[run_index]
        super().__init__(model or self.run.model or "replay")
        self.check_prompts = check_prompts
        self._nodes = {node.path: node for node in self.run.walk()}
        self._lock = threading.Lock()
        self._closed = threading.Event()  # ends a paced call at once (the run is over)
        self.served: list[str] = []

    def public_kwargs(self) -> dict[str, Any]:
        return {"model_name": self.model, "replay_path": self.path}

    def _node_path(self, site: CallSite) -> str:
        path = site.path
        if path == "r0" or path.startswith("r0/"):
            path = self.run.path + path[2:]
        return path

    def close(self) -> None:
        self._closed.set()

    def complete(self, messages: Any, *, model: str | None = None, site: CallSite | None = None) -> LMReply:
        if site is None:
            raise ReplayDivergence("replay: a call without a place in the run tree cannot be replayed")
        path = self._node_path(site)
        node = self._nodes.get(path)
        msgs = as_messages(messages)
        if site.kind == "root":
            if not isinstance(node, Iteration):
                raise ReplayDivergence(
                    f"replay diverged at {path}: the recording has no model turn there "
                    f"(the recorded run has {self._turns(path)} turns)"
                )
            self._check(path, node.prompt, msgs)
            text = (
                node.original_response
                if node.edited and node.original_response is not None
                else node.response
            )
            usage = node.usage or Usage(calls=1)
            used = (node.parent.model if node.parent is not None else "") or self.model
        else:
            if not isinstance(node, SubCall):
                raise ReplayDivergence(f"replay diverged at {path}: the recording has no sub-call there")
            if node.child is not None:
                raise ReplayDivergence(
                    f"replay diverged at {path}: the recording has a child RLM run there, not a plain LM call"
                )
            self._check(path, as_messages(node.prompt), msgs)
            text = node.response
            usage = node.usage
            used = node.model or self.model
        if self.delay and self._closed.wait(self.delay):
            raise LMCallError("replay: the client was closed during the call")
        with self._lock:
            self.served.append(path)
        return LMReply(
            text, model or used, Usage(usage.calls or 1, usage.input_tokens, usage.output_tokens, usage.cost)
        )

    def _turns(self, path: str) -> int:
        run_path = path.rsplit("/i", 1)[0]
        return sum(
            1 for p, n in self._nodes.items() if isinstance(n, Iteration) and p.rsplit("/i", 1)[0] == run_path
        )

    def _check(self, path: str, recorded: Any, sent: list[dict[str, Any]]) -> None:
        if not self.check_prompts:
            return
        rec = recorded if isinstance(recorded, list) else as_messages(recorded)
        if rec == sent:
            return
        for i, (a, b) in enumerate(zip(rec, sent, strict=False)):
            if a != b:
                what = _first_difference(str(a.get("content", "")), str(b.get("content", "")))
                raise ReplayDivergence(
                    f"replay diverged at {path}: message {i + 1} ({b.get('role', '?')}) differs from the "
                    f"recording ({what})"
                )
        raise ReplayDivergence(
            f"replay diverged at {path}: the prompt has {len(sent)} messages, the recording {len(rec)}"
        )


def _first_difference(a: str, b: str) -> str:
    n = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"first difference at character {n}: recorded {a[n : n + 40]!r}, now {b[n : n + 40]!r}"
