"""FileTailer: only complete lines, offsets, truncation/replacement/deletion (no Qt)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rlm_desktop.trajectory.model import CodeBlock, Iteration, Run, RunStatus, SubCall, Trajectory
from rlm_desktop.trajectory.reader import read_file
from rlm_desktop.trajectory.tail import FileTailer, NoticeKind
from rlm_desktop.trajectory.tail_follow import Follower
from tests.support import tail_logs

ROOT = Path(__file__).resolve().parent.parent


def snapshot(traj: Trajectory) -> dict:
    """Everything a panel would show, in a comparable form."""
    nodes = []
    for node in traj.walk():
        if isinstance(node, Run):
            nodes.append(
                (
                    "run",
                    node.path,
                    node.status,
                    node.final_answer,
                    node.error,
                    len(node.iterations),
                    node.model,
                )
            )
        elif isinstance(node, Iteration):
            nodes.append(
                (
                    "it",
                    node.path,
                    node.number,
                    node.line_no,
                    node.final_answer,
                    node.response,
                    node.is_default_answer,
                    node.prompt,
                    node.iteration_time,
                )
            )
        elif isinstance(node, CodeBlock):
            nodes.append(
                ("block", node.path, node.code, node.stdout, node.stderr, node.locals, node.final_answer)
            )
        elif isinstance(node, SubCall):
            nodes.append(("call", node.path, node.model, node.response, node.usage, node.child is not None))
    return {
        "metadata": traj.metadata,
        "era": traj.era,
        "line_count": traj.line_count,
        "pending_tail": traj.pending_tail,
        "bad": [(b.line_no, b.message) for b in traj.bad_lines],
        "nodes": nodes,
    }


class Writer:
    """The writer subprocess of tests/support/tail_logs.py, driven step by step."""

    def __init__(self, path: Path, seed: int = 0) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.tail_logs", str(path), str(seed)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def do(self, cmd: str) -> None:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "ok", f"writer failed on {cmd!r}"

    def crash(self) -> int:
        assert self.proc.stdin
        self.proc.stdin.write("crash\n")
        self.proc.stdin.flush()
        return self.proc.wait(10)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("q\n")  # type: ignore[union-attr]
            self.proc.stdin.flush()  # type: ignore[union-attr]
            self.proc.wait(10)


def wait_for(cond, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


def test_partial_line_waits_for_its_newline(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    w = Writer(path)
    try:
        w.do("w 3")  # metadata + 2 iterations
        t = FileTailer(path)
        up = t.poll()
        assert up.new_lines == 3 and [it.number for it in up.new_iterations] == [1, 2]
        w.do("h")  # half of iteration 3
        size = path.stat().st_size
        up = t.poll()
        assert up.new_lines == 0 and not up.new_iterations
        assert t.offset == size and t.pending_bytes > 0 and t.trajectory.pending_tail
        assert t.trajectory.bad_lines == []
        w.do("r")
        up = t.poll()
        assert [it.number for it in up.new_iterations] == [3]
        assert t.pending_bytes == 0 and not t.trajectory.pending_tail
        assert t.consumed == path.stat().st_size
        # the live model grows in place: same Run object, one more iteration
        run = t.trajectory.runs[0]
        w.do("w 2")
        t.poll()
        assert t.trajectory.runs[0] is run and len(run.iterations) == 5 and run.status == RunStatus.RUNNING
    finally:
        w.close()


def test_follower_with_chunked_writer_equals_full_read(tmp_path: Path) -> None:
    """Long lines written in many flushed chunks while the follower reads: no partial line
    is ever consumed and the final model equals reading the finished file."""
    path = tmp_path / "run.jsonl"
    path.touch()
    updates = []
    with Follower(path, debounce=0.001, max_latency=0.005, auto_apply=True, on_lines=updates.append) as f:
        tailer = f.tail(path)
        w = Writer(path, seed=1)
        try:
            w.do("w 1")
            for _ in range(20):
                w.do("c 40")  # each record in 40 flushed pieces
            w.do("w 20")
        finally:
            w.close()
        size = path.stat().st_size
        wait_for(lambda: tailer.consumed == size)
    assert tailer.trajectory.bad_lines == []
    assert sum(u.new_lines for u in updates) == 41
    assert len(updates) > 3  # it really followed, not one read at the end
    full = read_file(str(path))
    assert snapshot(tailer.finish()) == snapshot(full)
    assert full.runs[0].status == RunStatus.FINISHED and len(full.runs[0].iterations) == 40


def test_writer_crash_mid_line(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    w = Writer(path, seed=2)
    w.do("w 4")
    t = FileTailer(path)
    t.poll()
    assert w.crash() == 3
    up = t.poll()
    assert up.new_lines == 0 and t.pending_bytes > 0
    traj = t.trajectory
    assert [it.number for it in traj.runs[0].iterations] == [1, 2, 3]
    assert traj.bad_lines == [] and traj.pending_tail
    # once the writer is known to be gone, the tail is settled exactly like a full read
    assert snapshot(t.finish()) == snapshot(read_file(str(path)))
    assert traj.runs[0].status == RunStatus.INCOMPLETE
    assert traj.bad_lines[-1].line_no == 5


def _lines(n: int) -> list[bytes]:
    return tail_logs.script(seed=3, n=n)


def test_truncation_is_a_notice_and_reloads(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    tail_logs.write_log(path, _lines(5))
    t = FileTailer(path)
    assert len(t.poll().new_iterations) == 5
    run_before = t.trajectory
    tail_logs.write_log(path, _lines(2))  # opened "wb": truncated and rewritten shorter
    up = t.poll()
    assert up.reset and [n.kind for n in up.notices] == [NoticeKind.TRUNCATED]
    assert t.trajectory is run_before  # same object, rebuilt in place
    assert [it.number for it in t.trajectory.runs[0].iterations] == [1, 2]
    assert t.poll().notices == []  # reported once


@pytest.mark.parametrize("old,new", [(b"the answer", b"THE ANSWER"), (b'"metadata"', b'"METADATA"')])
def test_rewrite_in_place_is_detected(tmp_path: Path, old: bytes, new: bytes) -> None:
    """Rewritten without getting shorter (end or start of the read part changed)."""
    path = tmp_path / "run.jsonl"
    data = b"".join(_lines(3))
    path.write_bytes(data)
    t = FileTailer(path)
    t.poll()
    with open(path, "r+b") as fh:
        fh.write(data.replace(old, new))
        fh.write(b"".join(_lines(1)))
    up = t.poll()
    assert up.reset and up.notices[0].kind == NoticeKind.TRUNCATED
    assert up.new_lines == 6


def test_replacement_and_deletion_notices(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    tail_logs.write_log(path, _lines(4))
    t = FileTailer(path)
    t.poll()
    other = tmp_path / "other.tmp"
    tail_logs.write_log(other, _lines(2))
    os.replace(other, path)  # atomic replace: new inode
    up = t.poll()
    assert up.reset and [n.kind for n in up.notices] == [NoticeKind.REPLACED]
    assert len(t.trajectory.runs[0].iterations) == 2
    path.unlink()
    up = t.poll()
    assert [n.kind for n in up.notices] == [NoticeKind.DELETED] and t.deleted
    assert len(t.trajectory.runs[0].iterations) == 2  # what was read stays visible
    assert t.poll().notices == []
    tail_logs.write_log(path, _lines(3))  # it comes back
    up = t.poll()
    assert [n.kind for n in up.notices] == [NoticeKind.REPLACED] and not t.deleted
    assert len(t.trajectory.runs[0].iterations) == 3


def test_bad_lines_and_crlf_match_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    lines = _lines(3)
    data = lines[0] + b"garbage {\n" + lines[1].replace(b"\n", b"\r\n") + b"\n" + b"[1, 2]\n" + lines[2]
    path.write_bytes(data)
    t = FileTailer(path)
    t.poll()
    assert [b.line_no for b in t.trajectory.bad_lines] == [2, 5]
    assert snapshot(t.finish()) == snapshot(read_file(str(path)))


@pytest.mark.skipif(not hasattr(os, "chmod") or os.geteuid() == 0, reason="root can read anything")
def test_unreadable_file_is_an_error_notice(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    tail_logs.write_log(path, _lines(1))
    path.chmod(0)
    try:
        t = FileTailer(path)
        up = t.poll()
        assert [n.kind for n in up.notices] == [NoticeKind.ERROR]
        assert t.poll().notices == []
    finally:
        path.chmod(0o644)
    assert len(t.poll().new_iterations) == 1


def test_partial_tail_cut_back_is_not_a_reload(tmp_path: Path) -> None:
    """A writer that fails mid-record cuts the file back to its last complete line
    (rlm_desktop's own writer does): the pending bytes are dropped, nothing is reloaded."""
    path = tmp_path / "run.jsonl"
    lines = _lines(4)
    tail_logs.write_log(path, lines[:3])
    t = FileTailer(path)
    t.poll()
    good = path.stat().st_size
    with open(path, "ab") as fh:
        fh.write(lines[3][:100])
    assert t.poll().new_lines == 0 and t.pending_bytes == 100
    os.truncate(path, good)
    up = t.poll()
    assert not up.reset and up.notices == [] and t.pending_bytes == 0 and t.offset == good
    with open(path, "ab") as fh:
        fh.write(lines[3])
    up = t.poll()
    assert [it.number for it in up.new_iterations] == [3] and t.trajectory.bad_lines == []


def test_big_files_are_read_in_limited_batches(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    tail_logs.write_log(path, _lines(12))
    size = path.stat().st_size
    t = FileTailer(path)
    batches = []
    while True:
        batch = t.read(max_bytes=size // 5)
        batches.append(batch)
        t.apply(batch)
        if not batch.more:
            break
    assert len(batches) >= 5 and all(len(b.records) < 13 for b in batches)
    assert snapshot(t.finish()) == snapshot(read_file(str(path)))


def test_live_status_of_runs(tmp_path: Path) -> None:
    """Only the last run of a followed file is running; stale -> incomplete -> running again."""
    path = tmp_path / "run.jsonl"
    it = tail_logs.iteration
    first = [tail_logs.line(tail_logs.metadata()), tail_logs.line(it(1)), tail_logs.line(it(2))]
    tail_logs.write_log(path, first)
    t = FileTailer(path)
    t.poll()
    (run0,) = t.trajectory.runs
    assert run0.status == RunStatus.RUNNING
    assert t.set_stale() and run0.status == RunStatus.INCOMPLETE and not t.set_stale()
    append_lines = [tail_logs.line(it(3))]
    with open(path, "ab") as fh:
        fh.writelines(append_lines)
    t.poll()
    assert run0.status == RunStatus.RUNNING
    with open(path, "ab") as fh:  # the counter restarts: a second completion (the first was aborted)
        fh.writelines([tail_logs.line(it(1))])
    t.poll()
    assert [r.status for r in t.trajectory.runs] == [RunStatus.INCOMPLETE, RunStatus.RUNNING]
    assert [r.status for r in read_file(str(path), still_running=True).runs] == [
        RunStatus.INCOMPLETE,
        RunStatus.RUNNING,
    ]
