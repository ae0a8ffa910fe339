"""Run-tree data model and JSONL read/write/index/tail (no Qt).

The reading face (stable; other modules and tools should read logs through it):

* ``LogReader(path, still_running=False, max_line=None)``: one reader, three modes:
  ``header()`` -> ``LogHeader`` (metadata line only), ``totals()`` -> ``FileTotals``
  (every run's numbers in one streaming pass, memory bounded), ``iteration(run, pos)``
  -> ``Iteration`` (one line parsed on demand through the byte index), ``read()`` ->
  ``Trajectory`` (the whole model); ``document()`` -> ``LazyTrajectory`` (index +
  bounded cache of parsed iterations, for a UI).
* The same as functions: ``read_header``, ``read_totals``, ``read_iteration``, ``read_file``,
  and ``read_bytes`` / ``parse_line`` for data in memory.
* Model types: ``Trajectory``, ``Run``, ``Iteration``, ``CodeBlock``, ``SubCall``, ``Usage``,
  ``RunStatus``, ``BadLine``; totals: ``FileTotals``, ``RunTotals``.
* The record rules themselves (run split, eras, final answers, byte peeks, NaN, file
  identity, whose way a run's usage is counted) are in ``format.py``: the one place to
  change when upstream's format changes.
* Counting each LM call once: ``upstream_of(node)`` (``format.counts_upstream`` on the
  node's root run: upstream's way unless its metadata line is ours), the rule every view
  and roll-up (``summary``, ``RunTotals``) uses.
"""

from __future__ import annotations

import importlib
from typing import Any

#: name -> submodule; imported on first use, so ``import rlm_desktop.trajectory.model``
#: stays light (no numpy/orjson) for code that only needs the model
_EXPORTS = {
    "RunSplit": "format",
    "counts_upstream": "format",
    "final_text": "format",
    "guess_era": "format",
    "LazyTrajectory": "lazy",
    "is_placeholder": "lazy",
    "LogHeader": "log_reader",
    "LogReader": "log_reader",
    "read_header": "log_reader",
    "read_iteration": "log_reader",
    "read_totals": "log_reader",
    "BadLine": "model",
    "CodeBlock": "model",
    "Iteration": "model",
    "Run": "model",
    "RunStatus": "model",
    "SubCall": "model",
    "Trajectory": "model",
    "Usage": "model",
    "LineError": "reader",
    "parse_line": "reader",
    "read_bytes": "reader",
    "read_file": "reader",
    "upstream_of": "summary",
    "FileTotals": "totals",
    "RunTotals": "totals",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
