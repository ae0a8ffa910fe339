"""The record rules in ``trajectory/format.py``, and that they live there only."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

from rlm_desktop.trajectory import format as fmt
from rlm_desktop.trajectory.format import (
    UNKNOWN,
    Change,
    RunSplit,
    encode_nonfinite,
    file_change,
    final_text,
    guess_era,
    is_default_answer,
    mark_file,
    peek_tail,
    restore_nonfinite,
)
from rlm_desktop.trajectory.writer import dumps_record

PACKAGE = Path(fmt.__file__).parent


def test_run_split_follows_final_answers_resets_and_metadata() -> None:
    split = RunSplit()
    # 0.1.1+: numbering restarts per completion; pre/0.1.0: only the final answer splits
    seq = [(1, False), (2, False), (3, True), (4, False), (5, True), (1, False), (1, False), (2, False)]
    assert [split.starts_run(n, f) for n, f in seq] == [True, False, False, True, False, True, True, False]
    split.metadata()
    assert split.starts_run(3, False)  # a metadata line ends the run
    assert not split.starts_run(4, False)


def test_eras_and_final_answer_forms() -> None:
    assert guess_era("unknown", {"final_answer": ["FINAL_VAR", "x"]}) == "pre"
    assert guess_era("unknown", {"code_blocks": [{"result": {"stdout": ""}}]}) == "0.1.0"
    with_final = {"code_blocks": [{"result": {"final_answer": None, "locals": {}}}]}
    assert guess_era("0.1.0", with_final) == "0.1.1"
    ready = {"code_blocks": [{"result": {"final_answer": None, "locals": {"answer": {"ready": False}}}}]}
    assert guess_era("0.1.1", ready) == "0.1.2+"
    assert guess_era("0.1.2+", {"final_answer": ["FINAL", "x"]}) == "0.1.2+"  # only moves forward
    assert guess_era("rlm_desktop", with_final) == "rlm_desktop"
    assert final_text(None) == (None, None)
    assert final_text("done") == ("done", None)
    assert final_text(["FINAL_VAR", "name"]) == ("name", "FINAL_VAR")
    assert final_text(7) == ("7", None)
    rec = {"response": "r", "iteration_time": None}
    assert is_default_answer(rec, "r", False)
    assert not is_default_answer({"response": "r"}, "r", False)  # iteration_time absent is not null
    assert not is_default_answer(rec, "r", True) and not is_default_answer(rec, "other", False)


def test_tail_peek_gives_the_final_answer_value_when_it_fits() -> None:
    line = dumps_record({"type": "iteration", "iteration": 2, "timestamp": "t", "prompt": [], "response": "x",
                         "code_blocks": [], "final_answer": "the \"end\"", "iteration_time": 1.5}).encode()
    info = peek_tail(line)
    assert info.final and not info.time_null and info.value == 'the "end"'
    cut = peek_tail(line[-40:])  # the value's start is outside the window
    assert cut is None or cut.value is UNKNOWN
    null = peek_tail(line.replace(b'"the \\"end\\""', b"null"))
    assert not null.final and null.value is None


def test_nonfinite_numbers_round_trip_through_strict_json() -> None:
    rec = {"a": [1.0, math.nan, {"b": -math.inf}], "c": math.inf, "s": "NaN", "rlm_desktop": {"k": 1}}
    out = encode_nonfinite(rec)
    assert out is not rec and math.isnan(rec["a"][1])  # the caller's record is untouched
    assert out["a"][1] == "NaN" and out["c"] == "Infinity" and out["s"] == "NaN"
    assert sorted(out["rlm_desktop"]["nonfinite"]) == [["a", 1], ["a", 2, "b"], ["c"]]
    back = restore_nonfinite(out)
    assert math.isnan(back["a"][1]) and back["a"][2]["b"] == -math.inf and back["c"] == math.inf
    assert back["s"] == "NaN" and back["rlm_desktop"] == {"k": 1}
    plain = {"x": 1.5}
    assert encode_nonfinite(plain) is plain  # nothing to do: written exactly as upstream does
    junk = {"v": "x", "rlm_desktop": {"nonfinite": [["v"], ["missing", 3], "bad", []]}}
    assert restore_nonfinite(junk) == {"v": "x"}  # tolerant of paths that lead nowhere


def test_file_identity_replaced_truncated_rewritten(tmp_path: Path) -> None:
    p = tmp_path / "log.jsonl"
    p.write_bytes(b"a" * 100 + b"\n")

    def check(mark):
        with open(p, "rb") as fh:
            return file_change(fh.fileno(), os.fstat(fh.fileno()), mark)

    with open(p, "rb") as fh:
        mark = mark_file(fh.fileno(), 101)
    assert check(mark) is None and check(None) is None
    with p.open("ab") as fh:
        fh.write(b"b\n")
    assert check(mark) is None  # it only grew
    p.write_bytes(b"a" * 50)
    assert check(mark) is Change.TRUNCATED
    p.write_bytes(b"z" + b"a" * 99 + b"\n")
    assert check(mark) is Change.REWRITTEN  # same size, the start changed
    p.write_bytes(b"a" * 99 + b"z\n")
    assert check(mark) is Change.REWRITTEN  # the bytes before the offset changed
    other = tmp_path / "other.jsonl"
    other.write_bytes(b"a" * 100 + b"\n")
    os.replace(other, p)
    assert check(mark) is Change.REPLACED


def test_the_record_rules_live_in_the_format_module_only() -> None:
    """One place to change when upstream's format changes: no other module of the package
    spells the byte patterns or re-implements the rules."""
    patterns = [
        rb"""b'"final_answer""",  # byte peeks (bytes literals of record keys)
        rb"""b'"iteration_time""",
        rb"""b'"usage_summary""",
        rb"st_ino",  # file identity
        rb"number <= ",  # run splitting
        rb"def _guess_era",
        rb"def _peek_final",
        rb"isinstance\(rec.get\(\"final_answer\"\), list\)",  # era / final-answer forms
    ]
    for path in PACKAGE.glob("*.py"):
        if path.name == "format.py":
            continue
        src = path.read_bytes()
        for pat in patterns:
            assert not re.search(pat, src), f"{path.name} has its own copy of a format rule: {pat!r}"
    doc = fmt.__doc__ or ""
    assert "one place to change" in doc
    for rule in ("Run splitting", "Era", "Final answers", "Byte peeks", "Non-finite", "File identity"):
        assert rule in doc
