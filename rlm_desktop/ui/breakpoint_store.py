"""Breakpoints kept across restarts: the debugger's ``BreakpointManager`` in QSettings.

    store = BreakpointStore(session.breakpoints)
    problem = store.restore()        # None, or why the saved ones could not be used
    session.breakpoints_changed.connect(store.save)

Saved as one JSON value under ``KEY`` with a version tag (``{"version": 1,
"breakpoints": manager.to_list()}``; ``wait_for`` links are list positions, the app's
own transient breakpoints are left out, hit counts are not kept). A value that cannot
be read (bad JSON, another shape, a newer version) is never overwritten: it is moved
to ``KEY + ".unreadable"`` and the app starts with no breakpoints (a safe fallback,
like Spyder's versioned layouts). Breakpoints hold no secrets (no keys, no log text).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from PySide6.QtCore import QObject, QSettings

log = logging.getLogger(__name__)

KEY = "debugger/breakpoints"
VERSION = 1


class BreakpointStore(QObject):
    def __init__(self, manager: Any, parent: QObject | None = None, settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self.manager = manager
        self._settings = settings
        self._last: str | None = None  # what is saved now (saving only real changes)

    def settings(self) -> QSettings:
        return self._settings if self._settings is not None else QSettings()

    def restore(self) -> str | None:
        """Add the saved breakpoints to the manager; the reason when they could not be used."""
        s = self.settings()
        raw = s.value(KEY, None)
        if raw is None:
            self._last = self._dump()
            return None
        try:
            data = json.loads(str(raw))
            if not isinstance(data, dict) or not isinstance(data.get("breakpoints"), list):
                raise ValueError("not a breakpoint list")
            version = data.get("version")
            if version != VERSION:
                raise ValueError(f"saved by another version ({version!r}, this one reads {VERSION})")
        except (ValueError, TypeError) as exc:
            s.setValue(KEY + ".unreadable", raw)
            s.remove(KEY)
            log.warning("saved breakpoints not used: %s", exc)
            self._last = self._dump()
            return f"The saved breakpoints could not be read ({exc}); kept aside under {KEY}.unreadable"
        items = [d for d in data["breakpoints"] if isinstance(d, dict)]
        loaded = self.manager.load(items)
        self._last = self._dump()
        if len(loaded) < len(data["breakpoints"]):
            return f"{len(data['breakpoints']) - len(loaded)} saved breakpoint(s) could not be used"
        return None

    def _dump(self) -> str:
        return json.dumps({"version": VERSION, "breakpoints": self.manager.to_list()}, sort_keys=True)

    def save(self) -> bool:
        """Save when the breakpoints changed (not for hit counts). True when written."""
        text = self._dump()
        if text == self._last:
            return False
        self.settings().setValue(KEY, text)
        self._last = text
        return True
