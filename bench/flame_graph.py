"""Flame-graph benchmark: lay out and paint the cost flame graph of a 10,000+ node run tree.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/flame_graph.py [--nodes 10000] [--frames 60]

The tree is ``bench.tree_scroll.build_trajectory`` (iterations, blocks, sub-calls, child
runs). Measured in this process, one after the other, at the same widget size (1200x400):

* ours: ``trajectory.flame.layout`` (all three metrics), then ``ui.flame_graph.FlameView``
  painted ``--frames`` times while zooming in and out (each paint synchronous:
  ``repaint()``; every zoom step renders the picture anew), ``--frames`` repaints that only
  move the selection outline (the cached picture), and ``--frames`` hover hit-tests;
* baseline: the usual Qt way, a ``QGraphicsScene`` with one ``QGraphicsRectItem`` (and a
  text item where it is wide enough) per frame of the same layout, in a ``QGraphicsView``
  painted the same number of times at the same zoom steps.

Prints build times, paint p50/p99 and the ratios ours / baseline, plus our p99 against a
16.7 ms (60 Hz) frame budget. Last line ``BENCH_RESULT {json}`` for ``bench/run_all.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, QRectF, Qt  # noqa: E402
from PySide6.QtGui import QBrush, QPen  # noqa: E402
from PySide6.QtWidgets import QApplication, QGraphicsScene, QGraphicsView  # noqa: E402

from bench.tree_scroll import build_trajectory  # noqa: E402
from rlm_desktop.trajectory.flame import layout  # noqa: E402
from rlm_desktop.ui.flame_graph import ROW, FlameView, colour_of, frame_label  # noqa: E402

W, H = 1200, 400


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def zooms(n: int) -> list[tuple[float, float]]:
    """Zoom steps in to 1/64 of the width around the middle and out again."""
    out = []
    for i in range(n):
        k = i % 14
        level = k if k <= 7 else 14 - k
        w = 1.0 / (2 ** (level * 6 / 7))
        out.append((max(0.0, 0.5 - w / 2), w))
    return out


def ours(app: QApplication, run, frames: int) -> dict:
    t0 = time.perf_counter()
    flames = {m: layout(run, m, True) for m in ("tokens", "cost", "time")}
    layout_s = (time.perf_counter() - t0) / 3
    flame = flames["tokens"]
    view = FlameView()
    view.resize(W, H)
    t0 = time.perf_counter()
    view.set_flame(flame)
    view.show()
    view.repaint()
    app.processEvents()
    first_s = time.perf_counter() - t0
    times = []
    for z in zooms(frames):
        view.zoom = z
        t0 = time.perf_counter()
        view.repaint()
        times.append(time.perf_counter() - t0)
    expose = []  # nothing changed (a window uncovered, the selection outline moved): the cached picture
    for i in range(frames):
        view.selected = flame.frames[(i * 97) % len(flame.frames)].node
        t0 = time.perf_counter()
        view.repaint()
        expose.append(time.perf_counter() - t0)
    hits = []
    for i in range(frames):
        t0 = time.perf_counter()
        view.frame_at(QPointF((i * 37) % W, (i * 11) % (flame.depth * ROW)))
        hits.append(time.perf_counter() - t0)
    view.close()
    return {"frames": len(flame.frames), "depth": flame.depth, "layout_s": layout_s, "first_s": first_s,
            "p50_ms": pct(times, 0.5) * 1000, "p99_ms": pct(times, 0.99) * 1000, "max_ms": max(times) * 1000,
            "hit_p99_us": pct(hits, 0.99) * 1e6, "expose_p99_ms": pct(expose, 0.99) * 1000}


def baseline(app: QApplication, run, frames: int) -> dict:
    flame = layout(run, "tokens", True)
    t0 = time.perf_counter()
    scene = QGraphicsScene()
    pen = QPen(Qt.PenStyle.NoPen)
    for f in flame.frames:
        if f.w <= 0:
            continue
        rect = scene.addRect(QRectF(f.x * W, f.depth * ROW, f.w * W, ROW - 1), pen, QBrush(colour_of(f.model)))
        rect.setToolTip(frame_label(f.node))
        if f.w * W > 36:
            text = scene.addSimpleText(frame_label(f.node))
            text.setPos(f.x * W + 3, f.depth * ROW + 2)
    view = QGraphicsView(scene)
    view.resize(W, H)
    view.show()
    view.viewport().repaint()
    app.processEvents()
    first_s = time.perf_counter() - t0
    times = []
    for z0, zw in zooms(frames):
        view.resetTransform()
        view.scale(1 / zw, 1)
        view.centerOn((z0 + zw / 2) * W, H / 2)
        t0 = time.perf_counter()
        view.viewport().repaint()
        times.append(time.perf_counter() - t0)
    view.close()
    return {"first_s": first_s, "p50_ms": pct(times, 0.5) * 1000, "p99_ms": pct(times, 0.99) * 1000,
            "max_ms": max(times) * 1000}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=10_000)
    ap.add_argument("--frames", type=int, default=60)
    args = ap.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    traj, count = build_trajectory(args.nodes)
    run = traj.runs[0]
    o = ours(app, run, args.frames)
    b = baseline(app, run, args.frames)
    print(f"tree: {count:,} nodes -> {o['frames']:,} frames, {o['depth']} rows")
    print(f"ours: layout {o['layout_s'] * 1000:.0f} ms, first paint {o['first_s'] * 1000:.0f} ms, "
          f"paint p50 {o['p50_ms']:.1f} ms p99 {o['p99_ms']:.1f} ms max {o['max_ms']:.1f} ms, "
          f"hover hit-test p99 {o['hit_p99_us']:.0f} us, repaint without change (select) p99 "
          f"{o['expose_p99_ms']:.1f} ms")
    print(f"baseline (QGraphicsScene, an item per frame): build + first paint {b['first_s'] * 1000:.0f} ms, "
          f"paint p50 {b['p50_ms']:.1f} ms p99 {b['p99_ms']:.1f} ms")
    print(f"ratios ours/baseline: first {(o['layout_s'] + o['first_s']) / b['first_s']:.2f}x, "
          f"paint p50 {o['p50_ms'] / b['p50_ms']:.2f}x, p99 {o['p99_ms'] / b['p99_ms']:.2f}x; "
          f"p99 vs 16.7 ms budget {o['p99_ms'] / (1000 / 60):.2f}x")
    print("BENCH_RESULT " + json.dumps({"nodes": count, "ours": o, "baseline": b}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
