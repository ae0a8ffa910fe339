"""Host <-> REPL worker wire protocol (host-side helpers; the worker has its own copy).

Transport: ONE stream connection on a unix socket. The host listens on a path and
starts the worker with ``worker.py --connect PATH`` (or the frozen app with
``--repl-worker --connect PATH``); the worker connects. The same file and socket
work inside a container when the socket's directory is mounted. Where unix sockets
cannot cross (e.g. Docker Desktop's VM), ``--connect tcp://HOST:PORT`` makes the
worker connect over TCP instead (host: listen on 127.0.0.1 or the bridge; same frames).

Framing: every message is a 4-byte big-endian unsigned length followed by that
many bytes of UTF-8 JSON (one object). The worker writes with ``json.dumps``
(ASCII, NaN/Infinity allowed); readers must accept NaN/Infinity and lone
surrogate escapes. Both sides may send at any time; one sender lock per side.

Worker -> host:

* ``{"op": "hello", "protocol": 1, "pid": int}``: first frame after connecting.
* ``{"op": "ready", "error": str|null, "setup": RESULT|null}``: answer to ``init``
  (``setup`` is the result of ``setup_code`` when one was given).
* ``{"op": "subcall", "id": int, "kind": "llm"|"rlm", "prompts": [any],
  "model": str|null, "batched": bool}``: ``llm_query`` & co. The calling model
  thread blocks until the matching ``reply``. Several may be outstanding at once
  (model code can call from its own threads).
* ``{"op": "output", "id": int, "stdout": str, "stderr": str}``: new output of the
  running block ``id`` (about every 0.1 s while it prints; only the bounded head).
  For live display and so the host keeps it if the process dies; the ``result``
  still carries the whole (bounded) text.
* ``{"op": "result", "id": int, "stdout": str, "stderr": str, "locals": {..},
  "execution_time": float, "final_answer": str|null, "interrupted": bool,
  "ok": bool}``: the end of one ``exec``.

Host -> worker:

* ``{"op": "init", "context": any}`` or ``{"op": "init", "context_file": path,
  "context_format": "text"|"json"}``, plus optional ``"setup_code": str``,
  ``"memory_limit_mb": int``, ``"max_output": int``, ``"tail_output": int``.
  Sent once, right after ``hello``; the worker answers ``ready``.
* ``{"op": "exec", "id": int, "code": str}``: run one block (one at a time).
* ``{"op": "reply", "id": int, "responses": [str], "error": null}`` or
  ``{"op": "reply", "id": int, "error": str}``: the answer to a ``subcall``
  (an error becomes ``"Error: LM query failed - <error>"`` for every prompt).
* ``{"op": "interrupt", "message": str}``: interrupt the running block (SIGINT to
  the worker's main thread, only while model code runs). ``message`` (e.g.
  ``"TimeoutError: ..."``) ends the block's stderr. Ignored between blocks.
* ``{"op": "shutdown"}``: exit after the current command.

The worker exits as soon as the connection closes (the host is gone). The host
kills the worker's process group when a block ignores an interrupt.

The host trusts nothing the worker sends: model code runs in the worker and can write
any bytes to the connection. ``HostChannel.recv`` refuses a frame longer than
``max_frame`` without reading it, and ``check_frame`` refuses a frame of the wrong shape
(e.g. ``"prompts": 5``); either raises ``ProtocolError``, and the host then ends the
running block with that error and kills the worker.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from typing import Any

try:  # the host may use orjson; the worker always uses json
    import orjson
except ImportError:  # pragma: no cover
    orjson = None  # type: ignore[assignment]

PROTOCOL_VERSION = 1
HEADER = struct.Struct(">I")
#: The longest frame the host reads (a result carries at most ~4 MB of output per stream and
#: ~2 M characters of locals; JSON escapes can make that a few times longer in bytes).
MAX_FRAME = 64 * 1024 * 1024


class ProtocolError(ValueError):
    """The worker sent something that is not a valid frame."""


_STR_OR_NONE = (str, type(None))
_SHAPES: dict[str, dict[str, tuple[type, ...]]] = {
    "hello": {"protocol": (int,)},
    "ready": {"error": _STR_OR_NONE, "setup": (dict, type(None))},
    "subcall": {"id": (int,), "kind": (str,), "prompts": (list,), "model": _STR_OR_NONE, "batched": (bool,)},
    "output": {"id": (int,), "stdout": (str,), "stderr": (str,)},
    "result": {
        "id": (int,),
        "stdout": (str,),
        "stderr": (str,),
        "locals": (dict,),
        "execution_time": (int, float),
        "final_answer": _STR_OR_NONE,
    },
}
_OPTIONAL = {"model", "batched", "setup", "error", "final_answer", "execution_time", "locals"}


def check_frame(msg: Any) -> dict[str, Any]:
    """``msg`` if it is a frame of a known op with fields of the right types, else ProtocolError."""
    if not isinstance(msg, dict):
        raise ProtocolError(f"a frame must be a JSON object, not {type(msg).__name__}")
    op = msg.get("op")
    shape = _SHAPES.get(op) if isinstance(op, str) else None
    if shape is None:
        raise ProtocolError(f"unknown frame op {op!r:.80}")
    for key, types in shape.items():
        if key not in msg:
            if key in _OPTIONAL:
                continue
            raise ProtocolError(f"{op!r} frame without {key!r}")
        value = msg[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise ProtocolError(f"{op!r} frame with {key!r} of type {type(value).__name__}: {value!r:.80}")
    return msg


def encode(obj: Any) -> bytes:
    if orjson is not None:
        try:
            # orjson writes NaN as null and rejects lone surrogates: only use it when safe
            return orjson.dumps(obj)
        except (TypeError, orjson.JSONEncodeError):
            pass
    return json.dumps(obj).encode("utf-8")


#: Frames that only carry text; orjson may read them. Others (results with locals) go
#: through the stdlib, because orjson turns integers beyond 64 bits into floats and
#: rejects NaN/Infinity and lone surrogates, which REPL values do contain.
_FAST_PREFIXES = (b'{"op": "subcall"', b'{"op": "output"')


def decode(data: bytes) -> Any:
    if orjson is not None and data.startswith(_FAST_PREFIXES):
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass  # NaN/Infinity or lone surrogates: the stdlib reads them
    return json.loads(data)


class HostChannel:
    """Frames over the accepted connection. ``send`` is thread-safe; ``recv`` is used by
    one reader thread and returns None at end of stream."""

    def __init__(self, sock: socket.socket, max_frame: int = MAX_FRAME) -> None:
        self.sock = sock
        self.rfile = sock.makefile("rb", buffering=256 * 1024)
        self._lock = threading.Lock()
        self.max_frame = max_frame

    def send(self, obj: Any, *, exact: bool = False) -> None:
        """``exact``: use the stdlib encoder (keeps NaN/Infinity, e.g. in a context)."""
        data = json.dumps(obj).encode("utf-8") if exact else encode(obj)
        with self._lock:
            self.sock.sendall(HEADER.pack(len(data)) + data)

    def recv(self) -> Any | None:
        """The next frame, checked (``check_frame``); None at end of stream; ProtocolError
        for a frame that is too long, not JSON or of the wrong shape."""
        head = self.rfile.read(4)
        if len(head) < 4:
            return None
        (n,) = HEADER.unpack(head)
        if n > self.max_frame:
            raise ProtocolError(f"a frame of {n} bytes (more than the limit of {self.max_frame})")
        data = self.rfile.read(n)
        if len(data) < n:
            return None
        try:
            msg = decode(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProtocolError(f"a frame that is not JSON: {exc}") from None
        return check_frame(msg)

    def close(self) -> None:
        for f in (self.rfile.close, lambda: self.sock.shutdown(socket.SHUT_RDWR), self.sock.close):
            try:
                f()
            except OSError:
                pass
