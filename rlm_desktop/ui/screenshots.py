"""Screenshots of the main window for the README and docs/ (``scripts/screenshots.py``).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshots.py
    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py      # no X server
    .venv/bin/python scripts/screenshots.py --out /tmp/shots --only live

Writes (1400x880, fresh settings, no key, no network):

* ``screenshot-recorded.png``: the bundled demo recording opened, the block with the
  ``llm_query_batched`` sub-calls selected (tree, timeline, code, output, messages, metrics);
* ``screenshot-live.png``: the demo run under the debugger (replay backend), stopped by a
  breakpoint at iteration 5 and stepped (F11) into its ``rlm_query`` child run, paused at
  the child's own ``llm_query`` call;
* ``screenshot-dark.png``: the recorded view in the dark theme.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIZE = (1400, 880)


def wait_until(app, cond: Callable[[], bool], timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise TimeoutError("the window did not get there in time")
        app.processEvents()
        time.sleep(0.01)


def settle(app, seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def new_window(app):
    from rlm_desktop.ui.main_window import MainWindow

    w = MainWindow(restore_layout=False)
    w.resize(*SIZE)
    w.show()
    settle(app)
    return w


def save(app, w, path: str) -> None:
    settle(app, 0.6)
    w.grab().save(path)
    print("wrote", path)


def recorded(app, out: str, name: str = "screenshot-recorded.png") -> None:
    from rlm_desktop.engine.demo import load_demo
    from rlm_desktop.trajectory.model import CodeBlock

    w = new_window(app)
    w.open_files([str(load_demo().trajectory_path)])
    wait_until(app, lambda: w.loader.pending == 0 and w.trajectory is not None)
    run = w.trajectory.runs[0]
    block = next(b for it in run.iterations for b in it.code_blocks if isinstance(b, CodeBlock) and b.sub_calls)
    w.tree.view.expandAll()
    w.selection.select(block)
    w.docks["breakpoints"].raise_()
    save(app, w, os.path.join(out, name))
    w.close()


def live(app, out: str) -> None:
    w = new_window(app)
    s = w.session
    s.breakpoints.add(kind="iteration", iteration=5, depth=0)
    w.panels["breakpoints"].refresh()
    pauses = [0]
    s.paused.connect(lambda _st: pauses.__setitem__(0, pauses[0] + 1))
    w.run_demo(pause_at_start=False)
    wait_until(app, lambda: s.controller.is_paused and pauses[0] >= 1)
    for _ in range(40):  # F11 into the rlm_query child, to its own llm_query call
        st = s.controller.state()
        if st.event is not None and st.event.depth == 1 and st.event.kind == "SubCallStarted":
            break
        n = pauses[0]
        w.debug.step_into.trigger()
        wait_until(app, lambda n=n: s.controller.is_paused and pauses[0] > n)
    w.update_debug_state()
    w.docks["breakpoints"].raise_()
    w.tree.view.scrollToTop()
    save(app, w, os.path.join(out, "screenshot-live.png"))
    w.shutdown()
    w.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="screenshots.py", description="Screenshots of the main window")
    p.add_argument("--out", default=os.path.join(ROOT, "docs"))
    p.add_argument("--only", choices=("recorded", "live", "dark"))
    args = p.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    cfg = tempfile.mkdtemp(prefix="rlm-shots-")
    os.environ["XDG_CONFIG_HOME"] = cfg  # fresh settings: default layout, no recent files
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENROUTER_API_KEY"):
        os.environ.pop(key, None)
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, cfg)
    from rlm_desktop.ui import refcount_guard

    refcount_guard.install()
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName("rlm-desktop-screenshots")
    app.setApplicationName("RLM Desktop")
    from rlm_desktop.ui import theme

    theme.apply_theme("light")
    if args.only in (None, "recorded"):
        recorded(app, args.out)
    if args.only in (None, "live"):
        live(app, args.out)
    if args.only in (None, "dark"):
        theme.apply_theme("dark")
        recorded(app, args.out, "screenshot-dark.png")
        theme.apply_theme("light")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
