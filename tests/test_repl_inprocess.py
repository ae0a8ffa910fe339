"""The opt-in in-process REPL: same semantics as the subprocess one, in the app's process."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from rlm_desktop.engine.repl.base import environment_from_name
from rlm_desktop.engine.repl.inprocess_env import InProcessReplEnvironment
from tests.support.repl_envs import started_envs
from tests.test_repl_subprocess import Handler


@pytest.fixture
def make_env():
    yield from started_envs(InProcessReplEnvironment, Handler, interrupt_grace=0.3)


def test_factory_builds_it_by_name():
    env = environment_from_name("inprocess", "c", Handler())
    assert isinstance(env, InProcessReplEnvironment)


def test_semantics_match_the_worker(make_env):
    env = make_env({"k": [1, 2]})
    r = env.execute("n = len(context['k'])\nprint(n)\nprint('e', file=__import__('sys').stderr)")
    assert (r.stdout, r.stderr, r.failure) == ("2\n", "e\n", None)
    r = env.execute("print(n + 1)\nnew = 1\n1/0")
    assert r.stdout == "3\n" and r.stderr == "\nZeroDivisionError: division by zero"
    assert "new" not in r.locals and r.locals["context"] == {"k": [1, 2]}
    r = env.execute("answer['content'] = 'done'\nanswer['ready'] = True")
    assert r.final_answer == "done"


def test_prints_of_other_threads_are_not_captured(make_env, capsys):
    env = make_env()
    r = env.execute("print('inside')")
    print("outside")
    assert r.stdout == "inside\n"
    assert "outside" in capsys.readouterr().out


def test_subcalls_and_handler_errors(make_env):
    def fn(req):
        if req.prompts == ["bad"]:
            raise ValueError("nope")
        return [p * 2 for p in req.prompts]

    h = Handler(fn)
    env = make_env(handler=h)
    r = env.execute("print(llm_query('a'), rlm_query_batched(['b', 'c']))\nprint(llm_query('bad'))")
    assert r.stdout == "aa ['bb', 'cc']\nError: LM query failed - ValueError: nope\n"
    assert [(q.kind, q.batched) for q in h.requests] == [("llm", False), ("rlm", True), ("llm", False)]


def test_timeout_keeps_state(make_env):
    env = make_env(block_timeout=0.3)
    env.execute("x = 5")
    r = env.execute("while True:\n    pass")
    assert r.failure == "timeout" and not r.state_lost and "TimeoutError" in r.stderr
    assert env.execute("print(x)").stdout == "5\n"


def test_uninterruptible_block_is_abandoned_with_a_fresh_namespace(make_env):
    env = make_env(block_timeout=0.2, interrupt_grace=0.2)
    env.execute("x = 5")
    t0 = time.monotonic()
    r = env.execute("import time\ntime.sleep(1.5)")  # a C call: async exceptions wait for it
    assert time.monotonic() - t0 < 1.2
    assert r.failure == "timeout" and r.state_lost
    assert env.execute("print('x' in dir(), context)").stdout == "False ctx\n"


def test_cancel_from_another_thread_and_between_blocks(make_env):
    env = make_env()
    threading.Timer(0.2, env.cancel).start()
    r = env.execute("while True:\n    pass")
    assert r.failure == "cancelled" and "KeyboardInterrupt" in r.stderr
    env.cancel()
    assert env.execute("print(1)").failure == "cancelled"
    assert env.execute("print(1)").stdout == "1\n"


def test_close_restores_nothing_it_should_not(make_env):
    env = make_env()
    env.execute("print('x')")
    env.close()
    env.close()
    assert hasattr(sys.stdout, "write")
    with pytest.raises(RuntimeError):
        env.execute("1")
