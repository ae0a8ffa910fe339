"""``rlm-desktop --smoke``: the start-up self-check of an installed (or frozen) app.

``run_smoke(window) -> 0 | 1`` checks, in the real main window:

1. every dock panel was built (none is a "not available" placeholder: a module
   missing from a frozen build shows up here);
2. the bundled demo trajectory opens (off the GUI thread, like any file): its run and
   iterations appear in the run tree and the iteration timeline, the code panel shows
   a selected block;
3. the demo runs live under the debugger to the end: the replay backend answers (no
   key, no network), the model code runs in the REPL worker process (in a frozen build
   that is the app itself started with ``--repl-worker``), every block prints what the
   recording printed and the final answer (computed by that code) is the recorded one.

It prints one line per step and ends with ``smoke: ok ...`` or ``smoke: FAIL: reason``.
Every wait runs a local event loop with a deadline; a watchdog thread ends the process
(exit code 3) if the GUI thread itself stops answering, so the check never hangs.
``RLM_DESKTOP_SMOKE_SCREENSHOT=PATH`` saves a picture of the window at the end.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

SCREENSHOT_ENV = "RLM_DESKTOP_SMOKE_SCREENSHOT"
DEFAULT_TIMEOUT = 60.0  # seconds for the whole check
WATCHDOG_GRACE = 30.0  # the process is ended this long after the deadline if still running
WATCHDOG_EXIT = 3


class SmokeFailure(Exception):
    pass


class _ErrorLog(logging.Handler):
    """Collects the app's ERROR records during the check (a panel or model that fails
    quietly, e.g. ``tree data``, logs instead of raising)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def first(self) -> str | None:
        if not self.records:
            return None
        r = self.records[0]
        text = r.getMessage()
        if r.exc_info and r.exc_info[1] is not None:
            text += f" ({type(r.exc_info[1]).__name__}: {r.exc_info[1]})"
        more = f" (+{len(self.records) - 1} more)" if len(self.records) > 1 else ""
        return f"{r.name}: {text}{more}"


def wait_until(cond: Callable[[], bool], timeout: float, poll_ms: int = 20) -> bool:
    """Run a local event loop until ``cond()`` is true or ``timeout`` seconds passed."""
    if cond():
        return True
    deadline = time.monotonic() + max(0.0, timeout)
    loop = QEventLoop()
    timer = QTimer()
    timer.setInterval(poll_ms)

    def poll() -> None:
        if cond() or time.monotonic() >= deadline:
            loop.quit()

    timer.timeout.connect(poll)
    timer.start()
    loop.exec()
    timer.stop()
    return bool(cond())


def _blocks(run: Any) -> list[Any]:
    """Every code block of a run tree, depth first (children right after their sub-call)."""
    out = []
    for it in run.iterations:
        for b in it.code_blocks:
            out.append(b)
            for sc in b.sub_calls:
                if sc.child is not None:
                    out.extend(_blocks(sc.child))
    return out


