"""The Qt desktop UI."""
