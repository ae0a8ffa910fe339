"""What the metrics plots draw, made from a run's ``RunMetrics`` in one pass that a worker
can run: bounded arrays (at most ``MAX_BARS`` bars per plot, ``binning``), the y-axis tops,
the summary's sums and what the x-axis ticks need. No Qt.

A run of 500,000 iterations has series of 500,000 numbers: turning them into arrays, binning
them and taking their maxima costs ~0.5 s of GIL-holding work. Done on the GUI thread it
froze the window; ``PlotData.of`` runs in the metrics worker, and the GUI thread only hands
at most ``MAX_BARS`` points per series to pyqtgraph.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .binning import MAX_BARS, binned

if TYPE_CHECKING:
    from .metrics import RunMetrics


def _empty() -> np.ndarray:
    return np.zeros(0)


def _numbers(series: Sequence[float], dtype: type = float) -> np.ndarray:
    """A new numpy array of ``series``: an ``array.array`` (what ``RunTotals`` keeps) is read
    through its buffer, ~50x faster than element by element (which holds the GIL throughout:
    ~25 ms per 500,000 numbers, the GUI thread waiting behind the worker meanwhile)."""
    if isinstance(series, array):
        return np.array(memoryview(series), dtype=dtype)
    return np.asarray(series, dtype=dtype)


@dataclass
class PlotData:
    """Bars and curve points of the per-iteration plots (``x`` in iteration positions)."""

    n: int = 0  # iterations (bars before binning)
    x: np.ndarray = field(default_factory=_empty)
    width: float = 0.7
    root_in: np.ndarray = field(default_factory=_empty)
    root_out: np.ndarray = field(default_factory=_empty)
    sub: np.ndarray = field(default_factory=_empty)
    repl: np.ndarray = field(default_factory=_empty)
    lm: np.ndarray = field(default_factory=_empty)
    cost: np.ndarray = field(default_factory=_empty)
    top_tokens: float = 0.0  # the tallest stacked bar of one iteration (not of a bin's mean)
    top_cost: float = 0.0
    top_time: float = 0.0
    total_time: float = 0.0
    any_root_tokens: bool = False
    digits: int = 1  # of the widest iteration number (tick spacing)
    first_number: int = 0
    consecutive: bool = True  # numbers are first, first + 1, … (ticks need not read them)
    numbers: np.ndarray | None = None  # the iteration numbers, only when not consecutive

    @property
    def grouped(self) -> bool:
        return len(self.x) < self.n

    @classmethod
    def of(cls, m: RunMetrics, max_bars: int = MAX_BARS) -> PlotData:
        n = len(m.numbers)
        rin = _numbers(m.root_in)
        rout = _numbers(m.root_out)
        sub = _numbers(m.sub_tokens)
        repl = _numbers(m.repl_time)
        total = _numbers(m.time)
        lm = np.maximum(total - repl, 0.0)
        cost = _numbers(m.cost)
        x, width, (brin, brout, bsub, brepl, blm, bcost) = binned(n, rin, rout, sub, repl, lm, cost,
                                                                  max_bars=max_bars)
        numbers = _numbers(m.numbers, np.int64)
        consecutive = bool(n == 0 or int(numbers[-1]) - int(numbers[0]) == n - 1
                           and (n < 2 or bool(np.all(np.diff(numbers) == 1))))
        digits = max(len(str(int(numbers.min()))), len(str(int(numbers.max())))) if n else 1
        return cls(
            n=n, x=x, width=width, root_in=brin, root_out=brout, sub=bsub, repl=brepl, lm=blm, cost=bcost,
            top_tokens=float((rin + rout + sub).max()) if n else 0.0,
            top_cost=float(cost.max()) if n else 0.0,
            top_time=float(total.max()) if n else 0.0,
            total_time=float(total.sum()),
            any_root_tokens=bool(rin.any() or rout.any()),
            digits=digits,
            first_number=int(numbers[0]) if n else 0,
            consecutive=consecutive,
            numbers=None if consecutive else numbers,
        )

    def major_ticks(self, step: int, lo: float, hi: float) -> list[tuple[int, str]]:
        """Labelled ticks ``step`` iterations apart (the first iteration always), only those
        from position ``lo`` to ``hi`` (what is shown): a few dozen, whatever the run's size."""
        n = self.n
        if not n:
            return []
        start, stop = max(int(lo) - 1, 0), min(int(hi) + 2, n)
        if self.consecutive:
            first = self.first_number
            begin = start + (-(first + start)) % step
            ticks = [(i, str(first + i)) for i in range(begin, stop, step) if i]
        else:
            assert self.numbers is not None
            shown = self.numbers[start:stop]
            pos = np.nonzero(shown % step == 0)[0] + start if step > 1 else np.arange(start, stop)
            ticks = [(int(i), str(int(self.numbers[i]))) for i in pos if i]
        return [(0, str(self.first_number if self.consecutive else int(self.numbers[0])))] + ticks  # type: ignore[index]


__all__ = ["PlotData"]
