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

A checkpoint sends the event and waits for the app (``channel.ask``): go on, run an
edited response instead, or stop. Stop raises ``StopRequested`` (a ``KeyboardInterrupt``)
in the program's thread, which upstream's completion loop turns into its own
``CancellationError``, as for Ctrl+C. Without an app (closed channel) every wrapper
calls straight through.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
import time
from datetime import datetime

from .channel import Channel

STOP_REASON = "stopped in rlm-desktop"

_channel = None
_chan_lock = threading.Lock()
_tl = threading.local()
_seq = itertools.count(1)
_lock = threading.Lock()
_env_blocks = {}  # id(environment) -> _Block running in it
_slots = {}  # (id(parent RLM), id(prompt)) -> [_Slot]: sub-calls announced, not yet started
_stopped_roots = set()
_UNTRACKED = object()
_IMMUTABLE = (str, bytes, int, float, bool, type(None))  # unchanged when still the same object
_reported = set()


class StopRequested(KeyboardInterrupt):
    """The app asked to stop the completion (upstream treats it as Ctrl+C)."""


class _Run:
    __slots__ = ("run_id", "parent_id", "depth", "rlm", "model", "iteration", "blocks", "root_id",
                 "final_block", "sent_msgs", "sent_n", "sent_locals")

    def __init__(self, run_id, parent_id, depth, rlm, root_id):
        self.run_id = run_id
        self.parent_id = parent_id
        self.depth = depth
        self.rlm = rlm
        self.model = _model_of(rlm)
        self.iteration = 0
        self.blocks = 0
        self.root_id = root_id
        self.final_block = None
        self.sent_msgs = None  # the history list last sent, and how much of it: only the new
        self.sent_n = 0  # messages go over the channel (upstream appends to one list)
        self.sent_locals = {}  # REPL values last sent: immutable ones still the same object go by name


class _Block:
    __slots__ = ("run", "index", "calls", "live", "_lock")

    def __init__(self, run, index):
        self.run = run
        self.index = index
        self.calls = itertools.count()
        self.live = 0
        self._lock = threading.Lock()

    def next_call(self):
        with self._lock:
            self.live += 1
            return next(self.calls)


class _Slot:
    __slots__ = ("child_id", "parent", "spawned_at", "completion")

    def __init__(self, child_id, parent, spawned_at):
        self.child_id = child_id
        self.parent = parent
        self.spawned_at = spawned_at
        self.completion = None


# -- the channel -----------------------------------------------------------------------------


def _chan():
    global _channel
    if _channel is None:
        with _chan_lock:
            if _channel is None:
                _channel = Channel()
    return _channel


def _rlms_version():
    try:
        from importlib.metadata import version

        return version("rlms")
    except Exception:  # noqa: BLE001
        return "unknown"


def _live():
    ch = _chan()
    if ch.closed:
        return False
    return ch.ensure({"rlms_version": _rlms_version()})


def _emit(kind, run, wait=True, terminal=False, **fields):
    """Report ``kind``; at a checkpoint (``wait``) return an edited text or None, or raise
    ``StopRequested``."""
    ch = _chan()
    if ch.closed:
        return None
    th = threading.current_thread()
    msg = {"t": "cp" if wait else "ev", "kind": kind, "th": th.ident, "tn": th.name,
           "run_id": run.run_id, "parent_id": run.parent_id, "depth": run.depth,
           "iteration": run.iteration, "time": time.time()}
    msg.update(fields)
    if terminal:
        msg["terminal"] = True
    if not wait:
        ch.send(msg)
        return None
    answer = ch.ask(msg)
    if not answer:
        return None
    action = answer.get("action")
    if action == "stop" and not terminal:
        with _lock:
            _stopped_roots.add(run.root_id)
        raise StopRequested(STOP_REASON)
    if action == "edit" and isinstance(answer.get("text"), str):
        return answer["text"]
    return None


def _note(kind, **fields):
    ch = _chan()
    if ch.ensure({"rlms_version": _rlms_version()}):
        ch.send(dict(fields, t=kind))


def report_problem(text):
    if text in _reported:
        return
    _reported.add(text)
    _note("problem", text=text)


# -- values ----------------------------------------------------------------------------------

_SECRET = ("secret", "password", "authorization", "bearer")


