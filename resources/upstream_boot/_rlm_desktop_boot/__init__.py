"""The in-program half of ``rlm-desktop debug`` (stdlib only; see ``sitecustomize.py``).

``install()`` puts an import hook on ``sys.meta_path``. When the program imports
upstream's ``rlm.core.rlm`` (the ``RLM`` class) or a REPL environment module, the
hook lets the module load as usual and then wraps upstream's seams (``seams``),
which report to the app over a local socket (``channel``) and wait at checkpoints.

Environment (set by the app): ``RLM_DESKTOP_DEBUG`` = ``unix:PATH`` or
``tcp:127.0.0.1:PORT``; ``RLM_DESKTOP_DEBUG_TOKEN`` = the session's token.
"""

from __future__ import annotations

import sys

from .hook import UpstreamHook


def install() -> None:
    if not any(isinstance(f, UpstreamHook) for f in sys.meta_path):
        sys.meta_path.insert(0, UpstreamHook())
