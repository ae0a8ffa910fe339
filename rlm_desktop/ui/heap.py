"""Keeps Python's cyclic garbage collector off the objects of a big trajectory.

A run of 500,000 iterations is millions of model objects, all alive while the file is shown.
Each full (generation-2) collection walks every one of them: 0.1-0.5 s with the GIL held,
the GUI thread frozen, whichever thread triggered it; while workers build their results
(totals, layouts) such collections came every second or so. ``shown(traj)`` is called when
the window shows a trajectory: for a big one, ``gc.freeze()`` moves every object alive now
into the collector's permanent generation, which collections no longer walk (the objects
are still freed by reference counting; only cycles among them wait for ``gc.unfreeze``).

Showing another trajectory (or none) unfreezes, so the previous one's cycles (a model's
``parent`` links) can be collected; when the new one is big too it is frozen only after
that next full collection has run, or it would freeze the old garbage with it: one full
collection per replaced big trajectory, none while it is looked at.
"""

from __future__ import annotations

import gc
from typing import Any

#: Trajectories with at least this many iterations (over all their runs) are frozen.
BIG_ITERATIONS = 20_000

_state: dict[str, Any] = {"frozen": False, "waiting": False}


def iterations_of(traj: Any) -> int:
    """Iterations of the trajectory's top-level runs (a count, no walk of the tree)."""
    return sum(len(run.iterations) for run in getattr(traj, "runs", ()))


def frozen() -> bool:
    """True while a big trajectory's objects are kept out of the collections."""
    return bool(_state["frozen"])


def shown(traj: Any) -> None:
    """The window now shows ``traj`` (or nothing): freeze or unfreeze the heap for it."""
    big = iterations_of(traj) >= BIG_ITERATIONS
    _stop_waiting()
    if _state["frozen"]:
        gc.unfreeze()
        _state["frozen"] = False
        if big:  # the old one's cycles go at the next full collection; freeze after it
            _state["waiting"] = True
            gc.callbacks.append(_after_full_collection)
        return
    if big:
        _freeze()


def release() -> None:
    """Unfreeze, whatever is shown (the window closes; tests)."""
    _stop_waiting()
    if _state["frozen"]:
        gc.unfreeze()
        _state["frozen"] = False


def _freeze() -> None:
    gc.freeze()
    _state["frozen"] = True


def _after_full_collection(phase: str, info: dict[str, Any]) -> None:
    # (stays registered until the next ``shown``: removing a callback while the collector
    # loops over them would skip the next one)
    if phase == "stop" and info.get("generation") == 2 and _state["waiting"]:
        _state["waiting"] = False
        _freeze()


def _stop_waiting() -> None:
    _state["waiting"] = False
    if _after_full_collection in gc.callbacks:
        gc.callbacks.remove(_after_full_collection)


__all__ = ["BIG_ITERATIONS", "frozen", "iterations_of", "release", "shown"]
