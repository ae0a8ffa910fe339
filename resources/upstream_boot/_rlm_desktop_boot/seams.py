"""Wrappers around upstream ``rlm``'s seams that report a run as the app's engine events.

Seams (class attributes, wrapped once when their module loads; upstream's own code runs
unchanged inside every wrapper):

* ``RLM.completion``: a run starts (a root run, or the child run a sub-call announced)
  and ends (final answer, or cancelled/failed with the exception that leaves it);
* ``RLM._completion_turn``: one iteration; for its duration the turn's LM handler's
  ``completion`` (the root model call: request, response, usage, an edited response) and
  the environment's ``execute_code`` (a code block) are wrapped on those two objects;
* ``RLM._default_answer`` (the extra turn after ``max_iterations``) and
  ``RLM._compact_history`` (compaction's summary call, reported as a note);
* ``RLM._subcall``: hands the child run its id and place in the parent;
* ``LocalREPL._llm_query(_batched)`` / ``_rlm_query(_batched)``: sub-calls from REPL code.

Modules: ``rlm_seams`` and ``repl_seams`` (the wrappers), ``report`` (the channel: events,
checkpoints, notes), ``runs`` (where each thread is), ``values`` (upstream objects as JSON).

A checkpoint sends the event and waits for the app (``channel.ask``): go on, run an
edited response instead, or stop. Stop raises ``StopRequested`` (a ``KeyboardInterrupt``)
in the program's thread, which upstream's completion loop turns into its own
``CancellationError``, as for Ctrl+C. Without an app (closed channel) every wrapper
calls straight through.
"""

from __future__ import annotations

from .repl_seams import REPL_SEAMS
from .report import note, rlms_version
from .rlm_seams import REQUIRED, RLM_SEAMS


def report_problem(text):
    from .report import report_problem as report

    report(text)


_state = {"rlm": None}


def _patch(cls, seams):
    done = []
    for name, wrap in seams.items():
        fn = cls.__dict__.get(name)
        if fn is None or getattr(fn, "_rlm_desktop", False):
            continue
        new = wrap(fn)
        new._rlm_desktop = True
        new.__name__ = getattr(fn, "__name__", name)
        new.__doc__ = getattr(fn, "__doc__", None)
        setattr(cls, name, new)
        done.append(name)
    return done


def instrument(module_name, module):
    if module_name == "rlm.core.rlm":
        cls = getattr(module, "RLM", None)
        missing = [n for n in REQUIRED if cls is None or not callable(getattr(cls, n, None))]
        if missing:
            _state["rlm"] = "unsupported"
            note("unsupported", version=rlms_version(), missing=missing)
            return
        _patch(cls, RLM_SEAMS)
        _state["rlm"] = "instrumented"
    elif module_name == "rlm.environments.local_repl":
        cls = getattr(module, "LocalREPL", None)
        if cls is not None:
            _patch(cls, REPL_SEAMS)
