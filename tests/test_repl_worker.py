"""The REPL semantics of ``worker.Repl`` (no process): namespace, output, errors, answer,
locals serialisation by upstream's rules, sub-call helpers."""

from __future__ import annotations

import math

import pytest

from rlm_desktop.engine.repl.worker import Capture, Repl, serialize_value
from rlm_desktop.trajectory.writer import serialize_value as writer_serialize


def make(answers=None):
    calls = []

    def request(kind, prompts, model, batched):
        calls.append((kind, list(prompts), model, batched))
        if answers is not None:
            return answers(kind, prompts, model, batched)
        return [f"{kind}:{p}" for p in prompts]

    repl = Repl(request)
    repl.load_context("the context")
    return repl, calls


def test_namespace_persists_and_functions_see_later_globals():
    r, _ = make()
    assert r.run("x = 2\ndef f():\n    return x * y")["ok"]
    res = r.run("y = 5\nprint(f())")
    assert res["stdout"] == "10\n" and res["stderr"] == ""
    assert res["locals"]["x"] == 2 and res["locals"]["y"] == 5


def test_stdout_and_stderr_are_captured_per_block():
    r, _ = make()
    res = r.run("import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.stdout.write('raw')")
    assert res["stdout"] == "out\nraw" and res["stderr"] == "err\n"
    assert r.run("pass")["stdout"] == ""


def test_exception_format_keeps_earlier_output_and_drops_the_blocks_variables():
    r, _ = make()
    r.run("kept = 1\nlst = []")
    res = r.run("print('before')\nkept = 2\nnew = 3\nlst.append(1)\n1/0")
    assert res["stdout"] == "before\n"
    assert res["stderr"] == "\nZeroDivisionError: division by zero"
    assert not res["ok"]
    # upstream drops the failed block's bindings; objects mutated in place stay mutated
    assert res["locals"]["kept"] == 1 and "new" not in res["locals"] and res["locals"]["lst"] == [1]


def test_syntax_error_and_system_exit_are_model_errors():
    r, _ = make()
    res = r.run("def (:")
    assert res["stderr"].startswith("\nSyntaxError: ") and not res["ok"]
    res = r.run("import sys\nsys.exit(4)")
    assert res["stderr"] == "\nSystemExit: 4"


def test_context_cannot_be_rebound_and_helpers_come_back():
    r, _ = make()
    r.run("context = 'other'\nllm_query = None\nSHOW_VARS = 3")
    res = r.run("print(context)\nprint(llm_query('q'))\nprint(SHOW_VARS())")
    assert res["stdout"].splitlines()[:2] == ["the context", "llm:q"]
    assert "Available variables" in res["stdout"]


def test_show_vars_lists_user_variables_and_prints_when_bare():
    r, _ = make()
    res = r.run("a = 1\nb = 'x'\nSHOW_VARS()")
    assert "'a': 'int'" in res["stdout"] and "'b': 'str'" in res["stdout"]
    assert "answer" not in res["stdout"] and "llm_query" not in res["stdout"]
    assert r.run("SHOW_VARS()\nz = 1")["stdout"] == ""  # only a bare last statement prints


def test_answer_dict_ready_sets_final_answer_once_per_block():
    r, _ = make()
    res = r.run("answer['content'] = 'not yet'")
    assert res["final_answer"] is None
    res = r.run("answer['content'] = 41 + 1\nanswer['ready'] = True\nanswer['content'] = 'later'")
    assert res["final_answer"] == "42"
    assert res["locals"]["answer"] == {"content": "later", "ready": True}
    assert r.run("x = 1")["final_answer"] is None  # still ready, but this block did not finish


@pytest.mark.parametrize(
    "code,expected",
    [
        ("answer = {'content': 'rebound', 'ready': True}", "rebound"),
        ("answer.update(content='via update', ready=True)", "via update"),
        ("answer = {'content': 'no', 'ready': False}", None),
        ("answer = 'a string'", None),
    ],
)
def test_answer_rebinding(code, expected):
    r, _ = make()
    res = r.run(code)
    assert res["final_answer"] == expected
    assert isinstance(res["locals"]["answer"], dict)
    # after a rebinding the dict still signals
    assert r.run("answer['content'] = 'again'; answer['ready'] = True")["final_answer"] == "again"


def test_final_var_by_name_and_by_value():
    r, _ = make()
    r.run("result = {'n': 3}")
    res = r.run("FINAL_VAR('result')")
    assert res["final_answer"] == "{'n': 3}"
    assert r.run("FINAL_VAR(12)")["final_answer"] == "12"
    assert r.run("FINAL_VAR('no_such_name')")["final_answer"] == "no_such_name"


