"""What the window asks of its dock panels, as Protocols (panels share no base class).

* every panel is a ``NodePanel``: ``show_node(node | None)`` shows the selected node and never
  emits; ``refresh()`` re-reads a node that grew during a live run (keeping scroll/selection);
* a ``NodePicker`` lets the user pick a node in it (the metrics plots): ``nodeSelected(node)``;
* a ``RunPanel`` shows a whole run (metrics): ``show_run(run | None)``;
* a ``ResponseEditor`` offers "Edit response…" at a paused LM response (messages):
  ``set_editable_iteration(it | None)`` and ``responseEdited(iteration, text)``;
* a ``TabAware`` panel is told when its dock's tab is raised or hidden (the flame graph lays
  out only what is seen): ``tab_shown(shown)``.

The optional roles are ``runtime_checkable``: the wiring asks ``isinstance(panel, RunPanel)``.
"""

from __future__ import annotations

from typing import Protocol, TypeAlias, runtime_checkable

from PySide6.QtCore import SignalInstance

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, SubCall

Node: TypeAlias = Run | Iteration | CodeBlock | SubCall


@runtime_checkable
class NodePanel(Protocol):
    def show_node(self, node: Node | None) -> None: ...

    def refresh(self) -> None: ...


@runtime_checkable
class NodePicker(Protocol):
    @property
    def nodeSelected(self) -> SignalInstance: ...  # noqa: N802 - a Qt signal


@runtime_checkable
class RunPanel(Protocol):
    def show_run(self, run: Run | None) -> None: ...


@runtime_checkable
class ResponseEditor(Protocol):
    @property
    def responseEdited(self) -> SignalInstance: ...  # noqa: N802 - a Qt signal

    def set_editable_iteration(self, it: Iteration | None) -> None: ...


@runtime_checkable
class TabAware(Protocol):
    """A panel with work worth skipping while its dock is behind another one's tab (Qt keeps
    such a dock visible, moved off the window): the window connects its dock's
    ``visibilityChanged`` to ``tab_shown``."""

    def tab_shown(self, shown: bool) -> None: ...
