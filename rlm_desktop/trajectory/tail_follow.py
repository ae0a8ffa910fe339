"""Follow a log file or a folder of logs as other processes write them (no Qt).

``Follower`` watches a file or a folder (optionally recursive) with watchdog
(inotify on Linux) and falls back to watchdog's polling observer where native
events are unavailable (or when asked: ``force_polling=True`` or the
environment variable ``RLM_DESKTOP_FORCE_POLLING=1``). File-system events
only mark paths dirty; one worker thread coalesces them (it waits until the
events pause for ``debounce`` seconds, but never longer than ``max_latency``
after the first one) and then does all the work, so a burst of 100 appends is
one update. The worker:

* keeps a ``RunSummary`` per ``.jsonl`` file (``run_summary.RunSummarizer``)
  and reports added / changed / removed files through ``on_listing``; the
  first listing of an existing folder comes in chunks, newest files first;
* reads the files that are being tailed (``tail(path)``) with their
  ``FileTailer`` and reports each non-empty ``TailBatch`` (or, with
  ``auto_apply=True``, the ``TailUpdate`` after applying it in the worker)
  through ``on_lines``;
* reports ``Notice`` objects (truncated / replaced / deleted) through ``on_notice``;
* re-checks tailed files every ``safety_interval`` seconds (events can be
  missed on network file systems) and turns "running" files that stopped
  changing into "incomplete".

Callbacks run on the worker thread, never under a lock; they must not block
for long (a GUI re-emits them as queued signals). ``stop()`` joins both the
observer and the worker thread.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from .run_summary import RUNNING_WINDOW_S, RunSummarizer, RunSummary
from .tail import FileTailer, Notice, NoticeKind, TailBatch, TailUpdate

log = logging.getLogger(__name__)

SUFFIX = ".jsonl"
LISTING_CHUNK = 200  # summaries per initial-listing callback
#: only these reach Python: our own reads (open / close-no-write / access) would
#: otherwise flood watchdog's threads with events while a big folder is summarised
EVENT_FILTER = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirMovedEvent,
    DirDeletedEvent,
]


@dataclass
class ListingUpdate:
    added: list[RunSummary] = field(default_factory=list)
    changed: list[RunSummary] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    initial: bool = False  # part of the first scan of the folder
    initial_done: bool = False  # the first scan is complete

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.initial_done)


def _polling_forced() -> bool:
    return os.environ.get("RLM_DESKTOP_FORCE_POLLING", "").strip() not in ("", "0", "false", "no")


class _Handler(FileSystemEventHandler):
    def __init__(self, follower: Follower) -> None:
        self._f = follower

    def on_any_event(self, event: FileSystemEvent) -> None:
        src = os.fsdecode(event.src_path)
        dest = os.fsdecode(event.dest_path) if event.dest_path else ""
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory:
            if event.event_type in ("created", "moved"):
                self._f._mark_dir(dest or src)
            if event.event_type in ("deleted", "moved"):
                self._f._mark_known_under(src)  # its files went with it
            return
        self._f._mark(src)
        if dest:
            self._f._mark(dest)


class Follower:
    """Follow a file or folder; see the module docs. Use as a context manager or start()/stop()."""

    def __init__(
        self,
        target: str | os.PathLike[str],
        *,
        recursive: bool = False,
        force_polling: bool | None = None,
        poll_interval: float = 0.5,
        debounce: float = 0.015,
        max_latency: float = 0.04,
        safety_interval: float = 1.0,
        running_window: float = RUNNING_WINDOW_S,
        auto_apply: bool = False,
        on_listing: Callable[[ListingUpdate], Any] | None = None,
        on_lines: Callable[[TailBatch | TailUpdate], Any] | None = None,
        on_notice: Callable[[Notice], Any] | None = None,
    ) -> None:
        self.target = os.path.abspath(os.fspath(target))
        self.is_file = not os.path.isdir(self.target)
        self.root = os.path.dirname(self.target) if self.is_file else self.target
        self.recursive = recursive and not self.is_file
        self.force_polling = _polling_forced() if force_polling is None else force_polling
        self.poll_interval = poll_interval
        self.debounce = debounce
        self.max_latency = max_latency
        self.safety_interval = safety_interval
        self.auto_apply = auto_apply
        self.on_listing = on_listing
        self.on_lines = on_lines
        self.on_notice = on_notice
        self.summarizer = RunSummarizer(running_window)
        self.polling = False  # set by start(): True when the polling observer is used
        self.updates = 0  # worker passes that did any work (for tests/benchmarks)
        self._cond = threading.Condition()
        self._dirty: set[str] = set()
        self._dirty_dirs: set[str] = set()
        self._first_event = 0.0
        self._last_event = 0.0
        self._stop = False
        self._tailers: dict[str, FileTailer] = {}
        self._observer: Any = None
        self._worker: threading.Thread | None = None

    # -- public API (any thread) -------------------------------------------------

    def start(self) -> Follower:
        if not os.path.isdir(self.root):
            raise FileNotFoundError(f"no such folder: {self.root}")
        self._observer = self._start_observer()
        self._worker = threading.Thread(target=self._run, name="rlm-follow", daemon=True)
        self._worker.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        obs, self._observer = self._observer, None
        if obs is not None:
            try:
                obs.stop()
                obs.join(timeout)
            except Exception:  # pragma: no cover - watchdog shutting down
                log.exception("stopping the file observer failed")
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)

    @property
    def running(self) -> bool:
        return self._worker is not None and self._worker.is_alive()

    def __enter__(self) -> Follower:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def tail(self, path: str | os.PathLike[str], tailer: FileTailer | None = None) -> FileTailer:
        """Start reading ``path`` line by line (its model grows as lines arrive).

        ``tailer``: go on with an existing tailer (its offset and model), e.g. one
        taken over from another follower that was stopped."""
        path = os.path.abspath(os.fspath(path))
        with self._cond:
            current = self._tailers.get(path)
            if current is None or (tailer is not None and tailer is not current):
                current = self._tailers[path] = tailer if tailer is not None else FileTailer(path)
            self._mark_locked(path)
        return current

    def tailed(self) -> dict[str, FileTailer]:
        with self._cond:
            return dict(self._tailers)

    def untail(self, path: str | os.PathLike[str]) -> None:
        with self._cond:
            self._tailers.pop(os.path.abspath(os.fspath(path)), None)

    def tailer(self, path: str) -> FileTailer | None:
        with self._cond:
            return self._tailers.get(os.path.abspath(path))

    def poke(self, path: str | None = None) -> None:
        """Mark a path (or everything tailed) dirty, as if an event came."""
        with self._cond:
            for p in [path] if path else list(self._tailers):
                self._mark_locked(os.path.abspath(p))

    # -- events (observer thread) ------------------------------------------------

    def _wanted(self, path: str) -> bool:
        if self.is_file:
            return path == self.target
        if not path.endswith(SUFFIX):
            return False
        if self.recursive:
            return path.startswith(self.root + os.sep)
        return os.path.dirname(path) == self.root

    def _mark(self, path: str) -> None:
        with self._cond:
            if self._wanted(path) or path in self._tailers:
                self._mark_locked(path)

    def _mark_locked(self, path: str) -> None:
        now = time.monotonic()
        if not self._dirty and not self._dirty_dirs:
            self._first_event = now
        self._last_event = now
        self._dirty.add(path)
        self._cond.notify_all()

    def _mark_known_under(self, folder: str) -> None:
        prefix = folder.rstrip(os.sep) + os.sep
        for path in self.summarizer.known():
            if path.startswith(prefix):
                self._mark(path)

    def _mark_dir(self, path: str) -> None:
        if not self.recursive:
            return
        with self._cond:
            now = time.monotonic()
            if not self._dirty and not self._dirty_dirs:
                self._first_event = now
            self._last_event = now
            self._dirty_dirs.add(path)
            self._cond.notify_all()

    def _start_observer(self) -> Any:
        handler = _Handler(self)
        if not self.force_polling:
            obs = Observer()
            try:
                obs.schedule(handler, self.root, recursive=self.recursive, event_filter=EVENT_FILTER)
                obs.start()
                self.polling = False
                return obs
            except OSError as exc:  # inotify limits, unsupported file system
                log.warning("native file events unavailable (%s); polling instead", exc)
                try:
                    obs.stop()
                except Exception:  # pragma: no cover
                    pass
        obs = PollingObserver(timeout=self.poll_interval)
        obs.schedule(handler, self.root, recursive=self.recursive, event_filter=EVENT_FILTER)
        obs.start()
        self.polling = True
        return obs

    # -- worker --------------------------------------------------------------------

    def _emit(self, fn: Callable[[Any], Any] | None, arg: Any) -> None:
        if fn is None:
            return
        try:
            fn(arg)
        except Exception:
            log.exception("follower callback failed")

    def _scan_dir(self, root: str) -> list[str]:
        found: list[tuple[float, str]] = []
        stack = [root]
        while stack:
            d = stack.pop()
            try:
                with os.scandir(d) as it:
                    for e in it:
                        try:
                            if e.is_dir(follow_symlinks=False):
                                if self.recursive:
                                    stack.append(e.path)
                            elif e.name.endswith(SUFFIX) and e.is_file():
                                found.append((e.stat().st_mtime, e.path))
                        except OSError:
                            continue
            except OSError:
                continue
        found.sort(reverse=True)  # newest first
        return [p for _, p in found]

    def _initial_listing(self) -> None:
        paths = [self.target] if self.is_file and os.path.exists(self.target) else []
        if not self.is_file:
            paths = self._scan_dir(self.root)
        chunk: list[RunSummary] = []
        t_last = time.monotonic()
        for path in paths:
            if self._stop:
                return
            summary, _ = self.summarizer.summarize(path)
            if summary is not None:
                chunk.append(summary)
            if len(chunk) >= LISTING_CHUNK or (chunk and time.monotonic() - t_last > 0.1):
                self._emit(self.on_listing, ListingUpdate(added=chunk, initial=True))
                chunk, t_last = [], time.monotonic()
        self._emit(self.on_listing, ListingUpdate(added=chunk, initial=True, initial_done=True))

    def _run(self) -> None:
        try:
            self._initial_listing()
            next_safety = time.monotonic() + self.safety_interval
            while True:
                with self._cond:
                    while not self._stop and not (self._dirty or self._dirty_dirs):
                        wait = next_safety - time.monotonic()
                        if wait <= 0:
                            break
                        self._cond.wait(wait)
                    # coalesce: wait for a pause in the events, bounded by max_latency
                    while not self._stop and (self._dirty or self._dirty_dirs):
                        now = time.monotonic()
                        deadline = min(self._last_event + self.debounce, self._first_event + self.max_latency)
                        if now >= deadline:
                            break
                        self._cond.wait(deadline - now)
                    if self._stop:
                        return
                    dirty, self._dirty = self._dirty, set()
                    dirs, self._dirty_dirs = self._dirty_dirs, set()
                    tailers = dict(self._tailers)
                for d in dirs:
                    dirty.update(self._scan_dir(d))
                if time.monotonic() >= next_safety:
                    next_safety = time.monotonic() + self.safety_interval
                    dirty.update(tailers)
                    periodic = True
                else:
                    periodic = False
                if dirty or periodic:
                    self._process(dirty, tailers, periodic)
        except Exception:  # pragma: no cover - keep the failure visible
            log.exception("follower worker crashed")

    def _process(self, dirty: set[str], tailers: dict[str, FileTailer], periodic: bool) -> None:
        listing = ListingUpdate()
        worked = False
        for path in sorted(dirty):
            tailer = tailers.get(path)
            if tailer is not None:
                batch = tailer.read()
                if batch.more:  # a big file: go on at once, in the next pass
                    with self._cond:
                        self._mark_locked(path)
                        self._first_event -= self.max_latency
                if batch:
                    worked = True
                    for n in batch.notices:
                        self._emit(self.on_notice, n)
                    self._emit(self.on_lines, tailer.apply(batch) if self.auto_apply else batch)
            if not self._wanted(path):
                continue
            known = self.summarizer.cached(path) is not None
            before = self.summarizer.cached(path)
            summary, notices = self.summarizer.summarize(path)
            if tailer is None:
                for n in notices:
                    self._emit(self.on_notice, n)
            if summary is None:
                if known:
                    listing.removed.append(path)
                    if tailer is None:  # a tailed file reports it itself
                        self._emit(self.on_notice, Notice(path, NoticeKind.DELETED, "the file was deleted"))
            elif not known:
                listing.added.append(summary)
            elif summary != before:
                listing.changed.append(summary)
        if periodic:
            listing.changed.extend(self.summarizer.refresh_status())
        if listing:
            worked = True
            self._emit(self.on_listing, listing)
        if worked:
            self.updates += 1
