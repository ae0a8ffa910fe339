"""File › Export as HTML…: the shown run as one self-contained page (``trajectory.html_export``),
written off the GUI thread; the result is reported in the status bar (errors in Problems)."""

from __future__ import annotations

import os
import threading
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog


class HtmlExport(QObject):
    done = Signal(str, str)  # path, error ("" when written)

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self.window = window
        self.worker: threading.Thread | None = None
        self.action = QAction("Export as &HTML…", window)
        self.action.setObjectName("action.export_html")
        self.action.setShortcut(QKeySequence("Ctrl+Shift+E"))
        self.action.setStatusTip("Save the shown run as one HTML file that opens offline in any browser")
        self.action.triggered.connect(lambda: self.ask())
        self.done.connect(self._done)

    def ask(self) -> None:
        w = self.window
        if w.trajectory is None or not w.trajectory.runs:
            w.status.showMessage("Nothing to export: open a run first", 5000)
            return
        base = os.path.splitext(os.path.basename(w.path or "run"))[0] + ".html"
        path, _ = QFileDialog.getSaveFileName(w, "Export as HTML", base, "HTML (*.html)")
        if path:
            self.export(path)

    def export(self, path: str) -> None:
        """Write the shown trajectory to ``path`` in a worker thread (``done`` follows)."""
        from rlm_desktop.trajectory.html_export import write_html

        w = self.window
        running = w.session is not None and w.session.running and w.trajectory is getattr(
            w.session.recorder, "trajectory", None)
        if running:
            w.status.showMessage("Export when the run has finished (it is still changing)", 6000)
            return
        traj, title = w.trajectory, os.path.basename(w.path or "") or None

        def work() -> None:
            try:
                write_html(traj, path, title)
            except Exception as exc:  # noqa: BLE001 - reported in the window
                self.done.emit(path, f"{type(exc).__name__}: {exc}")
            else:
                self.done.emit(path, "")

        self.worker = threading.Thread(target=work, name="html-export", daemon=True)
        self.worker.start()

    def _done(self, path: str, error: str) -> None:
        if error:
            self.window.report_error(f"Cannot export {path}: {error}")
        else:
            self.window.status.showMessage(f"Exported {path}", 6000)
