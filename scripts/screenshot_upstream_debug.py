"""The docs screenshot of an upstream ``rlms`` program paused at depth 2 (see
rlm_desktop/ui/screenshot_upstream.py).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshot_upstream_debug.py
    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshot_upstream_debug.py [--out DIR]
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from rlm_desktop.ui.screenshot_upstream import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
