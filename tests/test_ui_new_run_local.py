"""New Run (issue 13 item 10): a local OpenAI-compatible server needs no key (and gets none it
was not given), the context text is remembered, and Quit during a run asks first. The
dialog's parts are widgets of their own, each saving its own settings."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from rlm_desktop.ui.panels import keystore
from rlm_desktop.ui.panels.new_run_backend import BackendChooser, is_local_url
from rlm_desktop.ui.panels.new_run_dialog import NewRunDialog
from rlm_desktop.ui.panels.new_run_inputs import RunInputs
from rlm_desktop.ui.panels.new_run_limits import RunOptions

REAL = "sk-real-openai-key-NOT-FOR-LOCAL-SERVERS-0123"


@pytest.fixture(autouse=True)
def _clean_session_keys():
    keystore.clear_session_keys()
    yield
    keystore.clear_session_keys()


def _dialog(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    d = NewRunDialog(settings=settings, keystore=keystore.KeyStore(None, use_system=False))
    qtbot.addWidget(d)
    d.show()
    return d


def _type(qtbot, widget, text):
    widget.setFocus()
    widget.selectAll()
    qtbot.keyClick(widget, Qt.Key.Key_Delete)
    for i, line in enumerate(text.split("\n")):
        if i:
            qtbot.keyClick(widget, Qt.Key.Key_Return)
        qtbot.keyClicks(widget, line)


def test_local_urls():
    assert is_local_url("http://127.0.0.1:8000/v1") and is_local_url("http://localhost:11434/v1")
    assert is_local_url("http://[::1]:8000/v1") and is_local_url("localhost:8000")
    assert not is_local_url("https://api.openai.com/v1") and not is_local_url("http://10.0.0.5:8000/v1")


def test_openai_backend_on_a_local_server_needs_no_key_and_sends_none(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", REAL)  # must not go to a local server
    d = _dialog(qtbot, tmp_path)
    d.backend_combo.setCurrentIndex(d.backend_combo.findData("openai"))
    monkeypatch.delenv("OPENAI_API_KEY")
    d.backend.refresh()
    assert "OPENAI_API_KEY is not set" in d.error_label.text() and not d.run_button.isEnabled()
    _type(qtbot, d.base_url, "http://localhost:11434/v1")
    assert d.validation_error() is None and d.run_button.isEnabled()
    assert d.backend.key_note.isVisibleTo(d) and "no key" in d.backend.key_note.text()
    monkeypatch.setenv("OPENAI_API_KEY", REAL)
    cfg = d.config().backend
    assert cfg.base_url == "http://localhost:11434/v1" and cfg.resolve_api_key() is None
    # a key the user types for it is still sent
    qtbot.mouseClick(d.key_typed_radio, Qt.MouseButton.LeftButton)
    _type(qtbot, d.key_edit, "sk-local")
    assert d.config().backend.resolve_api_key() == "sk-local"
    # a remote server still needs its key
    _type(qtbot, d.base_url, "https://api.openai.com/v1")
    d.key_edit.clear()
    assert d.validation_error() == "Enter an API key, or take it from an environment variable."


def test_compatible_local_server_with_a_typed_but_empty_key_is_fine(qtbot, tmp_path):
    d = _dialog(qtbot, tmp_path)
    d.backend_combo.setCurrentIndex(d.backend_combo.findData("compatible"))
    _type(qtbot, d.base_url, "http://127.0.0.1:8000/v1")
    qtbot.mouseClick(d.key_typed_radio, Qt.MouseButton.LeftButton)
    assert d.validation_error() is None and d.run_button.isEnabled()
    assert d.config().backend.resolve_api_key() is None


def test_context_text_is_remembered(qtbot, tmp_path):
    d = _dialog(qtbot, tmp_path)
    _type(qtbot, d.prompt_edit, "Count the rows")
    _type(qtbot, d.context_edit, "row 1\nrow 2")
    qtbot.mouseClick(d.run_button, Qt.MouseButton.LeftButton)
    assert d.result() == d.DialogCode.Accepted
    d2 = _dialog(qtbot, tmp_path)
    assert d2.prompt() == "Count the rows" and d2.context() == "row 1\nrow 2"
    assert d2.context_text.isChecked()


def test_the_dialog_parts_save_their_own_settings(qtbot, tmp_path):
    s = QSettings(str(tmp_path / "parts.ini"), QSettings.Format.IniFormat)
    inputs, options = RunInputs(), RunOptions()
    chooser = BackendChooser(s, keystore.KeyStore(None, use_system=False))
    for w in (inputs, options, chooser):
        qtbot.addWidget(w)
    chooser.load(s)
    inputs.set_inputs("q", "ctx")
    options.set_limits(9, 3)
    for part in (inputs, options, chooser):
        part.save(s)
    again, opts2 = RunInputs(), RunOptions()
    qtbot.addWidget(again)
    qtbot.addWidget(opts2)
    again.load(s)
    opts2.load(s)
    assert (again.prompt(), again.context()) == ("q", "ctx")
    assert opts2.engine_fields()["max_iterations"] == 9 and opts2.engine_fields()["max_depth"] == 3


@pytest.fixture
def answers(monkeypatch):
    given = []

    def question(*args, **kwargs):
        given.append(args[2] if len(args) > 2 else "")
        return given_answer[0]

    given_answer = [QMessageBox.StandardButton.No]
    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    return given, given_answer


def test_quit_during_a_run_asks_first(qtbot, window, answers):
    w = window
    asked, reply = answers
    w.activateWindow()
    qtbot.waitExposed(w)
    qtbot.keyClick(w, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: w.session.running and w.session.controller.is_paused, timeout=15000)
    qtbot.keyClick(QApplication.focusWidget() or w, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert len(asked) == 1 and "A run is paused. Stop it and quit?" in asked[0]
    assert w.isVisible() and w.session.running  # "No": nothing happened
    reply[0] = QMessageBox.StandardButton.Yes
    qtbot.keyClick(QApplication.focusWidget() or w, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert len(asked) == 2
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=5000)
    assert not w.session.running


def test_quit_without_a_run_does_not_ask(qtbot, window, answers):
    asked, _ = answers
    window.close()
    assert asked == [] and not window.isVisible()
