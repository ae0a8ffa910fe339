"""Fork from here: re-run a recorded trajectory up to one model turn, then go on.

``ForkDialog`` is the New Run dialog narrowed to a fork of ``recording`` at an
iteration (``fork_at``, a node path like ``r0/i2``): the recorded answers replay
every turn before it (the REPL state is rebuilt by really running the recorded
code), the window pauses at the fork turn's answer (edit it in Messages, or
step/continue), and the turns after it are answered by the backend chosen here:

* "Replay the recording" (the default): the recorded answers go on (no key, no
  network; a turn the recording does not have fails the run with a clear message);
* any live backend of the New Run dialog (model, base URL, key from the environment
  or typed: kept in memory, never in QSettings).

``plan()`` gives the ``debugger.fork.ForkPlan``, ``config()`` the ``EngineConfig``
(the recording's iteration and depth limits are used: the prompts mention them).
Nothing is saved to the New Run dialog's settings.
"""

from __future__ import annotations

import os
from typing import Any, cast

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QVBoxLayout, QWidget

from rlm_desktop.debugger.fork import ForkPlan
from rlm_desktop.engine.config import BackendConfig
from rlm_desktop.trajectory import names
from rlm_desktop.trajectory.model import Iteration

from .panels.common import plain_label
from .panels.keystore import KeyStore
from .panels.new_run_dialog import NewRunDialog

REPLAY_LABEL = "Replay the recording (no key needed)"


def fork_condition(it: Iteration) -> str:
    """A breakpoint condition that matches exactly the model's answer of ``it``'s turn in
    the fork (run ids are the root id plus the same suffix as the recording's node path)."""
    from rlm_desktop.debugger.targets import parse_node_path

    target = parse_node_path(it.path)
    run = it.parent
    depth = run.depth if run is not None else 0
    cond = f'kind == "LMResponse" and depth == {depth} and iteration == {target.iteration}'
    if target.suffix:
        cond += f" and run_id.endswith({target.suffix!r})"
    return cond


class ForkDialog(NewRunDialog):
    def __init__(
        self,
        recording: str,
        iteration: Iteration,
        parent: QWidget | None = None,
        *,
        upstream: bool = False,
        settings: QSettings | None = None,
        keystore: KeyStore | None = None,
    ) -> None:
        super().__init__(parent, settings=settings, keystore=keystore)
        self.recording = os.path.abspath(recording)
        self.iteration = iteration
        self.fork_at = iteration.path
        self.run_index = int(self.fork_at.split("/", 1)[0][1:] or 0)
        self.check_prompts = not upstream  # upstream logs have other prompt texts
        where = names.where(iteration)
        self.setWindowTitle(f"Fork from {where}")
        self.info = plain_label(
            f"Replays {os.path.basename(self.recording)} with its recorded answers up to {where}, "
            "then pauses at that turn's answer: edit it (Messages › Edit response…) "
            "or continue. The turns after it are answered by the backend below.",
            self,
            wrap=True,
        )
        self.node_path = QLineEdit(self.fork_at, self)  # an id to copy, labelled as one
        self.node_path.setObjectName("fork.nodePath")
        self.node_path.setReadOnly(True)
        self.node_path.setToolTip("The fork point's node path (0-based), for breakpoint conditions and scripts")
        path_row = QHBoxLayout()
        path_row.addWidget(plain_label("Node path (for copying):", self))
        path_row.addWidget(self.node_path, 1)
        lay = cast(QVBoxLayout, self.layout())  # NewRunDialog's
        lay.insertLayout(0, path_row)
        lay.insertWidget(0, self.info)
        i = self.backend.backend_combo.findData("replay")
        self.backend.backend_combo.setItemText(i, REPLAY_LABEL)
        self.backend.replay_path.setText(self.recording)
        self.backend.replay_check.setChecked(False)
        self.backend.replay_check.hide()
        self.backend.replay_fill.hide()
        for w in (self.options.max_iterations, self.options.max_depth):
            w.setToolTip("The recording's limit is used (the prompts mention it)")
        self.run_button.setText("Fork")
        self._fork_ready = True
        self.recorded: Any = None  # the recording, once read (the fork replays it without a re-read)
        self.inputs.prompt_edit.textChanged.connect(self._update_state)  # a fork needs a prompt
        self.backend.backend_combo.setCurrentIndex(i)
        if os.path.isfile(self.recording):
            # the recorded prompt and context (exact for the demo), read in a worker with
            # progress and Cancel; the fork reuses what was read
            self.fill_from_recording()
        self._update_state()

    # -- results ---------------------------------------------------------------------

    def live_backend(self) -> BackendConfig:
        if self.backend_id() == "replay":
            return BackendConfig(kind="replay", replay_path=self.recording, replay_run=self.run_index,
                                 replay_check_prompts=False)
        return self.backend_config()

    def plan(self) -> ForkPlan:
        return ForkPlan(
            self.recording,
            self.fork_at,
            self.prompt(),
            self.context(),
            live=self.live_backend(),
            run_index=self.run_index,
            check_prompts=self.check_prompts,
            recorded=self.recorded,
        )

    def validation_error(self) -> str | None:
        if not getattr(self, "_fork_ready", False):
            return super().validation_error()
        if self.recording_read.reading:
            return "Reading the recording… (Cancel to fill in the inputs yourself)"
        if not os.path.isfile(self.recording):
            return "The recording file does not exist any more."
        if not self.prompt().strip():
            return "Enter the recorded run's prompt (logs do not always hold it)."
        return super().validation_error()

    # -- behaviour -------------------------------------------------------------------

    def save_settings(self) -> None:
        pass  # a fork's choices are not the New Run dialog's: its settings stay as they were

    def _update_state(self, *args: Any) -> None:
        super()._update_state(*args)
        if getattr(self, "_fork_ready", False):
            self.backend.replay_path.setEnabled(False)  # the recording is the one being forked
            self.backend.replay_browse.setEnabled(False)
            self.options.max_iterations.setEnabled(False)
            self.options.max_depth.setEnabled(False)
