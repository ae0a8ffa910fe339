"""One reader, three modes (header / one iteration on demand / whole file), the one-pass
totals and the bounded cache of parsed iterations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlm_desktop.trajectory import (
    LazyTrajectory,
    LogReader,
    RunTotals,
    is_placeholder,
    read_file,
    read_header,
    read_iteration,
    read_totals,
)
from rlm_desktop.trajectory.totals import Cancelled
from rlm_desktop.trajectory.writer import dumps_record, metadata_record
from tests.support.rlms_scenarios import shared_logs


@pytest.fixture(scope="session")
def logs() -> dict[str, Path]:
    return shared_logs()


def _it(n: int, final: str | None = None, pad: int = 0, t: float = 1.0) -> str:
    return dumps_record({
        "type": "iteration",
        "iteration": n,
        "timestamp": f"2026-01-01T00:00:{n:02d}",
        "prompt": [{"role": "user", "content": "p" * pad}],
        "response": f"response {n}",
        "code_blocks": [{"code": f"x = {n}", "result": {"stdout": f"out {n}", "stderr": "", "locals": {},
                                                       "execution_time": 0.5, "rlm_calls": []}}],
        "final_answer": final,
        "iteration_time": t,
    })


def _log(path: Path, n: int, pad: int = 0) -> Path:
    lines = [dumps_record(metadata_record(root_model="m", timestamp="t"))]
    lines += [_it(i, "done" if i == n else None, pad) for i in range(1, n + 1)]
    path.write_text("\n".join(lines) + "\n")
    return path


FIELDS = ("status", "final_answer", "error", "usage", "root_usage", "total_time", "sub_calls_by_depth",
          "max_depth_reached", "by_depth", "model", "run_id", "iterations")


def test_totals_agree_with_the_whole_file_model_on_every_real_log(logs: dict[str, Path]) -> None:
    for name, path in logs.items():
        totals = read_totals(path)
        traj = read_file(str(path))
        assert (totals.era, totals.line_count, totals.pending_tail) == (traj.era, traj.line_count, traj.pending_tail)
        assert [(b.line_no, b.message) for b in totals.bad_lines] == [(b.line_no, b.message) for b in traj.bad_lines]
        assert len(totals.runs) == len(traj.runs), name
        for t, run in zip(totals.runs, traj.runs, strict=True):
            whole = RunTotals.of_run(run)
            for f in FIELDS:
                assert getattr(t, f) == getattr(whole, f), (name, f)
            assert list(t.numbers) == [it.number for it in run.iterations]
            assert list(t.line_nos) == [it.line_no for it in run.iterations]
    depth3 = read_totals(logs["depth3"]).runs[0]
    assert depth3.sub_calls_by_depth == {1: 4, 2: 2, 3: 1} and depth3.max_depth_reached == 2
    assert depth3.usage.calls == 8  # each LM call once (what the mock answered besides root turns)


def test_header_reads_the_metadata_line_only(tmp_path: Path) -> None:
    p = _log(tmp_path / "a.jsonl", 3)
    with p.open("a") as fh:
        fh.write("{garbage that only a full read would report\n")
    head = read_header(p)
    assert head.metadata is not None and head.metadata["root_model"] == "m"
    assert head.size == p.stat().st_size and head.era == "unknown"
    ours = tmp_path / "ours.jsonl"
    ours.write_text(dumps_record(metadata_record(root_model="x", extra={"run_id": "r"})) + "\n")
    assert read_header(ours).era == "rlm_desktop"
    no_meta = tmp_path / "b.jsonl"
    no_meta.write_text(_it(1) + "\n")
    assert read_header(no_meta).metadata is None


def test_one_iteration_on_demand_indexes_only_as_far_as_needed(tmp_path: Path) -> None:
    p = _log(tmp_path / "big.jsonl", 40, pad=200_000)  # ~8 MB
    whole = read_file(str(p))
    with LogReader(p) as log:
        it = log.iteration(0, 1)
        snap = log.document().snapshot()
        assert not snap.complete and snap.bytes_indexed < snap.size / 2  # not the whole file
        ref = whole.runs[0].iterations[1]
        assert (it.number, it.line_no, it.response, it.code_blocks[0].stdout) == (
            ref.number, ref.line_no, ref.response, ref.code_blocks[0].stdout)
        last = log.iteration(0, 39)
        assert last.final_answer == "done"
        with pytest.raises(IndexError):
            log.iteration(0, 40)
        assert log.read().runs[0].final_answer == "done"  # the whole-file mode
    assert read_iteration(p, 0, 5).number == 6


def test_bounded_cache_fills_in_place_and_evicts_the_least_recent(tmp_path: Path) -> None:
    p = _log(tmp_path / "c.jsonl", 10)
    with LazyTrajectory(p, cache_size=3) as lt:
        lt.index_all()
        run = lt.run(0)
        shells = list(run.iterations)
        assert all(is_placeholder(it) for it in shells)
        on_screen = lt.run(0).iterations[0]
        parsed = lt.parse_iteration(0, 0)  # a worker's part: not installed yet
        assert is_placeholder(on_screen) and not is_placeholder(parsed) and parsed is not on_screen
        assert lt.install(0, 0, parsed, keep=on_screen) == []
        assert on_screen is run.iterations[0] and not is_placeholder(on_screen)  # same object, filled
        assert on_screen.code_blocks[0].parent is on_screen and on_screen.response == "response 1"
        evicted = []
        for pos in range(1, 10):
            evicted += lt.install(0, pos, lt.parse_iteration(0, pos), keep=on_screen)
        loaded = [it for it in run.iterations if not is_placeholder(it)]
        assert len(loaded) == 3 and on_screen in loaded  # the kept one survives
        assert run.iterations[9] in loaded and run.iterations[8] in loaded
        assert len(evicted) == 7 and all(is_placeholder(it) and not it.code_blocks for it in evicted)
        assert [it is s for it, s in zip(run.iterations, shells, strict=True)] == [True] * 10  # identities kept
        assert evicted[0].number == 2 and evicted[0].line_no == 3  # a placeholder knows where it is


def test_totals_bound_memory_on_overlong_and_endless_lines(tmp_path: Path) -> None:
    p = _log(tmp_path / "d.jsonl", 3)
    with p.open("a") as fh:
        fh.write('{"type": "iteration", "x": "' + "a" * (3 << 20) + '"}\n')  # 3 MB line
        fh.write(_it(1, "again") + "\n")
        fh.write("\0" * (4 << 20))  # an endless last line (no newline)
    totals = read_totals(p, max_line=1 << 20)
    assert [len(r.numbers) for r in totals.runs] == [3, 1]
    msgs = {b.line_no: b.message for b in totals.bad_lines}
    assert msgs[5].startswith("line too long (3,145,") and msgs[7].startswith("line too long (4,194,304 bytes)")
    assert totals.pending_tail and totals.line_count == 7
    whole = read_file(str(p), max_line=1 << 20)  # the whole-file mode takes the same bound
    assert [(b.line_no, b.message) for b in whole.bad_lines] == sorted(msgs.items())


def test_totals_keep_the_first_bad_lines_and_count_all(tmp_path: Path) -> None:
    p = tmp_path / "junk.jsonl"
    p.write_text("".join(f"junk {i}\n" for i in range(1500)) + _it(1, "ok") + "\n")
    totals = read_totals(p)
    assert len(totals.bad_lines) == 1000 and totals.bad_line_count == 1500
    assert totals.runs[0].final_answer == "ok" and totals.line_count == 1501


def test_totals_report_progress_and_can_be_cancelled(tmp_path: Path) -> None:
    p = _log(tmp_path / "e.jsonl", 30, pad=400_000)
    seen: list[float] = []
    read_totals(p, progress=seen.append)
    assert seen and seen == sorted(seen) and seen[-1] <= 1.0 and len(seen) >= 2
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 5

    with pytest.raises(Cancelled):
        read_totals(p, cancel=cancel)
    assert len(calls) == 6


def test_summary_mode_sees_our_standard_json_nan(tmp_path: Path) -> None:
    rec = json.loads(_it(1, "x"))
    rec["code_blocks"][0]["result"]["locals"] = {"v": float("nan")}
    p = tmp_path / "nan.jsonl"
    p.write_text(dumps_record(rec) + "\n")
    assert "NaN" in p.read_text() and ": NaN" not in p.read_text()
    assert read_totals(p).runs[0].final_answer == "x" and not read_totals(p).bad_lines


def test_file_lines_split_as_the_buffer_reader_does_whatever_the_chunks(monkeypatch) -> None:
    """The chunked line reader (one read chunk + one line in memory) gives the same lines as
    splitting the whole buffer, for any chunk size; with a limit, longer lines come as
    their start plus their length and nothing else changes."""
    import io
    import random

    from rlm_desktop.trajectory import reader
    from rlm_desktop.trajectory.reader import OverlongLine, iter_file_lines, iter_lines

    rnd = random.Random(7)
    pieces = [b"a", b"bb", b"\n", b"\r\n", b"xyz" * 4, b"\n\n", b"{}"]
    for _ in range(3000):
        data = b"".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 30)))
        monkeypatch.setattr(reader, "READ_CHUNK", rnd.randint(1, 9))
        want = list(iter_lines(data))
        assert list(iter_file_lines(io.BytesIO(data))) == want
        limit = rnd.randint(1, 6)
        got = list(iter_file_lines(io.BytesIO(data), limit))
        assert [(n, t) for n, _, t in got] == [(n, t) for n, _, t in want]
        for (_, raw, _), (_, whole, _) in zip(got, want, strict=True):
            if len(whole) > limit:
                assert isinstance(raw, OverlongLine) and raw.nbytes == len(whole) and whole.startswith(raw)
            else:
                assert raw == whole and not isinstance(raw, OverlongLine)


def test_a_runs_totals_are_walked_once_for_every_view_that_asks() -> None:
    """``shared_totals``: the status bar, the Run Summary, the metrics and the tree ask for the
    same run's totals; a finished run is walked once, a running or changed one again."""
    from rlm_desktop.trajectory import totals as totals_mod
    from rlm_desktop.trajectory.model import Iteration, RunStatus, Usage
    from tests.support import hostile_models

    _traj, run = hostile_models.many_iterations(3_000)
    run.status = RunStatus.FINISHED
    walks = []
    original = totals_mod.RunTotals.add

    def counting_add(self, it):
        walks.append(it)
        original(self, it)

    totals_mod.RunTotals.add = counting_add  # type: ignore[method-assign]
    try:
        first = totals_mod.shared_totals(run, False)
        assert len(walks) == 3_000
        assert totals_mod.shared_totals(run, False) is first  # no second walk
        assert len(walks) == 3_000
        assert first.usage == totals_mod.RunTotals.of_run(run, False).usage
        walks.clear()
        # partial (cancelled) totals are never handed to the next one who asks
        stopped = totals_mod.shared_totals(run, True, cancelled=lambda: True)
        assert stopped.iterations < 3_000
        assert totals_mod.shared_totals(run, True).iterations == 3_000
        # a new iteration: walked again
        it = run.add_iteration(Iteration(number=3_001, iteration_time=1.0))
        it.usage = Usage(1, 7, 3)
        walks.clear()
        again = totals_mod.shared_totals(run, False)
        assert len(walks) == 3_001 and again.usage.total_tokens == first.usage.total_tokens + 10
        # a lazily opened file's placeholder iterations are filled in place: not kept either
        from rlm_desktop.trajectory.lazy import PLACEHOLDER_KEY

        _t, shell = hostile_models.many_iterations(50)
        shell.status = RunStatus.FINISHED
        shell.iterations[10].extra[PLACEHOLDER_KEY] = True
        walks.clear()
        totals_mod.shared_totals(shell, False)
        totals_mod.shared_totals(shell, False)
        assert len(walks) == 2 * 50
        # a running run changes in place: never kept
        run.status = RunStatus.RUNNING
        walks.clear()
        totals_mod.shared_totals(run, False)
        totals_mod.shared_totals(run, False)
        assert len(walks) == 2 * 3_001
    finally:
        totals_mod.RunTotals.add = original  # type: ignore[method-assign]