def _sensitive(key):
    k = str(key).lower()
    return ("api" in k and "key" in k) or any(w in k for w in _SECRET) or k == "token" \
        or k.endswith(("_token", "-token", "access_key"))


def _plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if callable(value):
        return f"<{type(value).__name__} '{getattr(value, '__name__', '?')}'>"
    try:
        return repr(value)
    except Exception:  # noqa: BLE001
        return f"<{type(value).__name__}>"


def _public(kwargs):
    if not isinstance(kwargs, dict):
        return {}
    return {str(k): _plain(v) for k, v in kwargs.items() if not _sensitive(k)}


def _model_of(rlm):
    kw = getattr(rlm, "backend_kwargs", None) or {}
    return str(kw.get("model_name", "unknown")) if isinstance(kw, dict) else "unknown"


def _metadata(rlm):
    return {
        "root_model": _model_of(rlm),
        "max_depth": getattr(rlm, "max_depth", None),
        "max_iterations": getattr(rlm, "max_iterations", None),
        "backend": _plain(getattr(rlm, "backend", None)),
        "backend_kwargs": _public(getattr(rlm, "backend_kwargs", None)),
        "environment_type": _plain(getattr(rlm, "environment_type", None)),
        "environment_kwargs": _public(getattr(rlm, "environment_kwargs", None)),
        "other_backends": _plain(getattr(rlm, "other_backends", None)),
    }


def _usage(summary):
    if summary is None:
        return None
    try:
        return summary.to_dict()
    except Exception:  # noqa: BLE001
        return None


def _last_usage(handler, model):
    try:
        client = handler.get_client(None)
        last = client.get_last_usage()
        return {"model_usage_summaries": {str(getattr(client, "model_name", model)): last.to_dict()}}
    except Exception:  # noqa: BLE001
        return None


def _completion_dict(comp):
    try:
        d = comp.to_dict()
    except Exception:  # noqa: BLE001
        return None
    d.pop("metadata", None)  # a child's whole trajectory: the app has it already
    return d


def _error_completion(prompt, model, text):
    return {"root_model": model or "", "prompt": _plain(prompt), "response": "" if text is None else str(text),
            "usage_summary": {"model_usage_summaries": {}}, "execution_time": 0.0}


def _result_dict(result):
    try:
        d = result.to_dict()
    except Exception:  # noqa: BLE001
        d = {"stdout": str(getattr(result, "stdout", "")), "stderr": str(getattr(result, "stderr", "")),
             "locals": {}, "execution_time": getattr(result, "execution_time", None), "rlm_calls": [],
             "final_answer": getattr(result, "final_answer", None)}
    for c in d.get("rlm_calls") or []:
        if isinstance(c, dict):
            c.pop("metadata", None)
    return d


def _code_blocks(text):
    try:
        from rlm.utils.parsing import find_code_blocks

        return list(find_code_blocks(text))
    except Exception:  # noqa: BLE001
        return []


def _is_cancellation(exc):
    return isinstance(exc, KeyboardInterrupt) or type(exc).__name__ == "CancellationError"


def _cancellation_error():
    try:
        from rlm.utils.exceptions import CancellationError

        return CancellationError(partial_answer=None, message=STOP_REASON)
    except Exception:  # noqa: BLE001
        return KeyboardInterrupt(STOP_REASON)


# -- the run stack (per thread) ----------------------------------------------------------------


def _stack():
    s = getattr(_tl, "runs", None)
    if s is None:
        s = _tl.runs = []
    return s


def _current(rlm):
    for r in reversed(_stack()):
        if r.rlm is rlm:
            return r
    return None


def _set_on(obj, name, value):
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


# -- RLM seams -------------------------------------------------------------------------------


