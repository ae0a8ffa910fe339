"""File > Debug Program… with real keys: the user's own upstream ``rlms`` program (a subprocess)
shows as a live run; a depth breakpoint pauses it inside the grandchild, Shift+F11 steps out to
the parent, F5 runs it to the end."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QLineEdit

from rlm_desktop.engine import events as ev
from rlm_desktop.ui.debug_program import DebugProgramDialog, load_recent, parse_env
from tests.support.mock_openai import MockLMServer
from tests.support.upstream_brain import brain

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = ROOT / "tests" / "support" / "upstream_program.py"
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    pytest.importorskip("rlm")
    with MockLMServer(brain) as s:
        yield s


@pytest.fixture
def window(window, qtbot):
    window.activateWindow()
    qtbot.waitExposed(window)
    window.paused_count = 0

    def bump(_st):
        window.paused_count += 1

    window.session.paused.connect(bump)
    return window


def key(qtbot, w, k, mod=Qt.KeyboardModifier.NoModifier):
    qtbot.keyClick(QApplication.focusWidget() or w, k, mod)


def wait_paused(qtbot, w, n_before, timeout=90000):
    qtbot.waitUntil(lambda: w.session.controller.is_paused and w.paused_count > n_before, timeout=timeout)
    qtbot.waitUntil(lambda: w.status.state_label.text().startswith("Paused"), timeout=5000)


def test_debug_program_dialog_from_the_file_menu_then_step_with_keys(qtbot, window, server):
    w = window
    w.session.breakpoints.add(kind="depth", depth=2)
    command = f"{sys.executable} {PROGRAM} {server.base_url} deep"

    def fill_in() -> None:
        dlg = QApplication.activeModalWidget()
        assert isinstance(dlg, DebugProgramDialog)
        edit = dlg.findChild(QLineEdit, "command")
        qtbot.keyClicks(edit, command)
        cwd = dlg.findChild(QLineEdit, "cwd")
        cwd.selectAll()
        qtbot.keyClicks(cwd, str(ROOT))
        qtbot.keyClick(edit, Qt.Key.Key_Return)

    QTimer.singleShot(100, fill_in)
    w.act_debug_program.trigger()  # File > Debug Program… (modal until Enter)
    assert w.session.running
    assert w.windowTitle().startswith("Debugging ")
    wait_paused(qtbot, w, 0)
    st = w.session.controller.state()
    assert isinstance(st.event, ev.RunStarted) and st.event.depth == 2
    grandchild = st.event.run_id
    w.activateWindow()  # back from the modal dialog
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w, timeout=5000)
    n = w.paused_count
    key(qtbot, w, Qt.Key.Key_F11, Qt.KeyboardModifier.ShiftModifier)  # step out
    wait_paused(qtbot, w, n)
    st = w.session.controller.state()
    assert st.event.depth == 1 and isinstance(st.event, ev.SubCallFinished)
    assert st.event.child_run_id == grandchild
    key(qtbot, w, Qt.Key.Key_F5)  # continue to the end
    qtbot.waitUntil(lambda: not w.session.running, timeout=90000)
    result = w.session.result
    assert result.exit_code == 0 and result.completions == 1
    assert "answer: deep done:" in w.status.currentMessage()
    runs = w.trajectory.runs
    assert len(runs) == 1 and runs[0].final_answer.startswith("deep done: d1 got d2 says")
    assert [r["command"] for r in load_recent()] == [command]

    # the next time the dialog offers the recent command; Escape leaves it
    def check_and_escape() -> None:
        dlg = QApplication.activeModalWidget()
        assert dlg.findChild(QLineEdit, "command").text() == command
        qtbot.keyClick(dlg, Qt.Key.Key_Escape)

    QTimer.singleShot(100, check_and_escape)
    assert w.debug_program() is None


def test_bad_input_in_the_dialog_is_said_and_nothing_starts(qtbot, window):
    dlg = DebugProgramDialog(window)
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.command.clear()
    qtbot.keyClick(dlg.command, Qt.Key.Key_Return)
    assert dlg.isVisible() and "Type the command" in dlg.error.text()
    qtbot.keyClicks(dlg.command, 'python "unterminated')
    qtbot.keyClick(dlg.command, Qt.Key.Key_Return)
    assert dlg.isVisible() and "cannot be read" in dlg.error.text()
    with pytest.raises(ValueError):
        parse_env("NOT AN ASSIGNMENT")
    assert parse_env("A=1\n# note\nB = x=y") == {"A": "1", "B": " x=y"}
    dlg.reject()


def test_a_program_that_is_not_found_is_reported_and_the_window_stays_up(qtbot, window):
    from rlm_desktop.ui.debug_program import start_program

    errors: list[str] = []
    window.report_error = errors.append  # what the user sees in Problems / the status bar
    start_program(window, ["no-such-command-rlm-desktop"], cwd=os.getcwd())
    qtbot.waitUntil(lambda: not window.session.running, timeout=10000)
    qtbot.waitUntil(lambda: any("command not found" in e for e in errors), timeout=5000)
    assert window.isVisible()


def test_rlm_desktop_debug_with_the_window_returns_the_program_exit_status(qtbot, qapp, server):
    """``rlm-desktop debug -- COMMAND`` (``run_gui``): the window debugs the program; once the user
    closes it, the exit status is the program's (here 3, from a program that makes no completion)."""
    from rlm_desktop.debug_program import parse_args
    from rlm_desktop.ui.debug_program import run_gui
    from rlm_desktop.ui.main_window import MainWindow

    args = parse_args(["--", sys.executable, str(PROGRAM), server.base_url, "none"])
    seen: dict = {}

    def close_when_done() -> None:
        w = next((x for x in QApplication.topLevelWidgets() if isinstance(x, MainWindow)
                  and getattr(x, "debugged_program", None) is not None), None)
        if w is not None and not w.session.running and w.session.result is not None:
            seen["problems"] = list(w.problems.errors)
            seen["title"] = w.windowTitle()
            seen["status"] = w.status.state_label.text()
            w.close()
            return
        QTimer.singleShot(100, close_when_done)

    QTimer.singleShot(100, close_when_done)
    assert run_gui(args) == 3
    assert seen["title"].startswith("Debugging ") and seen["status"] == "Failed"
    assert any("finished without an RLM completion (exit status 3)" in p for p in seen["problems"])


