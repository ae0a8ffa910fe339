"""Text made safe to show, without Qt: invisible characters revealed (ui.invisible) and JSON
text of any size and depth within a budget (ui.bounded_text)."""

from __future__ import annotations

import json
import sys
import unicodedata

import pytest

from rlm_desktop.ui.bounded_text import bounded_repr, pretty
from rlm_desktop.ui.invisible import INVISIBLE, MARKER, reveal
from tests.support.hostile_models import TROJAN, nested


def test_every_format_and_control_character_is_revealed():
    missing = [
        f"U+{cp:04X}"
        for cp in range(sys.maxunicode + 1)
        if unicodedata.category(chr(cp)) in ("Cf", "Cc") and chr(cp) not in "\t\n" and not INVISIBLE.match(chr(cp))
    ]
    assert not missing, missing[:20]
    for ch in "\u2028\u2029\u3164\u115f":  # drawn as a line break / a blank: also revealed
        assert INVISIBLE.match(ch)
    for ch in "\t\n a\u00e9\u4e2d\U0001f600":
        assert not INVISIBLE.match(ch)


def test_reveal_marks_each_character_and_says_where():
    text, spans = reveal(TROJAN)
    assert text == 'access = "user⟨U+202E⟩ ⟨U+2066⟩# admin only⟨U+2069⟩ ⟨U+2066⟩"; grant()  # ⟨U+200B⟩'
    assert [text[a : a + n] for a, n in spans] == ["⟨U+202E⟩", "⟨U+2066⟩", "⟨U+2069⟩", "⟨U+2066⟩", "⟨U+200B⟩"]
    assert [m.group() for m in MARKER.finditer(text)] == [text[a : a + n] for a, n in spans]
    plain = "no invisible characters here\n\tok"
    assert reveal(plain)[0] is plain and reveal(plain)[1] == []
    assert reveal("\x00\x1b[31m\r\n\U000e0041")[0] == "⟨U+0000⟩⟨U+001B⟩[31m⟨U+000D⟩\n⟨U+E0041⟩"


@pytest.mark.parametrize(
    "value",
    [1, -2.5, "a\"b\n\u202e", None, True, [], {}, [1, [2, {"a": [], "b": {"c": "d"}}]], {"x": [1, 2], "y": {}},
     {"k": {"z": [None, False, 1e300]}}, [[[]]], {"": ""}],
)
def test_pretty_is_json_dumps_when_it_fits(value):
    assert pretty(value, 10**9) == (json.dumps(value, indent=2, ensure_ascii=False), False)
    assert bounded_repr(value, 10**9) == (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))


def test_pretty_is_bounded_by_the_budget_not_the_value():
    deep = nested(100_000)  # json.dumps raises RecursionError on this
    with pytest.raises(RecursionError):
        json.dumps(deep, indent=2)
    text, cut = pretty(deep, 500)
    assert cut and len(text) == 500 and text.startswith("[\n  [\n    [")
    big = {f"k{i}": "v" * 10 for i in range(1_000_000)}
    text, cut = pretty(big, 1_000)
    assert cut and text.startswith('{\n  "k0": "vvvvvvvvvv",\n  "k1"')
    huge = ["x" * 50_000_000]
    text, cut = pretty(huge, 100)
    assert cut and text == ('[\n  "' + "x" * 100)[:100]
    assert bounded_repr(big, 30) == '{"k0": "vvvvvvvvvv", "k1": "v…'
    assert pretty(float("nan"), 10) == ("NaN", False) and pretty([float("-inf")], 99)[0] == "[\n  -Infinity\n]"
