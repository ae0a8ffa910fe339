"""Where the app's bundled files (``resources/``) are, from source and in a frozen build.

From a source checkout (or an editable install) ``resources/`` sits next to the
``rlm_desktop`` package. A PyInstaller build unpacks its data files under
``sys._MEIPASS`` (a one-folder build: the ``_internal`` folder next to the
executable) and ``build.spec`` puts them in ``resources/`` there.
``RLM_DESKTOP_RESOURCES`` overrides both (tests, packagers that install the data
files elsewhere). No Qt here: the engine uses it too.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_VAR = "RLM_DESKTOP_RESOURCES"


def resource_root() -> Path:
    """The folder that holds the bundled files (``demo/``, ``icons/``)."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    if getattr(sys, "frozen", False):
        base = getattr(sys, "_MEIPASS", None)
        if not base:  # a frozen layout without _MEIPASS: PyInstaller's one-folder default
            base = os.path.join(os.path.dirname(os.path.abspath(sys.executable)), "_internal")
        return Path(base) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """``resource_path("demo", "demo.json")``: a path under the resource root (may not exist)."""
    return resource_root().joinpath(*parts)
