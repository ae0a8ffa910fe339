"""Watch expressions: the safe evaluator (whitelist, bounds, hostile input) and series over
the iterations of real upstream runs."""

from __future__ import annotations

import math
import time

import pytest

from rlm_desktop.debugger.watch import MAX_SOURCE, Watch, WatchError, namespaces, series
from rlm_desktop.trajectory.reader import read_file
from tests.support.diff_pairs import generate_pairs

NAMES = {"chunks": ["a", "bb", "ccc"], "answer": {"content": "42", "ready": True}, "n": 7, "x": 2.5,
         "context": "word " * 1000, "nested": {"k": [1, {"deep": "yes"}]}, "nan_v": float("nan")}


@pytest.mark.parametrize(("src", "want"), [
    ("len(chunks)", 3),
    ('answer["ready"]', True),
    ('answer["content"]', "42"),
    ("chunks[-1]", "ccc"),
    ("context[:4]", "word"),
    ('nested["k"][1]["deep"]', "yes"),
    ("n * 2 + 1", 15),
    ("n // 2, n % 2", (3, 1)),
    ("2 ** 10", 1024),
    ("-x", -2.5),
    ("n > 5 and len(chunks) == 3", True),
    ("not answer['ready'] or n", 7),
    ("'bb' in chunks", True),
    ("sum([len(c) for c in chunks]) if False else 0", None),  # comprehension: refused below
    ("max(len(chunks), n)", 7),
    ("min([3, 1, 2])", 1),
    ("sorted(chunks)[0]", "a"),
    ("abs(-n)", 7),
    ("str(n) + '!'", "7!"),
    ("int('12') + float('0.5')", 12.5),
    ("bool(chunks)", True),
    ("round(x)", 2),
    ("n if n > 100 else 'small'", "small"),
    ("1 < n < 10", True),
    ("answer is None", False),
])
def test_allowed_expressions(src, want):
    if "for" in src:
        with pytest.raises(WatchError, match="ListComp"):
            Watch.parse(src)
        return
    assert Watch.parse(src).evaluate(NAMES) == want


@pytest.mark.parametrize(("src", "why"), [
    ("__import__('os').system('touch /tmp/pwned')", "only these functions"),
    ("().__class__.__bases__[0].__subclasses__()", "Attribute|only these functions"),
    ("().__class__", "Attribute"),
    ("chunks.append(1)", "Attribute|only these functions"),
    ("context.upper()", "Attribute|only these functions"),
    ("eval('1+1')", "only these functions"),
    ("exec('x=1')", "only these functions"),
    ("open('/etc/passwd')", "only these functions"),
    ("getattr(n, 'real')", "only these functions"),
    ("lambda: 1", "Lambda"),
    ("[c for c in chunks]", "ListComp"),
    ("{c: 1 for c in chunks}", "DictComp"),
    ("(y := 1)", "NamedExpr"),
    ("f'{n}'", "JoinedStr"),
    ("__builtins__", "the name __builtins__"),
    ("len(*chunks)", "positional arguments only"),
    ("max(chunks, key=len)", "positional arguments only"),
    ("{'a': 1}", "Dict"),
    ("{1, 2}", "Set"),
    ("n << 10", "LShift"),
    ("b'x'", "bytes constant"),
    ("x" * (MAX_SOURCE + 1), "longer than"),
    ("-" * 300 + "1", "too complex"),
    ("[" * 150 + "1" + "]" * 150, "too complex"),
    ("1 +", "syntax error"),
    ("n; import os", "syntax error"),
    ("", "empty"),
])
def test_refused_expressions(src, why):
    with pytest.raises(WatchError, match=why):
        Watch.parse(src)


@pytest.mark.parametrize(("src", "why"), [
    ("'a' * 10 ** 9", "too large"),
    ("chunks * 10 ** 8", "too large"),
    ("9 ** 9 ** 9", "too large"),
    ("2 ** 100000", "too large"),
    ("10.0 ** 400", "range"),
    ("'%0999999999d' % 1", "formatting"),
    ("context * 1000", "too large"),
    ("int('9' * 5000)", "ValueError"),
    ("missing + 1", "no variable 'missing'"),
    ("answer['nope']", "KeyError"),
    ("chunks[10]", "IndexError"),
    ("n / 0", "ZeroDivisionError"),
    ("len(n)", "len\\(\\) of int"),
    ("n['a']", "cannot subscript"),
    ("chunks < n", "TypeError"),
    ("sum(chunks)", "TypeError"),
])
def test_bounded_or_failing_evaluations(src, why):
    t0 = time.perf_counter()
    with pytest.raises(WatchError, match=why):
        Watch.parse(src).evaluate(NAMES)
    assert time.perf_counter() - t0 < 2.0  # refused before doing the work


def test_steps_and_huge_inputs_are_bounded():
    big = {"xs": list(range(300_000))}
    with pytest.raises(WatchError, match="too long"):
        Watch.parse("sorted(xs)").evaluate(big)
    # many steps: a long chain stays under the node limit but each evaluation is bounded anyway
    w = Watch.parse(" + ".join(["n"] * 40))
    assert w.evaluate(NAMES) == 7 * 40
    assert math.isnan(Watch.parse("nan_v").evaluate(NAMES))


def test_series_over_a_real_upstream_run(tmp_path):
    pairs = generate_pairs(tmp_path / "pairs")
    traj = read_file(str(pairs["extra_turn"]["b"]))  # BASIC plus one turn
    run = traj.runs[0]
    ns = namespaces(run)
    assert len(ns) == len(run.iterations) == 5
    pts = series(run, Watch.parse("len(context)"))
    assert [p.position for p in pts] == [0, 1, 2, 3, 4]
    assert all(p.number == len(run.iterations[0].code_blocks[0].locals["context"]) for p in pts)
    ready = series(run, Watch.parse('answer["ready"]'))
    assert [p.value for p in ready] == [False, False, False, False, True]
    assert [p.number for p in ready] == [0.0, 0.0, 0.0, 0.0, 1.0]
    # a variable that appears later: an error before it exists, a value after
    looked = series(run, Watch.parse("looked"))
    assert looked[0].error and "looked" in looked[0].error and looked[1].value is True
    # the turn without code keeps the previous values (iteration 3 of BASIC, here 4th)
    assert ns[3] is ns[2]
