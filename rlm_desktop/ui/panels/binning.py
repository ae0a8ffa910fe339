"""More bars than a plot can draw in a frame (a run of 500,000 iterations) drawn as the means
of equal groups, in iteration coordinates (a click still maps to an iteration). No Qt."""

from __future__ import annotations

import numpy as np

#: At most this many bars per plot; more iterations are drawn as means of equal groups.
#: (A plot is rarely 1,000 px wide: more bars would be thinner than a pixel, and each one
#: costs pyqtgraph's paint.)
MAX_BARS = 1_000


def binned(n: int, *series: np.ndarray, max_bars: int = MAX_BARS) -> tuple[np.ndarray, float, list[np.ndarray]]:
    """(x, bar width, series) for ``n`` iterations: unchanged up to ``max_bars``; beyond, the
    means of groups of ``ceil(n / max_bars)`` iterations, each bar centred on its group in
    iteration coordinates (so a click still maps to an iteration)."""
    if n <= max_bars:
        return np.arange(n, dtype=float), 0.7, list(series)
    size = -(-n // max_bars)
    groups = -(-n // size)
    pad = groups * size - n
    counts = np.full(groups, float(size))
    counts[-1] = size - pad
    out = []
    for s in series:
        padded = np.concatenate([np.asarray(s, dtype=float), np.zeros(pad)])
        out.append(padded.reshape(groups, size).sum(axis=1) / counts)
    x = np.arange(groups, dtype=float) * size + (size - 1) / 2
    x[-1] = (groups - 1) * size + (counts[-1] - 1) / 2
    return x, size * 0.9, out
