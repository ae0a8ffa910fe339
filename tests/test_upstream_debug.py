"""``rlm-desktop debug``: real upstream ``rlms`` programs (tests/support/upstream_program.py) run
unchanged in their own process against the mock server, instrumented by the bootstrap; the
app side (``UpstreamProgram`` + the real ``DebugController``) runs here, without Qt."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from rlm_desktop.debugger import BreakpointManager, DebugController
from rlm_desktop.engine import events as ev
from rlm_desktop.engine.completions_log import CompletionsLog
from rlm_desktop.engine.upstream_host import NO_COMPLETION, UpstreamProgram
from rlm_desktop.trajectory.reader import read_file
from tests.support.mock_openai import MockLMServer
from tests.support.rlms_scenarios import finish, repl
from tests.support.upstream_brain import EDIT_MARK, brain

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = str(ROOT / "tests" / "support" / "upstream_program.py")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    pytest.importorskip("rlm")
    with MockLMServer(brain) as s:
        yield s


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def plain_run(server: MockLMServer, scenario: str = "full") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, PROGRAM, server.base_url, scenario], capture_output=True,
                          cwd=ROOT, timeout=240)


def headless(server: MockLMServer, *opts: str, scenario: str = "full", command: list[str] | None = None):
    cmd = command or [sys.executable, PROGRAM, server.base_url, scenario]
    return subprocess.run([sys.executable, "-m", "rlm_desktop", "debug", "--no-gui", *opts, "--", *cmd],
                          capture_output=True, cwd=ROOT, env=_env(), timeout=240)


class Paused:
    """Collects the controller's pauses; ``next()`` waits for the next one."""

    def __init__(self, ctl: DebugController) -> None:
        self.ctl = ctl
        self.states: list = []
        self.taken = 0
        self.cond = threading.Condition()
        ctl.add_listener(self._on)

    def _on(self, st) -> None:
        if st.state == "paused":
            with self.cond:
                self.states.append(st)
                self.cond.notify_all()

    def next(self, timeout: float = 120):
        """The next pause not returned yet (in the order the controller announced them)."""
        with self.cond:
            seen = self.cond.wait_for(lambda: len(self.states) > self.taken, timeout)
            assert seen, "the program never paused"
            self.taken += 1
            return self.states[self.taken - 1]


def debugged(server, scenario: str, ctl: DebugController, tmp_path: Path, observers=(), **kw):
    """Start the program under ``ctl`` in a thread; returns (program, thread, result box, stdout file)."""
    out = open(tmp_path / f"{scenario}.out", "wb")  # noqa: SIM115 - closed by the caller via the box
    prog = UpstreamProgram([sys.executable, PROGRAM, server.base_url, scenario], cwd=ROOT, stdout=out,
                           stderr=subprocess.PIPE if kw.pop("quiet", False) else None, **kw)
    ctl.attach(prog)
    for fn in observers:
        prog.add_observer(fn)
    box: dict = {}
    t = threading.Thread(target=lambda: box.setdefault("result", prog.run()), daemon=True)
    t.start()
    return prog, t, box, out


def _finish(t: threading.Thread, out, timeout: float = 180) -> None:
    t.join(timeout)
    assert not t.is_alive(), "the program did not finish"
    out.close()


# -- headless ---------------------------------------------------------------------------------