def test_subcall_helpers_send_one_request_each():
    r, calls = make()
    res = r.run(
        "a = llm_query('p1')\nb = llm_query_batched(['p2', 'p3'], model='m')\n"
        "c = rlm_query([{'role': 'user', 'content': 'hi'}])\nd = rlm_query_batched(('p4',))\n"
        "e = llm_query_batched([])"
    )
    assert res["ok"], res["stderr"]
    assert calls == [
        ("llm", ["p1"], None, False),
        ("llm", ["p2", "p3"], "m", True),
        ("rlm", [[{"role": "user", "content": "hi"}]], None, False),
        ("rlm", ["p4"], None, True),
    ]
    assert res["locals"]["b"] == ["llm:p2", "llm:p3"] and res["locals"]["e"] == []


def test_batched_with_a_string_is_a_type_error():
    r, calls = make()
    res = r.run("llm_query_batched('abc')")
    assert "TypeError: llm_query_batched() expects a list of prompts, got str" in res["stderr"]
    assert calls == []


def test_transport_failure_becomes_error_string():
    def broken(*a):
        raise ConnectionError("host gone")

    r, _ = make(broken)
    res = r.run("print(llm_query('x'))\nprint(rlm_query_batched(['a', 'b']))")
    assert res["stdout"] == (
        "Error: LM query failed - host gone\n"
        "['Error: RLM query failed - host gone', 'Error: RLM query failed - host gone']\n"
    )


class Weird:
    def __repr__(self):
        raise RuntimeError("no repr")


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        10**40,
        1.5,
        float("inf"),
        "s",
        "\ud800",
        [1, (2, 3)],
        {(1, 2): {3: "x"}},
        {1, 2, 3},
        b"\x00\xffbytes",
        2 + 3j,
        math,
        len,
        lambda: 1,
        Weird,
        Weird(),
        range(3),
    ],
)
def test_serialisation_matches_the_log_writer(value):
    assert serialize_value(value) == writer_serialize(value)


def test_locals_serialisation_cases():
    r, _ = make()
    res = r.run(
        "import json\ndef helper():\n    pass\nclass Foo:\n    pass\nf2 = lambda: 0\n_private = 1\n"
        "t = (1, {2: (3,)})\ns = {1}\ncyc = []\ncyc.append(cyc)\nnan = float('nan')"
    )
    loc = res["locals"]
    assert loc["json"] == "<module 'json'>"
    assert loc["helper"] == "<function 'helper'>" and loc["f2"] == "<function '<lambda>'>"
    assert loc["Foo"] == "<type 'Foo'>"
    assert loc["t"] == [1, {"2": [3]}] and loc["s"] == "{1}"
    assert loc["cyc"] == ["[...]"]
    assert math.isnan(loc["nan"])
    assert "_private" not in loc and "__builtins__" not in loc and "llm_query" not in loc
    assert "f" not in loc  # no leftover file object from loading the context
    assert loc["context"] == "the context" and "context_0" not in loc
    assert loc["answer"] == {"content": "", "ready": False}


def test_capture_keeps_head_and_tail_with_a_note():
    c = Capture("<stdout>", limit=100, tail=50)
    for i in range(10_000):
        c.write(f"line {i}\n")
    text = c.end()
    assert len(text) < 300
    assert text.startswith("line 0\nline 1\n")
    assert text.endswith("line 9999\n")
    assert "characters of output dropped" in text
    assert c.end() == ""


def test_print_flood_in_a_block_is_bounded():
    r, _ = make()
    r.out.limit, r.out.tail_limit = 10_000, 1_000
    res = r.run("for i in range(200000):\n    print('x' * 50, i)")
    assert len(res["stdout"]) < 20_000
    assert res["stdout"].endswith(" 199999\n")


def test_frozen_worker_gives_model_code_the_systems_library_path():
    from rlm_desktop.engine.repl.worker import _restore_library_path

    env = {"LD_LIBRARY_PATH": "/app/_internal", "LD_LIBRARY_PATH_ORIG": "/usr/local/lib", "HOME": "/h"}
    _restore_library_path(env)
    assert env == {"LD_LIBRARY_PATH": "/usr/local/lib", "HOME": "/h"}
    env = {"LD_LIBRARY_PATH": "/app/_internal"}
    _restore_library_path(env)
    assert env == {}
