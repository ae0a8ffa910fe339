"""New Run's model choice: backend, model, base URL, the recording to replay, the API key.

Each backend remembers its own model, base URL, key variable and key source (never the key:
a typed key stays in memory, or in the OS keyring when asked, through ``KeyStore``). A local
OpenAI-compatible server (vLLM, Ollama: a base URL on localhost, 127.0.0.1 or ::1) needs no
key; none is sent unless one is given (not even the provider's usual variable).
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from rlm_desktop.engine.config import DEFAULT_KEY_ENV, BackendConfig, demo_trajectory_path

from .common import plain_label
from .keystore import KeyStore
from .new_run_options import BACKENDS, GROUP

LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1", "0.0.0.0")


def is_local_url(url: str) -> bool:
    """A base URL of a server on this machine (vLLM, Ollama, llama.cpp…)."""
    try:
        host = urlsplit(url.strip() if "://" in url else "http://" + url.strip()).hostname or ""
    except ValueError:
        return False
    return host in LOCAL_HOSTS or host.startswith("127.") or host.endswith(".localhost")


class BackendChooser(QGroupBox):
    changed = Signal()
    fill_requested = Signal()  # "Use its prompt and context" of the recording

    def __init__(self, settings: QSettings, keystore: KeyStore, parent: QWidget | None = None) -> None:
        super().__init__("Model", parent)
        self.settings = settings
        self.keystore = keystore
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
        self.replay_fill.clicked.connect(self.fill_requested)
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
        self.key_note = plain_label("", self)
        self.key_note.setObjectName("newRun.keyNote")
        grid = QGridLayout()
        grid.addWidget(self.key_env_radio, 0, 0)
        grid.addWidget(self.key_env, 0, 1)
        grid.addWidget(self.key_env_status, 0, 2)
        grid.addWidget(self.key_typed_radio, 1, 0)
        grid.addWidget(self.key_edit, 1, 1, 1, 2)
        grid.addWidget(self.key_keyring, 2, 1, 1, 2)
        grid.addWidget(self.key_note, 3, 0, 1, 3)
        grid.setColumnStretch(1, 1)
        grid.setContentsMargins(0, 0, 0, 0)
        self.key_box = QWidget(self)
        self.key_box.setLayout(grid)
        form = QFormLayout(self)
        form.addRow("Backend", self.backend_combo)
        form.addRow("Model", self.model_combo)
        form.addRow("Base URL", self.base_url)
        form.addRow("Recording", replay_row)
        form.addRow("", replay_opts)
        form.addRow("API key", self.key_box)
        self._loaded: str | None = None
        for w in (self.base_url, self.key_env, self.key_edit, self.model_combo.lineEdit(), self.replay_path):
            w.textChanged.connect(self.refresh)
        self.key_group.buttonToggled.connect(self.refresh)

    # -- values ----------------------------------------------------------------------
    def backend_id(self) -> str:
        return str(self.backend_combo.currentData())

    def recording_path(self) -> str:
        return os.path.expanduser(self.replay_path.text().strip() or str(demo_trajectory_path()))

    def typed_key(self) -> str | None:
        if self.key_typed_radio.isChecked() and self.key_edit.text():
            return self.key_edit.text()
        return None

    def local_server(self) -> bool:
        """A base URL on this machine for an OpenAI-style backend: no key needed."""
        bid = self.backend_id()
        return bid in ("compatible", "openai") and is_local_url(self.base_url.text())

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
        env = None if typed else (self.key_env.text().strip() or None)
        if self.local_server() and not typed and env in (None, DEFAULT_KEY_ENV.get(kind)):
            env = None  # a local server gets no key it was not given: not the cloud provider's
        return BackendConfig(
            kind=kind,
            model=self.model_combo.currentText().strip(),
            base_url=self.base_url.text().strip() or None,
            api_key=typed,
            api_key_env=env,
            default_key_env=not self.local_server(),
        )

    def validation_error(self) -> str | None:
        bid = self.backend_id()
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
        if self.local_server() or bid == "compatible":
            return None  # a local server needs no key; a remote one may not either
        if self.key_typed_radio.isChecked():
            if not self.key_edit.text():
                return "Enter an API key, or take it from an environment variable."
        else:
            name = self.key_env.text().strip()
            if not (name and os.environ.get(name)):
                return f"The environment variable {name or '(none)'} is not set."
        return None

    def remember_key(self) -> None:
        """A typed key: for this session, and in the keyring when asked. Never QSettings."""
        key = self.typed_key()
        if key:
            bid = self.backend_id()
            self.keystore.remember_for_session(bid, key)
            if self.key_keyring.isChecked():
                self.keystore.save_to_keyring(bid, key)

    # -- settings ----------------------------------------------------------------------
    def load(self, s: QSettings) -> None:
        idx = self.backend_combo.findData(str(s.value(f"{GROUP}/backend", "replay")))
        self.backend_combo.setCurrentIndex(max(idx, 0))
        self.replay_path.setText(str(s.value(f"{GROUP}/replay_path", "")))
        self.replay_check.setChecked(str(s.value(f"{GROUP}/replay_check", "false")).lower() == "true")
        self.backend_combo.currentIndexChanged.connect(self._on_backend)
        self._on_backend()

    def save(self, s: QSettings) -> None:
        s.setValue(f"{GROUP}/backend", self.backend_id())
        self._store_fields(self.backend_id())
        s.setValue(f"{GROUP}/replay_path", self.replay_path.text().strip())
        s.setValue(f"{GROUP}/replay_check", self.replay_check.isChecked())

    def _store_fields(self, bid: str) -> None:
        s = self.settings
        s.setValue(f"{GROUP}/model/{bid}", self.model_combo.currentText().strip())
        s.setValue(f"{GROUP}/base_url/{bid}", self.base_url.text().strip())
        s.setValue(f"{GROUP}/key_env/{bid}", self.key_env.text().strip())
        s.setValue(f"{GROUP}/key_source/{bid}", "typed" if self.key_typed_radio.isChecked() else "env")

    # -- behaviour ----------------------------------------------------------------------
    def _browse_replay(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Recorded trajectory", "", "RLM logs (*.jsonl);;All files (*)")
        if path:
            self.replay_path.setText(path)

    def _on_backend(self, *_: object) -> None:
        """Switching backends keeps each one's own fields (model, URL, key variable)."""
        if self._loaded is not None and self._loaded != self.backend_id():
            self._store_fields(self._loaded)
        bid = self.backend_id()
        _label, kind, models, url = BACKENDS[bid]
        s = self.settings
        self.model_combo.blockSignals(True)
        self.model_combo.clear()
        self.model_combo.addItems([m for m in models if m])
        self.model_combo.setEditText(str(s.value(f"{GROUP}/model/{bid}", models[0])))
        self.model_combo.blockSignals(False)
        self.base_url.setText(str(s.value(f"{GROUP}/base_url/{bid}", "")))
        self.base_url.setPlaceholderText(url or "default")
        default_env = DEFAULT_KEY_ENV.get(kind, "") if bid != "compatible" else ""
        self.key_env.setText(str(s.value(f"{GROUP}/key_env/{bid}", default_env)))
        self.key_env.setPlaceholderText("e.g. OPENAI_API_KEY" if bid == "compatible" else "")
        key = self.keystore.session_key(bid) or self.keystore.keyring_key(bid)
        self.key_edit.setText(key or "")
        source = s.value(f"{GROUP}/key_source/{bid}", "typed" if key else "env")
        (self.key_typed_radio if source == "typed" else self.key_env_radio).setChecked(True)
        self._loaded = bid
        self.refresh()

    def refresh(self, *_: object) -> None:
        bid = self.backend_id()
        replay = bid == "replay"
        self.base_url.setEnabled(not replay and bid != "anthropic")
        self.key_box.setEnabled(not replay)
        for w in (self.replay_path, self.replay_browse, self.replay_check, self.replay_fill):
            w.setEnabled(replay)
        self.model_combo.setEnabled(not replay)
        self.key_env.setEnabled(self.key_env_radio.isChecked())
        self.key_edit.setEnabled(self.key_typed_radio.isChecked())
        name = self.key_env.text().strip()
        self.key_env_status.setText(("set" if os.environ.get(name) else "not set") if name else "")
        local = not replay and self.local_server()
        self.key_note.setText("A local server needs no key (optional)." if local else "")
        self.key_note.setVisible(local)
        self.changed.emit()
