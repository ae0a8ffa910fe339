"""ui.heap: a big trajectory shown in the window is kept out of the garbage collector's full
passes (gc.freeze), and showing another one lets the first be collected (no leak)."""

from __future__ import annotations

import gc
import weakref

import pytest

from rlm_desktop.ui import heap
from tests.support import hostile_models


@pytest.fixture(autouse=True)
def _small_threshold(monkeypatch):
    monkeypatch.setattr(heap, "BIG_ITERATIONS", 500)
    yield
    heap.release()
    assert not heap.frozen()


def test_a_big_trajectory_is_frozen_a_small_one_not(qtbot, window):
    small, _ = hostile_models.many_iterations(10)
    window.show_trajectory(small, small.path)
    assert not heap.frozen() and gc.get_freeze_count() == 0
    big, run = hostile_models.many_iterations(1_000)
    window.show_trajectory(big, big.path)
    assert heap.frozen() and gc.get_freeze_count() > 0
    assert not gc.is_finalized(run)
    # a full collection leaves the frozen objects where they are (nothing to walk)
    gc.collect()
    assert gc.get_freeze_count() > 0


def test_the_replaced_trajectory_is_collected_and_the_new_one_frozen_after(qtbot, window):
    first, run = hostile_models.many_iterations(1_000)
    window.show_trajectory(first, first.path)
    assert heap.frozen()
    gone = weakref.ref(run)
    del first, run
    second, _ = hostile_models.many_iterations(1_000)
    window.show_trajectory(second, second.path)
    # unfrozen until the next full collection, which takes the first run's cycles
    assert not heap.frozen()
    metrics = window.panels["metrics"]
    qtbot.waitUntil(lambda: not metrics.job.running and not window.status.totals_job.running, timeout=30_000)
    gc.collect()
    assert gone() is None
    assert heap.frozen() and gc.get_freeze_count() > 0  # frozen right after that collection
    window.show_trajectory(None)
    assert not heap.frozen()


def test_closing_the_window_unfreezes(qtbot, window):
    big, _ = hostile_models.many_iterations(1_000)
    window.show_trajectory(big, big.path)
    assert heap.frozen()
    window.shutdown()
    assert not heap.frozen() and gc.get_freeze_count() == 0
