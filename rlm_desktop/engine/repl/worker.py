"""The REPL worker: runs model-written Python blocks in one persistent namespace.

ONE stdlib-only file, runnable as ``python3 worker.py --connect SOCKET_PATH`` (or
imported, e.g. by the frozen app's ``--repl-worker`` flag or the in-process REPL,
which reuses ``Repl``). The wire protocol is described in ``protocol.py``.

Semantics (upstream ``rlms`` facts, our own code):

* ``context`` holds the context (no ``context_0`` copy: it would double every log
  line); rebinding ``context`` in a block does not stick. ``llm_query``/``rlm_query`` and batched forms send one request to
  the host and block until it answers; failures come back as ``"Error: ..."``.
* An exception sets stderr to what was printed there plus ``"\\n<Type>: <message>"``;
  stdout printed before it stays. Variables (re)bound by a failed block are rolled
  back, as upstream drops them (objects mutated in place stay mutated).
* ``answer["ready"] = True`` (or ``answer.update(...)``, or rebinding ``answer`` to
  a dict with a true ``ready``) finishes: ``final_answer = str(answer["content"])``.
  ``FINAL_VAR(name_or_value)`` (older prompts) does the same.
* ``SHOW_VARS()`` returns a listing of the user's variables; a block whose last
  statement is a bare ``SHOW_VARS()`` prints it.
* Output is captured per block and bounded (head + tail kept, with a note).
"""

from __future__ import annotations

import ast
import io
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import types

PROTOCOL_VERSION = 1
MAX_OUTPUT = 4 * 1024 * 1024  # characters kept from the start of one block's stream
TAIL_OUTPUT = 64 * 1024  # characters kept from its end once the head is full
LIVE_INTERVAL = 0.1  # seconds between live output frames of a running block
VALUE_LIMIT = 256 * 1024  # characters kept of one string (or repr) in the serialised locals
LOCALS_BUDGET = 2 * 1024 * 1024  # characters of all serialised locals of one block together
ITEMS_LIMIT = 10_000  # items kept of one list/tuple/dict in the serialised locals
_HEADER = struct.Struct(">I")
HELPER_NAMES = ("llm_query", "llm_query_batched", "rlm_query", "rlm_query_batched", "SHOW_VARS", "FINAL_VAR")


# -- serialising locals (upstream rules; cycles and very deep nesting guarded) ----------------


class _Budget:
    """Characters left for one namespace's serialised locals (shared by every value)."""

    __slots__ = ("items", "left", "value_limit")

    def __init__(self, left, value_limit=VALUE_LIMIT, items=ITEMS_LIMIT):
        self.left = left
        self.value_limit = value_limit
        self.items = items

    def text(self, s):
        n = len(s)
        keep = min(n, self.value_limit, max(0, self.left))
        self.left -= keep
        if keep < n:
            return s[:keep] + f"... [{n - keep} more characters not shown]"
        return s


def serialize_value(value, _seen=None, _depth=0, _budget=None):
    """Upstream's rules, bounded: strings and reprs are cut at ``VALUE_LIMIT`` characters,
    containers at ``ITEMS_LIMIT`` items, and a shared ``_budget`` caps the whole namespace
    (a 400 MB variable must not become a 400 MB frame, log line and app-side copy)."""
    if _budget is None:
        _budget = _Budget(LOCALS_BUDGET)
    if value is None or isinstance(value, (bool, float)):
        return value
    if isinstance(value, int):
        if value.bit_length() > 4 * VALUE_LIMIT:  # str() of it would take very long
            return f"<int of {value.bit_length()} bits>"
        return value
    if isinstance(value, str):
        return _budget.text(value)
    if isinstance(value, types.ModuleType):
        return f"<module '{value.__name__}'>"
    if isinstance(value, (list, tuple, dict)):
        if _seen is None:
            _seen = set()
        if id(value) in _seen or _depth > 200:
            return "[...]" if not isinstance(value, dict) else "{...}"
        if _budget.left <= 0:
            return f"<{type(value).__name__} of {len(value)} items: not shown, the locals are too large>"
        _seen.add(id(value))
        try:
            limit = _budget.items
            more = len(value) - limit
            if isinstance(value, dict):
                out: dict[str, object] = {}
                for i, (k, v) in enumerate(list(value.items())):
                    if i >= limit:
                        out["..."] = f"[{more} more items not shown]"
                        break
                    out[_budget.text(str(k))] = serialize_value(v, _seen, _depth + 1, _budget)
                return out
            items = list(value[:limit]) if more > 0 else list(value)
            listed = [serialize_value(v, _seen, _depth + 1, _budget) for v in items]
            if more > 0:
                listed.append(f"... [{more} more items not shown]")
            return listed
        finally:
            _seen.discard(id(value))
    try:
        if callable(value):
            return _budget.text(f"<{type(value).__name__} '{getattr(value, '__name__', None) or repr(value)}'>")
        if _budget.left <= 0:
            return f"<{type(value).__name__}: not shown, the locals are too large>"
        return _budget.text(repr(value))
    except Exception:  # a broken __repr__ must not stop the block's result
        return f"<{type(value).__name__}>"


