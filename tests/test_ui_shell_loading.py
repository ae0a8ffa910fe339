"""Opening a big trajectory: indexed and read off the GUI thread, first iteration shown early."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt, QTimer

from bench.gen_logs import generate
from rlm_desktop.trajectory import RunTotals, is_placeholder, read_file
from rlm_desktop.trajectory.summary import trajectory_usage
from rlm_desktop.ui import loader as loader_mod


@pytest.fixture(autouse=True)
def _lazy_from_4mb(monkeypatch):
    """The 24 MB test log counts as big here (the app's threshold is higher)."""
    monkeypatch.setattr(loader_mod, "PREVIEW_BYTES", 4 << 20)


@pytest.fixture(scope="module")
def big_log(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    generate(path, size_mb=24, output_kb=16, context_kb=16, max_iterations=30)
    return str(path)


def test_big_file_opens_without_blocking_the_event_loop(qtbot, window, big_log, monkeypatch):
    ticks = [0]
    # Mid-pass, the worker making the whole-file totals waits until the GUI thread's timer has
    # ticked 3 more times: if the pass blocked the event loop, the ticks would never come.
    mid_read, gate, waited = [], threading.Event(), []
    real_scan = loader_mod.scan_totals

    def scan(path, progress=None, cancel=None, **kw):
        def report(fraction):
            if progress is not None:
                progress(fraction)
            if fraction > 0.3 and not gate.is_set():
                mid_read.append(ticks[0])
                waited.append(gate.wait(20))

        return real_scan(path, progress=report, cancel=cancel, **kw)

    monkeypatch.setattr(loader_mod, "scan_totals", scan)

    preview: list = []

    def tick():
        ticks[0] += 1
        picked = any(k == "picked" for k, _ in seen)
        if mid_read and ticks[0] - mid_read[0] >= 3 and picked:  # (the pick is made in the preview)
            gate.set()
        if preview and window.selection.node is preview[0] and not picked:
            # the preview's run is selected (a turn after it was shown): its timeline lists
            # the first iteration, and the user picks it
            seen.append(("timeline", window.timeline.model.rowCount()))
            window.timeline.view.setCurrentIndex(window.timeline.model.index(0, 0))
            seen.append(("picked", window.selection.node.path))

    timer = QTimer()
    timer.setInterval(1)
    timer.timeout.connect(tick)
    seen: list[tuple[str, object]] = []

    def on_preview(path, traj):  # connected after the window's slot: the tree shows it now
        run_idx = window.tree.model.index_of(traj.runs[0])
        seen.append(("preview", (ticks[0], window.tree.model.rowCount(), window.tree.model.rowCount(run_idx),
                                 window.windowTitle())))
        preview.append(traj.runs[0])

    window.loader.preview.connect(on_preview)
    window.loader.progress.connect(lambda p, f: seen.append(("progress", f)))  # queued: one per pass
    window.loader.loaded.connect(lambda p, t: seen.append(("loaded", ticks[0])))
    window.loader.totals.connect(lambda p, t: seen.append(("totals", t)))
    timer.start()
    window.open_files([big_log])
    try:
        qtbot.waitUntil(lambda: any(k == "totals" for k, _ in seen), timeout=60000)
    finally:
        gate.set()  # never leave the worker waiting
        timer.stop()
    kinds = [k for k, _ in seen if k not in ("picked", "timeline")]
    assert kinds[0] == "preview" and kinds[-1] == "totals" and "loaded" in kinds and "progress" in kinds
    picked = next(v for k, v in seen if k == "picked")
    assert picked == "r0/i0"
    # (picked in the preview: before the whole file was loaded)
    assert [k for k, _ in seen].index("picked") < [k for k, _ in seen].index("loaded")
    _ticks, runs, iters, title = seen[0][1]
    cells = next(v for k, v in seen if k == "timeline")
    assert runs == 1 and iters >= 1 and cells >= 1  # first iteration in tree and timeline
    assert "loading" in title
    fractions = [f for k, f in seen if k == "progress"]
    assert fractions == sorted(fractions) and 0 < fractions[0] < 1 and len(fractions) >= 2
    # the GUI event loop kept turning while the worker was in the middle of the file
    assert waited == [True] and ticks[0] - mid_read[0] >= 3
    traj = window.trajectory
    assert traj is window.documents[big_log] and "loading" not in window.windowTitle()
    # the whole file is indexed: every run and iteration is there, as placeholders but the one looked at
    reference = read_file(big_log)
    assert [len(r.iterations) for r in traj.runs] == [len(r.iterations) for r in reference.runs]
    loaded = [it for r in traj.runs for it in r.iterations if not is_placeholder(it)]
    # (the run selected on opening shows its last iteration, so that one may be parsed too,
    # and again the new last one if the index grew while the run was still selected)
    assert traj.runs[0].iterations[0] in loaded and len(loaded) <= 3
    assert all(it.parent is traj.runs[0] for it in loaded)
    assert window.timeline.model.rowCount() == len(traj.runs[0].iterations)  # the timeline grew too
    # the pick made in the preview survives the full load (the same node: nothing was rebuilt)
    assert window.selection.node is traj.runs[0].iterations[0]
    assert window.tree.model.node(window.tree.view.currentIndex()) is traj.runs[0].iterations[0]
    # totals and metrics come from the one streaming pass, not from the (mostly unloaded) shells
    totals = next(t for k, t in seen if k == "totals")
    assert totals.usage == trajectory_usage(reference) and totals.usage.total_tokens > 0
    assert window.status.tokens_label.text() == f"{totals.usage.total_tokens:,} tokens"
    qtbot.waitUntil(lambda: traj.runs[0].extra.get("totals") is not None, timeout=5000)
    run_tokens = window.tree.model.index_of(traj.runs[0], 3).data()  # the run's Tokens cell
    assert run_tokens.replace(",", "") == str(totals.runs[0].usage.total_tokens)
    metrics = window.panels["metrics"]
    metrics.show_run(traj.runs[0])
    assert list(metrics.metrics.numbers) == [it.number for it in reference.runs[0].iterations]
    assert metrics.metrics.total == RunTotals.of_run(reference.runs[0]).usage


def test_iterations_of_a_big_file_load_on_demand_into_a_bounded_cache(qtbot, window, big_log, monkeypatch):
    monkeypatch.setattr(loader_mod, "CACHE_ITERATIONS", 3)
    window.open_files([big_log])
    qtbot.waitUntil(lambda: window.loader.pending == 0 and window.trajectory is not None
                    and window.previewing is None, timeout=60000)
    traj = window.trajectory
    reference = read_file(big_log)
    run = traj.runs[0]
    view, model = window.tree.view, window.tree.model
    view.expand(model.index_of(run))
    target = run.iterations[4]
    assert is_placeholder(target) and model.rowCount(model.index_of(target)) == 0
    view.setFocus()
    view.setCurrentIndex(model.index_of(run.iterations[0]))
    for _ in range(4):  # the user walks down the tree with the arrow key
        qtbot.keyClick(view, Qt.Key.Key_Down)
    assert window.selection.node is target
    code = window.panels["code"]
    qtbot.waitUntil(lambda: not is_placeholder(target), timeout=10000)
    ref = reference.runs[0].iterations[4]
    assert target.response == ref.response and len(target.code_blocks) == len(ref.code_blocks)
    assert target.code_blocks[0].parent is target and run.iterations[4] is target  # filled in place
    qtbot.waitUntil(lambda: model.rowCount(model.index_of(target)) == len(ref.code_blocks), timeout=5000)
    qtbot.waitUntil(lambda: code.stack.currentWidget() is code.editor, timeout=5000)
    assert ref.code_blocks[0].code.splitlines()[0] in code.editor.toPlainText()
    # walking on: at most CACHE_ITERATIONS stay parsed, the one on screen always among them
    for _ in range(6):
        qtbot.keyClick(view, Qt.Key.Key_Down)
        node = window.selection.node
        qtbot.waitUntil(lambda node=node: not is_placeholder(node), timeout=10000)
    loaded = [it for r in traj.runs for it in r.iterations if not is_placeholder(it)]
    assert len(loaded) <= 3 and window.selection.node in loaded and traj.lazy.cached <= 3
    assert is_placeholder(target) and model.rowCount(model.index_of(target)) == 0  # evicted: rows gone


def test_search_in_a_big_file_streams_it(qtbot, window, big_log):
    window.open_files([big_log])
    qtbot.waitUntil(lambda: window.loader.pending == 0 and window.previewing is None, timeout=60000)
    traj = window.trajectory
    reference = read_file(big_log)
    last = reference.runs[-1].iterations[-1]
    needle = last.response.split()[-1] if last.response.split() else "answer"
    want = {(r.index, it.position) for r in reference.runs for it in r.iterations
            if needle.lower() in it.response.lower()}
    search = window.search
    search.edit.setFocus()
    search.edit.setText(needle)
    qtbot.keyClick(search.edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: search.status.text().endswith("hit(s)"), timeout=30000)
    got = {(h.node.parent.index, h.node.position) for h in search.hits if h.field == "response"}
    assert want and got == want
    assert all(h.node in traj.runs[h.node.parent.index].iterations for h in search.hits)  # the document's nodes
    hit = next(h for h in search.hits if h.field == "response")
    qtbot.keyClick(search.edit, Qt.Key.Key_Return)  # Enter again: jump to the first hit
    assert window.selection.node is search.hits[0].node
    qtbot.waitUntil(lambda: not is_placeholder(search.hits[0].node), timeout=10000)
    assert hit.node.response


def test_small_files_load_in_one_step(qtbot, window, tmp_path, monkeypatch):
    from rlm_desktop.engine.demo import load_demo

    previews = []
    window.loader.preview.connect(lambda p, t: previews.append(p))
    window.open_files([str(load_demo().trajectory_path)])
    qtbot.waitUntil(lambda: window.loader.pending == 0 and window.trajectory is not None, timeout=5000)
    assert previews == []  # under PREVIEW_BYTES: no preview, one model
    # the preview threshold is what decides: a tiny threshold previews the demo too
    monkeypatch.setattr(loader_mod, "PREVIEW_BYTES", 1)
    window.open_files([str(load_demo().trajectory_path)])
    qtbot.waitUntil(lambda: window.loader.pending == 0 and len(previews) == 1, timeout=5000)
    assert window.trajectory.runs[0].iterations and "loading" not in window.windowTitle()


def test_a_line_corrupted_in_its_middle_is_found_by_the_totals_pass(qtbot, window, tmp_path):
    """The index only peeks at line ends; the one streaming pass parses every line, so a line
    broken in its middle ends up a bad line and the runs are split as the full reader does."""
    from rlm_desktop.trajectory.writer import dumps_record, metadata_record

    def it(n: int, final: str | None = None) -> str:
        return dumps_record({"type": "iteration", "iteration": n, "timestamp": "t", "prompt": [],
                             "response": "r" * 700_000, "code_blocks": [], "final_answer": final,
                             "iteration_time": 1.0})

    broken = it(4).replace('"prompt": []', '"prompt": [}', 1)  # head and tail still look right
    lines = [dumps_record(metadata_record(root_model="m")), it(1), it(2), it(3), broken, it(3), it(5, "done")]
    p = tmp_path / "broken.jsonl"
    p.write_text("\n".join(lines) + "\n")
    assert p.stat().st_size > 4 << 20
    window.open_files([str(p)])
    qtbot.waitUntil(lambda: window.loader.pending == 0 and window.previewing is None, timeout=30000)
    reference = read_file(str(p))
    traj = window.trajectory
    assert [[i.line_no for i in r.iterations] for r in traj.runs] == [[5 - 3, 3, 4], [6, 7]]
    assert [[i.line_no for i in r.iterations] for r in traj.runs] == [
        [i.line_no for i in r.iterations] for r in reference.runs]
    assert [b.line_no for b in traj.bad_lines] == [5] and [b.line_no for b in window.problems.bad_lines] == [5]
    assert traj is window.documents[str(p)] and traj.lazy is not None


def test_cancel_loading_button_stops_the_read(qtbot, window, big_log, monkeypatch):
    """The status bar's "Cancel loading" stops the worker mid-file: nothing of the file
    stays on screen or in the documents, and the worker thread ends."""
    hold = threading.Event()
    real_scan = loader_mod.scan_totals

    def scan(path, progress=None, cancel=None, **kw):
        def report(fraction):
            if progress is not None:
                progress(fraction)
            if fraction > 0.3:
                hold.wait(20)  # the user clicks Cancel while the file is half read

        return real_scan(path, progress=report, cancel=cancel, **kw)

    monkeypatch.setattr(loader_mod, "scan_totals", scan)
    cancelled = []
    window.loader.cancelled.connect(cancelled.append)
    window.open_files([big_log])
    button = window.load_cancel
    qtbot.waitUntil(button.isVisible, timeout=5000)
    qtbot.waitUntil(lambda: window.previewing == big_log, timeout=10000)
    job = window.loader._job
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    hold.set()
    qtbot.waitUntil(lambda: cancelled == [big_log], timeout=10000)
    assert job.join(5) and not job.running
    assert not button.isVisible() and not window.loader.busy
    assert big_log not in window.documents and window.previewing is None
    assert window.trajectory is None and window.tree.model.rowCount() == 0
    assert "Stopped loading" in window.status.currentMessage()
    window.open_files([big_log])  # and it can be opened again
    qtbot.waitUntil(lambda: big_log in window.documents, timeout=30000)


def test_a_search_hit_in_a_big_file_selects_its_block_or_sub_call_like_in_a_loaded_file(qtbot, window, big_log):
    """A hit inside an iteration of a lazily opened file (code block output, a child run's
    sub-call) selects that node once the iteration is loaded: the node a loaded file selects."""
    from rlm_desktop.trajectory.model import CodeBlock, SubCall
    from rlm_desktop.trajectory.names import where
    from rlm_desktop.ui.search import search_nodes

    reference = read_file(big_log)

    def depth_of(n):
        return n.path.count("/r")

    blocks = [n for n in reference.walk() if isinstance(n, CodeBlock) and len(n.stdout) > 200]
    calls = [n for n in reference.walk() if isinstance(n, SubCall) and len(n.response or "") > 60]
    picks = [blocks[len(blocks) // 2], max(calls, key=depth_of)]  # a block, the deepest sub-call
    window.open_files([big_log])
    qtbot.waitUntil(lambda: window.loader.pending == 0 and window.previewing is None, timeout=60000)
    traj = window.trajectory
    assert traj.lazy is not None
    search = window.search
    for want in picks:
        text = want.stdout if isinstance(want, CodeBlock) else want.response
        needle = text[len(text) // 2 - 20: len(text) // 2 + 20]
        loaded = [h for h in search_nodes(list(reference.walk()), needle) if h.node.path == want.path]
        assert loaded, "the loaded file's search finds it"
        search.edit.setFocus()
        search.edit.selectAll()
        qtbot.keyClicks(search.edit, needle)
        qtbot.keyClick(search.edit, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: search.status.text().endswith("hit(s)"), timeout=30000)
        row = next(i for i, h in enumerate(search.hits) if h.node_path == want.path)
        hit = search.hits[row]
        assert hit.field == loaded[0].field and hit.label == where(loaded[0].node)  # as a loaded file says
        item = search.results.item(row)
        qtbot.mouseClick(search.results.viewport(), Qt.MouseButton.LeftButton,
                         pos=search.results.visualItemRect(item).center())
        qtbot.waitUntil(lambda want=want: getattr(window.selection.node, "path", None) == want.path, timeout=15000)
        node = window.selection.node
        assert type(node) is type(want) and node is not hit.node
        assert node in list(traj.runs[int(want.path.split("/")[0][1:])].walk())  # the document's own node
        assert window.tree.model.node(window.tree.view.currentIndex()) is node  # the tree follows


def test_an_iteration_whose_line_cannot_be_read_says_why_in_the_panels(qtbot, window, tmp_path, monkeypatch):
    """A big file's iteration is parsed when it is selected; if its line cannot be read (a
    disk or network error), the panels say so with the line number, instead of "loading…"
    for ever, and the Problems panel has it too."""
    import errno

    from rlm_desktop.trajectory.writer import dumps_record, metadata_record

    def it(n: int) -> str:
        return dumps_record({"type": "iteration", "iteration": n, "timestamp": "t", "prompt": [],
                             "response": "r" * 700_000, "code_blocks": [], "final_answer": None,
                             "iteration_time": 1.0})

    p = tmp_path / "far.jsonl"
    p.write_text("\n".join([dumps_record(metadata_record(root_model="m"))] + [it(n) for n in range(1, 9)]) + "\n")
    window.open_files([str(p)])
    qtbot.waitUntil(lambda: window.loader.pending == 0 and window.previewing is None, timeout=30000)
    target = window.trajectory.runs[0].iterations[5]
    assert is_placeholder(target) and target.line_no == 7

    def unreadable(offset: int, n: int) -> bytes:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(window.trajectory.lazy.index, "_read", unreadable)
    window.selection.select(target)
    qtbot.waitUntil(lambda: bool(target.extra.get("error")), timeout=10000)
    window.selection.settle()
    code, out = window.panels["code"], window.panels["output"]
    msgs, variables = window.panels["messages"], window.panels["variables"]
    for text in (code.placeholder.text(), out.header.text(), msgs.header.text(), variables.header.text()):
        assert text.startswith("Iteration 6: line 7 could not be read"), text
        assert "Input/output error" in text
    assert any("line 7 could not be read" in e for e in window.problems.errors)
