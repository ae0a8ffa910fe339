"""The default REPL in its own process: round trips over the socket, timeouts (state kept
or killed and restarted), cancel, crashes, memory limit, no leftover processes or files."""

from __future__ import annotations

import os
import threading
import time

import pytest

from rlm_desktop.engine.repl.base import ReplResult, SubcallRequest, environment_from_name
from rlm_desktop.engine.repl.subprocess_env import SubprocessReplEnvironment
from tests.support.repl_envs import started_envs

pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX only")


class Handler:
    def __init__(self, fn=None):
        self.fn = fn
        self.requests: list[SubcallRequest] = []
        self.lock = threading.Lock()

    def __call__(self, req: SubcallRequest) -> list[str]:
        with self.lock:
            self.requests.append(req)
        if self.fn is not None:
            return self.fn(req)
        return [f"{req.kind}:{req.model or '-'}:{p}" for p in req.prompts]


@pytest.fixture
def make_env():
    yield from started_envs(SubprocessReplEnvironment, Handler, block_timeout=20, interrupt_grace=0.5)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
    except OSError:  # pragma: no cover - not Linux
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False


def test_factory_default_is_the_subprocess_env():
    env = environment_from_name(None, "c", Handler())
    assert isinstance(env, SubprocessReplEnvironment)
    env.close()  # never started: nothing to do


def test_context_kinds_and_persistence(make_env):
    ctx = {"items": [1, 2.5, None, float("nan")], "name": "caf\u00e9 \U0001f680"}
    env = make_env(ctx)
    r = env.execute("n = len(context['items'])\nprint(context['name'])")
    assert r == ReplResult("caf\u00e9 \U0001f680\n", "", r.locals, r.execution_time, None, None)
    assert r.locals["n"] == 4 and r.locals["context"]["name"] == ctx["name"]
    odd = env.execute("lone = '\\ud800'\ninf = float('-inf')").locals
    assert odd["lone"] == "\ud800" and odd["inf"] == float("-inf")
    r2 = env.execute("print(n * 10)\nimport math\nprint(math.isnan(context['items'][3]))")
    assert r2.stdout == "40\nTrue\n"
    env2 = make_env(["a", "b"])
    assert env2.execute("print(type(context).__name__, context)").stdout == "list ['a', 'b']\n"


def test_big_integers_stay_exact(make_env):
    env = make_env("plain")  # nothing else in the frame that a fast JSON reader would reject
    loc = env.execute("big = 10 ** 40\nneg = -(2 ** 70)").locals
    assert loc["big"] == 10**40 and loc["neg"] == -(2**70)
    assert type(loc["big"]) is int


