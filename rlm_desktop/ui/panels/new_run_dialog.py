"""New Run dialog: prompt, context, backend, model, key, REPL environment, limits.

``config()`` returns an ``EngineConfig``; ``prompt()`` and ``context()`` the
inputs of ``RLMEngine.completion``. Everything except API keys is remembered
in QSettings. A typed key stays in this process's memory, or goes to the OS
keyring when the user asks and a keyring is available; never to QSettings.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from rlm_desktop.engine.config import DEFAULT_KEY_ENV, BackendConfig, EngineConfig, demo_trajectory_path
from rlm_desktop.engine.demo import load_demo

from .common import is_dark, plain_label, role_color
from .keystore import KeyStore
from .new_run_options import (
    BACKENDS,
    ENVIRONMENTS,
    GROUP,
    PREFILL_MAX_BYTES,
    recorded_inputs,
)
from .new_run_settings import load_settings, save_settings, store_backend_fields


def _limit_spin(maximum: int, suffix: str = "") -> QSpinBox:
    s = QSpinBox()
    s.setRange(0, maximum)
    s.setSpecialValueText("no limit")
    s.setSuffix(suffix)
    return s


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

        # -- inputs --
        self.prompt_edit = QPlainTextEdit(self)
        self.prompt_edit.setPlaceholderText("The question to answer (the root prompt)")
        self.prompt_edit.setMaximumHeight(70)
        self.context_text = QRadioButton("Text", self)
        self.context_file = QRadioButton("File", self)
        self.context_text.setChecked(True)
        self.context_edit = QPlainTextEdit(self)
        self.context_edit.setPlaceholderText("The context the REPL gets as `context` (any size)")
        self.context_path = QLineEdit(self)
        self.context_path.setPlaceholderText("Path of a text file")
        self.context_browse = QPushButton("Browse…", self)
        self.context_browse.clicked.connect(self._browse_context)
        ctx_mode = QHBoxLayout()
        ctx_mode.addWidget(self.context_text)
        ctx_mode.addWidget(self.context_file)
        ctx_mode.addWidget(self.context_path, 1)
        ctx_mode.addWidget(self.context_browse)
        self.context_text.toggled.connect(self._update_state)

        # -- backend --
        self.backend_combo = QComboBox(self)
        for bid, (label, *_rest) in BACKENDS.items():
            self.backend_combo.addItem(label, bid)
        self.model_combo = QComboBox(self)
        self.model_combo.setEditable(True)
        self.base_url = QLineEdit(self)
        self.replay_path = QLineEdit(self)
        self.replay_path.setPlaceholderText(str(demo_trajectory_path()))
        self.replay_browse = QPushButton("Browse…", self)
        self.replay_browse.clicked.connect(self._browse_replay)
        self.replay_check = QCheckBox("Stop when a prompt differs from the recording", self)
        self.replay_fill = QPushButton("Use its prompt and context", self)
        self.replay_fill.setToolTip("Fill the prompt and context with the recorded run's")
        self.replay_fill.clicked.connect(self.fill_from_recording)
        replay_row = QHBoxLayout()
        replay_row.setContentsMargins(0, 0, 0, 0)
        replay_row.addWidget(self.replay_path, 1)
        replay_row.addWidget(self.replay_browse)
        replay_opts = QVBoxLayout()
        replay_opts.setContentsMargins(0, 0, 0, 0)
        replay_opts.addWidget(self.replay_check)
        replay_opts.addWidget(self.replay_fill, 0, Qt.AlignmentFlag.AlignLeft)
        self.key_env_radio = QRadioButton("Environment variable", self)
        self.key_typed_radio = QRadioButton("Enter key", self)
        self.key_group = QButtonGroup(self)
        self.key_group.addButton(self.key_env_radio)
        self.key_group.addButton(self.key_typed_radio)
        self.key_env_radio.setChecked(True)
        self.key_env = QLineEdit(self)
        self.key_env_status = plain_label("", self)
        self.key_edit = QLineEdit(self)
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("Kept in memory only")
        self.key_keyring = QCheckBox("Remember in the system keyring", self)
        if not self.keystore.keyring_available():
            self.key_keyring.setEnabled(False)
            self.key_keyring.setToolTip("No system keyring available (the optional 'keyring' package)")
        key_grid = QGridLayout()
        key_grid.addWidget(self.key_env_radio, 0, 0)
        key_grid.addWidget(self.key_env, 0, 1)
        key_grid.addWidget(self.key_env_status, 0, 2)
        key_grid.addWidget(self.key_typed_radio, 1, 0)
        key_grid.addWidget(self.key_edit, 1, 1, 1, 2)
        key_grid.addWidget(self.key_keyring, 2, 1, 1, 2)
        key_grid.setColumnStretch(1, 1)
        self.key_box = QWidget(self)
        self.key_box.setLayout(key_grid)
        key_grid.setContentsMargins(0, 0, 0, 0)

        backend_box = QGroupBox("Model", self)
        bf = QFormLayout(backend_box)
        bf.addRow("Backend", self.backend_combo)
        bf.addRow("Model", self.model_combo)
        bf.addRow("Base URL", self.base_url)
        bf.addRow("Recording", replay_row)
        bf.addRow("", replay_opts)
        bf.addRow("API key", self.key_box)

        # -- environment and limits --
        self.env_combo = QComboBox(self)
        for eid, label in ENVIRONMENTS:
            self.env_combo.addItem(label, eid)
        self.max_iterations = QSpinBox(self)
        self.max_iterations.setRange(1, 10_000)
        self.max_iterations.setValue(30)
        self.max_depth = QSpinBox(self)
        self.max_depth.setRange(1, 10)
        self.max_depth.setValue(2)
        self.max_budget = QDoubleSpinBox(self)
        self.max_budget.setRange(0, 10_000)
        self.max_budget.setDecimals(2)
        self.max_budget.setPrefix("$")
        self.max_budget.setSpecialValueText("no limit")
        self.max_timeout = _limit_spin(86_400, " s")
        self.max_tokens = _limit_spin(1_000_000_000)
        self.max_tokens.setSingleStep(10_000)
        self.max_errors = _limit_spin(1000)
        self.block_timeout = QSpinBox(self)
        self.block_timeout.setRange(1, 86_400)
        self.block_timeout.setValue(120)
        self.block_timeout.setSuffix(" s")
        self.log_dir = QLineEdit(self)
        self.log_dir.setPlaceholderText("No log file")
        limits = QGroupBox("Run", self)
        lf = QFormLayout(limits)
        lf.addRow("Environment", self.env_combo)
        lf.addRow("Max iterations", self.max_iterations)
        lf.addRow("Max depth", self.max_depth)
        lf.addRow("Budget", self.max_budget)
        lf.addRow("Timeout", self.max_timeout)
        lf.addRow("Max tokens", self.max_tokens)
        lf.addRow("Max errors in a row", self.max_errors)
        lf.addRow("Block timeout", self.block_timeout)
        lf.addRow("Log folder", self.log_dir)

        self.error_label = plain_label("", self, wrap=True)
        self.error_label.setStyleSheet(f"color: {role_color('error', is_dark(self)).name()};")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.run_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.run_button.setText("Run")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        inputs = QGroupBox("Input", self)
        inf = QFormLayout(inputs)
        inf.addRow("Prompt", self.prompt_edit)
        inf.addRow("Context", ctx_mode)
        inf.addRow("", self.context_edit)
        right = QVBoxLayout()
        right.addWidget(backend_box)
        right.addWidget(limits)
        cols = QHBoxLayout()
        cols.addWidget(inputs, 3)
        cols.addLayout(right, 2)
        lay = QVBoxLayout(self)
        lay.addLayout(cols, 1)
        lay.addWidget(self.error_label)
        lay.addWidget(self.buttons)

        self._backend_loaded: str | None = None
        load_settings(self)
        self.backend_combo.currentIndexChanged.connect(self._on_backend)
        for w in (self.base_url, self.key_env, self.key_edit, self.context_path, self.model_combo.lineEdit()):
            w.textChanged.connect(self._update_state)
        self.key_group.buttonToggled.connect(self._update_state)
        self._on_backend()
        self.resize(1040, 640)

    # -- results -------------------------------------------------------------------

    def backend_id(self) -> str:
        return str(self.backend_combo.currentData())

    def prompt(self) -> str:
        return self.prompt_edit.toPlainText()

    def context(self) -> str:
        """The context text (a file is read now, as UTF-8 with replacement)."""
        if self.context_file.isChecked():
            path = self.context_path.text().strip()
            with open(os.path.expanduser(path), encoding="utf-8", errors="replace") as fh:
                return fh.read()
        return self.context_edit.toPlainText()

    def typed_key(self) -> str | None:
        if self.key_typed_radio.isChecked() and self.key_edit.text():
            return self.key_edit.text()
        return None

    def backend_config(self) -> BackendConfig:
        bid = self.backend_id()
        _label, kind, _models, _url = BACKENDS[bid]
        if bid == "replay":
            return BackendConfig(
                kind="replay",
                replay_path=self.replay_path.text().strip() or str(demo_trajectory_path()),
                replay_check_prompts=self.replay_check.isChecked(),
            )
        typed = self.typed_key()
        return BackendConfig(
            kind=kind,
            model=self.model_combo.currentText().strip(),
            base_url=self.base_url.text().strip() or None,
            api_key=typed,
            api_key_env=None if typed else (self.key_env.text().strip() or None),
        )

    def config(self) -> EngineConfig:
        return EngineConfig(
            backend=self.backend_config(),
            max_iterations=self.max_iterations.value(),
            max_depth=self.max_depth.value(),
            max_budget=self.max_budget.value() or None,
            max_timeout=float(self.max_timeout.value()) or None,
            max_tokens=self.max_tokens.value() or None,
            max_errors=self.max_errors.value() or None,
            environment=str(self.env_combo.currentData()),
            block_timeout=float(self.block_timeout.value()),
            log_dir=self.log_dir.text().strip() or None,
        )

    def validation_error(self) -> str | None:
        """Why the run cannot start, or None."""
        bid = self.backend_id()
        if self.context_file.isChecked():
            path = self.context_path.text().strip()
            if not path or not os.path.isfile(os.path.expanduser(path)):
                return "Choose an existing context file."
        if bid == "replay":
            if not os.path.isfile(self.recording_path()):
                if not self.replay_path.text().strip():
                    return "The bundled demo recording is missing; choose a recorded trajectory."
                return "The recording file does not exist."
            return None
        if not self.model_combo.currentText().strip():
            return "Enter a model name."
        if bid == "compatible" and not self.base_url.text().strip():
            return "An OpenAI-compatible server needs a base URL (e.g. http://127.0.0.1:8000/v1 for vLLM)."
        if self.key_typed_radio.isChecked():
            if not self.key_edit.text():
                return "Enter an API key, or take it from an environment variable."
        else:
            name = self.key_env.text().strip()
            if bid != "compatible" and not (name and os.environ.get(name)):
                return f"The environment variable {name or '(none)'} is not set."
        return None

    # -- behaviour -----------------------------------------------------------------

    def accept(self) -> None:
        err = self.validation_error()
        if err:
            self.error_label.setText(err)
            return
        key = self.typed_key()
        bid = self.backend_id()
        if key:
            self.keystore.remember_for_session(bid, key)
            if self.key_keyring.isChecked():
                self.keystore.save_to_keyring(bid, key)
        self.save_settings()
        super().accept()

    def save_settings(self) -> None:
        """Remember the choices (never the key) for the next New Run."""
        save_settings(self)

    def showEvent(self, event: object) -> None:  # noqa: N802
        self._update_state()  # the environment may have changed since the dialog was made
        super().showEvent(event)  # type: ignore[arg-type]

    def recording_path(self) -> str:
        return os.path.expanduser(self.replay_path.text().strip() or str(demo_trajectory_path()))

    def fill_from_recording(self) -> bool:
        """Put the recorded run's prompt and context into the inputs; False if not found."""
        path = self.recording_path()
        if not os.path.isfile(path):
            self.error_label.setText("The recording file does not exist.")
            return False
        rec = recorded_inputs(path)
        if os.path.realpath(path) == os.path.realpath(demo_trajectory_path()):
            try:  # the bundled demo says exactly what it was made with
                demo = load_demo()
                rec.prompt, rec.context = demo.prompt, demo.context
                rec.max_iterations, rec.max_depth = demo.config.max_iterations, demo.config.max_depth
            except (OSError, ValueError, KeyError):
                pass
        if rec.prompt is not None:
            self.prompt_edit.setPlainText(rec.prompt)
        if rec.context is not None:
            self.context_text.setChecked(True)
            self.context_edit.setPlainText(rec.context)
        if rec.max_iterations is not None:
            self.max_iterations.setValue(rec.max_iterations)
        if rec.max_depth is not None:
            self.max_depth.setValue(rec.max_depth)
        return rec.prompt is not None or rec.context is not None

    def _prefill_demo(self) -> None:
        """Replay with empty inputs: take them from the (small) recording so the demo just works."""
        if self.backend_id() != "replay" or self.prompt().strip() or self.context_edit.toPlainText():
            return
        path = self.recording_path()
        try:
            if os.path.getsize(path) <= PREFILL_MAX_BYTES:
                self.fill_from_recording()
        except OSError:
            pass

    def _browse_replay(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Recorded trajectory", "", "RLM logs (*.jsonl);;All files (*)")
        if path:
            self.replay_path.setText(path)

    def _browse_context(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Context file")
        if path:
            self.context_path.setText(path)
            self.context_file.setChecked(True)

    def _on_backend(self, *_: object) -> None:
        if self._backend_loaded is not None and self._backend_loaded != self.backend_id():
            store_backend_fields(self, self._backend_loaded)
        bid = self.backend_id()
        _label, _kind, models, url = BACKENDS[bid]
        s = self.settings
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self.model_combo.addItems([m for m in models if m])
        self.model_combo.setEditText(str(s.value(f"{GROUP}/model/{bid}", models[0])))
        self.model_combo.blockSignals(False)
        self.base_url.setText(str(s.value(f"{GROUP}/base_url/{bid}", "")))
        self.base_url.setPlaceholderText(url or "default")
        default_env = DEFAULT_KEY_ENV.get(_kind, "") if bid != "compatible" else ""
        self.key_env.setText(str(s.value(f"{GROUP}/key_env/{bid}", default_env)))
        self.key_env.setPlaceholderText("e.g. OPENAI_API_KEY" if bid == "compatible" else "")
        key = self.keystore.session_key(bid) or self.keystore.keyring_key(bid)
        self.key_edit.setText(key or "")
        source = s.value(f"{GROUP}/key_source/{bid}", "typed" if key else "env")
        (self.key_typed_radio if source == "typed" else self.key_env_radio).setChecked(True)
        self._backend_loaded = bid
        self._prefill_demo()
        self._update_state()

    def _update_state(self, *_: object) -> None:
        bid = self.backend_id()
        replay = bid == "replay"
        self.base_url.setEnabled(not replay and bid != "anthropic")
        self.key_box.setEnabled(not replay)
        for w in (self.replay_path, self.replay_browse, self.replay_check, self.replay_fill):
            w.setEnabled(replay)
        self.model_combo.setEnabled(not replay)
        self.context_edit.setEnabled(self.context_text.isChecked())
        self.context_path.setEnabled(self.context_file.isChecked())
        self.key_env.setEnabled(self.key_env_radio.isChecked())
        self.key_edit.setEnabled(self.key_typed_radio.isChecked())
        name = self.key_env.text().strip()
        self.key_env_status.setText(("set" if os.environ.get(name) else "not set") if name else "")
        err = self.validation_error()
        self.error_label.setText(err or "")
        self.run_button.setEnabled(err is None)
