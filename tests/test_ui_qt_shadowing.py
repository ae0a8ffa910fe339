"""No attribute or method of our QObject subclasses shadows a Qt base-class member.

``self.pos = -1`` on a QWidget hides ``QWidget.pos()``; Qt's own C++ code is not fooled, but
every Python caller (ours, pytest-qt's, a debugger's) gets the wrong thing. Overriding a Qt
*virtual* (``data``, ``paintEvent``...) is how Qt is meant to be used: those are listed in
``VIRTUALS`` with the Qt class that declares them, and anything else that reuses a Qt name fails.
Instance attributes are found in the source (``self.NAME = ...`` anywhere in the class), so a
class need not be constructed to be checked.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import sys
import textwrap

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

import rlm_desktop.ui

#: Qt virtual methods we override on purpose, with the Qt classes that declare them virtual.
VIRTUALS: dict[str, set[str]] = {
    **{
        name: {"QAbstractItemModel"}
        for name in (
            "canFetchMore", "columnCount", "data", "fetchMore", "flags", "hasChildren",
            "headerData", "index", "multiData", "parent", "rowCount", "setData",
        )
    },
    **{
        name: {"QWidget"}
        for name in (
            "changeEvent", "closeEvent", "dragEnterEvent", "dropEvent", "keyPressEvent",
            "minimumSizeHint", "mouseDoubleClickEvent", "mouseMoveEvent", "mousePressEvent",
            "paintEvent", "resizeEvent", "showEvent", "sizeHint",
        )
    },
    "eventFilter": {"QObject"},
    "accept": {"QDialog"},
    "done": {"QDialog"},
    "drawBranches": {"QTreeView"},
    "drawRow": {"QTreeView"},
    "filterAcceptsRow": {"QSortFilterProxyModel"},
    "highlightBlock": {"QSyntaxHighlighter"},
    "paint": {"QStyledItemDelegate", "QAbstractItemDelegate"},
}
VIRTUALS["sizeHint"] |= {"QStyledItemDelegate", "QAbstractItemDelegate"}

#: Non-virtual Qt methods reimplemented on purpose, so that every Python caller gets the whole
#: text while the widget paints a shortened one. Qt's own C++ code still calls the base class.
REIMPLEMENTED: dict[str, set[str]] = {
    "ElidedLabel": {"text", "setText"},
    "StatusBar": {"showMessage", "clearMessage", "currentMessage"},
}

#: Members PySide adds to every QObject subclass itself.
GENERATED = {"staticMetaObject"}


def _is_qt(cls: type) -> bool:
    return cls.__module__.startswith(("PySide6", "shiboken6", "Shiboken"))


def _self_attributes(cls: type) -> set[str]:
    """Names assigned as ``self.NAME = ...`` (or ``self.NAME: T = ...``) in the class body."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError):
        return set()
    return {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.ctx, ast.Store)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    }


def shadows(cls: type) -> list[str]:
    """``"Class.name (kind) shadows QtClass.name"`` for every offending name of ``cls``."""
    qt_bases = [b for b in cls.__mro__ if _is_qt(b)]
    qt_names = {b.__name__ for b in qt_bases}
    out = []
    for own in (b for b in cls.__mro__ if not _is_qt(b) and b is not object):
        members = {n: "method" if callable(v) or isinstance(v, property) else "attribute"
                   for n, v in vars(own).items() if not n.startswith("__")}
        for name in _self_attributes(own):
            members.setdefault(name, "instance attribute")
        for name, kind in members.items():
            if name in GENERATED:
                continue
            owner = next((b for b in qt_bases if name in vars(b)), None)
            if owner is None:
                continue
            if kind == "method" and VIRTUALS.get(name, set()) & qt_names:
                continue
            if kind == "method" and name in REIMPLEMENTED.get(own.__name__, set()):
                continue
            out.append(f"{own.__name__}.{name} ({kind}) shadows {owner.__name__}.{name}")
    return out


def _our_qobject_classes() -> list[type]:
    for info in pkgutil.walk_packages(rlm_desktop.ui.__path__, "rlm_desktop.ui."):
        importlib.import_module(info.name)
    found = {}
    for name, module in list(sys.modules.items()):
        if not name.startswith("rlm_desktop.ui") or module is None:
            continue
        for value in vars(module).values():
            if inspect.isclass(value) and issubclass(value, QObject) and value.__module__ == name:
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return [found[k] for k in sorted(found)]


def test_the_walk_finds_our_classes():
    names = {c.__name__ for c in _our_qobject_classes()}
    assert {"MainWindow", "SearchPanel", "MessagesPanel", "BreakpointEditor"} <= names
    assert len(names) > 30


def test_no_qobject_subclass_in_the_ui_shadows_a_qt_member():
    problems = [p for cls in _our_qobject_classes() for p in shadows(cls)]
    assert problems == []


class _Shadowing(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.pos = -1  # hides QWidget.pos()

    def find(self) -> None:  # hides the static QWidget.find(id)
        pass

    def paintEvent(self, event) -> None:  # noqa: N802 - a virtual: allowed
        super().paintEvent(event)


def test_the_check_fails_on_a_shadowing_class():
    assert sorted(shadows(_Shadowing)) == [
        "_Shadowing.find (method) shadows QWidget.find",
        "_Shadowing.pos (instance attribute) shadows QWidget.pos",
    ]


def test_a_virtual_is_only_allowed_where_qt_declares_it():
    class NotAModel(QWidget):
        def parent(self):  # QWidget.parent() is not virtual (QAbstractItemModel's is)
            return None

    assert shadows(NotAModel) == ["NotAModel.parent (method) shadows QObject.parent"]