def test_errors_and_final_answer_over_the_channel(make_env, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    monkeypatch.setenv("RLM_HARMLESS_SETTING", "1")
    env = make_env()
    r = env.execute("print('before')\nraise KeyError('k')")
    assert (r.stdout, r.stderr, r.failure) == ("before\n", "\nKeyError: 'k'", None)
    r = env.execute("answer['content'] = 'the answer'\nanswer['ready'] = True")
    assert r.final_answer == "the answer" and r.failure is None
    r = env.execute(
        "import os\nprint(os.getcwd().endswith('work'), 'OPENAI_API_KEY' in os.environ, "
        "os.environ.get('RLM_HARMLESS_SETTING'))"
    )
    assert r.stdout == "True False 1\n"  # keys never reach model code


def test_input_does_not_hang(make_env):
    r = make_env().execute("input('? ')")
    assert "EOFError" in r.stderr


def test_subcall_round_trips(make_env):
    h = Handler()
    env = make_env(handler=h)
    r = env.execute(
        "a = llm_query('p1')\nb = llm_query_batched(['p2', 'p3'], model='m2')\n"
        "c = rlm_query('p4')\nd = rlm_query_batched(['p5', 'p6'])\nprint(a, b, c, d)"
    )
    assert r.stdout == "llm:-:p1 ['llm:m2:p2', 'llm:m2:p3'] rlm:-:p4 ['rlm:-:p5', 'rlm:-:p6']\n", r.stderr
    assert [(q.kind, q.prompts, q.model, q.batched) for q in h.requests] == [
        ("llm", ["p1"], None, False),
        ("llm", ["p2", "p3"], "m2", True),
        ("rlm", ["p4"], None, False),
        ("rlm", ["p5", "p6"], None, True),
    ]


def test_handler_errors_become_error_strings(make_env):
    def fn(req):
        if req.prompts[0] == "bad":
            raise RuntimeError("boom")
        return ["only one"]  # wrong length for a batch

    env = make_env(handler=Handler(fn))
    r = env.execute(
        "print(llm_query('bad'))\nprint(rlm_query_batched(['x', 'y']))\nprint(llm_query(b'bytes'))"
    )
    lines = r.stdout.splitlines()
    assert lines[0] == "Error: LM query failed - RuntimeError: boom"
    assert lines[1].startswith("['Error: RLM query failed - RuntimeError: the engine returned 1 answers")
    assert lines[2].startswith("Error: LM query failed - ") and "bytes" in lines[2]
    assert r.failure is None and r.stderr == ""


def test_parallel_calls_from_model_threads_are_dispatched_concurrently(make_env):
    barrier = threading.Barrier(4, timeout=10)

    def fn(req):
        barrier.wait()  # only passes when 4 requests are in flight at once
        return [p.upper() for p in req.prompts]

    env = make_env(handler=Handler(fn))
    r = env.execute(
        "from concurrent.futures import ThreadPoolExecutor\n"
        "with ThreadPoolExecutor(4) as ex:\n"
        "    out = list(ex.map(llm_query, ['a', 'b', 'c', 'd']))\nprint(out)"
    )
    assert r.stdout == "['A', 'B', 'C', 'D']\n", r.stderr


def test_timeout_interrupts_and_keeps_state(make_env):
    env = make_env(block_timeout=0.5)
    env.execute("x = 7")
    t0 = time.monotonic()
    r = env.execute("y = 1\nwhile True:\n    pass")
    assert time.monotonic() - t0 < 5
    assert r.failure == "timeout" and not r.state_lost
    assert r.stderr.startswith("\nTimeoutError: ") and "0.5 s" in r.stderr
    assert "y" not in r.locals and r.locals["x"] == 7
    r = env.execute("import time\ntime.sleep(60)")  # a blocking C call is interrupted too
    assert r.failure == "timeout" and not r.state_lost
    assert env.execute("print(x)").stdout == "7\n"


def test_time_waiting_for_subcalls_does_not_count(make_env):
    def slow(req):
        time.sleep(0.6)
        return ["ok"]

    env = make_env(handler=Handler(slow), block_timeout=0.4)
    r = env.execute("print(llm_query('a'), llm_query('b'))")
    assert r.failure is None and r.stdout == "ok ok\n"


def test_timeout_that_ignores_sigint_kills_and_restarts(make_env):
    env = make_env(block_timeout=0.3, interrupt_grace=0.3)
    env.execute("x = 1")
    old = env.pid
    r = env.execute("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass")
    assert r.failure == "timeout" and r.state_lost
    assert "TimeoutError" in r.stderr and "restarted" in r.stderr
    assert not alive(old)
    r = env.execute("print(context, 'x' in dir())")
    assert r.stdout == "ctx False\n" and env.pid != old


def test_cancel_from_another_thread(make_env):
    env = make_env()
    env.execute("x = 1")
    threading.Timer(0.3, env.cancel).start()
    t0 = time.monotonic()
    r = env.execute("while True:\n    pass")
    assert time.monotonic() - t0 < 5
    assert r.failure == "cancelled" and not r.state_lost and "KeyboardInterrupt" in r.stderr
    assert env.execute("print(x)").stdout == "1\n"


def test_cancel_while_waiting_for_a_subcall(make_env):
    release = threading.Event()

    def fn(req):
        release.wait(10)
        return ["late"]

    env = make_env(handler=Handler(fn))
    threading.Timer(0.3, env.cancel).start()
    threading.Timer(0.8, release.set).start()  # the engine notices the cancel a bit later
    r = env.execute("v = llm_query('x')")
    assert r.failure == "cancelled"
    assert env.execute("print('v' in dir())").stdout == "False\n"


def test_cancel_between_blocks_cancels_the_next_one(make_env):
    env = make_env()
    env.cancel()
    r = env.execute("print('not run')")
    assert r.failure == "cancelled" and r.stdout == ""
    assert env.execute("print('runs')").stdout == "runs\n"


@pytest.mark.parametrize(
    "code,needle",
    [
        ("import ctypes\nctypes.string_at(0)", "SIGSEGV"),
        ("import os\nos._exit(3)", "exited with code 3"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "SIGKILL"),
    ],
)
def test_crash_is_reported_and_the_next_block_gets_a_fresh_worker(make_env, code, needle):
    env = make_env()
    env.execute("x = 1")
    old = env.pid
    r = env.execute(code)
    assert r.failure == "crashed" and r.state_lost
    assert needle in r.stderr and "REPL process" in r.stderr
    assert not alive(old)
    r = env.execute("print(context, 'x' in dir())")
    assert r.stdout == "ctx False\n" and r.failure is None


def test_memory_bomb_hits_the_limit_not_the_machine(make_env):
    env = make_env(memory_limit_mb=400)
    env.execute("x = 1")
    r = env.execute("blob = bytearray(2 * 1024 ** 3)")
    assert "MemoryError" in r.stderr and r.failure is None
    assert env.execute("print(x)").stdout == "1\n"  # the worker survived


def test_print_flood_is_bounded(make_env):
    env = make_env(max_output=20_000)
    r = env.execute("for i in range(300000):\n    print('y' * 40, i)")
    assert len(r.stdout) < 200_000 and r.stdout.endswith(" 299999\n")
    assert "characters of output dropped" in r.stdout


def test_close_leaves_no_processes_sockets_or_files(make_env):
    env = make_env()
    r = env.execute("import subprocess\np = subprocess.Popen(['sleep', '60'])\nprint(p.pid)")
    grandchild = int(r.stdout)
    pid, tmp = env.pid, env._tmp
    assert alive(pid) and alive(grandchild) and os.path.isdir(tmp)
    env.close()
    env.close()  # idempotent
    deadline = time.monotonic() + 5
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not alive(pid) and not alive(grandchild)
    assert not os.path.exists(tmp)
    with pytest.raises(RuntimeError):
        env.execute("1")


def test_close_from_another_thread_ends_a_running_block(make_env):
    env = make_env()
    threading.Timer(0.3, env.close).start()
    r = env.execute("while True:\n    pass")
    assert r.failure == "cancelled"


def test_setup_code_runs_and_a_failing_one_fails_start(make_env):
    env = make_env(setup_code="THRESHOLD = 3")
    assert env.execute("print(THRESHOLD)").stdout == "3\n"
    with pytest.raises(RuntimeError, match="setup code failed"):
        make_env(setup_code="1/0")


def test_unsendable_context_fails_start_clearly():
    env = SubprocessReplEnvironment(object(), Handler())
    with pytest.raises(ValueError, match="context"):
        env.start()
    env.close()


def test_llm_query_round_trip_is_fast(make_env):
    env = make_env()
    r = env.execute(
        "import time\nt = time.perf_counter()\nfor _ in range(300):\n    llm_query('x')\n"
        "print((time.perf_counter() - t) / 300)"
    )
    per_call = float(r.stdout)
    assert per_call < 0.005, per_call  # typically ~0.15 ms on an idle machine


def test_output_printed_before_a_crash_or_kill_is_kept(make_env):
    env = make_env(block_timeout=0.6, interrupt_grace=0.4)
    r = env.execute(  # live output is flushed every 0.1 s; the sleep leaves time for that
        "import os, sys, time\nprint('partial')\nprint('warn', file=sys.stderr)\ntime.sleep(0.5)\nos._exit(5)"
    )
    assert r.failure == "crashed" and r.stdout == "partial\n"
    assert r.stderr.startswith("warn\n") and "exited with code 5" in r.stderr
    r = env.execute(
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nprint('looping')\nwhile True:\n    pass"
    )
    assert r.failure == "timeout" and r.state_lost and r.stdout == "looping\n"


def test_live_output_reaches_on_output_while_the_block_runs(make_env):
    seen: list[tuple[str, str]] = []
    got = threading.Event()

    def on_output(stream, text):
        seen.append((stream, text))
        if "tick 2" in text:
            got.set()

    env = make_env(on_output=on_output)
    waited = []

    def fn(req):  # the block is still running while this waits
        waited.append(got.wait(5))
        return ["ok"]

    env.handler = Handler(fn)
    r = env.execute("for i in range(3):\n    print('tick', i)\nllm_query('x')")
    assert waited == [True] and r.stdout == "tick 0\ntick 1\ntick 2\n"
    assert "".join(t for s, t in seen if s == "stdout") == r.stdout


def test_worker_also_connects_over_tcp():
    """The docker environment may need TCP; the same frames work over it."""
    import socket
    import subprocess
    import sys

    from rlm_desktop.engine.repl.process import WORKER_PATH
    from rlm_desktop.engine.repl.protocol import HostChannel

    srv = socket.create_server(("127.0.0.1", 0))
    srv.settimeout(20)
    port = srv.getsockname()[1]
    proc = subprocess.Popen([sys.executable, WORKER_PATH, "--connect", f"tcp://127.0.0.1:{port}"])
    try:
        conn, _ = srv.accept()
        ch = HostChannel(conn)
        assert ch.recv()["op"] == "hello"
        ch.send({"op": "init", "context": "tcp ctx"}, exact=True)
        assert ch.recv() == {"op": "ready", "error": None, "setup": None}
        ch.send({"op": "exec", "id": 1, "code": "print(context.upper())"})
        msg = ch.recv()
        while msg["op"] == "output":
            msg = ch.recv()
        assert msg["op"] == "result" and msg["stdout"] == "TCP CTX\n"
        ch.send({"op": "shutdown"})
        assert proc.wait(timeout=10) == 0
        ch.close()
    finally:
        srv.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_namespace_too_big_to_send_keeps_the_output(make_env):
    """A huge namespace is sent bounded (items and characters cut, with a note), not dropped."""
    from rlm_desktop.engine.repl.worker import ITEMS_LIMIT

    env = make_env(memory_limit_mb=600)
    r = env.execute("big = ['x' * 100] * 3_000_000\nprint('made it')")
    assert r.failure is None and r.stdout == "made it\n"
    assert len(r.locals["big"]) == ITEMS_LIMIT + 1
    assert r.locals["big"][-1] == f"... [{3_000_000 - ITEMS_LIMIT} more items not shown]"
    assert env.execute("del big\nprint('fine')").stdout == "fine\n"


def test_frozen_app_runs_the_worker_through_its_own_executable(monkeypatch, tmp_path):
    """What ``rlm-desktop --repl-worker --connect PATH`` does: import the worker module and
    call ``main(argv)``; the command is chosen when ``sys.frozen`` is set."""
    import sys

    from rlm_desktop.engine.repl import process

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert process.worker_command("/x/s0") == [sys.executable, "--repl-worker", "--connect", "/x/s0"]
    monkeypatch.delattr(sys, "frozen")
    entry = "import sys; from rlm_desktop.engine.repl.worker import main; sys.exit(main(sys.argv[1:]))"
    (tmp_path / "work").mkdir()
    w = process.launch(
        str(tmp_path), "s", 20, command=lambda p: [sys.executable, "-c", entry, "--connect", p]
    )
    try:
        assert w.chan.recv()["op"] == "hello"
        w.chan.send({"op": "init", "context": [1, 2]}, exact=True)
        assert w.chan.recv()["op"] == "ready"
        w.chan.send({"op": "exec", "id": 1, "code": "print(sum(context))"})
        msg = w.chan.recv()
        while msg["op"] == "output":
            msg = w.chan.recv()
        assert msg["stdout"] == "3\n"
    finally:
        process.kill_group(w.proc)
        w.chan.close()
        if w.proc.stdout is not None:
            w.proc.stdout.close()


def test_custom_worker_command(make_env):
    """The docker environment starts the worker its own way through ``command``."""
    import sys

    from rlm_desktop.engine.repl.process import WORKER_PATH

    seen = []

    def command(path):
        seen.append(path)
        return [sys.executable, "-S", WORKER_PATH, "--connect", path]

    env = make_env(command=command)
    assert env.execute("import sys\nprint(sys.flags.no_site)").stdout == "1\n"
    assert len(seen) == 1 and seen[0].startswith(env._tmp)
