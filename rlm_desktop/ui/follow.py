"""Qt bridge for live tailing: the follower's callbacks as GUI-thread signals.

``FollowController`` owns a ``trajectory.tail_follow.Follower`` (watchdog or
polling, on its own worker thread). The worker does all I/O and JSON parsing;
its callbacks only post to a ``ui.bridge.Bridge`` (one queued signal to the GUI
thread); each follower is a bridge job, so stopping one is cancelling it.
There the parsed records are fed into each live ``Trajectory`` in slices of at
most ``APPLY_BUDGET_S`` per event-loop turn, so a burst of big records never
stalls the GUI, and every slice is announced with ``trajectory_updated``.

Main-window integration (``rlm-desktop --follow DIR`` and File > Follow folder...)::

    self.follow_ctl = FollowController(self)
    self.runs_panel = RunsPanel(self.follow_ctl)          # ui/runs_panel.py, dock it
    self.runs_panel.run_activated.connect(self.open_live_run)
    self.follow_ctl.trajectory_updated.connect(self.on_live_update)

    def follow(self, path):                               # app.py: window.follow(args.follow)
        ok = self.follow_ctl.follow(path)                 # folder (recursive) or one file
        if ok and os.path.isfile(path):
            self.open_live_run(os.path.abspath(path))
        return ok

    def open_live_run(self, path):
        if self.live_path and self.live_path != path:
            self.follow_ctl.close_live(self.live_path)
        self.live_path = path
        self.show_trajectory(self.follow_ctl.open_live(path))   # grows in place

    def on_live_update(self, path, update):               # update: trajectory.tail.TailUpdate
        if path == self.live_path:
            ...  # update.reset: rebuild views; else append update.new_iterations / refresh()

    def closeEvent(self, event):
        self.follow_ctl.shutdown()                        # joins every watcher thread

A live trajectory starts empty and fills within milliseconds (the first read
is the whole file, applied in slices). ``update.runs`` are the runs touched;
a run's ``status`` is RUNNING while its file grows and INCOMPLETE once the
writer has been quiet for ``running_window`` seconds.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from rlm_desktop.trajectory.model import RunStatus, Trajectory
from rlm_desktop.trajectory.run_summary import RUNNING_WINDOW_S, RunSummary
from rlm_desktop.trajectory.tail import FileTailer, Notice, NoticeKind, TailBatch, TailUpdate
from rlm_desktop.trajectory.tail_follow import Follower, ListingUpdate

from .bridge import Bridge, Job

log = logging.getLogger(__name__)

APPLY_BUDGET_S = 0.008  # GUI time spent feeding records per event-loop turn
APPLY_SLICE = 8  # records per slice


class FollowController(QObject):
    """Follow a folder/file and keep live trajectories; all signals arrive on the GUI thread."""

    listing_changed = Signal(object)  # ListingUpdate: files added / changed / removed
    trajectory_updated = Signal(str, object)  # path, TailUpdate (the model has already changed)
    notice = Signal(object)  # Notice (truncated / replaced / deleted / error)
    following_changed = Signal(str)  # the followed path, "" when stopped
    error = Signal(str)  # following could not start

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        force_polling: bool | None = None,
        poll_interval: float = 0.5,
        running_window: float = RUNNING_WINDOW_S,
        safety_interval: float = 1.0,
    ) -> None:
        super().__init__(parent)
        self._opts = {
            "force_polling": force_polling,
            "poll_interval": poll_interval,
            "running_window": running_window,
            "safety_interval": safety_interval,
        }
        self.bridge = Bridge(self._on_bridge, self)  # the followers' threads -> GUI thread
        self._follower: Follower | None = None
        self._job: Job | None = None  # the folder follower's (its listings are tagged with it)
        self._file_followers: dict[str, Follower] = {}  # live files outside the followed folder
        self._file_jobs: dict[str, Job] = {}
        self._deleted: set[str] = set()  # followed files that were deleted (see is_deleted)
        self._queue: deque[TailBatch] = deque()
        self._drain_timer = QTimer(self)
        self._drain_timer.setSingleShot(True)
        self._drain_timer.setInterval(0)
        self._drain_timer.timeout.connect(self._drain)

    # -- following ------------------------------------------------------------------

    @property
    def target(self) -> str:
        return self._follower.target if self._follower else ""

    @property
    def follower(self) -> Follower | None:
        return self._follower

    def _make(self, path: str, recursive: bool, job: Job | None = None) -> Follower:
        """A follower whose callbacks post to the bridge. Listings of the folder follower
        are tagged with its ``job``: once another folder is followed they are dropped on
        arrival; a single live file's listings only settle its run."""
        post = self.bridge.post
        return Follower(
            path,
            recursive=recursive,
            on_listing=(lambda u: job.emit("listing", u)) if job is not None else (lambda u: post("side", u)),
            on_lines=lambda b: post("batch", b),
            on_notice=lambda n: post("notice", n),
            **self._opts,
        )

    def _adopt_file(self, path: str) -> Follower | None:
        own = self._make(path, False)
        try:
            own.start()
        except OSError as exc:
            self.error.emit(f"Cannot follow {path}: {exc.strerror or exc}")
            return None
        self._file_followers[path] = own
        self._file_jobs[path] = self.bridge.adopt("rlm-follow-file", own.stop)
        return own

    def follow(self, path: str | os.PathLike[str], recursive: bool = True) -> bool:
        """Follow a folder (its ``.jsonl`` files, recursively by default) or a single file.

        Returns False (and emits ``error``) when the path cannot be followed.
        """
        self.stop_following()
        job = self.bridge.job("rlm-follow")
        follower = self._make(os.fspath(path), recursive, job)
        try:
            follower.start()
        except OSError as exc:
            self.bridge.forget(job)
            self.error.emit(f"Cannot follow {os.fspath(path)}: {exc.strerror or exc}")
            return False
        job.set_cancel(follower.stop)
        self._follower, self._job = follower, job
        self.following_changed.emit(follower.target)
        return True

    def stop_following(self) -> None:
        """Stop following the folder; runs open live from it go on updating (each one is
        handed to a follower of its own, with its offset and model)."""
        follower, self._follower = self._follower, None
        job, self._job = self._job, None
        if follower is None:
            return
        if job is not None:
            job.discard()  # its listings still queued are dropped
            job.cancel()  # follower.stop()
            self.bridge.forget(job)
        for path, tailer in follower.tailed().items():
            if path in self._file_followers:
                continue
            own = self._adopt_file(path)
            if own is not None:
                own.tail(path, tailer)
        self._queue = deque(b for b in self._queue if self.live_trajectory(b.path) is not None)
        self.following_changed.emit("")

    def shutdown(self) -> None:
        """Stop every thread (call from the main window's closeEvent)."""
        self._follower = self._job = None
        self.bridge.shutdown()  # cancels (stops) and forgets every follower
        self._file_followers.clear()
        self._file_jobs.clear()
        self._queue.clear()

    def summary(self, path: str) -> RunSummary | None:
        return self._follower.summarizer.cached(os.path.abspath(path)) if self._follower else None

    # -- live trajectories ------------------------------------------------------

    def _owner(self, path: str) -> Follower | None:
        f = self._file_followers.get(path)
        if f is not None:
            return f
        if self._follower is not None and (
            path == self._follower.target
            or (not self._follower.is_file and path.startswith(self._follower.root + os.sep))
        ):
            return self._follower
        return None

    def open_live(self, path: str | os.PathLike[str]) -> Trajectory:
        """Start tailing ``path`` and return its Trajectory, which then grows in place on the
        GUI thread (``trajectory_updated`` after every change). Idempotent."""
        path = os.path.abspath(os.fspath(path))
        owner = self._owner(path)
        if owner is None:
            owner = self._adopt_file(path)
            if owner is None:
                return Trajectory(path=path)
        return owner.tail(path).trajectory

    def close_live(self, path: str | os.PathLike[str]) -> None:
        path = os.path.abspath(os.fspath(path))
        f = self._file_followers.pop(path, None)
        job = self._file_jobs.pop(path, None)
        if job is not None:
            job.cancel()  # f.stop()
            self.bridge.forget(job)
        elif f is not None:
            f.stop()
        elif self._follower is not None:
            self._follower.untail(path)
        self._queue = deque(b for b in self._queue if b.path != path)

    def live_trajectory(self, path: str) -> Trajectory | None:
        tailer = self._tailer(os.path.abspath(path))
        return tailer.trajectory if tailer else None

    def _tailer(self, path: str) -> FileTailer | None:
        owner = self._owner(path)
        return owner.tailer(path) if owner else None

    def finish_live(self, path: str) -> Trajectory | None:
        """The writer is known to be gone: settle a pending last line (see FileTailer.finish)."""
        tailer = self._tailer(os.path.abspath(path))
        return tailer.finish() if tailer else None

    # -- GUI-thread slots ---------------------------------------------------------

    def _on_bridge(self, job: Job | None, kind: str, payload: Any) -> None:
        if kind == "listing":
            if job is self._job:  # not a folder followed before
                self._settle_live(payload)
                self.listing_changed.emit(payload)
        elif kind == "side":
            self._settle_live(payload)
        elif kind == "batch":
            self._on_batch(payload)
        elif kind == "notice":
            self._on_notice(payload)

    def _settle_live(self, update: ListingUpdate) -> None:
        """A live file whose summary is no longer "running" (its writer stopped): its
        running run becomes incomplete (and running again if lines come after all)."""
        for s in update.added + update.changed:
            if s.status == RunStatus.RUNNING:
                continue
            tailer = self._tailer(s.path)
            if tailer is not None and tailer.set_stale():
                self.trajectory_updated.emit(s.path, TailUpdate(s.path, tailer.trajectory))

    def _on_notice(self, notice: Notice) -> None:
        """A deleted file's run is no longer running (nothing can write to it); it is
        ``is_deleted`` until a file of that name comes back."""
        path = notice.path
        if notice.kind == NoticeKind.DELETED:
            self._deleted.add(path)
            tailer = self._tailer(path)
            if tailer is not None and tailer.set_stale():
                self.trajectory_updated.emit(path, TailUpdate(path, tailer.trajectory))
        elif notice.kind == NoticeKind.REPLACED:
            self._deleted.discard(path)
        self.notice.emit(notice)

    def is_deleted(self, path: str) -> bool:
        return os.path.abspath(path) in self._deleted

    def _on_batch(self, batch: TailBatch) -> None:
        self._queue.append(batch)
        if not self._drain_timer.isActive():
            self._drain()

    def _drain(self) -> None:
        """Apply queued records until the time budget is used, then yield to the event loop."""
        deadline = time.perf_counter() + APPLY_BUDGET_S
        while self._queue and time.perf_counter() < deadline:
            batch = self._queue.popleft()
            tailer = self._tailer(batch.path)
            if tailer is None or batch.source is not tailer:
                continue  # closed (or re-opened) since it was read
            parts = batch.split(APPLY_SLICE)
            for i, part in enumerate(parts):
                update = tailer.apply(part)
                self.trajectory_updated.emit(batch.path, update)
                if i + 1 < len(parts) and time.perf_counter() >= deadline:
                    rest = parts[i + 1 :]
                    merged = rest[0]
                    for p in rest[1:]:
                        merged.records.extend(p.records)
                    self._queue.appendleft(merged)
                    break
        if self._queue:
            self._drain_timer.start()
