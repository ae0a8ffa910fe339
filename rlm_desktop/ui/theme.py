"""Light and dark themes: follow the system colour scheme, or a manual override.

The choice ("system", "light", "dark") is stored in QSettings under ``ui/theme``. Qt's
Fusion style with the platform colour scheme gives both palettes; panels that paint their
own colours listen for ``QEvent.PaletteChange``.
"""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

CHOICES = ("system", "light", "dark")
KEY = "ui/theme"


def saved_choice() -> str:
    v = QSettings().value(KEY, "system")
    return v if v in CHOICES else "system"


def is_dark() -> bool:
    app = QGuiApplication.instance()
    if app is None:
        return False
    scheme = app.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Dark:
        return True
    if scheme == Qt.ColorScheme.Light:
        return False
    return app.palette().color(QPalette.ColorRole.Window).lightness() < 128


def _dark_palette() -> QPalette:
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#2b2d30",
        QPalette.ColorRole.WindowText: "#dfe1e5",
        QPalette.ColorRole.Base: "#1e1f22",
        QPalette.ColorRole.AlternateBase: "#313438",
        QPalette.ColorRole.Text: "#dfe1e5",
        QPalette.ColorRole.Button: "#393b40",
        QPalette.ColorRole.ButtonText: "#dfe1e5",
        QPalette.ColorRole.Highlight: "#2f65ca",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#393b40",
        QPalette.ColorRole.ToolTipText: "#dfe1e5",
        QPalette.ColorRole.PlaceholderText: "#868a91",
        QPalette.ColorRole.Link: "#6aa7ff",
    }
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6f737a"))
    return p


def apply_theme(choice: str | None = None) -> str:
    """Apply ``choice`` (default: the saved one); returns the effective "light"/"dark"."""
    app = QApplication.instance()
    if app is None:
        return "light"
    choice = choice if choice in CHOICES else saved_choice()
    QApplication.setStyle("Fusion")
    hints = app.styleHints()
    scheme = {"light": Qt.ColorScheme.Light, "dark": Qt.ColorScheme.Dark}.get(choice, Qt.ColorScheme.Unknown)
    if hasattr(hints, "setColorScheme"):
        hints.setColorScheme(scheme)
    dark = choice == "dark" or (choice == "system" and hints.colorScheme() == Qt.ColorScheme.Dark)
    app.setPalette(_dark_palette() if dark else QApplication.style().standardPalette())
    return "dark" if dark else "light"


def set_choice(choice: str) -> str:
    if choice not in CHOICES:
        raise ValueError(choice)
    QSettings().setValue(KEY, choice)
    return apply_theme(choice)


def follow_system(app: QApplication) -> None:
    """Re-apply when the system scheme changes and the user chose "system"."""
    app.styleHints().colorSchemeChanged.connect(lambda _s: apply_theme() if saved_choice() == "system" else None)
