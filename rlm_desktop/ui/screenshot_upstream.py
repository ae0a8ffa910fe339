"""The docs screenshot of an upstream ``rlms`` program paused at depth 2 (``rlm-desktop debug``).

See ``scripts/screenshot_upstream_debug.py``. Runs ``tests/support/upstream_program.py`` (real
upstream rlms, against the tests' mock server: no key, no network) through
``ui.debug_program.start_program`` with a depth-2 breakpoint, steps (F11) into the
grandchild's first code block and saves ``docs/screenshot-upstream-depth2.png``. Needs a
source checkout (the tests' support modules).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="screenshot_upstream_debug.py")
    p.add_argument("--out", default=os.path.join(ROOT, "docs"))
    args = p.parse_args(argv)
    cfg = tempfile.mkdtemp(prefix="rlm-shots-")
    os.environ["XDG_CONFIG_HOME"] = cfg
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, cfg)
    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setOrganizationName("rlm-desktop-screenshots")
    app.setApplicationName("RLM Desktop")
    from rlm_desktop.ui import theme
    from rlm_desktop.ui.debug_program import start_program
    from rlm_desktop.ui.screenshots import new_window, save, wait_until
    from tests.support.mock_openai import MockLMServer
    from tests.support.upstream_brain import brain

    theme.apply_theme("light")
    program = os.path.join(ROOT, "tests", "support", "upstream_program.py")
    with MockLMServer(brain) as server:
        w = new_window(app)
        s = w.session
        pauses = [0]
        s.paused.connect(lambda _st: pauses.__setitem__(0, pauses[0] + 1))
        start_program(w, [sys.executable, program, server.base_url, "full"], cwd=ROOT,
                      breaks=[{"kind": "depth", "depth": 2}])
        w.panels["breakpoints"].refresh()
        wait_until(app, lambda: s.controller.is_paused and pauses[0] >= 1, 120)
        for _ in range(10):  # F11 to the grandchild's first code block
            st = s.controller.state()
            if st.event is not None and st.event.depth == 2 and st.event.kind == "CodeBlockStarted":
                break
            n = pauses[0]
            w.debug.step_into.trigger()
            wait_until(app, lambda n=n: s.controller.is_paused and pauses[0] > n, 60)
        w.update_debug_state()
        w.docks["breakpoints"].raise_()
        w.tree.view.scrollToTop()
        save(app, w, os.path.join(args.out, "screenshot-upstream-depth2.png"))
        w.session.resume()
        wait_until(app, lambda: not s.running, 120)
        w.shutdown()
        w.close()
    return 0
