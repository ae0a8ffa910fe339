"""``DebugSession``: runs one engine completion off the GUI thread and bridges it to Qt.

    session = DebugSession(parent)                  # lives in the GUI thread
    session.event_applied.connect(...)              # (event, model node) for every engine event
    session.paused.connect(...)                     # DebugState: where, which breakpoint, why
    session.finished.connect(...)                   # CompletionResult
    session.start(prompt, context, config=cfg)      # or engine=RLMEngine(...)
    session.step_into(); session.resume(); session.stop(); ...
    session.shutdown()                              # stop + join (window close, tests)

The completion runs in a plain Python thread (the engine is not Qt code and
blocks on the debugger's condition variable while paused). Everything the engine
thread(s) report goes through ONE private signal connected with a queued
connection to a slot of this object, so every public signal is emitted in the
GUI thread, in the order the engine reported it, and the GUI thread never waits
on the engine (``shutdown`` is the only join, after the run was cancelled).

A ``LiveRecorder`` (``engine.recorder``) turns the events into model objects in
the GUI thread (``session.recorder.trajectory``), so panels show a live run the
same way as a file. Breakpoints (``session.breakpoints``) outlive runs.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from rlm_desktop.debugger.breakpoints import BreakpointManager, LogMessage
from rlm_desktop.debugger.controller import FINISHED, PAUSED, RUNNING, DebugController, DebugState
from rlm_desktop.engine.recorder import LiveRecorder

log = logging.getLogger(__name__)


class DebugSession(QObject):
    event_applied = Signal(object, object)  # (engine event, model node it touched or None)
    state_changed = Signal(object)  # DebugState (running / paused / finished)
    paused = Signal(object)  # DebugState of a pause (event, breakpoint, reason, threads)
    resumed = Signal()
    finished = Signal(object)  # CompletionResult (also for cancelled / failed runs)
    failed = Signal(str)  # the completion raised (engine bug or bad set-up); no result
    started = Signal(object)  # the LiveRecorder of the new run
    log_message = Signal(str)  # a logpoint fired
    breakpoints_changed = Signal()

    _bridge = Signal(str, object)  # engine threads -> GUI thread (queued)

    def __init__(self, parent: QObject | None = None, breakpoints: BreakpointManager | None = None) -> None:
        super().__init__(parent)
        self.breakpoints = breakpoints if breakpoints is not None else BreakpointManager()
        self.controller = DebugController(self.breakpoints)
        self.controller.add_listener(lambda st: self._bridge.emit("state", st))
        self.breakpoints.on_log(lambda m: self._bridge.emit("log", m))
        self.breakpoints.on_change(lambda: self._bridge.emit("bps", None))
        self._bridge.connect(self._on_bridge, Qt.ConnectionType.QueuedConnection)
        self.recorder: LiveRecorder | None = None
        self.engine: Any = None
        self.result: Any = None
        self.state: DebugState = DebugState(FINISHED)
        self._thread: threading.Thread | None = None
        self._generation = 0  # messages of an earlier run are dropped

    # -- starting ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(
        self,
        prompt: Any,
        context: Any = None,
        *,
        config: Any = None,
        engine: Any = None,
        pause_at_start: bool = False,
        _prepared: bool = False,
    ) -> LiveRecorder:
        """Start a completion with ``engine`` (or a new ``RLMEngine(config)``)."""
        if self._thread is not None:
            raise RuntimeError("a run is already in progress")
        if engine is None:
            from rlm_desktop.engine.rlm import RLMEngine

            engine = RLMEngine(config)
        self._generation += 1
        gen = self._generation
        self.engine = engine
        self.result = None
        self.recorder = LiveRecorder()
        if not _prepared:
            self.controller.reset()
            self.controller.attach(engine)
        engine.add_observer(lambda e: self._bridge.emit("event", (gen, e)))
        if pause_at_start:
            self.controller.pause()
        self.state = DebugState(RUNNING)
        self._thread = threading.Thread(
            target=self._work, args=(gen, engine, prompt, context), name="rlm-engine", daemon=True
        )
        self.started.emit(self.recorder)
        self.state_changed.emit(self.state)
        self._thread.start()
        return self.recorder

    def start_fork(self, plan: Any, config: Any = None, *, pause_at_start: bool = False) -> LiveRecorder:
        """Replay-then-fork (``debugger.fork.ForkPlan``): the recording is replayed up to the
        fork point, then the run goes live; breakpoints and steps work as in any run."""
        if self._thread is not None:
            raise RuntimeError("a run is already in progress")
        from rlm_desktop.debugger.fork import fork_engine

        fork = fork_engine(plan, config, controller=self.controller)
        return self.start(
            plan.prompt, plan.context, engine=fork.engine, pause_at_start=pause_at_start, _prepared=True
        )

    def _work(self, gen: int, engine: Any, prompt: Any, context: Any) -> None:
        try:
            result = engine.completion(prompt, context)
        except BaseException as exc:  # noqa: BLE001 - reported to the GUI
            log.exception("the completion failed")
            self._bridge.emit("error", (gen, f"{type(exc).__name__}: {exc}"))
        else:
            self._bridge.emit("done", (gen, result))

    # -- the GUI side of the bridge ---------------------------------------------------------

    @Slot(str, object)
    def _on_bridge(self, what: str, payload: Any) -> None:
        if what == "event":
            gen, event = payload
            if gen != self._generation or self.recorder is None:
                return
            try:
                node = self.recorder.apply(event)
            except Exception:  # noqa: BLE001 - a recorder bug must not lose the event
                log.exception("live recorder failed on %s", event.kind)
                node = None
            self.event_applied.emit(event, node)
        elif what == "state":
            self._state(payload)
        elif what == "log":
            msg: LogMessage = payload
            self.log_message.emit(msg.text)
        elif what == "bps":
            self.breakpoints_changed.emit()
        elif what in ("done", "error"):
            gen, value = payload
            if gen != self._generation:
                return
            self._join()
            if what == "done":
                self.result = value
                self.state = DebugState(FINISHED, cancelled=self.controller.cancelled)
                self.state_changed.emit(self.state)
                self.finished.emit(value)
            else:
                self.state = DebugState(FINISHED)
                self.state_changed.emit(self.state)
                self.failed.emit(value)

    def _state(self, st: DebugState) -> None:
        if self._thread is None:
            return  # a late message of a finished run
        if st.state == FINISHED:
            return  # reported with the result
        previous = self.state
        self.state = st
        self.state_changed.emit(st)
        if st.state == PAUSED:
            self.paused.emit(st)
        elif previous.state == PAUSED:
            self.resumed.emit()

    def _join(self, timeout: float = 5.0) -> bool:
        t = self._thread
        if t is None:
            return True
        t.join(timeout)
        if t.is_alive():
            log.error("the engine thread did not end within %.0f s", timeout)
            return False
        self._thread = None
        return True

    # -- commands (GUI thread) -----------------------------------------------------------------

    @Slot()
    def pause(self) -> None:
        self.controller.pause()

    @Slot()
    def resume(self) -> None:
        self.controller.resume()

    @Slot()
    def step_into(self) -> None:
        self.controller.step_into()

    @Slot()
    def step_over(self) -> None:
        self.controller.step_over()

    @Slot()
    def step_out(self) -> None:
        self.controller.step_out()

    @Slot(str)
    def run_to_path(self, path: str) -> None:
        self.controller.run_to(path=path)

    def run_to(self, **target: Any) -> None:
        self.controller.run_to(**target)

    @Slot(int)
    def select_thread(self, thread_id: int) -> bool:
        """Pick the paused thread the steps apply to; False when it is not paused (any more)."""
        try:
            self.controller.select(thread_id)
        except KeyError:
            return False
        return True

    @Slot(str)
    def edit_response(self, text: str) -> bool:
        """While paused at an LM response: run ``text`` instead (applied on continue/step).
        False (and nothing changes) when not paused at an LM response."""
        try:
            self.controller.edit_response(text)
        except RuntimeError as exc:
            log.warning("edit refused: %s", exc)
            return False
        return True

    @Slot()
    def stop(self) -> None:
        """Cancel the run (non-blocking); ``finished`` follows with a cancelled result."""
        if self._thread is not None:
            self.controller.stop()

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Stop a running run and wait for its thread (window close, tests). True when it ended."""
        if self._thread is None:
            return True
        self.controller.stop()
        self._generation += 1  # what is still queued for this run is dropped
        ok = self._join(timeout)
        self.state = DebugState(FINISHED, cancelled=True)
        return ok

    @property
    def paused_threads(self) -> list[Any]:
        return self.controller.paused_threads()


__all__ = ["DebugSession", "DebugState", "FINISHED", "PAUSED", "RUNNING"]
