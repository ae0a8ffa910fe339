"""Where the diff gets its run trees: the one place that calls the trajectory reader.

Everything else in ``trajectory.diff`` works on model objects (``Trajectory``, ``Run`` ...),
so moving to another reader face means changing only ``load``.
"""

from __future__ import annotations

import os

from rlm_desktop.trajectory.log_reader import LogReader
from rlm_desktop.trajectory.model import Trajectory


class Unreadable(OSError):
    """The file cannot be opened, is a directory, or has no readable record at all."""


def load(path: str) -> Trajectory:
    """Read a whole log (any upstream version or ours) into model objects, or raise ``Unreadable``."""
    if os.path.isdir(path):
        raise Unreadable(f"{path}: is a directory")
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise Unreadable(f"{path}: {exc.strerror or exc}") from None
    with LogReader(path) as log:  # the whole model: a diff compares every node
        traj = log.read()
    if traj.bad_lines and traj.bad_lines[0].line_no == 0:  # the reader could not open it after all
        raise Unreadable(f"{path}: {traj.bad_lines[0].message}")
    if not traj.runs and traj.bad_lines:
        raise Unreadable(f"{path}: no readable record ({len(traj.bad_lines)} bad lines)")
    return traj
