"""Panels following a LIVE engine run: events -> LiveRecorder -> refresh() after every event.

What the refreshed panels show at the end must equal what fresh panels show for
the finished nodes, and the user's scroll position survives refreshes.
"""

from __future__ import annotations

import test_ui_panels_data  # noqa: F401  (Qt crash guard)
from PySide6.QtCore import QModelIndex

from rlm_desktop.engine import events as ev
from rlm_desktop.engine.recorder import LiveRecorder
from rlm_desktop.trajectory.model import CodeBlock, Iteration
from rlm_desktop.ui.panels.code_view import CodeView
from rlm_desktop.ui.panels.messages import MessagesPanel
from rlm_desktop.ui.panels.metrics import MetricsPanel
from rlm_desktop.ui.panels.output import OutputPanel
from rlm_desktop.ui.panels.variables import VariablesPanel
from tests.test_engine_loop import FULL, make_engine


def _make(qtbot):
    ps = {
        "code": CodeView(),
        "output": OutputPanel(),
        "messages": MessagesPanel(),
        "variables": VariablesPanel(),
        "metrics": MetricsPanel(),
    }
    for p in ps.values():
        qtbot.addWidget(p)
        p.resize(500, 300)
        p.show()
    return ps


def _snapshot(ps):
    v = ps["variables"]
    return {
        "code": (ps["code"].editor.toPlainText(), ps["code"].tabs.count()),
        "output": (ps["output"].text(), ps["output"].answer.toPlainText(), ps["output"].status.text()),
        "messages": [it.key() for it in ps["messages"].items()],
        "variables": [
            tuple(v.proxy.index(r, c, QModelIndex()).data() for c in range(3)) for r in range(v.proxy.rowCount())
        ],
        "metrics": tuple(list(getattr(ps["metrics"].metrics, k)) for k in ("numbers", "sub_tokens", "time")),
    }


def test_panels_refreshed_live_equal_fresh_panels(qtbot):
    eng, events = make_engine(FULL, None, max_depth=2, max_iterations=6)
    result = eng.completion("Summarise the parts.", "some context text")
    assert result.error is None
    live = _make(qtbot)
    rec = LiveRecorder()
    saw_running_output = False
    current: Iteration | None = None
    for e in events:
        node = rec.apply(e)
        if isinstance(e, ev.RunStarted) and e.depth == 0:
            live["metrics"].show_run(rec.trajectory.runs[0])
        if isinstance(node, Iteration) and node.depth == 0 and node is not current:
            current = node
            for name, p in live.items():
                if name != "metrics":
                    p.show_node(node)
        else:
            for p in live.values():
                p.refresh()
        if isinstance(e, ev.CodeBlockStarted) and e.depth == 0:
            saw_running_output = saw_running_output or "running" in live["output"].text()
    assert saw_running_output
    run = rec.trajectory.runs[0]
    assert current is run.iterations[-1] and not current.running

    fresh = _make(qtbot)
    fresh["metrics"].show_run(run)
    for name, p in fresh.items():
        if name != "metrics":
            p.show_node(current)
    assert _snapshot(live) == _snapshot(fresh)
    assert live["output"].answer.toPlainText() == result.response
    assert list(live["metrics"].metrics.numbers) == [1, 2, 3, 4]


def test_live_block_output_grows_and_scroll_is_kept(qtbot):
    it = Iteration(number=1, running=True)
    block = it.add_block(CodeBlock(index=0, code="for i in range(999): print(i)", running=True))
    ps = _make(qtbot)
    for p in ps.values():
        if p is not ps["metrics"]:
            p.show_node(block)
    out = ps["output"]
    block.stdout = "".join(f"{i}\n" for i in range(300))
    out.refresh()
    bar = out.view.edit.verticalScrollBar()
    bar.setValue(50)
    for chunk in range(3):
        block.stdout += "".join(f"more {chunk}.{i}\n" for i in range(100))
        out.refresh()
        ps["code"].refresh()
        assert bar.value() == 50
    block.running = False
    block.locals = {"i": 998}
    ps["variables"].refresh()
    assert ps["variables"].proxy.index(0, 0).data() == "i"
