"""The PySide6 6.12.0 / CPython 3.11 refcount guard (ui/refcount_guard.py) is installed once, at
app start, and only where PySide6 loses references; importing the UI does not install it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import sys
from rlm_desktop.ui import refcount_guard
refcount_guard.leaks = lambda: {leaks!r}  # what the probe measures, e.g. 1 with PySide6 6.12.0 on 3.11
import rlm_desktop.ui.follow, rlm_desktop.ui.runs_panel, rlm_desktop.ui.panels.common  # noqa
print("after import:", refcount_guard.installed)
from rlm_desktop.ui.app import make_app
app = make_app()
print("after start:", refcount_guard.installed, sys.getrefcount(None) > 2**40, sys.getrefcount(True) > 2**40)
print("again:", refcount_guard.install())
"""


def _start_app(leaks: dict[str, int]) -> list[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    res = subprocess.run(
        [sys.executable, "-c", PROBE.format(leaks=leaks)], capture_output=True, text=True, timeout=120, env=env
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout.splitlines()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None/True are immortal from CPython 3.12 on")
def test_the_app_start_installs_it_where_references_are_lost():
    assert _start_app({"None": 1, "True": 1}) == [
        "after import: False",
        "after start: True True True",
        "again: True",
    ]


def test_a_pyside6_that_keeps_its_references_is_left_alone():
    assert _start_app({"None": 0, "True": 0}) == [
        "after import: False",
        "after start: False False False",
        "again: False",
    ]


def test_the_probe_finds_no_loss_in_the_pinned_pyside6():
    from rlm_desktop.ui import refcount_guard

    assert refcount_guard.leaks() == {"None": 0, "True": 0}
