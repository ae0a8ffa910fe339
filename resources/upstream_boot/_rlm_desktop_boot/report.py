"""Telling the app (stdlib only): the process's channel, events and checkpoints, notes.

``emit(kind, run, wait=True)`` sends one engine event of ``run``; at a checkpoint (``wait``)
it blocks this thread until the app answers: go on (None), run an edited response (its
text), or stop (``StopRequested`` is raised here; the root is remembered as stopped).
Terminal events never raise. With no app (a closed channel) nothing is sent.
"""

from __future__ import annotations

import threading
import time

from .channel import Channel

STOP_REASON = "stopped in rlm-desktop"

_channel = None
_chan_lock = threading.Lock()
_lock = threading.Lock()
_stopped_roots = set()
_reported = set()


class StopRequested(KeyboardInterrupt):
    """The app asked to stop the completion (upstream treats it as Ctrl+C)."""



def chan():
    global _channel
    if _channel is None:
        with _chan_lock:
            if _channel is None:
                _channel = Channel()
    return _channel


def rlms_version():
    try:
        from importlib.metadata import version

        return version("rlms")
    except Exception:  # noqa: BLE001
        return "unknown"


def live():
    ch = chan()
    if ch.closed:
        return False
    return ch.ensure({"rlms_version": rlms_version()})


def emit(kind, run, wait=True, terminal=False, **fields):
    """Report ``kind``; at a checkpoint (``wait``) return an edited text or None, or raise
    ``StopRequested``."""
    ch = chan()
    if ch.closed:
        return None
    th = threading.current_thread()
    msg = {"t": "cp" if wait else "ev", "kind": kind, "th": th.ident, "tn": th.name,
           "run_id": run.run_id, "parent_id": run.parent_id, "depth": run.depth,
           "iteration": run.iteration, "time": time.time()}
    msg.update(fields)
    if terminal:
        msg["terminal"] = True
    if not wait:
        ch.send(msg)
        return None
    answer = ch.ask(msg)
    if not answer:
        return None
    action = answer.get("action")
    if action == "stop" and not terminal:
        with _lock:
            _stopped_roots.add(run.root_id)
        raise StopRequested(STOP_REASON)
    if action == "edit" and isinstance(answer.get("text"), str):
        return answer["text"]
    return None


def note(kind, **fields):
    ch = chan()
    if ch.ensure({"rlms_version": rlms_version()}):
        ch.send(dict(fields, t=kind))


def report_problem(text):
    if text in _reported:
        return
    _reported.add(text)
    note("problem", text=text)


def is_stopped(root_id):
    return root_id in _stopped_roots


def forget_root(root_id):
    with _lock:
        _stopped_roots.discard(root_id)