class _Smoke:
    def __init__(self, window: Any, timeout: float, out: TextIO) -> None:
        self.w = window
        self.out = out
        self.deadline = time.monotonic() + timeout
        self.errors_before = len(window.problems.errors)

    def say(self, text: str) -> None:
        print(f"smoke: {text}", file=self.out, flush=True)

    def left(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def new_errors(self) -> list[str]:
        return list(self.w.problems.errors[self.errors_before:])

    def wait(self, cond: Callable[[], bool], what: str) -> None:
        ok = wait_until(lambda: cond() or bool(self.new_errors()), self.left())
        errors = self.new_errors()
        if errors:
            raise SmokeFailure(f"{what}: {errors[0]}")
        if not ok:
            raise SmokeFailure(f"{what}: timed out")

    # -- steps ----------------------------------------------------------------------------
    def check_panels(self) -> None:
        from .docks import is_placeholder

        missing = [name for name, p in self.w.panels.items() if is_placeholder(p)]
        if missing:
            raise SmokeFailure(f"panels not available: {', '.join(sorted(missing))}")
        if self.w.session is None:
            raise SmokeFailure(getattr(self.w, "_session_error", "no debug session"))
        platform = QApplication.platformName() if QApplication.instance() is not None else "?"
        self.say(f"{len(self.w.panels)} panels built (Qt platform {platform})")

    def check_recorded(self, demo: Any) -> Any:
        w = self.w
        path = os.path.abspath(str(demo.trajectory_path))
        w.open_demo()
        self.wait(lambda: w.path == path and w.trajectory is not None and bool(w.trajectory.runs),
                  "opening the demo trajectory")
        traj = w.trajectory
        if traj.bad_lines:
            raise SmokeFailure(f"demo trajectory has {len(traj.bad_lines)} bad line(s): {traj.bad_lines[0].message}")
        run = traj.runs[0]
        if run.final_answer != demo.expected_answer:
            raise SmokeFailure(f"demo trajectory answer {run.final_answer!r} is not the expected one")
        self.check_views(run, "demo trajectory")
        block = next((b for b in _blocks(run) if b.code.strip()), None)
        if block is None:
            raise SmokeFailure("demo trajectory has no code block")
        w.selection.select(block)
        code = w.panels["code"]
        self.wait(lambda: block.code.strip().splitlines()[0] in code.editor.toPlainText(),
                  "showing a code block in the Code panel")
        self.say(f"opened {os.path.basename(path)}: {len(traj.runs)} run(s), "
                 f"{len(run.iterations)} iteration(s), {len(_blocks(run))} code block(s)")
        return run

    def check_views(self, run: Any, what: str) -> None:
        """The run and each of its iterations are in the run tree (rows are fetched lazily, as
        the view does) with their labels; selecting its last iteration shows the run in the
        timeline, one row per iteration."""
        w = self.w
        model = w.tree.model
        QApplication.processEvents()
        if not run.iterations:
            raise SmokeFailure(f"{what}: the run has no iterations")
        for node in (run, *run.iterations):
            idx = model.index_of(node)
            if not idx.isValid():
                raise SmokeFailure(f"{what}: {getattr(node, 'path', node)!s} is not in the run tree")
            text = model.data(idx)
            if not text:
                raise SmokeFailure(f"{what}: {getattr(node, 'path', node)!s} has no label in the run tree")
        w.selection.select(run.iterations[-1])  # selected anywhere, shown everywhere
        QApplication.processEvents()
        if w.timeline.model.run is not run:
            raise SmokeFailure(f"{what}: the timeline does not show the selected run")
        w.timeline.refresh()
        rows = w.timeline.model.rowCount()
        if rows != len(run.iterations):
            raise SmokeFailure(f"{what}: the timeline shows {rows} iteration(s), the run has {len(run.iterations)}")

    def check_live(self, demo: Any, recorded: Any) -> None:
        from rlm_desktop.trajectory.model import RunStatus

        w = self.w
        session = w.session
        results: list[Any] = []
        failures: list[str] = []
        pauses = [0]

        def on_paused(_state: Any) -> None:  # a breakpoint someone left: carry on
            pauses[0] += 1
            QTimer.singleShot(0, session.resume)

        session.finished.connect(results.append)
        session.failed.connect(failures.append)
        session.paused.connect(on_paused)
        started = time.monotonic()
        try:
            w.run_demo(pause_at_start=False)
            if not session.running and not results and not failures:
                errors = self.new_errors()
                raise SmokeFailure(f"the demo run did not start: {errors[0] if errors else 'no reason given'}")
            ok = wait_until(lambda: bool(results or failures), self.left())
            if not ok:
                session.stop()
                wait_until(lambda: bool(results or failures), 10.0)
                raise SmokeFailure("the demo run did not finish in time")
        finally:
            for sig, slot in ((session.finished, results.append), (session.failed, failures.append),
                              (session.paused, on_paused)):
                try:
                    sig.disconnect(slot)
                except (RuntimeError, TypeError):
                    pass
        if failures:
            raise SmokeFailure(f"the demo run failed: {failures[0]}")
        result = results[0]
        if result.status != RunStatus.FINISHED:
            raise SmokeFailure(f"the demo run ended {result.status}: {result.error}")
        if result.response != demo.expected_answer:
            raise SmokeFailure(f"the demo run answered {result.response!r}, expected {demo.expected_answer!r}")
        timer = w.live_timer  # the window's last refresh of the views
        wait_until(lambda: not timer.isActive(), 2.0)
        live = session.recorder.trajectory.runs[0] if session.recorder and session.recorder.trajectory.runs else None
        if live is None:
            raise SmokeFailure("the live run is not in the window")
        if w.trajectory is not session.recorder.trajectory:
            raise SmokeFailure("the window does not show the live run")
        self.check_views(live, "live run")
        want = [(b.code, b.stdout) for b in _blocks(recorded)]
        got = [(b.code, b.stdout) for b in _blocks(live)]
        if got != want:
            bad = next((i for i, (a, b) in enumerate(zip(want, got, strict=False)) if a != b), min(len(want), len(got)))
            raise SmokeFailure(f"the REPL output differs from the recording at code block {bad + 1} "
                               f"({len(got)} block(s) ran, {len(want)} recorded)")
        extra = f", resumed {pauses[0]} pause(s)" if pauses[0] else ""
        self.say(f"ran the demo live: {result.iterations} iteration(s), {len(got)} code block(s) in the "
                 f"REPL worker, answer as recorded ({time.monotonic() - started:.1f} s{extra})")


def _watchdog(timeout: float, out: TextIO) -> threading.Timer:
    def fire() -> None:
        try:
            print(f"smoke: FAIL: no answer from the GUI thread after {timeout:g} s (watchdog)",
                  file=out, flush=True)
        finally:
            os._exit(WATCHDOG_EXIT)

    t = threading.Timer(timeout, fire)
    t.daemon = True
    t.name = "rlm-smoke-watchdog"
    t.start()
    return t


def save_screenshot(window: Any, path: str) -> bool:
    QApplication.processEvents()
    os.makedirs(os.path.dirname(os.path.abspath(path)) or ".", exist_ok=True)
    return bool(window.grab().save(path))


def run_smoke(window: Any, *, timeout: float = DEFAULT_TIMEOUT, out: TextIO | None = None,
              watchdog: bool = True) -> int:
    """The self-check (see the module doc). 0 when everything works, else 1."""
    out = out if out is not None else sys.stdout
    started = time.monotonic()
    dog = _watchdog(timeout + WATCHDOG_GRACE, out) if watchdog else None
    smoke = _Smoke(window, timeout, out)
    errors = _ErrorLog()
    app_log = logging.getLogger("rlm_desktop")
    app_log.addHandler(errors)
    try:
        from rlm_desktop.engine.demo import load_demo

        smoke.check_panels()
        try:
            demo = load_demo()
        except Exception as exc:
            raise SmokeFailure(f"the bundled demo is not available: {type(exc).__name__}: {exc}") from exc
        recorded = smoke.check_recorded(demo)
        smoke.check_live(demo, recorded)
        if errors.first():
            raise SmokeFailure(f"the app logged an error: {errors.first()}")
    except SmokeFailure as exc:
        rc, line = 1, f"FAIL: {exc}"
    except Exception as exc:  # noqa: BLE001 - a bug in the app is a failed check, not a crash
        rc, line = 1, f"FAIL: {type(exc).__name__}: {exc}"
    else:
        frozen = " (frozen build)" if getattr(sys, "frozen", False) else ""
        rc, line = 0, f"ok in {time.monotonic() - started:.1f} s{frozen}"
    finally:
        app_log.removeHandler(errors)
        if dog is not None:
            dog.cancel()
    shot = os.environ.get(SCREENSHOT_ENV)
    if shot:
        smoke.say(f"screenshot {shot}" if save_screenshot(window, shot) else f"cannot save a screenshot to {shot}")
    smoke.say(line)
    return rc
