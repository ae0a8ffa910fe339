"""Line index, head/tail peeks and the lazy trajectory."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from rlm_desktop.trajectory.format import peek_head, peek_tail
from rlm_desktop.trajectory.index import LineIndex
from rlm_desktop.trajectory.lazy import LazyTrajectory, is_placeholder
from rlm_desktop.trajectory.model import RunStatus
from rlm_desktop.trajectory.reader import read_file
from rlm_desktop.trajectory.writer import dumps_record, metadata_record
from tests.support.rlms_scenarios import SCENARIOS, shared_logs


@pytest.fixture(scope="session")
def logs() -> dict[str, Path]:
    return shared_logs()


def _it(n: int, final: object = None, t: object = 1.5, blocks: list | None = None, **extra: object) -> str:
    rec = {
        "type": "iteration",
        "iteration": n,
        "timestamp": f"2026-01-01T00:00:{n:02d}",
        "prompt": [{"role": "user", "content": "p"}],
        "response": "r" if final is None or t is not None else str(final),
        "code_blocks": blocks or [],
        "final_answer": final,
        "iteration_time": t,
    }
    if extra:
        rec["rlm_desktop"] = dict(extra)
    return dumps_record(rec)


@pytest.mark.parametrize("chunk", [1024, 1500, 1 << 20])
def test_index_spans_match_split(tmp_path: Path, chunk: int) -> None:
    lines = [b"a" * n for n in (0, 1, 1023, 1024, 1025, 5000, 3)] + [b"crlf\r"]
    data = b"\n".join(lines) + b"\n" + b"partial"
    p = tmp_path / "f.jsonl"
    p.write_bytes(data)
    idx = LineIndex(p, chunk_size=chunk)
    idx.scan()
    assert idx.line_count == len(lines) and idx.complete
    assert [idx.read_line(i) for i in range(idx.line_count)] == lines[:-1] + [b"crlf"]
    assert idx.pending_bytes == len(b"partial") and idx.read_pending() == b"partial"
    assert idx.head(5, 10) == b"a" * 10 and idx.tail(7, 3) == b"rlf"
    with pytest.raises(IndexError):
        idx.span(len(lines))


def test_index_is_incremental_grows_and_restarts(tmp_path: Path) -> None:
    p = tmp_path / "g.jsonl"
    p.write_bytes(b"".join(b"%05d\n" % i for i in range(1000)))
    idx = LineIndex(p, chunk_size=1024)
    counts = []
    while not (idx.complete and idx.scanned_bytes == idx.size and counts):
        idx.scan(700)
        counts.append(idx.line_count)
    assert counts == sorted(counts) and counts[0] < 1000 and counts[-1] == 1000
    assert idx.read_line(0) == b"00000"  # readable while later parts were still unscanned
    with p.open("ab") as fh:
        fh.write(b"more\nhalf")
    idx.scan()
    assert idx.line_count == 1001 and idx.read_line(1000) == b"more" and idx.pending_bytes == 4
    p.write_bytes(b"new\n")  # replaced by a shorter file
    assert idx.refresh() and idx.generation == 1
    idx.scan()
    assert idx.line_count == 1 and idx.read_line(0) == b"new"


def test_peek_head_and_tail() -> None:
    line = _it(12, final=None, t=2.5).encode()
    assert peek_head(line[:60]).iteration == 12
    assert peek_head(line).timestamp == "2026-01-01T00:00:12"
    assert peek_head(b'{"type": "metadata", "timestamp": "x"').kind == "metadata"
    assert peek_head(b'{"iteration": 1, "type": "iteration"}') is None
    assert peek_head(b"garbage") is None
    assert peek_tail(line[-40:]) is None  # the window cuts the final_answer key: unknown
    t = peek_tail(line[-60:])
    assert t is not None and not t.final and not t.time_null and t.extra is None
    t = peek_tail(_it(3, final="done", t=1.0).encode()[-70:])
    assert t.final and not t.time_null
    t = peek_tail(_it(3, final=["FINAL", "x"]).encode())
    assert t.final
    t = peek_tail(_it(4, final="default", t=None).encode())
    assert t.final and t.time_null
    t = peek_tail(_it(5, status="cancelled", edited=True).encode())
    assert t.extra == {"status": "cancelled", "edited": True} and not t.final
    # look-alike text inside a string is escaped, so it never matches
    tricky = _it(6, final='x", "final_answer": null, "iteration_time": 1.0}').encode()
    assert peek_tail(tricky).final
    assert peek_tail(b'{"a": 1}') is None
    assert peek_tail(_it(7, status="x" * 1000).encode()[-100:]) is None  # extras cut off: unknown


def _equivalent(lt: LazyTrajectory, path: Path) -> None:
    snap = lt.index_all(validate=True)
    assert snap.validated
    traj = read_file(str(path), still_running=lt.still_running)
    assert [(r.status, [it.line_no for it in r.iterations]) for r in snap.runs] == [
        (r.status, [it.line_no for it in r.iterations]) for r in traj.runs
    ]
    assert [b.line_no for b in snap.bad_lines] == [b.line_no for b in traj.bad_lines]
    assert snap.pending_tail == traj.pending_tail and snap.line_count == traj.line_count
    assert snap.metadata == traj.metadata and snap.era == traj.era
    for r, run in zip(snap.runs, traj.runs, strict=True):
        assert [s.number for s in r.iterations] == [it.number for it in run.iterations]
        assert [s.is_default_answer for s in r.iterations] == [it.is_default_answer for it in run.iterations]
        assert lt.final_answer(r.index) == run.final_answer


@pytest.mark.parametrize("name", list(SCENARIOS))
@pytest.mark.parametrize("chunk", [1024, 1 << 20])
def test_lazy_equals_reader_on_upstream_logs(logs: dict[str, Path], name: str, chunk: int) -> None:
    with LazyTrajectory(logs[name], chunk_size=chunk) as lt:
        _equivalent(lt, logs[name])


def test_lazy_equals_reader_on_odd_files(tmp_path: Path) -> None:
    meta = dumps_record(metadata_record(root_model="m", timestamp="t", extra={"run_id": "abc"}))
    lines = [
        meta,
        _it(1),
        "{broken",
        "",
        _it(2, status="cancelled", error="user"),
        json.dumps({"iteration": 1, "type": "iteration", "final_answer": "reordered keys"}),
        '{"type": "bogus"}',
        "[1, 2]",
        _it(1, final="d", t=None),
        _it(1, final=["FINAL", "pre"]),
        _it(2),
    ]
    p = tmp_path / "odd.jsonl"
    p.write_text("\r\n".join(lines) + "\n" + _it(3)[:50])
    for still in (False, True):
        with LazyTrajectory(p, chunk_size=1024, still_running=still) as lt:
            _equivalent(lt, p)
            snap = lt.snapshot()
            assert snap.runs[0].run_id == "abc" and snap.runs[0].status == RunStatus.CANCELLED
    q = tmp_path / "complete_tail.jsonl"
    q.write_text(meta + "\n" + _it(1, final="x"))  # last record complete but unterminated
    with LazyTrajectory(q) as lt:
        _equivalent(lt, q)
        assert lt.snapshot().runs[0].status == RunStatus.FINISHED and lt.final_answer(0) == "x"


def test_first_iteration_without_indexing_the_whole_file(tmp_path: Path) -> None:
    p = tmp_path / "big.jsonl"
    filler = "x" * 200_000
    with p.open("w") as fh:
        fh.write(dumps_record(metadata_record(root_model="m", timestamp="t")) + "\n")
        for n in range(1, 101):
            fh.write(_it(n, blocks=[{"code": filler, "result": {}}]) + "\n")
    with LazyTrajectory(p) as lt:
        snap = lt.index_until_first_iteration(first_step=64 << 10)
        assert snap.runs and snap.runs[0].iterations[0].number == 1
        assert snap.bytes_indexed < p.stat().st_size // 10 and not snap.complete
        assert 0 < snap.progress < 0.1
        it = lt.load_iteration(0, 0)
        assert it.code_blocks[0].code == filler and it.path == "r0/i0"


def test_load_iteration_placeholders_and_cache(logs: dict[str, Path]) -> None:
    path = logs["multi_completion"]
    traj = read_file(str(path))
    with LazyTrajectory(path, cache_size=2) as lt:
        lt.index_all()
        run = lt.run(1)
        assert all(is_placeholder(it) for it in run.iterations)
        assert [it.path for it in run.iterations] == [it.path for it in traj.runs[1].iterations]
        it = lt.load_iteration(1, 1)
        assert run.iterations[1] is it and it.parent is run and not is_placeholder(it)
        assert it.final_answer == traj.runs[1].iterations[1].final_answer == "first word: delta"
        assert it.code_blocks[0].locals == traj.runs[1].iterations[1].code_blocks[0].locals
        assert lt.load_iteration(1, 1) is it  # cached
        lt.load_iteration(0, 0)
        lt.load_iteration(0, 1)  # evicts (1, 1)
        assert is_placeholder(run.iterations[1])
        full = lt.load_run(0)
        assert [i.response for i in full.iterations] == [i.response for i in traj.runs[0].iterations]


def test_index_while_another_thread_reads(tmp_path: Path) -> None:
    p = tmp_path / "many.jsonl"
    with p.open("w") as fh:
        for n in range(1, 3001):
            fh.write(_it((n - 1) % 50 + 1) + "\n")
    lt = LazyTrajectory(p, chunk_size=4096)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while lt.index_step(8192):
                pass
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    th = threading.Thread(target=worker)
    th.start()
    seen = 0
    while th.is_alive() or seen == 0:
        snap = lt.snapshot()
        seen = sum(len(r.iterations) for r in snap.runs)
        if snap.runs:
            lt.load_iteration(0, 0)
            last = snap.runs[-1]
            lt.load_iteration(last.index, len(last.iterations) - 1)
    th.join()
    assert not errors
    snap = lt.snapshot()
    assert snap.complete and sum(len(r.iterations) for r in snap.runs) == 3000 and len(snap.runs) == 60
    lt.close()


def test_missing_file_is_a_bad_line_not_an_exception(tmp_path: Path) -> None:
    lt = LazyTrajectory(tmp_path / "nope.jsonl")
    snap = lt.index_all()
    assert snap.bad_lines[0].line_no == 0 and not snap.runs


def test_lazy_model_trajectory_fills_in_as_lines_load(logs: dict[str, Path]) -> None:
    path = logs["depth3"]
    full = read_file(str(path))
    with LazyTrajectory(path) as lt:
        lt.index_all()
        traj = lt.trajectory()
        assert [r.status for r in traj.runs] == [r.status for r in full.runs]
        assert traj.metadata == full.metadata and traj.era == full.era
        holder = traj.find("r0/i1")
        assert holder is not None and is_placeholder(holder) and holder.line_no == 3
        it = lt.load_iteration(0, 1)
        assert traj.find("r0/i1") is it and len(it.sub_calls().__next__().parent.sub_calls) == 3
        assert [n.path for n in lt.load_run(0).walk()] == [n.path for n in full.runs[0].walk()]


def test_lazy_accepts_a_bom(tmp_path: Path) -> None:
    p = tmp_path / "bom.jsonl"
    meta = dumps_record(metadata_record(root_model="m", timestamp="t"))
    p.write_bytes(b"\xef\xbb\xbf" + (meta + "\n" + _it(1, final="x") + "\n").encode())
    with LazyTrajectory(p) as lt:
        _equivalent(lt, p)
        assert lt.snapshot().metadata["root_model"] == "m"


def test_corruption_inside_a_line_is_found_by_validation_and_by_loading(tmp_path: Path) -> None:
    lines = [_it(1), _it(2), _it(3), _it(4), _it(5), _it(6, final="x"), _it(1), _it(2, final="y")]
    broken = lines[4][:40] + "\x00garbage" + lines[4][40:]  # head and tail still look fine
    p = tmp_path / "c.jsonl"
    p.write_text("\n".join([*lines[:4], broken, *lines[5:]]) + "\n")
    with LazyTrajectory(p) as lt:
        snap = lt.index_all()  # the first lines are parsed (era probe), the rest peeked
        assert [len(r.iterations) for r in snap.runs] == [6, 2] and not snap.bad_lines  # peeks trust it
        assert not snap.validated and snap.generation == 0
        _equivalent(lt, p)  # validates
        snap = lt.snapshot()
        assert [b.line_no for b in snap.bad_lines] == [5] and snap.generation == 1
        assert [[s.line_no for s in r.iterations] for r in snap.runs] == [[1, 2, 3, 4, 6], [7, 8]]
    with LazyTrajectory(p) as lt:
        lt.index_all()
        it = lt.load_iteration(0, 4)  # loading the corrupt line finds it too
        assert "could not be read" in it.extra["error"]
        snap = lt.snapshot()
        assert [b.line_no for b in snap.bad_lines] == [5] and snap.generation == 1
        assert lt.load_iteration(0, 4).line_no == 6


def test_snapshot_before_indexing_is_not_complete(logs: dict[str, Path]) -> None:
    with LazyTrajectory(logs["basic"]) as lt:
        snap = lt.snapshot()
        assert not snap.complete and snap.progress == 0.0 and not snap.runs and not snap.validated
        lt.index_all()
        assert lt.snapshot().complete and lt.snapshot().progress == 1.0


def test_still_running_file_grows(tmp_path: Path) -> None:
    p = tmp_path / "live.jsonl"
    p.write_text(_it(1) + "\n" + _it(2)[:30])
    with LazyTrajectory(p, still_running=True) as lt:
        snap = lt.index_all()
        assert [len(r.iterations) for r in snap.runs] == [1] and snap.pending_tail and not snap.bad_lines
        assert snap.runs[0].status == RunStatus.RUNNING
        with p.open("a") as fh:
            fh.write(_it(2)[30:] + "\n" + _it(3, final="done") + "\n")
        snap = lt.index_all()
        assert [len(r.iterations) for r in snap.runs] == [3] and not snap.pending_tail
        assert snap.runs[0].status == RunStatus.FINISHED and lt.final_answer(0) == "done"
