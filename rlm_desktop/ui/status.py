"""Status bar: run state, selected node, tokens, cost, a bad-line counter (click → list), and
what held the run's model code (``set_isolation``: the sandbox line of the log's metadata).

Every text here is plain (a pause reason or an answer is log text) and elides at the
width the bar gives it, with the whole text in the tooltip, so a long answer never runs
into the widgets beside it. The selected node is named for people (``trajectory.names``);
its copyable node path is in the tooltip, labelled as such.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QStatusBar, QToolButton, QWidget

from rlm_desktop.trajectory import summary
from rlm_desktop.trajectory.model import Usage
from rlm_desktop.trajectory.totals import shared_totals
from rlm_desktop.ui.bridge import OffThread

from .elided_label import ElidedLabel
from .plain_tooltip import plain_tooltip

#: A trajectory with more iterations than this has its totals counted in a worker thread.
SYNC_ITERATIONS = 5_000


def _one_line(text: str) -> str:
    return " ".join(text.split("\n"))


class StatusBar(QStatusBar):
    bad_lines_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state_label = ElidedLabel("Ready", minimum=60)
        self.state_label.setObjectName("status.state")
        self.node_label = ElidedLabel("")
        self.node_label.setObjectName("status.node")
        self.tokens_label = QLabel("")
        self.tokens_label.setObjectName("status.tokens")
        self.cost_label = QLabel("")
        self.cost_label.setObjectName("status.cost")
        self.bad_button = QToolButton()
        self.bad_button.setObjectName("status.badLines")
        self.bad_button.setAutoRaise(True)
        self.bad_button.setToolTip("Lines of the file that could not be read — click for the list")
        self.bad_button.clicked.connect(self.bad_lines_clicked)
        # its text from the start: a text-less tool button is as high as an icon, and the
        # status bar is as high as its highest widget, hidden or not: the first file opened
        # made it 2 px lower and every dock above it moved (the whole window laid out and
        # painted again)
        self.set_bad_lines(0)
        self.isolation_label = QLabel("")
        self.isolation_label.setObjectName("status.isolation")
        for label in (self.tokens_label, self.cost_label, self.isolation_label):
            label.setTextFormat(Qt.TextFormat.PlainText)
        # messages (an answer, an error) elide in their own label, not under the widgets
        self.message_label = ElidedLabel("", minimum=80)
        self.message_label.setObjectName("status.message")
        self._message_timer = QTimer(self)
        self._message_timer.setSingleShot(True)
        self._message_timer.timeout.connect(self.clearMessage)
        self.addWidget(self.message_label, 4)
        self.addPermanentWidget(self.node_label, 2)
        for w in (self.tokens_label, self.cost_label, self.isolation_label, self.bad_button):
            self.addPermanentWidget(w)
        self.addPermanentWidget(self.state_label, 1)

    def add_leading_permanent(self, widget: QWidget) -> None:
        """A permanent widget left of the others (right of the message). QStatusBar counts the
        message label in its indices, so the first permanent place is 1, not 0 (0 warns
        "Index out of range" and appends the widget at the far right)."""
        self.insertPermanentWidget(1, widget)

    # -- messages: our elided label instead of QStatusBar's painted (clipped) text ----------
    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802
        self.message_label.set_full_text(_one_line(text or ""), text or "")
        self._message_timer.stop()
        if timeout > 0 and text:
            self._message_timer.start(timeout)
        self.messageChanged.emit(text or "")

    def clearMessage(self) -> None:  # noqa: N802
        self._message_timer.stop()
        if self.message_label.full_text():
            self.message_label.set_full_text("")
            self.messageChanged.emit("")

    def currentMessage(self) -> str:  # noqa: N802
        return self.message_label.full_text()

    def set_state(self, text: str) -> None:
        self.state_label.set_full_text(_one_line(text))

    def state_text(self) -> str:
        return self.state_label.full_text()

    def set_node(self, name: str, path: str = "") -> None:
        """``name``: the node for people ("Run 1 › Iteration 3"); ``path`` its node path."""
        tip = f"{name}\nNode path (for copying): {path}" if path else name
        self.node_label.set_full_text(_one_line(name), tip)

    def show_totals_of(self, traj: Any) -> None:
        """Tokens and cost of a whole trajectory, each LM call once (upstream logs repeat
        child turns in the parent call); a big one is counted in a worker thread."""
        if not hasattr(self, "totals_job"):
            self.totals_job = OffThread(self)
        self.totals_job.cancel()
        if traj is None:
            self.set_totals(0, None)
            return
        if sum(len(r.iterations) for r in traj.runs) <= SYNC_ITERATIONS:
            self._show_usage(_usage(traj))
            return
        self.tokens_label.setText("counting tokens…")
        self.cost_label.setText("")
        self.totals_job.start(lambda cancelled: _usage(traj, cancelled), self._show_usage)

    def _show_usage(self, usage: Any) -> None:
        self.set_totals(usage.total_tokens, usage.cost) if usage is not None else self.set_totals(0, None)

    def set_totals(self, tokens: int, cost: float | None) -> None:
        self.tokens_label.setText(f"{tokens:,} tokens" if tokens else "")
        self.cost_label.setText(f"${cost:.4f}" if cost is not None else "")

    def set_bad_lines(self, n: int) -> None:
        self.bad_button.setText(f"⚠ {n} bad line{'s' if n != 1 else ''}")
        self.bad_button.setVisible(n > 0)

    def set_isolation(self, metadata: dict | None) -> None:
        """From a run's metadata: ``rlm_desktop.sandbox`` (written by our engine), if any."""
        info = ((metadata or {}).get("rlm_desktop") or {}).get("sandbox")
        if not isinstance(info, dict):
            self.isolation_label.setText("")
            self.isolation_label.setToolTip("")
            return
        if info.get("sandboxed"):
            net = "network allowed" if info.get("network") else "no network"
            text = f"Sandbox: {info.get('isolation')}, {net}"
        elif info.get("isolation") == "unavailable":
            text = "⚠ Sandbox unavailable"
        else:
            text = "⚠ UNSANDBOXED"
        self.isolation_label.setText(text)
        self.isolation_label.setToolTip(plain_tooltip(str(info.get("message") or "")))  # log text: never markup


def _usage(traj: Any, cancelled: Any = None) -> Any:
    """``summary.trajectory_usage``; in a worker (``cancelled`` given) iteration by iteration
    (a root run's usage is the sum of its iterations'), giving up when cancelled."""
    try:
        if cancelled is None:
            return summary.trajectory_usage(traj)
        total = Usage()
        for run in traj.runs:  # (a root run's usage is the sum of its iterations')
            total = total + shared_totals(run, summary.upstream_of(run), cancelled).usage
            if cancelled():
                return None
        return total
    except Exception:  # a half-written live node
        return None
