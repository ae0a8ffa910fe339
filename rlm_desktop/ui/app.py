"""``rlm-desktop`` GUI entry point: ``run_app(argv) -> exit code``."""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
from collections.abc import Sequence

from PySide6.QtCore import QCoreApplication, QEvent, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QWidget

from rlm_desktop.paths import resource_path

ORG = "rlm-desktop"
APP = "RLM Desktop"
ICON = str(resource_path("icons", "rlm-desktop.png"))  # from source and in a frozen build


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="rlm-desktop", description="Debugger for Recursive Language Model runs")
    p.add_argument("files", nargs="*", metavar="FILE", help="trajectory files (JSONL) to open")
    p.add_argument("--follow", metavar="PATH", help="follow a folder (or one file) of logs as they grow")
    p.add_argument("--demo", action="store_true", help="start the bundled demo run under the debugger")
    p.add_argument("--smoke", action="store_true", help="run the start-up self-check and exit")
    p.add_argument("--reset-layout", action="store_true", help="forget the saved window layout")
    return p.parse_args(list(argv))


def make_app(argv: Sequence[str] = ()) -> QApplication:
    from . import refcount_guard

    refcount_guard.install()  # before the first Qt calls (PySide6 6.12.0 on Python 3.11)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "rlm-desktop", *argv])
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    app.setApplicationDisplayName(APP)
    from rlm_desktop import __version__
    from rlm_desktop.ui.bridge import share_the_gil

    share_the_gil()  # worker threads (loader, follower, totals) must not starve the GUI thread

    app.setApplicationVersion(__version__)
    if os.path.isfile(ICON):
        app.setWindowIcon(QIcon(ICON))
    from . import theme

    theme.apply_theme()
    theme.follow_system(app)
    return app


def run_app(argv: Sequence[str]) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as exc:  # --help / bad arguments
        return int(exc.code or 0)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = make_app()
    from .layout import LayoutKeeper
    from .main_window import MainWindow

    if args.reset_layout:
        LayoutKeeper.forget()
    window = MainWindow()
    window.install_error_hook()  # uncaught exceptions are also shown in Problems
    window.show()
    if args.smoke:
        if importlib.util.find_spec("rlm_desktop.ui.smoke") is None:
            print("smoke: rlm_desktop.ui.smoke is not available", file=sys.stderr)
            window.shutdown()
            return 2
        from .smoke import run_smoke

        rc = run_smoke(window)
        dispose(window)
        return int(rc or 0)
    if args.files:
        window.open_files(args.files)
    if args.follow:
        window.follow(args.follow)
    if args.demo:
        QTimer.singleShot(0, window.run_demo)
    elif not args.files and not args.follow and first_start():
        window.open_demo()  # a first start shows something to look at, without any key
    rc = app.exec()
    dispose(window)
    return rc


def dispose(window: QWidget) -> None:
    """Close ``window`` and delete it while Python is fully alive: an event still queued for
    it at exit (a plot's layout request, say) would be delivered during the interpreter's
    teardown, into Python objects half gone (a crash in shiboken, seen when a check failed
    right after a file was opened)."""
    if window.isVisible():
        window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, 0)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)


def first_start() -> bool:
    from PySide6.QtCore import QSettings

    s = QSettings()
    if s.value("app/started", False, type=bool):
        return False
    s.setValue("app/started", True)
    return True
