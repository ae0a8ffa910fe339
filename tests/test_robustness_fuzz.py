"""A fixed-budget byte-level fuzz of the reader and the lazy index in the suite: the
mutations of ``bench/fuzz_reader.py`` (bit flips, splices, truncation, stray newlines/CRs,
NaN/Infinity, lone surrogates, invalid UTF-8, deep nesting) over realistic generated lines.
Every input must load without an exception, and the lazy index must split it exactly as the
reader does. (The structured hypothesis properties are in ``test_trajectory_properties.py``;
the time-budget run is ``python bench/fuzz_reader.py --seconds 60``.)
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.fuzz_reader import fuzz
from rlm_desktop.trajectory.reader import _has_long_digits


@pytest.mark.parametrize("seed", [11, 12])
def test_mutated_logs_never_crash_the_reader(seed):
    r = fuzz(seed, inputs=600, lazy_every=10, crash_dir=None)
    assert r["crashes"] == 0, r["first_crash"]
    assert r["inputs"] == 600
    assert r["bad_lines"] > 100  # the mutations do break lines: the fuzz is not idling on valid input



@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([b"0", b"7", b"9", b"-", b".", b" ", b'"', b"e", b"1" * 19, b"5" * 20]), max_size=40))
def test_long_digit_check_agrees_with_the_regex_it_replaced(parts):
    """The cheap pre-check that sends a line to the exact (stdlib) parser for integers beyond
    64 bits: 20 digits in a row, anywhere, and nothing shorter."""
    raw = b"".join(parts)
    assert _has_long_digits(raw) == bool(re.search(rb"[0-9]{20}", raw))
