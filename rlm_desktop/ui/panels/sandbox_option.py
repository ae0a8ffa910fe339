"""The New Run dialog's sandbox row: what will hold model code, said plainly, the
"Allow network" choice and the names of environment variables to pass in (names only, never
remembered: a value typed there by mistake must not reach QSettings).

``SandboxOption.set_environment(eid)`` is called with the chosen REPL environment. For the
sandbox, whether bubblewrap can run here is found out on a worker thread (it starts a
process; the GUI thread never waits for it) and shown when known; where it cannot run the
row says why and offers Docker or the unsandboxed subprocess REPL, with a warning for the
latter. ``problem()`` is what keeps the Run button off (the dialog asks it).
"""

from __future__ import annotations

import re

from PySide6.QtCore import QObject, QRect, Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QLineEdit, QSizePolicy, QVBoxLayout, QWidget

from rlm_desktop.ui.bridge import Bridge, Job

from .common import is_dark, plain_label, role_color

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SECRET_LOOKING = re.compile(r"KEY|TOKEN|SECRET|PASS|CREDENTIAL", re.IGNORECASE)
UNSANDBOXED = (
    "⚠ No sandbox: model code runs with your user's rights and can read your files, "
    "your keys and the network."
)


class _Probe(QObject):
    done = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._bridge = Bridge(lambda _job, kind, payload: kind == "done" and self.done.emit(payload), self)

    def start(self, bwrap: str | None) -> None:
        def work(_job: Job) -> object:
            from rlm_desktop.engine.repl.bwrap import probe

            return probe(bwrap)

        self._bridge.job("sandbox-probe").start(work)


class SandboxOption(QWidget):
    #: the status changed (the dialog re-checks whether Run is allowed)
    changed = Signal()

    def __init__(self, parent: QWidget | None = None, *, bwrap: str | None = None) -> None:
        super().__init__(parent)
        self.bwrap = bwrap
        self.status = None  # bwrap.SandboxStatus once known
        self.environment = "sandbox"
        self.network = QCheckBox("Allow network (model code may open connections)", self)
        self.network.setObjectName("newRun.allowNetwork")
        self.passthrough_edit = QLineEdit(self)
        self.passthrough_edit.setObjectName("newRun.sandboxEnv")
        self.passthrough_edit.setPlaceholderText(
            "Variables to pass in: names, e.g. HF_HOME TZ (none by default)"
        )
        self.passthrough_edit.textChanged.connect(lambda *_: (self._show(), self.changed.emit()))
        self.label = plain_label("", self, wrap=True)
        self.label.setObjectName("newRun.sandboxStatus")
        self.label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.network)
        lay.addWidget(self.passthrough_edit)
        lay.addWidget(self.label)
        self._probe = _Probe(self)
        self._probe.done.connect(self._probed)
        self._probe.start(bwrap)
        self._show()

    def network_allowed(self) -> bool:
        return self.environment == "sandbox" and self.network.isChecked()

    def passthrough(self) -> tuple[str, ...]:
        """The variable names typed (only well-formed names; see ``problem``)."""
        if self.environment != "sandbox":
            return ()
        return tuple(n for n in self.passthrough_edit.text().replace(",", " ").split() if _NAME.fullmatch(n))

    def set_environment(self, eid: str) -> None:
        self.environment = eid
        self._show()

    def problem(self) -> str | None:
        """Why a run with the chosen environment cannot start here (None: it can, or not known yet)."""
        if self.environment != "sandbox":
            return None
        if self.status is not None and not self.status.available:
            return "The sandbox cannot run here; choose Docker or the unsandboxed subprocess REPL."
        bad = [n for n in self.passthrough_edit.text().replace(",", " ").split() if not _NAME.fullmatch(n)]
        if bad:
            return "Variables to pass in: names only (letters, digits, _), not values."
        return None

    def resizeEvent(self, event: object) -> None:  # noqa: N802
        super().resizeEvent(event)  # type: ignore[arg-type]
        self._fit()

    def _fit(self) -> None:
        # a form row does not ask a wrapped label inside a widget for its height at the row's
        # width: give it the height its whole text needs at the width it has
        width = max(self.label.width() if self.label.isVisible() else self.width(), 50)
        rect = self.label.fontMetrics().boundingRect(
            QRect(0, 0, width, 100_000), int(Qt.TextFlag.TextWordWrap), self.label.text()
        )
        need = rect.height() + 2 * self.label.margin() + 4
        if need != self.label.minimumHeight():
            self.label.setMinimumHeight(need)

    def _probed(self, status: object) -> None:
        self.status = status
        self._show()
        self.changed.emit()

    def _show(self) -> None:
        from rlm_desktop.engine.repl.sandbox_env import FALLBACK_CHOICES

        unavailable = self.status is not None and not self.status.available
        self.network.setVisible(self.environment == "sandbox" and not unavailable)
        self.passthrough_edit.setVisible(self.environment == "sandbox" and not unavailable)
        role = "ok"
        if self.environment == "sandbox":
            if self.status is None:
                text, role = "Checking whether the bubblewrap sandbox can run here…", "warn"
            elif self.status.available:
                text = "Sandboxed: own processes, no home, read-only system, private scratch folder."
                secrets = [n for n in self.passthrough() if _SECRET_LOOKING.search(n)]
                if secrets:
                    text += f" ⚠ {', '.join(secrets)} looks like a secret: model code will read it."
                    role = "warn"
            else:
                text, role = f"⚠ Sandbox unavailable: {self.status.message}. {FALLBACK_CHOICES}", "error"
        elif self.environment == "docker":
            text = "Model code runs in a Docker container without network."
        else:
            text, role = UNSANDBOXED, "warn"
        self.label.setText(text)
        self._fit()
        QTimer.singleShot(0, self._fit)  # again once the layout has given the row its width
        self.label.setStyleSheet(f"color: {role_color(role, is_dark(self)).name()};")
