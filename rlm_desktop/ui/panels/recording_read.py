"""Reading a recording for a dialog off the GUI thread, with progress and Cancel.

``RecordingRead`` is a small row ("Reading run.jsonl… 40%" [bar] [Cancel], hidden when
idle) that New Run ("Use its prompt and context") and Fork from Here use::

    row = RecordingRead(dialog)
    row.done.connect(lambda path, traj, inputs: ...)   # Trajectory, RecordedInputs
    row.start(path, run_index=0)                       # a new start cancels the last read
    row.cancel()                                       # or the user's click on Cancel

The file is read in a ``ui.bridge`` job (checked between lines, so Cancel stops it at
once); the recorded inputs are worked out there too. ``failed(path, message)`` and
``stopped(path)`` tell the dialog that nothing came.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget

from rlm_desktop.trajectory.model import Trajectory
from rlm_desktop.trajectory.reader import iter_file_lines, read_lines, sanitize_str
from rlm_desktop.ui.bridge import Bridge, Job

from .common import plain_label
from .new_run_options import RecordedInputs, recorded_inputs_of

PROGRESS_BYTES = 4 << 20


def read_with_progress(path: str, progress: Any = None, check: Any = None) -> Trajectory:
    """The whole file (``reader.read_lines``) with ``progress(fraction)`` every
    ``PROGRESS_BYTES`` and ``check()`` (raises to stop) between lines; OSError is raised."""
    with open(path, "rb") as fh:
        size = max(1, os.fstat(fh.fileno()).st_size)
        return read_lines(_counted(iter_file_lines(fh), size, progress, check), path)


def _counted(lines: Any, size: int, progress: Any, check: Any) -> Any:
    done = next_report = 0
    for item in lines:
        if check is not None:
            check()
        done += len(item[1]) + 1
        if progress is not None and done >= next_report:
            next_report = done + PROGRESS_BYTES
            progress(min(1.0, done / size))
        yield item


def read_inputs(job: Job, path: str, run_index: int) -> tuple[Trajectory, RecordedInputs]:
    """The worker: the whole recording (progress, cancel) and its run's inputs."""
    traj = read_with_progress(path, lambda f: job.emit("progress", f), job.check)
    rec = recorded_inputs_of(traj, run_index)
    from rlm_desktop.engine.config import demo_trajectory_path

    if os.path.realpath(path) == os.path.realpath(demo_trajectory_path()):
        try:  # the bundled demo says exactly what it was made with
            from rlm_desktop.engine.demo import load_demo

            demo = load_demo()
            rec.prompt, rec.context = demo.prompt, demo.context
            rec.max_iterations, rec.max_depth = demo.config.max_iterations, demo.config.max_depth
        except (OSError, ValueError, KeyError):
            pass
    return traj, rec


class RecordingRead(QWidget):
    done = Signal(str, object, object)  # path, Trajectory, RecordedInputs
    failed = Signal(str, str)  # path, message
    stopped = Signal(str)  # cancelled
    busy_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recordingRead")
        self.label = plain_label("", self)
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 100)
        self.bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("recordingRead.cancel")
        self.cancel_button.setToolTip("Stop reading the recording (you can type the prompt yourself)")
        self.cancel_button.clicked.connect(self.cancel)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.label)
        lay.addWidget(self.bar, 1)
        lay.addWidget(self.cancel_button)
        self.bridge = Bridge(self._on_bridge, self)
        self._job: Job | None = None
        self.hide()

    @property
    def reading(self) -> bool:
        return self._job is not None

    def start(self, path: str, run_index: int = 0) -> None:
        self._drop()
        job = self._job = self.bridge.job("rlm-read-recording")
        job.data = path
        self.label.setText(f"Reading {sanitize_str(os.path.basename(path))}…")
        self.bar.setValue(0)
        self.show()
        self.busy_changed.emit(True)
        job.start(lambda j: read_inputs(j, path, run_index))

    def cancel(self) -> None:
        """Stop reading now: the worker stops at its next line, nothing of it is used."""
        job = self._job
        if job is None:
            return
        self._drop()
        self.hide()
        self.busy_changed.emit(False)
        self.stopped.emit(job.data)

    def _drop(self) -> None:
        job, self._job = self._job, None
        if job is not None:
            job.discard()
            job.cancel()

    def _on_bridge(self, job: Job | None, kind: str, payload: Any) -> None:
        if job is None or job is not self._job:
            return
        if kind == "progress":
            self.bar.setValue(int(payload * 100))
            return
        self._job = None
        self.hide()
        self.cancel_button.setEnabled(True)
        self.busy_changed.emit(False)
        path = job.data
        if kind == "done":
            traj, rec = payload
            self.done.emit(path, traj, rec)
        elif kind == "error":
            self.failed.emit(path, sanitize_str(payload))
        else:
            self.stopped.emit(path)

    def shutdown(self) -> None:
        """The dialog closes: the read stops at its next line (waited for briefly)."""
        self._drop()
        self.bridge.shutdown(1.0)
