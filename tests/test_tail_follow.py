"""Follower (watchdog + polling fallback, coalescing, folders) and run summaries (no Qt)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from rlm_desktop.trajectory.model import RunStatus
from rlm_desktop.trajectory.reader import read_file
from rlm_desktop.trajectory.run_summary import RunSummarizer, summarize_file
from rlm_desktop.trajectory.tail import NoticeKind
from rlm_desktop.trajectory.tail_follow import Follower, ListingUpdate
from tests.support import tail_logs
from tests.support.tail_logs import append


class Recorder:
    """Collects follower callbacks (they arrive on the worker thread)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.listings: list[ListingUpdate] = []
        self.lines: list = []
        self.notices: list = []
        self.summaries: dict[str, object] = {}
        self.removed: set[str] = set()

    def on_listing(self, up: ListingUpdate) -> None:
        with self.lock:
            self.listings.append(up)
            for s in up.added + up.changed:
                self.summaries[s.path] = s
                self.removed.discard(s.path)
            for p in up.removed:
                self.summaries.pop(p, None)
                self.removed.add(p)

    def on_lines(self, up) -> None:
        with self.lock:
            self.lines.append(up)

    def on_notice(self, n) -> None:
        with self.lock:
            self.notices.append(n)

    def kwargs(self) -> dict:
        return {"on_listing": self.on_listing, "on_lines": self.on_lines, "on_notice": self.on_notice}

    def summary(self, path: Path):
        with self.lock:
            return self.summaries.get(str(path))


def wait_for(cond, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)


LINES = tail_logs.script(seed=5, n=6)


def test_shared_append_helper_adds_after_what_is_there(tmp_path: Path) -> None:
    """tail_logs.append (used by the tail, runs-panel and followed-runs tests) grows a log in place."""
    path = tmp_path / "grow.jsonl"
    tail_logs.write_log(path, LINES[:2])
    append(path, LINES[2:4])
    append(path, [])
    assert path.read_bytes() == b"".join(LINES[:4])
    assert [it.number for it in read_file(str(path)).runs[0].iterations] == [1, 2, 3]


@pytest.mark.parametrize("polling", [False, True], ids=["watchdog", "polling"])
def test_folder_lists_new_and_growing_files(tmp_path: Path, polling: bool) -> None:
    old = tmp_path / "old.jsonl"
    tail_logs.write_log(old, LINES)
    (tmp_path / "notes.txt").write_text("not a log")
    rec = Recorder()
    with Follower(tmp_path, force_polling=polling, poll_interval=0.05, **rec.kwargs()) as f:
        assert f.polling is polling
        wait_for(lambda: any(u.initial_done for u in rec.listings))
        assert set(rec.summaries) == {str(old)}
        assert rec.summary(old).status == RunStatus.FINISHED and rec.summary(old).iterations == 6

        new = tmp_path / "new.jsonl"
        append(new, LINES[:2])
        wait_for(lambda: rec.summary(new) is not None and rec.summary(new).iterations == 1)
        assert rec.summary(new).status == RunStatus.RUNNING
        append(new, LINES[2:4])
        wait_for(lambda: rec.summary(new).iterations == 3)
        new.unlink()
        wait_for(lambda: str(new) in rec.removed)
    assert not f.running


def test_env_var_forces_polling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RLM_DESKTOP_FORCE_POLLING", "1")
    with Follower(tmp_path, poll_interval=0.05) as f:
        assert f.polling
    monkeypatch.setenv("RLM_DESKTOP_FORCE_POLLING", "0")
    with Follower(tmp_path) as f:
        assert not f.polling