def test_output_identical_and_the_record_holds_every_lm_call_once_at_its_depth(server, tmp_path):
    server.clear()
    direct = plain_run(server)
    assert direct.returncode == 0, direct.stderr.decode()[-2000:]
    served_direct = len(server.calls())
    server.clear()
    rec = tmp_path / "rec.jsonl"
    dbg = headless(server, "--record", str(rec))
    assert dbg.returncode == 0, dbg.stderr.decode()[-2000:]
    assert dbg.stdout == direct.stdout  # byte for byte
    served = server.calls()
    assert len(served) == served_direct

    traj = read_file(str(rec))
    assert not traj.bad_lines
    assert len(traj.runs) == 3  # the root completion, then the persistent session's two turns
    assert traj.runs[0].final_answer == direct.stdout.decode().splitlines()[0].removeprefix("answer: ")

    # every LM call the mock served is in the record once: root turns of every run (with their
    # usage), plain sub-calls (llm_query, batched, the leaf rlm_query), compaction summaries
    from collections import Counter

    recorded: Counter = Counter()
    depths: dict[str, set[int]] = {}

    def walk(run):
        for it in run.iterations:
            assert it.usage is not None and it.usage.calls == 1  # root usage included
            recorded[run.metadata.get("root_model") or run.model] += 1
            depths.setdefault("turn:" + (run.metadata.get("root_model") or ""), set()).add(run.depth)
            for note in it.extra.get("compactions", []):
                recorded[note["model"]] += 1
            for b in it.code_blocks:
                for c in b.sub_calls:
                    if c.child is None:
                        recorded[c.model] += 1
                        depths.setdefault("call:" + c.model, set()).add(c.depth)
                    else:
                        walk(c.child)

    for i, run in enumerate(traj.runs):
        if i > 0:
            run.metadata = {"root_model": "mock-chat"}  # one metadata line per file, as upstream
        walk(run)
    assert recorded == Counter(r.model for r in served)
    assert depths["turn:mock-d2"] == {2}
    assert depths["call:mock-leaf"] == {3}
    assert depths["turn:mock-d1b"] == {1}
    assert traj.runs[0].sub_calls_by_depth() == {1: 5, 2: 2, 3: 1}


def test_the_record_says_what_upstream_own_log_says(server, tmp_path):
    """Root iterations in the record hold what upstream's RLMLogger wrote for the same run:
    prompts, responses, code, stdout/stderr, locals, final answers (plus our extras)."""
    rec = tmp_path / "rec.jsonl"
    logs = tmp_path / "upstream"
    dbg = subprocess.run([sys.executable, "-m", "rlm_desktop", "debug", "--no-gui", "--record", str(rec), "--",
                          sys.executable, PROGRAM, server.base_url, "full", str(logs)],
                         capture_output=True, cwd=ROOT, env=_env(), timeout=240)
    assert dbg.returncode == 0, dbg.stderr.decode()[-2000:]
    theirs = [json.loads(x) for x in next(logs.glob("*.jsonl")).read_text().splitlines()]
    ours = [json.loads(x) for x in rec.read_text().splitlines()]
    assert ours[0]["root_model"] == theirs[0]["root_model"] == "mock-root"
    n = len(theirs) - 1
    for a, b in zip(ours[1 : n + 1], theirs[1:], strict=True):
        for key in ("iteration", "prompt", "response", "final_answer"):
            assert a[key] == b[key], key
        assert len(a["code_blocks"]) == len(b["code_blocks"])
        for x, y in zip(a["code_blocks"], b["code_blocks"], strict=True):
            assert x["code"] == y["code"]
            for key in ("stdout", "stderr", "locals", "final_answer"):
                assert x["result"][key] == y["result"][key], key
            assert list(x["result"]["locals"]) == list(y["result"]["locals"])  # same order
            assert [c["response"] for c in x["result"]["rlm_calls"]] == [c["response"] for c in y["result"]["rlm_calls"]]
        assert "usage" in a["rlm_desktop"]  # the root call's own usage, which upstream does not log


def test_headless_breakpoints_print_where_they_hit_and_do_not_stop(server):
    dbg = headless(server, "--break", "depth:2", "--break", "final=>answer {answer}", scenario="deep")
    err = dbg.stderr.decode()
    assert dbg.returncode == 0, err
    assert "breakpoint 1 (depth) hit at RunStarted in run" in err and "(depth 2, iteration 0)" in err
    assert "log: answer deep done: d1 got d2 says" in err
    assert dbg.stdout.decode().startswith("answer: deep done:")