def bound_locals(locs):
    """The host's check of locals a worker sent (model code can forge them): the same caps,
    with room for the notes the worker's own cuts added (so honest locals pass unchanged)."""
    if not isinstance(locs, dict):
        return {}
    return serialize_value(locs, None, 0, _Budget(LOCALS_BUDGET + 64 * 1024, VALUE_LIMIT + 64, ITEMS_LIMIT + 1))


def serialize_namespace(ns, budget=None):
    budget = _Budget(LOCALS_BUDGET if budget is None else budget)
    out = {}
    for k, v in list(ns.items()):
        if k.startswith("_") or k in HELPER_NAMES or k == "__builtins__":
            continue
        out[k] = serialize_value(v, None, 0, budget)
    return out


# -- bounded output capture -----------------------------------------------------------------------


class Capture(io.TextIOBase):
    """A write-only text stream that keeps the first ``limit`` characters and the last
    ``tail`` ones of what is written between ``begin()`` and ``end()``."""

    _taken: int
    _head: list[str]

    def __init__(self, name, limit=MAX_OUTPUT, tail=TAIL_OUTPUT, tee=None):
        super().__init__()
        self.name = name
        self.limit = limit
        self.tail_limit = tail
        #: ``tee(text)``: also called with every head write, at once (see ``Tee``)
        self.tee = tee
        self._lock = threading.Lock()
        self.begin()

    def take_new(self):
        """What was written to the head since the last call (live output; the tail is
        only in ``end()``)."""
        with self._lock:
            if self._taken >= len(self._head):
                return ""
            new = self._head[self._taken :]
            self._taken = len(self._head)
        return "".join(new)

    def begin(self):
        with self._lock:
            self._taken = 0
            self._head = []
            self._size = 0
            self._tail = []
            self._tail_size = 0
            self._dropped = 0

    def writable(self):
        return True

    def isatty(self):
        return False

    @property
    def encoding(self):  # type: ignore[override]  # fixed: read-only on this stream
        return "utf-8"

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError(f"write() argument must be str, not {type(s).__name__}")
        n = len(s)
        with self._lock:
            room = self.limit - self._size
            if room > 0:
                tee = self.tee
                if n <= room:
                    self._head.append(s)
                    self._size += n
                    if tee is not None:
                        tee(s)
                    return n
                self._head.append(s[:room])
                self._size += room
                if tee is not None:
                    tee(s[:room])
                s = s[room:]
            self._tail.append(s)
            self._tail_size += len(s)
            if self._tail_size > 2 * self.tail_limit:
                joined = "".join(self._tail)
                cut = len(joined) - self.tail_limit
                self._dropped += cut
                self._tail = [joined[cut:]]
                self._tail_size = self.tail_limit
        return n

    def end(self):
        with self._lock:
            text = "".join(self._head)
            if self._tail:
                tail = "".join(self._tail)
                dropped = self._dropped
                if len(tail) > self.tail_limit:
                    dropped += len(tail) - self.tail_limit
                    tail = tail[-self.tail_limit :]
                if dropped:
                    text += f"\n[... {dropped} characters of output dropped ...]\n"
                text += tail
        self.begin()
        return text


