"""``rlm-desktop export FILE [-o OUT.html]``: a run as one self-contained HTML page
(``trajectory.html_export``; no script, opens offline). Exit 0 written, 2 unreadable input
or unwritable output."""

from __future__ import annotations

import argparse
import os
import sys

from rlm_desktop.trajectory.diff.source import Unreadable, load
from rlm_desktop.trajectory.html_export import write_html


def export_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="rlm-desktop export",
                                 description="Export an RLM trajectory log (JSONL) as one self-contained HTML file.")
    ap.add_argument("file")
    ap.add_argument("-o", "--output", help="the HTML file (default: FILE with .html)")
    try:
        args = ap.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    out = args.output or os.path.splitext(args.file)[0] + ".html"
    try:
        traj = load(args.file)
        write_html(traj, out)
    except (Unreadable, OSError) as exc:
        print(f"rlm-desktop export: {exc}", file=sys.stderr)
        return 2
    print(out)
    return 0
