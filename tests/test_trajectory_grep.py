"""grep_lines: which lines mention a text, from raw bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlm_desktop.trajectory.grep import grep_lines, needle_for
from rlm_desktop.trajectory.index import LineIndex
from tests.support.rlms_scenarios import shared_logs


@pytest.fixture(scope="session")
def logs() -> dict[str, Path]:
    return shared_logs()


def strings(obj: object) -> list[str]:
    """Every string (keys and values) in a parsed record: what a user's text search means."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, list):
        return [s for v in obj for s in strings(v)]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in [k, *strings(v)]]
    return []


@pytest.mark.parametrize("chunk", [7, 1000, 8 << 20])
@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("depth3", "deepest question"),
        ("depth3", 'model="mock-d1"'),  # quotes are escaped in the file
        ("basic", "ZeroDivisionError"),
        ("exotic", "héllo ünïcode"),  # non-ASCII is \\u-escaped in the file
        ("exotic", "🚀"),  # a surrogate pair in the file
        ("multi_completion", "first word: delta"),
        ("basic", "no such text anywhere"),
    ],
)
def test_grep_matches_a_naive_scan(logs: dict[str, Path], name: str, text: str, chunk: int) -> None:
    idx = LineIndex(logs[name])
    idx.scan()
    lines = logs[name].read_bytes().split(b"\n")[:-1]
    # the truth: lines where some string of the parsed record contains the text
    expected = [n for n, line in enumerate(lines, 1) if any(text in s for s in strings(json.loads(line)))]
    assert grep_lines(idx, text, chunk_size=chunk) == expected
    if text != "no such text anywhere":
        assert expected
    idx.close()


def test_case_insensitive_and_cancel(logs: dict[str, Path]) -> None:
    idx = LineIndex(logs["basic"])
    idx.scan()
    assert grep_lines(idx, "zerodivisionerror") == []
    assert grep_lines(idx, "zerodivisionerror", case_sensitive=False) == grep_lines(idx, "ZeroDivisionError")
    assert grep_lines(idx, "ZeroDivisionError", cancel=lambda: True) == []
    assert grep_lines(idx, "") == []
    idx.close()


def test_only_indexed_lines_are_searched(tmp_path: Path) -> None:
    p = tmp_path / "x.jsonl"
    p.write_text('{"a": "needle"}\n{"b": "hay"}\n{"c": "needle"}')  # the last line is unterminated
    idx = LineIndex(p)
    idx.scan()
    assert grep_lines(idx, "needle") == [1]
    assert needle_for('a "q"\n\u00e9') == b'a \\"q\\"\\n\\u00e9'