def _wrap_completion(orig):
    def completion(self, prompt, *args, **kwargs):
        slot = getattr(_tl, "child", None)
        _tl.child = None
        if slot is _UNTRACKED or getattr(self, "depth", 0) >= getattr(self, "max_depth", 1) or not _live():
            return orig(self, prompt, *args, **kwargs)
        if slot is not None:
            run = _Run(slot.child_id, slot.parent.run_id, self.depth, self, slot.parent.root_id)
            spawned = list(slot.spawned_at)
        else:
            rid = f"{os.getpid()}-{next(_seq)}"
            run = _Run(rid, None, getattr(self, "depth", 0), self, rid)
            spawned = None
        root_prompt = kwargs.get("root_prompt", args[0] if args else None)
        preview = str(root_prompt if root_prompt else prompt)[:200]
        stack = _stack()
        stack.append(run)
        try:
            try:
                _emit("RunStarted", run, metadata=_metadata(self), prompt_preview=preview, spawned_at=spawned)
            except StopRequested:
                _emit("RunCancelled", run, False, reason=STOP_REASON)
                raise _cancellation_error() from None
            try:
                result = orig(self, prompt, *args, **kwargs)
            except BaseException as exc:
                if isinstance(exc, StopRequested) or run.root_id in _stopped_roots:
                    _emit("RunCancelled", run, False, reason=STOP_REASON)
                elif _is_cancellation(exc):
                    _emit("RunCancelled", run, False, reason=str(exc) or type(exc).__name__)
                else:
                    _emit("RunFailed", run, False, error=f"{type(exc).__name__}: {exc}")
                raise
            answer = getattr(result, "response", None)
            answer = None if answer is None else str(answer)
            _emit("FinalAnswer", run, terminal=True, answer=answer, block_index=run.final_block)
            _emit("RunFinished", run, terminal=True, final_answer=answer,
                  usage=_usage(getattr(result, "usage_summary", None)),
                  elapsed=getattr(result, "execution_time", 0.0) or 0.0)
            return result
        finally:
            if stack and stack[-1] is run:
                stack.pop()
            elif run in stack:
                stack.remove(run)
            if slot is None:
                with _lock:
                    _stopped_roots.discard(run.root_id)

    completion.__wrapped__ = orig
    return completion


def _lm_wrapper(run, handler, orig, default=False):
    def lm_completion(prompt, *args, **kwargs):
        if _chan().closed:
            return orig(prompt, *args, **kwargs)
        if isinstance(prompt, list) and prompt is run.sent_msgs and len(prompt) >= run.sent_n:
            fields = {"messages_from": run.sent_n, "messages": prompt[run.sent_n:]}
        else:
            fields = {"messages": prompt if isinstance(prompt, list) else [{"role": "user", "content": prompt}]}
        if isinstance(prompt, list):
            run.sent_msgs, run.sent_n = prompt, len(prompt)
        _emit("LMRequest", run, model=run.model, **fields)
        t0 = time.perf_counter()
        text = orig(prompt, *args, **kwargs)
        elapsed = time.perf_counter() - t0
        edit = _emit("LMResponse", run, text=text, model=run.model, usage=_last_usage(handler, run.model),
                     elapsed=elapsed, code_blocks=[] if default else _code_blocks(text))
        return text if edit is None else edit

    return lm_completion


def _exec_wrapper(run, env, orig):
    def execute_code(code, *args, **kwargs):
        if _chan().closed:
            return orig(code, *args, **kwargs)
        block = _Block(run, run.blocks)
        run.blocks += 1
        _emit("CodeBlockStarted", run, block_index=block.index, code=code)
        with _lock:
            previous = _env_blocks.get(id(env))
            _env_blocks[id(env)] = block
        try:
            result = orig(code, *args, **kwargs)
        finally:
            with _lock:
                if previous is None:
                    _env_blocks.pop(id(env), None)
                else:
                    _env_blocks[id(env)] = previous
        if not block.live:  # sub-calls made where we cannot see them (another environment)
            for comp in getattr(result, "rlm_calls", None) or []:
                c = next(block.calls)
                d = _completion_dict(comp) or {}
                _emit("SubCallStarted", run, False, block_index=block.index, call_index=c,
                      model=str(d.get("root_model") or ""), prompt=d.get("prompt"),
                      recursive=False, call_kind="llm")
                _emit("SubCallFinished", run, False, block_index=block.index, call_index=c, completion=d)
        if getattr(result, "final_answer", None) is not None and run.final_block is None:
            run.final_block = block.index
        d = _result_dict(result)
        raw = getattr(result, "locals", None)
        same = []
        order = None
        if isinstance(raw, dict) and isinstance(d.get("locals"), dict):
            order = list(d["locals"])
            for k, v in raw.items():
                if type(v) in _IMMUTABLE and k in d["locals"] and run.sent_locals.get(k, _UNTRACKED) is v:
                    same.append(k)
                    del d["locals"][k]
            run.sent_locals = dict(raw)
        _emit("CodeBlockFinished", run, block_index=block.index, code=code, result=d, locals_same=same,
              locals_order=order if same else None)
        return result

    return execute_code


