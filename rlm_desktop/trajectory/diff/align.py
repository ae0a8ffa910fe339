"""Pairing two sequences of sibling nodes (runs, iterations, blocks, sub-calls).

Equal lengths pair by position (the n-th with the n-th; their contents are then compared).
Different lengths: the common prefix and suffix (by key) pair first, then a longest common
subsequence by key over the middle anchors the rest, and what is left between two anchors
pairs by position, the surplus being added (only in B) or removed (only in A). So a fork
that runs two more turns than its original shows the shared turns paired, the turns after
the fork point paired as "changed", and the extra ones as "added".
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

T = TypeVar("T")

#: above this many DP cells (len(a) * len(b) of the middle part) the LCS is skipped and the
#: middle pairs by position: the diff stays fast on pathological inputs.
MAX_LCS_CELLS = 4_000_000


def lcs_pairs(ka: Sequence[Hashable], kb: Sequence[Hashable]) -> list[tuple[int, int]]:
    """Index pairs (i, j) of one longest common subsequence of ``ka`` and ``kb``."""
    n, m = len(ka), len(kb)
    if n == 0 or m == 0 or n * m > MAX_LCS_CELLS:
        return []
    # lengths[i][j] = LCS length of ka[i:], kb[j:]; rows as lists of ints
    lengths = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        row, below, a = lengths[i], lengths[i + 1], ka[i]
        for j in range(m - 1, -1, -1):
            if a == kb[j]:
                row[j] = below[j + 1] + 1
            else:
                r, d = row[j + 1], below[j]
                row[j] = r if r >= d else d
    out = []
    i = j = 0
    while i < n and j < m:
        if ka[i] == kb[j]:
            out.append((i, j))
            i += 1
            j += 1
        elif lengths[i + 1][j] >= lengths[i][j + 1]:
            i += 1
        else:
            j += 1
    return out


def align(a: Sequence[T], b: Sequence[T], key: Callable[[T], Hashable]) -> list[tuple[T | None, T | None]]:
    """Pairs ``(x, y)`` in order; ``(x, None)`` only in ``a``, ``(None, y)`` only in ``b``."""
    if len(a) == len(b):
        return list(zip(a, b, strict=True))
    ka = [key(x) for x in a]
    kb = [key(y) for y in b]
    n, m = len(a), len(b)
    pre = 0
    while pre < n and pre < m and ka[pre] == kb[pre]:
        pre += 1
    suf = 0
    while suf < n - pre and suf < m - pre and ka[n - 1 - suf] == kb[m - 1 - suf]:
        suf += 1
    anchors = [(i + pre, j + pre) for i, j in lcs_pairs(ka[pre:n - suf], kb[pre:m - suf])]
    anchors.append((n - suf, m - suf))  # the suffix start closes the last gap
    out: list[tuple[T | None, T | None]] = [(a[i], b[i]) for i in range(pre)]
    i, j = pre, pre
    for ai, bj in anchors:
        gap_a, gap_b = list(range(i, ai)), list(range(j, bj))
        for k in range(max(len(gap_a), len(gap_b))):
            x = a[gap_a[k]] if k < len(gap_a) else None
            y = b[gap_b[k]] if k < len(gap_b) else None
            out.append((x, y))
        if ai < n - suf:
            out.append((a[ai], b[bj]))
        i, j = ai + 1, bj + 1
    out.extend((a[n - suf + k], b[m - suf + k]) for k in range(suf))
    return out
