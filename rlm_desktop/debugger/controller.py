"""The pause gate: ``DebugController.checkpoint(event)`` blocks ENGINE threads (no Qt).

    ctl = DebugController(breakpoints=BreakpointManager())
    ctl.attach(engine)                # engine.set_gate(ctl); stop() calls engine.cancel()
    ctl.add_listener(fn)              # fn(DebugState) on running / paused / finished changes
    # from any thread (the GUI's):
    ctl.pause(); ctl.resume(); ctl.step_over(); ctl.step_into(); ctl.step_out()
    ctl.run_to(run_id=..., iteration=...) or ctl.run_to(path="r0/i2/b0/c1/r/i0")
    ctl.edit_response(text); ctl.stop()
    ctl.paused_threads(); ctl.select(thread_id)

Stepping is relative to the *selected* paused thread (the first one that stopped,
unless the user picks another), at its event ``E`` in run ``R`` at depth ``d``:

* step into: the next boundary in ``R``'s lineage (``R``, its ancestors and its
  descendants), so at a ``SubCallStarted`` it goes into the child run;
* step over: the next boundary of ``R`` or an ancestor (depth <= d);
* step out: the next boundary of an ancestor of ``R`` (depth < d); at the root,
  like continue;
* run to: the boundary that opens the chosen node; breakpoints still stop earlier.

All-stop: while one thread is paused, every other engine thread (parallel
children of ``rlm_query_batched``) blocks at its next checkpoint too; a command
releases them all. ``stop()`` wakes every waiting thread with
``RunCancelledError`` and cancels the engine (REPL processes end).

Listeners are plain callbacks, called outside the lock on the thread that
caused the change (an engine thread, or the thread that gave a command). So two
announcements can reach a listener in the other order than they happened: every
state is numbered (``DebugState.seq``) under the lock, and a listener drops a
state older than the last one it saw (as debugpy orders its notifications).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from rlm_desktop.engine import events as ev
from rlm_desktop.engine.seams import AnyGate

from .breakpoints import BreakpointManager
from .state import FINISHED, PAUSED, RUNNING, DebugState, PausedThread, RunThread, lane_label
from .targets import (
    NodeTarget,
    call_coords,
    in_lineage,
    is_ancestor_or_self,
    is_sibling_call,
    parse_node_path,
)

log = logging.getLogger(__name__)


class Debuggee(Protocol):
    """What ``attach`` needs of an engine (``RLMEngine``, or the channel to an upstream run)."""

    def set_gate(self, gate: AnyGate | None) -> None: ...

    def cancel(self) -> None: ...


@dataclass
class _Lane:
    """What one engine thread is doing (for ``DebugState.runs``)."""

    name: str
    origin: ev.Event | None  # the SubCallStarted it was started for (None: the root thread)
    last: ev.Event
    finished: bool = False


@dataclass
class _Waiter:
    info: PausedThread
    released: bool = False
    edit: ev.ResponseEdit | None = None


@dataclass
class _Step:
    kind: str  # "into" / "over" / "out" / "run-to"
    run_id: str = ""
    depth: int = 0
    target: NodeTarget | None = None
    coords: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    def wants(self, event: ev.Event, root_id: str | None) -> bool:
        if self.kind != "run-to" and is_sibling_call(event, self.coords):
            return False  # a parallel sibling's sub-call is another thread
        if self.kind == "into":
            return in_lineage(event.run_id, self.run_id)
        if self.kind == "over":
            return is_ancestor_or_self(event.run_id, self.run_id)
        if self.kind == "out":
            return event.depth < self.depth and is_ancestor_or_self(event.run_id, self.run_id)
        if self.kind == "run-to" and self.target is not None:
            return self.target.matches(event, root_id)
        return False


class DebugController:
    def __init__(self, breakpoints: BreakpointManager | None = None) -> None:
        self.breakpoints = breakpoints if breakpoints is not None else BreakpointManager()
        self._cond = threading.Condition()
        self._waiters: dict[int, _Waiter] = {}  # by thread id
        self._selected: int | None = None
        self._halt = False  # all-stop: every thread stops at its next checkpoint
        self._halt_reason = "pause"
        self._step: _Step | None = None
        self._cancelled = False
        self._finished = False
        self._root_id: str | None = None
        self._listeners: list[Callable[[DebugState], Any]] = []
        self._cancel_fn: Callable[[], Any] | None = None
        self._edits: list[tuple[NodeTarget, str]] = []  # scheduled response edits
        self._seq = 0  # the number of the last state made (under the lock)
        self._lanes: dict[int, _Lane] = {}  # by thread id, in the order they were first seen
        self._root_thread: int | None = None
        self._free: set[int] = set()  # threads continued on their own: all-stop lets them run
        self.last_event: ev.Event | None = None

    # -- wiring ---------------------------------------------------------------------------

    def attach(self, engine: Debuggee) -> None:
        """Become ``engine``'s gate; ``stop()`` then cancels it."""
        engine.set_gate(self)
        self._cancel_fn = engine.cancel

    def set_cancel(self, fn: Callable[[], Any] | None) -> None:
        self._cancel_fn = fn

    def add_listener(self, fn: Callable[[DebugState], Any]) -> None:
        with self._cond:
            self._listeners.append(fn)

    def remove_listener(self, fn: Callable[[DebugState], Any]) -> None:
        with self._cond:
            if fn in self._listeners:
                self._listeners.remove(fn)

    def reset(self) -> None:
        """Forget a previous run (keeps breakpoints and listeners). Not while paused."""
        with self._cond:
            if self._waiters:
                raise RuntimeError("threads are still paused")
            self._halt = False
            self._step = None
            self._cancelled = False
            self._finished = False
            self._root_id = None
            self._selected = None
            self._edits = []
            self._lanes = {}
            self._root_thread = None
            self._free = set()
            self.last_event = None

    def begin_completion(self) -> None:
        """A debuggee that runs several completions (an upstream program) starts another one:
        the end, or the stop, of an earlier one does not carry over to it."""
        with self._cond:
            self._finished = False
            if not self._waiters:
                self._cancelled = False

    # -- queries ---------------------------------------------------------------------------

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    @property
    def is_paused(self) -> bool:
        with self._cond:
            return bool(self._waiters)

    def paused_threads(self) -> list[PausedThread]:
        with self._cond:
            return [w.info for w in self._waiters.values()]

    @property
    def selected(self) -> PausedThread | None:
        with self._cond:
            w = self._waiters.get(self._selected) if self._selected is not None else None
            return w.info if w else None

    def state(self) -> DebugState:
        with self._cond:
            return self._state_locked()

    def _state_locked(self) -> DebugState:
        self._seq += 1
        threads = tuple(w.info for w in self._waiters.values() if not w.released)
        runs = self._runs_locked()
        if threads:
            sel = self._waiters.get(self._selected) if self._selected is not None else None
            info = sel.info if sel and not sel.released else threads[0]
            return DebugState(PAUSED, info.event, info.breakpoint, info.reason, threads,
                              info.thread_id, self._cancelled, self._seq, runs)
        state = FINISHED if self._finished else RUNNING
        return DebugState(state, self.last_event, None, "", (), None, self._cancelled, self._seq, runs)

    def _runs_locked(self) -> tuple[RunThread, ...]:
        out = []
        for tid, lane in self._lanes.items():
            w = self._waiters.get(tid)
            if w is not None and not w.released:
                state, reason, bp = PAUSED, w.info.reason, w.info.breakpoint
            else:
                state, reason, bp = (FINISHED if lane.finished or self._finished else RUNNING), "", None
            e = lane.last
            out.append(RunThread(tid, lane.name, e.run_id, e.depth, e, state, reason, bp, lane_label(lane.origin)))
        return tuple(out)

    def _track(self, tid: int, name: str, event: ev.Event) -> bool:
        """Under the lock: the thread's lane (a parallel call's thread, or the root's).
        True when a lane began or ended (the Threads panel is told)."""
        lane = self._lanes.get(tid)
        began = False
        if self._root_thread is None and event.depth == 0 and isinstance(event, ev.RunStarted):
            self._root_thread = tid
        if lane is None or (lane.finished and tid != self._root_thread):
            origin = event if tid != self._root_thread and isinstance(event, ev.SubCallStarted) else None
            lane = self._lanes[tid] = _Lane(name, origin, event)
            began = origin is not None
        lane.last = event
        was = lane.finished
        o = lane.origin
        if isinstance(o, ev.SubCallStarted) and isinstance(event, ev.SubCallFinished) and \
                (event.run_id, event.iteration, event.block_index, event.call_index) == \
                (o.run_id, o.iteration, o.block_index, o.call_index):
            lane.finished = True  # its call returned: the thread goes back to the pool
        if tid == self._root_thread and isinstance(event, ev.TERMINAL_EVENTS) and event.depth == 0:
            lane.finished = True
        return began or (lane.finished and not was and tid != self._root_thread)

    def _announce(self, state: DebugState) -> None:
        with self._cond:
            fns = list(self._listeners)
        for fn in fns:
            try:
                fn(state)
            except Exception:  # noqa: BLE001 - a listener must not break the engine
                log.exception("debugger listener failed")

    # -- the gate (engine threads) -------------------------------------------------------

    def checkpoint(self, event: ev.Event) -> ev.ResponseEdit | None:
        terminal = isinstance(event, ev.TERMINAL_EVENTS)
        if event.depth == 0 and isinstance(event, ev.RunStarted):
            with self._cond:
                self._root_id = event.run_id
        scheduled: ev.ResponseEdit | None = None
        me = threading.current_thread()
        with self._cond:
            self.last_event = event
            lanes_changed = self._track(me.ident or 0, me.name, event)
            cancelled = self._cancelled
            if not cancelled and self._edits and isinstance(event, ev.LMResponse):
                for i, (target, text) in enumerate(self._edits):
                    if target.matches_turn(event, self._root_id):
                        scheduled = ev.ResponseEdit(text)
                        del self._edits[i]
                        break
        if cancelled:
            self._after_cancel(event, terminal)
            return None
        bp = self.breakpoints.check(event)  # outside our lock: logpoint listeners may run
        with self._cond:
            if bp is not None and not self.breakpoints.still_stops(bp):
                bp = None  # removed or disabled meanwhile (the lock order is ours, then its)
            reason = ""
            if self._cancelled:
                reason = "cancelled"
            elif bp is not None:
                reason = "breakpoint"
            elif self._step is not None and self._step.wants(event, self._root_id):
                reason = "step" if self._step.kind != "run-to" else "run-to"
            elif self._halt and me.ident not in self._free:
                reason = self._halt_reason
            if reason == "cancelled":
                pass
            elif not reason:
                if scheduled is not None:
                    return scheduled
                finished = terminal and event.depth == 0
                if finished:
                    self._finished = True
                    state = self._state_locked()
            else:
                if not self._halt:
                    self._halt = True
                    self._halt_reason = "all-stop"
                    self._step = None
                waiter = _Waiter(
                    PausedThread(me.ident or 0, me.name, event.run_id, event.depth, event.iteration,
                                 event, reason, bp),
                    edit=scheduled,
                )
                self._waiters[waiter.info.thread_id] = waiter
                current = self._waiters.get(self._selected) if self._selected is not None else None
                if current is None or current.released or (current.info.reason == "all-stop"
                                                           and reason != "all-stop"):
                    self._selected = waiter.info.thread_id
                state = self._state_locked()
        if reason == "cancelled":
            self._after_cancel(event, terminal)
            return None
        if not reason:
            if finished:
                self._announce(state)
            elif lanes_changed:
                with self._cond:
                    state = self._state_locked()
                self._announce(state)  # a parallel call began or returned
            return None
        self._announce(state)
        with self._cond:
            while not waiter.released and not self._cancelled:
                self._cond.wait()
            self._waiters.pop(waiter.info.thread_id, None)
            if self._selected == waiter.info.thread_id:
                self._selected = None
            cancelled = self._cancelled
            finished = terminal and event.depth == 0 and not cancelled
            if finished:
                self._finished = True
            state = self._state_locked()
        if finished:
            self._announce(state)
        if cancelled:
            self._after_cancel(event, terminal)
            return None
        return waiter.edit

    def _after_cancel(self, event: ev.Event, terminal: bool) -> None:
        if terminal:
            if event.depth == 0:
                with self._cond:
                    self._finished = True
                    state = self._state_locked()
                self._announce(state)
            return None
        raise ev.RunCancelledError("cancelled by the user")

    # -- commands (any thread) -------------------------------------------------------------

    def select(self, thread_id: int) -> None:
        """Pick the paused thread the step commands and edits apply to."""
        with self._cond:
            if thread_id not in self._waiters:
                raise KeyError(f"no paused thread {thread_id}")
            self._selected = thread_id
            state = self._state_locked()
        self._announce(state)

    def pause(self) -> None:
        """Stop at the next boundary of any thread."""
        with self._cond:
            if self._halt or self._cancelled:
                return
            self._halt = True
            self._halt_reason = "pause"
            self._step = None
            self._free.clear()

    def _release(self, step: _Step | None, thread_id: int | None) -> bool:
        """Release every paused thread; ``step`` is bound to the selected one."""
        with self._cond:
            if thread_id is not None:
                if thread_id not in self._waiters:
                    raise KeyError(f"no paused thread {thread_id}")
                self._selected = thread_id
            sel = self._waiters.get(self._selected) if self._selected is not None else None
            if step is not None and step.kind != "run-to":
                if sel is None:
                    return False
                step.run_id = sel.info.run_id
                step.depth = sel.info.depth
                step.coords = call_coords(sel.info.event)
                if step.kind == "out" and sel.info.depth == 0:
                    step = None
            self._step = step
            self._halt = False
            self._free.clear()
            for w in self._waiters.values():
                w.released = True
            self._cond.notify_all()
            had = bool(self._waiters)
            self._seq += 1  # the released threads leave ``_waiters`` later, on their own
            state = DebugState(RUNNING, self.last_event, cancelled=self._cancelled, seq=self._seq)
        if had:
            self._announce(state)
        return had

    def resume(self) -> None:
        """Continue until a breakpoint (or the end)."""
        self._release(None, None)

    def continue_thread(self, thread_id: int) -> bool:
        """Continue only this paused thread: the others stay paused (all-stop holds), it runs
        until a breakpoint or its end; False when it is not paused (any more)."""
        with self._cond:
            w = self._waiters.get(thread_id)
            if w is None or w.released:
                return False
            w.released = True
            self._free.add(thread_id)
            if self._selected == thread_id:
                rest = [t for t, x in self._waiters.items() if not x.released]
                self._selected = rest[0] if rest else None
            self._cond.notify_all()
            state = self._state_locked()
        self._announce(state)
        return True

    continue_ = resume

    def step_into(self, thread_id: int | None = None) -> bool:
        return self._release(_Step("into"), thread_id)

    def step_over(self, thread_id: int | None = None) -> bool:
        return self._release(_Step("over"), thread_id)

    def step_out(self, thread_id: int | None = None) -> bool:
        return self._release(_Step("out"), thread_id)

    def run_to(
        self, *, run_id: str | None = None, iteration: int | None = None, path: str | None = None
    ) -> None:
        """Continue to a node: ``run_id`` (+ ``iteration``), or a model node ``path``.
        Works while paused or running (then it is a temporary breakpoint)."""
        if path is not None:
            target = parse_node_path(path)
        elif run_id is not None:
            target = NodeTarget(run_id=run_id, iteration=iteration)
        else:
            raise ValueError("run_to needs a run_id or a path")
        step = _Step("run-to", target=target)
        with self._cond:
            paused = bool(self._waiters)
            if not paused:
                self._step = step
                return
        self._release(step, None)

    def edit_response(self, text: str, thread_id: int | None = None) -> None:
        """While paused at an ``LMResponse``: run (and log) ``text`` instead of the model's."""
        with self._cond:
            tid = thread_id if thread_id is not None else self._selected
            w = self._waiters.get(tid) if tid is not None else None
            if w is None:
                raise RuntimeError("not paused")
            if not isinstance(w.info.event, ev.LMResponse):
                raise RuntimeError(f"a response can be edited only at LMResponse, not {w.info.event.kind}")
            w.edit = ev.ResponseEdit(text)

    def schedule_edit(self, text: str, *, path: str | None = None, run_id: str | None = None,
                      iteration: int | None = None) -> None:
        """Replace the model's answer of one turn (a model node ``path`` like ``"r0/i2"``, or
        ``run_id`` + ``iteration``) when it arrives, without pausing (replay-then-fork)."""
        if path is not None:
            target = parse_node_path(path)
        elif run_id is not None and iteration is not None:
            target = NodeTarget(run_id=run_id, iteration=iteration)
        else:
            raise ValueError("schedule_edit needs a path or a run_id and an iteration")
        if target.iteration is None or target.block is not None:
            raise ValueError("an edit must name a model turn (an iteration)")
        with self._cond:
            self._edits.append((target, text))

    def stop(self) -> None:
        """Cancel the run: waiting threads raise ``RunCancelledError``; the engine is cancelled."""
        with self._cond:
            if self._finished:
                return
            self._cancelled = True
            self._halt = False
            self._step = None
            self._cond.notify_all()
            fn = self._cancel_fn
        if fn is not None:
            try:
                fn()
            except Exception:  # noqa: BLE001
                log.exception("cancelling the engine failed")