def test_bad_input_gets_one_clear_line_and_the_program_runs_as_without_us(server, tmp_path):
    missing = headless(server, command=["no-such-command-rlm-desktop"])
    assert missing.returncode == 127
    assert b"rlm-desktop: command not found: no-such-command-rlm-desktop" in missing.stderr

    echo = headless(server, command=["echo", "plain output"])
    assert echo.returncode == 0 and echo.stdout == b"plain output\n"
    assert NO_COMPLETION.encode() in echo.stderr and b"is `echo` a Python program?" in echo.stderr

    none = headless(server, scenario="none")
    assert none.returncode == 3 and none.stdout == b"no completion here\n"  # its own exit status
    assert f"the program {NO_COMPLETION} (exit status 3)".encode() in none.stderr

    # an upstream without the seams: a fake ``rlm`` whose RLM has no _completion_turn
    fake = tmp_path / "fake"
    (fake / "rlm" / "core").mkdir(parents=True)
    (fake / "rlm" / "__init__.py").write_text("from rlm.core.rlm import RLM\n")
    (fake / "rlm" / "core" / "__init__.py").write_text("")
    (fake / "rlm" / "core" / "rlm.py").write_text(
        "class RLM:\n    def completion(self, prompt):\n        return 'old answer to ' + prompt\n")
    prog = tmp_path / "old.py"
    prog.write_text("import rlm\nprint(rlm.RLM().completion('q'))\n")
    env = {"PYTHONPATH": str(fake)}
    direct = subprocess.run([sys.executable, str(prog)], capture_output=True, env={**os.environ, **env})
    old = headless(server, "--env", f"PYTHONPATH={fake}", command=[sys.executable, str(prog)])
    assert old.stdout == direct.stdout == b"old answer to q\n"
    lines = [ln for ln in old.stderr.decode().splitlines() if "RLM._completion_turn" in ln]
    assert len(lines) == 1 and "runs without the debugger" in lines[0], old.stderr


def test_the_program_own_sitecustomize_still_runs(server, tmp_path):
    theirs = tmp_path / "site"
    theirs.mkdir()
    (theirs / "sitecustomize.py").write_text("import builtins\nbuiltins.SITE_MARK = 'their sitecustomize ran'\n")
    prog = tmp_path / "p.py"
    prog.write_text("import sitecustomize, builtins\nprint(builtins.SITE_MARK, sitecustomize.__file__)\n")
    env = {**os.environ, "PYTHONPATH": str(theirs)}
    direct = subprocess.run([sys.executable, str(prog)], capture_output=True, env=env)
    dbg = headless(server, "--env", f"PYTHONPATH={theirs}", command=[sys.executable, str(prog)])
    assert direct.stdout.startswith(b"their sitecustomize ran")
    assert dbg.stdout == direct.stdout, dbg.stderr


# -- under the debugger (the controller the GUI uses) ----------------------------------------------


def test_depth_breakpoint_stops_in_the_grandchild_and_step_out_returns_to_the_parent(server, tmp_path):
    bps = BreakpointManager()
    bps.add(kind="depth", depth=2)
    ctl = DebugController(bps)
    paused = Paused(ctl)
    seen: list = []
    prog, t, box, out = debugged(server, "deep", ctl, tmp_path, observers=[seen.append])
    st = paused.next()
    assert isinstance(st.event, ev.RunStarted) and st.event.depth == 2
    grandchild = st.event.run_id
    assert grandchild.count("/") == 2 and st.reason == "breakpoint"
    assert st.threads and st.threads[0].thread_name.startswith("pid ")
    ctl.step_out()
    st = paused.next()
    assert st.event.depth == 1 and st.event.run_id == grandchild.rsplit("/", 1)[0]
    assert isinstance(st.event, ev.SubCallFinished) and st.event.child_run_id == grandchild
    ctl.resume()
    _finish(t, out)
    assert box["result"].exit_code == 0
    assert (tmp_path / "deep.out").read_bytes() == plain_run(server, "deep").stdout
    # the root's first block printed "tick", slept, printed "tock": "tick" came while it ran
    tick = next(e for e in seen if isinstance(e, ev.CodeBlockOutput) and "tick" in e.text)
    done = next(e for e in seen if isinstance(e, ev.CodeBlockFinished) and e.depth == 0)
    assert "tock" not in tick.text and done.time - tick.time > 0.3
    assert done.result["stdout"].startswith("tick\ntock\n")
    run = prog.recorder.trajectory.runs[0]
    assert run.final_answer.startswith("deep done: d1 got d2 says")


