"""Code panel: code of blocks/iterations, highlighting, gutter, current block, live refresh."""

from __future__ import annotations

import time

from PySide6.QtCore import QPoint, Qt
from test_ui_panels_data import HOSTILE, sample_trajectory

from rlm_desktop.trajectory.model import CodeBlock
from rlm_desktop.ui.panels.code_view import CodeView
from rlm_desktop.ui.panels.highlighter import PythonHighlighter


def _view(qtbot):
    view = CodeView()
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    return view


def test_iteration_shows_blocks_with_selector(qtbot):
    run = sample_trajectory().runs[0]
    view = _view(qtbot)
    it = run.iterations[0]
    view.show_node(it)
    assert view.tabs.isVisible() and view.tabs.count() == 2
    assert view.editor.toPlainText() == "print(context[:20])\nx = 1 / 0"
    assert "⚠" in view.tabs.tabText(0)  # stderr marker
    assert "Iteration 1" in view.header.text()
    activated = []
    view.blockActivated.connect(activated.append)
    view.tabs.setCurrentIndex(1)
    assert view.editor.toPlainText().startswith("s = llm_query(")
    assert activated == [it.code_blocks[1]]
    assert view.current_block() is it.code_blocks[1]


def test_block_and_subcall_nodes(qtbot):
    run = sample_trajectory().runs[0]
    view = _view(qtbot)
    b = run.iterations[0].code_blocks[1]
    view.show_node(b)
    assert view.tabs.currentIndex() == 1
    assert view.editor.toPlainText() == b.code
    view.show_node(b.sub_calls[0])  # the code that made the call, sub-call lines marked
    assert view.editor.toPlainText() == b.code
    assert view.editor._highlight_lines == {1, 2}
    view.show_node(run)  # a run: its last iteration
    assert "answer[" in view.editor.toPlainText()
    view.show_node(None)
    assert view.stack.currentWidget() is view.placeholder


def test_no_blocks_placeholder(qtbot):
    run = sample_trajectory().runs[0]
    it = run.iterations[0]
    it.code_blocks.clear()
    view = _view(qtbot)
    view.show_node(it)
    assert view.stack.currentWidget() is view.placeholder
    assert "no code" in view.placeholder.text()


def test_gutter_click_emits_line_and_markers_paint(qtbot):
    run = sample_trajectory().runs[0]
    view = _view(qtbot)
    b = run.iterations[0].code_blocks[1]
    view.show_node(b)
    ed = view.editor
    y = int(ed.blockBoundingGeometry(ed.document().findBlockByNumber(1)).translated(ed.contentOffset()).top()) + 3
    with qtbot.waitSignal(view.gutterClicked) as sig:
        qtbot.mouseClick(ed.gutter, Qt.MouseButton.LeftButton, pos=QPoint(5, y))
    assert sig.args == [b, 2]
    view.set_markers(b, {2})
    assert ed.markers() == {2}
    img = ed.gutter.grab().toImage()
    # a red marker dot is painted next to line 2
    reds = [
        (x, yy)
        for x in range(0, 16)
        for yy in range(y - 3, y + ed.fontMetrics().height())
        if img.pixelColor(x, yy).red() > 200 and img.pixelColor(x, yy).green() < 100
    ]
    assert reds
    view.show_node(run.iterations[0].code_blocks[0])
    assert ed.markers() == set()
    view.show_node(b)
    assert ed.markers() == {2}


def test_current_block_and_running_block(qtbot):
    run = sample_trajectory().runs[0]
    view = _view(qtbot)
    it = run.iterations[0]
    view.show_node(it)
    assert not view.editor.is_current()
    view.set_current_block(it.code_blocks[0])
    assert view.editor.is_current()
    assert "▶" in view.tabs.tabText(0)
    view.set_current_block(None)
    it.code_blocks[1].running = True
    view.refresh()
    assert "▶" in view.tabs.tabText(1)


def test_highlighter_formats_python():
    from PySide6.QtGui import QTextDocument

    doc = QTextDocument()
    doc.setPlainText('def f(x):  # note\n    s = """a\nb""" + llm_query("q")\n    return 42')
    hl = PythonHighlighter(doc)
    hl.rehighlight()

    def fmt_at(line, col):
        block = doc.findBlockByNumber(line)
        for r in block.layout().formats():
            if r.start <= col < r.start + r.length:
                return r.format.foreground().color().name()
        return None

    kw = hl.format_for("keyword").foreground().color().name()
    assert fmt_at(0, 0) == kw  # def
    assert fmt_at(0, 4) == hl.format_for("defname").foreground().color().name()
    assert fmt_at(0, 12) == hl.format_for("comment").foreground().color().name()
    string = hl.format_for("string").foreground().color().name()
    assert fmt_at(1, 9) == string and fmt_at(2, 0) == string  # multi-line string continues
    assert fmt_at(2, 7) == hl.format_for("repl").foreground().color().name()  # llm_query
    assert fmt_at(3, 11) == hl.format_for("number").foreground().color().name()
    light = string
    hl.set_dark(True)
    assert hl.format_for("string").foreground().color().name() != light


def test_live_refresh_keeps_scroll_and_hostile_code_is_plain(qtbot):
    run = sample_trajectory().runs[0]
    it = run.iterations[0]
    b = it.code_blocks[0]
    b.code = "\n".join(f"x{i} = '{HOSTILE}'" for i in range(400)) + "\n\ud800"
    view = _view(qtbot)
    view.show_node(it)
    bar = view.editor.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    pos = bar.value()
    it.add_block(CodeBlock(index=2, code="print('new')", running=True))
    t = time.perf_counter()
    view.refresh()
    assert time.perf_counter() - t < 1
    assert view.tabs.count() == 3
    assert bar.value() == pos
    assert view.current_block() is b
    text = view.editor.toPlainText()
    assert "<script>" in text and text.endswith("\ufffd")
