"""What the debugger reports: paused threads and the controller's state (no Qt)."""

from __future__ import annotations

from dataclasses import dataclass

from rlm_desktop.engine import events as ev

from .breakpoints import Breakpoint

RUNNING, PAUSED, FINISHED = "running", "paused", "finished"


@dataclass(frozen=True)
class PausedThread:
    """One engine thread blocked at a checkpoint (shown like a thread in a debugger)."""

    thread_id: int
    thread_name: str
    run_id: str
    depth: int
    iteration: int
    event: ev.Event
    reason: str  # "breakpoint", "pause", "step", "run-to", "all-stop"
    breakpoint: Breakpoint | None = None


@dataclass(frozen=True)
class DebugState:
    state: str  # RUNNING / PAUSED / FINISHED
    event: ev.Event | None = None  # where the selected thread is paused (or the last event)
    breakpoint: Breakpoint | None = None
    reason: str = ""
    threads: tuple[PausedThread, ...] = ()
    selected: int | None = None  # thread_id of the selected paused thread
    cancelled: bool = False
    seq: int = 0  # numbered under the controller's lock: a lower number is an older state
