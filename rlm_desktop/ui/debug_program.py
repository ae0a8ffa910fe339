"""Debug the user's own program in the window: File > Debug Program… and ``rlm-desktop debug``.

``DebugProgramDialog``: the command line (split like a shell does), the working folder,
extra environment (``NAME=VALUE`` lines; kept for this dialog only, never saved: it may
hold keys), an optional record file, and the recent commands (command + folder, in
QSettings). ``start_program(window, argv, ...)`` runs it through the window's
``DebugSession`` with ``engine.upstream_host.UpstreamProgram`` as the engine, so the
program's completions are live runs in every panel and the debug actions drive them.
``run_gui(args)`` is ``rlm-desktop debug`` without ``--no-gui``.

Closing the window while the program runs asks first; yes detaches from the program (it goes
on at full speed, without us) instead of stopping it; Debug > Stop ends the running completion as upstream's own cancellation does.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
from typing import Any

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

RECENT_KEY = "debug_program/recent"
MAX_RECENT = 10


def load_recent() -> list[dict[str, str]]:
    raw = QSettings().value(RECENT_KEY, "[]")
    try:
        items = json.loads(raw if isinstance(raw, str) else "[]")
    except ValueError:
        return []
    return [i for i in items if isinstance(i, dict) and isinstance(i.get("command"), str)][:MAX_RECENT]


def remember(command: str, cwd: str) -> None:
    items = [i for i in load_recent() if i.get("command") != command or i.get("cwd") != cwd]
    items.insert(0, {"command": command, "cwd": cwd})
    QSettings().setValue(RECENT_KEY, json.dumps(items[:MAX_RECENT]))


def parse_env(text: str) -> dict[str, str]:
    env: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip() or " " in name.strip():
            raise ValueError(f"environment line {n}: expected NAME=VALUE")
        env[name.strip()] = value
    return env


class DebugProgramDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Debug Program")
        self.setMinimumWidth(620)
        self.recent = QComboBox()
        self.recent.setObjectName("recent")
        self._recent_items = load_recent()
        self.recent.addItem("(recent commands)")
        for item in self._recent_items:
            self.recent.addItem(item["command"])
        self.recent.setEnabled(bool(self._recent_items))
        self.recent.activated.connect(self._pick_recent)
        self.command = QLineEdit()
        self.command.setObjectName("command")
        self.command.setPlaceholderText("python my_eval.py --n 5")
        self.cwd = QLineEdit(os.getcwd())
        self.cwd.setObjectName("cwd")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.cwd, 1)
        row.addWidget(browse)
        self.env = QPlainTextEdit()
        self.env.setObjectName("env")
        self.env.setPlaceholderText("NAME=VALUE, one a line (not saved)")
        self.env.setFixedHeight(70)
        self.record = QLineEdit()
        self.record.setObjectName("record")
        self.record.setPlaceholderText("optional: record every completion to this .jsonl file")
        self.error = QLabel()
        self.error.setTextFormat(self.error.textFormat().PlainText)
        self.error.setStyleSheet("color: #c0392b")
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Recent:", self.recent)
        form.addRow("&Command:", self.command)
        form.addRow("&Working folder:", row)
        form.addRow("&Environment:", self.env)
        form.addRow("&Record to:", self.record)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Debug")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        note = QLabel("Runs the command unchanged; every Python process it starts that uses upstream "
                      "rlms shows its completions here, live, with breakpoints and stepping.")
        note.setTextFormat(note.textFormat().PlainText)
        note.setWordWrap(True)
        lay.addWidget(note)
        lay.addLayout(form)
        lay.addWidget(self.error)
        lay.addWidget(buttons)
        if self._recent_items:
            self._pick_recent(1)
        self.command.setFocus()

    def _pick_recent(self, index: int) -> None:
        if 1 <= index <= len(self._recent_items):
            item = self._recent_items[index - 1]
            self.command.setText(item["command"])
            if item.get("cwd"):
                self.cwd.setText(item["cwd"])

    def _browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Working folder", self.cwd.text() or os.getcwd())
        if d:
            self.cwd.setText(d)

    # -- the values ----------------------------------------------------------------------------
    def argv(self) -> list[str]:
        return shlex.split(self.command.text())

    def working_dir(self) -> str | None:
        return self.cwd.text().strip() or None

    def environment(self) -> dict[str, str]:
        return parse_env(self.env.toPlainText())

    def record_path(self) -> str | None:
        return self.record.text().strip() or None

    def problem(self) -> str | None:
        try:
            argv = self.argv()
        except ValueError as exc:
            return f"The command cannot be read: {exc}"
        if not argv:
            return "Type the command to debug, e.g. python my_eval.py"
        cwd = self.working_dir()
        if cwd and not os.path.isdir(cwd):
            return f"No such working folder: {cwd}"
        try:
            self.environment()
        except ValueError as exc:
            return str(exc)
        return None

    def accept(self) -> None:
        problem = self.problem()
        if problem:
            self.error.setText(problem)
            return
        remember(self.command.text().strip(), self.working_dir() or "")
        super().accept()


class _Notices(QObject):
    """Notices of the program host (any thread) -> the window (GUI thread, queued)."""

    text = Signal(str)


def _ask_before_closing(window: Any, program: Any) -> None:
    """Closing the window while the program runs asks; yes lets the program go on without us
    (``detach``) instead of stopping it. Other runs keep the window's own question."""
    from PySide6.QtWidgets import QMessageBox

    ask_window = window.confirm_quit

    def confirm_quit() -> bool:
        session = window.session
        if getattr(window, "debugged_program", None) is not program or session is None or not session.running:
            return ask_window()
        answer = QMessageBox.question(
            window, "Quit RLM Desktop",
            "The program you are debugging is still running. Quit anyway?\n"
            "It goes on without the debugger, at full speed (nothing is stopped).",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer != QMessageBox.StandardButton.Yes:
            return False
        program.detach()
        return True

    window.confirm_quit = confirm_quit


def start_program(window: Any, argv: list[str], *, cwd: str | None = None, env: dict[str, str] | None = None,
                  record: str | None = None, breaks: list[dict[str, Any]] | tuple = ()) -> Any:
    """Debug ``argv`` in ``window``; returns the ``UpstreamProgram`` (None when it cannot start)."""
    from rlm_desktop.engine.upstream_host import UpstreamProgram

    session = window.session
    if session is None:
        window.report_error(getattr(window, "_session_error", "Debugger unavailable"))
        return None
    if session.running:
        window.report_error("A run is in progress: stop it before debugging a program")
        return None
    prog = UpstreamProgram(argv, cwd=cwd, env=env, wait=True)
    notices = _Notices(window)
    notices.text.connect(lambda t: window.report_error(f"Debug Program: {t}"))
    prog.on_notice(notices.text.emit)
    if record:
        from rlm_desktop.engine.completions_log import CompletionsLog

        book = CompletionsLog(record)
        prog.add_observer(book)
        prog.on_exit(book.close)
    for fields in breaks:
        session.breakpoints.add(**fields)
    _ask_before_closing(window, prog)
    try:
        session.start(None, None, engine=prog)
    except Exception as exc:  # noqa: BLE001
        window.report_error(f"Cannot debug the program: {type(exc).__name__}: {exc}")
        return None
    window.debugged_program = prog
    window.setWindowTitle(f"Debugging {shlex.join(argv)} — RLM Desktop")
    return prog


def open_dialog(window: Any) -> Any:
    """File > Debug Program…"""
    dlg = DebugProgramDialog(window)
    if dlg.exec() != QDialog.DialogCode.Accepted:
        return None
    return start_program(window, dlg.argv(), cwd=dlg.working_dir(), env=dlg.environment(),
                         record=dlg.record_path())


def run_gui(args: Any) -> int:
    """``rlm-desktop debug -- COMMAND`` with the window; the exit status is the program's."""
    import logging as _logging

    from PySide6.QtCore import QTimer

    from .app import make_app
    from .main_window import MainWindow

    _logging.basicConfig(level=_logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = make_app()
    window = MainWindow()
    window.install_error_hook()
    window.show()
    box: dict[str, Any] = {}

    def go() -> None:
        box["prog"] = start_program(window, args.command, cwd=args.cwd, env=args.env, record=args.record,
                                    breaks=args.breaks)

    QTimer.singleShot(0, go)
    rc = app.exec()
    window.deleteLater()  # closed: its timers (status messages) go with it
    prog = box.get("prog")
    if prog is not None and prog.process is not None and prog.process.returncode is not None:
        code = prog.process.returncode
        return code if code >= 0 else 128 - code
    return int(rc or 0)


__all__ = ["DebugProgramDialog", "open_dialog", "parse_env", "run_gui", "start_program"]
