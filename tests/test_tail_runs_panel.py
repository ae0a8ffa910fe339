"""pytest-qt: the runs list and live trajectories update as files are written."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from rlm_desktop.trajectory.model import RunStatus
from rlm_desktop.ui.follow import FollowController
from rlm_desktop.ui.runs_panel import COL_ITERS, COL_MODIFIED, COL_STATUS, PATH_ROLE, RunsPanel
from tests.support import tail_logs
from tests.support.tail_logs import append

LINES = tail_logs.script(seed=11, n=8)


@pytest.fixture
def panel(qtbot):
    ctl = FollowController()
    p = RunsPanel(ctl)
    qtbot.addWidget(p)
    p.resize(900, 400)
    yield p
    ctl.shutdown()


def cell(panel: RunsPanel, path: Path, col: int) -> str:
    row = panel.model.row_of(str(path))
    return panel.model.index(row, col).data() if row is not None else None


def rows(panel: RunsPanel) -> list[str]:
    return [panel.proxy.index(r, 0).data(PATH_ROLE) for r in range(panel.proxy.rowCount())]


def test_runs_list_updates_live_and_keeps_selection(qtbot, panel: RunsPanel, tmp_path: Path) -> None:
    a = tmp_path / "a.jsonl"
    append(a, LINES[:3])
    old = time.time() - 600
    os.utime(a, (old, old))
    assert panel.follow(tmp_path)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1)
    assert cell(panel, a, COL_ITERS) == "2"
    assert panel.select_path(str(a))

    b = tmp_path / "b.jsonl"
    append(b, LINES[:2])
    qtbot.waitUntil(lambda: panel.model.rowCount() == 2)
    assert rows(panel) == [str(b), str(a)]  # newest first
    assert cell(panel, b, COL_STATUS) == "running"
    assert panel.selected_path() == str(a)

    with qtbot.waitSignal(panel.controller.listing_changed, timeout=3000):
        append(a, LINES[3:6])
    qtbot.waitUntil(lambda: cell(panel, a, COL_ITERS) == "5")
    qtbot.waitUntil(lambda: rows(panel)[0] == str(a))  # re-sorted: a changed last
    assert panel.selected_path() == str(a)
    sel = panel.view.selectionModel().selectedRows()
    assert [i.data(PATH_ROLE) for i in sel] == [str(a)]

    append(a, LINES[6:])
    qtbot.waitUntil(lambda: cell(panel, a, COL_STATUS) == "finished")
    assert panel.count_label.text() == "2 runs"

    with qtbot.waitSignal(panel.run_activated, timeout=1000) as blocker:
        panel.view.activated.emit(panel.view.selectionModel().currentIndex())
    assert blocker.args == [str(a)]


def test_selected_run_trajectory_grows_in_place(qtbot, panel: RunsPanel, tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    append(path, LINES[:3])
    panel.follow(tmp_path)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1)
    panel.select_path(str(path))
    traj = panel.open_selected_live()
    qtbot.waitUntil(lambda: bool(traj.runs) and len(traj.runs[0].iterations) == 2)
    run = traj.runs[0]
    updates = []
    panel.controller.trajectory_updated.connect(lambda p, u: updates.append((p, u)))
    half = LINES[3][: len(LINES[3]) // 2]
    append(path, [half])
    qtbot.wait(100)
    assert len(run.iterations) == 2 and traj.pending_tail
    append(path, [LINES[3][len(half) :]])
    qtbot.waitUntil(lambda: len(run.iterations) == 3)
    assert traj.runs[0] is run and run.status == RunStatus.RUNNING
    assert updates and updates[-1][0] == str(path) and updates[-1][1].new_iterations == [run.iterations[-1]]
    assert panel.controller.live_trajectory(str(path)) is traj
    panel.controller.close_live(str(path))
    assert panel.controller.live_trajectory(str(path)) is None


def test_live_file_outside_the_followed_folder(qtbot, tmp_path: Path) -> None:
    ctl = FollowController()
    try:
        path = tmp_path / "solo.jsonl"
        append(path, LINES[:2])
        traj = ctl.open_live(path)
        qtbot.waitUntil(lambda: bool(traj.runs))
        append(path, LINES[2:4])
        qtbot.waitUntil(lambda: len(traj.runs[0].iterations) == 3)
    finally:
        ctl.shutdown()


def test_big_first_read_is_applied_in_slices(qtbot, tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    lines = [tail_logs.line(tail_logs.metadata())]
    lines += [tail_logs.line(tail_logs.iteration(i, sub_calls=3, child_iters=2)) for i in range(1, 301)]
    tail_logs.write_log(path, lines)
    ctl = FollowController()
    try:
        seen = []
        ctl.trajectory_updated.connect(lambda p, u: seen.append(u.new_lines))
        traj = ctl.open_live(path)
        qtbot.waitUntil(lambda: bool(traj.runs) and len(traj.runs[0].iterations) == 300, timeout=10000)
        assert sum(seen) == 301 and len(seen) > 1 and max(seen) <= 8
    finally:
        ctl.shutdown()


def test_notices_are_visible(qtbot, panel: RunsPanel, tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    append(path, LINES[:5])
    panel.follow(tmp_path)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1)
    assert panel.notice_bar.isHidden()
    tail_logs.write_log(path, LINES[:2])  # truncated
    qtbot.waitUntil(lambda: not panel.notice_bar.isHidden())
    assert "truncated" in panel.notice_label.text() and "run.jsonl" in panel.notice_label.text()
    qtbot.waitUntil(lambda: cell(panel, path, COL_STATUS) == "running (truncated)")
    assert cell(panel, path, COL_ITERS) == "1"
    panel.dismiss_notices()
    assert panel.notice_bar.isHidden()
    path.unlink()
    qtbot.waitUntil(lambda: cell(panel, path, COL_STATUS) == "deleted")
    append(path, LINES[:3])  # back again
    qtbot.waitUntil(lambda: cell(panel, path, COL_ITERS) == "2")
    assert cell(panel, path, COL_STATUS).startswith("running")


def test_follow_error_is_shown(qtbot, panel: RunsPanel, tmp_path: Path) -> None:
    assert not panel.follow(tmp_path / "missing" / "dir")
    assert not panel.notice_bar.isHidden() and "Cannot follow" in panel.notice_label.text()


def test_scroll_position_kept_when_runs_appear_above(qtbot, panel: RunsPanel, tmp_path: Path) -> None:
    base = time.time() - 10_000
    for i in range(120):
        p = tmp_path / f"run_{i:03d}.jsonl"
        tail_logs.write_log(p, LINES[:2])
        os.utime(p, (base + i, base + i))
    panel.follow(tmp_path)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 120)
    panel.show()
    qtbot.waitExposed(panel)
    target = panel.proxy.index(60, 0)
    panel.view.scrollTo(target, panel.view.ScrollHint.PositionAtTop)
    top_before = panel.view.indexAt(panel.view.viewport().rect().topLeft()).data(PATH_ROLE)
    assert panel.view.verticalScrollBar().value() > 0
    for i in range(3):
        append(tmp_path / f"new_{i}.jsonl", LINES[:2])  # newest: sorted above
    qtbot.waitUntil(lambda: panel.model.rowCount() == 123)
    qtbot.wait(50)
    assert panel.view.indexAt(panel.view.viewport().rect().topLeft()).data(PATH_ROLE) == top_before


def test_sorting_by_columns(qtbot, panel: RunsPanel, tmp_path: Path) -> None:
    for n in (2, 7, 4):
        tail_logs.write_log(tmp_path / f"r{n}.jsonl", LINES[: n + 1])
    panel.follow(tmp_path)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 3)
    panel.view.sortByColumn(COL_ITERS, panel.proxy.sortOrder().AscendingOrder)
    assert [os.path.basename(p) for p in rows(panel)] == ["r2.jsonl", "r4.jsonl", "r7.jsonl"]
    panel.view.sortByColumn(COL_MODIFIED, panel.proxy.sortOrder().DescendingOrder)
    panel.filter_edit.setText("r7")
    assert [os.path.basename(p) for p in rows(panel)] == ["r7.jsonl"]


def test_many_qt_calls_and_emits_do_not_crash_the_process(tmp_path: Path) -> None:
    """PySide6 6.12.0 on Python 3.11 loses a reference to None per void call and to True per
    emit (see ui/refcount_guard.py); an app started as ours is must stay alive."""
    import subprocess
    import sys

    code = (
        "from rlm_desktop.ui.app import make_app\n"
        "from rlm_desktop.ui.follow import FollowController\n"
        "from PySide6.QtWidgets import QLabel\n"
        "app = make_app()\n"
        "ctl = FollowController(); label = QLabel(); got = []\n"
        "ctl.notice.connect(got.append)\n"
        "for i in range(30000):\n"
        "    label.setText('x'); ctl.notice.emit(i)\n"
        "app.processEvents()\n"
        "print(len(got))\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip() == "30000"


def test_live_run_settles_when_the_writer_stops(qtbot, tmp_path: Path) -> None:
    ctl = FollowController(running_window=0.3, safety_interval=0.1)
    panel = RunsPanel(ctl)
    qtbot.addWidget(panel)
    try:
        path = tmp_path / "run.jsonl"
        append(path, LINES[:3])
        ctl.follow(tmp_path)
        traj = ctl.open_live(path)
        qtbot.waitUntil(lambda: bool(traj.runs) and traj.runs[0].status == RunStatus.RUNNING)
        # the follower's periodic check turns it incomplete 0.3 s after the last change
        with qtbot.waitSignal(ctl.trajectory_updated, timeout=5000) as blocker:
            pass
        assert blocker.args[0] == str(path) and blocker.args[1].new_lines == 0
        assert traj.runs[0].status == RunStatus.INCOMPLETE
        qtbot.waitUntil(lambda: cell(panel, path, COL_STATUS) == "incomplete")
        append(path, LINES[3:4])  # it was only slow
        qtbot.waitUntil(lambda: len(traj.runs[0].iterations) == 3)
        assert traj.runs[0].status == RunStatus.RUNNING
        qtbot.waitUntil(lambda: cell(panel, path, COL_STATUS) == "running")
        # a live file outside the followed folder is not added to the runs list
        other = tmp_path.parent / f"{tmp_path.name}_other.jsonl"
        append(other, LINES[:2])
        other_traj = ctl.open_live(other)
        qtbot.waitUntil(lambda: bool(other_traj.runs))
        qtbot.wait(50)
        assert panel.model.row_of(str(other)) is None
    finally:
        ctl.shutdown()


def test_open_run_keeps_updating_when_another_folder_is_followed(qtbot, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    path = a / "run.jsonl"
    append(path, LINES[:3])
    ctl = FollowController()
    try:
        ctl.follow(a)
        traj = ctl.open_live(path)
        qtbot.waitUntil(lambda: bool(traj.runs) and len(traj.runs[0].iterations) == 2)
        ctl.follow(b)
        assert ctl.live_trajectory(str(path)) is traj
        append(path, LINES[3:5])
        qtbot.waitUntil(lambda: len(traj.runs[0].iterations) == 4)
        assert traj.bad_lines == [] and len(traj.runs) == 1  # went on from its offset
    finally:
        ctl.shutdown()


def test_following_another_folder_starts_a_fresh_list(qtbot, panel: RunsPanel, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    for i in range(5):
        append(a / f"a{i}.jsonl", LINES[:2])
    append(b / "b0.jsonl", LINES[:3])
    panel.follow(a)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 5)
    old_model = panel.model
    with qtbot.waitSignal(old_model.destroyed, timeout=3000):  # emptied in slices, then deleted
        panel.follow(b)
        qtbot.waitUntil(lambda: panel.model.rowCount() == 1)
    qtbot.wait(100)  # anything still queued from folder a is dropped
    assert rows(panel) == [str(b / "b0.jsonl")]
    assert panel.title.text().endswith(str(b))


def test_the_panel_s_width_does_not_follow_its_labels(qtbot, panel: RunsPanel, tmp_path: Path) -> None:
    """The count grows while a folder is listed and the folder's path may be long: neither
    may widen the panel (each new minimum width laid the whole window out again, the plots
    beside it redrawn, ~60 ms each time while 5,000 logs were listed)."""
    panel.show()
    qtbot.waitExposed(panel)

    def minimum() -> int:
        qtbot.wait(1)  # (the layout takes a new text's size when its LayoutRequest is handled)
        return panel.minimumSizeHint().width()

    before = minimum()
    panel.count_label.setText("12 runs")
    small = minimum()
    panel.count_label.setText("1234567 runs")
    assert minimum() == small == before
    deep = tmp_path.joinpath(*["a_rather_long_folder_name"] * 8)
    deep.mkdir(parents=True)
    assert panel.follow(deep)
    assert panel.title.text() == f"Following {deep}"  # the whole text (tooltip, tests)
    assert minimum() == before
    panel.resize(400, 300)
    qtbot.wait(1)
    assert panel.title.shown_text().endswith("…") and panel.title.width() < 400
