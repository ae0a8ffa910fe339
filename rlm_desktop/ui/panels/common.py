"""Small pieces shared by the panels: safe text, formatting, a capped plain-text view."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette, QTextCharFormat, QTextCursor, QTextOption
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from rlm_desktop.trajectory.lazy import PLACEHOLDER_KEY
from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, SubCall
from rlm_desktop.trajectory.names import iteration_no
from rlm_desktop.trajectory.reader import sanitize_str
from rlm_desktop.ui import invisible

#: Characters put into a text widget at once; more is behind a "Show all" action.
DEFAULT_CAP = 200_000
#: In the capped preview, lines longer than this are cut (Qt lays out a whole line at once).
LINE_CAP = 5_000
#: "Show all" puts texts up to this size into the widget at once; longer ones grow by
#: "Show more" steps (a 300 MB line in a QPlainTextEdit would hold the GUI for minutes).
SHOW_ALL_LIMIT = 4_000_000
#: Each "Show more" multiplies the characters shown by this.
MORE_FACTOR = 4


def plain(value: Any) -> str:
    """Any value from a log -> a string Qt can hold (no lone surrogates, NUL made visible)."""
    s = value if isinstance(value, str) else ("" if value is None else str(value))
    s = sanitize_str(s)
    if "\x00" in s:
        s = s.replace("\x00", "\u2400")
    return s


def one_line(value: Any, limit: int = 200) -> str:
    """A single-line preview: newlines/tabs escaped, cut to ``limit`` chars (the value is cut
    before anything else looks at it, so a 300 MB string costs what the preview shows)."""
    if isinstance(value, str) and len(value) > limit * 4:
        value = value[: limit * 4]
    s = plain(value)
    if len(s) > limit * 4:
        s = s[: limit * 4]
    s = s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return s if len(s) <= limit else s[: limit - 1] + "…"


def plain_label(text: str = "", parent: QWidget | None = None, *, wrap: bool = False) -> QLabel:
    """A QLabel that never interprets its text as rich text. One that does not wrap elides
    instead of widening its panel (``ui.elided_label``)."""
    from rlm_desktop.ui.elided_label import ElidedLabel

    label = QLabel(parent) if wrap else ElidedLabel("", parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setText(plain(text))
    return label


def monospace_font() -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setStyleHint(QFont.StyleHint.Monospace)
    return font


def is_dark(widget: QWidget | None = None) -> bool:
    pal = widget.palette() if widget is not None else QPalette()
    text = pal.color(QPalette.ColorRole.WindowText).lightness()
    return text > pal.color(QPalette.ColorRole.Window).lightness() and text > 128


def role_color(role: str, dark: bool) -> QColor:
    """Colours with meaning, readable on light and dark backgrounds."""
    table = {
        "error": ("#c62828", "#ff8a80"),
        "ok": ("#2e7d32", "#9ccc65"),
        "warn": ("#b26a00", "#ffcc80"),
        "muted": ("#6b6b6b", "#9e9e9e"),
        "accent": ("#1565c0", "#82b1ff"),
    }
    light, darkc = table.get(role, ("#000000", "#ffffff"))
    return QColor(darkc if dark else light)


def fmt_seconds(t: float | None) -> str:
    if t is None or not isinstance(t, (int, float)) or not math.isfinite(t):
        return "–"
    if t < 1:
        return f"{t * 1000:.0f} ms"
    if t < 120:
        return f"{t:.2f} s"
    return f"{int(t // 60)} min {t % 60:.0f} s"


def fmt_int(n: int) -> str:
    return f"{n:,}"


def fmt_cost(c: float | None) -> str:
    if c is None:
        return "–"
    return f"${c:.4f}" if c < 1 else f"${c:.2f}"


def node_run(node: Any) -> Run | None:
    """The run a node belongs to (a sub-call belongs to the run that made it)."""
    if isinstance(node, Run):
        return node
    if isinstance(node, (Iteration, CodeBlock, SubCall)):
        return node.run
    return None


def is_loading(node: Any) -> bool:
    """An iteration of a big file not parsed yet (a lazy placeholder): show ``loading_note``."""
    it = node_iteration(node) if not isinstance(node, Run) else None
    return it is not None and bool(it.extra.get(PLACEHOLDER_KEY))


def loading_note(it: Iteration) -> str:
    """What a panel says for a lazy placeholder: loading, or, when its line could not be
    read, why (with the line number), instead of "loading" for ever."""
    error = it.extra.get("error")
    return f"Iteration {iteration_no(it)}: {error}" if error else f"Iteration {iteration_no(it)}: loading…"


def node_iteration(node: Any) -> Iteration | None:
    if isinstance(node, Iteration):
        return node
    if isinstance(node, CodeBlock):
        return node.parent
    if isinstance(node, SubCall):
        return node.parent.parent if node.parent else None
    if isinstance(node, Run):
        return node.iterations[-1] if node.iterations else None
    return None


def cap_text(text: str, cap: int, line_cap: int = LINE_CAP) -> tuple[str, bool]:
    """Cut ``text`` to ``cap`` chars and each line to ``line_cap``; returns (text, was_cut)."""
    cut = False
    if len(text) > cap:
        text = text[:cap]
        cut = True
    if len(text) > line_cap and any(len(ln) > line_cap for ln in text.split("\n")):
        lines = []
        for ln in text.split("\n"):
            if len(ln) > line_cap:
                ln = ln[:line_cap] + f" … [{len(ln) - line_cap:,} more chars on this line]"
                cut = True
            lines.append(ln)
        text = "\n".join(lines)
    return text, cut


def _has_long_line(text: str, limit: int = LINE_CAP) -> bool:
    start = 0
    n = len(text)
    while start < n:
        end = text.find("\n", start)
        if end < 0:
            end = n
        if end - start > limit:
            return True
        start = end + 1
    return False


class CappedTextView(QWidget):
    """Read-only plain text made of styled segments, capped with "Show all" / "Show more".

    Segments are ``(text, style)`` with style one of ``"normal"``, ``"stderr"``,
    ``"answer"``, ``"header"``. The texts are kept as given and cut to what is shown before
    anything else looks at them, so a 300 MB segment costs what is on screen; "Show all"
    loads the rest when it is at most ``SHOW_ALL_LIMIT`` characters, otherwise "Show more"
    shows ``MORE_FACTOR`` times as much per click. Invisible characters (bidi controls,
    zero-width and other format/control characters) are shown as ``⟨U+XXXX⟩`` markers in
    their own colour. Text is inserted with ``insertText`` (never parsed as HTML).
    ``refresh``-friendly: ``set_segments`` keeps the scroll position (and follows the end
    if the view was at the end).
    """

    showAllChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None, *, cap: int = DEFAULT_CAP, wrap: bool = True) -> None:
        super().__init__(parent)
        self.cap = cap
        self._segments: list[tuple[str, str]] = []
        self._show_all = False
        self._budget = cap
        self.total_chars = 0
        self.shown_chars = 0
        self.truncated = False
        self.invisible_count = 0
        self._wrap = wrap

        self.edit = QPlainTextEdit(self)
        self.edit.setReadOnly(True)
        self.edit.setUndoRedoEnabled(False)
        self.edit.setFont(monospace_font())
        self.edit.setWordWrapMode(
            QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere if wrap else QTextOption.WrapMode.NoWrap
        )
        self.edit.setLineWrapMode(
            QPlainTextEdit.LineWrapMode.WidgetWidth if wrap else QPlainTextEdit.LineWrapMode.NoWrap
        )
        self.bar = QWidget(self)
        self.bar_label = plain_label("", self.bar)
        self.show_all_button = QPushButton("Show all", self.bar)
        self.show_all_button.clicked.connect(self.show_all)
        bl = QHBoxLayout(self.bar)
        bl.setContentsMargins(4, 2, 4, 2)
        bl.addWidget(self.bar_label, 1)
        bl.addWidget(self.show_all_button)
        self.bar.hide()

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.edit, 1)
        lay.addWidget(self.bar)

    # -- API --------------------------------------------------------------------

    def text(self) -> str:
        return self.edit.toPlainText()

    def set_text(self, text: str, *, keep_scroll: bool = False) -> None:
        self.set_segments([(text, "normal")] if text else [], keep_scroll=keep_scroll)

    def set_segments(self, segments: list[tuple[str, str]], *, keep_scroll: bool = False) -> None:
        segments = [(t if isinstance(t, str) else plain(t), s) for t, s in segments]
        changed = segments != self._segments  # equal strings are mostly the same objects: cheap
        if not changed and keep_scroll:
            return
        if not keep_scroll:
            self._show_all = False
            self._budget = self.cap
        self._segments = segments
        self._render(keep_scroll)

    def show_all(self) -> None:
        """Everything, when it is at most ``SHOW_ALL_LIMIT`` characters; else ``show_more``."""
        if self._show_all:
            return
        if self.total_chars > SHOW_ALL_LIMIT:
            self.show_more()
            return
        self._show_all = True
        self._render(True)
        self.showAllChanged.emit(True)

    def show_more(self) -> None:
        """``MORE_FACTOR`` times as many characters as now (at most ``SHOW_ALL_LIMIT`` more)."""
        if self._show_all or not self.truncated:
            return
        self._budget = min(self._budget * MORE_FACTOR, self._budget + SHOW_ALL_LIMIT)
        self._render(True)

    @property
    def showing_all(self) -> bool:
        return self._show_all or not self.truncated

    def changeEvent(self, event: Any) -> None:  # noqa: N802
        # light/dark switch: the segment colours are picked per palette
        if event.type() == event.Type.PaletteChange and hasattr(self, "edit") and self._segments:
            if self.invisible_count or any(style != "normal" for _t, style in self._segments):
                self._render(True)
        super().changeEvent(event)

    # -- internals ----------------------------------------------------------------

    def _formats(self) -> dict[str, QTextCharFormat]:
        dark = is_dark(self)
        fmts: dict[str, QTextCharFormat] = {}
        normal = QTextCharFormat()
        fmts["normal"] = normal
        err = QTextCharFormat()
        err.setForeground(role_color("error", dark))
        fmts["stderr"] = err
        ans = QTextCharFormat()
        ans.setForeground(role_color("ok", dark))
        ans.setFontWeight(QFont.Weight.Bold)
        fmts["answer"] = ans
        head = QTextCharFormat()
        head.setForeground(role_color("muted", dark))
        head.setFontItalic(True)
        fmts["header"] = head
        fmts["invisible"] = invisible_format(dark)
        return fmts

    def _render(self, keep_scroll: bool) -> None:
        vbar = self.edit.verticalScrollBar()
        hbar = self.edit.horizontalScrollBar()
        at_end = vbar.value() >= vbar.maximum() and vbar.maximum() > 0
        old_v, old_h = vbar.value(), hbar.value()

        self.total_chars = sum(len(t) for t, _ in self._segments)
        budget = None if self._show_all else self._budget
        pieces: list[tuple[str, str]] = []
        truncated = False
        shown = 0
        for text, style in self._segments:
            if budget is not None:
                if budget <= 0:
                    truncated = True
                    break
                # cut first: O(budget), not O(len(text)); lines may grow as "Show more" does
                text, cut = cap_text(text, budget, LINE_CAP * max(1, self._budget // max(self.cap, 1)))
                truncated = truncated or cut
                budget -= len(text)
            shown += len(text)
            pieces.append((plain(text), style))
        self.truncated = truncated
        self.shown_chars = shown
        pieces, self.invisible_count = _reveal_pieces(pieces)

        # Word-boundary wrapping is quadratic on long lines without spaces: wrap
        # anywhere when a shown line is long.
        if self._wrap:
            long_line = any(len(t) > LINE_CAP and _has_long_line(t) for t, _ in pieces)
            self.edit.setWordWrapMode(
                QTextOption.WrapMode.WrapAnywhere
                if long_line
                else QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere
            )
        self.edit.setUpdatesEnabled(False)
        try:
            if len(pieces) == 1 and pieces[0][1] == "normal":
                self.edit.setPlainText(pieces[0][0])
            else:
                self.edit.clear()
                fmts = self._formats()
                cursor = QTextCursor(self.edit.document())
                cursor.beginEditBlock()
                for text, style in pieces:
                    cursor.insertText(text, fmts.get(style, fmts["normal"]))
                cursor.endEditBlock()
        finally:
            self.edit.setUpdatesEnabled(True)

        if truncated:
            self.bar_label.setText(
                f"Long text: showing {self.shown_chars:,} of {self.total_chars:,} characters "
                "(long lines cut)."
            )
            self.show_all_button.setText("Show all" if self.total_chars <= SHOW_ALL_LIMIT else "Show more")
            self.bar.show()
        else:
            self.bar.hide()

        if keep_scroll:
            if at_end:
                vbar.setValue(vbar.maximum())
            else:
                vbar.setValue(min(old_v, vbar.maximum()))
            hbar.setValue(min(old_h, hbar.maximum()))
        else:
            vbar.setValue(0)
            hbar.setValue(0)


def invisible_format(dark: bool) -> QTextCharFormat:
    """How an ``⟨U+XXXX⟩`` marker of an invisible character looks: warning colour on a tint."""
    fmt = QTextCharFormat()
    fmt.setForeground(role_color("warn", dark))
    fmt.setBackground(QColor("#4a3b00" if dark else "#fff3c4"))
    fmt.setFontItalic(True)
    return fmt


def _reveal_pieces(pieces: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], int]:
    """Split every piece around its invisible characters' markers (style ``"invisible"``)."""
    out: list[tuple[str, str]] = []
    count = 0
    for text, style in pieces:
        shown, spans = invisible.reveal(text)
        if not spans:
            out.append((text, style))
            continue
        count += len(spans)
        pos = 0
        for start, length in spans:
            if start > pos:
                out.append((shown[pos:start], style))
            out.append((shown[start : start + length], "invisible"))
            pos = start + length
        if pos < len(shown):
            out.append((shown[pos:], style))
    return out, count
