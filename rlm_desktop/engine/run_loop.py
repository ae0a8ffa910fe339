"""One run of the RLM loop (the root, or a child spawned by ``rlm_query``).

Per turn: open the turn, call the root model, let the gate see (and maybe edit)
the reply, run its ```repl blocks in order in this run's REPL, check for a
final answer, check the limits, write the iteration record, then feed the
output back into the history. After ``max_iterations`` turns without an answer
one more call asks for a default answer (an extra record, as upstream).

A ```repl block is announced (``CodeBlockStarted``), executed in the run's REPL
(sub-calls arrive on the REPL's thread meanwhile and attach to the running block,
see ``subcalls``), filled from the ``ReplResult`` and closed (``CodeBlockFinished``).
A REPL that crashes ends the run (``ReplFailure``); a block that timed out is an
ordinary error the model sees. Time paused in the gate during a block is not
counted in its ``execution_time``.

Failure and cancellation end the run cleanly: the iteration in progress (or, when
none is, the next one, with nothing run) is recorded with ``status`` and
``error`` under the ``rlm_desktop`` key, then ``RunFailed``/``RunCancelled``.

Threads: the loop runs on one engine thread; ``claim_sub_calls`` and the live
output listener run on REPL threads and meet the loop's state only under its lock.

The engine keeps its own model objects (``trajectory.model``) for the run and
builds the upstream-format records from them with ``trajectory.writer``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, TypeVar

from rlm_desktop import __version__
from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, RunStatus, SubCall
from rlm_desktop.trajectory.writer import (
    block_record,
    filter_sensitive,
    metadata_record,
    record_from_iteration,
    serialize_value,
    usage_summary,
)

from . import events as ev
from . import parsing, prompts
from .clients.base import CallSite, LMCallError
from .clients.replay import ReplayDivergence
from .environments import isolation_metadata
from .repl.base import SubcallRequest
from .seams import Environment
from .session import LimitExceeded, ReplFailure, Session, describe_error

log = logging.getLogger(__name__)

PREVIEW = 200

E = TypeVar("E", bound=ev.Event)


class RunLoop:
    def __init__(
        self,
        session: Session,
        *,
        run_id: str,
        parent_id: str | None,
        depth: int,
        context: Any,
        root_prompt: str | None,
        model: str | None = None,
        parent_call: SubCall | None = None,
        spawned_at: tuple[int, int, int] | None = None,
        startup_error: str | None = None,
    ) -> None:
        self.s = session
        self.cfg = session.config
        self.run_id = run_id
        self.parent_id = parent_id
        self.depth = depth
        self.context = context
        self.root_prompt = root_prompt
        self.model = model or session.client.model
        self.model_override = model if model and model != session.client.model else None
        self.spawned_at = spawned_at
        self.startup_error = startup_error
        self.run = Run(index=0, depth=depth, status=RunStatus.RUNNING, run_id=run_id)
        if parent_call is not None:
            parent_call.child = self.run
            self.run.parent = parent_call
        self.it: Iteration | None = None
        self.block: CodeBlock | None = None
        self.env: Environment | None = None
        self.history: list[dict[str, Any]] = []
        self._it_t0 = 0.0
        self._errors_in_a_row = 0
        self._lock = threading.Lock()

    # -- events --------------------------------------------------------------------

    def _ev(self, cls: type[E], **kw: Any) -> E:
        number = self.it.number if self.it is not None else len(self.run.iterations)
        return cls(run_id=self.run_id, parent_id=self.parent_id, depth=self.depth, iteration=number, **kw)

    def _metadata(self) -> dict[str, Any]:
        client, sub = self.s.client, self.s.sub_client
        kwargs = client.public_kwargs()
        kwargs["model_name"] = self.model
        fields: dict[str, Any] = {
            "root_model": self.model,
            "max_depth": self.cfg.max_depth,
            "max_iterations": self.cfg.max_iterations,
            "backend": client.backend,
            "backend_kwargs": kwargs,
            "environment_type": self.cfg.environment_name,
            "environment_kwargs": filter_sensitive(self.cfg.environment_kwargs),
            "other_backends": [sub.backend] if sub is not client else None,
        }
        if self.depth == 0:
            extra = {"version": __version__, "run_id": self.run_id, "sandbox": isolation_metadata(self.cfg)}
            meta = metadata_record(**fields, extra=extra)
        else:
            meta = {k: serialize_value(v) if k.endswith("kwargs") else v for k, v in fields.items()}
            meta["backend_kwargs"] = filter_sensitive(kwargs)
        return self.s.redactor.obj(meta)

    # -- the loop --------------------------------------------------------------------

    def execute(self) -> Run:
        """Run to the end. Never raises, except ``RunCancelledError`` for a child run
        (after recording it), so the parent stops too."""
        self.run.metadata = self._metadata()
        preview = self.root_prompt if self.root_prompt else str(self.context)
        try:
            self.s.checkpoint(
                self._ev(
                    ev.RunStarted,
                    metadata=self.run.metadata,
                    prompt_preview=preview[:PREVIEW],
                    question=self.s.redactor.text(self.root_prompt) if self.root_prompt else None,
                    spawned_at=self.spawned_at,
                )
            )
            if self.startup_error:
                raise ReplFailure(self.startup_error)
            self.history = prompts.initial_messages(self.context, self.root_prompt, self.cfg.system_prompt)
            self._start_env()
            for i in range(self.cfg.max_iterations):
                if self._turn(i):
                    return self.run
            self._default_answer()
            return self.run
        except ev.RunCancelledError as exc:
            if self.s.fatal_error:
                self._end(RunStatus.FAILED, self.s.fatal_error)
            else:
                self._end(RunStatus.CANCELLED, str(exc) or "cancelled by the user")
            if self.depth > 0:
                raise
            return self.run
        except Exception as exc:  # noqa: BLE001 - every failure ends the run cleanly
            if not isinstance(exc, (LimitExceeded, ReplFailure)) and not isinstance(exc, LMCallError):
                log.exception("run %s failed", self.run_id)
            message = self.s.redactor.text(describe_error(exc))
            if isinstance(exc, ReplayDivergence):
                self.s.fail(message)  # a diverged replay stops the whole tree
            self._end(RunStatus.FAILED, message)
            return self.run
        finally:
            self._close_env()

    def _start_env(self) -> None:
        try:
            env = self.env = self.s.env_factory(self.context, self.handle_subcall)
            env.on_output = self._live_output  # live output of running blocks, where the REPL streams
            self.s.register_env(env)
            env.start()
        except ev.RunCancelledError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise ReplFailure(f"Could not start the REPL: {type(exc).__name__}: {exc}") from exc
        self.s.check_cancel()

    def _live_output(self, stream: str, text: str) -> None:
        with self._lock:
            block, it = self.block, self.it
        if block is None or it is None or not text:
            return
        self.s.notify(
            ev.CodeBlockOutput(
                run_id=self.run_id,
                parent_id=self.parent_id,
                depth=self.depth,
                iteration=it.number,
                block_index=block.index,
                stream=stream,
                text=self.s.redactor.text(text) if self.s.redactor else text,
            )
        )

    def _close_env(self) -> None:
        env, self.env = self.env, None
        if env is None:
            return
        self.s.unregister_env(env)
        try:
            env.close()
        except Exception:  # noqa: BLE001
            log.exception("closing the REPL failed")

    def _begin(self, number: int, messages: list[dict[str, Any]], *, gate: bool = True) -> Iteration:
        self.it = self.run.add_iteration(Iteration(number=number, running=True))
        self.it.prompt = [dict(m) for m in messages]
        self._it_t0 = self.s.clock()
        event = self._ev(ev.IterationStarted)
        if gate:
            self.s.checkpoint(event)
        else:
            self.s.notify(event)
        return self.it

    def _finish(
        self, *, status: RunStatus | None = None, error: str | None = None, final: bool = False
    ) -> dict[str, Any]:
        """Close the current iteration and emit its record. ``final``: it holds the answer, so
        the run is over and a cancel at this point comes too late (the gate cannot undo it)."""
        it = self.it
        assert it is not None
        it.running = False
        for b in it.code_blocks:
            b.running = False
            for c in b.sub_calls:
                c.running = False
        if not it.is_default_answer:
            it.iteration_time = self.s.clock() - self._it_t0
        record = record_from_iteration(
            it,
            usage_model=self.model,
            status=status.value if status is not None else None,
            error=error,
        )
        it.timestamp = record["timestamp"]
        if status is not None:
            it.extra["status"] = status.value
            if error is not None:
                it.extra["error"] = error
        record = self.s.redactor.obj(record) if self.s.redactor else record
        event = self._ev(ev.IterationFinished, record=record)
        self.it = None
        if status is None:
            self.s.checkpoint(event, terminal=final)
        else:
            self.s.notify(event)
        return record

    def _turn(self, i: int) -> bool:
        """One turn; True when the run finished with an answer."""
        self.history.append(prompts.turn_message(i, self.cfg.max_iterations))
        it = self._begin(i + 1, self.history)
        problem = self.s.limit_problem()
        if problem:
            raise LimitExceeded(problem)
        response, codes = self._call_root(it)
        for index, code in enumerate(codes):
            self._run_block(it, index, code)
        final = next((b.final_answer for b in it.code_blocks if b.final_answer is not None), None)
        if final is None and self.cfg.accept_text_final:
            final = self._text_final(response)
        it.final_answer = final
        if final is None:
            self._check_limits(it)
        outputs = [
            parsing.BlockOutput(b.stdout, b.stderr, parsing.variable_names(b.locals)) for b in it.code_blocks
        ]
        self._finish(final=final is not None)
        if final is not None:
            self._done(final, next((b.index for b in it.code_blocks if b.final_answer is not None), None))
            return True
        self.history.extend(parsing.format_turn(response, outputs, self.cfg.output_limit))
        return False

    def _default_answer(self) -> None:
        messages = self.history + [prompts.default_answer_message()]
        it = self._begin(self.cfg.max_iterations + 1, messages)
        it.is_default_answer = True
        response, _ = self._call_root(it)
        it.final_answer = response
        self._finish(final=True)
        self.run.status = RunStatus.MAX_ITERATIONS
        self._done(response, None, status=RunStatus.MAX_ITERATIONS)

    def _done(self, answer: str, block_index: int | None, status: RunStatus = RunStatus.FINISHED) -> None:
        self.run.final_answer = answer
        self.run.status = status
        self.s.checkpoint(self._ev(ev.FinalAnswer, answer=answer, block_index=block_index), terminal=True)
        self.s.checkpoint(
            self._ev(
                ev.RunFinished,
                final_answer=answer,
                usage=usage_summary(self.run.own_usage(), self.model),
                elapsed=self.s.elapsed(),
            ),
            terminal=True,
        )

    def _end(self, status: RunStatus, message: str) -> None:
        """Record how the run stopped on the iteration in progress (or a new empty one)."""
        if self.it is None:
            self._begin(len(self.run.iterations) + 1, self.history, gate=False)
        self._finish(status=status, error=message)
        self.run.status = status
        self.run.error = message
        event: ev.Event
        if status == RunStatus.CANCELLED:
            event = self._ev(ev.RunCancelled, reason=message)
        else:
            event = self._ev(ev.RunFailed, error=message)
        self.s.checkpoint(event, terminal=True)

    # -- steps -------------------------------------------------------------------------

    def _call_root(self, it: Iteration) -> tuple[str, list[str]]:
        self.s.checkpoint(self._ev(ev.LMRequest, messages=tuple(it.prompt), model=self.model))
        site = CallSite(self.run.path, "root", it.position, depth=self.depth)
        reply = self.s.call_lm(self.s.client, it.prompt, self.model_override, site)
        it.response = reply.text
        it.usage = reply.usage
        codes = parsing.find_code_blocks(reply.text)
        edit = self.s.checkpoint(
            self._ev(
                ev.LMResponse,
                text=reply.text,
                model=self.model,
                usage=usage_summary(reply.usage, self.model),
                elapsed=reply.elapsed,
                code_blocks=tuple(codes),
            )
        )
        if isinstance(edit, ev.ResponseEdit) and edit.text != reply.text:
            it.edited = True
            it.original_response = reply.text
            it.response = edit.text
            codes = parsing.find_code_blocks(edit.text)
            self.s.notify(
                self._ev(ev.LMResponseEdited, text=edit.text, original=reply.text, code_blocks=tuple(codes))
            )
        if it.is_default_answer:
            codes = []
        return it.response, codes

    def _run_block(self, it: Iteration, index: int, code: str) -> None:
        """Run one ```repl block in the run's REPL and record it on ``it``."""
        block = it.add_block(CodeBlock(index=index, code=code, running=True))
        with self._lock:
            self.block = block
        try:
            self.s.checkpoint(self._ev(ev.CodeBlockStarted, block_index=index, code=code))
        except ev.RunCancelledError:
            with self._lock:
                self.block = None
            block.running = False
            block.stderr = "\nInterrupted: the run was stopped before this block ran"
            block.execution_time = 0.0
            self.s.notify(self._finished_block_event(block))
            raise
        env = self.env
        assert env is not None
        t0 = time.perf_counter()
        paused0 = self.s.paused()
        fatal = None
        failure = None
        res = None
        try:
            res = env.execute(code)
        except Exception as exc:  # noqa: BLE001 - a REPL that breaks ends the run
            fatal = f"The REPL failed while running block {index + 1}: {type(exc).__name__}: {exc}"
        with self._lock:
            self.block = None
        block.running = False
        # sub-call gates run inside the block: time paused there is not run time
        paused = self.s.paused() - paused0
        if res is None:
            block.execution_time = max(0.0, time.perf_counter() - t0 - paused)
        else:
            block.stdout = res.stdout or ""
            block.stderr = res.stderr or ""
            block.locals = dict(res.locals or {})
            block.execution_time = max(0.0, float(res.execution_time or 0.0) - paused)
            block.final_answer = None if res.final_answer is None else str(res.final_answer)
            failure = res.failure
        if self.s.cancelled and (failure or res is None):
            if not block.stderr:
                block.stderr = "\nInterrupted: the run was stopped"
            self.s.notify(self._finished_block_event(block))
            raise ev.RunCancelledError("cancelled by the user")
        if failure == "timeout":
            if not block.stderr:
                block.stderr = f"\nTimeoutError: the block ran longer than {self.cfg.block_timeout:g} s"
        elif failure:
            detail = block.stderr.strip()
            fatal = f"The REPL {failure} while running block {index + 1}" + (f": {detail}" if detail else "")
        if fatal:
            block.stderr = block.stderr or f"\n{fatal}"
            self.s.notify(self._finished_block_event(block))
            raise ReplFailure(fatal)
        self.s.checkpoint(self._finished_block_event(block))

    def _finished_block_event(self, block: CodeBlock) -> ev.CodeBlockFinished:
        return self._ev(
            ev.CodeBlockFinished,
            block_index=block.index,
            code=block.code,
            result=self.s.redactor.obj(block_record(block)["result"]),
        )

    def _text_final(self, response: str) -> str | None:
        found = parsing.find_text_final(response)
        if found is None:
            return None
        kind, value = found
        if kind == "FINAL":
            return value
        if not parsing.is_identifier(value):
            return None
        for it in reversed(self.run.iterations):
            for b in reversed(it.code_blocks):
                if value in b.locals:
                    v = b.locals[value]
                    return v if isinstance(v, str) else str(v)
        return None

    def _check_limits(self, it: Iteration) -> None:
        if any(b.stderr for b in it.code_blocks):
            self._errors_in_a_row += 1
        else:
            self._errors_in_a_row = 0
        limit = self.cfg.max_errors
        if limit is not None and self._errors_in_a_row >= limit:
            raise LimitExceeded(
                f"Error limit reached: {self._errors_in_a_row} turns in a row had an error in a code block "
                f"(max_errors {limit})"
            )
        problem = self.s.limit_problem()
        if problem:
            raise LimitExceeded(problem)

    # -- sub-calls from REPL code (called on a REPL thread) -----------------------------------

    def handle_subcall(self, req: SubcallRequest) -> list[str]:
        from .subcalls import handle_subcall

        return handle_subcall(self, req)

    def claim_sub_calls(self, req: SubcallRequest) -> tuple[Iteration, list[SubCall], bool] | str:
        """Add one running ``SubCall`` per prompt of ``req`` to the block that runs now (batches
        take consecutive indices). ``(iteration, calls, recursive)``, or why there is none:
        ``recursive`` is an ``rlm_query`` that gets a child run (below ``max_depth``)."""
        with self._lock:
            block, it = self.block, self.it
            if block is None or it is None:
                return "Error: sub-calls can only be made while a code block runs"
            if self.s.cancelled:
                return "Error: cancelled"
            recursive = req.kind == "rlm" and self.depth + 1 < self.cfg.max_depth
            if recursive:
                shown = req.model or self.model
            else:
                # a plain call goes to the sub backend when one is set, else to this run's own model
                sub = self.s.sub_client
                shown = req.model or (sub.model if sub is not self.s.client else self.model)
            base = len(block.sub_calls)
            extra = {"kind": "rlm" if req.kind == "rlm" else "llm", "batched": bool(req.batched)}
            calls = [
                block.add_sub_call(
                    SubCall(
                        index=base + i, model=shown, prompt=serialize_value(p), running=True, extra=dict(extra)
                    )
                )
                for i, p in enumerate(req.prompts)
            ]
        return it, calls, recursive

    def child(
        self, call: SubCall, prompt: Any, model: str | None, spawned_at: tuple[int, int, int]
    ) -> RunLoop:
        return RunLoop(
            self.s,
            run_id=f"{self.run_id}/{spawned_at[0]}.{spawned_at[1]}.{spawned_at[2]}",
            parent_id=self.run_id,
            depth=self.depth + 1,
            context=prompt,
            root_prompt=None,
            model=model or self.model,
            parent_call=call,
            spawned_at=spawned_at,
        )
