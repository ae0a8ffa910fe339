"""The facts of one run at a glance (no Qt): question, answer, status and totals.

``run_facts(run, upstream)`` is what the Run Summary header shows for any run or child
run, like upstream's banner: the question it was asked, its final answer, its status,
its iterations and code blocks, the sub-calls below it per depth, and its tokens, cost
and time (``summary`` counts every LM call once). ``question_of(run)`` is also how New
Run fills its prompt from a recording; a live run that has no iteration yet has it from
its start (``run.extra[STARTED_QUESTION_KEY]``, set by the live recorder).
``facts_of_totals(run, totals)`` gives the same facts from a ``totals.RunTotals`` already
counted (a lazily opened file's whole-file pass, or a worker's), without walking the run's
iterations: what a GUI thread may call on any run.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from . import summary
from .model import Run, RunStatus

#: How the task is put in the first user message: ours, then upstream's 0.1.2+.
TASK_PREFIXES = ("Your task: ", "Answer the following: ")
#: ``Run.extra`` key of the task a live run was given when it started (before any LM request).
STARTED_QUESTION_KEY = "started_question"


@dataclass
class RunFacts:
    title: str
    question: str | None  # None: not in the log
    answer: str | None  # None: no final answer (yet)
    status: str
    iterations: int
    code_blocks: int
    sub_calls_by_depth: dict[int, int] = field(default_factory=dict)
    tokens: int = 0
    cost: float | None = None
    seconds: float = 0.0
    error: str | None = None


def question_of(run: Run) -> str | None:
    """The task the run was given: the first user message that states it (ours and
    upstream 0.1.2+), else the task a live run was started with (known before its first
    LM request), else, for a child run, the prompt its ``rlm_query`` passed."""
    first = run.iterations[0].prompt if run.iterations else []
    for m in first if isinstance(first, list) else []:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(m, dict) and m.get("role") == "user" and isinstance(content, str):
            for prefix in TASK_PREFIXES:
                if content.startswith(prefix):
                    return content[len(prefix):].split("\n\n", 1)[0]
    started = run.extra.get(STARTED_QUESTION_KEY) if isinstance(run.extra, dict) else None
    if isinstance(started, str) and started:
        return started
    call = run.parent
    if call is not None:
        prompt: Any = call.prompt
        if isinstance(prompt, str):
            return prompt
        if isinstance(prompt, list) and prompt:
            last = prompt[-1]
            if isinstance(last, dict) and isinstance(last.get("content"), str):
                return last["content"]
    return None


def _status(run: Any) -> str:
    status = run.status.value if isinstance(run.status, RunStatus) else str(run.status)
    return status.replace("_", " ")


def heading_facts(run: Run) -> RunFacts:
    """The facts that need no walk over the run (title, question, answer, status, the
    number of iterations); the counts stay 0 until they are known."""
    from .names import title, where

    return RunFacts(
        title=where(run) if run.parent is not None else title(run),
        question=question_of(run),
        answer=run.final_answer,
        status=_status(run),
        iterations=len(run.iterations),
        code_blocks=0,
        error=run.error,
    )


def facts_of_totals(run: Run, t: Any) -> RunFacts:
    """``run_facts`` from a ``RunTotals`` of that run: its counts, the run's own title,
    question and status (cheap: the first iteration and the run's fields only)."""
    return replace(
        heading_facts(run),
        iterations=t.iterations,
        code_blocks=t.code_blocks,
        sub_calls_by_depth=dict(sorted(t.sub_calls_by_depth.items())),
        tokens=t.usage.total_tokens,
        cost=t.usage.cost,
        seconds=t.total_time,
    )


def run_facts(run: Run, upstream: bool | None = None) -> RunFacts:
    blocks = sum(len(it.code_blocks) for it in run.iterations)
    try:
        usage = summary.subtree_usage(run, upstream)
        tokens, cost = usage.total_tokens, usage.cost
    except Exception:  # noqa: BLE001 - a half-written live node
        tokens, cost = 0, None
    return replace(
        heading_facts(run),
        code_blocks=blocks,
        sub_calls_by_depth=dict(sorted(run.sub_calls_by_depth().items())),
        tokens=tokens,
        cost=cost,
        seconds=run.total_time(),
    )


__all__ = ["STARTED_QUESTION_KEY", "TASK_PREFIXES", "RunFacts", "facts_of_totals", "heading_facts", "question_of", "run_facts"]
