"""Command-line entry point: ``rlm-desktop [FILE...]``, ``rlm-desktop inspect FILE``, ``rlm-desktop diff A B``,
``rlm-desktop export FILE``, ``rlm-desktop debug ... -- COMMAND``,
``rlm-desktop --repl-worker ...`` (internal: the REPL worker of a frozen build)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "--repl-worker":  # the frozen app starts its own REPL worker this way
        from rlm_desktop.engine.repl.worker import main as repl_worker_main

        return repl_worker_main(argv[1:])
    if argv and argv[0] == "inspect":
        from rlm_desktop.cli import inspect_main

        return inspect_main(argv[1:])
    if argv and argv[0] == "debug":
        from rlm_desktop.debug_program import debug_main

        return debug_main(argv[1:])
    if argv and argv[0] == "diff":
        from rlm_desktop.diff_cli import diff_main

        return diff_main(argv[1:])
    if argv and argv[0] == "export":
        from rlm_desktop.export_cli import export_main

        return export_main(argv[1:])
    from rlm_desktop.ui.app import run_app

    return run_app(argv)


if __name__ == "__main__":
    sys.exit(main())