def test_closing_the_window_mid_pause_lets_the_program_go_on(qtbot, qapp, server):
    """The window closes while the program is paused inside the grandchild: the program is not
    stopped but goes on at full speed to its end (every LM call a plain run makes is made)."""
    import subprocess

    from rlm_desktop.ui.debug_program import start_program
    from rlm_desktop.ui.main_window import MainWindow

    server.clear()
    subprocess.run([sys.executable, str(PROGRAM), server.base_url, "deep"], capture_output=True, check=True)
    expected = len(server.calls())
    server.clear()
    w = MainWindow(restore_layout=False)
    w.show()
    w.session.breakpoints.add(kind="depth", depth=2)
    prog = start_program(w, [sys.executable, str(PROGRAM), server.base_url, "deep"], cwd=str(ROOT))
    qtbot.waitUntil(lambda: w.session.controller.is_paused, timeout=90000)
    before = len(server.calls())
    assert before < expected
    asked: list[str] = []

    def answer(button) -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        asked.append(box.text())
        qtbot.mouseClick(box.button(button), Qt.MouseButton.LeftButton)

    from PySide6.QtWidgets import QMessageBox

    QTimer.singleShot(200, lambda: answer(QMessageBox.StandardButton.No))
    w.close()  # No: nothing changes, the program is still held at the breakpoint
    assert w.isVisible() and not prog.detached and w.session.controller.is_paused
    QTimer.singleShot(200, lambda: answer(QMessageBox.StandardButton.Yes))
    w.close()  # asks; Yes: the program is let go, then the session shuts down
    assert len(asked) == 2 and "goes on without the debugger" in asked[0]
    assert not w.isVisible()
    qtbot.waitUntil(lambda: prog.process.poll() is not None, timeout=90000)
    assert prog.process.returncode == 0
    assert len(server.calls()) == expected
    assert prog.detached


def test_a_pause_in_the_grandchild_reveals_it_in_the_run_tree(qtbot, window, server):
    """Paused at depth 2 in the user's program: the Run Tree expands down to the paused node
    and selects it, like the other panels (it used to stay on the collapsed root)."""
    from rlm_desktop.ui.debug_program import start_program
    from tests.test_ui_tree_reveals_pause import assert_revealed

    w = window
    w.session.breakpoints.add(kind="depth", depth=2)
    start_program(w, [sys.executable, str(PROGRAM), server.base_url, "deep"], cwd=str(ROOT))
    wait_paused(qtbot, w, 0)
    node = w.selection.node
    assert node is not None and getattr(node, "depth", None) == 2
    qtbot.waitUntil(lambda: w.tree.model.node(w.tree.view.currentIndex()) is node, timeout=5000)
    assert_revealed(w, node)
    n = w.paused_count
    key(qtbot, w, Qt.Key.Key_F10)  # step over: the next paused node is revealed as well
    wait_paused(qtbot, w, n)
    qtbot.waitUntil(lambda: w.tree.model.node(w.tree.view.currentIndex()) is w.selection.node, timeout=5000)
    assert_revealed(w, w.selection.node)
    w.debug.stop.trigger()
    qtbot.waitUntil(lambda: not w.session.running, timeout=30000)