class Tee:
    """Copies captured output to an inherited pipe as it is written, so that output printed
    just before a crash (segfault, ``os._exit``) reaches the host: bytes in a pipe outlive
    the writer. Records: ``b"B"`` + block id, or ``b"o"``/``b"e"`` + text, each as one byte,
    a 4-byte big-endian length and the UTF-8 payload."""

    def __init__(self, fd):
        self.fd = fd
        self._lock = threading.Lock()
        self.broken = False

    def _put(self, kind, payload):
        if self.broken:
            return
        data = kind + _HEADER.pack(len(payload)) + payload
        with self._lock:
            try:
                while data:
                    data = data[os.write(self.fd, data) :]
            except OSError:
                self.broken = True

    def block(self, bid):
        self._put(b"B", str(bid).encode())

    def stream(self, kind):
        return lambda text: self._put(kind, text.encode("utf-8", "surrogatepass"))


# -- the answer dict ------------------------------------------------------------------------------


class AnswerDict(dict):
    """``answer``: setting ``ready`` to a true value reports ``content`` as the final answer."""

    def __init__(self, on_ready, items=None):
        super().__init__(content="", ready=False)
        if items:
            dict.update(self, items)
        self._on_ready = on_ready

    def __setitem__(self, key, value):
        super().__setitem__(key, value)
        if key == "ready" and value:
            self._on_ready(self.get("content", ""))


# -- the REPL (transport independent) -------------------------------------------------------------


class Interrupted(BaseException):
    pass


class Repl:
    """A persistent namespace plus the helpers. ``request(kind, prompts, model, batched)``
    returns one string per prompt (it reaches the host)."""

    def __init__(self, request, stdout=None, stderr=None, redirect=True):
        self._request = request
        self.redirect = redirect  # swap sys.stdout/sys.stderr during a block (False: the caller routes)
        self.out = stdout or Capture("<stdout>")
        self.err = stderr or Capture("<stderr>")
        self.final = None
        self.interrupt_reason = None
        self._context = None
        self._has_context = False
        self.ns = {"__name__": "__main__", "__builtins__": __builtins__}
        self._install_helpers()
        self.ns["answer"] = AnswerDict(self._set_final)

    # helpers visible to the model
    def _install_helpers(self):
        self.helpers = {
            "llm_query": self.llm_query,
            "llm_query_batched": self.llm_query_batched,
            "rlm_query": self.rlm_query,
            "rlm_query_batched": self.rlm_query_batched,
            "SHOW_VARS": self.show_vars,
            "FINAL_VAR": self.final_var,
        }
        self.ns.update(self.helpers)

    def _set_final(self, content):
        if self.final is None:
            self.final = str(content)

    def _call(self, kind, prompts, model, batched):
        label = "RLM" if kind == "rlm" else "LM"
        try:
            answers = self._request(kind, prompts, model, batched)
        except (KeyboardInterrupt, Interrupted):
            raise
        except Exception as exc:  # transport problems become strings, as upstream
            return [f"Error: {label} query failed - {exc}"] * len(prompts)
        return [a if isinstance(a, str) else str(a) for a in answers]

    @staticmethod
    def _prompt_list(prompts, fn):
        if isinstance(prompts, (str, bytes, dict)):
            raise TypeError(f"{fn}() expects a list of prompts, got {type(prompts).__name__}")
        return list(prompts)

    def llm_query(self, prompt, model=None):
        return self._call("llm", [prompt], model, False)[0]

    def llm_query_batched(self, prompts, model=None):
        prompts = self._prompt_list(prompts, "llm_query_batched")
        return self._call("llm", prompts, model, True) if prompts else []

    def rlm_query(self, prompt, model=None):
        return self._call("rlm", [prompt], model, False)[0]

    def rlm_query_batched(self, prompts, model=None):
        prompts = self._prompt_list(prompts, "rlm_query_batched")
        return self._call("rlm", prompts, model, True) if prompts else []

    def show_vars(self):
        found = {
            k: type(v).__name__
            for k, v in self.ns.items()
            if not k.startswith("_") and k not in self.helpers and k != "answer"
        }
        if not found:
            return "No variables created yet. Use ```repl``` blocks to create variables."
        return f"Available variables: {found}"

    def final_var(self, name_or_value):
        value = name_or_value
        if isinstance(name_or_value, str):
            key = name_or_value.strip().strip("'\"")
            if key.isidentifier() and key in self.ns:
                value = self.ns[key]
        text = str(value)
        self.final = text
        return text

    # context and setup
    def load_context(self, context):
        # only ``context`` (upstream also binds ``context_0``, a second copy in every log line)
        self._context = context
        self._has_context = True
        self.ns["context"] = context

    def _restore_scaffold(self, answer_was_ready):
        self.ns.update(self.helpers)
        if self._has_context:
            self.ns["context"] = self._context
        current = self.ns.get("answer")
        if isinstance(current, AnswerDict):
            if current.get("ready") and not answer_was_ready:
                self._set_final(current.get("content", ""))
        else:
            items = current if isinstance(current, dict) else None
            if items is not None and items.get("ready"):
                self._set_final(items.get("content", ""))
            self.ns["answer"] = AnswerDict(self._set_final, items)

    @staticmethod
    def compile_block(code):
        tree = ast.parse(code, "<repl>", "exec")
        last = tree.body[-1] if tree.body else None
        if (
            isinstance(last, ast.Expr)
            and isinstance(last.value, ast.Call)
            and isinstance(last.value.func, ast.Name)
            and last.value.func.id == "SHOW_VARS"
        ):
            call = ast.Call(func=ast.Name(id="print", ctx=ast.Load()), args=[last.value], keywords=[])
            tree.body[-1] = ast.copy_location(ast.Expr(value=call), last)
            ast.fix_missing_locations(tree)
        return compile(tree, "<repl>", "exec")

    def run(self, code, armed=None):
        """Run one block; returns the result dict (the wire form). ``armed(flag)`` is told
        when model code starts/stops running (so interrupts hit only model code)."""
        t0 = time.perf_counter()
        self.out.begin()
        self.err.begin()
        self.final = None
        self.interrupt_reason = None
        snapshot = dict(self.ns)
        ans = self.ns.get("answer")
        answer_was_ready = bool(isinstance(ans, dict) and ans.get("ready"))
        old = sys.stdout, sys.stderr
        error = None
        if self.redirect:
            sys.stdout, sys.stderr = self.out, self.err
        try:
            try:
                if armed:
                    armed(True)
                try:
                    exec(self.compile_block(code), self.ns)
                finally:
                    if armed:
                        armed(False)
            except BaseException as exc:  # noqa: BLE001 - everything is the model's error
                error = exc
        finally:
            if self.redirect:
                sys.stdout, sys.stderr = old
        reason = self.interrupt_reason
        if error is not None:
            if isinstance(error, (KeyboardInterrupt, Interrupted)) and reason:
                msg = reason
            elif isinstance(error, SyntaxError):
                msg = f"SyntaxError: {error}"
            else:
                msg = f"{type(error).__name__}: {error}"
            self.err.write("\n" + msg)
            for k in [k for k in self.ns if k not in snapshot]:
                del self.ns[k]
            for k, v in snapshot.items():
                if self.ns.get(k, _MISSING) is not v:
                    self.ns[k] = v
        elif reason:
            self.err.write("\n" + reason)
        self._restore_scaffold(answer_was_ready)
        locs = serialize_namespace(self.ns)
        return {
            "stdout": self.out.end(),
            "stderr": self.err.end(),
            "locals": locs,
            "execution_time": time.perf_counter() - t0,
            "final_answer": self.final,
            "interrupted": bool(reason),
            "ok": error is None,
        }


