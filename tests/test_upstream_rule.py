"""One rule for "count this run upstream's way" (``format.counts_upstream``, per root run),
and every view of a run counts the same tokens and calls with it.

Upstream (rlms) logs nest a child RLM's ``llm_query`` calls in the child's ``usage_summary``
on the spawning call (``summary.py``); our engine's do not. Two rules used to decide which
log is which: the trajectory's era (status bar, run tree) and the root run's metadata plus
"does any iteration carry usage" (Metrics, Run Summary). The logs below are where they
disagreed; each view counted its own number and ``shared_totals`` walked the run once per
rule (each caller evicting the other's cached totals).

Every log here has one root run: iteration 1 spawns a child run (max_depth 3, so the child
could recurse and its one ``llm_query`` is in its summary), iteration 2 answers.

* spawning call: 2 calls, 70 + 7 tokens (the child's turn and its ``llm_query``)
* the child's ``llm_query``: 1 call, 20 + 2 tokens (upstream: already in the line above)
* root turns, when logged under our extras: 100 + 10 and 30 + 3
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rlm_desktop.trajectory import LazyTrajectory, read_file, read_totals
from rlm_desktop.trajectory import totals as totals_mod
from rlm_desktop.trajectory.lazy import PLACEHOLDER_KEY
from rlm_desktop.trajectory.model import Trajectory, Usage
from rlm_desktop.trajectory.run_card import facts_of_totals, run_facts
from rlm_desktop.trajectory.summary import trajectory_usage
from rlm_desktop.trajectory.writer import dumps_record, metadata_record

UP_OWN = Usage(4, 200, 20)  # upstream's way, root turns logged: 110+33 + 77
OURS_OWN = Usage(5, 220, 22)  # ... counting the child's llm_query again
UP_BARE = Usage(2, 70, 7)  # a plain upstream log: no root turns, the spawning call only
OURS_BARE = Usage(3, 90, 9)


def _summary(calls: int, inp: int, out: int) -> dict[str, Any]:
    return {"model_usage_summaries": {"m": {"total_calls": calls, "total_input_tokens": inp,
                                            "total_output_tokens": out}}}


def _block(code: str, calls: list[dict[str, Any]]) -> dict[str, Any]:
    return {"code": code, "result": {"stdout": "", "stderr": "", "locals": {}, "execution_time": 0.1,
                                     "rlm_calls": calls, "final_answer": None}}


def _records(own_usage: bool) -> list[dict[str, Any]]:
    """The two iteration lines (``own_usage``: with the root turns' usage under our extras,
    as ``rlm-desktop debug --record`` writes an upstream program's completions)."""
    child_it = {"type": "iteration", "iteration": 1, "timestamp": "2026-01-01T00:00:01", "prompt": [],
                "response": "```repl\nllm_query('x')\n```",
                "code_blocks": [_block("llm_query('x')", [{"root_model": "m", "prompt": "x", "response": "y",
                                                           "usage_summary": _summary(1, 20, 2),
                                                           "execution_time": 0.1}])],
                "final_answer": "child answer", "iteration_time": 0.3}
    child_meta = {"root_model": "m", "max_depth": 3, "max_iterations": 5, "backend": "openai",
                  "backend_kwargs": {}, "environment_type": "local", "environment_kwargs": {},
                  "other_backends": None}
    call = {"root_model": "m", "prompt": "sub task", "response": "child answer",
            "usage_summary": _summary(2, 70, 7), "execution_time": 0.5,
            "metadata": {"run_metadata": child_meta, "iterations": [child_it]}}
    first: dict[str, Any] = {"type": "iteration", "iteration": 1, "timestamp": "2026-01-01T00:00:02", "prompt": [],
                             "response": "```repl\nrlm_query('sub task')\n```",
                             "code_blocks": [_block("rlm_query('sub task')", [call])],
                             "final_answer": None, "iteration_time": 1.0}
    last: dict[str, Any] = {"type": "iteration", "iteration": 2, "timestamp": "2026-01-01T00:00:03", "prompt": [],
                            "response": "done", "code_blocks": [], "final_answer": "done", "iteration_time": 0.5}
    if own_usage:
        first["rlm_desktop"] = {"usage": _summary(1, 100, 10)}
        last["rlm_desktop"] = {"usage": _summary(1, 30, 3)}
    return [first, last]


def _meta(ours: bool) -> dict[str, Any]:
    return metadata_record(root_model="m", max_depth=3, max_iterations=5, timestamp="2026-01-01T00:00:00",
                           extra={"version": "test", "run_id": "ours"} if ours else None)


def _write(path: Path, *parts: list[dict[str, Any]]) -> Path:
    path.write_text("".join(dumps_record(r) + "\n" for part in parts for r in part))
    return path


#: name -> (lines, what each run counts)
LOGS: dict[str, tuple[list[list[dict[str, Any]]], list[Usage]]] = {
    # an upstream program recorded by us: upstream metadata, our usage extras on the lines
    # (was: status bar/tree upstream's way, Metrics/Run Summary ours)
    "recorded upstream program": ([[_meta(False)], _records(True)], [UP_OWN]),
    # iterations without any metadata line (upstream's logger.log() alone), usage logged
    "no metadata line": ([_records(True)], [UP_OWN]),
    # a log of ours with an upstream log appended (era rlm_desktop; the second run's
    # metadata line is upstream's): was status bar/tree ours, Metrics/Run Summary upstream's
    "ours then upstream": ([[_meta(True)], _records(True), [_meta(False)], _records(False)], [OURS_OWN, UP_BARE]),
    "upstream then ours": ([[_meta(False)], _records(False), [_meta(True)], _records(True)], [UP_BARE, OURS_OWN]),
}


def test_the_rule_is_the_metadata_line_s() -> None:
    from rlm_desktop.trajectory.format import counts_upstream

    assert counts_upstream(_meta(True)) is False
    assert counts_upstream(_meta(False)) is True
    assert counts_upstream({}) is counts_upstream(None) is counts_upstream("junk") is True


def _status_usage(traj: Trajectory, worker: bool) -> Usage:
    from rlm_desktop.ui.status import _usage

    got = _usage(traj, (lambda: False) if worker else None)
    assert got is not None
    return got


def _metrics_total(run: Any) -> Usage:
    from rlm_desktop.ui.panels.metrics import RunMetrics

    return RunMetrics.of(run).total


def _tree_cell(traj: Trajectory, node: Any) -> str:
    from rlm_desktop.ui.tree_model import RunTreeModel

    model = RunTreeModel()
    model.set_trajectory(traj)
    return model.data(model.index_of(node, 3))


def _check_views(traj: Trajectory, want: list[Usage], path: Path | None) -> None:
    assert len(traj.runs) == len(want)
    total = Usage()
    for run, w in zip(traj.runs, want, strict=True):
        total = total + w
        assert totals_mod.RunTotals.of_run(run).usage == w
        assert totals_mod.shared_totals(run).usage == w  # Metrics / Run Summary (big run)
        assert _metrics_total(run) == w
        assert run_facts(run).tokens == w.total_tokens  # Run Summary
        assert facts_of_totals(run, totals_mod.shared_totals(run, None)).tokens == w.total_tokens
        assert _tree_cell(traj, run) == f"{w.total_tokens:,}"
    assert trajectory_usage(traj) == total
    assert _status_usage(traj, worker=False) == total  # status bar, small trajectory
    assert _status_usage(traj, worker=True) == total  # status bar, counted in a worker
    if path is not None:  # the whole-file pass (a lazily opened file's runs, inspect --summary)
        assert [r.usage for r in read_totals(path).runs] == want


@pytest.mark.parametrize("name", list(LOGS))
def test_every_view_counts_a_log_the_same_way(qapp, tmp_path: Path, name: str) -> None:
    parts, want = LOGS[name]
    path = _write(tmp_path / "log.jsonl", *parts)
    _check_views(read_file(str(path)), want, path)


def test_a_live_tail_of_a_recorded_upstream_program_counts_the_same(qapp, tmp_path: Path) -> None:
    """Its first line only (no final answer yet): a running run, counted as the file will be
    (was: status bar/tree upstream's way, Metrics/Run Summary ours: 209 tokens)."""
    path = _write(tmp_path / "log.jsonl", [_meta(False)], _records(True)[:1])
    traj = read_file(str(path), still_running=True)
    assert traj.runs[0].status.value == "running"
    _check_views(traj, [Usage(3, 170, 17)], None)  # its turn 100+10, the spawning call 70+7


def test_a_model_built_without_era_or_metadata_counts_upstream_s_way(qapp, tmp_path: Path) -> None:
    """Built in code (no era, no metadata) with usage on its root turns: the log does not say
    it is ours, so it is counted as upstream's (the era rule said so, the metadata rule not)."""
    path = _write(tmp_path / "log.jsonl", _records(True))
    read = read_file(str(path))
    traj = Trajectory(runs=read.runs)  # era "unknown", no metadata
    assert traj.era == "unknown" and traj.runs[0].metadata == {}
    _check_views(traj, [UP_OWN], None)


def _counting_walks(monkeypatch) -> list[Any]:
    walked: list[Any] = []
    original = totals_mod.RunTotals.add

    def add(self, it):
        walked.append(it)
        original(self, it)

    monkeypatch.setattr(totals_mod.RunTotals, "add", add)
    return walked


@pytest.mark.parametrize("name", list(LOGS))
def test_shared_totals_walks_a_run_once_for_every_view(qapp, tmp_path: Path, monkeypatch, name: str) -> None:
    """The status bar (worker), the Metrics panel and the Run Summary (big run) ask for the
    same runs' totals, in turns: each run is walked once (two rules walked it once per rule,
    each evicting the other's totals)."""
    from rlm_desktop.ui.panels.metrics import RunMetrics

    parts, want = LOGS[name]
    traj = read_file(str(_write(tmp_path / "log.jsonl", *parts)))
    walked = _counting_walks(monkeypatch)
    for _ in range(2):
        _status_usage(traj, worker=True)
        for run in traj.runs:
            RunMetrics.of(run)
            totals_mod.shared_totals(run, None)  # the Run Summary's call
    assert len(walked) == sum(len(r.iterations) for r in traj.runs)


@pytest.mark.parametrize("name", list(LOGS))
def test_the_flame_graph_counts_a_log_as_every_other_view(qtbot, tmp_path: Path, name: str) -> None:
    """The flame panel had a rule of its own (our extra key in ``run.extra``, which nothing
    sets, or any turn with usage): a recorded upstream program was laid out our way."""
    from PySide6.QtWidgets import QVBoxLayout, QWidget

    from rlm_desktop.ui.flame_graph import FlamePanel

    parts, want = LOGS[name]
    traj = read_file(str(_write(tmp_path / "log.jsonl", *parts)))
    host = QWidget()
    qtbot.addWidget(host)
    panel = FlamePanel(host)
    QVBoxLayout(host).addWidget(panel)
    host.resize(800, 300)
    host.show()
    for run, w in zip(traj.runs, want, strict=True):
        panel.show_node(run.iterations[0].code_blocks[0])  # a selection in the run
        assert panel.total_label.text() == f"{w.total_tokens:,} tokens"
    for run, w in zip(reversed(traj.runs), reversed(want), strict=True):
        panel.show_run(run)
        assert panel.total_label.text() == f"{w.total_tokens:,} tokens"


def test_a_lazy_runs_totals_are_kept_once_its_placeholders_are_filled(qapp, tmp_path: Path, monkeypatch) -> None:
    """A lazily opened file's run: while some iterations are placeholders the totals are walked
    anew each time (the walk notes the placeholders it saw); once they are filled, once. Its
    counts are the whole-file pass's (the tree and Run Summary show those) at every stage
    a view may see them, before and after the lines are parsed."""
    parts, want = LOGS["recorded upstream program"]
    path = _write(tmp_path / "log.jsonl", *parts)
    whole = read_totals(path).runs[0]
    assert whole.usage == want[0]
    with LazyTrajectory(path) as lt:
        lt.index_all()
        traj = lt.trajectory()
        run = traj.runs[0]
        walked = _counting_walks(monkeypatch)
        first = totals_mod.shared_totals(run)
        assert first.placeholders == 2 and first.usage == Usage()  # nothing parsed yet
        totals_mod.shared_totals(run)
        assert len(walked) == 4  # not kept: walked again
        lt.load_iteration(0, 0)
        assert totals_mod.shared_totals(run).placeholders == 1
        lt.load_run(0)
        walked.clear()
        filled = totals_mod.shared_totals(run)
        assert filled.placeholders == 0 and len(walked) == 2
        assert totals_mod.shared_totals(run) is filled and len(walked) == 2  # kept
        assert filled.usage == whole.usage == _metrics_total(run) == _status_usage(traj, worker=True)
        assert run_facts(run).tokens == whole.usage.total_tokens
        # one pass over the iterations per walk (the placeholder check was a second one)
        run.iterations = passes = _Passes(run.iterations)
        run.iterations[0].extra[PLACEHOLDER_KEY] = True  # as if evicted from the parse cache
        with totals_mod._SHARED_LOCK:
            del totals_mod._SHARED[id(run)]  # (kept totals stay valid: they were counted filled)
        assert totals_mod.shared_totals(run).placeholders == 1
        assert passes.count == 1


class _Passes(list):
    """A run's iterations that count the passes over them."""

    count = 0

    def __iter__(self):
        self.count += 1
        return super().__iter__()


def test_a_big_runs_tree_cell_and_the_other_views_share_one_walk(qtbot, tmp_path: Path, monkeypatch) -> None:
    """Over ``BIG_RUN`` iterations the tree counts a run in a worker through ``shared_totals``,
    with the rule it decided for the row; the Metrics panel, the Run Summary and the status
    bar then get the same totals without walking the run again."""
    from rlm_desktop.ui.panels.metrics import RunMetrics
    from rlm_desktop.ui.tree_model import BIG_RUN, RunTreeModel

    first, last = _records(True)
    middle = [{"type": "iteration", "iteration": k, "timestamp": "2026-01-01T00:00:02", "prompt": [],
               "response": "r", "code_blocks": [], "final_answer": None, "iteration_time": 0.1,
               "rlm_desktop": {"usage": _summary(1, 1, 1)}} for k in range(2, BIG_RUN + 102)]
    last["iteration"] = BIG_RUN + 102
    traj = read_file(str(_write(tmp_path / "big.jsonl", [_meta(False)], [first], middle, [last])))
    run = traj.runs[0]
    n = len(run.iterations)
    assert n > BIG_RUN
    want = UP_OWN.total_tokens + 2 * len(middle)
    walked = _counting_walks(monkeypatch)
    model = RunTreeModel()
    model.set_trajectory(traj)
    model.cells(run)
    qtbot.waitUntil(lambda: model.cells(run)[3] != "…", timeout=30_000)
    assert model.cells(run)[3] == f"{want:,}"
    assert RunMetrics.of(run).total.total_tokens == want
    assert facts_of_totals(run, totals_mod.shared_totals(run, None)).tokens == want
    assert _status_usage(traj, worker=True).total_tokens == want
    assert len(walked) == n


@pytest.mark.parametrize("name", list(LOGS))
def test_inspect_the_html_export_and_the_diff_count_each_run_by_its_own_rule(tmp_path: Path, name: str) -> None:
    """The tools that took one rule for a whole trajectory (its era) count each run by its own."""
    from rlm_desktop.cli import trajectory_json
    from rlm_desktop.trajectory.diff.tree import diff_trajectories
    from rlm_desktop.trajectory.html_export import export_html

    parts, want = LOGS[name]
    path = _write(tmp_path / "log.jsonl", *parts)
    traj = read_file(str(path))
    out = trajectory_json(traj, path.stat().st_size, None)
    def as_json(u: Usage) -> dict[str, Any]:
        return {"calls": u.calls, "input_tokens": u.input_tokens, "output_tokens": u.output_tokens, "cost": None}

    assert [r["usage"] for r in out["runs"]] == [as_json(w) for w in want]
    assert out["usage"] == as_json(sum(want, Usage()))
    roots = diff_trajectories(traj, read_file(str(path))).roots
    assert [(n.fig_a.tokens, n.fig_b.tokens) for n in roots] == [(w.total_tokens, w.total_tokens) for w in want]
    page = export_html(traj)
    for run, w in zip(traj.runs, want, strict=True):  # the run's own heading figures
        head = page.split(f'<span class="path">{run.path}</span>run ', 1)[1].split("</summary>", 1)[0]
        assert f"{w.total_tokens:,} tokens" in head
