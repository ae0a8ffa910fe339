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
class RunThread:
    """One engine thread of the run as a Threads panel shows it: the root run's thread, or a
    parallel child's (each ``*_batched`` call runs on its own thread), with its last boundary."""

    thread_id: int
    thread_name: str
    run_id: str  # the run its last event belongs to
    depth: int
    event: ev.Event  # its last boundary (where it is paused, when it is)
    state: str  # RUNNING / PAUSED / FINISHED (its call returned, or the root run ended)
    reason: str = ""  # when paused: "breakpoint", "step", "pause", "run-to", "all-stop"
    breakpoint: Breakpoint | None = None
    label: str = "root run"  # people's words: "root run", "rlm_query #2 (iteration 1, block 1)"


def lane_label(origin: ev.Event | None) -> str:
    """What a thread is, from the sub-call it was started for (1-based numbers)."""
    if not isinstance(origin, ev.SubCallStarted):
        return "root run"
    kind = "rlm_query" if origin.recursive else "llm_query"
    where = f"iteration {origin.iteration}, block {origin.block_index + 1}"
    if origin.depth:
        where += f", in a depth-{origin.depth} run"
    return f"{kind} #{origin.call_index + 1} ({where})"

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
    runs: tuple[RunThread, ...] = ()  # every engine thread of this run (Threads panel)
