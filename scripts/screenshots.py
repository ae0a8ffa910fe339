"""Screenshots of the main window for the README and docs/ (see rlm_desktop/ui/screenshots.py).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshots.py
    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/screenshots.py      # no X server
    .venv/bin/python scripts/screenshots.py --out /tmp/shots --only live

Writes docs/screenshot-recorded.png, docs/screenshot-live.png and docs/screenshot-dark.png
(1400x880, fresh settings, no key, no network).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from rlm_desktop.ui.screenshots import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
