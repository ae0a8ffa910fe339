"""The bundled demo runs in the sandbox; where bubblewrap cannot run it says so plainly."""

from __future__ import annotations

import pytest

from rlm_desktop.engine import demo as demo_mod
from rlm_desktop.engine.repl import bwrap


@pytest.fixture
def fresh_probe():
    bwrap.clear_probe_cache()
    yield
    bwrap.clear_probe_cache()


def test_demo_uses_the_sandbox_where_it_runs(fresh_probe):
    if not bwrap.probe().available:
        pytest.fail(f"bubblewrap must run here (scripts/setup.sh installs it): {bwrap.probe().message}")
    d = demo_mod.load_demo()
    assert d.config.environment == "sandbox"
    assert d.isolation_note is None


def test_demo_without_bubblewrap_is_marked_unsandboxed(fresh_probe, monkeypatch, tmp_path):
    monkeypatch.setenv("RLM_BWRAP", str(tmp_path / "no-such-bwrap"))
    d = demo_mod.load_demo()
    assert d.config.environment == "subprocess"
    assert d.isolation_note and "UNSANDBOXED" in d.isolation_note


def test_an_explicit_environment_is_kept(fresh_probe, monkeypatch, tmp_path):
    monkeypatch.setenv("RLM_BWRAP", str(tmp_path / "no-such-bwrap"))
    d = demo_mod.load_demo(environment="sandbox")
    assert d.config.environment == "sandbox" and d.isolation_note is None


def test_the_window_says_when_the_demo_runs_unsandboxed(window, qtbot, fresh_probe, monkeypatch, tmp_path):
    from rlm_desktop.debugger.controller import PAUSED

    monkeypatch.setenv("RLM_BWRAP", str(tmp_path / "no-such-bwrap"))
    window.run_demo(pause_at_start=True)
    qtbot.waitUntil(lambda: window.session.state.state == PAUSED, timeout=20000)
    assert any("UNSANDBOXED" in t for t in window.problems.texts())
    assert "UNSANDBOXED" in window.status.currentMessage()
    window.session.stop()
    qtbot.waitUntil(lambda: not window.session.running, timeout=20000)
