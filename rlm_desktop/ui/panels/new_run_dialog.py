"""New Run dialog: what to ask (``RunInputs``), which model (``BackendChooser``) and how to
run it (``RunOptions``): three widgets of their own, each loading and saving its own
settings, put side by side here.

``config()`` returns an ``EngineConfig``; ``prompt()`` and ``context()`` the inputs of
``RLMEngine.completion``. Everything except API keys is remembered in QSettings. A typed key
stays in this process's memory, or goes to the OS keyring when the user asks and a keyring
is available; never to QSettings. The widgets' controls are also attributes of the dialog
(``prompt_edit``, ``backend_combo``, ``max_iterations``…) for callers and tests.
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QVBoxLayout, QWidget

from rlm_desktop.engine.config import BackendConfig, EngineConfig

from .common import is_dark, plain_label, role_color
from .keystore import KeyStore
from .new_run_backend import BackendChooser
from .new_run_inputs import RunInputs
from .new_run_limits import RunOptions
from .new_run_options import PREFILL_MAX_BYTES, RecordedInputs
from .recording_read import RecordingRead
from .sandbox_option import SandboxOption

_INPUT_CONTROLS = ("prompt_edit", "context_text", "context_file", "context_edit", "context_path", "context_browse")
_BACKEND_CONTROLS = ("backend_combo", "model_combo", "base_url", "replay_path", "replay_browse", "replay_check",
                     "replay_fill", "key_env_radio", "key_typed_radio", "key_group", "key_env", "key_env_status",
                     "key_edit", "key_keyring", "key_box")
_OPTION_CONTROLS = ("env_combo", "max_iterations", "max_depth", "max_budget", "max_timeout", "max_tokens",
                    "max_errors", "block_timeout", "log_dir")


class NewRunDialog(QDialog):
    """Modal dialog; on ``accept()`` the settings are saved (never the key)."""

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        settings: QSettings | None = None,
        keystore: KeyStore | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("New Run")
        self.settings = settings if settings is not None else QSettings()
        self.keystore = keystore if keystore is not None else KeyStore()
        self.inputs = RunInputs(self)
        self.backend = BackendChooser(self.settings, self.keystore, self)
        self.options = RunOptions(self)
        for part, names in ((self.inputs, _INPUT_CONTROLS), (self.backend, _BACKEND_CONTROLS),
                            (self.options, _OPTION_CONTROLS)):
            for name in names:
                setattr(self, name, getattr(part, name))
        # what holds model code (sandbox status, Allow network, variables to pass in)
        self.sandbox_option = SandboxOption(self)
        self.options.form.insertRow(1, "", self.sandbox_option)

        self.recording_read = RecordingRead(self)  # reads the recording off the GUI thread
        self.recording_read.done.connect(self._recording_read)
        self.recording_read.failed.connect(lambda _p, msg: self.error_label.setText(f"Cannot read it: {msg}"))
        self.recording_read.busy_changed.connect(lambda _b: self._update_state())
        self.recorded: Any = None  # the recording's Trajectory, once read
        self.error_label = plain_label("", self, wrap=True)
        self.error_label.setStyleSheet(f"color: {role_color('error', is_dark(self)).name()};")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.run_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.run_button.setText("Run")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        right = QVBoxLayout()
        right.addWidget(self.backend)
        right.addWidget(self.options)
        cols = QHBoxLayout()
        cols.addWidget(self.inputs, 3)
        cols.addLayout(right, 2)
        lay = QVBoxLayout(self)
        lay.addLayout(cols, 1)
        lay.addWidget(self.recording_read)
        lay.addWidget(self.error_label)
        lay.addWidget(self.buttons)

        self.inputs.load(self.settings)
        self.options.load(self.settings)
        self.sandbox_option.set_environment(self.options.environment())
        self.options.env_combo.currentIndexChanged.connect(
            lambda *_: (self.sandbox_option.set_environment(self.options.environment()), self._update_state())
        )
        self.sandbox_option.changed.connect(self._update_state)
        self.backend.load(self.settings)
        self._prefill_demo()
        self.inputs.changed.connect(self._update_state)
        self.inputs.prompt_edit.textChanged.connect(self._typed)
        self.inputs.context_edit.textChanged.connect(self._typed)
        self.backend.changed.connect(self._update_state)
        self.backend.backend_combo.currentIndexChanged.connect(self._prefill_demo)
        self.backend.fill_requested.connect(self.fill_from_recording)
        self._update_state()
        self.resize(1040, 640)

    # -- results -------------------------------------------------------------------
    def backend_id(self) -> str:
        return self.backend.backend_id()

    def prompt(self) -> str:
        return self.inputs.prompt()

    def context(self) -> str:
        return self.inputs.context()

    def typed_key(self) -> str | None:
        return self.backend.typed_key()

    def backend_config(self) -> BackendConfig:
        return self.backend.backend_config()

    def config(self) -> EngineConfig:
        return EngineConfig(
            backend=self.backend_config(),
            allow_network=self.sandbox_option.network_allowed(),
            sandbox_env=self.sandbox_option.passthrough(),
            **self.options.engine_fields(),
        )

    def validation_error(self) -> str | None:
        """Why the run cannot start, or None."""
        if self.backend_id() == "replay" and self.recording_read.reading:
            return "Reading the recording… (Cancel to fill in the inputs yourself)"
        return (
            self.inputs.validation_error() or self.sandbox_option.problem() or self.backend.validation_error()
        )

    def recording_path(self) -> str:
        return self.backend.recording_path()

    # -- behaviour -----------------------------------------------------------------
    def accept(self) -> None:
        err = self.validation_error()
        if err:
            self.error_label.setText(err)
            return
        self.backend.remember_key()
        self.save_settings()
        super().accept()

    def save_settings(self) -> None:
        """Remember the choices (never the key) for the next New Run."""
        for part in (self.inputs, self.backend, self.options):
            part.save(self.settings)
        self.settings.sync()

    def showEvent(self, event: object) -> None:  # noqa: N802
        self.backend.refresh()  # the environment (key variables) may have changed since
        super().showEvent(event)  # type: ignore[arg-type]

    def fill_from_recording(self) -> bool:
        """Read the recording in a worker (progress, Cancel); its run's prompt and context go
        into the inputs when it is read (``_recording_read``). False if there is no file."""
        path = self.recording_path()
        if not os.path.isfile(path):
            self.error_label.setText("The recording file does not exist.")
            return False
        self.recording_read.start(path, getattr(self, "run_index", 0))
        return True

    def _typed(self, *_: object) -> None:
        """The user types the inputs: a prefill still being read must not overwrite them."""
        if self.recording_read.reading and not self._filling:
            self.recording_read.cancel()
            self._update_state()

    _filling = False

    def _recording_read(self, _path: str, traj: Any, rec: RecordedInputs) -> None:
        self.recorded = traj
        self._filling = True
        try:
            self.inputs.set_inputs(rec.prompt, rec.context)
        finally:
            self._filling = False
        self.options.set_limits(rec.max_iterations, rec.max_depth)
        self._update_state()

    def done(self, result: int) -> None:  # accept / reject / close: a read still going stops
        self.recording_read.shutdown()
        super().done(result)

    def _prefill_demo(self, *_: object) -> None:
        """Replay with empty inputs: take them from the (small) recording so the demo just works."""
        if self.backend_id() != "replay" or not self.inputs.is_empty():
            return
        try:
            if os.path.getsize(self.recording_path()) <= PREFILL_MAX_BYTES:
                self.fill_from_recording()
        except OSError:
            pass

    def _update_state(self, *_: object) -> None:
        err = self.validation_error()
        self.error_label.setText(err or "")
        self.run_button.setEnabled(err is None)
