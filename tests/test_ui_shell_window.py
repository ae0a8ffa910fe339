"""Main window: opening files off the GUI thread, selection sync, search, bad lines, drops."""

from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from rlm_desktop.engine.demo import load_demo
from rlm_desktop.trajectory.model import CodeBlock, Iteration, SubCall
from tests.support.opening import open_and_wait, show_opened, shown

DEMO = str(load_demo().trajectory_path)


def write_log_with_bad_line(tmp_path):
    lines = Path(DEMO).read_text(encoding="utf-8").splitlines()
    lines.insert(2, '{"type": "iteration", broken')
    p = tmp_path / "with_bad.jsonl"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(p)


def test_open_demo_fills_every_view(qtbot, window):
    open_and_wait(qtbot, window, DEMO)
    traj = window.trajectory
    assert traj.runs and window.tree.model.rowCount() == len(traj.runs)
    assert window.selection.node is traj.runs[0]
    assert window.timeline.model.rowCount() == len(traj.runs[0].iterations)
    assert "tokens" in window.status.tokens_label.text()
    assert DEMO in window.recent_files()
    # the real panels are docked (not placeholders) and every dock is in the View menu
    from rlm_desktop.ui.docks import Placeholder

    assert not any(isinstance(p, Placeholder) for p in window.panels.values())
    view_texts = {a.text() for a in window.view_menu.actions()}
    assert {d.windowTitle() for d in window.docks.values()} <= view_texts


def test_selecting_in_tree_selects_everywhere(qtbot, window):
    open_and_wait(qtbot, window, DEMO)
    run = window.trajectory.runs[0]
    it = next(i for i in run.iterations if any(b.sub_calls for b in i.code_blocks))
    block = next(b for b in it.code_blocks if b.sub_calls)
    idx = window.tree.model.index_of(block)
    assert idx.isValid()
    window.tree.view.setCurrentIndex(idx)
    assert window.selection.node is block
    # timeline follows: its current row is the block's iteration
    assert window.timeline.view.currentIndex().data(Qt.ItemDataRole.UserRole) is it
    code = window.panels["code"]
    assert shown(window) is block and code.current_block() is block
    # and the other way round: the timeline selects an iteration -> the tree follows
    other = run.iterations[0]
    window.timeline.view.setCurrentIndex(window.timeline.model.index(0, 0))
    assert window.selection.node is other
    assert window.tree.model.node(window.tree.view.currentIndex()) is other
    # keyboard: Right in the timeline moves to the next iteration
    window.timeline.view.setFocus()
    qtbot.keyClick(window.timeline.view, Qt.Key.Key_Right)
    assert window.selection.node is run.iterations[1]
    # keyboard in the tree: Down moves to the next row and selects it
    window.tree.view.setFocus()
    qtbot.keyClick(window.tree.view, Qt.Key.Key_Down)
    assert window.selection.node is not run.iterations[1]
    assert window.selection.node is window.tree.model.node(window.tree.view.currentIndex())


def test_search_finds_and_jumps(qtbot, window):
    open_and_wait(qtbot, window, DEMO)
    window.show_search()
    assert window.docks["search"].isVisible()
    with qtbot.waitSignal(window.search.finished, timeout=5000) as sig:
        window.search.start("llm_query")
    n = sig.args[0]
    assert n >= 2 and window.search.results.count() == n
    hits = window.search.hits
    assert all(isinstance(h.node, CodeBlock | Iteration | SubCall) for h in hits)
    window.act_find_next.trigger()
    assert window.selection.node is hits[0].node
    window.act_find_next.trigger()
    assert window.selection.node is hits[1].node
    assert window.tree.model.node(window.tree.view.currentIndex()) is hits[1].node
    window.act_find_prev.trigger()
    assert window.selection.node is hits[0].node
    with qtbot.waitSignal(window.search.finished, timeout=5000) as sig:
        window.search.start("no such text anywhere 123")
    assert sig.args[0] == 0


def test_bad_lines_are_listed_with_line_numbers(qtbot, window, tmp_path):
    path = write_log_with_bad_line(tmp_path)
    open_and_wait(qtbot, window, path)
    assert window.trajectory.runs  # the bad line did not abort the file
    assert window.status.bad_button.isVisibleTo(window)
    assert "1 bad line" in window.status.bad_button.text()
    window.status.bad_button.click()
    assert window.docks["problems"].isVisible()
    texts = window.problems.texts()
    assert any(f"{path}:3:" in t for t in texts), texts


def test_open_errors_are_shown_in_the_ui(qtbot, window, tmp_path):
    window.open_files([str(tmp_path / "missing.jsonl")])
    assert any("missing.jsonl" in t for t in window.problems.texts())
    assert window.docks["problems"].isVisible()
    d = tmp_path / "a_dir.jsonl"
    d.mkdir()
    window.loader.load(str(d))  # passes the isfile check only through the loader: a worker error
    qtbot.waitUntil(lambda: window.loader.pending == 0, timeout=5000)
    assert any("a_dir.jsonl" in t and "Error" in t for t in window.problems.texts())


