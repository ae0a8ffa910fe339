"""Shared test set-up: Qt offscreen, no real keys, fresh settings, no leaked threads."""

from __future__ import annotations

import os

import pytest

from rlm_desktop.ui import refcount_guard
from tests.support import leaks

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
for _key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY"):
    os.environ.pop(_key, None)
refcount_guard.install()  # as the app does at start (a no-op unless PySide6 loses references)


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
def _no_leaks():
    """Fail a test that leaves a thread (daemon or not), a QThread, QThreadPool work or an active
    QTimer running (see tests/support/leaks.py)."""
    before = leaks.snapshot()
    yield
    found = leaks.leaks(before)
    assert not found, f"test left running: {', '.join(found)}"
