"""Where a typed API key may live: this process's memory, or the OS keyring.

Keys are never written to QSettings, logs or files by us. The OS keyring is
used only when the optional ``keyring`` package is installed and has a real
backend; no dependency is added for it.
"""

from __future__ import annotations

import importlib
from typing import Any

SERVICE = "rlm-desktop"

# Keys typed in this session, by backend id (memory only, gone when the app quits).
_SESSION_KEYS: dict[str, str] = {}


class KeyStore:
    """Session memory + optional OS keyring."""

    def __init__(self, keyring_module: Any = None, *, use_system: bool = True) -> None:
        self._kr = keyring_module
        if self._kr is None and use_system:
            self._kr = _load_keyring()

    def keyring_available(self) -> bool:
        return self._kr is not None

    def session_key(self, backend_id: str) -> str | None:
        return _SESSION_KEYS.get(backend_id)

    def remember_for_session(self, backend_id: str, key: str | None) -> None:
        if key:
            _SESSION_KEYS[backend_id] = key
        else:
            _SESSION_KEYS.pop(backend_id, None)

    def keyring_key(self, backend_id: str) -> str | None:
        if self._kr is None:
            return None
        try:
            return self._kr.get_password(SERVICE, backend_id) or None
        except Exception:  # noqa: BLE001 - a broken keyring must not break the dialog
            return None

    def save_to_keyring(self, backend_id: str, key: str) -> bool:
        if self._kr is None:
            return False
        try:
            self._kr.set_password(SERVICE, backend_id, key)
            return True
        except Exception:  # noqa: BLE001
            return False

    def delete_from_keyring(self, backend_id: str) -> None:
        if self._kr is None:
            return
        try:
            self._kr.delete_password(SERVICE, backend_id)
        except Exception:  # noqa: BLE001
            pass


def _load_keyring() -> Any:
    try:
        kr = importlib.import_module("keyring")
    except Exception:  # noqa: BLE001 - not installed, or broken
        return None
    try:
        backend = kr.get_keyring()
        name = type(backend).__module__ + "." + type(backend).__name__
        if "fail" in name.lower() or "null" in name.lower():
            return None
    except Exception:  # noqa: BLE001
        return None
    return kr


def clear_session_keys() -> None:
    _SESSION_KEYS.clear()
