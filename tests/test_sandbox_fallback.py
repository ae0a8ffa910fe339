"""Where bubblewrap cannot run, it is said plainly (run error, log metadata, New Run dialog,
status bar) and nothing falls back to an unsandboxed REPL by itself."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt

from rlm_desktop.engine.repl import bwrap as bw
from rlm_desktop.engine.repl.sandbox_env import SandboxReplEnvironment, SandboxUnavailable
from rlm_desktop.trajectory.model import RunStatus
from tests.test_engine_loop import R, make_engine

MISSING = "/nonexistent/bin/bwrap"


@pytest.fixture
def failing_bwrap(tmp_path):
    """A bwrap that cannot make namespaces (as where user namespaces are off)."""
    path = tmp_path / "bwrap"
    path.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    bw.clear_probe_cache()
    yield str(path)
    bw.clear_probe_cache()


def test_missing_bwrap_refuses_to_start_and_says_why():
    env = SandboxReplEnvironment("ctx", lambda req: [], bwrap=MISSING)
    with pytest.raises(SandboxUnavailable) as err:
        env.start()
    env.close()
    text = str(err.value)
    assert "bubblewrap is not installed" in text and MISSING in text
    assert "Docker" in text and "unsandboxed subprocess REPL" in text


def test_a_bwrap_that_cannot_make_namespaces_is_reported_word_for_word(failing_bwrap):
    status = bw.probe(failing_bwrap)
    assert not status.available
    assert "No permissions to create new namespace" in status.message and "user namespaces" in status.message


@pytest.mark.parametrize("which", ["missing", "failing"])
def test_the_run_fails_plainly_and_the_log_metadata_says_so(tmp_path, which, failing_bwrap):
    path = MISSING if which == "missing" else failing_bwrap
    eng, _ = make_engine(
        {"r0/i0": R("print('model code')")}, tmp_path, environment="sandbox", environment_kwargs={"bwrap": path}
    )
    result = eng.completion("q", "ctx")
    assert result.status == RunStatus.FAILED
    assert "SandboxUnavailable" in result.error and "unsandboxed subprocess REPL" in result.error
    meta = json.loads(Path(result.log_path).read_text(encoding="utf-8").splitlines()[0])
    sandbox = meta["rlm_desktop"]["sandbox"]
    assert sandbox["sandboxed"] is False and sandbox["isolation"] == "unavailable"
    assert ("not installed" if which == "missing" else "cannot make a sandbox") in sandbox["message"]
    assert not any(b.get("code") for line in Path(result.log_path).read_text(encoding="utf-8").splitlines() for b in json.loads(line).get("code_blocks", []))


def test_unsandboxed_subprocess_is_marked_in_the_metadata(tmp_path):
    eng, _ = make_engine({"r0/i0": R("answer['content'] = 'x'\nanswer['ready'] = True")}, tmp_path, environment="subprocess")
    result = eng.completion("q", "ctx")
    meta = json.loads(Path(result.log_path).read_text(encoding="utf-8").splitlines()[0])
    assert meta["rlm_desktop"]["sandbox"]["sandboxed"] is False
    assert meta["rlm_desktop"]["sandbox"]["message"].startswith("UNSANDBOXED")


# -- the New Run dialog and the status bar --------------------------------------------------


def _dialog(qtbot):
    from rlm_desktop.ui.panels.new_run_dialog import NewRunDialog

    dlg = NewRunDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitUntil(lambda: dlg.sandbox_option.status is not None, timeout=10000)
    # the demo recording's inputs are read in a worker: Run waits for them
    qtbot.waitUntil(lambda: not dlg.recording_read.reading, timeout=10000)
    return dlg


def test_dialog_says_the_sandbox_cannot_run_and_offers_the_others(qtbot, monkeypatch, failing_bwrap):
    monkeypatch.setenv("RLM_BWRAP", failing_bwrap)
    dlg = _dialog(qtbot)
    assert dlg.env_combo.currentData() == "sandbox"  # the default
    label = dlg.sandbox_option.label.text()
    assert "Sandbox unavailable" in label and "No permissions to create new namespace" in label
    assert "Docker" in label and "unsandboxed subprocess" in label
    assert not dlg.run_button.isEnabled()
    assert "sandbox cannot run here" in dlg.error_label.text()
    # the user picks the unsandboxed REPL from the keyboard: it is allowed, with a warning
    dlg.env_combo.setFocus()
    qtbot.keyClick(dlg.env_combo, Qt.Key.Key_Down)
    assert dlg.env_combo.currentData() == "subprocess"
    assert "No sandbox" in dlg.sandbox_option.label.text()
    assert dlg.run_button.isEnabled()
    assert dlg.config().environment == "subprocess"


def test_dialog_network_is_off_unless_the_user_allows_it(qtbot):
    dlg = _dialog(qtbot)
    assert dlg.sandbox_option.status.available, dlg.sandbox_option.status.message
    assert "Sandboxed" in dlg.sandbox_option.label.text()
    assert dlg.config().environment == "sandbox" and dlg.config().allow_network is False
    box = dlg.sandbox_option.network
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert dlg.config().allow_network is True


def test_dialog_passes_the_variables_the_user_names(qtbot):
    dlg = _dialog(qtbot)
    edit = dlg.sandbox_option.passthrough_edit
    qtbot.keyClicks(edit, "HF_HOME, TZ")
    assert dlg.config().sandbox_env == ("HF_HOME", "TZ") and dlg.run_button.isEnabled()
    qtbot.keyClicks(edit, " MY_LLM_PASS")
    assert "MY_LLM_PASS looks like a secret" in dlg.sandbox_option.label.text()
    qtbot.keyClicks(edit, " sk-proj-123")  # a value, not a name: refused (and never saved)
    assert not dlg.run_button.isEnabled() and "names only" in dlg.error_label.text()
    dlg.save_settings()
    assert "sk-proj" not in str({k: dlg.settings.value(k) for k in dlg.settings.allKeys()})


def test_status_bar_shows_what_held_the_run(window, qtbot, tmp_path, monkeypatch):
    eng, _ = make_engine(
        {"r0/i0": R("print(1)")}, tmp_path, environment="sandbox", environment_kwargs={"bwrap": MISSING}
    )
    path = eng.completion("q", "ctx").log_path
    window.open_files([path])
    qtbot.waitUntil(lambda: window.trajectory is not None and window.loader.pending == 0, timeout=10000)
    label = window.status.isolation_label
    assert label.text() == "⚠ Sandbox unavailable"
    assert "bubblewrap is not installed" in label.toolTip()
    eng2, _ = make_engine({"r0/i0": R("print(1)")}, tmp_path / "ok", environment="sandbox")
    window.open_files([eng2.completion("q", "ctx").log_path])
    qtbot.waitUntil(lambda: label.text().startswith("Sandbox: bubblewrap"), timeout=10000)
    assert label.text() == "Sandbox: bubblewrap, no network"


# -- one bound on REPL processes across nested batched children ----------------------------------


def test_nested_batched_children_share_one_bound_on_repl_processes(tmp_path):
    import threading as th

    from rlm_desktop.engine.repl.inprocess_env import InProcessReplEnvironment

    live, peak, total = [0], [0], [0]
    lock = th.Lock()

    class Counted(InProcessReplEnvironment):
        def start(self):
            with lock:
                live[0] += 1
                total[0] += 1
                peak[0] = max(peak[0], live[0])
            super().start()

        def close(self):
            with lock:
                if not getattr(self, "_counted_out", False):
                    self._counted_out = True
                    live[0] -= 1
            super().close()

    code = "r = rlm_query_batched(['a', 'b', 'c', 'd'])\nimport time; time.sleep(0.05)\nanswer['content'] = str(len(r))\nanswer['ready'] = True"
    eng, _ = make_engine({"*": R(code)}, tmp_path, environment=Counted, max_depth=4, max_parallel=4, max_iterations=2)
    result = eng.completion("q", "ctx")
    assert result.ok, result.error
    assert total[0] == 1 + 4 + 16 + 64  # every child still ran
    assert 4 < peak[0] <= (1 + 4) * 3, peak[0]  # parallel, and bounded
    assert live[0] == 0


# -- the worker finds its code inside the sandbox ---------------------------------------------------


def test_a_bundled_worker_runs_from_its_own_folder_in_the_sandbox(tmp_path):
    """Like the frozen app (``rlm-desktop --repl-worker``): the program's folder is bound
    read-only, also under /tmp (where a one-file build unpacks itself)."""
    import shutil

    from rlm_desktop.engine.repl import process

    if not sys.platform.startswith("linux"):
        pytest.skip("bubblewrap is Linux only")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    shutil.copy(process.WORKER_PATH, bundle / "worker_copy.py")
    app = bundle / "rlm-desktop"
    app.write_text(f'#!/bin/sh\n[ "$1" = --repl-worker ] && shift\nexec {sys.executable} {bundle}/worker_copy.py "$@"\n')
    app.chmod(0o755)
    env = SandboxReplEnvironment("ctx", lambda req: ["pong"] * len(req.prompts), program=[str(app), "--repl-worker"])
    try:
        env.start()
        r = env.execute("import sys\nprint(sys.argv[0], llm_query('ping'))")
        assert r.stdout == f"{bundle}/worker_copy.py pong\n", r.stderr
    finally:
        env.close()


def test_frozen_app_binds_its_own_folders(monkeypatch, tmp_path):
    exe_dir, meipass = tmp_path / "dist" / "rlm-desktop", tmp_path / "dist" / "rlm-desktop" / "_internal"
    meipass.mkdir(parents=True)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(exe_dir / "rlm-desktop"))
    monkeypatch.setattr(sys, "_MEIPASS", str(meipass), raising=False)
    from rlm_desktop.engine.repl.process import worker_program

    program = worker_program()
    assert program == [str(exe_dir / "rlm-desktop"), "--repl-worker"]
    assert bw.program_dirs(program) == [str(exe_dir)]  # _internal is inside it


def test_status_bar_of_a_live_run_where_the_sandbox_cannot_run(window, qtbot):
    from rlm_desktop.engine.demo import load_demo

    demo = load_demo(environment="sandbox")
    demo.config.environment_kwargs = {"bwrap": MISSING}
    window.start_run(demo.prompt, demo.context, config=demo.config, pause_at_start=False)
    qtbot.waitUntil(lambda: not window.session.running, timeout=20000)
    qtbot.waitUntil(lambda: window.status.isolation_label.text() == "⚠ Sandbox unavailable", timeout=5000)
    run = window.session.recorder.trajectory.runs[0]
    assert run.status == RunStatus.FAILED and "SandboxUnavailable" in (run.error or "")


def test_a_sandbox_that_fails_after_the_probe_says_why(tmp_path):
    """bwrap passed the check but fails for this run: the start error carries bwrap's words."""
    if not sys.platform.startswith("linux"):
        pytest.skip("bubblewrap is Linux only")
    env = SandboxReplEnvironment("ctx", lambda req: [], program=[str(tmp_path / "no-such-python"), "x.py"])
    with pytest.raises(RuntimeError) as err:
        env.start()
    env.close()
    assert "did not start" in str(err.value) and "no-such-python" in str(err.value)
