"""Invisible characters made visible, so a panel never shows other code than what ran.

Bidi controls (U+202A–U+202E, U+2066–U+2069, U+200E/U+200F, U+061C) reorder how a line is
drawn without changing what Python reads ("Trojan Source", CVE-2021-42574); zero-width
characters, U+FEFF and other format (Cf) and control (Cc) characters are drawn as nothing;
U+2028/U+2029 are drawn as line breaks that Python does not see; Hangul fillers look like
blanks but are letters in identifiers. ``reveal`` replaces each of them (tab and newline
excepted) by a marker such as ``⟨U+202E⟩`` and returns where the markers are, so a view can
give them a distinct colour. No Qt here.
"""

from __future__ import annotations

import re

#: Cc and Cf of Unicode 14 (Python 3.11's unicodedata) minus tab and newline, the line and
#: paragraph separators, and the Hangul fillers. ``tests/test_ui_invisible.py`` checks that
#: every Cc/Cf character of the running Python is in here.
_RANGES = (
    (0x0000, 0x0008), (0x000B, 0x001F), (0x007F, 0x009F), (0x00AD, 0x00AD), (0x0600, 0x0605),
    (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2),
    (0x115F, 0x1160), (0x180E, 0x180E), (0x200B, 0x200F), (0x2028, 0x202E), (0x2060, 0x2064),
    (0x2066, 0x206F), (0x3164, 0x3164), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x13438), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F),
)
_CLASS = "".join(
    re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in _RANGES
)
INVISIBLE = re.compile(f"[{_CLASS}]")
#: Marker brackets: the marker is ``⟨U+XXXX⟩``.
OPEN, CLOSE = "\u27e8", "\u27e9"
#: A marker in revealed text (what a highlighter colours).
MARKER = re.compile(f"{OPEN}U\\+[0-9A-F]{{4,6}}{CLOSE}")


def marker(ch: str) -> str:
    return f"{OPEN}U+{ord(ch):04X}{CLOSE}"


def has_invisible(text: str) -> bool:
    return INVISIBLE.search(text) is not None


def reveal(text: str) -> tuple[str, list[tuple[int, int]]]:
    """``text`` with every invisible character replaced by its marker, and the markers'
    (start, length) in the result. Text without any comes back as the same object."""
    if INVISIBLE.search(text) is None:
        return text, []
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0  # in text
    length = 0  # of the result so far
    for m in INVISIBLE.finditer(text):
        start = m.start()
        if start > pos:
            out.append(text[pos:start])
            length += start - pos
        mark = marker(m.group())
        out.append(mark)
        spans.append((length, len(mark)))
        length += len(mark)
        pos = m.end()
    out.append(text[pos:])
    return "".join(out), spans


def reveal_text(text: str) -> str:
    return reveal(text)[0]