def test_rlm_query_batched_children_run_in_parallel_and_stop_together(server, tmp_path):
    bps = BreakpointManager()
    bps.add(kind="condition", condition="kind == 'RunStarted' and metadata['root_model'] == 'mock-d1b'")
    ctl = DebugController(bps)
    paused = Paused(ctl)
    prog, t, box, out = debugged(server, "full", ctl, tmp_path)
    st = paused.next()
    assert st.event.metadata["root_model"] == "mock-d1b" and st.event.depth == 1
    deadline = time.monotonic() + 60
    while len(ctl.paused_threads()) < 2:  # all-stop: the sibling child stops at its next boundary
        assert time.monotonic() < deadline, ctl.paused_threads()
        time.sleep(0.05)
    threads = ctl.paused_threads()
    assert len({p.thread_name for p in threads}) == 2 and all(p.thread_name.startswith("pid ") for p in threads)
    assert {p.run_id.rsplit("/", 1)[1] for p in threads} == {"3.0.0", "3.0.1"}  # batch items 0 and 1
    ctl.resume()
    while True:  # each child's own breakpoint hit may stop once more
        t.join(0.5)
        if not t.is_alive():
            break
        if ctl.is_paused:
            ctl.resume()
        assert time.monotonic() < deadline + 60
    out.close()
    assert box["result"].exit_code == 0


def test_an_edited_response_changes_what_runs(server, tmp_path):
    bps = BreakpointManager()
    bps.add(kind="text", pattern='"deep done: "')
    ctl = DebugController(bps)
    paused = Paused(ctl)
    rec = tmp_path / "edit.jsonl"
    log = CompletionsLog(rec)
    prog, t, box, out = debugged(server, "deep", ctl, tmp_path, observers=[log])
    st = paused.next()
    assert isinstance(st.event, ev.LMResponse) and st.event.depth == 0
    ctl.edit_response(repl(finish(f'"{EDIT_MARK}"')))
    ctl.resume()
    _finish(t, out)
    log.close()
    assert (tmp_path / "deep.out").read_text() == f"answer: {EDIT_MARK}\n"
    traj = read_file(str(rec))
    last = traj.runs[0].iterations[-1]
    assert last.edited and EDIT_MARK in last.response and '"deep done: "' in last.original_response


def test_a_run_paused_at_its_start_has_its_question_before_any_iteration(server, tmp_path):
    """The bootstrap sends upstream's ``root_prompt`` with RunStarted: the run's question is
    known while it waits at its start, before the first LM request; a completion given no
    ``root_prompt`` has none (its prompt is the context, not a question)."""
    from rlm_desktop.trajectory.run_card import question_of

    bps = BreakpointManager()
    bps.add(kind="depth", depth=0, one_shot=True)
    ctl = DebugController(bps)
    paused = Paused(ctl)
    prog, t, box, out = debugged(server, "full", ctl, tmp_path)
    try:
        st = paused.next()
        run = prog.recorder.run(st.event.run_id)
        at_start = (type(st.event).__name__, st.event.depth, st.event.question,
                    None if run is None else len(run.iterations), None if run is None else question_of(run))
    finally:
        ctl.resume()
        _finish(t, out)
    assert at_start == ("RunStarted", 0, "What do the parts say?", 0, "What do the parts say?")
    assert box["result"].exit_code == 0
    runs = prog.recorder.trajectory.runs
    assert question_of(runs[0]) == "What do the parts say?"  # from the first request as before
    assert len(runs) == 3 and runs[1].extra.get("started_question") is None  # a chat turn: no task


