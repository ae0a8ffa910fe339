"""Breakpoints, stepping and the pause gate (no Qt, thread-safe).

* ``breakpoints``: ``Breakpoint``, ``BreakpointManager`` (kinds, safe conditions, logpoints);
* ``controller``: ``DebugController``, the engine's gate (pause/continue/steps/run to/stop,
  all-stop threads, edit-and-continue, listeners);
* ``fork``: replay-then-fork (``ForkPlan``, ``fork_engine``, ``run_fork``);
* ``state``/``targets``: what the controller reports; where steps land.
"""

from .breakpoints import KINDS, Breakpoint, BreakpointManager, LogMessage
from .controller import DebugController
from .fork import Fork, ForkClient, ForkPlan, fork_engine, run_fork
from .state import FINISHED, PAUSED, RUNNING, DebugState, PausedThread

__all__ = [
    "FINISHED",
    "KINDS",
    "PAUSED",
    "RUNNING",
    "Breakpoint",
    "BreakpointManager",
    "DebugController",
    "DebugState",
    "Fork",
    "ForkClient",
    "ForkPlan",
    "LogMessage",
    "PausedThread",
    "fork_engine",
    "run_fork",
]
