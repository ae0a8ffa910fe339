"""The Compare window: two runs side by side (``window.CompareWindow``), how two runs are
picked (``dialog.ComparePicker``), and the diff computed off the GUI thread (``worker``)."""
