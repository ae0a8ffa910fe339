"""The run-tree data model shared by recorded files and live runs.

A file (``Trajectory``) holds one or more completions (``Run``). A run has
iterations; an iteration has code blocks; a code block has sub-calls; a
sub-call that spawned a child RLM holds that child ``Run``. The same objects
are built by the JSONL reader (recorded runs) and by the live recorder that
observes the engine's event stream, so every panel works for both.

Nodes are plain mutable objects (a live run grows in place). Every node knows
its parent and has a stable ``path`` string that identifies it across panels,
e.g. ``"r0/i3/b1/c2/i1/b0"`` = run 0, iteration 3, block 1, call 2, the child
run's iteration 1, block 0.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

#: Extra key our own writer adds to records (upstream readers ignore unknown keys).
EXTRA_KEY = "rlm_desktop"


class RunStatus(enum.StrEnum):
    RUNNING = "running"  # live run, or a followed file still being written
    FINISHED = "finished"  # a final answer was given
    MAX_ITERATIONS = "max_iterations"  # ended with the default-answer record
    INCOMPLETE = "incomplete"  # the file stops without a final answer (aborted upstream, crash)
    FAILED = "failed"  # our engine recorded an error
    CANCELLED = "cancelled"  # stopped by the user


@dataclass
class Usage:
    """Token/cost roll-up. ``cost`` is None when no provider reported a cost."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float | None = None

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        if self.cost is None and other.cost is None:
            cost = None
        else:
            cost = (self.cost or 0.0) + (other.cost or 0.0)
        return Usage(
            self.calls + other.calls,
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            cost,
        )

    @classmethod
    def from_summary(cls, summary: Any) -> Usage:
        """Build from an upstream ``usage_summary`` dict; tolerant of junk."""
        usage = cls()
        if not isinstance(summary, dict):
            return usage
        models = summary.get("model_usage_summaries")
        if isinstance(models, dict):
            for m in models.values():
                if not isinstance(m, dict):
                    continue
                usage = usage + cls(
                    _as_int(m.get("total_calls")),
                    _as_int(m.get("total_input_tokens")),
                    _as_int(m.get("total_output_tokens")),
                    _as_float(m.get("total_cost")),
                )
        total_cost = _as_float(summary.get("total_cost"))
        if total_cost is not None:
            usage.cost = total_cost
        return usage

    def to_summary(self, model: str) -> dict[str, Any]:
        """Upstream-shaped ``usage_summary`` for one model."""
        entry: dict[str, Any] = {
            "total_calls": self.calls,
            "total_input_tokens": self.input_tokens,
            "total_output_tokens": self.output_tokens,
        }
        out: dict[str, Any] = {"model_usage_summaries": {model: entry}}
        if self.cost is not None:
            entry["total_cost"] = self.cost
            out["total_cost"] = self.cost
        return out


def _as_int(v: Any) -> int:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, int):
        return v
    if isinstance(v, float) and v == v and abs(v) != float("inf"):
        return int(v)
    return 0


