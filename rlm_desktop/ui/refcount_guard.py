"""Guard against PySide6 6.12.0's lost references to None/True on CPython 3.11.

PySide6 6.12.0 assumes ``None``/``True``/``False`` are immortal (they are from
CPython 3.12 on). On 3.11 every call of a void C++ method from Python drops a
reference to ``None`` and every ``signal.emit()`` one to ``True``, so a GUI
dies with "Fatal Python error: none_dealloc" / "bool_dealloc" after a few
thousand Qt calls (at the latest when the interpreter exits). Measured::

    o = QObject(); n = sys.getrefcount(None)
    for _ in range(100): o.setObjectName("x")
    sys.getrefcount(None) - n     # -100 with 6.12.0 on 3.11; 0 with 6.11.3 or on 3.12

``install()`` measures that once and, only where references are lost, makes
the three singletons effectively immortal (adds 2**40 to their reference
counts, which is what CPython 3.12 does by design). It is idempotent and is
called once at app start (``ui.app.make_app``, the screenshot and gallery
tools, the test suite's conftest); importing this module does nothing.

The real fix is the dependency pin (pyproject: PySide6 != 6.12.0 where
``python_version < '3.12'``); this guard covers a PySide6 that came from
elsewhere (a distribution package, a build made with another resolver).
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

BOOST = 1 << 40
installed = False


class _Probe(QObject):
    sig = Signal(int)


def leaks() -> dict[str, int]:
    """References lost per call: {"None": n, "True": n} (0 when PySide6 is fine)."""
    probe = _Probe()
    n = 32
    none0 = sys.getrefcount(None)
    for _ in range(n):
        probe.setObjectName("probe")
    none_lost = none0 - sys.getrefcount(None)
    true0 = sys.getrefcount(True)
    for _ in range(n):
        probe.sig.emit(1)
    true_lost = true0 - sys.getrefcount(True)
    return {"None": max(0, round(none_lost / n)), "True": max(0, round(true_lost / n))}


def install() -> bool:
    """Make None/True/False immortal if this PySide6 loses references to them."""
    global installed
    if installed:
        return True
    if sys.version_info >= (3, 12) or not any(leaks().values()):
        return False
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += BOOST
    installed = True
    return True
