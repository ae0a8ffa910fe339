"""Opening a big trajectory: indexed and read off the GUI thread, first iteration shown early."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QTimer

from bench.gen_logs import generate
from rlm_desktop.ui import loader as loader_mod


@pytest.fixture(scope="module")
def big_log(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    generate(path, size_mb=24, output_kb=16, context_kb=16, max_iterations=30)
    return str(path)


@pytest.fixture
def window(qtbot, qapp):
    qapp.setOrganizationName("rlm-desktop-tests")
    qapp.setApplicationName("shell-loading")
    from rlm_desktop.ui.main_window import MainWindow

    w = MainWindow(restore_layout=False)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()


def test_big_file_opens_without_blocking_the_event_loop(qtbot, window, big_log):
    ticks = [0]
    timer = QTimer()
    timer.setInterval(0)  # ticks on every pass of the event loop
    timer.timeout.connect(lambda: ticks.__setitem__(0, ticks[0] + 1))
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
    qtbot.waitUntil(lambda: any(k == "loaded" for k, _ in seen), timeout=30000)
    timer.stop()
    kinds = [k for k, _ in seen if k != "picked"]
    assert kinds[0] == "preview" and kinds[-1] == "loaded" and "progress" in kinds
    picked = next(v for k, v in seen if k == "picked")
    assert picked == "r0/i0"
    preview_ticks, runs, iters, cells, title = seen[0][1]
    assert runs == 1 and iters >= 1 and cells >= 1  # first iteration in tree and timeline
    assert "loading" in title
    fractions = [f for k, f in seen if k == "progress"]
    assert fractions == sorted(fractions) and 0 < fractions[0] < 1
    # the GUI event loop kept turning while the worker read the file
    # the GUI event loop kept turning while the worker read the file: the preview was on
    # screen first, progress arrived in later passes of the loop, the timer still ticked
    # (a few times only: laying out and highlighting the preview's multi-MB first iteration
    # is GUI work of its own, so no more is asked here)
    assert seen[-1][1] > preview_ticks
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