def _as_float(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    return None


@dataclass(eq=False)
class SubCall:
    """One entry of ``rlm_calls``: a plain LM call, or a child RLM (``child`` set)."""

    index: int
    model: str = ""
    prompt: Any = ""
    response: str = ""
    usage: Usage = field(default_factory=Usage)
    execution_time: float | None = None
    error: str | None = None
    child: Run | None = None
    running: bool = False  # live: started, not finished yet
    parent: CodeBlock | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def path(self) -> str:
        return f"{self.parent.path if self.parent else ''}/c{self.index}"

    @property
    def depth(self) -> int:
        """Depth of the call itself: the calling run's depth + 1."""
        run = self.run
        return (run.depth if run else 0) + 1

    @property
    def run(self) -> Run | None:
        return self.parent.run if self.parent else None

    @property
    def is_recursive(self) -> bool:
        return self.child is not None

    @property
    def failed(self) -> bool:
        return bool(self.error) or self.response.startswith("Error:")


@dataclass(eq=False)
class CodeBlock:
    index: int
    code: str = ""
    stdout: str = ""
    stderr: str = ""
    locals: dict[str, Any] = field(default_factory=dict)
    execution_time: float | None = None
    sub_calls: list[SubCall] = field(default_factory=list)
    final_answer: str | None = None
    running: bool = False  # live: started, not finished yet
    parent: Iteration | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def path(self) -> str:
        return f"{self.parent.path if self.parent else ''}/b{self.index}"

    @property
    def run(self) -> Run | None:
        return self.parent.parent if self.parent else None

    @property
    def has_error(self) -> bool:
        return bool(self.stderr)

    def add_sub_call(self, call: SubCall) -> SubCall:
        call.parent = self
        self.sub_calls.append(call)
        return call

    def usage(self) -> Usage:
        total = Usage()
        for c in self.sub_calls:
            total = total + c.usage
            if c.child is not None:
                total = total + c.child.nested_usage()
        return total


@dataclass(eq=False)
class Iteration:
    """One root-LM turn: the prompt it saw, its response and the blocks run."""

    number: int  # as logged (1-based; pre/0.1.0 do not restart per completion)
    timestamp: str = ""
    prompt: Any = field(default_factory=list)
    response: str = ""
    code_blocks: list[CodeBlock] = field(default_factory=list)
    final_answer: str | None = None
    final_answer_kind: str | None = None  # "FINAL" / "FINAL_VAR" for pre-era pairs
    iteration_time: float | None = None
    is_default_answer: bool = False
    line_no: int | None = None  # 1-based line in the file, None for nested/live
    usage: Usage | None = None  # the root LM call's own usage, when known (our logs)
    edited: bool = False  # the response was edited in the debugger before it ran
    original_response: str | None = None
    running: bool = False  # live: still in progress
    position: int = 0  # 0-based place within its run (set by Run.add_iteration); used in paths
    parent: Run | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def path(self) -> str:
        return f"{self.parent.path if self.parent else ''}/i{self.position}"

    @property
    def run(self) -> Run | None:
        return self.parent

    @property
    def depth(self) -> int:
        return self.parent.depth if self.parent else 0

    def add_block(self, block: CodeBlock) -> CodeBlock:
        block.parent = self
        self.code_blocks.append(block)
        return block

    def sub_calls(self) -> Iterator[SubCall]:
        for b in self.code_blocks:
            yield from b.sub_calls

    def sub_call_usage(self) -> Usage:
        total = Usage()
        for b in self.code_blocks:
            total = total + b.usage()
        return total

    def total_usage(self) -> Usage:
        own = self.usage if self.usage is not None else Usage()
        return own + self.sub_call_usage()


@dataclass(eq=False)
class Run:
    """One completion: the root of a file's run, or a nested child RLM."""

    index: int = 0  # completion index within the file (0 for child runs)
    depth: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    iterations: list[Iteration] = field(default_factory=list)
    status: RunStatus = RunStatus.INCOMPLETE
    final_answer: str | None = None
    error: str | None = None
    run_id: str = ""
    parent: SubCall | None = field(default=None, repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def path(self) -> str:
        if self.parent is not None:
            return f"{self.parent.path}/r"
        return f"r{self.index}"

    @property
    def model(self) -> str:
        return str(self.metadata.get("root_model") or "")

    @property
    def max_iterations(self) -> int | None:
        v = self.metadata.get("max_iterations")
        return v if isinstance(v, int) and not isinstance(v, bool) else None

    def add_iteration(self, it: Iteration) -> Iteration:
        it.parent = self
        it.position = len(self.iterations)
        self.iterations.append(it)
        return it

    def walk(self) -> Iterator[Run | Iteration | CodeBlock | SubCall]:
        """Depth-first over this run and everything below it."""
        yield self
        for it in self.iterations:
            yield it
            for b in it.code_blocks:
                yield b
                for c in b.sub_calls:
                    yield c
                    if c.child is not None:
                        yield from c.child.walk()

    def runs(self) -> Iterator[Run]:
        for node in self.walk():
            if isinstance(node, Run):
                yield node

    def own_usage(self) -> Usage:
        """Root-LM usage of this run's own turns, where the log has it."""
        total = Usage()
        for it in self.iterations:
            if it.usage is not None:
                total = total + it.usage
        return total

    def nested_usage(self) -> Usage:
        """Usage of all calls made below this run (sub-calls at every depth)."""
        total = Usage()
        for it in self.iterations:
            total = total + it.sub_call_usage()
        return total

    def total_usage(self) -> Usage:
        return self.own_usage() + self.nested_usage()

    def total_time(self) -> float:
        return sum(it.iteration_time or 0.0 for it in self.iterations)

    def sub_calls_by_depth(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for node in self.walk():
            if isinstance(node, SubCall):
                counts[node.depth] = counts.get(node.depth, 0) + 1
        return counts

    def max_depth_reached(self) -> int:
        return max((r.depth for r in self.runs()), default=self.depth)


@dataclass(frozen=True)
class BadLine:
    """A line that could not be read; the rest of the file still loads."""

    line_no: int  # 1-based
    message: str
    text: str  # a preview of the raw line (sanitised, cut to a few hundred chars)


@dataclass(eq=False)
class Trajectory:
    """A whole log file: its metadata line, completions and bad lines."""

    path: str | None = None
    metadata: dict[str, Any] | None = None
    runs: list[Run] = field(default_factory=list)
    bad_lines: list[BadLine] = field(default_factory=list)
    era: str = "unknown"  # "pre", "0.1.0", "0.1.1", "0.1.2+", "rlm_desktop", "unknown"
    line_count: int = 0
    pending_tail: bool = False  # the file ends with an unterminated line (still being written?)
    #: a big file opened lazily: the ``lazy.LazyTrajectory`` whose run shells these are
    #: (iterations are placeholders until loaded), else None; and the index generation they match
    lazy: Any = field(default=None, repr=False, compare=False)
    extra_generation: int = field(default=0, repr=False, compare=False)

    def find(self, path: str) -> Run | Iteration | CodeBlock | SubCall | None:
        """Resolve a node path (see module docs) to a node, or None."""
        for run in self.runs:
            if path == run.path or path.startswith(run.path + "/"):
                for node in run.walk():
                    if node.path == path:
                        return node
        return None

    def walk(self) -> Iterator[Run | Iteration | CodeBlock | SubCall]:
        for run in self.runs:
            yield from run.walk()


Node = Run | Iteration | CodeBlock | SubCall
