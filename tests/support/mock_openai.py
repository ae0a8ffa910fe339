"""A scripted mock language-model HTTP server for tests.

``MockLMServer`` listens on 127.0.0.1, port 0 (the OS picks a free port), and
speaks just enough of two wire protocols for the official SDKs to work:

* OpenAI chat completions: ``POST /v1/chat/completions`` (also without ``/v1``),
  non-streaming, and streaming (SSE chunks, a usage chunk when
  ``stream_options.include_usage`` is set). ``GET /v1/models`` lists models.
  Point a client at ``server.base_url`` (``http://127.0.0.1:PORT/v1``).
* Anthropic messages: ``POST /v1/messages`` (non-streaming and SSE streaming).
  Point ``anthropic.Anthropic(base_url=server.root_url)`` at it.

What each call answers is decided by a *script*:

* a callable ``script(model, messages) -> str | MockReply``. ``messages`` is the
  OpenAI-style list; for Anthropic the ``system`` parameter is put first as a
  ``{"role": "system"}`` message and content blocks are joined to text. The
  script is called under a lock (stateful scripts are safe under concurrent
  calls); an exception in it becomes an HTTP 500 and is kept in ``.errors``.
* a list of ``str | MockReply`` used in order (running out is a 500 error);
* a plain ``str`` answered to every call.

``MockReply(text, usage=None, status=200, delay=0.0, error=None, cost=None)``:
``usage`` is ``{"prompt_tokens": p, "completion_tokens": c}`` (``total_tokens``
is added); when None, tokens are counted deterministically as ceil(chars / 4)
of the prompt and of the reply. ``status != 200`` answers an API error object.
``delay`` sleeps before answering (``stop()`` cuts sleeps short). ``cost`` adds
an OpenRouter-style ``usage.cost``.

Error injection: ``fail_next(n, status=500, model=None)`` answers the next ``n``
calls (for ``model`` only, when given) with that status without calling the
script. Failures carry a ``retry-after-ms`` header (10 ms unless told
otherwise) so the SDKs' built-in retries stay fast; pass ``retry_after_ms=None``
to leave it out. ``delay_next(n, seconds)`` delays the next ``n`` calls.

``server.requests`` is a copy of the request log (``RecordedRequest``: api,
path, model, messages, body, status, reply, stream, authorized). API key values
are never stored: only whether a key header was present.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Script = Callable[[str, list[dict[str, Any]]], "str | MockReply"] | Sequence["str | MockReply"] | str


@dataclass
class MockReply:
    text: str = ""
    usage: dict[str, int] | None = None
    status: int = 200
    delay: float = 0.0
    error: str | None = None
    cost: float | None = None


@dataclass
class RecordedRequest:
    api: str  # "openai" | "anthropic"
    path: str
    model: str
    messages: list[dict[str, Any]]
    body: dict[str, Any]
    stream: bool
    authorized: bool
    time: float
    status: int = 0  # 0 while the request is still being answered
    reply: str | None = None

    @property
    def last_user_text(self) -> str:
        for m in reversed(self.messages):
            if m.get("role") == "user":
                return _content_text(m.get("content"))
        return ""


@dataclass
class _Failure:
    remaining: int
    status: int
    message: str
    model: str | None
    retry_after_ms: float | None


@dataclass
class _Delay:
    remaining: int
    seconds: float


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, dict):
                parts.append(str(block.get("text", "")))
            else:
                parts.append(str(block))
        return "".join(parts)
    return "" if content is None else str(content)


def count_tokens(text: str) -> int:
    """The mock's deterministic token count: ceil(chars / 4)."""
    return math.ceil(len(text) / 4)


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(count_tokens(_content_text(m.get("content"))) for m in messages)


