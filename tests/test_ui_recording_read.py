"""Fork from Here and New Run read the recording in a worker, with progress and Cancel
(issue 13 item 7): the window never freezes on a big log."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt, QTimer

from bench.gen_logs import generate
from rlm_desktop.ui.panels import recording_read


@pytest.fixture(scope="module")
def big_log(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    generate(path, size_mb=12, output_kb=16, context_kb=16, max_iterations=20)
    return str(path)


@pytest.fixture
def held(monkeypatch):
    """The read stops at 30% until ``hold`` is set: the test acts while it is half done."""
    hold = threading.Event()
    real = recording_read.read_with_progress

    def read(path, progress=None, check=None):
        def report(fraction):
            progress(fraction)
            if fraction > 0.3:
                hold.wait(20)

        return real(path, report, check)

    monkeypatch.setattr(recording_read, "read_with_progress", read)
    yield hold
    hold.set()


def ticking():
    ticks = [0]
    timer = QTimer()
    timer.setInterval(1)
    timer.timeout.connect(lambda: ticks.__setitem__(0, ticks[0] + 1))
    timer.start()
    return timer, ticks


def test_fork_dialog_reads_with_progress_and_cancel(qtbot, big_log, held):
    from rlm_desktop.trajectory.model import Iteration, Run
    from rlm_desktop.ui.fork_dialog import ForkDialog

    run = Run()
    it = run.add_iteration(Iteration(2, position=1))
    dlg = ForkDialog(big_log, it)
    qtbot.addWidget(dlg)
    dlg.show()
    row = dlg.recording_read
    assert row.reading and row.isVisible()
    timer, ticks = ticking()
    qtbot.waitUntil(lambda: row.bar.value() >= 30, timeout=10000)  # progress while the loop turns
    before = ticks[0]
    qtbot.wait(50)
    assert ticks[0] > before, "the event loop is blocked while the recording is read"
    assert not dlg.run_button.isEnabled() and "Reading the recording" in dlg.error_label.text()
    job = row._job
    qtbot.mouseClick(row.cancel_button, Qt.MouseButton.LeftButton)
    held.set()
    qtbot.waitUntil(lambda: not row.reading, timeout=10000)
    timer.stop()
    assert job.join(5) and not row.isVisible()
    assert dlg.recorded is None and dlg.prompt() == ""  # nothing came: the user types it
    qtbot.keyClicks(dlg.prompt_edit, "Summarise the reviews.")
    assert dlg.validation_error() is None and dlg.run_button.isEnabled()
    assert dlg.plan().recorded is None  # the fork reads it in the engine thread


def test_a_fork_replays_what_the_dialog_read(qtbot, window, monkeypatch):
    """The dialog's read is handed to the fork: the engine does not read the file again."""
    import os

    from rlm_desktop.engine.clients import replay
    from rlm_desktop.engine.demo import load_demo
    from rlm_desktop.ui import fork_dialog

    demo = os.path.abspath(str(load_demo().trajectory_path))
    window.open_files([demo])
    qtbot.waitUntil(lambda: demo in window.documents, timeout=10000)
    window.selection.select(window.trajectory.runs[0].iterations[1])
    seen = {}

    def fake_exec(dlg):
        qtbot.waitUntil(lambda: not dlg.recording_read.reading, timeout=10000)
        seen["recorded"] = dlg.recorded
        dlg.accept()
        return dlg.result()

    monkeypatch.setattr(fork_dialog.ForkDialog, "exec", fake_exec)
    reads = []
    real = replay.read_file
    monkeypatch.setattr(replay, "read_file", lambda *a, **k: reads.append(a) or real(*a, **k))
    qtbot.keyClick(window, Qt.Key.Key_F5, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: window.status.state_label.text() == "Paused (fork point)", timeout=20000)
    assert seen["recorded"] is not None and seen["recorded"].runs
    assert reads == []
    window.session.stop()
    qtbot.waitUntil(lambda: not window.session.running, timeout=20000)


def test_new_run_fill_from_recording_in_a_worker(qtbot, big_log, held):
    from PySide6.QtCore import QSettings

    from rlm_desktop.ui.panels import keystore
    from rlm_desktop.ui.panels.new_run_dialog import NewRunDialog

    settings = QSettings(str(big_log) + ".ini", QSettings.Format.IniFormat)
    d = NewRunDialog(settings=settings, keystore=keystore.KeyStore(None, use_system=False))
    qtbot.addWidget(d)
    d.show()
    held.set()  # the demo's own prefill
    qtbot.waitUntil(lambda: not d.recording_read.reading, timeout=10000)
    held.clear()
    d.replay_path.setText(big_log)
    timer, ticks = ticking()
    qtbot.mouseClick(d.replay_fill, Qt.MouseButton.LeftButton)
    row = d.recording_read
    assert row.reading and row.isVisible() and not d.run_button.isEnabled()
    qtbot.waitUntil(lambda: row.bar.value() >= 30, timeout=10000)
    before = ticks[0]
    qtbot.wait(50)
    assert ticks[0] > before
    held.set()  # this time it is let through
    qtbot.waitUntil(lambda: not row.reading, timeout=20000)
    timer.stop()
    assert d.recorded is not None and d.recorded.runs and d.run_button.isEnabled()
