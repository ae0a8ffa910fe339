"""The run tree paints its rows itself (``RunTreeView.drawRow``): one call into Python per row
instead of ~25 model calls. These tests look at the pixels: the text of every cell, the status
colour, the selection, the expand arrow, eliding, the indentation of deep rows."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QImage, QPalette, QTransform
from PySide6.QtWidgets import QApplication

from rlm_desktop.engine.demo import load_demo
from rlm_desktop.trajectory.reader import read_file
from rlm_desktop.ui.tree_model import RunTreeModel
from tests.support.opening import show_opened
from tests.support.tree_rows import demo_with_error_block


def shown(window):
    path = str(load_demo().trajectory_path)
    traj = show_opened(window, read_file(path), path)
    return traj, window.tree.view, window.tree.model


def grab(view, rect: QRect) -> QImage:
    view.viewport().repaint()
    return view.viewport().grab(rect).toImage()


def count(img: QImage, want: QColor, tolerance: int = 40) -> int:
    n = 0
    for y in range(img.height()):
        for x in range(img.width()):
            c = img.pixelColor(x, y)
            if (abs(c.red() - want.red()) + abs(c.green() - want.green()) + abs(c.blue() - want.blue())
                    <= tolerance):
                n += 1
    return n


def ink(img: QImage, background: QColor) -> int:
    """Pixels that are not the background: text, arrows."""
    return img.width() * img.height() - count(img, background, tolerance=24)


def cell_rect(view, idx) -> QRect:
    return view.visualRect(idx)


def test_every_cell_is_painted_and_an_error_status_is_red(qtbot, window):
    traj, view, model, _block, idx = demo_with_error_block(window)  # its status is painted red
    run = traj.runs[0]
    base = view.palette().color(QPalette.ColorRole.Base)
    red = RunTreeModel.status_colour("error")
    assert red is not None
    checked = []
    for col in range(model.columnCount()):
        text = idx.siblingAtColumn(col).data()
        rect = cell_rect(view, idx.siblingAtColumn(col)).intersected(view.viewport().rect())
        if text and rect.width() > 20:  # the dock may be narrower than all five columns
            assert ink(grab(view, rect), base) > 10, (col, text)
            checked.append(col)
    assert checked[:3] == [0, 1, 2]
    status = grab(view, cell_rect(view, idx.siblingAtColumn(2)))
    assert count(status, red) > 5
    # a "done" row's status is in the text colour, not red
    done = model.index_of(run)
    assert done.siblingAtColumn(2).data() == "finished"
    assert count(grab(view, cell_rect(view, done.siblingAtColumn(2))), red) == 0
    # the Node cell of the block says "Block 1: ..." in the text colour
    node_img = grab(view, cell_rect(view, idx))
    assert count(node_img, view.palette().color(QPalette.ColorRole.Text), tolerance=120) > 10


def test_the_selected_row_is_highlighted_across_and_its_text_is_readable(qtbot, window):
    traj, view, model = shown(window)
    it = traj.runs[0].iterations[1]
    idx = model.index_of(it)
    view.scrollTo(idx)
    row = QRect(0, view.visualRect(idx).top(), view.viewport().width(), view.visualRect(idx).height())
    highlight = view.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.Highlight)
    inactive = view.palette().color(QPalette.ColorGroup.Inactive, QPalette.ColorRole.Highlight)
    before = grab(view, row)
    assert count(before, highlight) == 0 and count(before, inactive) == 0
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=view.visualRect(idx).center())
    assert window.selection.node is it
    after = grab(view, row)
    lit = max(count(after, highlight), count(after, inactive))
    assert lit > 0.6 * row.width() * row.height()  # the whole row, branch area included
    text = view.palette().color(QPalette.ColorRole.HighlightedText)
    assert count(after, text, tolerance=120) > 10  # the text is drawn over it


def block_in_node_column(window, width: int):
    """(view, index of the demo's first code block, header): only the Node column shown,
    ``width`` px wide, the block's row scrolled into view."""
    traj, view, model = shown(window)
    idx = model.index_of(traj.runs[0].iterations[1].code_blocks[0])
    view.scrollTo(idx)
    header = view.header()
    for col in range(1, model.columnCount()):
        view.setColumnHidden(col, True)
    header.setSectionResizeMode(0, header.ResizeMode.Interactive)
    header.resizeSection(0, width)
    return view, idx, header


def test_a_long_label_is_elided_within_its_column(qtbot, window):
    view, idx, header = block_in_node_column(window, 140)
    rect = view.visualRect(idx)
    base = view.palette().color(QPalette.ColorRole.Base)
    right = QRect(QPoint(header.sectionViewportPosition(0) + 140, rect.top()),
                  QPoint(view.viewport().width() - 1, rect.bottom()))
    assert ink(grab(view, right), base) == 0  # nothing drawn past the column's end
    assert ink(grab(view, rect), base) > 10  # the elided label is
    header.resizeSection(0, 600)
    wide = QRect(QPoint(header.sectionViewportPosition(0) + 140, rect.top()),
                 QPoint(header.sectionViewportPosition(0) + 600 - 1, rect.bottom()))
    assert ink(grab(view, wide), base) > 10  # with room, more of the label shows


def test_the_arrow_turns_and_deeper_rows_are_indented(qtbot, window):
    traj, view, model = shown(window)
    it = traj.runs[0].iterations[1]
    it_idx = model.index_of(it)
    rect = view.visualRect(it_idx)
    branch = QRect(rect.left() - view.indentation(), rect.top(), view.indentation(), rect.height())
    view.collapse(it_idx)
    collapsed = grab(view, branch)
    view.expand(it_idx)
    expanded = grab(view, branch)
    assert collapsed != expanded
    base = view.palette().color(QPalette.ColorRole.Base)
    assert ink(expanded, base) > 3
    # a block row's text starts one indentation further right than its iteration's
    block_idx = model.index_of(it.code_blocks[0])
    assert view.visualRect(block_idx).left() == rect.left() + view.indentation()
    for idx in (it_idx, block_idx):
        r = view.visualRect(idx)
        lead = QRect(r.left() - view.indentation() - 1, r.top(), 1, r.height())  # left of the arrow
        text_start = QRect(r.left(), r.top(), 30, r.height())
        assert ink(grab(view, text_start), base) > 5
        assert ink(grab(view, lead), base) == 0


def ink_columns(img: QImage, background: QColor) -> list[int]:
    """The x of every pixel column with ink in it."""
    xs = []
    for x in range(img.width()):
        for y in range(img.height()):
            c = img.pixelColor(x, y)
            if abs(c.red() - background.red()) + abs(c.green() - background.green()) + abs(
                    c.blue() - background.blue()) > 24:
                xs.append(x)
                break
    return xs


def test_an_elided_label_follows_a_font_change(qtbot, window):
    """The laid-out texts belong to the font they were made in: a bigger font elides again
    (else the label made for the small font would run past its column)."""
    view, idx, header = block_in_node_column(window, 160)
    base = view.palette().color(QPalette.ColorRole.Base)

    def past_the_end() -> int:
        rect = view.visualRect(idx)
        return ink(grab(view, QRect(QPoint(header.sectionViewportPosition(0) + 160, rect.top()),
                                    QPoint(view.viewport().width() - 1, rect.bottom()))), base)

    assert past_the_end() == 0
    font = view.font()
    font.setPointSizeF(font.pointSizeF() * 1.6)
    view.setFont(font)
    assert ink(grab(view, view.visualRect(idx)), base) > 10
    assert past_the_end() == 0


def test_a_laid_out_cell_is_plain_text_on_one_line():
    """Cells are laid out once as static texts, which take markup by default: log text such
    as ``<b>x</b>`` shows its brackets, not a bold x, and line breaks show as spaces."""
    from PySide6.QtGui import QFontMetrics, QPainter

    from rlm_desktop.ui.run_tree import _static_texts

    font = QApplication.font()
    fm = QFontMetrics(font)
    lay_out = _static_texts(font)
    one = lay_out("a\nb\rc", None, Qt.TextElideMode.ElideRight.value)
    assert one.text() == "a b c"
    markup = "<b>x</b>"
    img = QImage(fm.horizontalAdvance(markup) + 40, fm.height() * 3, QImage.Format.Format_RGB32)
    img.fill(QColor("white"))
    painter = QPainter(img)
    painter.setFont(font)
    painter.setPen(QColor("black"))
    painter.drawStaticText(0, 0, lay_out(markup, None, Qt.TextElideMode.ElideRight.value))
    painter.end()
    xs, ys = ink_columns(img, QColor("white")), ink_columns(img.transformed(QTransform().rotate(90)), QColor("white"))
    assert xs[-1] >= fm.horizontalAdvance("<b>x</") and ys[-1] - ys[0] < fm.height()
    elided = lay_out("x" * 400, 60, Qt.TextElideMode.ElideRight.value)
    assert elided.text().endswith("…") and fm.horizontalAdvance(elided.text()) <= 60
    assert lay_out("x" * 400, 60, Qt.TextElideMode.ElideRight.value) is elided  # kept
