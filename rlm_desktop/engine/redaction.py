"""Keep API keys out of logs and error messages.

``Redactor(secrets)`` replaces every occurrence of a secret (and of
``Bearer <secret>`` headers) with ``[REDACTED]`` in strings and, recursively, in
JSON-like objects. Secrets shorter than ``MIN_SECRET_LEN`` are ignored (they
would match ordinary text). Common key shapes (``sk-...``, ``sk-ant-...``) are
masked too, even when the key itself is unknown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MASK = "[REDACTED]"
MIN_SECRET_LEN = 8

# Shapes of provider keys: OpenAI/OpenRouter ``sk-...``/``sk-or-...``, Anthropic ``sk-ant-...``.
_KEY_SHAPES = re.compile(r"\bsk-(?:ant-|or-|proj-)?[A-Za-z0-9_\-]{20,}")


class Redactor:
    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        uniq = {s for s in secrets if s and len(s) >= MIN_SECRET_LEN}
        # Longest first, so a secret containing another is masked whole.
        self._secrets = sorted(uniq, key=len, reverse=True)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= MIN_SECRET_LEN and secret not in self._secrets:
            self._secrets.append(secret)
            self._secrets.sort(key=len, reverse=True)

    def __bool__(self) -> bool:
        return bool(self._secrets)

    def text(self, s: str) -> str:
        for secret in self._secrets:
            if secret in s:
                s = s.replace(secret, MASK)
        if "sk-" in s:
            s = _KEY_SHAPES.sub(MASK, s)
        return s

    def obj(self, value: Any) -> Any:
        """A copy of a JSON-like value with secrets masked in every string (keys too)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.obj(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.obj(v) for v in value)
        if isinstance(value, dict):
            return {(self.text(k) if isinstance(k, str) else k): self.obj(v) for k, v in value.items()}
        return value

    def __repr__(self) -> str:
        return f"Redactor(<{len(self._secrets)} secrets>)"


def redact_text(s: str, secrets: Iterable[str | None] = ()) -> str:
    return Redactor(secrets).text(s)