def test_stop_ends_the_completion_as_upstream_cancellation_and_the_program_goes_on(server, tmp_path):
    bps = BreakpointManager()
    bps.add(kind="depth", depth=2)
    ctl = DebugController(bps)
    paused = Paused(ctl)
    prog, t, box, out = debugged(server, "stopped", ctl, tmp_path)
    paused.next()
    ctl.stop()
    st = paused.next()  # the program's next completion is debugged as usual: its breakpoint stops
    assert isinstance(st.event, ev.RunStarted) and st.event.depth == 2 and not st.cancelled
    ctl.resume()
    _finish(t, out)
    text = (tmp_path / "stopped.out").read_text()
    # upstream's own KeyboardInterrupt handling made the CancellationError the program caught
    assert text.startswith("cancelled: Execution cancelled by user (Ctrl+C)\nafter the completion\n"
                           "again: deep done: d1 got d2 says")
    assert box["result"].exit_code == 0
    runs = prog.recorder.trajectory.runs
    assert [r.status.value for r in runs] == ["cancelled", "finished"]


def test_killing_the_app_mid_pause_lets_the_program_finish(server, tmp_path):
    out_path = tmp_path / "program.out"
    app = subprocess.Popen(
        [sys.executable, "-c", _APP, server.base_url, PROGRAM, str(out_path)],
        stdout=subprocess.PIPE, cwd=ROOT, env=_env(), text=True,
    )
    try:
        line = app.stdout.readline()
        assert line.startswith("PAUSED "), line
        pid = int(line.split()[1])
        assert out_path.read_text() == ""  # the program is blocked at the checkpoint
        app.send_signal(signal.SIGKILL)
        app.wait(10)
        deadline = time.monotonic() + 120
        while "answer:" not in out_path.read_text():
            assert time.monotonic() < deadline, "the program never finished after the app died"
            time.sleep(0.1)
        assert out_path.read_bytes() == plain_run(server, "deep").stdout
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
    finally:
        if app.poll() is None:
            app.kill()


_APP = r"""
import sys, threading
from rlm_desktop.debugger import BreakpointManager, DebugController
from rlm_desktop.engine.upstream_host import UpstreamProgram
base, program, out = sys.argv[1:4]
bps = BreakpointManager(); bps.add(kind="depth", depth=2)
ctl = DebugController(bps)
prog = UpstreamProgram([sys.executable, program, base, "deep"], stdout=open(out, "wb"))
ctl.attach(prog)
def on(st):
    if st.state == "paused":
        print("PAUSED", prog.pid, flush=True)
ctl.add_listener(on)
prog.run()
"""


def test_a_program_killed_mid_pause_is_shown_and_the_app_side_stays_up(server, tmp_path):
    bps = BreakpointManager()
    bps.add(kind="depth", depth=2)
    ctl = DebugController(bps)
    paused = Paused(ctl)
    prog, t, box, out = debugged(server, "deep", ctl, tmp_path)
    paused.next()
    prog.process.kill()
    _finish(t, out, timeout=60)
    assert box["result"].exit_code == 128 + signal.SIGKILL
    runs = list(prog.recorder.runs.values())
    assert runs and all(r.status.value == "failed" for r in runs)
    assert all("ended before this run finished" in (r.error or "") for r in runs)
    assert not ctl.is_paused  # the proxies of the dead program's threads were let go


def test_several_processes_each_show_their_completions_as_runs(server, tmp_path):
    direct = plain_run(server, "pool")
    assert direct.returncode == 0, direct.stderr.decode()[-2000:]
    ctl = DebugController(BreakpointManager())
    prog, t, box, out = debugged(server, "pool", ctl, tmp_path)
    _finish(t, out)
    assert (tmp_path / "pool.out").read_bytes() == direct.stdout
    roots = prog.recorder.trajectory.runs
    assert box["result"].completions == len(roots) == 5
    pids = {r.run_id.split("-")[0] for r in roots}
    assert len(pids) >= 3 and str(prog.pid) in pids  # the parent, and workers of both pools
    assert sorted(r.final_answer for r in roots) == sorted(
        [f"B:{m} item {i}:4" for m in ("fork", "spawn") for i in range(2)] + ["B:parent item:4"])
    assert all(r.status.value == "finished" for r in roots)


