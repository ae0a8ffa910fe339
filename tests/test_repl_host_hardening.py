"""The host side of the process REPLs (subprocess and the bubblewrap sandbox) trusts nothing
the worker sends: model code runs there and can write any frame to the channel."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from rlm_desktop.engine.repl import tempdirs
from rlm_desktop.engine.repl.bwrap import probe
from rlm_desktop.engine.repl.sandbox_env import SandboxReplEnvironment
from rlm_desktop.engine.repl.subprocess_env import SubprocessReplEnvironment
from rlm_desktop.engine.repl.worker import VALUE_LIMIT
from tests.support.repl_envs import started_envs

KINDS = [SubprocessReplEnvironment]
if sys.platform.startswith("linux") or probe().available:  # on Linux a missing bwrap fails, never skips
    KINDS.append(SandboxReplEnvironment)

#: model code that reaches the worker's own channel, as an attacker would
GRAB = """
import gc, json, struct
ch = next(o for o in gc.get_objects() if type(o).__name__ == "Channel")
worker = next(o for o in gc.get_objects() if type(o).__name__ == "Worker")
def raw(obj):
    data = json.dumps(obj).encode()
    with ch._send_lock:
        ch.sock.sendall(struct.pack(">I", len(data)) + data)
"""


def _answers(req):
    return [f"answer to {p}" for p in req.prompts]


@pytest.fixture(params=KINDS, ids=lambda c: c.name)
def make_env(request):
    yield from started_envs(request.param, lambda: _answers, memory_limit_mb=1024)


@pytest.mark.parametrize(
    "frame",
    [
        'raw({"op": "subcall", "id": 99, "kind": "llm", "prompts": 5, "model": None, "batched": False})',
        'raw({"op": "output", "id": worker.block_id, "stdout": 7, "stderr": ""})',
        'raw([1, 2, 3])',
        'ch.sock.sendall(struct.pack(">I", 2**31))',  # a 2 GB frame: refused before reading
        'ch.sock.sendall(struct.pack(">I", 5) + b"{nope")',
    ],
)
def test_a_malformed_frame_ends_the_block_with_a_clear_error(make_env, frame):
    env = make_env(block_timeout=30)
    t0 = time.monotonic()
    r = env.execute(GRAB + frame + "\nimport time\ntime.sleep(60)")
    assert time.monotonic() - t0 < 10
    assert r.failure == "crashed" and r.state_lost
    assert "ReplProtocolError: the REPL sent a malformed frame" in r.stderr
    assert env.execute("print('fresh')").stdout == "fresh\n"


def test_block_timeout_holds_while_background_threads_keep_sub_calls_in_flight(make_env):
    def slow(req):
        time.sleep(0.3)
        return ["x"] * len(req.prompts)

    env = make_env(handler=slow, block_timeout=2.0, interrupt_grace=1.0)
    code = (
        "import threading, time\n"
        "def spin():\n    while True:\n        llm_query('again')\n"
        "for _ in range(3):\n    threading.Thread(target=spin, daemon=True).start()\n"
        "while True:\n    time.sleep(0.05)\n"
    )
    t0 = time.monotonic()
    r = env.execute(code)
    assert r.failure == "timeout", r
    assert time.monotonic() - t0 < 8


def test_sub_calls_of_the_block_itself_still_stop_its_clock(make_env):
    def slow(req):
        time.sleep(0.8)
        return ["x"] * len(req.prompts)

    env = make_env(handler=slow, block_timeout=1.0)
    r = env.execute("for _ in range(3):\n    llm_query('q')\nprint('done')")
    assert r.failure is None and r.stdout == "done\n", r.stderr


def test_forged_output_frames_do_not_pass_the_cap(make_env):
    limit = 200_000
    seen = []
    env = make_env(max_output=limit)
    env.on_output = lambda stream, text: seen.append(len(text))
    code = GRAB + (
        "for _ in range(20):\n"
        "    raw({'op': 'output', 'id': worker.block_id, 'stdout': 'A' * 100_000, 'stderr': 'B' * 100_000})\n"
        "print('x' * 1_000_000)\n"
        "import time; time.sleep(0.3)\n"
    )
    r = env.execute(code)
    assert r.failure is None, r.stderr
    assert sum(seen) <= 2 * limit
    assert len(r.stdout) <= limit + 70_000


def test_forged_result_locals_are_bounded_on_the_host(make_env):
    env = make_env()
    code = GRAB + (
        "raw({'op': 'result', 'id': worker.block_id, 'stdout': 'forged', 'stderr': '', "
        "'locals': {'x': 'a' * 20_000_000, 'y': list(range(100_000))}, 'execution_time': 0.0, "
        "'final_answer': None, 'interrupted': False, 'ok': True})\n"
        "import time; time.sleep(0.5)\n"
    )
    r = env.execute(code)
    assert len(r.locals["x"]) < VALUE_LIMIT + 200
    assert len(r.locals["y"]) < 20_000


def _rss_mb():
    with open("/proc/self/status") as f:
        return next(int(x.split()[1]) for x in f if x.startswith("VmRSS")) / 1024


def test_a_400_mb_variable_stays_small_in_the_app(make_env):
    env = make_env(memory_limit_mb=2048)
    before = _rss_mb()
    r = env.execute("big = 'z' * 400_000_000\nprint(len(big))")
    assert r.failure is None and r.stdout == "400000000\n", r.stderr
    assert len(r.locals["big"]) < VALUE_LIMIT + 200
    assert _rss_mb() - before < 100


@pytest.mark.parametrize(
    "death",
    ["import os; os._exit(3)", "import ctypes; ctypes.string_at(0)", "import os, signal; os.kill(os.getpid(), 9)"],
)
def test_output_printed_just_before_a_crash_is_kept(make_env, death):
    env = make_env()
    r = env.execute(f"import sys\nprint('last words')\nprint('on stderr', file=sys.stderr)\n{death}")
    assert r.failure == "crashed"
    assert r.stdout == "last words\n"
    assert "on stderr" in r.stderr and "ReplCrashed" in r.stderr
    why = {"_exit(3)": "exited with code 3", "string_at": "SIGSEGV (segmentation fault)", "9)": "SIGKILL"}
    assert next(v for k, v in why.items() if k in death) in r.stderr, r.stderr


def test_temp_dirs_of_dead_apps_are_removed_live_ones_kept(tmp_path):
    code = f"import sys; sys.path.insert(0, {os.getcwd()!r}); from rlm_desktop.engine.repl import tempdirs; print(tempdirs.make_dir({str(tmp_path)!r}))"
    dead = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    live = tempdirs.make_dir(str(tmp_path))
    os.makedirs(os.path.join(dead, "work", "deep"))
    unowned = tmp_path / "rlm-repl-unowned"
    unowned.mkdir()
    assert tempdirs.cleanup_leftovers(str(tmp_path)) == [dead]
    assert not os.path.exists(dead) and os.path.isdir(live) and unowned.is_dir()


def test_closing_removes_the_temp_dir(make_env):
    env = make_env()
    tmp = env._tmp
    assert os.path.isfile(os.path.join(tmp, tempdirs.OWNER_FILE))
    env.close()
    assert not os.path.exists(tmp)


def test_cancel_from_another_thread_during_background_sub_calls(make_env):
    env = make_env(handler=lambda req: (time.sleep(0.2), ["x"] * len(req.prompts))[1])
    threading.Timer(1.0, env.cancel).start()
    t0 = time.monotonic()
    r = env.execute(
        "import threading, time\n"
        "threading.Thread(target=lambda: [llm_query('q') for _ in range(1000)], daemon=True).start()\n"
        "while True:\n    time.sleep(0.05)\n"
    )
    assert r.failure == "cancelled" and time.monotonic() - t0 < 10


def test_a_400_mb_variable_makes_a_small_log_line(tmp_path):
    from tests.test_engine_loop import R, make_engine

    script = {
        "r0/i0": R("big = 'z' * 400_000_000\nprint(len(big))"),
        "r0/i1": R("answer['content'] = str(len(big))\nanswer['ready'] = True"),
    }
    eng, _ = make_engine(script, tmp_path, environment=KINDS[-1].name, memory_limit_mb=2048)
    before = _rss_mb()
    result = eng.completion("q", "ctx")
    assert result.ok and result.response == "400000000", result.error
    assert os.path.getsize(result.log_path) < 4 * 1024 * 1024
    assert _rss_mb() - before < 150
