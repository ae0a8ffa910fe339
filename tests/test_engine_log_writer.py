"""The JSONL log observer: upstream file name pattern, line framing, fsync, redaction, write errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rlm_desktop.engine import events as ev
from rlm_desktop.engine.log_writer import JsonlLogObserver
from rlm_desktop.engine.redaction import MASK, Redactor
from tests.test_engine_loop import FULL, make_engine


def test_file_name_and_framing_like_upstream(tmp_path):
    eng, _ = make_engine(FULL, tmp_path, max_depth=2, max_iterations=6)
    result = eng.completion("q", "some context text")
    name = result.log_path.rsplit("/", 1)[1]
    assert re.fullmatch(r"rlm_\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_[0-9a-f]{8}\.jsonl", name)
    raw = Path(result.log_path).read_bytes()
    assert raw.endswith(b"\n") and b"\r" not in raw
    raw.decode("ascii")  # ensure_ascii, as upstream
    lines = raw.decode().splitlines()
    assert lines[0].startswith('{"type": "metadata", "timestamp": ')  # upstream separators and key order
    rec = json.loads(lines[1])
    assert list(rec)[:8] == [
        "type",
        "iteration",
        "timestamp",
        "prompt",
        "response",
        "code_blocks",
        "final_answer",
        "iteration_time",
    ]
    assert list(rec["code_blocks"][0]["result"]) == [
        "stdout",
        "stderr",
        "locals",
        "execution_time",
        "rlm_calls",
        "final_answer",
    ]


def test_only_root_iterations_become_lines_and_each_is_synced(tmp_path):
    obs = JsonlLogObserver(tmp_path / "x.jsonl")
    base = {"parent_id": None, "depth": 0, "iteration": 0}
    obs(ev.RunStarted(run_id="a", metadata={"type": "metadata", "root_model": "m"}, **base))
    obs(ev.RunStarted(run_id="a", metadata={"type": "metadata", "root_model": "again"}, **base))
    child = {"run_id": "a/1.0.0", "parent_id": "a", "depth": 1, "iteration": 1}
    obs(ev.IterationFinished(record={"type": "iteration", "iteration": 1}, **child))
    obs(
        ev.IterationFinished(
            record={"type": "iteration", "iteration": 1}, run_id="a", parent_id=None, depth=0, iteration=1
        )
    )
    obs.close()
    lines = (tmp_path / "x.jsonl").read_text().splitlines()
    assert [json.loads(x)["type"] for x in lines] == ["metadata", "iteration"]
    assert json.loads(lines[0])["root_model"] == "m"
    assert obs._syncer is not None and obs._syncer.synced == 2


def test_observer_redacts_and_reports_write_errors(tmp_path):
    secret = "sk-" + "s" * 30
    obs = JsonlLogObserver(tmp_path / "y.jsonl", Redactor([secret]), fsync="sync")
    obs(
        ev.RunStarted(
            run_id="a",
            parent_id=None,
            depth=0,
            iteration=0,
            metadata={"type": "metadata", "note": f"key {secret}"},
        )
    )
    obs.close()
    text = (tmp_path / "y.jsonl").read_text()
    assert secret not in text and MASK in text
    bad = JsonlLogObserver(tmp_path / "dir_not_file" / "z.jsonl", fsync="off")
    (tmp_path / "dir_not_file").write_text("a file where a folder should be")
    bad(ev.RunStarted(run_id="a", parent_id=None, depth=0, iteration=0, metadata={"type": "metadata"}))
    assert bad.error and "cannot write the log" in bad.error
    bad.close()


def test_both_logs_stop_at_the_first_failed_line_and_count_the_rest(tmp_path, monkeypatch):
    """One write guard for a run's log and a debugged program's record: after a failed line
    nothing more is written (no holes), later lines are counted as skipped."""
    from rlm_desktop.engine.completions_log import CompletionsLog
    from rlm_desktop.trajectory.writer import TrajectoryWriter

    real = TrajectoryWriter.write_record
    calls = {"n": 0}

    def flaky(self, rec):
        calls["n"] += 1
        if calls["n"] == 3:  # iteration 2 (after the metadata line and iteration 1) hits a full disk
            raise OSError(28, "No space left on device")
        return real(self, rec)

    monkeypatch.setattr(TrajectoryWriter, "write_record", flaky)
    base = {"parent_id": None, "depth": 0}
    for make, name, what in ((lambda p: JsonlLogObserver(p, fsync="off"), "run.jsonl", "the log"),
                             (lambda p: CompletionsLog(p), "record.jsonl", "the record")):
        calls["n"] = 0
        path = tmp_path / name
        obs = make(path)
        obs(ev.RunStarted(run_id="a", metadata={"root_model": "m"}, iteration=0, **base))
        for i in (1, 2, 3):
            rec = {"type": "iteration", "iteration": i, "response": f"r{i}"}
            obs(ev.IterationFinished(record=rec, run_id="a", iteration=i, **base))
        obs.close()
        lines = [json.loads(x) for x in path.read_text().splitlines()]
        assert [x.get("response") for x in lines] == [None, "r1"]  # metadata, iteration 1, then it stops
        assert obs.lines == 2 and obs.error.startswith(f"cannot write {what} ")
        assert "stops after line 2" in obs.error and "No space left" in obs.error
        assert obs.skipped == 1  # iteration 3 was not written after the error


def test_both_logs_hand_out_the_write_state_from_one_place():
    """error/lines/skipped are defined once (line_guard.GuardedLog), not repeated per log."""
    from rlm_desktop.engine.completions_log import CompletionsLog
    from rlm_desktop.engine.line_guard import GuardedLog

    for cls in (JsonlLogObserver, CompletionsLog):
        assert issubclass(cls, GuardedLog)
        for name in ("error", "lines", "skipped"):
            assert name not in vars(cls), f"{cls.__name__}.{name} repeats GuardedLog's"
            assert getattr(cls, name) is vars(GuardedLog)[name]