def _final_of(iteration):
    for b in getattr(iteration, "code_blocks", None) or []:
        fa = getattr(getattr(b, "result", None), "final_answer", None)
        if fa is not None:
            return str(fa)
    return None


def _text_final(response):
    """0.1.0/0.1.1 also end a run with FINAL(...) in the reply: upstream's own parser says so."""
    if not isinstance(response, str) or "FINAL" not in response:
        return None
    try:
        from rlm.utils.parsing import find_final_answer
    except Exception:  # noqa: BLE001 - 0.1.2+: no text answers
        return None
    try:
        found = find_final_answer(response)
    except Exception:  # noqa: BLE001
        return None
    return None if found is None else str(found)


def _wrap_turn(orig):
    def _completion_turn(self, prompt, lm_handler, environment, *args, **kwargs):
        run = _current(self)
        if run is None or not _live():
            return orig(self, prompt, lm_handler, environment, *args, **kwargs)
        run.iteration += 1
        run.blocks = 0
        run.final_block = None
        _emit("IterationStarted", run)
        t0 = time.perf_counter()
        undo_lm = _set_on(lm_handler, "completion", _lm_wrapper(run, lm_handler, lm_handler.completion))
        undo_ex = _set_on(environment, "execute_code", _exec_wrapper(run, environment, environment.execute_code))
        try:
            iteration = orig(self, prompt, lm_handler, environment, *args, **kwargs)
        finally:
            for undo in (undo_ex, undo_lm):
                if undo is not None:
                    undo()
        final = _final_of(iteration)
        if final is None:
            final = _text_final(getattr(iteration, "response", None))
        took = getattr(iteration, "iteration_time", None)
        _emit("IterationFinished", run, final_answer=final, final=final is not None,
              iteration_time=took if took is not None else time.perf_counter() - t0,
              timestamp=datetime.now().isoformat())
        return iteration

    return _completion_turn


def _wrap_default_answer(orig):
    def _default_answer(self, message_history, lm_handler, *args, **kwargs):
        run = _current(self)
        if run is None or not _live():
            return orig(self, message_history, lm_handler, *args, **kwargs)
        run.iteration += 1
        run.blocks = 0
        _emit("IterationStarted", run)
        undo = _set_on(lm_handler, "completion", _lm_wrapper(run, lm_handler, lm_handler.completion, default=True))
        try:
            response = orig(self, message_history, lm_handler, *args, **kwargs)
        finally:
            if undo is not None:
                undo()
        _emit("IterationFinished", run, final_answer=None if response is None else str(response), final=True,
              default=True, iteration_time=None, timestamp=datetime.now().isoformat())
        return response

    return _default_answer


def _wrap_compact(orig):
    def _compact_history(self, lm_handler, *args, **kwargs):
        run = _current(self)
        if run is None or not _live():
            return orig(self, lm_handler, *args, **kwargs)
        seen = {}
        inner = lm_handler.completion

        def summary_call(prompt, *a, **kw):
            text = inner(prompt, *a, **kw)
            seen["summary"] = text
            seen["usage"] = _last_usage(lm_handler, run.model)
            return text

        undo = _set_on(lm_handler, "completion", summary_call)
        try:
            out = orig(self, lm_handler, *args, **kwargs)
        finally:
            if undo is not None:
                undo()
        _emit("Compaction", run, False, summary=seen.get("summary"), usage=seen.get("usage"), model=run.model)
        return out

    return _compact_history


def _wrap_subcall(orig):
    def _subcall(self, prompt, *args, **kwargs):
        slot = _take_slot(self, prompt)
        previous = getattr(_tl, "child", None)
        _tl.child = slot if slot is not None and slot.child_id else (None if slot is not None else _UNTRACKED)
        try:
            comp = orig(self, prompt, *args, **kwargs)
        finally:
            _tl.child = previous
        if slot is not None:
            slot.completion = comp
        return comp

    return _subcall


def _take_slot(rlm, prompt):
    with _lock:
        queue = _slots.get((id(rlm), id(prompt)))
        if not queue:
            return None
        slot = queue.pop(0)
        if not queue:
            del _slots[(id(rlm), id(prompt))]
        return slot


