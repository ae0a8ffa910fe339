"""A fixed-budget byte-level fuzz of the reader and the lazy index in the suite: the
mutations of ``bench/fuzz_reader.py`` (bit flips, splices, truncation, stray newlines/CRs,
NaN/Infinity, lone surrogates, invalid UTF-8, deep nesting) over realistic generated lines.
Every input must load without an exception, and the lazy index must split it exactly as the
reader does. (The structured hypothesis properties are in ``test_trajectory_properties.py``;
the time-budget run is ``python bench/fuzz_reader.py --seconds 60``.)
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.fuzz_reader import fuzz
from rlm_desktop.trajectory.reader import parse_line


@pytest.mark.parametrize("seed", [11, 12])
def test_mutated_logs_never_crash_the_reader(seed):
    r = fuzz(seed, inputs=600, lazy_every=10, crash_dir=None)
    assert r["crashes"] == 0, r["first_crash"]
    assert r["inputs"] == 600
    assert r["bad_lines"] > 100  # the mutations do break lines: the fuzz is not idling on valid input



@settings(max_examples=300, deadline=None)
@given(st.recursive(st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
                    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=3), kids, max_size=4),
                    max_leaves=20))
def test_integers_of_any_size_are_read_exactly(value):
    """orjson turns integers beyond 64 bits into floats; the reader notices (a float of
    2**63 or more in the parsed value) and reads such a line with the exact stdlib parser."""
    line = json.dumps({"v": value}).encode()
    assert parse_line(line)["v"] == json.loads(line)["v"]
    assert repr(parse_line(line)["v"]) == repr(json.loads(line)["v"])
