"""Prompts (our own words), parsing of replies, output formatting, config."""

from __future__ import annotations

import re

import pytest

from rlm_desktop.engine import parsing, prompts
from rlm_desktop.engine.config import BackendConfig, EngineConfig


def test_system_prompt_names_every_helper():
    text = prompts.SYSTEM_PROMPT
    for name in (
        "context",
        "llm_query(",
        "llm_query_batched(",
        "rlm_query(",
        "rlm_query_batched(",
        "SHOW_VARS()",
        'answer["content"]',
        'answer["ready"] = True',
        "```repl",
    ):
        assert name in text, name


def _shingles(text: str, n: int = 6) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_our_prompts_share_no_passage_with_upstream():
    up = pytest.importorskip("rlm.utils.prompts")
    upstream = " ".join(str(v) for k, v in vars(up).items() if k.isupper() and isinstance(v, str))
    ours = prompts.SYSTEM_PROMPT + prompts.DEFAULT_ANSWER_REQUEST + str(prompts.turn_message(0, 5))
    common = _shingles(ours) & _shingles(upstream)
    assert not common, f"6-word passages shared with upstream: {sorted(common)[:5]}"


def test_initial_messages_and_turns():
    msgs = prompts.initial_messages(["ab", "cde"], "What?")
    assert [m["role"] for m in msgs] == ["system", "user"]
    assert (
        "What?" in msgs[1]["content"]
        and "2 items" in msgs[1]["content"]
        and "5 characters" in msgs[1]["content"]
    )
    assert "string of 3 characters" in prompts.initial_messages("abc", None)[1]["content"]
    assert "dict with 1 keys" in prompts.describe_context({"k": "v"})
    assert prompts.turn_message(0, 3)["content"].startswith("Turn 1 of 3.")
    assert "last turn" in prompts.turn_message(2, 3)["content"]


def test_code_blocks_like_upstream_regex():
    text = (
        "intro\n```repl\nx = 1\n```\n"
        "```python\nnot_run()\n```\n"
        "```repl   \n  y = 2  \n\n```\n"
        "```repl\nunterminated"
    )
    assert parsing.find_code_blocks(text) == ["x = 1", "y = 2"]
    assert parsing.find_code_blocks("```repl x = 1```") == []  # the fence needs a newline
    assert parsing.find_code_blocks("") == []


def test_text_final_forms():
    assert parsing.find_text_final("Done.\nFINAL(7 (seven), f(x) = (x))") == (
        "FINAL",
        "7 (seven), f(x) = (x)",
    )
    assert parsing.find_text_final("  FINAL_VAR(result)") == ("FINAL_VAR", "result")
    assert parsing.find_text_final("```repl\nFINAL(not this)\n```") is None
    assert parsing.find_text_final("the FINAL(answer) inline") is None
    assert parsing.is_identifier("a_1") and not parsing.is_identifier("a b")


def test_turn_formatting_and_truncation():
    out = parsing.BlockOutput("hello\n", "\nValueError: bad", ["x", "y"])
    msgs = parsing.format_turn("reply", [out], limit=1000)
    assert msgs[0] == {"role": "assistant", "content": "reply"}
    body = msgs[1]["content"]
    assert body.startswith("Output of your code:\nhello") and "ValueError: bad" in body and "x, y" in body
    two = parsing.format_turn("r", [out, parsing.BlockOutput()], limit=1000)[1]["content"]
    assert "Output of block 1:" in two and "Output of block 2:\n(the block printed nothing)" in two
    long = parsing.format_turn("r", [parsing.BlockOutput("z" * 5000)], limit=100)[1]["content"]
    assert "z" * 100 in long and "z" * 101 not in long and "4,900 more characters" in long
    assert parsing.format_turn("no code", []) == [{"role": "assistant", "content": "no code"}]
    names = parsing.variable_names({"context": 1, "answer": {}, "_p": 1, "f": "<function 'f'>", "n": 3})
    assert names == ["n"]


def test_backend_config_never_shows_the_key(monkeypatch):
    key = "sk-" + "q" * 30
    cfg = BackendConfig(kind="openai", model="m", api_key=key, base_url="http://127.0.0.1:1/v1")
    assert key not in repr(cfg) and key not in str(cfg) and "api_key=<set>" in repr(cfg)
    assert key not in str(cfg.public_kwargs()) and key not in str(cfg.to_dict())
    assert BackendConfig.from_dict(cfg.to_dict()).api_key is None
    monkeypatch.setenv("MY_KEY", key)
    from_env = BackendConfig(kind="openai", api_key_env="MY_KEY")
    assert from_env.resolve_api_key() == key and key in EngineConfig(backend=from_env).secrets()
    with pytest.raises(ValueError):
        BackendConfig(kind="nope")
    with pytest.raises(ValueError):
        EngineConfig(max_iterations=0)
