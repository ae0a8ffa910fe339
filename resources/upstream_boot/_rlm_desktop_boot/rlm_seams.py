"""Wrappers of upstream ``RLM``'s seams (stdlib only; upstream's code runs inside each).

* ``completion``: a run starts (a root run, or the child run a sub-call announced) and ends
  (final answer; cancelled or failed with the exception that leaves it);
* ``_completion_turn``: one iteration; for its duration the turn's LM handler's
  ``completion`` (the root call: request, response, usage, an edited response) and the
  environment's ``execute_code`` (a code block) are shadowed on those two objects;
* ``_default_answer`` (the turn after ``max_iterations``), ``_compact_history`` (the summary
  call, as a note), ``_subcall`` (hands a child RLM its run id and place in the parent).
"""

from __future__ import annotations

import time
from datetime import datetime

from . import report, runs, values

QUESTION_CHARS = 4000  # of the task (root_prompt) sent with RunStarted; the Run Summary shows less


def set_on(obj, name, value):
    """Shadow ``obj.name`` with ``value``; returns the undo (or None when it cannot)."""
    d = getattr(obj, "__dict__", None)
    if d is None:
        return None
    had = name in d
    old = d.get(name)
    try:
        setattr(obj, name, value)
    except Exception:  # noqa: BLE001
        return None

    def undo():
        if had:
            setattr(obj, name, old)
        else:
            try:
                delattr(obj, name)
            except AttributeError:
                pass

    return undo



def _wrap_completion(orig):
    def completion(self, prompt, *args, **kwargs):
        slot = runs.take_child()
        if slot is runs.UNTRACKED or getattr(self, "depth", 0) >= getattr(self, "max_depth", 1) or not report.live():
            return orig(self, prompt, *args, **kwargs)
        if slot is not None:
            run = runs.Run(slot.child_id, slot.parent.run_id, self.depth, self, slot.parent.root_id)
            spawned = list(slot.spawned_at)
        else:
            rid = runs.new_root_id()
            run = runs.Run(rid, None, getattr(self, "depth", 0), self, rid)
            spawned = None
        root_prompt = kwargs.get("root_prompt", args[0] if args else None)
        preview = str(root_prompt if root_prompt else prompt)[:200]
        question = str(root_prompt)[:QUESTION_CHARS] if root_prompt else None  # the task, if given
        stack = runs.stack()
        stack.append(run)
        try:
            try:
                report.emit("RunStarted", run, metadata=values.metadata(self), prompt_preview=preview,
                            question=question, spawned_at=spawned)
            except report.StopRequested:
                report.emit("RunCancelled", run, False, reason=report.STOP_REASON)
                raise values.cancellation_error() from None
            try:
                result = orig(self, prompt, *args, **kwargs)
            except BaseException as exc:
                if isinstance(exc, report.StopRequested) or report.is_stopped(run.root_id):
                    report.emit("RunCancelled", run, False, reason=report.STOP_REASON)
                elif values.is_cancellation(exc):
                    report.emit("RunCancelled", run, False, reason=str(exc) or type(exc).__name__)
                else:
                    report.emit("RunFailed", run, False, error=f"{type(exc).__name__}: {exc}")
                raise
            answer = getattr(result, "response", None)
            answer = None if answer is None else str(answer)
            report.emit("FinalAnswer", run, terminal=True, answer=answer, block_index=run.final_block)
            report.emit("RunFinished", run, terminal=True, final_answer=answer,
                  usage=values.usage(getattr(result, "usage_summary", None)),
                  elapsed=getattr(result, "execution_time", 0.0) or 0.0)
            return result
        finally:
            if stack and stack[-1] is run:
                stack.pop()
            elif run in stack:
                stack.remove(run)
            if slot is None:
                report.forget_root(run.root_id)

    completion.__wrapped__ = orig
    return completion


def _lm_wrapper(run, handler, orig, default=False):
    def lm_completion(prompt, *args, **kwargs):
        if report.chan().closed:
            return orig(prompt, *args, **kwargs)
        if isinstance(prompt, list) and prompt is run.sent_msgs and len(prompt) >= run.sent_n:
            fields = {"messages_from": run.sent_n, "messages": prompt[run.sent_n:]}
        else:
            fields = {"messages": prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]}
        if isinstance(prompt, list):
            run.sent_msgs, run.sent_n = prompt, len(prompt)
        report.emit("LMRequest", run, model=run.model, **fields)
        t0 = time.perf_counter()
        text = orig(prompt, *args, **kwargs)
        elapsed = time.perf_counter() - t0
        edit = report.emit("LMResponse", run, text=text, model=run.model, usage=values.last_usage(handler, run.model),
                     elapsed=elapsed, code_blocks=[] if default else values.code_blocks(text))
        return text if edit is None else edit

    return lm_completion


