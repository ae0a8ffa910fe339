"""Errors of a live run are shown in the window (Problems, status bar), and the app stays up."""

from __future__ import annotations

from rlm_desktop.engine.clients import ScriptedClient
from rlm_desktop.engine.config import BackendConfig, EngineConfig
from rlm_desktop.engine.rlm import RLMEngine
from tests.test_engine_fakes import env_choice
from tests.test_engine_loop import R


def engine(script, **cfg):
    config = EngineConfig(backend=BackendConfig(kind="scripted", model="mock-root"), environment=env_choice(),
                          max_iterations=4, **cfg)
    return RLMEngine(config, client=ScriptedClient(script, model="mock-root"))


def run_to_end(qtbot, w, eng):
    w.start_run("q", "some context", engine=eng)
    qtbot.waitUntil(lambda: w.session.running, timeout=3000)
    qtbot.waitUntil(lambda: not w.session.running, timeout=20000)


def assert_app_still_usable(w):
    assert w.isVisible() and w.debug.run.isEnabled() and w.debug.demo.isEnabled()
    assert not w.debug.stop.isEnabled()
    assert w.docks["problems"].isVisible()


def test_lm_failure_is_shown_in_the_ui(qtbot, window):
    # the model answers the first turn, then the backend fails (no reply for turn 2)
    run_to_end(qtbot, window, engine({"r0/i0": R("print('first turn ran')")}))
    assert window.session.result.status == "failed"
    texts = window.problems.texts()
    assert any("Run failed" in t and "no reply" in t for t in texts), texts
    assert "Run failed" in window.status.currentMessage()
    assert window.status.state_label.text() == "Failed"
    # what ran before the failure is still there to inspect
    traj = window.session.recorder.trajectory
    assert traj.runs[0].iterations[0].code_blocks[0].stdout == "first turn ran\n"
    assert_app_still_usable(window)


def test_repl_crash_is_shown_in_the_ui(qtbot, window):
    run_to_end(qtbot, window, engine({"r0/i0": R("print('before')"), "r0/i1": R("import os\nos._exit(3)")}))
    assert window.session.result.status == "failed"
    assert any("Run failed" in t and "REPL" in t for t in window.problems.texts()), window.problems.texts()
    assert window.status.state_label.text() == "Failed"
    assert_app_still_usable(window)


class BrokenEngine:
    """An engine that raises out of ``completion`` (a bug or a bad set-up)."""

    def set_gate(self, gate):
        pass

    def cancel(self):
        pass

    def add_observer(self, fn):
        pass

    def completion(self, prompt, context):
        raise RuntimeError("engine exploded")


def test_an_engine_exception_is_shown_in_the_ui(qtbot, window):
    run_to_end(qtbot, window, BrokenEngine())
    assert any("Run failed" in t and "engine exploded" in t for t in window.problems.texts())
    assert window.status.state_label.text() == "Failed"
    assert_app_still_usable(window)
    # and a new run starts fine afterwards
    window.run_demo()
    qtbot.waitUntil(lambda: window.session.controller.is_paused, timeout=15000)
    window.session.stop()
    qtbot.waitUntil(lambda: not window.session.running, timeout=15000)


def test_uncaught_exceptions_in_slots_reach_problems(window):
    import sys

    seen = []
    previous = sys.excepthook
    sys.excepthook = lambda *a: seen.append(a[1])  # stands for Python's printing (and pytest-qt's)
    try:
        window.install_error_hook()
        try:
            raise ValueError("a bug in a slot")
        except ValueError:
            sys.excepthook(*sys.exc_info())
        assert [str(e) for e in seen] == ["a bug in a slot"]  # still printed by the previous hook
        assert any("Internal error: ValueError: a bug in a slot" in t for t in window.problems.texts())
        window.shutdown()
        assert sys.excepthook is not None and sys.excepthook.__name__ == "<lambda>"
    finally:
        sys.excepthook = previous
