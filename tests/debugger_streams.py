"""Synthetic engine event streams and a thread that feeds them to a gate (test helper)."""

from __future__ import annotations

import threading
import time

from rlm_desktop.engine import events as ev


def E(cls, run_id, depth, iteration, **kw):
    parent = run_id.rsplit("/", 1)[0] if "/" in run_id else None
    return cls(run_id=run_id, parent_id=parent, depth=depth, iteration=iteration, **kw)


def run_stream(run_id, depth, iterations=1, children=None, answer="done"):
    """Events of one run; ``children``: {iteration: [child event lists]} spliced in order at a
    sub-call of block 0 (sequential children)."""
    children = children or {}
    out = [E(ev.RunStarted, run_id, depth, 0, metadata={})]
    for i in range(1, iterations + 1):
        out += [
            E(ev.IterationStarted, run_id, depth, i),
            E(ev.LMRequest, run_id, depth, i, messages=(), model="m"),
            E(ev.LMResponse, run_id, depth, i, text=f"reply {run_id} {i}", model="m"),
            E(ev.CodeBlockStarted, run_id, depth, i, block_index=0, code=f"code {i}"),
        ]
        for c, child in enumerate(children.get(i, [])):
            cid = f"{run_id}/{i}.0.{c}"
            out.append(E(ev.SubCallStarted, run_id, depth, i, block_index=0, call_index=c, model="m",
                         prompt="p", recursive=True, child_run_id=cid))
            out += child
            out.append(E(ev.SubCallFinished, run_id, depth, i, block_index=0, call_index=c,
                         completion={}, child_run_id=cid))
        out += [
            E(ev.CodeBlockFinished, run_id, depth, i, block_index=0, code=f"code {i}", result={}),
            E(ev.IterationFinished, run_id, depth, i, record={}),
        ]
    out += [
        E(ev.FinalAnswer, run_id, depth, iterations, answer=answer),
        E(ev.RunFinished, run_id, depth, iterations, final_answer=answer),
    ]
    return out


class Feeder(threading.Thread):
    """Feeds events to ``gate.checkpoint`` like an engine thread; records what passed."""

    def __init__(self, gate, events, name="engine"):
        super().__init__(name=name, daemon=True)
        self.gate = gate
        self.events = list(events)
        self.passed: list = []
        self.edits: list = []
        self.cancelled = False
        self.error: BaseException | None = None

    def run(self):
        for e in self.events:
            try:
                r = self.gate.checkpoint(e)
            except ev.RunCancelledError:
                self.cancelled = True
                return
            except BaseException as exc:  # noqa: BLE001
                self.error = exc
                return
            self.passed.append(e)
            if r is not None:
                self.edits.append((e, r))


def wait_for(pred, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.002)
    raise AssertionError("condition not reached in time")


def paused_at(ctl, n=1):
    """Wait until ``n`` threads are paused; the selected one's event."""
    wait_for(lambda: len(ctl.paused_threads()) >= n and ctl.selected is not None)
    return ctl.selected.event
