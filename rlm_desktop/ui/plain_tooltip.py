"""Tooltips that show text from a log literally.

Qt has no plain-text mode for tooltips: ``QToolTip`` renders a text as HTML when its first
line looks like HTML (``Qt.mightBeRichText``: a known tag such as ``<b>`` or ``<img ...>``).
``plain_tooltip`` leaves ordinary text as it is and escapes the rest (wrapped in a
``white-space: pre-wrap`` paragraph, so line breaks and spaces stay), so a log line like
``<img src=x>`` shows as those characters.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtGui import Qt

from rlm_desktop.trajectory.reader import sanitize_str


def plain_tooltip(value: Any) -> str:
    s = value if isinstance(value, str) else ("" if value is None else str(value))
    s = sanitize_str(s).replace("\x00", "\u2400")
    if not Qt.mightBeRichText(s):
        return s
    return "<p style='white-space:pre-wrap'>" + html.escape(s, quote=False) + "</p>"