def _put_slot(rlm, prompt, slot):
    with _lock:
        _slots.setdefault((id(rlm), id(prompt)), []).append(slot)


def _drop_slot(rlm, prompt, slot):
    with _lock:
        queue = _slots.get((id(rlm), id(prompt)))
        if queue and slot in queue:
            queue.remove(slot)
            if not queue:
                del _slots[(id(rlm), id(prompt))]


# -- REPL sub-call seams (LocalREPL) ---------------------------------------------------------------


def _block_of(env):
    with _lock:
        return _env_blocks.get(id(env))


def _pending(env):
    p = getattr(env, "_pending_llm_calls", None)
    return p if isinstance(p, list) else []


def _wrap_llm_query(orig):
    def _llm_query(self, prompt, model=None, *args, **kwargs):
        block = _block_of(self)
        if block is None or _chan().closed:
            return orig(self, prompt, model, *args, **kwargs)
        run = block.run
        c = block.next_call()
        _emit("SubCallStarted", run, block_index=block.index, call_index=c, model=model or run.model,
              prompt=prompt, recursive=False, call_kind="llm", batched=False)
        before = len(_pending(self))
        out = orig(self, prompt, model, *args, **kwargs)
        new = _pending(self)[before:]
        d = _completion_dict(new[0]) if new else None
        _emit("SubCallFinished", run, block_index=block.index, call_index=c,
              completion=d or _error_completion(prompt, model, out), error=None if d else str(out))
        return out

    return _llm_query


def _wrap_llm_query_batched(orig):
    def _llm_query_batched(self, prompts, model=None, *args, **kwargs):
        block = _block_of(self)
        if block is None or _chan().closed or not isinstance(prompts, (list, tuple)):
            return orig(self, prompts, model, *args, **kwargs)
        run = block.run
        calls = []
        for p in prompts:
            c = block.next_call()
            calls.append(c)
            _emit("SubCallStarted", run, block_index=block.index, call_index=c, model=model or run.model,
                  prompt=p, recursive=False, call_kind="llm", batched=True)
        before = len(_pending(self))
        out = orig(self, prompts, model, *args, **kwargs)
        new = list(_pending(self)[before:])
        outs = list(out) if isinstance(out, (list, tuple)) else []
        j = 0
        for i, (p, c) in enumerate(zip(prompts, calls, strict=False)):
            text = outs[i] if i < len(outs) else None
            comp = None
            if j < len(new) and (len(new) == len(prompts) or getattr(new[j], "prompt", None) == p):
                comp = _completion_dict(new[j])
                j += 1
            _emit("SubCallFinished", run, block_index=block.index, call_index=c,
                  completion=comp or _error_completion(p, model, text), error=None if comp else str(text))
        return out

    return _llm_query_batched


def _child_slot(env, run, block, prompt):
    """Announce a recursive sub-call: its slot, and whether it stays a plain LM call."""
    fn = getattr(env, "subcall_fn", None)
    parent = getattr(fn, "__self__", None)
    c = block.next_call()
    leaf = parent is None or getattr(parent, "depth", 0) + 1 >= getattr(parent, "max_depth", 1)
    child_id = None if leaf else f"{run.run_id}/{run.iteration}.{block.index}.{c}"
    slot = _Slot(child_id, run, (run.iteration, block.index, c))
    if parent is not None:
        _put_slot(parent, prompt, slot)
    return parent, c, slot


def _finish_child(run, block, c, slot, prompt, model, text):
    d = _completion_dict(slot.completion) if slot.completion is not None else None
    _emit("SubCallFinished", run, block_index=block.index, call_index=c,
          completion=d or _error_completion(prompt, model, text), error=None if d else str(text),
          child_run_id=slot.child_id)


def _wrap_rlm_query(orig):
    def _rlm_query(self, prompt, model=None, *args, **kwargs):
        block = _block_of(self)
        if block is None or _chan().closed or getattr(self, "subcall_fn", None) is None:
            return orig(self, prompt, model, *args, **kwargs)
        run = block.run
        parent, c, slot = _child_slot(self, run, block, prompt)
        _emit("SubCallStarted", run, block_index=block.index, call_index=c, model=model or run.model,
              prompt=prompt, recursive=slot.child_id is not None, child_run_id=slot.child_id,
              call_kind="rlm", batched=False)
        try:
            out = orig(self, prompt, model, *args, **kwargs)
        finally:
            if parent is not None:
                _drop_slot(parent, prompt, slot)
        _finish_child(run, block, c, slot, prompt, model, out)
        return out

    return _rlm_query


