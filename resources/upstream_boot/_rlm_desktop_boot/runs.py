"""Where the program is (stdlib only): the runs each thread is in, the block running in each
REPL environment, and the sub-calls announced to a parent RLM but not started yet."""

from __future__ import annotations

import itertools
import os
import threading

from . import values

UNTRACKED = object()  # a child RLM that no announced sub-call made: it runs without us

_tl = threading.local()
_seq = itertools.count(1)
_lock = threading.Lock()
_env_blocks = {}  # id(environment) -> Block running in it
_slots = {}  # (id(parent RLM), id(prompt)) -> [Slot]: sub-calls announced, not yet started


class Run:
    __slots__ = ("run_id", "parent_id", "depth", "rlm", "model", "iteration", "blocks", "root_id",
                 "final_block", "sent_msgs", "sent_n", "sent_locals")

    def __init__(self, run_id, parent_id, depth, rlm, root_id):
        self.run_id = run_id
        self.parent_id = parent_id
        self.depth = depth
        self.rlm = rlm
        self.model = values.model_of(rlm)
        self.iteration = 0
        self.blocks = 0
        self.root_id = root_id
        self.final_block = None
        self.sent_msgs = None  # the history list last sent, and how much of it: only the new
        self.sent_n = 0  # messages go over the channel (upstream appends to one list)
        self.sent_locals = {}  # REPL values last sent: immutable ones still the same object go by name


class Block:
    __slots__ = ("run", "index", "calls", "live", "_lock")

    def __init__(self, run, index):
        self.run = run
        self.index = index
        self.calls = itertools.count()
        self.live = 0
        self._lock = threading.Lock()

    def next_call(self):
        with self._lock:
            self.live += 1
            return next(self.calls)


class Slot:
    __slots__ = ("child_id", "parent", "spawned_at", "completion")

    def __init__(self, child_id, parent, spawned_at):
        self.child_id = child_id
        self.parent = parent
        self.spawned_at = spawned_at
        self.completion = None


def new_root_id():
    return f"{os.getpid()}-{next(_seq)}"


def take_child():
    """The sub-call slot this thread's next ``RLM.completion`` is the child run of (once)."""
    slot = getattr(_tl, "child", None)
    _tl.child = None
    return slot


def give_child(slot):
    """Hand ``slot`` to the next completion on this thread; returns what was there."""
    previous = getattr(_tl, "child", None)
    _tl.child = slot
    return previous


def stack():
    s = getattr(_tl, "runs", None)
    if s is None:
        s = _tl.runs = []
    return s


def current(rlm):
    for r in reversed(stack()):
        if r.rlm is rlm:
            return r
    return None


def enter_block(env, block):
    with _lock:
        previous = _env_blocks.get(id(env))
        _env_blocks[id(env)] = block
    return previous


def leave_block(env, previous):
    with _lock:
        if previous is None:
            _env_blocks.pop(id(env), None)
        else:
            _env_blocks[id(env)] = previous


def block_of(env):
    with _lock:
        return _env_blocks.get(id(env))


def take_slot(rlm, prompt):
    with _lock:
        queue = _slots.get((id(rlm), id(prompt)))
        if not queue:
            return None
        slot = queue.pop(0)
        if not queue:
            del _slots[(id(rlm), id(prompt))]
        return slot


def put_slot(rlm, prompt, slot):
    with _lock:
        _slots.setdefault((id(rlm), id(prompt)), []).append(slot)


def drop_slot(rlm, prompt, slot):
    with _lock:
        queue = _slots.get((id(rlm), id(prompt)))
        if queue and slot in queue:
            queue.remove(slot)
            if not queue:
                del _slots[(id(rlm), id(prompt))]
