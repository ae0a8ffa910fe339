"""rlm-desktop's debugger bootstrap (stdlib only), put on PYTHONPATH by ``rlm-desktop debug``.

Python imports ``sitecustomize`` at start-up: this one installs an import hook that
instruments upstream ``rlm`` when (and only if) the program imports it, then hands
over to the ``sitecustomize`` this one shadows (the interpreter's or the venv's own),
so that one still runs. Nothing here prints or changes the program's behaviour.
"""


def _start() -> None:
    import os

    if os.environ.get("RLM_DESKTOP_DEBUG"):
        try:
            import _rlm_desktop_boot

            _rlm_desktop_boot.install()
        except Exception:  # noqa: BLE001 - the debugger must never break the program
            pass


def _chain() -> None:
    """Import the next ``sitecustomize`` on the path (the one this module shadows)."""
    import importlib.util
    import os
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = None
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        if find is None or getattr(finder, "_rlm_desktop", False):
            continue
        try:
            spec = find("sitecustomize", rest)
        except Exception:  # noqa: BLE001
            spec = None
        if spec is not None:
            break
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)  # errors surface as they would without us (site reports them)


_start()
_chain()