_MISSING = object()


# -- the process side: socket channel ------------------------------------------------------------


def _set_memory_limit(mb):
    if not mb:
        return
    try:
        import resource

        limit = int(mb) * 1024 * 1024
        _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY and hard < limit:
            limit = hard
        # soft and hard: model code cannot raise it again (without CAP_SYS_RESOURCE, which
        # the sandbox never has), and every process it starts inherits it
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ImportError, ValueError, OSError):
        pass  # not supported here (e.g. Windows, some macOS setups)


def _die_with_parent():
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001
        pass


class _Slot:
    __slots__ = ("event", "value")

    def __init__(self):
        self.event = threading.Event()
        self.value: dict = {}  # the engine's reply, set before event


class Channel:
    """Length-prefixed JSON frames over one connected socket, used from several threads."""

    def __init__(self, sock):
        self.sock = sock
        self.rfile = sock.makefile("rb", buffering=256 * 1024)
        self._send_lock = threading.Lock()

    def send(self, obj):
        data = json.dumps(obj).encode("utf-8")
        with self._send_lock:
            self.sock.sendall(_HEADER.pack(len(data)) + data)

    def recv(self):
        head = self.rfile.read(4)
        if len(head) < 4:
            return None
        (n,) = _HEADER.unpack(head)
        data = self.rfile.read(n)
        if len(data) < n:
            return None
        return json.loads(data)