def test_drop_and_several_files(qtbot, window, tmp_path):
    other = tmp_path / "copy.jsonl"
    other.write_bytes(Path(DEMO).read_bytes())
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(DEMO), QUrl.fromLocalFile(str(other))])
    ev = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, enter)  # through Qt's event dispatch, as a real drag
    assert enter.isAccepted()
    QApplication.sendEvent(window, ev)
    qtbot.waitUntil(lambda: len(window.documents) == 2 and window.loader.pending == 0, timeout=5000)
    assert set(window.documents) == {os.path.abspath(DEMO), str(other)}
    assert window.windowTitle().startswith(os.path.basename(window.path))


def test_live_grow_inserts_rows(qtbot, window, tmp_path):
    """A growing trajectory (as tailing or the recorder produce) appears without a reset."""
    from rlm_desktop.trajectory.reader import TrajectoryBuilder

    lines = Path(DEMO).read_bytes().splitlines()
    b = TrajectoryBuilder()
    for n, raw in enumerate(lines[:3], 1):
        b.feed_raw(n, raw)
    traj = show_opened(window, b.traj)
    run = traj.runs[0]
    before = len(run.iterations)
    window.tree.view.expand(window.tree.model.index_of(run))
    inserted = []
    window.tree.model.rowsInserted.connect(lambda p, a, z: inserted.append((window.tree.model.node(p), a, z)))
    resets = []
    window.tree.model.modelReset.connect(lambda: resets.append(1))
    for n, raw in enumerate(lines[3:], 4):
        b.feed_raw(n, raw)
    window.refresh_live()
    assert len(run.iterations) > before
    assert (run, before, len(run.iterations) - 1) in inserted
    assert not resets
    assert window.timeline.model.rowCount() == len(run.iterations)


def test_debug_actions_follow_state(window):
    d = window.debug
    assert d.run.isEnabled() and d.demo.isEnabled()
    assert not d.cont.isEnabled() and not d.step_over.isEnabled() and not d.stop.isEnabled()
    d.update("paused")
    assert d.cont.isEnabled() and d.step_into.isEnabled() and d.step_out.isEnabled() and d.stop.isEnabled()
    assert not d.run.isEnabled() and not d.pause.isEnabled()
    d.update("running")
    assert d.pause.isEnabled() and not d.cont.isEnabled() and not d.step_over.isEnabled()
    assert d.step_over.shortcut().toString() == "F10" and d.step_out.shortcut().toString() == "Shift+F11"
    assert d.toggle_bp.shortcut().toString() == "F9" and d.stop.shortcut().toString() == "Shift+F5"
    assert [k.toString() for k in d.pause.shortcuts()] == ["F6", "Ctrl+Alt+Pause"]
    on_toolbar = window.debug_toolbar.actions()
    for a in (d.run, d.demo, d.cont, d.pause, d.step_over, d.step_into, d.step_out, d.stop, d.toggle_bp):
        assert a in on_toolbar, a.text()


def test_jsonl_round_trip_sanity():
    # the demo we open in these tests is a real JSONL log written by our engine
    with open(DEMO, encoding="utf-8") as fh:
        first = json.loads(fh.readline())
    assert first.get("type") == "metadata"


def test_problem_tooltips_show_log_text_literally(qtbot, window):
    from rlm_desktop.trajectory.model import BadLine

    window.problems.set_bad_lines("x.jsonl", [BadLine(4, "not JSON", "<b>bold</b><img src=x>")])
    window.problems.add_error("Cannot open <i>f</i>.jsonl")
    for i in range(window.problems.list.count()):
        tip = window.problems.list.item(i).toolTip()
        assert "<img" not in tip and "<b>" not in tip and "<i>" not in tip
        assert "&lt;" in tip  # escaped, so Qt shows the characters


def test_building_the_window_prints_no_qt_warning_and_cancel_sits_left_of_the_status(qtbot, qtlog, qapp):
    """The "Cancel loading" button goes first among the status bar's permanent widgets, without
    Qt's "insertPermanentWidget: Index out of range" warning (index 0 is the message label's)."""
    from rlm_desktop.ui.main_window import MainWindow

    w = MainWindow(restore_layout=False)
    try:
        warnings = [r.message for r in qtlog.records if "insertPermanentWidget" in r.message]
        assert warnings == []
        w.resize(1200, 700)
        w.show()
        w.load_cancel.show()
        qtbot.waitExposed(w)
        status = w.status
        qtbot.waitUntil(lambda: w.load_cancel.geometry().width() > 0)
        cancel = w.load_cancel.geometry()
        assert status.message_label.geometry().right() < cancel.left()
        assert cancel.right() < status.node_label.geometry().left() < status.state_label.geometry().left()
    finally:
        w.shutdown()
        w.close()
        w.deleteLater()
