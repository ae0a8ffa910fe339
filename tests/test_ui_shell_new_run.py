"""New Run from the window: the dialog filled like a user would, an OpenAI-compatible server
(a local mock), a typed key that reaches the server but never QSettings or the run's log."""

from __future__ import annotations

import os

import pytest
from PySide6.QtCore import QSettings, Qt

from rlm_desktop.ui.panels import new_run_dialog
from rlm_desktop.ui.panels.keystore import clear_session_keys
from tests.support.mock_openai import MockLMServer
from tests.test_engine_fakes import env_choice
from tests.test_engine_loop import R

KEY = "sk-test-TYPED-7f3a9c21e5"


@pytest.fixture
def window(window):  # the shared main window (conftest), plus:
    yield window
    clear_session_keys()


def files_under(*dirs):
    for d in dirs:
        for root, _dirs, names in os.walk(d):
            for n in names:
                yield os.path.join(root, n)


def test_new_run_dialog_to_a_compatible_server_with_a_typed_key(qtbot, window, tmp_path, monkeypatch, caplog):
    import logging

    caplog.set_level(logging.DEBUG)  # everything the app and the SDK log during the run
    replies = [R("print('rows:', len(context.splitlines()))"),
               R("answer['content'] = 'three rows'\nanswer['ready'] = True")]
    logs = tmp_path / "logs"
    seen = {}

    def fill_and_run(dlg):
        """What the user does in the (modal) dialog; then the real accept()."""
        dlg.prompt_edit.setPlainText("How many rows?")
        dlg.context_text.setChecked(True)
        dlg.context_edit.setPlainText("a\nb\nc")
        dlg.backend_combo.setCurrentIndex(dlg.backend_combo.findData("compatible"))
        dlg.model_combo.setEditText("mock-model")
        dlg.base_url.setText(server.base_url)
        dlg.key_typed_radio.setChecked(True)
        dlg.key_edit.setText(KEY)
        dlg.env_combo.setCurrentIndex(dlg.env_combo.findData(env_choice()))
        dlg.max_iterations.setValue(5)
        dlg.log_dir.setText(str(logs))
        seen["error"] = dlg.validation_error()
        assert dlg.key_edit.echoMode() == dlg.key_edit.EchoMode.Password
        dlg.accept()
        return dlg.result()

    monkeypatch.setattr(new_run_dialog.NewRunDialog, "exec", fill_and_run)
    with MockLMServer(replies) as server:
        window.debug.run.trigger()  # New Run… (Ctrl+R)
        assert seen["error"] is None
        qtbot.waitUntil(lambda: window.session.result is not None, timeout=20000)
        requests = server.requests
        base_url = server.base_url
    res = window.session.result
    assert res.status == "finished" and res.response == "three rows", res.error
    assert window.status.state_label.text() == "Finished"
    assert "three rows" in window.status.currentMessage()
    assert [r.model for r in requests] == ["mock-model", "mock-model"] and all(r.authorized for r in requests)
    traj = window.trajectory
    assert traj is window.session.recorder.trajectory
    assert traj.runs[0].iterations[0].code_blocks[0].stdout == "rows: 3\n"
    assert window.tree.model.rowCount() == 1 and window.timeline.model.rowCount() == 2
    # the key: in no settings file, in no log, in no file the run wrote, in no log record
    assert KEY not in caplog.text and caplog.records
    QSettings().sync()
    assert res.log_path and os.path.isfile(res.log_path) and res.log_path.startswith(str(logs))
    settings_dir = os.path.dirname(QSettings().fileName())
    written = list(files_under(settings_dir, str(tmp_path), os.environ["XDG_CONFIG_HOME"]))
    assert res.log_path in written and any(p.endswith((".conf", ".ini")) for p in written)
    for p in written:
        with open(p, "rb") as fh:
            assert KEY.encode() not in fh.read(), p
    # what was saved: the choices, so the next dialog starts from them
    s = QSettings()
    assert s.value("new_run/backend") == "compatible" and s.value("new_run/key_source/compatible") == "typed"
    assert s.value("new_run/base_url/compatible") == base_url
    assert all(KEY not in str(s.value(k)) for k in s.allKeys())
    assert window.debug.run.isEnabled() and window.debug.run.shortcut().toString() == "Ctrl+R"
    assert window.tree.view.model().data(window.tree.model.index(0, 2), Qt.ItemDataRole.DisplayRole) == "finished"
