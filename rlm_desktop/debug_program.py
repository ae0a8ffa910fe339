"""``rlm-desktop debug``: run the user's own program (upstream ``rlms``) under the debugger.

    rlm-desktop debug [--no-gui] [--record FILE.jsonl] [--break SPEC]... [--cwd DIR]
                      [--env NAME=VALUE]... -- COMMAND [ARGS...]

The command runs unchanged (``python my_eval.py --n 5``, ``python -m pkg``, ``pytest
tests/x.py``, a venv's python); ``engine.upstream_host.UpstreamProgram`` instruments its
Python processes. Without ``--no-gui`` the main window opens with the program's
completions as live runs. ``--no-gui`` runs headless: breakpoints print where they hit
(on stderr, prefixed ``rlm-desktop:``) and do not stop. ``--record`` writes every
completion's live-recorded tree to one upstream-compatible JSONL file. The exit status is
the program's (127: command not found; 2: bad arguments).

Breakpoint SPECs (``--break``): ``iteration:N`` (``iteration:N@D`` at depth D),
``depth:D``, ``subcall`` (``subcall@D``), ``stderr``, ``final``, ``text:WORDS``,
``regex:PATTERN``, ``condition:EXPR``; ``...=>MESSAGE`` makes it a logpoint
(``depth:2=>entered {run_id}``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from typing import Any

from rlm_desktop.debugger.breakpoints import BreakpointManager
from rlm_desktop.engine import events as ev

PREFIX = "rlm-desktop: "


@dataclass
class DebugArgs:
    command: list[str]
    gui: bool = True
    record: str | None = None
    breaks: list[dict[str, Any]] = field(default_factory=list)
    cwd: str | None = None
    env: dict[str, str] = field(default_factory=dict)


def parse_break(spec: str) -> dict[str, Any]:
    """``--break`` SPEC -> ``Breakpoint`` fields (ValueError with a clear message)."""
    text = spec.strip()
    message = None
    if "=>" in text:
        text, message = text.split("=>", 1)
        text, message = text.strip(), message.strip()
    kind, _, value = text.partition(":")
    kind = kind.strip().lower()
    depth = None
    if "@" in kind:
        kind, d = kind.split("@", 1)
        depth = _int(d, spec)
    if kind in ("iteration", "depth") and "@" in value:
        value, d = value.split("@", 1)
        depth = _int(d, spec)
    fields: dict[str, Any] = {}
    if kind == "iteration":
        fields = {"kind": "iteration", "iteration": _int(value, spec), "depth": depth}
    elif kind == "depth":
        fields = {"kind": "depth", "depth": _int(value, spec)}
    elif kind in ("subcall", "stderr", "final"):
        fields = {"kind": kind, "depth": depth}
    elif kind in ("text", "regex"):
        if not value:
            raise ValueError(f"--break {spec!r}: {kind} needs a pattern ({kind}:PATTERN)")
        fields = {"kind": "text", "pattern": value, "regex": kind == "regex"}
    elif kind == "condition":
        if not value.strip():
            raise ValueError(f"--break {spec!r}: condition needs an expression (condition:EXPR)")
        fields = {"kind": "condition", "condition": value}
    else:
        raise ValueError(
            f"--break {spec!r}: unknown kind {kind!r} (iteration:N, depth:D, subcall, stderr, final, "
            "text:WORDS, regex:PATTERN, condition:EXPR)"
        )
    if message:
        fields["log_message"] = message
    return fields


def _int(value: str, spec: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError(f"--break {spec!r}: {value.strip()!r} is not a number") from None


def parse_args(argv: list[str]) -> DebugArgs:
    """Raises SystemExit (argparse) or ValueError on bad arguments."""
    if "--" in argv:
        i = argv.index("--")
        own, command = argv[:i], argv[i + 1 :]
    else:  # no "--": the first word that is not an option of ours starts the command
        own, command = _split_without_dashes(argv)
    ap = argparse.ArgumentParser(prog="rlm-desktop debug", description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-gui", action="store_true", help="headless: breakpoints print and do not stop")
    ap.add_argument("--record", metavar="FILE.jsonl", help="write every completion's tree to this log")
    ap.add_argument("--break", dest="breaks", action="append", default=[], metavar="SPEC")
    ap.add_argument("--cwd", metavar="DIR", help="working directory of the program")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="extra environment")
    ns = ap.parse_args(own)
    if not command:
        raise ValueError("no command to debug (rlm-desktop debug [OPTIONS] -- COMMAND [ARGS...])")
    env = {}
    for item in ns.env:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--env {item!r}: expected NAME=VALUE")
        env[name] = value
    return DebugArgs(command, not ns.no_gui, ns.record, [parse_break(s) for s in ns.breaks], ns.cwd, env)


def _split_without_dashes(argv: list[str]) -> tuple[list[str], list[str]]:
    own: list[str] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("--no-gui", "-h", "--help"):
            own.append(a)
        elif a in ("--record", "--break", "--cwd", "--env") and i + 1 < len(argv):
            own += [a, argv[i + 1]]
            i += 1
        elif a.startswith(("--record=", "--break=", "--cwd=", "--env=")):
            own.append(a)
        else:
            return own, argv[i:]
        i += 1
    return own, []


def describe(event: ev.Event) -> str:
    where = f"run {event.run_id} (depth {event.depth}, iteration {event.iteration})"
    if isinstance(event, (ev.SubCallStarted, ev.SubCallFinished)):
        where += f", block {event.block_index}, call {event.call_index}"
    elif isinstance(event, (ev.CodeBlockStarted, ev.CodeBlockFinished)):
        where += f", block {event.block_index}"
    return f"{event.kind} in {where}"


class HeadlessGate:
    """The gate of ``--no-gui``: a breakpoint that matches prints where it hit; nothing stops."""

    def __init__(self, breakpoints: BreakpointManager, out: Any) -> None:
        self.breakpoints = breakpoints
        self.out = out
        self.hits = 0
        breakpoints.on_log(lambda m: self._print(f"log: {m.text}"))

    def _print(self, text: str) -> None:
        from rlm_desktop.cli import one_line

        print(PREFIX + one_line(text, 300), file=self.out, flush=True)

    def checkpoint(self, event: ev.Event) -> None:
        bp = self.breakpoints.check(event)
        if bp is not None:
            self.hits += 1
            self._print(f"breakpoint {bp.id} ({bp.kind}) hit at {describe(event)}")
        return None


def run_headless(args: DebugArgs, out: Any = None) -> int:
    from rlm_desktop.engine.completions_log import CompletionsLog
    from rlm_desktop.engine.upstream_host import UpstreamProgram

    out = out if out is not None else sys.stderr

    def notice(text: str) -> None:
        print(PREFIX + text, file=out, flush=True)

    prog = UpstreamProgram(args.command, cwd=args.cwd, env=args.env, wait=False, on_notice=notice)
    manager = BreakpointManager()
    for fields in args.breaks:
        manager.add(**fields)
    if args.breaks:
        prog.set_gate(HeadlessGate(manager, out))
    record = CompletionsLog(args.record) if args.record else None
    if record is not None:
        prog.add_observer(record)
    import signal

    # Ctrl+C is the program's to handle; a handler (not SIG_IGN, which the program would inherit)
    old = signal.signal(signal.SIGINT, lambda *_: None)
    try:
        result = prog.run()
    finally:
        signal.signal(signal.SIGINT, old)
        if record is not None:
            record.close()
    if record is not None:
        if record.error:
            notice(record.error)
        elif result.completions:
            notice(f"recorded {result.completions} completion(s) in {args.record}")
    return int(result.exit_code if result.exit_code is not None else 1)


def debug_main(argv: list[str]) -> int:
    try:
        args = parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    except ValueError as exc:
        print(PREFIX + str(exc), file=sys.stderr)
        return 2
    if not args.gui:
        return run_headless(args)
    from rlm_desktop.ui.debug_program import run_gui

    return run_gui(args)


__all__ = ["DebugArgs", "HeadlessGate", "debug_main", "parse_args", "parse_break", "run_headless"]
