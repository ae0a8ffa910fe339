"""The panel gallery (all panels on one file, one selection) and its screenshot mode."""

from __future__ import annotations

from test_ui_panels_data import sample_records, to_jsonl

from rlm_desktop.trajectory.reader import read_file
from rlm_desktop.ui.panels import gallery
from tests.support.opening import shown


def test_tree_selection_drives_panels_and_back(qtbot, tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_bytes(to_jsonl(sample_records()))
    g = gallery.Gallery(read_file(str(path)))
    qtbot.addWidget(g)
    assert set(g.items) >= {"r0", "r0/i0", "r0/i0/b1/c0", "r0/i1/b0/c0/r/i0"}
    g.tree.setCurrentItem(g.items["r0/i0/b0"])
    shown(g)
    assert g.code.editor.toPlainText() == "print(context[:20])\nx = 1 / 0"
    assert "ZeroDivisionError" in g.output.text()
    g.metrics.nodeSelected.emit(g.traj.find("r0/i2"))  # a click in the plots
    assert g.tree.currentItem() is g.items["r0/i2"]
    shown(g)
    assert g.output.answer.toPlainText() == "child says 7!"
    assert g.select_path("r0/i1/b0/c0/r/i0") and g.metrics.run() is g.traj.find("r0/i1/b0/c0/r")
    assert not g.select_path("r9")


def test_screenshot_mode(qtbot, tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_bytes(to_jsonl(sample_records()))
    out = tmp_path / "shot.png"
    assert gallery.main([str(path), "--node", "r0/i0/b1", "--screenshot", str(out)]) == 0
    assert out.stat().st_size > 10_000
