"""The seam between the main window's parts (``ui.window_parts``) and the debugger actions'
attributes stay true to the window they describe: every name declared there exists on a real
window, with the kind (attribute or method) it is declared as."""

from __future__ import annotations

import ast
import inspect

from rlm_desktop.ui import actions, window_parts
from rlm_desktop.ui.main_window import MainWindow


def declared() -> tuple[set[str], set[str]]:
    """(attributes, methods) that ``WindowParts`` declares for the type checker."""
    tree = ast.parse(inspect.getsource(window_parts))
    cls = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "WindowParts")
    attrs = {n.target.id for n in cls.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
    methods = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
    return attrs, methods


def test_window_parts_is_nothing_at_run_time():
    assert window_parts.WindowParts is object


def test_every_declared_part_is_on_the_window(qtbot, window):
    attrs, methods = declared()
    assert {"session", "report_error", "add_recent", "refresh_live"} <= attrs | methods
    for name in sorted(attrs):
        assert hasattr(window, name) and not callable(getattr(type(window), name, None)), name
    for name in sorted(methods):
        member = inspect.getattr_static(MainWindow, name)
        assert callable(member) or isinstance(member, property), name


def test_every_debug_action_is_an_annotated_attribute(qtbot, window):
    names = [spec[0] for spec in actions.SPECS]
    assert set(actions.DebugActions.__annotations__) == set(names)
    for name in names:
        assert getattr(window.debug, name) is window.debug.actions[name]
