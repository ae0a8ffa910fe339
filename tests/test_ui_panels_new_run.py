"""New Run dialog: EngineConfig from the form, validation, settings saved without the key."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings

from rlm_desktop.engine.config import EngineConfig, demo_trajectory_path
from rlm_desktop.ui.panels import keystore
from rlm_desktop.ui.panels.new_run_dialog import NewRunDialog

SECRET = "sk-test-THIS-MUST-NOT-BE-SAVED-1234567890"


class FakeKeyring:
    def __init__(self):
        self.store = {}

    def get_password(self, service, user):
        return self.store.get((service, user))

    def set_password(self, service, user, pw):
        self.store[(service, user)] = pw

    def delete_password(self, service, user):
        self.store.pop((service, user), None)


@pytest.fixture(autouse=True)
def _clean_session_keys():
    keystore.clear_session_keys()
    yield
    keystore.clear_session_keys()


def _dialog(qtbot, tmp_path, kr=None):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    store = keystore.KeyStore(kr, use_system=False)
    d = NewRunDialog(settings=settings, keystore=store)
    qtbot.addWidget(d)
    prefilled(qtbot, d)
    return d, settings


def prefilled(qtbot, d):
    """The recording is read off the GUI thread: wait for the inputs it fills in."""
    qtbot.waitUntil(lambda: not d.recording_read.reading, timeout=10000)


def test_default_is_replay_demo_and_valid(qtbot, tmp_path):
    d, _ = _dialog(qtbot, tmp_path)
    assert d.backend_id() == "replay"
    if demo_trajectory_path().is_file():
        assert d.validation_error() is None and d.run_button.isEnabled()
    else:
        assert "demo recording is missing" in d.validation_error() and not d.run_button.isEnabled()
    d.replay_path.setText(str(tmp_path / "nope.jsonl"))
    assert d.validation_error() == "The recording file does not exist."
    d.replay_path.setText("")
    d.prompt_edit.setPlainText("What is 6*7?")
    d.context_edit.setPlainText("numbers: 6 7")
    cfg = d.config()
    assert isinstance(cfg, EngineConfig)
    assert cfg.backend.kind == "replay" and cfg.backend.replay_path == str(demo_trajectory_path())
    assert cfg.environment == "sandbox"  # the default: model code in the bubblewrap sandbox
    assert cfg.max_budget is None and cfg.max_tokens is None and cfg.max_errors is None
    assert d.prompt() == "What is 6*7?" and d.context() == "numbers: 6 7"


def test_compatible_backend_limits_and_environment(qtbot, tmp_path):
    d, _ = _dialog(qtbot, tmp_path)
    d.backend_combo.setCurrentIndex(d.backend_combo.findData("compatible"))
    assert "base URL" in d.error_label.text() and not d.run_button.isEnabled()
    d.base_url.setText("http://127.0.0.1:8000/v1")
    d.model_combo.setEditText("Qwen/Qwen2.5-7B-Instruct")
    assert d.validation_error() is None and d.run_button.isEnabled()  # no key needed for vLLM/Ollama
    d.env_combo.setCurrentIndex(d.env_combo.findData("docker"))
    d.max_iterations.setValue(12)
    d.max_depth.setValue(3)
    d.max_budget.setValue(1.5)
    d.max_timeout.setValue(600)
    d.max_tokens.setValue(200_000)
    d.max_errors.setValue(3)
    cfg = d.config()
    assert cfg.backend.kind == "openai" and cfg.backend.base_url == "http://127.0.0.1:8000/v1"
    assert cfg.backend.model == "Qwen/Qwen2.5-7B-Instruct"
    assert (cfg.max_iterations, cfg.max_depth, cfg.max_budget, cfg.max_timeout, cfg.max_tokens, cfg.max_errors) == (
        12, 3, 1.5, 600.0, 200_000, 3,
    )
    assert cfg.environment == "docker"


def test_openai_key_from_environment(qtbot, tmp_path, monkeypatch):
    d, _ = _dialog(qtbot, tmp_path)
    d.backend_combo.setCurrentIndex(d.backend_combo.findData("openai"))
    assert d.key_env.text() == "OPENAI_API_KEY"
    assert d.key_env_status.text() == "not set" and not d.run_button.isEnabled()
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    d.show()  # re-checked when shown
    assert d.key_env_status.text() == "set" and d.run_button.isEnabled()
    assert SECRET not in d.key_env_status.text()
    cfg = d.config()
    assert cfg.backend.api_key is None and cfg.backend.api_key_env == "OPENAI_API_KEY"
    assert cfg.backend.resolve_api_key() == SECRET
    assert SECRET not in repr(cfg)


def test_typed_key_kept_in_memory_never_in_settings(qtbot, tmp_path):
    d, settings = _dialog(qtbot, tmp_path)
    d.backend_combo.setCurrentIndex(d.backend_combo.findData("anthropic"))
    d.key_typed_radio.setChecked(True)
    assert not d.run_button.isEnabled()
    d.key_edit.setText(SECRET)
    assert d.run_button.isEnabled()
    cfg = d.config()
    assert cfg.backend.kind == "anthropic" and cfg.backend.api_key == SECRET
    assert not d.key_keyring.isEnabled()  # no keyring available
    d.accept()
    assert d.result() == d.DialogCode.Accepted
    settings.sync()
    raw = (tmp_path / "settings.ini").read_text()
    assert SECRET not in raw and "claude" in raw
    assert all(SECRET not in str(settings.value(k)) for k in settings.allKeys())
    # a new dialog in the same session gets the key back from memory (masked)
    d2, _ = _dialog(qtbot, tmp_path)
    assert d2.backend_id() == "anthropic"
    assert d2.key_typed_radio.isChecked() and d2.key_edit.text() == SECRET
    assert d2.key_edit.echoMode() == d2.key_edit.EchoMode.Password


def test_keyring_used_only_when_asked(qtbot, tmp_path):
    kr = FakeKeyring()
    d, _ = _dialog(qtbot, tmp_path, kr)
    d.backend_combo.setCurrentIndex(d.backend_combo.findData("openai"))
    d.key_typed_radio.setChecked(True)
    d.key_edit.setText(SECRET)
    assert d.key_keyring.isEnabled()
    d.key_keyring.setChecked(True)
    d.accept()
    assert kr.store == {("rlm-desktop", "openai"): SECRET}
    assert SECRET not in (tmp_path / "settings.ini").read_text()
    keystore.clear_session_keys()
    d2, _ = _dialog(qtbot, tmp_path, kr)
    assert d2.key_edit.text() == SECRET  # from the keyring


def test_settings_restored_and_context_file(qtbot, tmp_path):
    ctx = tmp_path / "ctx.txt"
    ctx.write_bytes("héllo \xff".encode("latin-1"))
    d, _ = _dialog(qtbot, tmp_path)
    d.backend_combo.setCurrentIndex(d.backend_combo.findData("compatible"))
    d.base_url.setText("http://127.0.0.1:11434/v1")
    d.prompt_edit.setPlainText("p1")
    d.context_file.setChecked(True)
    d.context_path.setText(str(tmp_path / "missing.txt"))
    assert "context file" in d.validation_error()
    d.context_path.setText(str(ctx))
    assert d.validation_error() is None
    assert d.context() == "h\ufffdllo \ufffd"
    d.max_iterations.setValue(7)
    d.env_combo.setCurrentIndex(d.env_combo.findData("inprocess"))
    d.log_dir.setText(str(tmp_path / "logs"))
    d.accept()
    d2, _ = _dialog(qtbot, tmp_path)
    assert d2.backend_id() == "compatible" and d2.base_url.text() == "http://127.0.0.1:11434/v1"
    assert d2.prompt() == "p1" and d2.context_file.isChecked() and d2.context_path.text() == str(ctx)
    assert d2.max_iterations.value() == 7
    cfg = d2.config()
    assert cfg.environment == "inprocess" and cfg.log_dir == str(tmp_path / "logs")


def test_invalid_accept_stays_open(qtbot, tmp_path):
    d, _ = _dialog(qtbot, tmp_path)
    d.backend_combo.setCurrentIndex(d.backend_combo.findData("openai"))
    d.model_combo.setEditText("")
    d.accept()
    assert d.result() != d.DialogCode.Accepted
    assert d.error_label.text() == "Enter a model name."


def test_replay_recording_prefills_prompt_and_context(qtbot, tmp_path):
    from tests.test_engine_loop import FULL, make_engine

    eng, _ = make_engine(FULL, tmp_path / "logs", max_depth=2, max_iterations=6)
    result = eng.completion("Summarise the parts.", "some context text")
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("new_run/replay_path", str(result.log_path))
    d = NewRunDialog(settings=settings, keystore=keystore.KeyStore(None, use_system=False))
    qtbot.addWidget(d)
    assert d.backend_id() == "replay"
    assert d.recording_read.reading and "Reading" in d.validation_error()  # not on the GUI thread
    prefilled(qtbot, d)
    assert d.prompt() == "Summarise the parts." and d.context() == "some context text"
    assert not d.model_combo.isEnabled() and d.replay_fill.isEnabled()
    d.replay_check.setChecked(True)
    cfg = d.config()
    assert cfg.backend.replay_path == str(result.log_path) and cfg.backend.replay_check_prompts
    # the run replays to the same answer with the dialog's config
    from rlm_desktop.engine.rlm import RLMEngine

    assert (cfg.max_iterations, cfg.max_depth) == (6, 2)  # from the recording's metadata
    cfg.environment = eng.config.environment
    cfg.log_dir = str(tmp_path / "replayed")
    replayed = RLMEngine(cfg).completion(d.prompt(), d.context())
    assert replayed.error is None and replayed.response == result.response


def test_default_dialog_replays_the_bundled_demo(qtbot, tmp_path):
    from rlm_desktop.engine.demo import load_demo
    from rlm_desktop.engine.rlm import RLMEngine
    from tests.test_engine_fakes import env_choice

    if not demo_trajectory_path().is_file():
        pytest.skip("no bundled demo in this checkout")
    demo = load_demo()
    d, _ = _dialog(qtbot, tmp_path)
    assert d.backend_id() == "replay" and d.validation_error() is None
    assert d.prompt() == demo.prompt and d.context() == demo.context
    cfg = d.config()
    assert (cfg.max_iterations, cfg.max_depth) == (demo.config.max_iterations, demo.config.max_depth)
    cfg.log_dir = str(tmp_path / "logs")
    cfg.environment = env_choice()  # the real subprocess REPL where it exists
    result = RLMEngine(cfg).completion(d.prompt(), d.context())
    assert result.error is None and result.response == demo.expected_answer
