"""Write upstream-compatible JSONL trajectory logs.

The output is what upstream ``rlms`` (0.1.2+) writes, byte for byte where the
model holds the same data: one JSON object per line, ``json.dumps`` with its
default separators (``", "`` / ``": "``), ``ensure_ascii`` (pure ASCII bytes,
non-BMP characters as surrogate pairs), the same keys in the same order (see ``METADATA_KEYS``/``ITERATION_KEYS``),
nested child runs under ``rlm_calls[].metadata``. Our own additions go only
under the key ``"rlm_desktop"`` (``model.EXTRA_KEY``); no new line types.

One deliberate difference: every line is **standard JSON**. Upstream writes
NaN/Infinity bare, which browser-based tools (``JSON.parse``) reject, losing the
whole line; we write them as the strings ``"NaN"``/``"Infinity"``/``"-Infinity"``
and list where under ``"rlm_desktop": {"nonfinite": [path, ...]}``
(``format.encode_nonfinite``), so our reader gives the floats back. A record
without such numbers is written exactly as upstream would.

Building records (pure functions, no I/O):

* ``metadata_record(root_model=..., max_depth=..., ...)`` -> the first line.
* ``record_from_iteration(it, usage_model=None, status=None, error=None)`` ->
  an iteration line from a model ``Iteration`` (blocks, sub-calls and nested
  child runs included). ``it.usage`` (the root LM call's own usage),
  ``it.edited``/``original_response`` and ``status``/``error`` go under
  ``"rlm_desktop"``; the reader maps them back.
* ``sub_call_record(call)``, ``block_record(block)``, ``run_metadata(run)``.
* ``serialize_value(v)``: upstream's rules for locals (tuples -> lists, dict keys
  -> ``str``, callables -> ``"<function 'f'>"``, modules, anything else -> repr).
* ``filter_sensitive(kwargs)``: drops API keys and other secrets from kwargs.
* ``dumps_record(rec)`` -> the line (no newline).

Writing: ``TrajectoryWriter(path)`` appends lines; each line goes out in one
``write`` of the whole encoded line followed by ``flush`` and ``os.fsync``, so
a reader never sees half a record from us and a killed process loses at most
the line being written. If a write fails (disk full), the file is truncated
back to the last complete line and the error is raised (``WriteError``), so
the next successful line never glues onto a fragment. Thread-safe.
``default_log_path(log_dir, file_name)`` names files like upstream:
``<file_name>_<YYYY-mm-dd_HH-MM-SS>_<8 hex>.jsonl``.
"""

from __future__ import annotations

import json
import os
import threading
import types
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from .format import encode_nonfinite
from .model import EXTRA_KEY, CodeBlock, Iteration, Run, SubCall, Usage

METADATA_KEYS = (
    "type",
    "timestamp",
    "root_model",
    "max_depth",
    "max_iterations",
    "backend",
    "backend_kwargs",
    "environment_type",
    "environment_kwargs",
    "other_backends",
)
RUN_METADATA_KEYS = METADATA_KEYS[2:]
ITERATION_KEYS = (
    "type",
    "iteration",
    "timestamp",
    "prompt",
    "response",
    "code_blocks",
    "final_answer",
    "iteration_time",
)

_SECRET_WORDS = ("secret", "password", "authorization", "bearer")


def now_timestamp() -> str:
    """Local time, no UTC offset, like upstream (``datetime.now().isoformat()``)."""
    return datetime.now().isoformat()


def default_log_path(log_dir: str | os.PathLike[str], file_name: str = "rlm") -> Path:
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    return Path(log_dir) / f"{file_name}_{stamp}_{uuid.uuid4().hex[:8]}.jsonl"


def is_sensitive_key(key: str) -> bool:
    k = str(key).lower()
    if "api" in k and "key" in k:  # upstream's rule
        return True
    if any(w in k for w in _SECRET_WORDS):
        return True
    return k == "token" or k.endswith(("_token", "-token")) or k.endswith("access_key")


