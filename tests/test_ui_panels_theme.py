"""Light/dark: panels restyle themselves when the palette turns dark (system theme switch)."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette, QTextCursor
from test_ui_panels_data import sample_trajectory

from rlm_desktop.ui.panels.code_view import CodeView
from rlm_desktop.ui.panels.common import is_dark
from rlm_desktop.ui.panels.messages import MessagesPanel
from rlm_desktop.ui.panels.metrics import MetricsPanel
from rlm_desktop.ui.panels.output import OutputPanel


def dark_palette() -> QPalette:
    pal = QPalette()
    for role, c in [
        (QPalette.ColorRole.Window, "#2b2b2b"),
        (QPalette.ColorRole.WindowText, "#dddddd"),
        (QPalette.ColorRole.Base, "#1e1e1e"),
        (QPalette.ColorRole.AlternateBase, "#262626"),
        (QPalette.ColorRole.Text, "#dddddd"),
        (QPalette.ColorRole.Button, "#333333"),
        (QPalette.ColorRole.ButtonText, "#dddddd"),
    ]:
        pal.setColor(role, QColor(c))
    return pal


def _show(qtbot, w):
    qtbot.addWidget(w)
    w.resize(500, 400)
    w.show()
    return w


def test_code_view_switches_highlighting(qtbot):
    run = sample_trajectory().runs[0]
    v = _show(qtbot, CodeView())
    v.show_node(run.iterations[0])
    assert not v.editor.highlighter.dark
    light_string = v.editor.highlighter.format_for("string").foreground().color().name()
    v.setPalette(dark_palette())
    assert is_dark(v.editor)
    assert v.editor.highlighter.dark
    assert v.editor.highlighter.format_for("string").foreground().color().name() != light_string


def test_output_stderr_colour_follows_theme(qtbot):
    run = sample_trajectory().runs[0]
    p = _show(qtbot, OutputPanel())
    p.show_node(run.iterations[0].code_blocks[0])
    pos = p.text().index("ZeroDivision") + 1

    def err_colour():
        cur = QTextCursor(p.view.edit.document())
        cur.setPosition(pos)
        return cur.charFormat().foreground().color().name()

    light = err_colour()
    p.setPalette(dark_palette())
    dark = err_colour()
    assert light != dark and QColor(dark).lightness() > QColor(light).lightness()


def test_message_cards_and_metrics_follow_theme(qtbot):
    run = sample_trajectory().runs[0]
    m = _show(qtbot, MessagesPanel())
    m.show_node(run.iterations[0])
    assert not any(c.dark for c in m.cards)
    m.setPalette(dark_palette())
    assert all(c.dark for c in m.cards)
    assert m.cards[0].background.name() == "#262a30"
    assert m.cards[0].body.palette().color(m.cards[0].body.foregroundRole()).lightness() > 180
    mp = _show(qtbot, MetricsPanel())
    mp.show_run(run)
    mp.setPalette(dark_palette())
    assert mp.iter_view.backgroundBrush().color().lightness() < 80