class Worker:
    def __init__(self, channel, tee=None):
        self.ch = channel
        self.tee = tee
        self.pending = {}
        self.lock = threading.Lock()
        self.next_id = 0
        self.commands = []
        self.cv = threading.Condition()
        self.main_ident = threading.get_ident()
        self.armed = False
        self.block_id = None
        self.busy = threading.Event()
        self.repl = Repl(self.request)
        if tee is not None:
            self.repl.out.tee = tee.stream(b"o")
            self.repl.err.tee = tee.stream(b"e")

    def request(self, kind, prompts, model, batched):
        with self.lock:
            self.next_id += 1
            rid = self.next_id
            slot = self.pending[rid] = _Slot()
        try:
            self.ch.send(
                {
                    "op": "subcall",
                    "id": rid,
                    "kind": kind,
                    "prompts": prompts,
                    "model": model,
                    "batched": batched,
                    # the block's own thread waits for it (the block timeout stands still);
                    # calls from model code's background threads keep the clock running
                    "waiting": threading.get_ident() == self.main_ident,
                }
            )
            slot.event.wait()
        finally:
            with self.lock:
                self.pending.pop(rid, None)
        reply = slot.value
        if reply.get("error") is not None:
            label = "RLM" if kind == "rlm" else "LM"
            return [f"Error: {label} query failed - {reply['error']}"] * len(prompts)
        return reply["responses"]

    def _arm(self, flag):
        self.armed = flag

    def reader(self):
        try:
            while True:
                msg = self.ch.recv()
                if msg is None:
                    break
                op = msg.get("op")
                if op == "reply":
                    with self.lock:
                        slot = self.pending.get(msg.get("id"))
                    if slot is not None:
                        slot.value = msg
                        slot.event.set()
                elif op == "interrupt":
                    if self.armed:
                        self.repl.interrupt_reason = msg.get("message") or "KeyboardInterrupt"
                        signal.pthread_kill(self.main_ident, signal.SIGINT)
                else:
                    with self.cv:
                        self.commands.append(msg)
                        self.cv.notify()
        except Exception:  # noqa: BLE001
            pass
        os._exit(0)  # the host is gone: never linger

    def _sigint(self, signum, frame):
        if self.armed:
            raise KeyboardInterrupt

    def flusher(self):
        """Send new output of the running block every ``LIVE_INTERVAL`` s, so the host can
        show it live and keeps it when the process dies."""
        while True:
            self.busy.wait()  # sleep while no block runs
            time.sleep(LIVE_INTERVAL)
            bid = self.block_id
            if bid is None:
                continue
            out, err = self.repl.out.take_new(), self.repl.err.take_new()
            if out or err:
                try:
                    self.ch.send({"op": "output", "id": bid, "stdout": out, "stderr": err})
                except (OSError, ValueError, TypeError):
                    pass

    def serve(self):
        signal.signal(signal.SIGINT, self._sigint)
        threading.Thread(target=self.reader, name="repl-reader", daemon=True).start()
        threading.Thread(target=self.flusher, name="repl-flusher", daemon=True).start()
        self.ch.send({"op": "hello", "protocol": PROTOCOL_VERSION, "pid": os.getpid()})
        while True:
            with self.cv:
                while not self.commands:
                    self.cv.wait()
                msg = self.commands.pop(0)
            op = msg.get("op")
            if op == "exec":
                signal.signal(signal.SIGINT, self._sigint)  # model code may have replaced it
                self.block_id = msg.get("id")
                if self.tee is not None:
                    self.tee.block(self.block_id)
                self.busy.set()
                try:
                    res = self.repl.run(msg.get("code", ""), self._arm)
                except BaseException as exc:  # noqa: BLE001 - e.g. an interrupt landing in bookkeeping
                    res = {
                        "stdout": "",
                        "stderr": f"\n{type(exc).__name__}: {exc}",
                        "locals": {},
                        "execution_time": 0.0,
                        "final_answer": None,
                        "interrupted": True,
                        "ok": False,
                    }
                self.block_id = None
                self.busy.clear()
                res = {"op": "result", "id": msg.get("id"), **res}  # "op" first: see protocol.decode
                self._send_result(res)
            elif op == "init":
                self._init(msg)
            elif op == "shutdown":
                return

    def _send_result(self, res):
        try:
            self.ch.send(res)
            return
        except (TypeError, ValueError, MemoryError, RecursionError) as exc:
            note = f"locals could not be sent: {type(exc).__name__}: {exc}"
        # keep the text parts (e.g. the namespace is too big to encode under the memory limit)
        res["locals"] = {"<error>": note}
        try:
            self.ch.send(res)
        except (TypeError, ValueError, MemoryError, RecursionError) as exc:
            self.ch.send(
                {
                    "op": "result",
                    "id": res.get("id"),
                    "stdout": "",
                    "stderr": f"\n{type(exc).__name__}: {exc}",
                    "locals": {"<error>": note},
                    "execution_time": res.get("execution_time", 0.0),
                    "final_answer": res.get("final_answer"),
                    "interrupted": False,
                    "ok": False,
                }
            )

    def _init(self, msg):
        _set_memory_limit(msg.get("memory_limit_mb"))
        for key in ("max_output", "tail_output"):
            if msg.get(key):
                for cap in (self.repl.out, self.repl.err):
                    setattr(cap, "limit" if key == "max_output" else "tail_limit", int(msg[key]))
        error = None
        try:
            if "context_file" in msg:
                with open(msg["context_file"], encoding="utf-8") as f:
                    ctx = f.read() if msg.get("context_format") == "text" else json.load(f)
            else:
                ctx = msg.get("context")
            self.repl.load_context(ctx)
        except Exception as exc:  # noqa: BLE001
            error = f"could not load the context: {type(exc).__name__}: {exc}"
        setup = None
        if error is None and msg.get("setup_code"):
            setup = self.repl.run(msg["setup_code"], self._arm)
        self.ch.send({"op": "ready", "error": error, "setup": setup})


