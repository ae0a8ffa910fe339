"""Messages panel: the prompt history the LM saw and its response.

One card per message (role-coloured: system / user / assistant / other),
long texts elided with an Expand control. For a sub-call: its prompt (a
string, a message list or a dict) and its response. An iteration edited in
the debugger shows an "edited" marker and the original response. Only the
last ``max_cards`` messages are built at first; earlier ones are behind a
button, so a 600-message history opens instantly.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QScrollArea, QVBoxLayout, QWidget

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, SubCall
from rlm_desktop.trajectory.names import call_kind, iteration_no, title

from .common import is_dark, is_loading, loading_note, plain_label
from .message_card import Item, MessageCard, message_text, messages_to_items
from .response_editor import ResponseEditDialog

__all__ = ["Item", "MessageCard", "MessagesPanel", "messages_to_items"]

class MessagesPanel(QWidget):
    """Dock panel: the prompt history and the response of an iteration or a sub-call.

    Edit-and-continue: ``set_editable_iteration(it)`` while the debugger is paused
    at ``it``'s LM response shows an "Edit response…" button; an accepted edit
    emits ``responseEdited(iteration, text)`` (the shell passes the text to
    ``DebugController.edit_response``).
    """

    responseEdited = Signal(object, str)

    def __init__(self, parent: QWidget | None = None, *, max_cards: int = 30) -> None:
        super().__init__(parent)
        self.setObjectName("messagesPanel")
        self.max_cards = max_cards
        self._node: Any = None
        self._editable: Iteration | None = None
        self._paused: tuple[Any, str] | None = None  # (node, event kind) where the run is held
        self._items: list[Item] = []
        self._first = 0  # index of the first item with a card
        self.cards: list[MessageCard] = []

        self.header = plain_label("", self)
        self.header.setContentsMargins(4, 2, 4, 2)
        self.earlier = QPushButton(self)
        self.earlier.clicked.connect(self.show_earlier)
        self.container = QWidget()
        self.vbox = QVBoxLayout(self.container)
        self.vbox.setContentsMargins(6, 6, 6, 6)
        self.vbox.setSpacing(6)
        self.vbox.addWidget(self.earlier)
        self.vbox.addStretch(1)
        self.scroll_area = QScrollArea(self)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll_area.setWidget(self.container)
        # After show_node the view sticks to the end while the cards lay out (word-wrapped
        # labels change height late), until the user scrolls.
        self._stick_to_end = False
        bar = self.scroll_area.verticalScrollBar()
        bar.rangeChanged.connect(self._on_range)
        bar.actionTriggered.connect(self._on_user_scroll)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.edit_button = QPushButton("Edit response…", self)
        self.edit_button.setToolTip("Paused after the model answered: change the response before its code runs")
        self.edit_button.clicked.connect(self.edit_response)
        self.edit_button.hide()
        head_row = QHBoxLayout()
        head_row.setContentsMargins(0, 0, 4, 0)
        head_row.addWidget(self.header, 1)
        head_row.addWidget(self.edit_button)
        lay.addLayout(head_row)
        lay.addWidget(self.scroll_area, 1)
        self.show_node(None)

    # -- API ----------------------------------------------------------------------

    def show_node(self, node: Run | Iteration | CodeBlock | SubCall | None) -> None:
        self._node = node
        self._update(reset=True)
        self._update_edit_button()

    def set_editable_iteration(self, it: Iteration | None) -> None:
        """The debugger is paused at ``it``'s LM response (edit-and-continue), or None."""
        self._editable = it
        self._update_edit_button()

    def edit_response(self) -> str | None:
        """Open the editor for the paused response; emits ``responseEdited`` when changed."""
        it = self._editable
        if it is None:
            return None
        dlg = ResponseEditDialog(it.response, self)
        if dlg.exec() != ResponseEditDialog.DialogCode.Accepted or dlg.text() == dlg.original:
            return None
        self.responseEdited.emit(it, dlg.text())
        return dlg.text()

    def _update_edit_button(self) -> None:
        it = self._editable
        shown = self._node
        if isinstance(shown, CodeBlock):
            shown = shown.parent
        self.edit_button.setVisible(it is not None and shown is it)

    def refresh(self) -> None:
        self._update(reset=False)

    def items(self) -> list[Item]:
        """Everything the node has (cards exist for ``items()[first_shown:]``)."""
        return list(self._items)

    @property
    def first_shown(self) -> int:
        return self._first

    def show_earlier(self) -> None:
        """Build cards for every earlier message (kept scroll position)."""
        if self._first == 0:
            return
        bar = self.scroll_area.verticalScrollBar()
        self._stick_to_end = False
        from_bottom = bar.maximum() - bar.value()
        new = [MessageCard(it, self.container) for it in self._items[: self._first]]
        for i, card in enumerate(new):
            self.vbox.insertWidget(1 + i, card)
            card.show()
        self.cards = new + self.cards
        self._first = 0
        self._update_earlier()
        self.container.adjustSize()
        bar.setValue(bar.maximum() - from_bottom)

    def set_paused_at(self, node: Any, kind: str | None) -> None:
        """Where the debugger holds the live run (None: running or finished)."""
        self._paused = (node, kind or "") if node is not None else None
        self.refresh()

    def _pending_text(self, it: Iteration) -> str:
        """A live turn without a response: "waiting" only once the request has gone out
        (the recorder fills the prompt at the LM request; a pause there is before sending)."""
        paused = self._paused
        if paused is not None and paused[0] is it and paused[1] == "LMRequest":
            return "(paused before the request is sent: Continue or Step to send it)"
        if not it.prompt:
            return "(the request has not been sent to the model yet)"
        return "(waiting for the model…)"

    # -- building the items -----------------------------------------------------------

    def _collect(self, node: Any) -> tuple[str, list[Item]]:
        if isinstance(node, SubCall):
            items = messages_to_items(node.prompt)
            kind = "child RLM run" if call_kind(node) == "rlm_query" else "LM call"
            made_by = node.extra.get("kind")  # our logs say which REPL function made it
            if made_by in ("llm", "rlm"):
                kind = f"{made_by}_query{'_batched' if node.extra.get('batched') else ''} → {kind}"
            resp_note = ""
            if node.running:  # "running" only once the call is really made
                held = self._paused is not None and self._paused[0] is node and self._paused[1] == "SubCallStarted"
                resp_note = " · not sent yet: paused before the call" if held else " · running…"
            items.append(Item("response", message_text(node.response), "response" + resp_note))
            if node.error:
                items.append(Item("error", message_text(node.error), "error"))
            head = f"Sub-call {node.index + 1} ({kind}) · {node.model or '?'} · depth {node.depth}"
            return head, items
        if isinstance(node, CodeBlock):
            node = node.parent
        if isinstance(node, Run):
            if not node.iterations:
                return f"{title(node)}: no iterations yet", []
            node = node.iterations[-1]
        if isinstance(node, Iteration) and is_loading(node):
            return loading_note(node), []
        if isinstance(node, Iteration):
            items = messages_to_items(node.prompt)
            note = "EDITED in debugger" if node.edited else ""
            if node.response or not node.running:
                items.append(Item("response", message_text(node.response), "response", note))
            else:
                items.append(Item("response", self._pending_text(node), "response"))
            if node.edited and node.original_response is not None:
                items.append(Item("original", message_text(node.original_response), "original response (before edit)"))
            if node.final_answer is not None:
                items.append(Item("final", message_text(node.final_answer), "final answer"))
            run = node.parent
            depth = f" · depth {run.depth}" if run is not None and run.depth else ""
            model = f" · {run.model}" if run is not None and run.model else ""
            n = len(items) - 1 - (1 if node.edited and node.original_response is not None else 0)
            n -= 1 if node.final_answer is not None else 0
            head = f"Iteration {iteration_no(node)}{depth}{model} · {n} prompt message{'s' if n != 1 else ''}"
            if node.is_default_answer:
                head += " · default answer"
            return head, items
        return "", []

    # -- cards ---------------------------------------------------------------------

    def _update(self, reset: bool) -> None:
        head, items = self._collect(self._node)
        self.header.setText(head or "Select an iteration or a sub-call to see its messages.")
        bar = self.scroll_area.verticalScrollBar()
        at_end = bar.value() >= bar.maximum() - 4
        old_value = bar.value()

        old_keys = [it.key() for it in self._items]
        new_keys = [it.key() for it in items]
        if not reset and old_keys == new_keys:
            return
        # Live: keep the cards of the common prefix (the history only grows).
        common = 0
        for a, b in zip(old_keys, new_keys, strict=False):
            if a != b:
                break
            common += 1
        pool: dict[tuple[str, str, str, str], list[MessageCard]] = {}
        if reset or common < self._first or not self.cards:
            # Another node: re-use cards with the same content (consecutive iterations
            # share most of their history), collapsed; drop the rest.
            for card in self.cards:
                self.vbox.removeWidget(card)
                pool.setdefault(card.item.key(), []).append(card)
            self.cards = []
            first = max(0, len(items) - self.max_cards)
            start = first
        else:
            first = self._first
            start = common
            keep = common - first
            for card in self.cards[keep:]:
                self.vbox.removeWidget(card)
                card.deleteLater()
            self.cards = self.cards[:keep]
        self.container.setUpdatesEnabled(False)
        self.vbox.setEnabled(False)  # one layout pass for the whole batch, not one per card
        for idx in range(start, len(items)):
            reuse = pool.get(items[idx].key())
            if reuse:
                card = reuse.pop()
                card.set_expanded(False)
            else:
                card = MessageCard(items[idx], self.container)
            self.vbox.insertWidget(self.vbox.count() - 1, card)
            card.show()
            self.cards.append(card)
        for cards in pool.values():
            for card in cards:
                card.hide()
                card.deleteLater()
        self.vbox.setEnabled(True)
        self.vbox.activate()
        self.container.setUpdatesEnabled(True)
        self._items = items
        self._first = first
        self._update_earlier()
        if reset or at_end:
            self._stick_to_end = True
            self._scroll_to_end()
        else:
            bar.setValue(old_value)

    def changeEvent(self, event: Any) -> None:  # noqa: N802
        # light/dark switch: cards style themselves from the panel's palette
        if event.type() == event.Type.PaletteChange and hasattr(self, "cards"):
            dark = is_dark(self)
            for card in self.cards:
                if card.dark != dark:
                    card.apply_style(dark)
        super().changeEvent(event)

    def _on_range(self, _min: int, maximum: int) -> None:
        if self._stick_to_end:
            self.scroll_area.verticalScrollBar().setValue(maximum)

    def _on_user_scroll(self, _action: int) -> None:
        self._stick_to_end = False

    def _scroll_to_end(self) -> None:
        bar = self.scroll_area.verticalScrollBar()
        bar.setValue(bar.maximum())

    def _update_earlier(self) -> None:
        self.earlier.setVisible(self._first > 0)
        self.earlier.setText(f"Show {self._first} earlier message{'s' if self._first != 1 else ''}")
