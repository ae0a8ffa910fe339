"""The engine with the REAL subprocess REPL: model code that kills, hangs or floods the REPL
never takes the engine down; the run fails or goes on cleanly and the log stays readable.

Skipped (with the reason) until ``rlm_desktop.engine.repl.subprocess_env`` exists; every other
engine test also switches to the real REPL then (``tests.test_engine_fakes.env_choice``)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from rlm_desktop.trajectory.model import RunStatus
from rlm_desktop.trajectory.reader import read_file
from tests.test_engine_fakes import real_repl_available
from tests.test_engine_loop import R, make_engine

pytestmark = pytest.mark.skipif(not real_repl_available(), reason="the subprocess REPL has not landed yet")


def records(path):
    return [json.loads(x) for x in Path(path).read_text(encoding="ascii").splitlines()]


def test_os_exit_in_model_code_fails_the_run_not_the_app(tmp_path):
    eng, events = make_engine(
        {"r0/i0": R("print('before')"), "r0/i1": R("import os\nos._exit(3)")},
        tmp_path,
        environment="subprocess",
    )
    result = eng.completion("q", "ctx")
    assert result.status == RunStatus.FAILED and "REPL" in result.error
    recs = records(result.log_path)
    assert recs[1]["code_blocks"][0]["result"]["stdout"] == "before\n"
    assert recs[-1]["rlm_desktop"]["status"] == "failed"


def test_block_timeout_is_an_error_the_model_sees(tmp_path):
    script = {
        "r0/i0": R("while True:\n    pass"),
        "r0/i1": R("answer['content'] = 'recovered'\nanswer['ready'] = True"),
    }
    eng, _ = make_engine(script, tmp_path, environment="subprocess", block_timeout=1.0)
    t0 = time.monotonic()
    result = eng.completion("q", "ctx")
    assert time.monotonic() - t0 < 20
    assert result.ok and result.response == "recovered", result.error
    assert result.run.iterations[0].code_blocks[0].stderr


def test_cancel_interrupts_a_busy_loop(tmp_path):
    eng, _ = make_engine({"r0/i0": R("while True:\n    pass")}, tmp_path, environment="subprocess")
    started = threading.Event()
    eng.add_observer(lambda e: started.set() if e.kind == "CodeBlockStarted" else None)
    threading.Timer(0.0, lambda: (started.wait(10), time.sleep(0.3), eng.cancel())).start()
    t0 = time.monotonic()
    result = eng.completion("q", "ctx")
    assert time.monotonic() - t0 < 10
    assert result.status == RunStatus.CANCELLED
    assert read_file(result.log_path).runs[0].status == RunStatus.CANCELLED


@pytest.mark.parametrize("environment", ["subprocess", "inprocess"])
def test_real_repl_runs_the_full_tree(tmp_path, environment):
    from tests.test_engine_loop import FULL

    eng, _ = make_engine(FULL, tmp_path, environment=environment, max_depth=2, max_iterations=6)
    result = eng.completion("Summarise the parts.", "some context text")
    assert result.response == "words=3 / ONE, TWO, THREE", result.error
    it = result.run.iterations[1]
    assert "NameError" in it.code_blocks[0].stderr
    assert result.run.iterations[0].code_blocks[0].locals.get("context") == "some context text"


def test_live_output_of_a_running_block_reaches_observers_and_the_recorder(tmp_path):
    from rlm_desktop.engine import events as ev
    from rlm_desktop.engine.recorder import LiveRecorder

    code = "import time\nfor i in range(3):\n    print('tick', i, flush=True)\n    time.sleep(0.2)"
    eng, events = make_engine(
        {"r0/i0": R(code), "r0/i1": R("answer['content'] = 'ok'\nanswer['ready'] = True")},
        tmp_path,
        environment="subprocess",
    )
    rec = LiveRecorder()
    lock = threading.Lock()
    live_stdout = []

    def obs(e):
        with lock:
            node = rec.apply(e)
            if isinstance(e, ev.CodeBlockOutput):
                live_stdout.append(node.stdout if node is not None else None)

    eng.add_observer(obs)
    result = eng.completion("q", "ctx")
    assert result.ok
    outs = [e for e in events if isinstance(e, ev.CodeBlockOutput)]
    assert outs and "".join(e.text for e in outs if e.stream == "stdout") == "tick 0\ntick 1\ntick 2\n"
    assert live_stdout[0].startswith("tick 0")  # the running block grew before it finished
    assert rec.trajectory.runs[0].iterations[0].code_blocks[0].stdout == "tick 0\ntick 1\ntick 2\n"