def connect(path, timeout=30.0):
    """``path``: a unix socket path, or ``tcp://HOST:PORT`` (e.g. a container on a VM)."""
    if path.startswith("tcp://"):
        host, _, port = path[6:].rpartition(":")
        sock = socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout)
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock.connect(path)
            return sock
        except (FileNotFoundError, ConnectionRefusedError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _restore_library_path(environ):
    """PyInstaller points LD_LIBRARY_PATH at the bundle: programs that model code starts (git,
    curl) must load the system's libraries, not the bundle's."""
    orig = environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if orig is not None:
        environ["LD_LIBRARY_PATH"] = orig
    else:
        environ.pop("LD_LIBRARY_PATH", None)


def _parse_args(argv):
    """``--connect PATH|tcp://HOST:PORT`` or ``--fd N`` (an inherited connected socket, e.g.
    in the bubblewrap sandbox), plus an optional ``--tee-fd N`` (an inherited pipe) or
    ``--tee-connect PATH`` (a unix socket to connect to, e.g. from a container); see ``Tee``."""
    opts = {}
    it = iter(argv)
    for flag in it:
        if flag not in ("--connect", "--fd", "--tee-fd", "--tee-connect"):
            return None
        value = next(it, None)
        if value is None:
            return None
        opts[flag] = value
    if ("--connect" in opts) == ("--fd" in opts):
        return None
    return opts


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    opts = _parse_args(argv)
    if opts is None:
        print("usage: worker.py (--connect SOCKET_PATH|tcp://HOST:PORT | --fd N) [--tee-fd N]", file=sys.stderr)
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    if sys.path and os.path.abspath(sys.path[0] or ".") == here:
        sys.path.pop(0)  # model code must not import our neighbours (base.py, ...)
    _die_with_parent()
    if getattr(sys, "frozen", False):
        _restore_library_path(os.environ)
    try:
        import faulthandler

        faulthandler.enable()
    except Exception:  # noqa: BLE001
        pass
    if "--fd" in opts:
        sock = socket.socket(fileno=int(opts["--fd"]))
    else:
        sock = connect(opts["--connect"])
    tee = Tee(int(opts["--tee-fd"])) if "--tee-fd" in opts else None
    if "--tee-connect" in opts:
        try:
            tee = Tee(connect(opts["--tee-connect"], timeout=5.0).detach())
        except OSError:
            tee = None  # live output frames only
    Worker(Channel(sock), tee).serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())
