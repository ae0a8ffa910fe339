"""An import hook that instruments upstream modules right after they load (stdlib only)."""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder

WATCHED = ("rlm.core.rlm", "rlm.environments.local_repl")


class _Loader:
    """Runs the real loader, then instruments the module."""

    def __init__(self, real, name):
        self.real = real
        self.name = name

    def create_module(self, spec):
        create = getattr(self.real, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module):
        self.real.exec_module(module)
        try:
            from . import seams

            seams.instrument(self.name, module)
        except Exception as exc:  # noqa: BLE001 - never break the program's import
            try:
                from . import seams

                seams.report_problem(f"instrumenting {self.name} failed: {type(exc).__name__}: {exc}")
            except Exception:  # noqa: BLE001
                pass

    def __getattr__(self, item):  # get_resource_reader, is_package, get_code, ...
        return getattr(self.real, item)


class UpstreamHook(MetaPathFinder):
    _rlm_desktop = True

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in WATCHED:
            return None
        for finder in sys.meta_path:
            if finder is self or getattr(finder, "_rlm_desktop", False):
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _Loader(spec.loader, fullname)
                return spec
        return None
