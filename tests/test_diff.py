"""Structural diff of two runs: real upstream logs (rlms against the mock server), forks made
by our engine, hand-written lines of the older upstream eras, and the ``rlm-desktop diff`` CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rlm_desktop.diff_cli import diff_main
from rlm_desktop.trajectory.diff import ADDED, SAME, Unreadable, diff_files
from rlm_desktop.trajectory.diff.align import align, lcs_pairs
from tests.support.diff_pairs import generate_pairs

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    return generate_pairs(tmp_path_factory.mktemp("pairs"))


# -- alignment --------------------------------------------------------------------------------------


def test_lcs_and_alignment_pair_gaps_by_position():
    assert lcs_pairs("abcde", "axcye") == [(0, 0), (2, 2), (4, 4)]
    got = align(list("abcd"), list("abXYcd"), key=lambda x: x)
    assert got == [("a", "a"), ("b", "b"), (None, "X"), (None, "Y"), ("c", "c"), ("d", "d")]
    # a changed middle pairs by position, the surplus is added
    got = align(list("aPQd"), list("aRSTd"), key=lambda x: x)
    assert got == [("a", "a"), ("P", "R"), ("Q", "S"), (None, "T"), ("d", "d")]
    # equal counts: by position even when the keys differ
    assert align([1, 2], [3, 4], key=lambda x: x) == [(1, 3), (2, 4)]
    assert align([], [1], key=lambda x: x) == [(None, 1)]


# -- real upstream logs -------------------------------------------------------------------------------


def test_same_script_twice_has_no_difference(pairs):
    p = pairs["same"]
    d = diff_files(str(p["a"]), str(p["b"]))
    assert not d.differs, [(n.path, n.what) for n in d.divergences()]
    assert d.counts()["same"] == len(list(d.nodes())) > 5
    # volatile text really differed between the two files (temp dirs of the REPL)
    assert Path(p["a"]).read_text() != Path(p["b"]).read_text()


def test_a_change_three_levels_down_is_named_by_its_path(pairs):
    p = pairs["deep"]
    d = diff_files(str(p["a"]), str(p["b"]))
    first = d.first_divergence
    assert first.path == p["expect"]["path"] == "r0/i0/b0/c0/r/i1/b0/c0/r/i0"
    assert "response" in first.what
    resp = next(c for c in first.changes if c.field == "response")
    assert '-leaf = rlm_query("deepest question", model="mock-leaf")' in resp.diff
    assert '+leaf = rlm_query("deepest question, reworded", model="mock-leaf")' in resp.diff
    # everything before it in execution order is the same
    before = d.divergences()
    assert before[0] is first
    # the consequences up the tree are marked too (the block printed what the child said)
    block = next(n for n in d.nodes() if n.path == "r0/i0/b0")
    assert any(c.field == "stdout" for c in block.changes)
    # the leaf question is longer: tokens go up at the leaf call and in the totals
    leaf = next(n for n in d.nodes() if n.path == "r0/i0/b0/c0/r/i1/b0/c0/r/i0/b0/c0")
    assert leaf.fig_b.input_tokens > leaf.fig_a.input_tokens


def test_an_extra_turn_is_aligned_by_lcs(pairs):
    p = pairs["extra_turn"]
    d = diff_files(str(p["a"]), str(p["b"]))
    its = [n for n in d.roots[0].children]
    assert [(n.path_a, n.path_b, n.status) for n in its][:3] == [
        ("r0/i0", "r0/i0", SAME), (None, "r0/i1", ADDED), ("r0/i1", "r0/i2", "changed")]
    assert [(n.path_a, n.path_b) for n in its[3:]] == [("r0/i2", "r0/i3"), ("r0/i3", "r0/i4")]
    # later turns differ only in their prompts (the history holds the extra turn), their blocks
    # only in the locals: the extra turn's variable is there
    for n in its[2:]:
        assert [c.field for c in n.changes] == ["prompt"]
        for b in n.children:
            assert [c.field for c in b.changes] == ["locals"]
            assert "+looked = true" in b.changes[0].diff
    first = d.first_divergence
    assert (first.path, first.what) == ("r0/i1", "iteration added")


def test_cli_text_json_and_exit_status(pairs, capsys, tmp_path):
    p = pairs["deep"]
    assert diff_main([str(p["a"]), str(p["b"])]) == 1
    out = capsys.readouterr().out
    assert "first divergence: r0/i0/b0/c0/r/i1/b0/c0/r/i0: response" in out
    assert "nodes: " in out and "changed" in out
    assert diff_main(["--json", str(p["a"]), str(p["b"])]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["first_divergence"]["path"] == "r0/i0/b0/c0/r/i1/b0/c0/r/i0"
    assert "response" in doc["first_divergence"]["what"]
    assert {"a", "b", "delta", "changed", "same"} <= set(doc["totals"])
    assert doc["totals"]["delta"]["tokens"] == doc["totals"]["b"]["tokens"] - doc["totals"]["a"]["tokens"] > 0
    assert len(doc["nodes"]) == len(list(diff_files(str(p["a"]), str(p["b"])).nodes()))
    node = next(n for n in doc["nodes"] if n["path"] == doc["first_divergence"]["path"])
    assert node["status"] == "changed" and node["delta"]["tokens"] is not None
    same = pairs["same"]
    assert diff_main([str(same["a"]), str(same["b"])]) == 0
    assert "no differences" in capsys.readouterr().out
    assert diff_main(["--json", str(same["a"]), str(same["b"])]) == 0
    assert json.loads(capsys.readouterr().out)["first_divergence"] is None
    # unreadable: missing, a directory, nothing readable
    assert diff_main([str(p["a"]), str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl" in capsys.readouterr().err
    assert diff_main([str(tmp_path), str(p["a"])]) == 2
    junk = tmp_path / "junk.jsonl"
    junk.write_bytes(b"not json\n\x00\xff\n")
    assert diff_main([str(junk), str(p["a"])]) == 2
    with pytest.raises(Unreadable):
        diff_files(str(junk), str(p["a"]))


def test_the_console_script_runs_the_diff(pairs):
    p = pairs["extra_turn"]
    proc = subprocess.run([sys.executable, "-m", "rlm_desktop", "diff", "--json", str(p["a"]), str(p["b"])],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout)["first_divergence"]["what"] == "iteration added"


def test_log_text_cannot_drive_the_terminal(tmp_path, capsys):
    def log(answer):
        meta = {"type": "metadata", "root_model": "m", "max_depth": 1, "max_iterations": 3}
        it = {"type": "iteration", "iteration": 1, "timestamp": "t", "prompt": [], "response": answer,
              "code_blocks": [], "final_answer": answer, "iteration_time": 1.0}
        return json.dumps(meta) + "\n" + json.dumps(it) + "\n"

    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(log("plain"))
    b.write_text(log("\x1b[2J\x1b]0;pwned\x07 cleared"))
    assert diff_main([str(a), str(b)]) == 1
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\\x1b[2J" in out


# -- older upstream eras (hand-written lines in the shapes of TRAJECTORY_FORMAT.md) --------------------


def _write(path: Path, recs: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return str(path)


def _it(n, response, final=None, blocks=(), t=1.0):
    return {"type": "iteration", "iteration": n, "timestamp": f"2026-01-01T00:00:0{n}", "prompt": [
        {"role": "system", "content": "sys"}], "response": response, "code_blocks": list(blocks),
        "final_answer": final, "iteration_time": t}


def _block(code, stdout="", calls=(), final=...):
    res = {"stdout": stdout, "stderr": "", "locals": {"x": 1, "f": "<object at 0x7f00deadbeef>"},
           "execution_time": 0.1, "rlm_calls": list(calls)}
    if final is not ...:
        res["final_answer"] = final
    return {"code": code, "result": res}


META = {"type": "metadata", "timestamp": "2026-01-01T00:00:00", "root_model": "m", "max_depth": 2,
        "max_iterations": 5, "backend": "openai", "backend_kwargs": {}, "environment_type": "local",
        "environment_kwargs": {}, "other_backends": None}


def test_pre_era_pairs_and_counters_that_do_not_restart(tmp_path):
    """pre: final answers are [kind, text] pairs and the counter runs on across completions."""
    def recs(second_stdout):
        return [META, _it(1, "look", blocks=[_block("x = 1", "one")]), _it(2, "FINAL(a)", final=["FINAL", "a"]),
                _it(3, "again", blocks=[_block("y = 2", second_stdout)]), _it(4, "FINAL(b)", final=["FINAL", "b"])]

    a = _write(tmp_path / "a.jsonl", recs("two"))
    b = _write(tmp_path / "b.jsonl", recs("TWO"))
    d = diff_files(a, b)
    assert d.a.era == "pre" and len(d.a.runs) == 2
    assert (d.first_divergence.path, d.first_divergence.what) == ("r1/i0/b0", "stdout")
    assert d.counts()["changed"] == 1  # the memory address in the locals is not a difference


def test_v010_and_v011_nested_children(tmp_path):
    child = {"root_model": "child", "prompt": "sub task", "response": "child answer",
             "usage_summary": {"model_usage_summaries": {"child": {"total_calls": 2, "total_input_tokens": 40,
                                                                   "total_output_tokens": 5}}},
             "execution_time": 0.5,
             "metadata": {"run_metadata": {"root_model": "child", "max_depth": 2},
                          "iterations": [_it(1, "child look", blocks=[_block("z = 3", "z")]),
                                         _it(2, "child done", blocks=[_block("done()", final="child answer")],
                                             final="child answer")]}}
    child2 = json.loads(json.dumps(child))
    child2["metadata"]["iterations"].insert(1, _it(2, "one more child look"))
    child2["metadata"]["iterations"][2]["iteration"] = 3
    a = _write(tmp_path / "a.jsonl", [META, _it(1, "go", blocks=[_block("r = rlm_query('sub task')", "r",
                                                                          calls=[child], final=None)]),
                                      _it(2, "end", blocks=[_block("fin", final="ok")], final="ok")])
    b = _write(tmp_path / "b.jsonl", [META, _it(1, "go", blocks=[_block("r = rlm_query('sub task')", "r",
                                                                          calls=[child2], final=None)]),
                                      _it(2, "end", blocks=[_block("fin", final="ok")], final="ok")])
    d = diff_files(a, b)
    assert d.a.era == "0.1.1"
    first = d.first_divergence
    assert (first.path_b, first.what) == ("r0/i0/b0/c0/r/i1", "iteration added")
    kids = next(n for n in d.nodes() if n.path == "r0/i0/b0/c0/r").children
    assert [(k.path_a, k.path_b, k.status) for k in kids] == [
        ("r0/i0/b0/c0/r/i0", "r0/i0/b0/c0/r/i0", SAME), (None, "r0/i0/b0/c0/r/i1", ADDED),
        ("r0/i0/b0/c0/r/i1", "r0/i0/b0/c0/r/i2", SAME)]
    # 0.1.0: string finals, no nesting
    recs = [META, _it(1, "FINAL(x)", final="x")]
    a0 = _write(tmp_path / "a0.jsonl", recs)
    b0 = _write(tmp_path / "b0.jsonl", [META, _it(1, "FINAL(y)", final="y")])
    d0 = diff_files(a0, b0)
    assert d0.first_divergence.path == "r0/i0" and "response" in d0.first_divergence.what
    assert not diff_files(a0, _write(tmp_path / "c0.jsonl", recs)).differs


# -- forks made by our engine ----------------------------------------------------------------------------


def test_a_fork_differs_from_its_original_at_the_fork_point(tmp_path):
    from rlm_desktop.debugger.fork import ForkPlan, run_fork
    from rlm_desktop.engine.config import EngineConfig
    from rlm_desktop.trajectory.model import RunStatus
    from tests.test_engine_fakes import env_choice
    from tests.test_engine_loop import FULL, R, make_engine

    eng, _ = make_engine(FULL, tmp_path / "orig", max_depth=2, max_iterations=6)
    orig = eng.completion("Summarise the parts.", "some context text")
    assert orig.status == RunStatus.FINISHED
    edit = R("answer['content'] = 'EDIT ' + sub\nanswer['ready'] = True")
    fork = run_fork(ForkPlan(orig.log_path, "r0/i3", "Summarise the parts.", "some context text",
                             edited_response=edit),
                    EngineConfig(environment=env_choice(), log_dir=str(tmp_path / "fork")))
    assert fork.status == RunStatus.FINISHED, fork.error
    d = diff_files(orig.log_path, fork.log_path)
    assert d.a.era == d.b.era == "rlm_desktop"
    first = d.first_divergence
    assert first.path == "r0/i3" and "response" in first.what
    # the replayed turns before the fork point are the same, child runs included
    for n in d.nodes():
        if n.path.startswith(("r0/i0", "r0/i1", "r0/i2")):
            assert n.status == SAME, (n.path, n.what, [c.diff for c in n.changes])
    run = d.roots[0]
    assert any(c.field == "final_answer" for c in run.changes)
