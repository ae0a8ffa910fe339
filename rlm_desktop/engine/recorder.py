"""``LiveRecorder``: the engine's event stream -> the same model objects the reader builds.

    rec = LiveRecorder()
    node = rec.apply(event)     # the Run / Iteration / CodeBlock / SubCall touched (or None)
    rec.trajectory              # a ``Trajectory`` growing in place

A live run and the JSONL file written for it become equal model trees (the
test ``test_engine_recorder`` checks this field by field): nodes get filled as
events arrive, with ``running`` True until they finish, and at
``IterationFinished`` the iteration takes the final values from the record (its
timestamp, time, final answer and our ``rlm_desktop`` extras).

Not thread-safe: the caller serialises ``apply`` calls (the UI applies events in
the GUI thread). Events of unknown runs are ignored (returns None).
"""

from __future__ import annotations

from typing import Any

from rlm_desktop.trajectory.model import (
    EXTRA_KEY,
    CodeBlock,
    Iteration,
    Node,
    Run,
    RunStatus,
    SubCall,
    Trajectory,
    Usage,
)
from rlm_desktop.trajectory.run_card import STARTED_QUESTION_KEY

from . import events as ev


class LiveRecorder:
    def __init__(self, trajectory: Trajectory | None = None) -> None:
        self.trajectory = trajectory if trajectory is not None else Trajectory()
        self.runs: dict[str, Run] = {}
        self._iters: dict[tuple[str, int], Iteration] = {}

    # -- lookups --------------------------------------------------------------------

    def run(self, run_id: str) -> Run | None:
        return self.runs.get(run_id)

    def _iteration(self, e: ev.Event) -> Iteration | None:
        return self._iters.get((e.run_id, e.iteration))

    def _block(self, e: ev.Event, index: int) -> CodeBlock | None:
        it = self._iteration(e)
        if it is None:
            return None
        for b in it.code_blocks:
            if b.index == index:
                return b
        return None

    def _call(self, e: ev.Event, block_index: int, call_index: int) -> SubCall | None:
        b = self._block(e, block_index)
        if b is None:
            return None
        for c in b.sub_calls:
            if c.index == call_index:
                return c
        return None

    # -- applying ------------------------------------------------------------------------

    def apply(self, e: ev.Event) -> Node | None:
        handler = getattr(self, "_on_" + e.kind, None)
        return handler(e) if handler is not None else None

    def _on_RunStarted(self, e: ev.RunStarted) -> Node | None:  # noqa: N802
        if e.parent_id is None:
            run = Run(
                index=len(self.trajectory.runs),
                depth=e.depth,
                metadata=dict(e.metadata),
                status=RunStatus.RUNNING,
                run_id=e.run_id,
            )
            if self.trajectory.metadata is None:
                self.trajectory.metadata = dict(e.metadata)
            if EXTRA_KEY in e.metadata:
                self.trajectory.era = "rlm_desktop"
            self.trajectory.runs.append(run)
        else:
            if e.spawned_at is None:
                return None
            it_no, b, c = e.spawned_at
            parent_it = self._iters.get((e.parent_id, it_no))
            call = None
            if parent_it is not None:
                call = next(
                    (
                        x
                        for blk in parent_it.code_blocks
                        if blk.index == b
                        for x in blk.sub_calls
                        if x.index == c
                    ),
                    None,
                )
            if call is None:
                return None
            run = Run(
                index=0,
                depth=e.depth,
                metadata=dict(e.metadata),
                status=RunStatus.RUNNING,
                run_id=e.run_id,
                parent=call,
            )
            call.child = run
        if e.question:
            run.extra[STARTED_QUESTION_KEY] = e.question  # the question before any iteration
        self.runs[e.run_id] = run
        return run

    def _on_IterationStarted(self, e: ev.IterationStarted) -> Node | None:  # noqa: N802
        run = self.runs.get(e.run_id)
        if run is None:
            return None
        it = run.add_iteration(Iteration(number=e.iteration, running=True))
        self._iters[(e.run_id, e.iteration)] = it
        return it

    def _on_LMRequest(self, e: ev.LMRequest) -> Node | None:  # noqa: N802
        it = self._iteration(e)
        if it is not None:
            it.prompt = [dict(m) for m in e.messages]
        return it

    def _on_LMResponse(self, e: ev.LMResponse) -> Node | None:  # noqa: N802
        it = self._iteration(e)
        if it is not None:
            it.response = e.text
            if e.usage is not None:
                it.usage = Usage.from_summary(e.usage)
        return it

    def _on_LMResponseEdited(self, e: ev.LMResponseEdited) -> Node | None:  # noqa: N802
        it = self._iteration(e)
        if it is not None:
            it.response = e.text
            it.edited = True
            it.original_response = e.original
        return it

    def _on_CodeBlockStarted(self, e: ev.CodeBlockStarted) -> Node | None:  # noqa: N802
        it = self._iteration(e)
        if it is None:
            return None
        return it.add_block(CodeBlock(index=e.block_index, code=e.code, running=True))

    def _on_CodeBlockOutput(self, e: ev.CodeBlockOutput) -> Node | None:  # noqa: N802
        b = self._block(e, e.block_index)
        if b is None or not b.running:
            return None
        if e.stream == "stderr":
            b.stderr += e.text
        else:
            b.stdout += e.text
        return b

    def _on_CodeBlockFinished(self, e: ev.CodeBlockFinished) -> Node | None:  # noqa: N802
        b = self._block(e, e.block_index)
        if b is None:
            return None
        _fill_block(b, e.result)
        return b

    def _on_SubCallStarted(self, e: ev.SubCallStarted) -> Node | None:  # noqa: N802
        b = self._block(e, e.block_index)
        if b is None:
            return None
        call = SubCall(
            index=e.call_index,
            model=e.model,
            prompt=e.prompt,
            running=True,
            extra={"kind": e.call_kind, "batched": e.batched},
        )
        call.parent = b
        pos = len(b.sub_calls)
        while pos > 0 and b.sub_calls[pos - 1].index > call.index:
            pos -= 1
        b.sub_calls.insert(pos, call)
        return call

    def _on_SubCallFinished(self, e: ev.SubCallFinished) -> Node | None:  # noqa: N802
        call = self._call(e, e.block_index, e.call_index)
        if call is None:
            return None
        _fill_call(call, e.completion)
        return call

    def _on_IterationFinished(self, e: ev.IterationFinished) -> Node | None:  # noqa: N802
        it = self._iteration(e)
        if it is None:
            return None
        rec = e.record
        extra = rec.get(EXTRA_KEY)
        extra = dict(extra) if isinstance(extra, dict) else {}
        it.timestamp = str(rec.get("timestamp") or "")
        it.prompt = rec.get("prompt", it.prompt)
        it.response = str(rec.get("response") or "")
        fa = rec.get("final_answer")
        it.final_answer = None if fa is None else str(fa)
        t = rec.get("iteration_time")
        it.iteration_time = float(t) if isinstance(t, (int, float)) and not isinstance(t, bool) else None
        it.is_default_answer = (
            it.final_answer is not None
            and not rec.get("code_blocks")
            and t is None
            and it.final_answer == it.response
        )
        it.extra = extra
        if "usage" in extra:
            it.usage = Usage.from_summary(extra["usage"])
        it.edited = bool(extra.get("edited"))
        if isinstance(extra.get("original_response"), str):
            it.original_response = extra["original_response"]
        for b, brec in zip(it.code_blocks, rec.get("code_blocks") or [], strict=False):
            if isinstance(brec, dict):
                _fill_block(b, brec.get("result") or {})
        it.running = False
        run = it.parent
        if run is not None:
            if it.final_answer is not None:
                run.final_answer = it.final_answer
                run.status = RunStatus.MAX_ITERATIONS if it.is_default_answer else RunStatus.FINISHED
            status = extra.get("status")
            if status in {s.value for s in RunStatus}:
                run.status = RunStatus(status)
                if extra.get("error"):
                    run.error = str(extra["error"])
        return it

    def _on_FinalAnswer(self, e: ev.FinalAnswer) -> Node | None:  # noqa: N802
        run = self.runs.get(e.run_id)
        if run is not None:
            run.final_answer = e.answer
        return run

    def _on_RunFinished(self, e: ev.RunFinished) -> Node | None:  # noqa: N802
        run = self.runs.get(e.run_id)
        if run is not None and run.status == RunStatus.RUNNING:
            run.status = RunStatus.FINISHED
        return run

    def _on_RunCancelled(self, e: ev.RunCancelled) -> Node | None:  # noqa: N802
        return self._stop(e.run_id, RunStatus.CANCELLED, e.reason)

    def _on_RunFailed(self, e: ev.RunFailed) -> Node | None:  # noqa: N802
        return self._stop(e.run_id, RunStatus.FAILED, e.error)

    def _stop(self, run_id: str, status: RunStatus, message: str) -> Node | None:
        run = self.runs.get(run_id)
        if run is None:
            return None
        run.status = status
        run.error = message
        for it in run.iterations:
            it.running = False
            for b in it.code_blocks:
                b.running = False
                for c in b.sub_calls:
                    c.running = False
        return run


