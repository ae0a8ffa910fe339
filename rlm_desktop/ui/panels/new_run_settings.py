"""What the New Run dialog remembers in QSettings: everything except API keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .new_run_options import GROUP, LIMIT_FIELDS, default_log_dir

if TYPE_CHECKING:
    from .new_run_dialog import NewRunDialog


def store_backend_fields(d: NewRunDialog, bid: str) -> None:
    s = d.settings
    s.setValue(f"{GROUP}/model/{bid}", d.model_combo.currentText().strip())
    s.setValue(f"{GROUP}/base_url/{bid}", d.base_url.text().strip())
    s.setValue(f"{GROUP}/key_env/{bid}", d.key_env.text().strip())
    s.setValue(f"{GROUP}/key_source/{bid}", "typed" if d.key_typed_radio.isChecked() else "env")


def save_settings(d: NewRunDialog) -> None:
    s = d.settings
    bid = d.backend_id()
    s.setValue(f"{GROUP}/backend", bid)
    store_backend_fields(d, bid)
    s.setValue(f"{GROUP}/prompt", d.prompt())
    s.setValue(f"{GROUP}/context_mode", "file" if d.context_file.isChecked() else "text")
    s.setValue(f"{GROUP}/context_path", d.context_path.text().strip())
    s.setValue(f"{GROUP}/replay_path", d.replay_path.text().strip())
    s.setValue(f"{GROUP}/replay_check", d.replay_check.isChecked())
    s.setValue(f"{GROUP}/environment", str(d.env_combo.currentData()))
    for name in LIMIT_FIELDS:
        s.setValue(f"{GROUP}/{name}", getattr(d, name).value())
    s.setValue(f"{GROUP}/log_dir", d.log_dir.text().strip())
    s.sync()


def load_settings(d: NewRunDialog) -> None:
    s = d.settings
    bid = str(s.value(f"{GROUP}/backend", "replay"))
    idx = d.backend_combo.findData(bid)
    d.backend_combo.setCurrentIndex(max(idx, 0))
    d.prompt_edit.setPlainText(str(s.value(f"{GROUP}/prompt", "")))
    if s.value(f"{GROUP}/context_mode", "text") == "file":
        d.context_file.setChecked(True)
    d.context_path.setText(str(s.value(f"{GROUP}/context_path", "")))
    d.replay_path.setText(str(s.value(f"{GROUP}/replay_path", "")))
    d.replay_check.setChecked(str(s.value(f"{GROUP}/replay_check", "false")).lower() == "true")
    env_idx = d.env_combo.findData(str(s.value(f"{GROUP}/environment", "subprocess")))
    d.env_combo.setCurrentIndex(max(env_idx, 0))
    for name in LIMIT_FIELDS:
        spin = getattr(d, name)
        value = s.value(f"{GROUP}/{name}")
        if value is not None:
            try:
                spin.setValue(type(spin.value())(value))
            except (TypeError, ValueError):
                pass
    d.log_dir.setText(str(s.value(f"{GROUP}/log_dir", default_log_dir())))
