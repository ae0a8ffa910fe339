"""The Watches dock: typed expressions over the recorded locals, values at the selected
iteration, a plot across iterations, clicks that select, refused hostile expressions."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt

from rlm_desktop.ui.panels.watches import WatchesPanel
from tests.support.diff_pairs import generate_pairs
from tests.support.opening import shown


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    return str(generate_pairs(tmp_path_factory.mktemp("pairs"))["extra_turn"]["b"])


def type_watch(qtbot, panel, text):
    panel.input.setFocus()
    qtbot.keyClicks(panel.input, text)
    qtbot.keyClick(panel.input, Qt.Key.Key_Return)


def test_watches_follow_the_selection_and_plot(qtbot, window, log):
    w = window
    w.open_files([log])
    qtbot.waitUntil(lambda: log in w.documents and w.loader.pending == 0, timeout=10000)
    w.docks["watches"].show()
    w.docks["watches"].raise_()
    panel = w.panels["watches"]
    assert isinstance(panel, WatchesPanel)
    run = w.trajectory.runs[0]
    w.selection.select(run.iterations[0])
    shown(w)
    type_watch(qtbot, panel, 'answer["ready"]')
    type_watch(qtbot, panel, "len(context)")
    type_watch(qtbot, panel, "looked")
    assert [x.source for x in panel.watches] == ['answer["ready"]', "len(context)", "looked"]
    assert panel.input.text() == ""
    assert panel.value_at(0) == "False"
    assert panel.value_at(1) == str(len(run.iterations[0].code_blocks[0].locals["context"]))
    assert panel.value_at(2).startswith("⚠") and "looked" in panel.value_at(2)
    # another iteration selected anywhere: the values there
    w.selection.select(run.iterations[-1].code_blocks[-1])
    shown(w)
    assert panel.value_at(0) == "True" and panel.value_at(2) == "True"
    assert panel.iteration_line.value() == len(run.iterations)  # the plot counts iterations from 1
    # the plot: one line per numeric watch, a point per iteration where it has a value
    xs, ys = panel.curves[0].getData()
    assert list(xs) == [1, 2, 3, 4, 5] and list(ys) == [0, 0, 0, 0, 1]
    assert list(panel.curves[2].getData()[0]) == [2, 3, 4, 5]
    # whole iterations on the axis, from 1 (setTicks has no getter: its stored levels)
    levels = panel.plot.getAxis("bottom")._tickLevels
    assert levels == [[(i, str(i)) for i in range(1, len(run.iterations) + 1)]]
    # a click on a point selects that iteration everywhere
    plot = panel.plot
    qtbot.waitUntil(lambda: plot.isVisible(), timeout=2000)
    qtbot.wait(150)  # the view box applies its auto range
    spot = panel.curves[0].scatter.points()[2]
    scene_pt = plot.plotItem.vb.mapViewToScene(spot.pos())
    view_pt = plot.mapFromScene(scene_pt)
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(view_pt.x(), view_pt.y()))
    qtbot.waitUntil(lambda: w.selection.node is run.iterations[2], timeout=2000)
    import os

    shot = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "screenshot-watches.png")
    if os.environ.get("RLM_DESKTOP_SCREENSHOTS") or not os.path.exists(shot):
        panel.resize(700, 480)
        w.docks["watches"].setFloating(True)
        w.docks["watches"].resize(700, 480)
        qtbot.wait(150)
        w.docks["watches"].grab().save(shot)
    # Delete removes the selected watch
    panel.table.setCurrentCell(1, 0)
    panel.table.setFocus()
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    assert [x.source for x in panel.watches] == ['answer["ready"]', "looked"]


@pytest.mark.parametrize("hostile", [
    "__import__('os').system('touch /tmp/rlm_pwned')",
    "().__class__.__bases__",
    "open('/etc/passwd')",
    "'a' * 10 ** 9",
    "<script>alert(1)</script>",
])
def test_hostile_watches_are_refused_or_fail_safely(qtbot, hostile, tmp_path):
    panel = WatchesPanel()
    qtbot.addWidget(panel)
    panel.show()
    type_watch(qtbot, panel, hostile)
    if panel.watches:  # parsed (bounded expressions): the evaluation fails with a message
        panel.show_node(None)
        assert panel.error.text() == ""
    else:
        assert panel.error.text().startswith("Not added:")
        assert panel.error.textFormat() == Qt.TextFormat.PlainText
        assert panel.input.text() == hostile  # kept for correcting
