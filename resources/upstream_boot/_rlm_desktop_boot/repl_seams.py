"""Wrappers of upstream ``LocalREPL``'s seams (stdlib only): sub-calls from REPL code
(``llm_query``, ``llm_query_batched``, ``rlm_query``, ``rlm_query_batched``) and the live
output of a running block."""

from __future__ import annotations

import sys
import time

from . import report, runs, values


def _pending(env):
    p = getattr(env, "_pending_llm_calls", None)
    return p if isinstance(p, list) else []


def _wrap_llm_query(orig):
    def _llm_query(self, prompt, model=None, *args, **kwargs):
        block = runs.block_of(self)
        if block is None or report.chan().closed:
            return orig(self, prompt, model, *args, **kwargs)
        run = block.run
        c = block.next_call()
        report.emit("SubCallStarted", run, block_index=block.index, call_index=c, model=model or run.model,
              prompt=prompt, recursive=False, call_kind="llm", batched=False)
        before = len(_pending(self))
        out = orig(self, prompt, model, *args, **kwargs)
        new = _pending(self)[before:]
        d = values.completion_dict(new[0]) if new else None
        report.emit("SubCallFinished", run, block_index=block.index, call_index=c,
              completion=d or values.error_completion(prompt, model, out), error=None if d else str(out))
        return out

    return _llm_query


def _wrap_llm_query_batched(orig):
    def _llm_query_batched(self, prompts, model=None, *args, **kwargs):
        block = runs.block_of(self)
        if block is None or report.chan().closed or not isinstance(prompts, (list, tuple)):
            return orig(self, prompts, model, *args, **kwargs)
        run = block.run
        calls = []
        for p in prompts:
            c = block.next_call()
            calls.append(c)
            report.emit("SubCallStarted", run, block_index=block.index, call_index=c, model=model or run.model,
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
                comp = values.completion_dict(new[j])
                j += 1
            report.emit("SubCallFinished", run, block_index=block.index, call_index=c,
                  completion=comp or values.error_completion(p, model, text), error=None if comp else str(text))
        return out

    return _llm_query_batched


def _child_slot(env, run, block, prompt):
    """Announce a recursive sub-call: its slot, and whether it stays a plain LM call."""
    fn = getattr(env, "subcall_fn", None)
    parent = getattr(fn, "__self__", None)
    c = block.next_call()
    leaf = parent is None or getattr(parent, "depth", 0) + 1 >= getattr(parent, "max_depth", 1)
    child_id = None if leaf else f"{run.run_id}/{run.iteration}.{block.index}.{c}"
    slot = runs.Slot(child_id, run, (run.iteration, block.index, c))
    if parent is not None:
        runs.put_slot(parent, prompt, slot)
    return parent, c, slot


def _finish_child(run, block, c, slot, prompt, model, text):
    d = values.completion_dict(slot.completion) if slot.completion is not None else None
    report.emit("SubCallFinished", run, block_index=block.index, call_index=c,
          completion=d or values.error_completion(prompt, model, text), error=None if d else str(text),
          child_run_id=slot.child_id)


def _wrap_rlm_query(orig):
    def _rlm_query(self, prompt, model=None, *args, **kwargs):
        block = runs.block_of(self)
        if block is None or report.chan().closed or getattr(self, "subcall_fn", None) is None:
            return orig(self, prompt, model, *args, **kwargs)
        run = block.run
        parent, c, slot = _child_slot(self, run, block, prompt)
        report.emit("SubCallStarted", run, block_index=block.index, call_index=c, model=model or run.model,
              prompt=prompt, recursive=slot.child_id is not None, child_run_id=slot.child_id,
              call_kind="rlm", batched=False)
        try:
            out = orig(self, prompt, model, *args, **kwargs)
        finally:
            if parent is not None:
                runs.drop_slot(parent, prompt, slot)
        _finish_child(run, block, c, slot, prompt, model, out)
        return out

    return _rlm_query


def _wrap_rlm_query_batched(orig):
    def _rlm_query_batched(self, prompts, model=None, *args, **kwargs):
        block = runs.block_of(self)
        if (block is None or report.chan().closed or getattr(self, "subcall_fn", None) is None
                or not isinstance(prompts, (list, tuple))):
            return orig(self, prompts, model, *args, **kwargs)
        run = block.run
        announced = []
        for p in prompts:
            parent, c, slot = _child_slot(self, run, block, p)
            announced.append((p, parent, c, slot))
            report.emit("SubCallStarted", run, block_index=block.index, call_index=c, model=model or run.model,
                  prompt=p, recursive=slot.child_id is not None, child_run_id=slot.child_id,
                  call_kind="rlm", batched=True)
        try:
            out = orig(self, prompts, model, *args, **kwargs)
        finally:
            for p, parent, _c, slot in announced:
                if parent is not None:
                    runs.drop_slot(parent, p, slot)
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
            report.emit("CodeBlockOutput", self._block.run, False, block_index=self._block.index, stream=self._stream,
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
            block = runs.block_of(self)
            if block is None or report.chan().closed or not isinstance(bufs, tuple) or len(bufs) != 2 \
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


REPL_SEAMS = {
    "_llm_query": _wrap_llm_query,
    "_llm_query_batched": _wrap_llm_query_batched,
    "_rlm_query": _wrap_rlm_query,
    "_rlm_query_batched": _wrap_rlm_query_batched,
    "_capture_output": _wrap_capture,
}