_INTRUDER = r"""
import json, os, socket
kind, _, where = os.environ["RLM_DESKTOP_DEBUG"].partition(":")
if kind == "unix":
    s = socket.socket(socket.AF_UNIX); s.connect(where)
else:
    host, _, port = where.rpartition(":"); s = socket.socket(); s.connect((host, int(port)))
s.sendall((json.dumps({"t": "hello", "token": "not-the-token", "pid": 1}) + "\n").encode())
s.settimeout(10)
print("refused" if s.recv(100) == b"" else "accepted")
"""


@pytest.mark.parametrize("transport", ["auto", "tcp"])
def test_the_channel_wants_the_session_token(transport, tmp_path):
    out = tmp_path / "out"
    with open(out, "wb") as fh:
        prog = UpstreamProgram([sys.executable, "-c", _INTRUDER], stdout=fh, transport=transport)
        result = prog.run()
    assert result.exit_code == 0 and out.read_text() == "refused\n"
    assert result.completions == 0 and not prog.recorder.trajectory.runs


def test_the_tcp_channel_debugs_like_the_unix_one(server, tmp_path):
    bps = BreakpointManager()
    bps.add(kind="depth", depth=2)
    ctl = DebugController(bps)
    paused = Paused(ctl)
    prog, t, box, out = debugged(server, "deep", ctl, tmp_path, transport="tcp")
    st = paused.next()
    assert st.event.depth == 2
    ctl.resume()
    _finish(t, out)
    assert (tmp_path / "deep.out").read_text().startswith("answer: deep done:")


def test_completions_in_two_threads_at_once_are_two_runs_and_the_record_keeps_them_apart(server, tmp_path):
    rec = tmp_path / "threads.jsonl"
    log = CompletionsLog(rec)
    ctl = DebugController(BreakpointManager())
    prog, t, box, out = debugged(server, "threads", ctl, tmp_path, observers=[log])
    _finish(t, out)
    log.close()
    roots = prog.recorder.trajectory.runs
    assert len(roots) == 2 and {r.final_answer for r in roots} == {"B:thread item 0:4", "B:thread item 1:4"}
    traj = read_file(str(rec))
    assert len(traj.runs) == 2 and not traj.bad_lines
    assert {r.iterations[-1].final_answer for r in traj.runs} == {"B:thread item 0:4", "B:thread item 1:4"}


# -- the record of several completions ---------------------------------------------------------


def _root_events(rid: str, n: int):
    meta = {"root_model": f"m-{rid}", "max_depth": 1, "max_iterations": 5, "backend": "openai",
            "backend_kwargs": {}, "environment_type": "local", "environment_kwargs": {}, "other_backends": None}
    yield ev.RunStarted(run_id=rid, parent_id=None, depth=0, iteration=0, metadata=meta)
    for i in range(1, n + 1):
        rec = {"type": "iteration", "iteration": i, "timestamp": "t", "prompt": [], "response": f"{rid}-{i}",
               "code_blocks": [], "final_answer": None, "iteration_time": 0.1}
        yield ev.IterationFinished(run_id=rid, parent_id=None, depth=0, iteration=i, record=rec)
    yield ev.RunFinished(run_id=rid, parent_id=None, depth=0, iteration=n, final_answer="x")


def test_completions_log_keeps_overlapping_completions_apart(tmp_path):
    path = tmp_path / "many.jsonl"
    log = CompletionsLog(path, fsync=False)
    a, b, c = (list(_root_events(r, 2)) for r in ("a", "b", "c"))
    # a starts; b starts and finishes while a runs; c starts while a runs and is left unfinished
    for e in [a[0], a[1], b[0], b[1], c[0], b[2], c[1], a[2], b[3], a[3], c[2]]:
        log(e)
    log.close()
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert lines[0]["type"] == "metadata" and lines[0]["root_model"] == "m-a"
    assert [x["response"] for x in lines[1:]] == ["a-1", "a-2", "b-1", "b-2", "c-1", "c-2"]
    traj = read_file(str(path))
    assert len(traj.runs) == 3 and not traj.bad_lines