def _fill_block(b: CodeBlock, result: dict[str, Any]) -> None:
    b.stdout = str(result.get("stdout") or "")
    b.stderr = str(result.get("stderr") or "")
    loc = result.get("locals")
    b.locals = dict(loc) if isinstance(loc, dict) else {}
    t = result.get("execution_time")
    b.execution_time = float(t) if isinstance(t, (int, float)) and not isinstance(t, bool) else None
    fa = result.get("final_answer")
    b.final_answer = None if fa is None else str(fa)
    b.running = False
    calls = result.get("rlm_calls")
    if isinstance(calls, list):
        for c, crec in zip(b.sub_calls, calls, strict=False):
            if isinstance(crec, dict):
                _fill_call(c, crec)


def _fill_call(call: SubCall, d: dict[str, Any]) -> None:
    call.model = str(d.get("root_model") or call.model)
    call.prompt = d.get("prompt", call.prompt)
    call.response = str(d.get("response") or "")
    call.usage = Usage.from_summary(d.get("usage_summary"))
    t = d.get("execution_time")
    call.execution_time = float(t) if isinstance(t, (int, float)) and not isinstance(t, bool) else None
    call.error = str(d["error"]) if d.get("error") else None
    extra = d.get(EXTRA_KEY)
    call.extra = dict(extra) if isinstance(extra, dict) else {}
    call.running = False


__all__ = ["LiveRecorder"]
