"""Draws the app icon (resources/icons/rlm-desktop.png): a run tree on a rounded square.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/make_icon.py [OUT.png] [SIZE]

The PNG is committed; run this only to change the icon.
"""

from __future__ import annotations

import os
import sys

from PySide6.QtCore import QPointF, QRectF, Qt  # noqa: TID251 - a dev tool, not the app
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QImage, QPainter, QPen  # noqa: TID251

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(ROOT, "resources", "icons", "rlm-desktop.png")


def draw(size: int = 256) -> QImage:
    img = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    img.fill(Qt.GlobalColor.transparent)
    p = QPainter(img)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size / 256.0
    # background: a rounded square
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(QColor("#1f2a44")))
    p.drawRoundedRect(QRectF(8 * s, 8 * s, 240 * s, 240 * s), 44 * s, 44 * s)
    # a run tree: root -> two iterations -> a sub-call of the second
    nodes = {
        "root": QPointF(128 * s, 62 * s),
        "a": QPointF(74 * s, 132 * s),
        "b": QPointF(182 * s, 132 * s),
        "c": QPointF(150 * s, 198 * s),
        "d": QPointF(214 * s, 198 * s),
    }
    edge = QPen(QColor("#9fb3d9"), 9 * s)
    edge.setCapStyle(Qt.PenCapStyle.RoundCap)
    p.setPen(edge)
    for a, b in (("root", "a"), ("root", "b"), ("b", "c"), ("b", "d")):
        p.drawLine(nodes[a], nodes[b])
    p.setPen(QPen(QColor("#1f2a44"), 5 * s))
    colors = {"root": "#f2c14e", "a": "#5ec4a8", "b": "#5ec4a8", "c": "#e86f68", "d": "#7fa7f5"}
    radii = {"root": 27, "a": 21, "b": 21, "c": 17, "d": 17}
    for name, pt in nodes.items():
        p.setBrush(QBrush(QColor(colors[name])))
        r = radii[name] * s
        p.drawEllipse(pt, r, r)
    # the "paused here" mark on the sub-call in red: two bars
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(QColor("#1f2a44")))
    c = nodes["c"]
    p.drawRect(QRectF(c.x() - 7 * s, c.y() - 8 * s, 5 * s, 16 * s))
    p.drawRect(QRectF(c.x() + 2 * s, c.y() - 8 * s, 5 * s, 16 * s))
    p.end()
    return img


def main(argv: list[str]) -> int:
    out = argv[0] if argv else DEFAULT_OUT
    size = int(argv[1]) if len(argv) > 1 else 256
    _app = QGuiApplication.instance() or QGuiApplication([])
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    if not draw(size).save(out, "PNG"):
        print(f"cannot write {out}", file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