class MockLMServer:
    """See the module docstring. Use as a context manager or call start()/stop()."""

    def __init__(self, script: Script | None = None, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._lock = threading.Lock()  # guards state below
        self._script_lock = threading.Lock()  # serialises script calls
        self._script: Script = script if script is not None else "ok"
        self._script_pos = 0
        self._failures: list[_Failure] = []
        self._delays: list[_Delay] = []
        self._requests: list[RecordedRequest] = []
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self.errors: list[BaseException] = []  # exceptions raised by the script
        self._httpd: _Quiet | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> MockLMServer:
        if self._httpd is not None:
            return self
        server = self

        class Handler(_Handler):
            mock = server

        self._stopping.clear()
        self._httpd = _Quiet((self._host, self._port), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="MockLMServer", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> MockLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("MockLMServer is not running")
        return self._httpd.server_address[1]

    @property
    def root_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL (ends in /v1)."""
        return self.root_url + "/v1"

    anthropic_base_url = root_url

    # -- scripting ---------------------------------------------------------------

    def set_script(self, script: Script) -> None:
        with self._script_lock:
            self._script = script
            self._script_pos = 0

    def fail_next(
        self,
        n: int = 1,
        status: int = 500,
        *,
        model: str | None = None,
        message: str | None = None,
        retry_after_ms: float | None = 10,
    ) -> None:
        with self._lock:
            self._failures.append(
                _Failure(n, status, message or f"mock failure (HTTP {status})", model, retry_after_ms)
            )

    def delay_next(self, n: int, seconds: float) -> None:
        with self._lock:
            self._delays.append(_Delay(n, seconds))

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def calls(self, model: str | None = None) -> list[RecordedRequest]:
        """Requests answered with 200, optionally for one model."""
        return [r for r in self.requests if r.status == 200 and (model is None or r.model == model)]

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    # -- used by the handler -------------------------------------------------------

    def _record(self, req: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(req)

    def _take_failure(self, model: str) -> _Failure | None:
        with self._lock:
            for f in self._failures:
                if f.remaining > 0 and (f.model is None or f.model == model):
                    f.remaining -= 1
                    return f
            self._failures = [f for f in self._failures if f.remaining > 0]
        return None

    def _take_delay(self) -> float:
        with self._lock:
            for d in self._delays:
                if d.remaining > 0:
                    d.remaining -= 1
                    return d.seconds
        return 0.0

    def _answer(self, model: str, messages: list[dict[str, Any]]) -> MockReply:
        with self._script_lock:
            script = self._script
            try:
                if callable(script):
                    out = script(model, messages)
                elif isinstance(script, str):
                    out = script
                else:
                    if self._script_pos >= len(script):
                        return MockReply(status=500, error="mock script exhausted")
                    out = script[self._script_pos]
                    self._script_pos += 1
            except Exception as exc:  # noqa: BLE001 - reported to the client as a 500
                self.errors.append(exc)
                return MockReply(status=500, error=f"mock script raised {type(exc).__name__}: {exc}")
        if isinstance(out, MockReply):
            return out
        return MockReply(text="" if out is None else str(out))

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._stopping.wait(seconds)

    def _next_id(self) -> int:
        return next(self._ids)


class _Quiet(ThreadingHTTPServer):
    """Handler threads are named ``mock-lm-request``; ``close_connections`` ends the kept-alive
    connections (HTTP/1.1 clients pool them, so their threads would wait for the next request)
    and joins those threads."""

    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._live: dict[threading.Thread, Any] = {}
        self._live_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request(self, request: Any, client_address: Any) -> None:
        t = threading.Thread(
            target=self._serve_one, args=(request, client_address), name="mock-lm-request", daemon=True
        )
        with self._live_lock:
            self._live[t] = request
        t.start()

    def _serve_one(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._live_lock:
                self._live.pop(threading.current_thread(), None)

    def close_connections(self, timeout: float = 5.0) -> None:
        import socket

        with self._live_lock:
            live = dict(self._live)
        for sock in live.values():
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        for t in live:
            t.join(max(0.0, deadline - time.monotonic()))

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionResetError, BrokenPipeError, TimeoutError)):
            return  # a client that hung up (cancelled run, SDK timeout): not an error of the mock
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    mock: MockLMServer
    protocol_version = "HTTP/1.1"
    timeout = 30
    disable_nagle_algorithm = True  # small JSON replies go out at once (no 40 ms delayed-ACK stalls)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    # -- plumbing ----------------------------------------------------------------

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _start_sse(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def _sse(self, data: Any, event: str | None = None) -> None:
        chunk = (f"event: {event}\n" if event else "") + f"data: {json.dumps(data)}\n\n"
        self.wfile.write(chunk.encode())
        self.wfile.flush()

    def _read_body(self) -> dict[str, Any] | None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    # -- routes ------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802
        if self.path.rstrip("/").endswith("/models"):
            self._send_json(200, {"object": "list", "data": [{"id": "mock-model", "object": "model"}]})
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    def do_POST(self) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0].rstrip("/")
        if path.endswith("/chat/completions"):
            api = "openai"
        elif path.endswith("/messages"):
            api = "anthropic"
        else:
            self._send_json(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        body = self._read_body()
        if body is None:
            self._send_json(
                400, {"error": {"message": "body is not a JSON object", "type": "invalid_request"}}
            )
            return
        model = str(body.get("model") or "")
        messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
        if api == "anthropic":
            system = body.get("system")
            messages = [{"role": m.get("role"), "content": _content_text(m.get("content"))} for m in messages]
            if system:
                messages.insert(0, {"role": "system", "content": _content_text(system)})
        stream = bool(body.get("stream"))
        authorized = bool(self.headers.get("Authorization") or self.headers.get("x-api-key"))
        rec = RecordedRequest(api, path, model, messages, body, stream, authorized, time.time())
        mock = self.mock
        mock._record(rec)  # logged on arrival (status 0 until answered)

        failure = mock._take_failure(model)
        mock._sleep(mock._take_delay())
        if failure is not None:
            reply = MockReply(status=failure.status, error=failure.message)
            headers = (
                {"retry-after-ms": str(failure.retry_after_ms)} if failure.retry_after_ms is not None else {}
            )
        else:
            reply = mock._answer(model, messages)
            headers = {}
            mock._sleep(reply.delay)
        rec.status = reply.status
        if reply.status != 200:
            self._send_error(api, reply, headers)
            return
        rec.reply = reply.text
        usage = dict(reply.usage or {})
        usage.setdefault("prompt_tokens", prompt_tokens(messages))
        usage.setdefault("completion_tokens", count_tokens(reply.text))
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if reply.cost is not None:
            usage["cost"] = reply.cost
        if api == "openai":
            self._openai(model, reply.text, usage, stream, body)
        else:
            self._anthropic(model, reply.text, usage, stream)

    def _send_error(self, api: str, reply: MockReply, headers: dict[str, str]) -> None:
        message = reply.error or f"mock error (HTTP {reply.status})"
        kind = "rate_limit_error" if reply.status == 429 else "api_error"
        if api == "anthropic":
            obj: dict[str, Any] = {"type": "error", "error": {"type": kind, "message": message}}
        else:
            obj = {"error": {"message": message, "type": kind, "code": str(reply.status)}}
        self._send_json(reply.status, obj, headers)

    def _openai(
        self, model: str, text: str, usage: dict[str, Any], stream: bool, body: dict[str, Any]
    ) -> None:
        cid = f"chatcmpl-mock{self.mock._next_id()}"
        created = int(time.time())
        if not stream:
            self._send_json(
                200,
                {
                    "id": cid,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                            "logprobs": None,
                        }
                    ],
                    "usage": usage,
                },
            )
            return
        self._start_sse()
        base = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model}
        pieces = [text[i : i + 16] for i in range(0, len(text), 16)] or [""]
        for n, piece in enumerate(pieces):
            delta = {"content": piece}
            if n == 0:
                delta["role"] = "assistant"
            self._sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        self._sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            self._sse({**base, "choices": [], "usage": usage})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _anthropic(self, model: str, text: str, usage: dict[str, Any], stream: bool) -> None:
        mid = f"msg_mock{self.mock._next_id()}"
        au = {"input_tokens": usage["prompt_tokens"], "output_tokens": usage["completion_tokens"]}
        if not stream:
            self._send_json(
                200,
                {
                    "id": mid,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [{"type": "text", "text": text}],
                    "stop_reason": "end_turn",
                    "stop_sequence": None,
                    "usage": au,
                },
            )
            return
        self._start_sse()
        start = {
            "id": mid,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {"input_tokens": au["input_tokens"], "output_tokens": 0},
        }
        self._sse({"type": "message_start", "message": start}, "message_start")
        self._sse(
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            "content_block_start",
        )
        for i in range(0, len(text), 16):
            self._sse(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": text[i : i + 16]},
                },
                "content_block_delta",
            )
        self._sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        self._sse(
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": au["output_tokens"]},
            },
            "message_delta",
        )
        self._sse({"type": "message_stop"}, "message_stop")
