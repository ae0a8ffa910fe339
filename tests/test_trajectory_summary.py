"""Usage roll-ups that count every call once (rlm_desktop.trajectory.summary)."""

from __future__ import annotations

from rlm_desktop.trajectory.model import EXTRA_KEY, CodeBlock, Iteration, Run, SubCall, Trajectory, Usage
from rlm_desktop.trajectory.summary import (
    block_usage,
    call_usage,
    covered_by_parent,
    iteration_usage,
    run_usage,
    subtree_usage,
    trajectory_usage,
    upstream_of,
)


def _tree(child_depth_limit: int, handler_calls: int, plain: int) -> tuple[Run, SubCall, list[SubCall]]:
    """root -> one child call whose run made ``plain`` plain calls of 10 tokens each."""
    root = Run(metadata={"root_model": "r", "max_depth": child_depth_limit})
    it = root.add_iteration(Iteration(number=1))
    block = it.add_block(CodeBlock(0))
    child = Run(depth=1, metadata={"root_model": "c", "max_depth": child_depth_limit})
    cit = child.add_iteration(Iteration(number=1))
    cblock = cit.add_block(CodeBlock(0))
    leaves = [cblock.add_sub_call(SubCall(i, model="c", usage=Usage(1, 10, 1))) for i in range(plain)]
    # upstream: the child's summary = its 1 root turn (100 tokens) + the handler-routed calls
    call = block.add_sub_call(
        SubCall(
            0,
            model="c",
            usage=Usage(1 + handler_calls, 100 + 10 * handler_calls, 5 + handler_calls),
            child=child,
        )
    )
    child.parent = call
    return root, call, leaves


def test_child_that_could_recurse_all_plain_calls_are_in_its_summary() -> None:
    root, call, leaves = _tree(child_depth_limit=3, handler_calls=2, plain=2)
    assert all(covered_by_parent(c) for c in leaves)
    assert run_usage(root) == Usage(3, 120, 7)
    assert root.total_usage() == Usage(5, 140, 9)  # the model's roll-up counts them twice
    assert call_usage(call) == subtree_usage(call.child) == Usage(3, 120, 7)


def test_last_level_leaf_calls_are_not_in_the_summary() -> None:
    root, call, leaves = _tree(child_depth_limit=2, handler_calls=0, plain=2)
    assert not any(covered_by_parent(c) for c in leaves)
    assert run_usage(root) == Usage(3, 120, 7) == root.total_usage()


def test_last_level_mixed_takes_the_count_from_the_summary() -> None:
    root, call, leaves = _tree(child_depth_limit=2, handler_calls=1, plain=3)
    assert [covered_by_parent(c) for c in leaves] == [True, False, False]
    assert run_usage(root) == Usage(4, 130, 8)
    it = root.iterations[0]
    assert iteration_usage(it) == block_usage(it.code_blocks[0]) == run_usage(root)


def test_our_own_logs_use_the_model_roll_up() -> None:
    root, call, _ = _tree(child_depth_limit=3, handler_calls=0, plain=2)
    root.iterations[0].usage = Usage(1, 50, 2, 0.01)
    assert run_usage(root, upstream=False) == root.total_usage()
    assert iteration_usage(root.iterations[0], upstream=False) == root.iterations[0].total_usage()
    # the run's metadata line decides (ours: our extra key on it, as our writer puts it
    # there), not the trajectory's era field: every view of the run goes by the run
    traj = Trajectory(runs=[root], era="rlm_desktop")
    assert upstream_of(root) and trajectory_usage(traj) == run_usage(root, upstream=True) != root.total_usage()
    root.metadata[EXTRA_KEY] = {"run_id": "r"}
    assert not upstream_of(call.child) and not upstream_of(call.child.iterations[0].code_blocks[0].sub_calls[0])
    assert trajectory_usage(traj) == run_usage(root) == call_usage(call) + Usage(1, 50, 2, 0.01) == root.total_usage()
    traj.era = "0.1.2+"
    assert trajectory_usage(traj) == root.total_usage()
    del root.metadata[EXTRA_KEY]
    assert trajectory_usage(traj).cost == 0.01 and trajectory_usage(traj) != root.total_usage()


def test_a_walk_makes_each_runs_covered_set_once(monkeypatch) -> None:
    """RunTotals, the flame graph and the HTML export ask about every plain call of a child
    run; each run's covered set is made once per walk (it was made once per call)."""
    from rlm_desktop.trajectory import flame, html_export, summary
    from rlm_desktop.trajectory.totals import RunTotals

    root, call, leaves = _tree(child_depth_limit=2, handler_calls=300, plain=500)
    made: list[int] = []
    real = summary._covered_set
    monkeypatch.setattr(summary, "_covered_set", lambda run: (made.append(id(run)), real(run))[1])
    covered = summary.CoveredCalls()
    assert [covered(c) for c in leaves] == [covered_by_parent(c) for c in leaves]
    assert sum(covered(c) for c in leaves) == 300
    made.clear()
    totals = RunTotals.start(root, upstream=True)
    totals.add(root.iterations[0])
    in_totals = made.count(id(call.child))  # (the iteration's own roll-up makes it too)
    made.clear()
    flame.layout(root, upstream=True)
    in_flame = made.count(id(call.child))
    made.clear()
    html_export._metrics(Trajectory(runs=[root]))
    # made at most twice per walk, for 500 plain calls (before: once per call, 500 times)
    assert max(in_totals, in_flame, made.count(id(call.child))) <= 2, (in_totals, in_flame, made)
