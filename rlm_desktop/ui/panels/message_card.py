"""One message of the messages panel: a role-coloured card with an elided body."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import QFrame, QHBoxLayout, QToolButton, QVBoxLayout, QWidget

from rlm_desktop.ui.bounded_text import pretty
from rlm_desktop.ui.invisible import reveal_text

from .common import CappedTextView, is_dark, one_line, plain, plain_label, role_color

PREVIEW_LINES = 8
PREVIEW_CHARS = 600
#: Expanded texts up to this size go into a label; longer ones into a capped text view.
LABEL_LIMIT = 20_000

_ROLE_COLOURS = {
    # role: (light, dark)
    "system": ("#8e7cc3", "#b4a7d6"),
    "user": ("#1e88e5", "#64b5f6"),
    "assistant": ("#43a047", "#81c784"),
    "response": ("#2e7d32", "#a5d6a7"),
    "original": ("#9e9e9e", "#bdbdbd"),
    "error": ("#e53935", "#ef9a9a"),
    "final": ("#00897b", "#80cbc4"),
}


class Item:
    """One card's content (compared by value so live refreshes only add new cards)."""

    __slots__ = ("role", "title", "text", "note")

    def __init__(self, role: str, text: str, title: str | None = None, note: str = "") -> None:
        self.role = role
        self.text = text
        self.title = title or role
        self.note = note

    def key(self) -> tuple[str, str, str, str]:
        return (self.role, self.title, self.note, self.text)


#: A message text longer than this is kept as logged; the card cleans only what it shows.
PLAIN_LIMIT = 1_000_000
#: A structured message content (a list or dict) is shown as JSON text up to this size.
CONTENT_CAP = 200_000


def message_text(value: Any) -> str:
    """A message's text for a card, without work proportional to a huge value: strings up to
    ``PLAIN_LIMIT`` are made safe for Qt here, longer ones where they are shown; other values
    become indented JSON of at most ``CONTENT_CAP`` characters (any depth, any size)."""
    if isinstance(value, str):
        return plain(value) if len(value) <= PLAIN_LIMIT else value
    if value is None:
        return ""
    return content_text(value)


def content_text(content: Any) -> str:
    if isinstance(content, str):
        return message_text(content)
    text, cut = pretty(content, CONTENT_CAP)
    if cut:
        text += "\n… [cut: the value is longer]"
    return plain(text)


def messages_to_items(prompt: Any) -> list[Item]:
    """A prompt as logged: a list of {role, content}, a plain string, or a dict."""
    if isinstance(prompt, str):
        return [Item("user", message_text(prompt), "prompt")]
    if isinstance(prompt, dict) and "role" not in prompt:
        return [Item("user", content_text(prompt), "prompt (object)")]
    if isinstance(prompt, dict):
        prompt = [prompt]
    items = []
    if isinstance(prompt, list):
        for m in prompt:
            if isinstance(m, dict):
                role = one_line(m.get("role") or "?", 60)
                items.append(Item(role, content_text(m.get("content", ""))))
            else:
                items.append(Item("?", content_text(m)))
    elif prompt is not None:
        items.append(Item("?", content_text(prompt)))
    return items


def _preview(text: str) -> tuple[str, bool]:
    head = text[: PREVIEW_CHARS * 2]
    lines = head.split("\n")
    cut = len(text) > PREVIEW_CHARS or len(lines) > PREVIEW_LINES
    if not cut:
        return reveal_text(plain(text)), False
    short = "\n".join(lines[:PREVIEW_LINES])[:PREVIEW_CHARS]
    return reveal_text(plain(short.rstrip())) + " …", True


class MessageCard(QFrame):
    """A message: role title, size, Expand/Collapse, body (plain text only)."""

    def __init__(self, item: Item, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.item = item
        self.expanded = False
        self.setObjectName("messageCard")
        self.setContentsMargins(0, 0, 0, 0)
        self.title = plain_label(item.title.upper() if item.title == item.role else item.title, self)
        f = self.title.font()
        f.setBold(True)
        self.title.setFont(f)
        self.size_label = plain_label(f"{len(item.text):,} chars", self)
        self.note_label = plain_label(item.note, self)
        self.note_label.setVisible(bool(item.note))
        nf = self.note_label.font()
        nf.setBold(True)
        self.note_label.setFont(nf)
        self.toggle = QToolButton(self)
        self.toggle.setAutoRaise(True)
        self.toggle.clicked.connect(lambda: self.set_expanded(not self.expanded))

        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.setSpacing(8)
        head.addWidget(self.title)
        head.addWidget(self.note_label)
        head.addStretch(1)
        head.addWidget(self.size_label)
        head.addWidget(self.toggle)

        self.body = plain_label("", self, wrap=True)
        self.body.setSizePolicy(self.body.sizePolicy().horizontalPolicy(), self.body.sizePolicy().verticalPolicy())
        self.body.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.big: CappedTextView | None = None

        self.lay = QVBoxLayout(self)
        self.lay.setContentsMargins(10, 4, 6, 6)
        self.lay.setSpacing(2)
        self.lay.addLayout(head)
        self.lay.addWidget(self.body)
        self._preview, self.elided = _preview(item.text)
        self.apply_style(is_dark(parent) if parent is not None else False)
        self.set_expanded(False)

    def apply_style(self, dark: bool) -> None:
        """Colours by role; painted/palette-based (style sheets per card are slow)."""
        self.dark = dark
        light_c, dark_c = _ROLE_COLOURS.get(self.item.role, ("#fb8c00", "#ffb74d"))
        self.colour = QColor(dark_c if dark else light_c)
        self.background = QColor("#262a30" if dark else "#fafbfc")
        for label, colour in (
            (self.title, self.colour),
            (self.size_label, role_color("muted", dark)),
            (self.note_label, role_color("warn", dark)),
        ):
            pal = label.palette()
            pal.setColor(QPalette.ColorRole.WindowText, colour)
            label.setPalette(pal)
        pal = self.body.palette()
        pal.setColor(QPalette.ColorRole.WindowText, QColor("#dddddd" if dark else "#1f1f1f"))
        self.body.setPalette(pal)
        self.update()

    def paintEvent(self, event: Any) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.background)
        painter.drawRoundedRect(self.rect(), 3, 3)
        painter.setBrush(self.colour)
        painter.drawRoundedRect(0, 0, 4, self.height(), 1.5, 1.5)
        painter.end()

    def set_expanded(self, expanded: bool) -> None:
        self.expanded = expanded and self.elided
        self.toggle.setVisible(self.elided)
        self.toggle.setText("Collapse" if self.expanded else "Expand")
        if not self.expanded:
            if self.big is not None:
                self.big.hide()
            self.body.setText(self._preview)
            self.body.show()
            return
        if len(self.item.text) <= LABEL_LIMIT:
            self.body.setText(reveal_text(plain(self.item.text)))
            return
        if self.big is None:
            self.big = CappedTextView(self)
            self.big.setMinimumHeight(360)
            self.lay.addWidget(self.big)
            self.big.set_text(self.item.text)
        self.body.hide()
        self.big.show()

    def shown_text(self) -> str:
        if self.big is not None and self.big.isVisible():
            return self.big.text()
        return self.body.text()
