"""Opening a big trajectory: indexed and read off the GUI thread, first iteration shown early."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QTimer

from bench.gen_logs import generate
from rlm_desktop.ui import loader as loader_mod


@pytest.fixture(scope="module")
def big_log(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    generate(path, size_mb=24, output_kb=16, context_kb=16, max_iterations=30)
    return str(path)


def test_big_file_opens_without_blocking_the_event_loop(qtbot, window, big_log, monkeypatch):
    ticks = [0]
    # Mid-read, the worker waits until the GUI thread's timer has ticked 3 more times: if
    # reading blocked the event loop, the ticks would never come (the wait would time out).
    mid_read, gate, waited = [], threading.Event(), []
    real_read = loader_mod.read_with_progress

    def read(path, progress=None):
        def report(fraction):
            if progress is not None:
                progress(fraction)
            if fraction > 0.3 and not gate.is_set():
                mid_read.append(ticks[0])
                waited.append(gate.wait(20))

        return real_read(path, report)

    monkeypatch.setattr(loader_mod, "read_with_progress", read)

    def tick():
        ticks[0] += 1
        if mid_read and ticks[0] - mid_read[0] >= 3:
            gate.set()

    timer = QTimer()
    timer.setInterval(1)
    timer.timeout.connect(tick)
    seen: list[tuple[str, object]] = []

    def on_preview(path, traj):  # connected after the window's slot: the views show it now
        run_idx = window.tree.model.index_of(traj.runs[0])
        seen.append(("preview", (ticks[0], window.tree.model.rowCount(), window.tree.model.rowCount(run_idx),
                                 window.timeline.model.rowCount(), window.windowTitle())))
        window.timeline.view.setCurrentIndex(window.timeline.model.index(0))  # the user picks it
        seen.append(("picked", window.selection.node.path))

    window.loader.preview.connect(on_preview)
    window.loader.progress.connect(lambda p, f: seen.append(("progress", f)))  # queued: one per pass
    window.loader.loaded.connect(lambda p, t: seen.append(("loaded", ticks[0])))
    timer.start()
    window.open_files([big_log])
    try:
        qtbot.waitUntil(lambda: any(k == "loaded" for k, _ in seen), timeout=30000)
    finally:
        gate.set()  # never leave the worker waiting
        timer.stop()
    kinds = [k for k, _ in seen if k != "picked"]
    assert kinds[0] == "preview" and kinds[-1] == "loaded" and "progress" in kinds
    picked = next(v for k, v in seen if k == "picked")
    assert picked == "r0/i0"
    _ticks, runs, iters, cells, title = seen[0][1]
    assert runs == 1 and iters >= 1 and cells >= 1  # first iteration in tree and timeline
    assert "loading" in title
    fractions = [f for k, f in seen if k == "progress"]
    assert fractions == sorted(fractions) and 0 < fractions[0] < 1
    # the GUI event loop kept turning while the worker read the file
    # the GUI event loop kept turning while the worker was in the middle of the file
    assert waited == [True] and seen[-1][1] - mid_read[0] >= 3
    assert len(fractions) >= 2
    traj = window.trajectory
    assert traj is window.documents[big_log] and "loading" not in window.windowTitle()
    total = sum(1 for _ in traj.walk())
    handed_out = sum(window.tree.model._fetched.values())
    assert total > 500 and handed_out < total / 4  # the tree holds only what was expanded
    # the pick made in the preview survives the full load (same node of the full model)
    assert window.selection.node is traj.runs[0].iterations[0]
    assert window.tree.model.node(window.tree.view.currentIndex()) is traj.runs[0].iterations[0]


def test_small_files_load_in_one_step(qtbot, window, tmp_path, monkeypatch):
    from rlm_desktop.engine.demo import load_demo

    previews = []
    window.loader.preview.connect(lambda p, t: previews.append(p))
    window.open_files([str(load_demo().trajectory_path)])
    qtbot.waitUntil(lambda: window.loader.pending == 0 and window.trajectory is not None, timeout=5000)
    assert previews == []  # under PREVIEW_BYTES: no preview, one model
    # the preview threshold is what decides: a tiny threshold previews the demo too
    monkeypatch.setattr(loader_mod, "PREVIEW_BYTES", 1)
    window.open_files([str(load_demo().trajectory_path)])
    qtbot.waitUntil(lambda: window.loader.pending == 0 and len(previews) == 1, timeout=5000)
    assert window.trajectory.runs[0].iterations and "loading" not in window.windowTitle()
