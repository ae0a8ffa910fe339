"""Dock panel widgets: each shows one aspect of the selected run-tree node.

Every panel is a ``QWidget`` with ``show_node(node | None)`` (``node`` is a
``Run``/``Iteration``/``CodeBlock``/``SubCall`` from ``trajectory.model``) and
``refresh()`` (the node grew during a live run: re-read it, keep scroll and
selection). Text from logs is always shown as plain text.

Modules are imported lazily by the main window; nothing is imported here so
importing one panel does not pull in pyqtgraph or the engine.
"""
