"""Tailing and summarising real upstream (rlms) logs, replayed in random-size chunks."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

from rlm_desktop.trajectory.reader import read_file
from rlm_desktop.trajectory.run_summary import summarize_file
from rlm_desktop.trajectory.tail import FileTailer
from tests.support.rlms_scenarios import shared_logs
from tests.test_tail_file import snapshot


@pytest.fixture(scope="module")
def logs() -> dict[str, Path]:
    return shared_logs()


def test_replayed_in_chunks_equals_full_read(logs: dict[str, Path], tmp_path: Path) -> None:
    rnd = random.Random(42)
    for name, src in logs.items():
        data = src.read_bytes()
        dst = tmp_path / src.name
        dst.touch()
        tailer = FileTailer(dst)
        pos = 0
        with open(dst, "ab", buffering=0) as fh:
            while pos < len(data):
                n = rnd.choice([1, 7, 300, 4096, 8192, 50_000])
                fh.write(data[pos : pos + n])
                pos += n
                tailer.poll()
                # never a bad line from a half-written record
                assert tailer.trajectory.bad_lines == [], name
        tailer.poll()
        assert snapshot(tailer.finish()) == snapshot(read_file(str(src))), name


def test_summaries_match_the_reader(logs: dict[str, Path], tmp_path: Path) -> None:
    old = time.time() - 3600
    for name, src in logs.items():
        dst = tmp_path / src.name
        dst.write_bytes(src.read_bytes())
        os.utime(dst, (old, old))  # the writer is long gone
        s = summarize_file(str(dst))
        traj = read_file(str(dst))
        last = traj.runs[-1]
        assert s.status == last.status, name
        assert s.iterations == len(last.iterations), name
        assert s.final_answer == last.final_answer, name
        assert s.sub_calls == sum(sum(r.sub_calls_by_depth().values()) for r in traj.runs), name
        assert s.model == str(traj.metadata.get("root_model")), name
        assert s.pending == (name == "crash_partial"), name


def test_following_a_folder_while_rlms_writes_into_it(tmp_path: Path) -> None:
    """End to end: upstream's own logger writes (in another process) into a followed folder;
    every new file is tailed as it appears and ends up equal to reading it whole."""
    from rlm_desktop.trajectory.tail_follow import Follower
    from tests.support.rlms_scenarios import generate_in_subprocess

    tailers = {}
    follower: Follower

    def on_listing(update) -> None:
        for s in update.added:
            tailers[s.path] = follower.tail(s.path)

    follower = Follower(tmp_path, auto_apply=True, on_listing=on_listing)
    with follower:
        paths = generate_in_subprocess(tmp_path, ["basic", "depth3", "crash_partial"])
        end = time.monotonic() + 10
        while time.monotonic() < end and not all(
            str(p) in tailers and tailers[str(p)].offset == p.stat().st_size for p in paths.values()
        ):
            time.sleep(0.01)
    assert set(tailers) >= {str(p) for p in paths.values()}
    for name, p in paths.items():
        t = tailers[str(p)]
        assert t.offset == p.stat().st_size, name
        assert snapshot(t.finish()) == snapshot(read_file(str(p))), name
