"""Shared test set-up: Qt offscreen, no real keys, fresh settings, no leaked threads."""

from __future__ import annotations

import os
import threading
import time

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
for _key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY"):
    os.environ.pop(_key, None)


@pytest.fixture(autouse=True)
def _fresh_settings(tmp_path_factory, monkeypatch):
    """Every test gets its own empty settings store (QSettings and XDG config)."""
    cfg = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(cfg))
    monkeypatch.setenv("XDG_DATA_HOME", str(cfg / "data"))  # run logs (New Run's default folder)
    try:
        from PySide6.QtCore import QSettings
    except ImportError:  # pragma: no cover - Qt is a hard dependency
        yield
        return
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(cfg))
    yield


@pytest.fixture
def window(qtbot, qapp):
    """The main window (default layout, fresh settings), shown; shut down after the test.
    A test module that needs more overrides it with a ``window(window)`` fixture."""
    qapp.setOrganizationName("rlm-desktop-tests")
    qapp.setApplicationName("tests")
    from rlm_desktop.ui.main_window import MainWindow

    w = MainWindow(restore_layout=False)
    w.show()
    yield w
    # shut down (stopping a run a failed test left paused) before closing, so closing never
    # asks "Stop it and quit?" in a modal box nobody answers
    w.shutdown()
    w.close()
    w.deleteLater()


@pytest.fixture(autouse=True)
def _no_leaked_threads():
    """Fail a test that leaves a non-daemon thread (a worker, a QThread's Python side) running."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 3.0
    while True:
        leaked = [
            t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon
        ]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert not leaked, f"test left threads running: {[t.name for t in leaked]}"
