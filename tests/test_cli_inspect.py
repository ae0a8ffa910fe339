"""``rlm-desktop inspect`` as a user runs it: a subprocess on real upstream logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlm_desktop.trajectory.reader import read_file
from rlm_desktop.trajectory.summary import run_usage
from tests.support.rlms_scenarios import shared_logs


@pytest.fixture(scope="session")
def logs() -> dict[str, Path]:
    return shared_logs()


def inspect(*args: str, **kw: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "rlm_desktop", "inspect", *args], capture_output=True, timeout=60, **kw
    )


def test_text_tree_of_a_depth3_run(logs: dict[str, Path]) -> None:
    proc = inspect(str(logs["depth3"]))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert "run 0 [finished] mock-root  3 iterations" in out
    assert "sub-calls by depth: d1=4 d2=2 d3=1" in out
    assert "child run (depth 2) [finished] mock-d2" in out
    assert "c0  llm d3 mock-leaf" in out
    assert 'b0  r = rlm_query("Delegate: analyse part A", model="mock-d1")' in out
    assert "final answer: root done: d1 got d2 says [mock-leaf]" in out
    assert "bad lines: 0" in out
    assert "Traceback" not in proc.stderr.decode()


def test_json_matches_the_model(logs: dict[str, Path]) -> None:
    proc = inspect(str(logs["depth3"]), "--json")
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)  # strict JSON
    traj = read_file(str(logs["depth3"]))
    run, jrun = traj.runs[0], doc["runs"][0]
    assert jrun["sub_calls_by_depth"] == {"1": 4, "2": 2, "3": 1}
    assert jrun["usage"]["input_tokens"] == run_usage(run).input_tokens > 0  # each call once
    assert doc["usage"]["calls"] == 8  # what the mock server answered besides the root turns
    assert jrun["final_answer"] == run.final_answer and jrun["status"] == "finished"
    assert [it["line"] for it in jrun["iterations"]] == [2, 3, 4]
    d1 = jrun["iterations"][0]["blocks"][0]["sub_calls"][0]["child"]
    d2 = d1["iterations"][1]["blocks"][0]["sub_calls"][0]["child"]
    leaf = d2["iterations"][0]["blocks"][0]["sub_calls"][0]
    assert (d1["depth"], d2["depth"], leaf["depth"], leaf["kind"]) == (1, 2, 3, "llm")
    assert leaf["path"] == traj.find(leaf["path"]).path
    summary = json.loads(inspect(str(logs["depth3"]), "--json", "--summary").stdout)
    assert "iterations" not in summary["runs"][0] and summary["runs"][0]["iterations_count"] == 3
    shallow = json.loads(inspect(str(logs["depth3"]), "--json", "--max-depth", "1").stdout)
    child = shallow["runs"][0]["iterations"][0]["blocks"][0]["sub_calls"][0]["child"]
    assert child["depth"] == 1 and "iterations" not in child


def test_errors_default_answers_and_multiple_runs(logs: dict[str, Path]) -> None:
    out = inspect(str(logs["basic"])).stdout.decode()
    assert "! ZeroDivisionError: division by zero" in out
    out = inspect(str(logs["max_iterations"])).stdout.decode()
    assert "[max_iterations]" in out and "i3  line 4  -  0 blocks  default answer" in out
    out = inspect(str(logs["multi_completion"]), "--summary").stdout.decode()
    assert out.count("[finished]") == 3 and "runs: 3" in out and "  i1  " not in out


def test_bad_lines_exit_1_and_running_exit_0(logs: dict[str, Path]) -> None:
    proc = inspect(str(logs["crash_partial"]))
    assert proc.returncode == 1
    assert "bad lines: 1" in proc.stdout.decode() and "line 3: unterminated last line" in proc.stdout.decode()
    proc = inspect(str(logs["crash_partial"]), "--running")
    assert proc.returncode == 0 and b"pending" in proc.stdout


def test_unreadable_files_and_bad_arguments_exit_2(tmp_path: Path) -> None:
    missing = inspect(str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2 and b"nope.jsonl" in missing.stderr and not missing.stdout
    assert inspect(str(tmp_path)).returncode == 2
    assert inspect("--bogus-flag", str(tmp_path)).returncode == 2
    assert inspect("--help").returncode == 0


def test_log_text_cannot_drive_the_terminal(tmp_path: Path) -> None:
    p = tmp_path / "hostile.jsonl"
    answer = "\x1b[2J\x1b]0;pwned\x07<script>x</script>\u2028\r\ud800"
    rec = {
        "type": "iteration",
        "iteration": 1,
        "timestamp": "t",
        "prompt": [],
        "response": "r",
        "code_blocks": [],
        "final_answer": answer,
        "iteration_time": 1.0,
    }
    p.write_text(json.dumps(rec) + "\n{broken \x1b[31m\n")
    proc = inspect(str(p))
    assert proc.returncode == 1
    assert b"\x1b" not in proc.stdout and b"\x07" not in proc.stdout and b"\r" not in proc.stdout
    out = proc.stdout.decode()
    assert "\\x1b[2J" in out and "<script>x</script>" in out and "line 2:" in out
    doc = json.loads(inspect(str(p), "--json").stdout)
    assert doc["runs"][0]["final_answer"] == answer.replace("\ud800", "\ufffd")


def test_closed_pipe_is_quiet(tmp_path: Path) -> None:
    p = tmp_path / "long.jsonl"
    line = {
        "type": "iteration",
        "iteration": 0,
        "timestamp": "t",
        "prompt": [],
        "response": "r",
        "code_blocks": [{"code": "print(1)", "result": {"stdout": "1\n"}}],
        "final_answer": None,
        "iteration_time": 0.5,
    }
    p.write_text("".join(json.dumps({**line, "iteration": n}) + "\n" for n in range(1, 5001)))
    proc = subprocess.Popen(
        [sys.executable, "-m", "rlm_desktop", "inspect", str(p)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.read(10)
    proc.stdout.close()
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert b"Traceback" not in err and b"Exception" not in err


def test_fifos_and_devices_are_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)  # nobody writes to it: reading would block forever
    for target in (str(fifo), "/dev/zero", "/dev/null"):
        proc = inspect(target)  # the helper's timeout fails the test if it hangs
        assert proc.returncode == 2 and not proc.stdout, target
        err = proc.stderr.decode()
        assert "regular files only" in err and "Traceback" not in err, err
    assert "FIFO" in inspect(str(fifo)).stderr.decode()
    assert "character device" in inspect("/dev/zero", "--summary").stderr.decode()


def _peak_rss_mb(*args: str) -> tuple[subprocess.CompletedProcess[bytes], float]:
    # VmHWM (this process image's own peak), not ru_maxrss: after a (v)fork + exec Linux
    # carries the parent's peak over into ru_maxrss, and pytest's process can be big
    code = (
        "import re, sys\n"
        "from rlm_desktop.cli import inspect_main\n"
        "rc = inspect_main(sys.argv[1:])\n"
        "sys.stdout.flush()\n"
        "kb = int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
        "print('PEAK', kb // 1024, file=sys.stderr)\n"
        "raise SystemExit(rc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, timeout=120)
    peak = float(proc.stderr.decode().split("PEAK")[-1])
    return proc, peak


def test_an_endless_line_does_not_grow_memory(tmp_path: Path) -> None:
    """A regular file that is one endless line of zero bytes (what ``/dev/zero`` copied into a
    file gives): inspect reports it as a bad line and its memory stays bounded."""
    p = tmp_path / "zeros.jsonl"
    good = json.dumps({"type": "iteration", "iteration": 1, "timestamp": "t", "prompt": [], "response": "r",
                       "code_blocks": [], "final_answer": "ok", "iteration_time": 1.0})
    with p.open("wb") as fh:
        fh.write(good.encode() + b"\n")
        chunk = b"\0" * (1 << 20)
        for _ in range(300):  # 300 MB, no newline
            fh.write(chunk)
    for extra in ((), ("--summary",)):
        proc, peak = _peak_rss_mb(str(p), "--max-line-mb", "8", *extra)
        out = proc.stdout.decode()
        assert proc.returncode == 1, proc.stderr
        assert "line 2: line too long (314,572,800 bytes); not read" in out
        assert "final answer: ok" in out
        assert peak < 150, (extra, peak)  # the whole line would be > 300 MB


def test_summary_streams_the_file_instead_of_building_the_model(logs: dict[str, Path], tmp_path: Path) -> None:
    """--summary gives the same run lines as the full read, from the one-pass totals."""
    for name in ("depth3", "multi_completion", "max_iterations", "crash_partial"):
        full = json.loads(inspect(str(logs[name]), "--json").stdout)
        summ = json.loads(inspect(str(logs[name]), "--json", "--summary").stdout)
        assert summ["bad_line_count"] == len(full["bad_lines"])
        for a, b in zip(full["runs"], summ["runs"], strict=True):
            a.pop("iterations")
            assert a == b, name
        for k in ("era", "line_count", "pending_tail", "metadata", "usage", "bad_lines", "size_bytes"):
            assert full[k] == summ[k], (name, k)
        text_full = [ln for ln in inspect(str(logs[name])).stdout.decode().splitlines() if not ln.startswith("  ")]
        text_summ = inspect(str(logs[name]), "--summary").stdout.decode().splitlines()
        assert [ln for ln in text_summ if not ln.startswith("  ")] == text_full


def test_escape_sequences_in_every_printed_field_are_escaped(tmp_path: Path) -> None:
    """ANSI/OSC sequences and bidi controls in models, code, errors, answers and bad lines."""
    evil = "\x1b]8;;http://x\x07link\x1b]8;;\x07\x1b[31m\u202eRTL\u2066\x9b"
    meta = {"type": "metadata", "timestamp": "t", "root_model": evil, "max_depth": 2, "max_iterations": 3,
            "backend": evil, "backend_kwargs": {}, "environment_type": evil, "environment_kwargs": {},
            "other_backends": None}
    call = {"root_model": evil, "prompt": evil, "response": evil, "usage_summary": {}, "execution_time": 0.1}
    it = {"type": "iteration", "iteration": 1, "timestamp": "t", "prompt": [], "response": evil,
          "code_blocks": [{"code": evil, "result": {"stdout": evil, "stderr": "\nValueError: " + evil,
                                                   "locals": {}, "execution_time": 0.1, "rlm_calls": [call]}}],
          "final_answer": evil, "iteration_time": 1.0}
    p = tmp_path / "evil.jsonl"
    p.write_text(json.dumps(meta) + "\n" + json.dumps(it) + "\n" + evil + "\n")
    for extra in ((), ("--summary",)):
        out = inspect(str(p), *extra).stdout
        for raw in (b"\x1b", b"\x07", "\u202e".encode(), "\u2066".encode(), "\x9b".encode()):
            assert raw not in out, (extra, raw)
        text = out.decode()
        assert "\\x1b]8;;http://x\\x07link" in text and "\\u202eRTL\\u2066" in text and "\\x9b" in text