def test_burst_of_appends_is_coalesced(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    tail_logs.write_log(path, LINES[:1])
    rec = Recorder()
    lines = [tail_logs.line(tail_logs.iteration(i)) for i in range(1, 101)]
    with Follower(path, auto_apply=True, **rec.kwargs()) as f:
        tailer = f.tail(path)
        wait_for(lambda: tailer.trajectory.metadata is not None)
        with rec.lock:
            rec.lines.clear()
        append(path, lines)  # 100 separate write+flush calls
        wait_for(
            lambda: len(tailer.trajectory.runs) == 1 and len(tailer.trajectory.runs[0].iterations) == 100
        )
        time.sleep(0.1)  # let any straggling update arrive
    assert sum(len(u.new_iterations) for u in rec.lines) == 100
    assert 1 <= len(rec.lines) <= 5, f"{len(rec.lines)} updates for one burst"


def test_tailed_file_notices_through_follower(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    tail_logs.write_log(path, LINES)
    rec = Recorder()
    with Follower(tmp_path, auto_apply=True, **rec.kwargs()) as f:
        tailer = f.tail(path)
        wait_for(lambda: tailer.trajectory.runs and len(tailer.trajectory.runs[0].iterations) == 6)
        tail_logs.write_log(path, LINES[:3])  # truncated and rewritten
        wait_for(lambda: any(n.kind == NoticeKind.TRUNCATED for n in rec.notices))
        # the rewrite truncates the file to nothing before writing it again: a read in between
        # resets the trajectory to no runs at all, which is what the file held at that moment
        wait_for(lambda: tailer.trajectory.runs and len(tailer.trajectory.runs[0].iterations) == 2)
        wait_for(lambda: rec.summary(path).iterations == 2)
        path.unlink()
        wait_for(lambda: any(n.kind == NoticeKind.DELETED for n in rec.notices))
    kinds = [n.kind for n in rec.notices]
    assert kinds.count(NoticeKind.TRUNCATED) == 1  # the summary's own notice is not repeated


def test_untailed_file_truncation_notice_from_listing(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    tail_logs.write_log(path, LINES)
    rec = Recorder()
    with Follower(tmp_path, **rec.kwargs()):
        wait_for(lambda: rec.summary(path) is not None)
        tail_logs.write_log(path, LINES[:2])
        wait_for(lambda: [n.kind for n in rec.notices] == [NoticeKind.TRUNCATED])
        wait_for(lambda: rec.summary(path).iterations == 1)
        path.unlink()
        wait_for(lambda: [n.kind for n in rec.notices] == [NoticeKind.TRUNCATED, NoticeKind.DELETED])


@pytest.mark.filterwarnings("ignore:Callback with id:RuntimeWarning")  # watchdog, nested mkdir
@pytest.mark.parametrize("recursive", [True, False])
def test_recursive_folders(tmp_path: Path, recursive: bool) -> None:
    rec = Recorder()
    top = tmp_path / "top.jsonl"
    with Follower(tmp_path, recursive=recursive, **rec.kwargs()):
        wait_for(lambda: any(u.initial_done for u in rec.listings))
        sub = tmp_path / "a" / "b"
        sub.mkdir(parents=True)
        deep = sub / "deep.jsonl"
        append(deep, LINES[:3])
        append(top, LINES[:2])
        wait_for(lambda: rec.summary(top) is not None)
        if recursive:
            wait_for(lambda: rec.summary(deep) is not None and rec.summary(deep).iterations == 2)
        else:
            time.sleep(0.1)
            assert rec.summary(deep) is None


def test_running_turns_incomplete_when_the_writer_stops(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    rec = Recorder()
    with Follower(tmp_path, running_window=0.4, safety_interval=0.05, **rec.kwargs()):
        append(path, LINES[:3])
        wait_for(lambda: rec.summary(path) is not None)
        assert rec.summary(path).status == RunStatus.RUNNING
        wait_for(lambda: rec.summary(path).status == RunStatus.INCOMPLETE, timeout=3)


def test_stop_joins_threads(tmp_path: Path) -> None:
    before = {t.ident for t in threading.enumerate()}
    f = Follower(tmp_path).start()
    f.tail(tmp_path / "x.jsonl")
    f.stop()
    left = [t for t in threading.enumerate() if t.ident not in before and t.is_alive()]
    assert left == []


def test_missing_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Follower(tmp_path / "nope" / "deeper").start()


# -- summaries --------------------------------------------------------------------


def _all_sub_calls(traj) -> int:
    return sum(sum(r.sub_calls_by_depth().values()) for r in traj.runs)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_summary_matches_the_full_reader(tmp_path: Path, seed: int) -> None:
    path = tmp_path / "run.jsonl"
    tail_logs.write_log(path, tail_logs.script(seed=seed, n=12))
    s = summarize_file(str(path))
    traj = read_file(str(path))
    run = traj.runs[-1]
    assert s.status == run.status == RunStatus.FINISHED
    assert s.iterations == len(run.iterations) == 12
    assert s.sub_calls == _all_sub_calls(traj) > 0
    assert s.final_answer == run.final_answer
    assert s.model == "mock-root" and s.lines == traj.line_count and not s.pending


def test_summary_statuses(tmp_path: Path) -> None:
    meta = tail_logs.line(tail_logs.metadata())
    it = tail_logs.iteration
    cases = {
        "failed": [it(1), it(2, extra={"status": "failed", "error": "boom"})],
        "cancelled": [it(1, extra={"status": "cancelled"})],
        "max_iterations": [it(1), it(2, final="best guess", default_answer=True)],
        "incomplete": [it(1), it(2)],
    }
    old = time.time() - 3600
    for name, recs in cases.items():
        p = tmp_path / f"{name}.jsonl"
        tail_logs.write_log(p, [meta] + [tail_logs.line(r) for r in recs])
        os.utime(p, (old, old))
        s = summarize_file(str(p))
        assert s.status == RunStatus(name), name
        assert s.status == read_file(str(p)).runs[-1].status
    assert summarize_file(str(tmp_path / "failed.jsonl")).error == "boom"
    # the same unfinished file, modified just now, is running
    p = tmp_path / "incomplete.jsonl"
    os.utime(p)
    assert summarize_file(str(p)).status == RunStatus.RUNNING
    assert summarize_file(str(tmp_path / "missing.jsonl")) is None


def test_summary_is_incremental_and_sees_huge_last_lines(tmp_path: Path) -> None:
    path = tmp_path / "run.jsonl"
    lines = [tail_logs.line(tail_logs.metadata())] + [
        tail_logs.line(tail_logs.iteration(i, sub_calls=2, pad=300_000 if i == 3 else 0)) for i in range(1, 4)
    ]
    tail_logs.write_log(path, lines[:2])
    sm = RunSummarizer()
    s1, _ = sm.summarize(str(path))
    assert (s1.iterations, s1.sub_calls) == (1, 2)
    half = lines[2][: len(lines[2]) // 2]
    append(path, [half])
    s2, _ = sm.summarize(str(path))
    assert (s2.iterations, s2.sub_calls, s2.pending) == (1, 2, True)
    append(path, [lines[2][len(half) :], lines[3]])
    s3, notices = sm.summarize(str(path))
    assert (s3.iterations, s3.sub_calls, s3.pending, notices) == (3, 6, False, [])
    tail_logs.write_log(path, lines[:2])
    s4, notices = sm.summarize(str(path))
    assert (s4.iterations, s4.sub_calls) == (1, 2) and notices[0].kind == NoticeKind.TRUNCATED


def test_listing_many_files_is_fast(tmp_path: Path) -> None:
    lines = tail_logs.script(seed=7, n=4)
    for i in range(300):
        tail_logs.write_log(tmp_path / f"run_{i:04d}.jsonl", lines)
    rec = Recorder()
    t0 = time.perf_counter()
    with Follower(tmp_path, **rec.kwargs()):
        wait_for(lambda: any(u.initial_done for u in rec.listings), timeout=20)
    elapsed = time.perf_counter() - t0
    assert len(rec.summaries) == 300
    assert all(s.iterations == 4 for s in rec.summaries.values())
    assert elapsed < 10, elapsed


def test_huge_last_lines_are_summarised_without_parsing(tmp_path: Path, monkeypatch) -> None:
    from rlm_desktop.trajectory import run_summary

    parsed: list[int] = []
    real = run_summary.parse_line
    monkeypatch.setattr(run_summary, "parse_line", lambda raw: parsed.append(len(raw)) or real(raw))
    meta = tail_logs.line(tail_logs.metadata())
    it = tail_logs.iteration
    big = 800_000
    old = time.time() - 3600
    cases = {
        "open": (it(2, sub_calls=1, pad=big), False),
        "final": (it(2, final='the "answer"\nline two', pad=big), False),
        "failed": (it(2, pad=big, extra={"status": "failed", "error": "boom"}), False),
        "pre_final": ({**it(2, pad=big), "final_answer": ["FINAL", "pair text"]}, False),
        "pre_final_var": ({**it(2, pad=big), "final_answer": ["FINAL_VAR", "context"]}, True),
    }
    for name, (rec, needs_parse) in cases.items():
        p = tmp_path / f"{name}.jsonl"
        tail_logs.write_log(p, [meta, tail_logs.line(it(1)), tail_logs.line(rec)])
        os.utime(p, (old, old))
        parsed.clear()
        s = summarize_file(str(p))
        assert any(n > big for n in parsed) == needs_parse, name
        run = read_file(str(p)).runs[-1]
        assert (s.iterations, s.final_answer, s.status, s.sub_calls) == (
            len(run.iterations),
            run.final_answer,
            run.status,
            _all_sub_calls(read_file(str(p))),
        ), name
    # the default-answer record (null iteration_time) after a huge line
    p = tmp_path / "default.jsonl"
    default = it(3, final="best guess", default_answer=True)
    default["prompt"].append({"role": "user", "content": "y" * big})
    tail_logs.write_log(p, [meta, tail_logs.line(it(1)), tail_logs.line(it(2)), tail_logs.line(default)])
    os.utime(p, (old, old))
    assert summarize_file(str(p)).status == RunStatus.MAX_ITERATIONS == read_file(str(p)).runs[-1].status


def test_follower_continues_a_big_first_read(tmp_path: Path, monkeypatch) -> None:
    from rlm_desktop.trajectory import tail

    path = tmp_path / "run.jsonl"
    tail_logs.write_log(path, LINES)
    monkeypatch.setattr(tail, "READ_LIMIT", 50_000)
    monkeypatch.setattr(tail.FileTailer.read, "__defaults__", (50_000,))
    rec = Recorder()
    with Follower(path, auto_apply=True, safety_interval=30, **rec.kwargs()) as f:
        tailer = f.tail(path)
        wait_for(lambda: tailer.consumed == path.stat().st_size)
    assert len(rec.lines) > 2  # several reads, without waiting for a new event
    assert len(tailer.trajectory.runs[0].iterations) == 6


def test_falls_back_to_polling_when_native_events_fail(tmp_path: Path, monkeypatch) -> None:
    """inotify limits (ENOSPC/EMFILE) or an unsupported file system: poll instead."""
    from rlm_desktop.trajectory import tail_follow

    class NoInotify(tail_follow.Observer):
        def schedule(self, *a, **kw):
            raise OSError(28, "inotify watch limit reached")

    monkeypatch.setattr(tail_follow, "Observer", NoInotify)
    rec = Recorder()
    with Follower(tmp_path, poll_interval=0.05, **rec.kwargs()) as f:
        assert f.polling
        path = tmp_path / "run.jsonl"
        append(path, LINES[:3])
        wait_for(lambda: rec.summary(path) is not None and rec.summary(path).iterations == 2)


def test_files_of_a_moved_away_folder_are_removed(tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    inner = sub / "inner.jsonl"
    append(inner, LINES[:2])
    outside = tmp_path.parent / f"{tmp_path.name}_moved"
    rec = Recorder()
    with Follower(tmp_path, recursive=True, **rec.kwargs()):
        wait_for(lambda: rec.summary(inner) is not None)
        os.rename(sub, outside)
        wait_for(lambda: str(inner) in rec.removed)
