"""Immutable stubs that ``lazy.LazyTrajectory`` hands out: what indexing knows
about runs and iterations without parsing their lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import BadLine, RunStatus


@dataclass(frozen=True)
class IterStub:
    line_no: int  # 1-based line in the file
    number: int
    timestamp: str
    final: bool  # has a final answer
    is_default_answer: bool
    nbytes: int
    run_index: int
    position: int  # 0-based place in its run
    status: str | None = None  # our "rlm_desktop" status extra ("cancelled"/"failed")


@dataclass(frozen=True)
class RunStub:
    index: int
    iterations: tuple[IterStub, ...]
    status: RunStatus
    has_final: bool
    run_id: str = ""


@dataclass(frozen=True)
class LazySnapshot:
    runs: tuple[RunStub, ...]
    metadata: dict[str, Any] | None
    bad_lines: tuple[BadLine, ...]
    line_count: int
    bytes_indexed: int
    size: int
    complete: bool
    pending_tail: bool
    era: str
    validated: bool = False  # every line has been parsed once (see LazyTrajectory.validate_step)
    generation: int = 0  # bumped when a correction re-split the runs

    @property
    def progress(self) -> float:
        if self.complete:
            return 1.0
        return min(1.0, self.bytes_indexed / self.size) if self.size else 0.0
