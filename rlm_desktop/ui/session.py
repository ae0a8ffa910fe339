"""``DebugSession``: runs one engine completion off the GUI thread and bridges it to Qt.

    session = DebugSession(parent)                  # lives in the GUI thread
    session.event_applied.connect(...)              # (event, model node) for every engine event
    session.paused.connect(...)                     # DebugState: where, which breakpoint, why
    session.finished.connect(...)                   # CompletionResult
    session.start(prompt, context, config=cfg)      # or engine=RLMEngine(...)
    session.step_into(); session.resume(); session.stop(); ...
    session.shutdown()                              # stop + join (window close, tests)

The completion runs in a ``ui.bridge`` job (a plain Python thread: the engine is
not Qt code and blocks on the debugger's condition variable while paused).
Everything the engine thread(s) report goes through the bridge's one queued
signal, so every public signal is emitted in the GUI thread, in the order the
engine reported it, and the GUI thread never waits on the engine (``shutdown``
is the only join, after the run was cancelled). The controller numbers its
states; one that arrives after a newer one is dropped (``DebugState.seq``).

A ``LiveRecorder`` (``engine.recorder``) turns the events into model objects in
the GUI thread (``session.recorder.trajectory``), so panels show a live run the
same way as a file. Breakpoints (``session.breakpoints``) outlive runs.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from rlm_desktop.debugger.breakpoints import BreakpointManager, LogMessage
from rlm_desktop.debugger.controller import FINISHED, PAUSED, RUNNING, DebugController, DebugState
from rlm_desktop.engine.recorder import LiveRecorder

from .bridge import Bridge, Job

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

    def __init__(self, parent: QObject | None = None, breakpoints: BreakpointManager | None = None) -> None:
        super().__init__(parent)
        self.breakpoints = breakpoints if breakpoints is not None else BreakpointManager()
        self.controller = DebugController(self.breakpoints)
        self.bridge = Bridge(self._on_bridge, self)  # engine threads -> GUI thread (queued)
        self.controller.add_listener(lambda st: self.bridge.post("state", st))
        self.breakpoints.on_log(lambda m: self.bridge.post("log", m))
        self.breakpoints.on_change(lambda: self.bridge.post("bps"))
        self.recorder: LiveRecorder | None = None
        self.engine: Any = None
        self.result: Any = None
        self.state: DebugState = DebugState(FINISHED)
        self._job: Job | None = None  # the run in progress (its messages; older runs' are dropped)
        self._seq = 0  # the newest controller state seen: older ones arriving late are dropped

    # -- starting ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._job is not None

    def start(
        self,
        prompt: Any,
        context: Any = None,
        *,
        config: Any = None,
        engine: Any = None,
        pause_at_start: bool = False,
    ) -> LiveRecorder:
        """Start a completion with ``engine`` (or a new ``RLMEngine(config)``)."""
        if self._job is not None:
            raise RuntimeError("a run is already in progress")
        if engine is None:
            from rlm_desktop.engine.rlm import RLMEngine

            engine = RLMEngine(config)
        self.controller.reset()
        self.controller.attach(engine)
        if pause_at_start:
            self.controller.pause()
        job = self._begin()

        def work(job: Job) -> Any:
            engine.add_observer(lambda e: job.emit("event", e))
            self.engine = engine
            return engine.completion(prompt, context)

        self.engine = engine
        job.start(work)
        return self.recorder  # type: ignore[return-value]

    def start_fork(self, plan: Any, config: Any = None, *, pause_at_start: bool = False) -> LiveRecorder:
        """Replay-then-fork (``debugger.fork.ForkPlan``): the recording is replayed up to the
        fork point, then the run goes live; breakpoints and steps work as in any run. The
        recording is read in the engine thread (``plan.recorded`` saves the read), so a
        failure to read it arrives as ``failed``."""
        if self._job is not None:
            raise RuntimeError("a run is already in progress")
        from rlm_desktop.debugger.fork import fork_engine

        job = self._begin()

        def work(job: Job) -> Any:
            fork = fork_engine(plan, config, controller=self.controller)  # reads; resets the controller
            if pause_at_start:
                self.controller.pause()
            fork.engine.add_observer(lambda e: job.emit("event", e))
            job.check()  # stopped while the recording was read
            self.engine = fork.engine
            return fork.run()

        job.start(work)
        return self.recorder  # type: ignore[return-value]

    def _begin(self) -> Job:
        self.breakpoints.reset_hits()  # "the Nth hit" and "until ... is hit" are per run
        self.result = None
        self.engine = None
        self.recorder = LiveRecorder()
        self._job = job = self.bridge.job("rlm-engine", on_cancel=self.controller.stop)
        self.state = DebugState(RUNNING, seq=self._seq)
        self.started.emit(self.recorder)
        self.state_changed.emit(self.state)
        return job

    # -- the GUI side of the bridge ---------------------------------------------------------

    def _on_bridge(self, job: Job | None, what: str, payload: Any) -> None:
        if what == "state":
            self._state(payload)
        elif what == "log":
            msg: LogMessage = payload
            self.log_message.emit(msg.text)
        elif what == "bps":
            self.breakpoints_changed.emit()
        elif job is not self._job or job is None:
            return  # a message of an earlier run
        elif what == "event":
            if self.recorder is None:
                return
            try:
                node = self.recorder.apply(payload)
            except Exception:  # noqa: BLE001 - a recorder bug must not lose the event
                log.exception("live recorder failed on %s", payload.kind)
                node = None
            self.event_applied.emit(payload, node)
        elif what in ("done", "error", "cancelled"):
            self._join()
            if what == "done":
                self.result = payload
                self.state = DebugState(FINISHED, cancelled=self.controller.cancelled, seq=self._seq)
                self.state_changed.emit(self.state)
                self.finished.emit(payload)
            elif what == "cancelled":  # stopped before the engine ran (a fork's recording was read)
                from rlm_desktop.engine.rlm import CompletionResult
                from rlm_desktop.trajectory.model import RunStatus

                self.result = CompletionResult(None, RunStatus.CANCELLED, "", error="cancelled before it started")
                self.state = DebugState(FINISHED, cancelled=True, seq=self._seq)
                self.state_changed.emit(self.state)
                self.finished.emit(self.result)
            else:
                self.state = DebugState(FINISHED, seq=self._seq)
                self.state_changed.emit(self.state)
                self.failed.emit(payload)

    def _state(self, st: DebugState) -> None:
        if st.seq <= self._seq:
            return  # announced before a state already shown (the announcements race)
        self._seq = st.seq
        if self._job is None:
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
        job = self._job
        if job is None:
            return True
        if not job.join(timeout):
            log.error("the engine thread did not end within %.0f s", timeout)
            return False
        self._job = None
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

    @Slot(int)
    def continue_thread(self, thread_id: int) -> bool:
        """Continue only this paused thread (the others stay paused); False if it is not paused."""
        return self.controller.continue_thread(thread_id)

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
        if self._job is not None:
            self._job.cancel()  # controller.stop(); a fork still reading stops at its next check

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Stop a running run and wait for its thread (window close, tests). True when it ended."""
        job = self._job
        if job is None:
            return True
        job.discard()  # what is still queued for this run is dropped
        job.cancel()  # controller.stop()
        ok = self._join(timeout)
        self.state = DebugState(FINISHED, cancelled=True)
        return ok

    @property
    def paused_threads(self) -> list[Any]:
        return self.controller.paused_threads()


__all__ = ["DebugSession", "DebugState", "FINISHED", "PAUSED", "RUNNING"]
