"""The program's messages (bootstrap, ``resources/upstream_boot``) -> our engine's events.

    events = ProgramEvents(out=fn, on_root=fn)
    event = events.apply(source, msg)   # source: the process's connection (any object)
    events.recorder                     # a LiveRecorder of everything so far
    events.process_ended(source, pid)   # its runs that did not end are failed

Messages carry an event kind and its fields (``run_id``, ``parent_id``, ``depth``,
``iteration`` and the kind's own). The event is made, applied to our own ``LiveRecorder``
and handed to ``out``. Our recorder is what the iteration records are built from
(``trajectory.writer.record_from_iteration``), so a record has the same shape as our
engine's: child runs nested, the root call's usage, ``edited``, and how a run stopped
(``status``/``error`` on the iteration in progress, as our engine writes it). The program
sends only the new messages of a run's history and the REPL values that changed; the rest
is filled in from the run's last request and block here. Compaction's summary calls (a
note, not an event) go under ``rlm_desktop.compactions`` of the next iteration's record.

Not thread-safe: the caller applies one message at a time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from rlm_desktop.trajectory.model import Iteration, RunStatus
from rlm_desktop.trajectory.writer import filter_sensitive, record_from_iteration

from . import events as ev
from .recorder import LiveRecorder

log = logging.getLogger(__name__)


class ProgramEvents:
    def __init__(self, out: Callable[[ev.Event], Any], on_root: Callable[[], Any] | None = None) -> None:
        self.recorder = LiveRecorder()
        self._out = out
        self._on_root = on_root
        self.roots: dict[str, str] = {}  # run id -> its root's run id
        self._active: dict[str, Any] = {}  # runs started and not ended -> their source
        self._compactions: dict[str, list[dict[str, Any]]] = {}
        self._history: dict[str, list[Any]] = {}  # run id -> its last LM request's messages
        self._locals: dict[str, dict[str, Any]] = {}  # run id -> its last block's locals
        self.completions = 0
        self.last_answer: str | None = None

    def emit(self, event: ev.Event) -> None:
        """Into our recorder (it builds the records), then out."""
        try:
            self.recorder.apply(event)
        except Exception:  # noqa: BLE001
            log.exception("recording %s failed", event.kind)
        self._out(event)

    def apply(self, source: Any, msg: dict[str, Any]) -> ev.Event | None:
        """One message of the program's process ``source`` -> the event it makes (emitted), or None."""
        kind = str(msg.get("kind") or "")
        base: dict[str, Any] = {
            "run_id": str(msg.get("run_id") or ""),
            "parent_id": msg.get("parent_id"),
            "depth": int(msg.get("depth") or 0),
            "iteration": int(msg.get("iteration") or 0),
            "time": float(msg.get("time") or time.time()),
        }
        rid: str = base["run_id"]
        if kind == "Compaction":
            self._compactions.setdefault(rid, []).append(
                {"summary": msg.get("summary"), "usage": msg.get("usage"), "model": msg.get("model")})
            return None
        maker = getattr(self, "_make_" + kind, None)
        if maker is None or not rid:
            return None
        event = maker(base, msg, source)
        if event is None:
            return None
        self.emit(event)
        if kind == "IterationStarted":
            notes = self._compactions.pop(rid, None)
            it = self.recorder._iters.get((rid, base["iteration"]))
            if notes and it is not None:
                it.extra.setdefault("compactions", []).extend(notes)
        return event

    def _make_RunStarted(self, base: dict[str, Any], msg: dict[str, Any], source: Any) -> ev.Event:  # noqa: N802
        meta = dict(msg.get("metadata") or {})
        for k in ("backend_kwargs", "environment_kwargs"):
            if isinstance(meta.get(k), dict):
                meta[k] = filter_sensitive(meta[k])
        rid, parent = base["run_id"], base["parent_id"]
        spawned = msg.get("spawned_at")
        self.roots[rid] = self.roots.get(parent, parent) if parent else rid
        self._active[rid] = source
        if parent is None:
            self.completions += 1
            if self._on_root is not None:
                self._on_root()
        question = msg.get("question")
        return ev.RunStarted(**base, metadata=meta, prompt_preview=str(msg.get("prompt_preview") or ""),
                             question=question if isinstance(question, str) and question else None,
                             spawned_at=tuple(spawned) if isinstance(spawned, list) and len(spawned) == 3 else None)

    def _make_IterationStarted(self, base: dict[str, Any], msg: dict[str, Any], source: Any) -> ev.Event:  # noqa: N802
        return ev.IterationStarted(**base)

    def _make_LMRequest(self, base: dict[str, Any], msg: dict[str, Any], source: Any) -> ev.Event:  # noqa: N802
        messages = msg.get("messages")
        if not isinstance(messages, list):
            messages = [{"role": "user", "content": str(messages)}]
        start = msg.get("messages_from")
        if isinstance(start, int):  # only the new messages came: the rest is the last request's
            messages = self._history.get(base["run_id"], [])[:start] + messages
        self._history[base["run_id"]] = messages
        return ev.LMRequest(**base, messages=tuple(m if isinstance(m, dict) else {"content": m} for m in messages),
                            model=str(msg.get("model") or ""))

    def _make_LMResponse(self, base: dict[str, Any], msg: dict[str, Any], source: Any) -> ev.Event:  # noqa: N802
        usage = msg.get("usage")
        return ev.LMResponse(**base, text=str(msg.get("text") or ""), model=str(msg.get("model") or ""),
                             usage=usage if isinstance(usage, dict) else None,
                             elapsed=float(msg.get("elapsed") or 0.0),
                             code_blocks=tuple(str(c) for c in msg.get("code_blocks") or ()))

    def _make_CodeBlockStarted(self, base: dict[str, Any], msg: dict[str, Any], source: Any) -> ev.Event:  # noqa: N802
        return ev.CodeBlockStarted(**base, block_index=int(msg.get("block_index") or 0), code=str(msg.get("code") or ""))

    def _make_CodeBlockOutput(self, base: dict[str, Any], msg: dict[str, Any], source: Any) -> ev.Event:  # noqa: N802
        stream = "stderr" if msg.get("stream") == "stderr" else "stdout"
        return ev.CodeBlockOutput(**base, block_index=int(msg.get("block_index") or 0), stream=stream,
                                  text=str(msg.get("text") or ""))

    def _make_CodeBlockFinished(self, base: dict[str, Any], msg: dict[str, Any], source: Any) -> ev.Event:  # noqa: N802
        result = msg.get("result")
        if isinstance(result, dict) and isinstance(result.get("locals"), dict):
            last = self._locals.get(base["run_id"], {})
            sent = result["locals"]
            loc = sent
            if msg.get("locals_same"):  # values unchanged since the last block came by name only
                order = msg.get("locals_order") or [*msg["locals_same"], *sent]
                loc = {k: sent[k] if k in sent else last.get(k) for k in order}
            result["locals"] = loc
            self._locals[base["run_id"]] = loc
        return ev.CodeBlockFinished(**base, block_index=int(msg.get("block_index") or 0),
                                    code=str(msg.get("code") or ""),
                                    result=result if isinstance(result, dict) else {})

    def _make_SubCallStarted(self, base: dict[str, Any], msg: dict[str, Any], source: Any) -> ev.Event:  # noqa: N802
        return ev.SubCallStarted(**base, block_index=int(msg.get("block_index") or 0),
                                 call_index=int(msg.get("call_index") or 0), model=str(msg.get("model") or ""),
                                 prompt=msg.get("prompt"), recursive=bool(msg.get("recursive")),
                                 child_run_id=msg.get("child_run_id"), call_kind=str(msg.get("call_kind") or "llm"),
                                 batched=bool(msg.get("batched")))

    def _make_SubCallFinished(self, base: dict[str, Any], msg: dict[str, Any], source: Any) -> ev.Event:  # noqa: N802
        comp = msg.get("completion")
        return ev.SubCallFinished(**base, block_index=int(msg.get("block_index") or 0),
                                  call_index=int(msg.get("call_index") or 0),
                                  completion=comp if isinstance(comp, dict) else {},
                                  error=msg.get("error"), child_run_id=msg.get("child_run_id"))

    def _record(self, base: dict[str, Any], *, final: Any = None, took: Any = None, default: bool = False,
                timestamp: str | None = None, status: str | None = None, error: str | None = None) -> dict[str, Any]:
        it = self.recorder._iters.get((base["run_id"], base["iteration"]))
        if it is None:
            it = Iteration(number=base["iteration"])
        it.final_answer = None if final is None else str(final)
        it.iteration_time = float(took) if isinstance(took, (int, float)) and not isinstance(took, bool) else None
        it.is_default_answer = default
        run = self.recorder.runs.get(base["run_id"])
        model = run.model if run is not None else None
        return record_from_iteration(it, usage_model=model or None, timestamp=timestamp, status=status, error=error)

    def _make_IterationFinished(self, base: dict[str, Any], msg: dict[str, Any], source: Any) -> ev.Event:  # noqa: N802
        rec = self._record(base, final=msg.get("final_answer"), took=msg.get("iteration_time"),
                           default=bool(msg.get("default")), timestamp=msg.get("timestamp"))
        return ev.IterationFinished(**base, record=rec)

    def _make_FinalAnswer(self, base: dict[str, Any], msg: dict[str, Any], source: Any) -> ev.Event:  # noqa: N802
        bi = msg.get("block_index")
        return ev.FinalAnswer(**base, answer=str(msg.get("answer") or ""), block_index=bi if isinstance(bi, int) else None)

    def _make_RunFinished(self, base: dict[str, Any], msg: dict[str, Any], source: Any) -> ev.Event:  # noqa: N802
        self._ended(base)
        if base["parent_id"] is None:
            self.last_answer = None if msg.get("final_answer") is None else str(msg.get("final_answer"))
        usage = msg.get("usage")
        return ev.RunFinished(**base, final_answer=msg.get("final_answer"),
                              usage=usage if isinstance(usage, dict) else None, elapsed=float(msg.get("elapsed") or 0.0))

    def _close_iteration(self, base: dict[str, Any], status: RunStatus, message: str) -> None:
        """How a run stopped goes on the iteration in progress (or a new, empty one), as our engine does."""
        run = self.recorder.runs.get(base["run_id"])
        if run is None:
            return
        current = run.iterations[-1] if run.iterations and run.iterations[-1].running else None
        b = dict(base)
        if current is None:
            b["iteration"] = len(run.iterations) + 1
            self.emit(ev.IterationStarted(**b))
        else:
            b["iteration"] = current.number
        rec = self._record(b, status=status.value, error=message)
        self.emit(ev.IterationFinished(**b, record=rec))

    def _make_RunCancelled(self, base: dict[str, Any], msg: dict[str, Any], source: Any) -> ev.Event:  # noqa: N802
        reason = str(msg.get("reason") or "cancelled")
        self._close_iteration(base, RunStatus.CANCELLED, reason)
        self._ended(base)
        return ev.RunCancelled(**base, reason=reason)

    def _make_RunFailed(self, base: dict[str, Any], msg: dict[str, Any], source: Any) -> ev.Event:  # noqa: N802
        error = str(msg.get("error") or "failed")
        self._close_iteration(base, RunStatus.FAILED, error)
        self._ended(base)
        return ev.RunFailed(**base, error=error)

    def _ended(self, base: dict[str, Any]) -> None:
        self._active.pop(base["run_id"], None)
        self._history.pop(base["run_id"], None)
        self._locals.pop(base["run_id"], None)

    def process_ended(self, source: Any, pid: int) -> None:
        """A process went away: its runs that did not end are failed (deepest first)."""
        left = [rid for rid, c in self._active.items() if c is source]
        left.sort(key=lambda r: r.count("/"), reverse=True)
        for rid in left:
            run = self.recorder.runs.get(rid)
            parent = rid.rsplit("/", 1)[0] if "/" in rid else None
            depth = run.depth if run is not None else rid.count("/")
            iteration = len(run.iterations) if run is not None else 0
            msg = {"error": f"the program's process {pid} ended before this run finished"}
            base = {"run_id": rid, "parent_id": parent, "depth": depth, "iteration": iteration, "time": time.time()}
            self.emit(self._make_RunFailed(base, msg, source))

    def root_of(self, run_id: str) -> str:
        return self.roots.get(run_id, run_id)


__all__ = ["ProgramEvents"]
