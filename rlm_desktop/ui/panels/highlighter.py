"""Python syntax highlighting for the code view (light and dark colour schemes)."""

from __future__ import annotations

import builtins
import keyword
import re

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from rlm_desktop.ui.invisible import MARKER

from .common import invisible_format

# Names the RLM REPL provides; shown in their own colour so sub-calls stand out.
REPL_NAMES = (
    "llm_query",
    "llm_query_batched",
    "rlm_query",
    "rlm_query_batched",
    "FINAL_VAR",
    "FINAL",
    "SHOW_VARS",
    "context",
    "answer",
)

_SCHEMES: dict[str, dict[str, tuple[str, bool, bool]]] = {
    # style: (colour, bold, italic)
    "light": {
        "keyword": ("#0033b3", True, False),
        "builtin": ("#7a3e9d", False, False),
        "repl": ("#b35900", True, False),
        "string": ("#067d17", False, False),
        "comment": ("#8c8c8c", False, True),
        "number": ("#1750eb", False, False),
        "decorator": ("#9e880d", False, False),
        "defname": ("#00627a", True, False),
        "self": ("#94558d", False, True),
    },
    "dark": {
        "keyword": ("#cc7832", True, False),
        "builtin": ("#b39ddb", False, False),
        "repl": ("#ffb74d", True, False),
        "string": ("#8bc34a", False, False),
        "comment": ("#808080", False, True),
        "number": ("#6897bb", False, False),
        "decorator": ("#bbb529", False, False),
        "defname": ("#ffc66d", True, False),
        "self": ("#c586c0", False, True),
    },
}

_KEYWORDS = sorted(set(keyword.kwlist) | set(getattr(keyword, "softkwlist", [])) - {"_"})
_BUILTINS = sorted(n for n in dir(builtins) if not n.startswith("_") and n not in _KEYWORDS)

_RULES: list[tuple[re.Pattern[str], str, int]] = [
    (re.compile(r"\b(?:" + "|".join(_KEYWORDS) + r")\b"), "keyword", 0),
    (re.compile(r"\b(?:" + "|".join(_BUILTINS) + r")\b"), "builtin", 0),
    (re.compile(r"\b(?:" + "|".join(REPL_NAMES) + r")\b"), "repl", 0),
    (re.compile(r"\b(?:self|cls)\b"), "self", 0),
    (re.compile(r"\b(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO][0-7_]+|\d[\d_]*\.?[\d_]*(?:[eE][+-]?\d+)?j?)\b"), "number", 0),
    (re.compile(r"^\s*(@[\w.]+)"), "decorator", 1),
    (re.compile(r"\b(?:def|class)\s+(\w+)"), "defname", 1),
]

# Strings and comments are scanned left to right (a '#' inside a string is not a comment).
_TOKEN = re.compile(
    r"""(?P<tq>[rRbBuUfF]{0,2}(?:'''|\"\"\"))"""
    r"""|(?P<sq>[rRbBuUfF]{0,2}'(?:[^'\\\n]|\\.)*'?)"""
    r"""|(?P<dq>[rRbBuUfF]{0,2}"(?:[^"\\\n]|\\.)*"?)"""
    r"""|(?P<comment>\#.*)"""
)

# Block states: 0 = normal, 1 = inside ''' string, 2 = inside \"\"\" string.
_STATE_FOR = {"'''": 1, '"""': 2}
_DELIM_FOR = {1: "'''", 2: '"""'}


class PythonHighlighter(QSyntaxHighlighter):
    """Regex-based Python highlighter with multi-line strings."""

    def __init__(self, document: QTextDocument, dark: bool = False) -> None:
        super().__init__(document)
        self._formats: dict[str, QTextCharFormat] = {}
        self.set_dark(dark, rehighlight=False)

    @property
    def dark(self) -> bool:
        return self._dark

    def set_dark(self, dark: bool, rehighlight: bool = True) -> None:
        self._dark = dark
        self._formats = {}
        for name, (colour, bold, italic) in _SCHEMES["dark" if dark else "light"].items():
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(colour))
            if bold:
                fmt.setFontWeight(QFont.Weight.Bold)
            fmt.setFontItalic(italic)
            self._formats[name] = fmt
        self._formats["invisible"] = invisible_format(dark)
        if rehighlight:
            self.rehighlight()

    def format_for(self, style: str) -> QTextCharFormat:
        return self._formats[style]

    def highlightBlock(self, text: str) -> None:  # noqa: N802 (Qt API)
        self._highlight_syntax(text)
        # markers of invisible characters (the editor shows them revealed) stand out last
        fmt = self._formats["invisible"]
        for m in MARKER.finditer(text[:20_000]):
            self.setFormat(m.start(), m.end() - m.start(), fmt)

    def _highlight_syntax(self, text: str) -> None:
        if len(text) > 20_000:  # pathological line: keep the editor responsive
            text = text[:20_000]
        for pattern, style, group in _RULES:
            fmt = self._formats[style]
            for m in pattern.finditer(text):
                start, end = m.span(group)
                if start >= 0:
                    self.setFormat(start, end - start, fmt)

        string_fmt = self._formats["string"]
        pos = 0
        state = self.previousBlockState()
        if state in _DELIM_FOR:
            end = text.find(_DELIM_FOR[state])
            if end < 0:
                self.setFormat(0, len(text), string_fmt)
                self.setCurrentBlockState(state)
                return
            self.setFormat(0, end + 3, string_fmt)
            pos = end + 3
        self.setCurrentBlockState(0)
        while pos < len(text):
            m = _TOKEN.search(text, pos)
            if m is None:
                break
            kind = m.lastgroup
            start = m.start()
            if kind == "comment":
                self.setFormat(start, len(text) - start, self._formats["comment"])
                break
            if kind == "tq":
                delim = m.group("tq")[-3:]
                close = text.find(delim, m.end())
                if close < 0:
                    self.setFormat(start, len(text) - start, string_fmt)
                    self.setCurrentBlockState(_STATE_FOR[delim])
                    return
                self.setFormat(start, close + 3 - start, string_fmt)
                pos = close + 3
                continue
            self.setFormat(start, m.end() - start, string_fmt)
            pos = m.end()
