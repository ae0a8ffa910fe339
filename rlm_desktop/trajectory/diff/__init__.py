"""Structural diff of two RLM trajectories (no Qt): see ``tree`` for what is compared.

    from rlm_desktop.trajectory.diff import diff_files
    d = diff_files("a.jsonl", "b.jsonl")       # raises Unreadable
    d.first_divergence.path, d.first_divergence.what
"""

from __future__ import annotations

from .source import Unreadable, load
from .tree import ADDED, CHANGED, REMOVED, SAME, DiffNode, TrajectoryDiff, diff_trajectories, totals


def diff_files(path_a: str, path_b: str) -> TrajectoryDiff:
    return diff_trajectories(load(path_a), load(path_b))


__all__ = [
    "ADDED",
    "CHANGED",
    "REMOVED",
    "SAME",
    "DiffNode",
    "TrajectoryDiff",
    "Unreadable",
    "diff_files",
    "diff_trajectories",
    "load",
    "totals",
]
