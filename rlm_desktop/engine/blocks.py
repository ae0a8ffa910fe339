"""Running one ```repl block of a turn in the run's REPL (part of ``RunLoop``).

The block is announced (``CodeBlockStarted``), executed (sub-calls arrive on the
REPL's thread meanwhile and attach to ``loop.block``), filled from the
``ReplResult`` and closed (``CodeBlockFinished``). A REPL that crashes ends the
run (``ReplFailure``); a block that timed out is an ordinary error the model
sees; a cancelled run stops here. Time paused in the gate during the block is
not counted in its ``execution_time``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from rlm_desktop.trajectory.model import CodeBlock, Iteration
from rlm_desktop.trajectory.writer import block_record

from . import events as ev
from .session import ReplFailure

if TYPE_CHECKING:
    from .run_loop import RunLoop


def run_block(loop: RunLoop, it: Iteration, index: int, code: str) -> None:
    """Run one ```repl block in the run's REPL and record it on ``it``."""
    block = it.add_block(CodeBlock(index=index, code=code, running=True))
    with loop._lock:
        loop.block = block
    try:
        loop.s.checkpoint(loop._ev(ev.CodeBlockStarted, block_index=index, code=code))
    except ev.RunCancelledError:
        with loop._lock:
            loop.block = None
        block.running = False
        block.stderr = "\nInterrupted: the run was stopped before this block ran"
        block.execution_time = 0.0
        loop.s.notify(finished_block_event(loop, block))
        raise
    t0 = time.perf_counter()
    paused0 = loop.s.paused()
    fatal = None
    failure = None
    try:
        res = loop.env.execute(code)
    except Exception as exc:  # noqa: BLE001 - a REPL that breaks ends the run
        res = None
        fatal = f"The REPL failed while running block {index + 1}: {type(exc).__name__}: {exc}"
    with loop._lock:
        loop.block = None
    block.running = False
    # sub-call gates run inside the block: time paused there is not run time
    paused = loop.s.paused() - paused0
    if res is None:
        block.execution_time = max(0.0, time.perf_counter() - t0 - paused)
    else:
        block.stdout = res.stdout or ""
        block.stderr = res.stderr or ""
        block.locals = dict(res.locals or {})
        block.execution_time = max(0.0, float(res.execution_time or 0.0) - paused)
        block.final_answer = None if res.final_answer is None else str(res.final_answer)
        failure = getattr(res, "failure", None)
    if loop.s.cancelled and (failure or res is None):
        if not block.stderr:
            block.stderr = "\nInterrupted: the run was stopped"
        loop.s.notify(finished_block_event(loop, block))
        raise ev.RunCancelledError("cancelled by the user")
    if failure == "timeout":
        if not block.stderr:
            block.stderr = f"\nTimeoutError: the block ran longer than {loop.cfg.block_timeout:g} s"
    elif failure:
        detail = block.stderr.strip()
        fatal = f"The REPL {failure} while running block {index + 1}" + (f": {detail}" if detail else "")
    if fatal:
        block.stderr = block.stderr or f"\n{fatal}"
        loop.s.notify(finished_block_event(loop, block))
        raise ReplFailure(fatal)
    loop.s.checkpoint(finished_block_event(loop, block))


def finished_block_event(loop: RunLoop, block: CodeBlock) -> Any:
    return loop._ev(
        ev.CodeBlockFinished,
        block_index=block.index,
        code=block.code,
        result=loop.s.redactor.obj(block_record(block)["result"]),
    )