def filter_sensitive(kwargs: dict[str, Any] | None) -> dict[str, Any]:
    """Kwargs without API keys/secrets, values passed through ``serialize_value``."""
    if not kwargs:
        return {}
    return {str(k): serialize_value(v) for k, v in kwargs.items() if not is_sensitive_key(k)}


def serialize_value(value: Any) -> Any:
    """JSON-ready form of a REPL value, by upstream's rules (see module doc)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, types.ModuleType):
        return f"<module '{value.__name__}'>"
    if isinstance(value, (list, tuple)):
        return [serialize_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): serialize_value(v) for k, v in value.items()}
    if callable(value):
        return f"<{type(value).__name__} '{getattr(value, '__name__', repr(value))}'>"
    try:
        return repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not stop logging
        return f"<{type(value).__name__}>"


def usage_summary(usage: Usage, model: str) -> dict[str, Any]:
    """Upstream ``usage_summary``; an empty usage writes no model entry (as upstream)."""
    if usage.calls == 0 and usage.total_tokens == 0 and usage.cost is None:
        return {"model_usage_summaries": {}}
    return usage.to_summary(model)


def metadata_record(
    *,
    root_model: str,
    max_depth: int = 1,
    max_iterations: int = 30,
    backend: str = "openai",
    backend_kwargs: dict[str, Any] | None = None,
    environment_type: str = "local",
    environment_kwargs: dict[str, Any] | None = None,
    other_backends: list[str] | None = None,
    timestamp: str | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The metadata line. ``extra`` (e.g. ``{"version": ..., "run_id": ...}``) goes under ``"rlm_desktop"``.

    Kwargs are filtered with ``filter_sensitive``: keys never reach the log.
    """
    rec: dict[str, Any] = {
        "type": "metadata",
        "timestamp": timestamp or now_timestamp(),
        "root_model": root_model,
        "max_depth": max_depth,
        "max_iterations": max_iterations,
        "backend": backend,
        "backend_kwargs": filter_sensitive(backend_kwargs),
        "environment_type": environment_type,
        "environment_kwargs": filter_sensitive(environment_kwargs),
        "other_backends": list(other_backends) if other_backends is not None else None,
    }
    if extra:
        rec[EXTRA_KEY] = dict(extra)
    return rec


def run_metadata(run: Run) -> dict[str, Any]:
    """A nested run's ``run_metadata`` (upstream keys first, no type/timestamp)."""
    meta = run.metadata or {}
    out = {k: meta[k] for k in RUN_METADATA_KEYS if k in meta}
    for k, v in meta.items():
        if k not in out and k not in ("type", "timestamp"):
            out[k] = v
    if "backend_kwargs" in out and isinstance(out["backend_kwargs"], dict):
        out["backend_kwargs"] = filter_sensitive(out["backend_kwargs"])
    if "environment_kwargs" in out and isinstance(out["environment_kwargs"], dict):
        out["environment_kwargs"] = filter_sensitive(out["environment_kwargs"])
    return out


def sub_call_record(call: SubCall) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "root_model": call.model,
        "prompt": serialize_value(call.prompt),
        "response": call.response,
        "usage_summary": usage_summary(call.usage, call.model),
        "execution_time": call.execution_time if call.execution_time is not None else 0.0,
    }
    if call.child is not None:
        rec["metadata"] = {
            "run_metadata": run_metadata(call.child),
            "iterations": [record_from_iteration(it) for it in call.child.iterations],
        }
    if call.error is not None:
        rec["error"] = call.error
    if call.extra:
        rec[EXTRA_KEY] = dict(call.extra)
    return rec


def block_record(block: CodeBlock) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "code": block.code,
        "result": {
            "stdout": block.stdout,
            "stderr": block.stderr,
            "locals": {str(k): serialize_value(v) for k, v in block.locals.items()},
            "execution_time": block.execution_time if block.execution_time is not None else 0.0,
            "rlm_calls": [sub_call_record(c) for c in block.sub_calls],
            "final_answer": block.final_answer,
        },
    }
    if block.extra:
        rec[EXTRA_KEY] = dict(block.extra)
    return rec