def _exec_wrapper(run, env, orig):
    def execute_code(code, *args, **kwargs):
        if report.chan().closed:
            return orig(code, *args, **kwargs)
        block = runs.Block(run, run.blocks)
        run.blocks += 1
        report.emit("CodeBlockStarted", run, block_index=block.index, code=code)
        previous = runs.enter_block(env, block)
        try:
            result = orig(code, *args, **kwargs)
        finally:
            runs.leave_block(env, previous)
        if not block.live:  # sub-calls made where we cannot see them (another environment)
            for comp in getattr(result, "rlm_calls", None) or []:
                c = next(block.calls)
                d = values.completion_dict(comp) or {}
                report.emit("SubCallStarted", run, False, block_index=block.index, call_index=c,
                      model=str(d.get("root_model") or ""), prompt=d.get("prompt"),
                      recursive=False, call_kind="llm")
                report.emit("SubCallFinished", run, False, block_index=block.index, call_index=c, completion=d)
        if getattr(result, "final_answer", None) is not None and run.final_block is None:
            run.final_block = block.index
        d = values.result_dict(result)
        raw = getattr(result, "locals", None)
        same = []
        order = None
        if isinstance(raw, dict) and isinstance(d.get("locals"), dict):
            order = list(d["locals"])
            for k, v in raw.items():
                if type(v) in values.IMMUTABLE and k in d["locals"] and run.sent_locals.get(k, runs.UNTRACKED) is v:
                    same.append(k)
                    del d["locals"][k]
            run.sent_locals = dict(raw)
        report.emit("CodeBlockFinished", run, block_index=block.index, code=code, result=d, locals_same=same,
              locals_order=order if same else None)
        return result

    return execute_code


def _wrap_turn(orig):
    def _completion_turn(self, prompt, lm_handler, environment, *args, **kwargs):
        run = runs.current(self)
        if run is None or not report.live():
            return orig(self, prompt, lm_handler, environment, *args, **kwargs)
        run.iteration += 1
        run.blocks = 0
        run.final_block = None
        report.emit("IterationStarted", run)
        t0 = time.perf_counter()
        undo_lm = set_on(lm_handler, "completion", _lm_wrapper(run, lm_handler, lm_handler.completion))
        undo_ex = set_on(environment, "execute_code", _exec_wrapper(run, environment, environment.execute_code))
        try:
            iteration = orig(self, prompt, lm_handler, environment, *args, **kwargs)
        finally:
            for undo in (undo_ex, undo_lm):
                if undo is not None:
                    undo()
        final = values.final_of(iteration)
        if final is None:
            final = values.text_final(getattr(iteration, "response", None))
        took = getattr(iteration, "iteration_time", None)
        report.emit("IterationFinished", run, final_answer=final, final=final is not None,
              iteration_time=took if took is not None else time.perf_counter() - t0,
              timestamp=datetime.now().isoformat())
        return iteration

    return _completion_turn


def _wrap_default_answer(orig):
    def _default_answer(self, message_history, lm_handler, *args, **kwargs):
        run = runs.current(self)
        if run is None or not report.live():
            return orig(self, message_history, lm_handler, *args, **kwargs)
        run.iteration += 1
        run.blocks = 0
        report.emit("IterationStarted", run)
        undo = set_on(lm_handler, "completion", _lm_wrapper(run, lm_handler, lm_handler.completion, default=True))
        try:
            response = orig(self, message_history, lm_handler, *args, **kwargs)
        finally:
            if undo is not None:
                undo()
        report.emit("IterationFinished", run, final_answer=None if response is None else str(response), final=True,
              default=True, iteration_time=None, timestamp=datetime.now().isoformat())
        return response

    return _default_answer


def _wrap_compact(orig):
    def _compact_history(self, lm_handler, *args, **kwargs):
        run = runs.current(self)
        if run is None or not report.live():
            return orig(self, lm_handler, *args, **kwargs)
        seen = {}
        inner = lm_handler.completion

        def summary_call(prompt, *a, **kw):
            text = inner(prompt, *a, **kw)
            seen["summary"] = text
            seen["usage"] = values.last_usage(lm_handler, run.model)
            return text

        undo = set_on(lm_handler, "completion", summary_call)
        try:
            out = orig(self, lm_handler, *args, **kwargs)
        finally:
            if undo is not None:
                undo()
        report.emit("Compaction", run, False, summary=seen.get("summary"), usage=seen.get("usage"), model=run.model)
        return out

    return _compact_history


def _wrap_subcall(orig):
    def _subcall(self, prompt, *args, **kwargs):
        slot = runs.take_slot(self, prompt)
        previous = runs.give_child(slot if slot is not None and slot.child_id
                                   else (None if slot is not None else runs.UNTRACKED))
        try:
            comp = orig(self, prompt, *args, **kwargs)
        finally:
            runs.give_child(previous)
        if slot is not None:
            slot.completion = comp
        return comp

    return _subcall


RLM_SEAMS = {
    "completion": _wrap_completion,
    "_completion_turn": _wrap_turn,
    "_subcall": _wrap_subcall,
    "_default_answer": _wrap_default_answer,
    "_compact_history": _wrap_compact,
}
REQUIRED = ("completion", "_completion_turn")