def _wrap_rlm_query_batched(orig):
    def _rlm_query_batched(self, prompts, model=None, *args, **kwargs):
        block = _block_of(self)
        if (block is None or _chan().closed or getattr(self, "subcall_fn", None) is None
                or not isinstance(prompts, (list, tuple))):
            return orig(self, prompts, model, *args, **kwargs)
        run = block.run
        announced = []
        for p in prompts:
            parent, c, slot = _child_slot(self, run, block, p)
            announced.append((p, parent, c, slot))
            _emit("SubCallStarted", run, block_index=block.index, call_index=c, model=model or run.model,
                  prompt=p, recursive=slot.child_id is not None, child_run_id=slot.child_id,
                  call_kind="rlm", batched=True)
        try:
            out = orig(self, prompts, model, *args, **kwargs)
        finally:
            for p, parent, _c, slot in announced:
                if parent is not None:
                    _drop_slot(parent, p, slot)
        outs = list(out) if isinstance(out, (list, tuple)) else []
        for i, (p, _parent, c, slot) in enumerate(announced):
            _finish_child(run, block, c, slot, p, model, outs[i] if i < len(outs) else None)
        return out

    return _rlm_query_batched


# -- live output of a running block (LocalREPL._capture_output) ----------------------------------

LIVE_EVERY = 0.05  # seconds: output written faster than this goes out in one message


class _Tee:
    """Stands in for the REPL's capture buffer while a block runs: upstream's buffer gets every
    write as before; the app gets the text as it comes (at most every ``LIVE_EVERY``)."""

    def __init__(self, buf, block, stream):
        self._buf = buf
        self._block = block
        self._stream = stream
        self._pending = []
        self._last = 0.0

    def write(self, text):
        n = self._buf.write(text)
        if text:
            self._pending.append(text)
            now = time.monotonic()
            if now - self._last >= LIVE_EVERY:
                self.send()
        return n

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def send(self):
        if not self._pending:
            return
        text = "".join(self._pending)
        self._pending.clear()
        self._last = time.monotonic()
        try:
            _emit("CodeBlockOutput", self._block.run, False, block_index=self._block.index, stream=self._stream,
                  text=text)
        except Exception:  # noqa: BLE001 - output must never fail the program's print
            pass

    def __getattr__(self, name):
        return getattr(self._buf, name)


def _wrap_capture(orig):
    from contextlib import contextmanager

    @contextmanager
    def _capture_output(self, *args, **kwargs):
        with orig(self, *args, **kwargs) as bufs:
            block = _block_of(self)
            if block is None or _chan().closed or not isinstance(bufs, tuple) or len(bufs) != 2 \
                    or sys.stdout is not bufs[0]:
                yield bufs
                return
            out, err = _Tee(bufs[0], block, "stdout"), _Tee(bufs[1], block, "stderr")
            sys.stdout, sys.stderr = out, err
            try:
                yield bufs
            finally:
                out.send()
                err.send()
                if sys.stdout is out:
                    sys.stdout = bufs[0]
                if sys.stderr is err:
                    sys.stderr = bufs[1]

    return _capture_output


# -- installing --------------------------------------------------------------------------------

RLM_SEAMS = {
    "completion": _wrap_completion,
    "_completion_turn": _wrap_turn,
    "_subcall": _wrap_subcall,
    "_default_answer": _wrap_default_answer,
    "_compact_history": _wrap_compact,
}
REQUIRED = ("completion", "_completion_turn")
REPL_SEAMS = {
    "_llm_query": _wrap_llm_query,
    "_llm_query_batched": _wrap_llm_query_batched,
    "_rlm_query": _wrap_rlm_query,
    "_rlm_query_batched": _wrap_rlm_query_batched,
    "_capture_output": _wrap_capture,
}
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
            _note("unsupported", version=_rlms_version(), missing=missing)
            return
        _patch(cls, RLM_SEAMS)
        _state["rlm"] = "instrumented"
    elif module_name == "rlm.environments.local_repl":
        cls = getattr(module, "LocalREPL", None)
        if cls is not None:
            _patch(cls, REPL_SEAMS)
