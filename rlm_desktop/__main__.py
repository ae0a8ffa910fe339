"""Command-line entry point: ``rlm-desktop [FILE...]``, ``rlm-desktop inspect FILE``."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "inspect":
        from rlm_desktop.cli import inspect_main

        return inspect_main(argv[1:])
    from rlm_desktop.ui.app import run_app

    return run_app(argv)


if __name__ == "__main__":
    sys.exit(main())
