"""The scripted mock LM server (tests/support/mock_openai.py) through the real SDKs."""

from __future__ import annotations

import threading
import time

import anthropic
import openai
import pytest

from tests.support.mock_openai import MockLMServer, MockReply, count_tokens


def _openai(server: MockLMServer, **kw: object) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=server.base_url, **kw)


def test_openai_chat_completions_with_usage_and_request_log() -> None:
    seen: list[tuple[str, int]] = []

    def script(model: str, messages: list[dict]) -> str | MockReply:
        seen.append((model, len(messages)))
        if model == "costly":
            return MockReply("priced", usage={"prompt_tokens": 7, "completion_tokens": 3}, cost=0.25)
        return f"echo {messages[-1]['content']}"

    with MockLMServer(script) as server:
        assert server.base_url.startswith("http://127.0.0.1:") and server.port > 0
        client = _openai(server)
        r = client.chat.completions.create(model="m1", messages=[{"role": "user", "content": "hello world"}])
        assert r.choices[0].message.content == "echo hello world"
        assert r.usage.prompt_tokens == count_tokens("hello world")
        assert r.usage.completion_tokens == count_tokens("echo hello world")
        assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
        r = client.chat.completions.create(model="costly", messages=[{"role": "user", "content": "x"}])
        assert (r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens) == (7, 3, 10)
        assert r.usage.model_extra == {"cost": 0.25}
        reqs = server.requests
        assert [(q.api, q.model, q.status, q.reply) for q in reqs] == [
            ("openai", "m1", 200, "echo hello world"),
            ("openai", "costly", 200, "priced"),
        ]
        assert reqs[0].authorized and reqs[0].last_user_text == "hello world"
        assert "sk-test" not in repr(reqs)  # key values are never stored
    assert seen == [("m1", 1), ("costly", 1)]


def test_openai_streaming_with_usage_chunk() -> None:
    with MockLMServer("a fairly long streamed answer, in pieces") as server:
        stream = _openai(server).chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "q"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        text, usage = "", None
        for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
            if chunk.usage:
                usage = chunk.usage
        assert text == "a fairly long streamed answer, in pieces"
        assert usage is not None and usage.completion_tokens == count_tokens(text)


def test_anthropic_messages_plain_and_streaming() -> None:
    def script(model: str, messages: list[dict]) -> str:
        return f"{model}|{messages[0]['role']}:{messages[0]['content']}|{messages[-1]['content']}"

    with MockLMServer(script) as server:
        client = anthropic.Anthropic(api_key="k", base_url=server.root_url)
        m = client.messages.create(
            model="claude-mock",
            max_tokens=50,
            system="be brief",
            messages=[{"role": "user", "content": "hi"}],
        )
        assert m.content[0].text == "claude-mock|system:be brief|hi"
        assert m.usage.input_tokens == count_tokens("be brief") + count_tokens("hi")
        with client.messages.stream(
            model="c2",
            max_tokens=50,
            messages=[{"role": "user", "content": [{"type": "text", "text": "yo"}]}],
        ) as st:
            text = "".join(st.text_stream)
            final = st.get_final_message()
        assert text == "c2|user:yo|yo" and final.usage.output_tokens == count_tokens(text)
        assert [q.api for q in server.requests] == ["anthropic", "anthropic"]


def test_script_as_a_list_and_exhaustion() -> None:
    with MockLMServer(["one", MockReply("two")]) as server:
        client = _openai(server, max_retries=0)
        ask = lambda: client.chat.completions.create(model="m", messages=[{"role": "user", "content": "q"}])  # noqa: E731
        assert ask().choices[0].message.content == "one"
        assert ask().choices[0].message.content == "two"
        with pytest.raises(openai.InternalServerError, match="exhausted"):
            ask()


def test_error_injection_retries_and_per_model_failures() -> None:
    with MockLMServer("fine") as server:
        client = _openai(server)  # the SDK retries 2 times by default
        server.fail_next(2, 500)
        t0 = time.perf_counter()
        r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "q"}])
        assert r.choices[0].message.content == "fine" and time.perf_counter() - t0 < 5
        assert [q.status for q in server.requests] == [500, 500, 200]
        server.clear()
        server.fail_next(1, 429, model="sub", retry_after_ms=None)
        strict = _openai(server, max_retries=0)
        ok = strict.chat.completions.create(model="root", messages=[{"role": "user", "content": "q"}])
        assert ok.choices[0].message.content == "fine"  # other models are not affected
        with pytest.raises(openai.RateLimitError):
            strict.chat.completions.create(model="sub", messages=[{"role": "user", "content": "q"}])
        assert [(q.model, q.status) for q in server.requests] == [("root", 200), ("sub", 429)]
        assert [q.model for q in server.calls()] == ["root"]


def test_script_exception_is_a_500_and_kept() -> None:
    def script(model: str, messages: list[dict]) -> str:
        raise KeyError("nope")

    with MockLMServer(script) as server:
        with pytest.raises(openai.InternalServerError, match="KeyError"):
            _openai(server, max_retries=0).chat.completions.create(
                model="m", messages=[{"role": "user", "content": "q"}]
            )
        assert isinstance(server.errors[0], KeyError)


def test_delays_are_cut_short_by_stop() -> None:
    server = MockLMServer(lambda model, messages: MockReply("late", delay=30)).start()
    client = _openai(server, max_retries=0, timeout=60)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "q"}])
        except BaseException as exc:  # noqa: BLE001 - any outcome is fine, only the time matters
            errors.append(exc)

    th = threading.Thread(target=call)
    th.start()
    deadline = time.monotonic() + 5
    while not server.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    t0 = time.perf_counter()
    server.stop()
    th.join(timeout=10)
    assert not th.is_alive() and time.perf_counter() - t0 < 8


def test_concurrent_calls_are_all_answered() -> None:
    counter = {"n": 0}

    def script(model: str, messages: list[dict]) -> str:
        counter["n"] += 1  # the script runs under a lock: no lost updates
        return str(counter["n"])

    with MockLMServer(script) as server:
        server.delay_next(4, 0.05)
        client = _openai(server)
        results: list[str] = []
        lock = threading.Lock()

        def call() -> None:
            r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "q"}])
            with lock:
                results.append(r.choices[0].message.content)

        threads = [threading.Thread(target=call) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results, key=int) == [str(i) for i in range(1, 9)]
