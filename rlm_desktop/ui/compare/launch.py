"""The main window's way into Compare: File › Compare Runs… (Ctrl+Shift+D) picks two of the
opened runs; a fork that finishes opens compared with its original recording.

``Comparisons(window)`` owns the action and the open Compare windows (``open(a, b)``).
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence

from .window import CompareWindow


class Comparisons(QObject):
    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.windows: list[CompareWindow] = []
        self.picker: Any = None
        self.action = QAction("&Compare Runs…", window)
        self.action.setObjectName("action.compare")
        self.action.setShortcut(QKeySequence("Ctrl+Shift+D"))
        self.action.setStatusTip("Compare two runs (opened files, the finished live run): structure, code, "
                                 "outputs, messages, tokens")
        self.action.triggered.connect(lambda: self.pick())
        forks = getattr(window, "forks", None)
        if forks is not None and hasattr(forks, "fork_finished"):
            forks.fork_finished.connect(self._fork_finished)

    def choices(self) -> list[tuple[str, Any]]:
        w = self.window
        out: list[tuple[str, Any]] = [(os.path.basename(p), p) for p in w.documents]
        session = w.session
        if session is not None and session.recorder is not None and not session.running:
            live = session.recorder.trajectory
            log_path = getattr(session.result, "log_path", None) if session.result is not None else None
            out.append(("Live run (finished)", log_path or live))
        return out

    def pick(self) -> Any:
        from .dialog import ComparePicker

        choices = self.choices()
        w = self.window
        current = [i for i, (_l, s) in enumerate(choices) if s == w.path]
        a = 0 if not current or current[0] != 0 else 1
        b = current[0] if current else 1
        if a == b:
            a = 0 if b != 0 else 1
        self.picker = ComparePicker(choices, w, a=a, b=b)
        self.picker.accepted.connect(lambda: self.open(*self.picker.sources(), *self.picker.titles()))
        self.picker.open()
        return self.picker

    def open(self, a: Any, b: Any, title_a: str | None = None, title_b: str | None = None) -> CompareWindow:
        cw = CompareWindow(self.window)
        self.windows = [x for x in self.windows if x.isVisible()] + [cw]
        cw.failed.connect(lambda msg: self.window.report_error(f"Cannot compare: {msg}"))
        cw.compare(a, b, title_a, title_b)
        cw.show()
        return cw

    def _fork_finished(self, plan: Any, result: Any) -> None:
        log_path = getattr(result, "log_path", None)
        if not log_path or not os.path.isfile(str(plan.recording)):
            return
        self.open(str(plan.recording), log_path, f"original {os.path.basename(str(plan.recording))}",
                  f"fork at {plan.fork_at}")

    def shutdown(self) -> None:
        for cw in self.windows:
            cw.worker.shutdown()
