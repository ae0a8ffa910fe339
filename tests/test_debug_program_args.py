"""``rlm-desktop debug`` arguments and ``--break`` specs (no subprocess, no Qt)."""

from __future__ import annotations

import pytest

from rlm_desktop.debug_program import describe, parse_args, parse_break
from rlm_desktop.debugger import Breakpoint
from rlm_desktop.engine import events as ev


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        ("iteration:3", {"kind": "iteration", "iteration": 3, "depth": None}),
        ("iteration:3@1", {"kind": "iteration", "iteration": 3, "depth": 1}),
        ("depth:2", {"kind": "depth", "depth": 2}),
        ("subcall", {"kind": "subcall", "depth": None}),
        ("subcall@2", {"kind": "subcall", "depth": 2}),
        ("stderr", {"kind": "stderr", "depth": None}),
        ("final", {"kind": "final", "depth": None}),
        ("text:battery life", {"kind": "text", "pattern": "battery life", "regex": False}),
        ("regex:err(or)?s?", {"kind": "text", "pattern": "err(or)?s?", "regex": True}),
        ("condition:depth >= 2 and iteration > 1", {"kind": "condition", "condition": "depth >= 2 and iteration > 1"}),
        ("depth:1=>entered {run_id}", {"kind": "depth", "depth": 1, "log_message": "entered {run_id}"}),
    ],
)
def test_break_specs(spec, fields):
    assert parse_break(spec) == fields
    Breakpoint(**fields)  # a real breakpoint can be made of them


@pytest.mark.parametrize("spec", ["depth:x", "iteration:", "nonsense", "text:", "condition: "])
def test_bad_break_specs_say_what_is_wrong(spec):
    with pytest.raises(ValueError, match="--break"):
        parse_break(spec)


def test_arguments_with_and_without_dashes():
    a = parse_args(["--no-gui", "--record", "r.jsonl", "--break", "depth:2", "--env", "A=1", "--",
                    "python", "x.py", "--no-gui"])
    assert a.command == ["python", "x.py", "--no-gui"] and not a.gui and a.record == "r.jsonl"
    assert a.breaks == [{"kind": "depth", "depth": 2}] and a.env == {"A": "1"}
    b = parse_args(["--break", "final", "python", "-m", "pkg", "--n", "5"])
    assert b.command == ["python", "-m", "pkg", "--n", "5"] and b.gui
    with pytest.raises(ValueError, match="no command"):
        parse_args(["--no-gui"])
    with pytest.raises(ValueError, match="NAME=VALUE"):
        parse_args(["--env", "nope", "--", "python"])


def test_describe_says_where():
    e = ev.SubCallStarted(run_id="1-1/2.0.0", parent_id="1-1", depth=1, iteration=3, block_index=0,
                          call_index=4, model="m", prompt="p")
    assert describe(e) == "SubCallStarted in run 1-1/2.0.0 (depth 1, iteration 3), block 0, call 4"