def record_from_iteration(
    it: Iteration,
    *,
    usage_model: str | None = None,
    status: str | None = None,
    error: str | None = None,
    timestamp: str | None = None,
) -> dict[str, Any]:
    """An iteration line (or a nested iteration) from a model ``Iteration``.

    ``usage_model`` names the model for ``it.usage`` (default: the run's model).
    ``status`` ("cancelled"/"failed") and ``error`` mark how the run ended.
    A default-answer iteration (``it.is_default_answer``) is written as
    upstream does: no blocks, ``iteration_time`` null, ``final_answer`` = response.
    """
    final: Any = it.final_answer
    if it.is_default_answer and final is None:
        final = it.response
    if it.extra.get("final_var_missing"):  # a pre-era answer whose value the log lacks: as read
        final = ["FINAL_VAR", str(it.extra.get("final_var_name", ""))]
    rec: dict[str, Any] = {
        "type": "iteration",
        "iteration": it.number,
        "timestamp": timestamp or it.timestamp or now_timestamp(),
        "prompt": serialize_value(it.prompt),
        "response": it.response,
        "code_blocks": [block_record(b) for b in it.code_blocks],
        "final_answer": final,
        "iteration_time": None if it.is_default_answer else it.iteration_time,
    }
    extra = {k: v for k, v in it.extra.items() if k not in ("final_var_name", "final_var_missing")}
    if it.usage is not None:
        model = usage_model or (it.parent.model if it.parent is not None else "") or "unknown"
        extra["usage"] = usage_summary(it.usage, model)
    if it.edited:
        extra["edited"] = True
        if it.original_response is not None:
            extra["original_response"] = it.original_response
    if status is not None:
        extra["status"] = status
    if error is not None:
        extra["error"] = error
    if extra:
        rec[EXTRA_KEY] = extra
    return rec


def dumps_record(rec: dict[str, Any]) -> str:
    """One line as upstream writes it (without the newline), but strict JSON: non-finite
    numbers as strings with their paths under our extra key (see the module doc)."""
    return json.dumps(encode_nonfinite(rec), allow_nan=False)


class WriteError(OSError):
    """A line could not be written; the file was cut back to its last complete line."""


class TrajectoryWriter:
    """Append-only JSONL writer; see the module docstring. Use as a context manager."""

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self._lock = threading.Lock()
        self._fh: Any = None
        self._metadata_written = False
        self.lines_written = 0

    def _open(self) -> Any:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed in close()
        return self._fh

    def write_record(self, rec: dict[str, Any]) -> None:
        data = (dumps_record(rec) + "\n").encode("ascii")
        with self._lock:
            fh = self._open()
            start = os.fstat(fh.fileno()).st_size
            try:
                view = memoryview(data)
                while view:
                    n = fh.write(view)
                    view = view[n:]
                if self.fsync:
                    os.fsync(fh.fileno())
            except OSError as exc:
                try:
                    os.ftruncate(fh.fileno(), start)
                except OSError:
                    pass
                raise WriteError(exc.errno, f"cannot write trajectory line: {exc.strerror or exc}") from exc
            self.lines_written += 1

    def write_metadata(self, rec: dict[str, Any]) -> bool:
        """Write the metadata line once (later calls are ignored, as upstream). Returns True if written."""
        if self._metadata_written:
            return False
        self.write_record(rec)
        self._metadata_written = True
        return True

    def write_iteration(self, it: Iteration | dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        rec = it if isinstance(it, dict) else record_from_iteration(it, **kwargs)
        self.write_record(rec)
        return rec

    def close(self) -> None:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None

    def __enter__(self) -> TrajectoryWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_trajectory(path: str | os.PathLike[str], runs: list[Run], metadata: dict[str, Any] | None) -> None:
    """Write a whole model (e.g. a read file) back out: metadata line, then every iteration."""
    with TrajectoryWriter(path, fsync=False) as w:
        if metadata is not None:
            w.write_metadata(metadata)
        for run in runs:
            for it in run.iterations:
                w.write_iteration(it)
