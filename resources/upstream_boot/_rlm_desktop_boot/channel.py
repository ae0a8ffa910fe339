"""The program's end of the local channel to the app (stdlib only).

One connection per process, opened when the first event is sent (after a fork the
child opens its own). Messages are JSON lines. The app answers ``hello`` with
``{"wait": bool}``; when ``wait`` is false (headless runs) checkpoints are sent
without waiting. ``ask`` sends a checkpoint and blocks only this thread until the
app answers; when the connection closes (the app quit or was killed) every waiting
thread is let go and the channel stays closed: the program goes on at full speed.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import sys
import threading

ADDRESS_VAR = "RLM_DESKTOP_DEBUG"
TOKEN_VAR = "RLM_DESKTOP_DEBUG_TOKEN"
CONNECT_TIMEOUT = 10.0


class _Waiter:
    __slots__ = ("event", "answer")

    def __init__(self):
        self.event = threading.Event()
        self.answer = None


class Channel:
    def __init__(self, address=None, token=None):
        self.address = address if address is not None else os.environ.get(ADDRESS_VAR, "")
        self.token = token if token is not None else os.environ.get(TOKEN_VAR, "")
        self._reset()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self):
        old = getattr(self, "_sock", None)
        if old is not None:  # a forked child: its copy of the parent's connection is not its own
            try:
                old.close()
            except OSError:
                pass
        self._lock = threading.Lock()  # one writer at a time; also guards connecting
        self._sock = None
        self._tried = False
        self.closed = not self.address
        self.wait = True
        self._ids = itertools.count(1)
        self._waiters = {}
        self._wlock = threading.Lock()

    # -- connecting --------------------------------------------------------------------

    def _open(self):
        kind, _, where = self.address.partition(":")
        if kind == "unix":
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            target = where
        elif kind == "tcp":
            host, _, port = where.rpartition(":")
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            target = (host, int(port))
        else:
            raise OSError(f"unknown channel address {self.address!r}")
        sock.settimeout(CONNECT_TIMEOUT)
        sock.connect(target)
        return sock

    def _connect_locked(self, hello):
        self._tried = True
        try:
            sock = self._open()
            msg = dict(hello, t="hello", token=self.token, pid=os.getpid(), ppid=os.getppid(),
                       argv=list(sys.argv), executable=sys.executable)
            sock.sendall(_encode(msg))
            reply = _readline(sock)
            sock.settimeout(None)
        except (OSError, ValueError):
            self.closed = True
            return False
        if not reply or not reply.get("ok"):
            self.closed = True
            try:
                sock.close()
            except OSError:
                pass
            return False
        self.wait = bool(reply.get("wait", True))
        self._sock = sock
        t = threading.Thread(target=self._read_loop, args=(sock,), name="rlm-desktop-channel", daemon=True)
        t.start()
        return True

    def ensure(self, hello):
        """Connect (once per process) with the ``hello`` fields; False when there is no app."""
        if self.closed:
            return False
        if self._sock is not None:
            return True
        with self._lock:
            if self._sock is None and not self._tried:
                self._connect_locked(hello)
        return self._sock is not None and not self.closed

    # -- sending -------------------------------------------------------------------------

    def send(self, msg):
        if self.closed or self._sock is None:
            return False
        data = _encode(msg)
        try:
            with self._lock:
                self._sock.sendall(data)
        except OSError:
            self._close()
            return False
        return True

    def ask(self, msg):
        """Send a checkpoint and wait for the answer (a dict), or None: go on."""
        if self.closed or self._sock is None:
            return None
        if not self.wait:
            self.send(msg)
            return None
        waiter = _Waiter()
        with self._wlock:
            n = next(self._ids)
            self._waiters[n] = waiter
        msg["id"] = n
        if not self.send(msg):
            with self._wlock:
                self._waiters.pop(n, None)
            return None
        while not waiter.event.wait(0.5):
            if self.closed:
                break
        with self._wlock:
            self._waiters.pop(n, None)
        return waiter.answer

    # -- reading -------------------------------------------------------------------------

    def _read_loop(self, sock):
        buf = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    try:
                        msg = json.loads(line)
                    except ValueError:
                        continue
                    if msg.get("t") == "ans":
                        with self._wlock:
                            w = self._waiters.get(msg.get("id"))
                        if w is not None:
                            w.answer = msg
                            w.event.set()
        except OSError:
            pass
        self._close()

    def _close(self):
        self.closed = True
        with self._wlock:
            waiters = list(self._waiters.values())
        for w in waiters:
            w.event.set()
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _encode(msg):
    return (json.dumps(msg, default=_fallback) + "\n").encode("ascii")


def _fallback(value):
    try:
        return repr(value)
    except Exception:  # noqa: BLE001
        return f"<{type(value).__name__}>"


def _readline(sock):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = sock.recv(4096)
        if not chunk:
            return None
        buf += chunk
    return json.loads(buf)
