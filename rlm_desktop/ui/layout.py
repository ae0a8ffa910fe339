"""Saving and restoring the dock layout (QSettings), with a version tag and a safe fallback.

The default layout is captured right after the docks are built. A saved state from another
layout version, or one that Qt cannot read, is ignored and the default is used instead
(like Spyder's versioned layouts), so a stale file never leaves the window empty.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow

LAYOUT_VERSION = 3
STATE_KEY = "layout/state"
GEOMETRY_KEY = "layout/geometry"
VERSION_KEY = "layout/version"


class LayoutKeeper:
    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.default_state: QByteArray = window.saveState(LAYOUT_VERSION)

    def save(self) -> None:
        s = QSettings()
        s.setValue(STATE_KEY, self.window.saveState(LAYOUT_VERSION))
        s.setValue(GEOMETRY_KEY, self.window.saveGeometry())
        s.setValue(VERSION_KEY, LAYOUT_VERSION)

    def restore(self) -> bool:
        """Restore the saved layout; False (and the default layout) when missing or stale."""
        s = QSettings()
        geometry = s.value(GEOMETRY_KEY)
        if isinstance(geometry, QByteArray | bytes) and geometry:
            self.window.restoreGeometry(QByteArray(geometry))
        state = s.value(STATE_KEY)
        version = s.value(VERSION_KEY)
        try:
            version = int(version) if version is not None else None
        except (TypeError, ValueError):
            version = None
        ok = (
            version == LAYOUT_VERSION
            and isinstance(state, QByteArray | bytes)
            and bool(state)
            and self.window.restoreState(QByteArray(state), LAYOUT_VERSION)
        )
        if not ok:
            self.reset()
        return bool(ok)

    def reset(self) -> None:
        self.window.restoreState(self.default_state, LAYOUT_VERSION)

    @staticmethod
    def forget() -> None:
        s = QSettings()
        for k in (STATE_KEY, GEOMETRY_KEY, VERSION_KEY):
            s.remove(k)


def hide_stray_tab_bars(window: QMainWindow) -> int:
    """Qt 6.11 leaves a second, stale QTabBar when a window has two tabbed dock groups; it is
    drawn over the docks. A real dock tab bar sits right against its docks (same left edge
    and width as the visible dock of its current tab); hide the ones that don't."""
    from PySide6.QtWidgets import QDockWidget, QTabBar

    docks = {d.windowTitle(): d for d in window.findChildren(QDockWidget)}
    hidden = 0
    for bar in window.findChildren(QTabBar):
        if bar.parent() is not window or bar.isHidden() or bar.count() == 0:
            continue
        dock = docks.get(bar.tabText(bar.currentIndex()))
        if dock is None or dock.isFloating():
            continue
        g, b = dock.geometry(), bar.geometry()
        if abs(g.left() - b.left()) > 2 or abs(g.width() - b.width()) > 2:
            bar.hide()
            hidden += 1
    return hidden
