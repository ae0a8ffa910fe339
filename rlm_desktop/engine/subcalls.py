"""Sub-calls made by REPL code: ``llm_query``/``rlm_query`` and their batched forms.

Runs on the thread the REPL uses to reach the engine, while the run's block is
executing. Each prompt becomes one ``SubCall`` of the running block
(``RunLoop.claim_sub_calls``: indices in call order; a batch takes consecutive
indices in prompt order):

* ``llm_query``: a plain LM call (the sub backend, or ``model=`` when given);
* ``rlm_query``: a child run at depth + 1 with its own REPL, or a plain LM call
  when ``depth + 1 >= max_depth`` (as upstream);
* batched forms run their prompts in parallel, at most ``max_parallel`` at a time;
  for child runs (each with its own REPL process) the bound is one for the whole tree:
  a batch's first prompt runs on the calling thread, the others on extra threads only
  while one of the session's ``max_parallel`` child slots is free, else after the first
  on the calling thread. So at most ``(1 + max_parallel) * (max_depth - 1)`` REPL
  processes are alive at once, however deep batches nest (85 at ``max_depth=4`` before).

Never raises into the REPL: failures come back as ``"Error: ..."`` strings (and
the sub-call's ``error``). A cancellation anywhere cancels the whole tree.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from rlm_desktop.trajectory.model import Iteration, RunStatus, SubCall
from rlm_desktop.trajectory.writer import sub_call_record

from . import events as ev
from .clients.base import CallSite, LMCallError, as_messages
from .clients.replay import ReplayDivergence
from .repl.base import SubcallRequest

if TYPE_CHECKING:
    from .run_loop import RunLoop


def handle_subcall(loop: RunLoop, req: SubcallRequest) -> list[str]:
    prompts = list(req.prompts or [])
    if not prompts:
        return []
    claimed = loop.claim_sub_calls(req)
    if isinstance(claimed, str):
        return [claimed] * len(prompts)
    it, calls, recursive = claimed
    model = req.model or None
    jobs = list(zip(calls, prompts, strict=True))
    if len(jobs) == 1 or not req.batched:
        return [_one_call(loop, it, c, p, model, recursive) for c, p in jobs]
    if recursive:
        return _bounded_children(loop, it, jobs, model)
    workers = min(loop.cfg.max_parallel, len(jobs))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rlm-subcall") as pool:
        futures = [pool.submit(_one_call, loop, it, c, p, model, recursive) for c, p in jobs]
        return [f.result() for f in futures]


def _bounded_children(loop: RunLoop, it: Iteration, jobs: list[tuple[SubCall, Any]], model: str | None) -> list[str]:
    slots = loop.s.child_slots
    results: list[Any] = [None] * len(jobs)
    errors: list[BaseException] = []

    def job(i: int, release: bool) -> None:
        try:
            results[i] = _one_call(loop, it, jobs[i][0], jobs[i][1], model, True)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the calling thread
            errors.append(exc)
        finally:
            if release:
                slots.release()

    threads: list[threading.Thread] = []
    inline: list[int] = []
    for i in range(len(jobs)):
        if i > 0 and slots.acquire(blocking=False):
            t = threading.Thread(target=job, args=(i, True), name="rlm-subcall", daemon=True)
            threads.append(t)
            t.start()
        else:
            inline.append(i)
    for i in inline:
        job(i, False)
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def _one_call(
    loop: RunLoop, it: Iteration, call: SubCall, prompt: Any, model: str | None, recursive: bool
) -> str:
    s = loop.s
    block = call.parent
    assert block is not None
    spawned_at = (it.number, block.index, call.index)
    child_id = f"{loop.run_id}/{it.number}.{block.index}.{call.index}" if recursive else None
    common: dict[str, Any] = {
        "run_id": loop.run_id,
        "parent_id": loop.parent_id,
        "depth": loop.depth,
        "iteration": it.number,
        "block_index": block.index,
        "call_index": call.index,
    }
    try:
        s.checkpoint(
            ev.SubCallStarted(
                **common,
                model=call.model,
                prompt=call.prompt,
                recursive=recursive,
                child_run_id=child_id,
                call_kind=call.extra.get("kind", "llm"),
                batched=bool(call.extra.get("batched")),
            )
        )
        problem = s.limit_problem(check_tokens=False)
        if problem:
            call.error = problem
            call.response = f"Error: {problem}"
            call.execution_time = 0.0
        elif recursive:
            _child_run(loop, call, prompt, model, spawned_at)
        else:
            _plain_call(loop, it, call, prompt, call.model)
    except ev.RunCancelledError:
        s.cancel()
        call.running = False
        if not call.response:
            call.response = "Error: cancelled"
        call.error = call.error or "cancelled"
        s.notify(
            ev.SubCallFinished(
                **common, completion=_record(loop, call), error=call.error, child_run_id=child_id
            )
        )
        return call.response
    call.running = False
    try:
        s.checkpoint(
            ev.SubCallFinished(
                **common, completion=_record(loop, call), error=call.error, child_run_id=child_id
            )
        )
    except ev.RunCancelledError:
        s.cancel()
    return call.response


def _record(loop: RunLoop, call: SubCall) -> dict[str, Any]:
    rec = sub_call_record(call)
    return loop.s.redactor.obj(rec) if loop.s.redactor else rec


def _plain_call(loop: RunLoop, it: Iteration, call: SubCall, prompt: Any, model: str | None) -> None:
    s = loop.s
    block = call.parent
    assert block is not None
    site = CallSite(loop.run.path, "sub", it.position, block.index, call.index, loop.depth + 1)
    t0 = s.clock()
    try:
        reply = s.call_lm(s.sub_client, as_messages(prompt), model, site)
        call.response = reply.text
        call.usage = reply.usage
    except ReplayDivergence as exc:
        msg = s.redactor.text(str(exc))
        call.error = msg
        call.response = f"Error: {msg}"
        s.fail(msg)
        raise ev.RunCancelledError(msg) from None
    except LMCallError as exc:
        msg = s.redactor.text(str(exc))
        call.error = msg
        call.response = f"Error: LM query failed - {msg}"
    finally:
        call.execution_time = s.clock() - t0


def _child_run(
    loop: RunLoop, call: SubCall, prompt: Any, model: str | None, spawned_at: tuple[int, int, int]
) -> None:
    t0 = loop.s.clock()
    child = loop.child(call, prompt, model, spawned_at)
    try:
        run = child.execute()  # raises RunCancelledError (after recording) when cancelled
    finally:
        call.execution_time = loop.s.clock() - t0
        call.usage = child.run.own_usage()
    if run.status == RunStatus.FAILED:
        call.error = run.error or "failed"
        call.response = f"Error: Child RLM completion failed - {call.error}"
    else:
        call.response = run.final_answer or ""
