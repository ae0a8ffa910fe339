"""The main window's file handling (a mixin of ``MainWindow``): File › Open (several files),
Open Recent, drag and drop, the bundled demo recording, and the progressive load of a big
file (``Loader.preview`` shows its first iteration while the rest is read off the GUI thread).
"""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QComboBox, QFileDialog, QLabel, QToolBar, QToolButton

from rlm_desktop.trajectory.model import Trajectory

from .plain_tooltip import plain_tooltip
from .window_parts import WindowParts

RECENT_KEY = "files/recent"
RECENT_FOLLOW_KEY = "files/recent_follow"  # followed folders (and files), newest first
MAX_RECENT = 10
FILE_FILTER = "RLM trajectories (*.jsonl *.json *.log);;All files (*)"


class FilesMixin(WindowParts):
    """The window's files (see the module docstring); what it uses of the rest of the window
    is declared in ``WindowParts``."""

    previewing: str | None = None  # a big file shown by its first iteration while it loads

    def open_files(self, paths: list[str]) -> None:
        for p in paths:
            p = os.path.abspath(os.fspath(p))
            if not os.path.isfile(p):
                self.report_error(f"Cannot open {p}: no such file")
                continue
            self.status.showMessage(f"Opening {os.path.basename(p)}…")
            self.loader.load(p)

    def open_dialog(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open trajectories", "", FILE_FILTER)
        if paths:
            self.open_files(paths)

    def open_demo(self) -> None:
        from rlm_desktop.engine.demo import load_demo

        try:
            self.open_files([str(load_demo().trajectory_path)])
        except Exception as exc:
            self.report_error(f"Demo not available: {exc}")

    def _preview(self, path: str, traj: Trajectory) -> None:
        """A big file's first iteration, shown while the rest loads (``Loader``)."""
        self.previewing = path
        self.show_trajectory(traj, path)
        self.setWindowTitle(f"{os.path.basename(path)} (loading…) — RLM Desktop")
        self.status.showMessage(f"Loading {os.path.basename(path)}…")

    def _progress(self, path: str, fraction: float) -> None:
        self.status.showMessage(f"Loading {os.path.basename(path)}… {fraction:.0%}")

    def _make_load_cancel(self) -> None:
        """A "Cancel loading" button in the status bar while a file is being read."""
        button = QToolButton(self)
        button.setObjectName("status.cancelLoad")
        button.setText("Cancel loading")
        button.setAutoRaise(True)
        button.setToolTip("Stop reading the file(s) being opened")
        button.clicked.connect(self.loader.cancel)
        button.hide()
        self.status.add_leading_permanent(button)
        self.load_cancel = button
        self.loader.busy_changed.connect(button.setVisible)
        self.loader.cancelled.connect(self._load_cancelled)

    def _load_cancelled(self, path: str) -> None:
        """A cancelled read shows nothing of the file (a preview would look like the file)."""
        if self.previewing == path:
            self.previewing = None
            lazy = getattr(self.trajectory, "lazy", None)
            if lazy is not None:
                lazy.close()  # the preview's file handle
            last = next(reversed(self.documents), None)
            self.show_trajectory(self.documents[last] if last else None, last)
        self.status.showMessage(f"Stopped loading {os.path.basename(path)}", 5000)

    def _loaded(self, path: str, traj: Trajectory) -> None:
        io_errors = [b for b in traj.bad_lines if b.line_no == 0]
        for b in io_errors:
            self.report_error(f"Cannot open {path}: {b.message}")
        if io_errors and not traj.runs:
            return
        self.documents[path] = traj
        self.add_recent(path)
        if traj is self.trajectory and traj.lazy is not None:  # the previewed big file, now indexed
            self.previewing = None
            self.tree.refresh()  # its other runs and iterations (placeholders until looked at)
            self.timeline.refresh()
            self.problems.set_bad_lines(path, traj.bad_lines)
            self.update_totals()
            self.setWindowTitle(f"{os.path.basename(path)} — RLM Desktop")
            self.refresh_documents()
            self.status.showMessage(f"Opened {path}: {len(traj.runs)} run(s), {traj.line_count} line(s)", 5000)
            return
        keep = getattr(self.selection.node, "path", None) if self.previewing == path else None
        self.previewing = None
        self.show_trajectory(traj, path)
        if keep:
            node = traj.find(keep)
            if node is not None:  # the user's pick in the preview survives the full load
                self.selection.select(node)
        self.status.showMessage(f"Opened {path}: {len(traj.runs)} run(s), {traj.line_count} line(s)", 5000)
        self.status.set_isolation(traj.runs[0].metadata if traj.runs else None)

    def fill_recent(self) -> None:
        self.recent_menu.clear()
        recent = self.recent_files()
        follows = self.recent_follows()
        for p in recent:
            self.recent_menu.addAction(p, lambda p=p: self.open_files([p]))
        if recent and follows:
            self.recent_menu.addSeparator()
        for p in follows:
            self.recent_menu.addAction(f"Follow {p}", lambda p=p: self.follow(p))
        if recent or follows:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear Recent Files", self.clear_recent)
        self.recent_menu.setEnabled(bool(recent or follows))

    def clear_recent(self) -> None:
        QSettings().remove(RECENT_KEY)
        QSettings().remove(RECENT_FOLLOW_KEY)
        self.fill_recent()

    @staticmethod
    def _recent(key: str) -> list[str]:
        v = QSettings().value(key, [])
        return [str(x) for x in (v if isinstance(v, list) else [v] if v else [])]

    @staticmethod
    def recent_files() -> list[str]:
        return FilesMixin._recent(RECENT_KEY)

    @staticmethod
    def recent_follows() -> list[str]:
        return FilesMixin._recent(RECENT_FOLLOW_KEY)

    def add_recent(self, path: str) -> None:
        items = [path] + [p for p in self.recent_files() if p != path]
        QSettings().setValue(RECENT_KEY, items[:MAX_RECENT])

    def _add_recent_follow(self, path: str) -> None:
        items = [path] + [p for p in self.recent_follows() if p != path]
        QSettings().setValue(RECENT_FOLLOW_KEY, items[:MAX_RECENT])

    def dragEnterEvent(self, event: Any) -> None:  # noqa: N802
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: Any) -> None:  # noqa: N802
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_files(paths)

    # -- switching between what is open -------------------------------------------------------
    def _make_documents_toolbar(self) -> QToolBar:
        """A "Showing:" combo: every opened file, the live run, the followed file."""
        tb = QToolBar("Documents", self)
        tb.setObjectName("toolbar.documents")
        tb.addWidget(QLabel(" Showing: "))
        self.doc_combo = QComboBox(tb)
        self.doc_combo.setObjectName("documents")
        self.doc_combo.setMinimumContentsLength(28)
        self.doc_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.doc_combo.setToolTip("Switch between the opened files and the live run")
        self.doc_combo.activated.connect(self._document_chosen)
        tb.addWidget(self.doc_combo)
        return tb

    def document_entries(self) -> list[tuple[str, str, str]]:
        """(kind, path, label) for the combo: ("file", path, name), ("live", "", "Live run"),
        ("follow", path, "name (following)")."""
        out = [("file", p, os.path.basename(p)) for p in self.documents]
        if self.previewing and self.previewing not in self.documents:
            out.append(("file", self.previewing, f"{os.path.basename(self.previewing)} (loading…)"))
        session = getattr(self, "session", None)
        if session is not None and session.recorder is not None:
            out.append(("live", "", "Live run" + (" (running)" if session.running else "")))
        live_path = getattr(self, "live_path", None)
        if live_path:
            ctl = getattr(self, "follow_ctl", None)
            how = "deleted" if ctl is not None and ctl.is_deleted(live_path) else "following"
            out.append(("follow", live_path, f"{os.path.basename(live_path)} ({how})"))
        return out

    def refresh_documents(self) -> None:
        combo = getattr(self, "doc_combo", None)
        if combo is None:
            return
        entries = self.document_entries()
        session = getattr(self, "session", None)
        live_traj = session.recorder.trajectory if session is not None and session.recorder is not None else None
        current = -1
        combo.blockSignals(True)
        combo.clear()
        for i, (kind, path, label) in enumerate(entries):
            combo.addItem(label, (kind, path))
            combo.setItemData(i, plain_tooltip(path or label), Qt.ItemDataRole.ToolTipRole)  # a file name is log text
            shown = (kind == "live" and self.trajectory is live_traj and live_traj is not None) or (
                kind != "live" and path == self.path)
            if shown:
                current = i
        combo.setCurrentIndex(current)
        combo.setEnabled(bool(entries))
        combo.blockSignals(False)

    def _document_chosen(self, index: int) -> None:
        data = self.doc_combo.itemData(index)
        if not data:
            return
        kind, path = data
        if kind == "file" and path in self.documents:
            self.show_trajectory(self.documents[path], path)
        elif kind == "live" and self.session is not None and self.session.recorder is not None:
            self.show_trajectory(self.session.recorder.trajectory, None)
            self.setWindowTitle("Live run — RLM Desktop")
        elif kind == "follow":
            self.open_live_run(path)

