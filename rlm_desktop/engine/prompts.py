"""The messages our engine sends to the root model (our own wording).

The model sees: a system message explaining the REPL and its helpers, a user
message describing ``context`` (and the question, when there is one), then one
short user message per turn. After each turn the engine adds the model's reply
and one user message with the output of the code it ran (see ``parsing``).
"""

from __future__ import annotations

from typing import Any

SYSTEM_PROMPT = """\
You work inside a persistent Python REPL session. The material for your task is \
stored in the variable `context`; it may be far too long to read in one go, so \
explore it with code and let helper models do the reading for you.

Write code in fenced blocks tagged `repl`, like this:

```repl
print(type(context), len(context))
print(context[:500])
```

Every `repl` block in your reply is executed, in order, and you get back what it \
printed (long output is cut, so print summaries rather than whole documents). \
Variables, imports and functions persist from one block and one turn to the next. \
Blocks tagged anything other than `repl` are not executed.

What the REPL gives you:

- `context`: the input data (a string, a list or a dict).
- `llm_query(prompt, model=None) -> str`: one call to a helper language model. It \
has no REPL and sees only the prompt you pass, so put the text it needs into the \
prompt. Good for reading, extracting, classifying or summarising one piece of text.
- `llm_query_batched(prompts, model=None) -> list[str]`: the same for many prompts \
at once; they run in parallel and the answers come back in the order of `prompts`. \
Prefer it to a loop of `llm_query` calls.
- `rlm_query(prompt, model=None) -> str`: hands a sub-task to a fresh copy of \
yourself with its own REPL, which receives `prompt` as its `context` and can work \
on it over several turns. Use it for sub-problems that need several steps. When \
the recursion limit is reached it quietly becomes a single `llm_query`.
- `rlm_query_batched(prompts, model=None) -> list[str]`: several `rlm_query` \
sub-tasks in parallel, answers in the order of `prompts`.
- `SHOW_VARS()`: returns the names and types of the variables you have defined.
- `answer`: a dict with the keys "content" and "ready". To finish, put your final \
answer in `answer["content"]` and then set `answer["ready"] = True`, both in a \
`repl` block. Nothing else ends the task.

How to work well:

1. Look before you leap: check the type and size of `context` and print a small \
sample first.
2. Split big inputs into pieces that fit a helper model, send the pieces out with \
`llm_query_batched`, keep the partial results in variables and combine them in code.
3. Do exact work (counting, sorting, arithmetic, parsing) in Python; use the helper \
models for work that needs understanding of language.
4. If a block raises an error, read the message, fix the code and try again.
5. Submit only an answer you have checked; when few turns remain, submit your best \
answer rather than none.
"""

DEFAULT_ANSWER_REQUEST = (
    "You have used all of your turns. Reply now with your final answer as plain text "
    "(no code), based on everything you have found so far."
)


def describe_context(context: Any) -> str:
    """One sentence about the type and size of ``context``."""
    if isinstance(context, str):
        return f"The variable `context` holds a string of {len(context):,} characters."
    if isinstance(context, (list, tuple)):
        lengths = [len(str(x)) for x in context]
        shown = ", ".join(f"{n:,}" for n in lengths[:20])
        more = f", ... ({len(lengths) - 20} more)" if len(lengths) > 20 else ""
        return (
            f"The variable `context` holds a list of {len(lengths):,} items with "
            f"{sum(lengths):,} characters in total (item lengths: {shown}{more})."
        )
    if isinstance(context, dict):
        keys = ", ".join(repr(str(k)) for k in list(context)[:20])
        more = ", ..." if len(context) > 20 else ""
        total = sum(len(str(v)) for v in context.values())
        return (
            f"The variable `context` holds a dict with {len(context):,} keys ({keys}{more}) "
            f"and {total:,} characters of values."
        )
    text = str(context)
    return f"The variable `context` holds a {type(context).__name__} ({len(text):,} characters as text)."


def initial_messages(
    context: Any, root_prompt: str | None, system_prompt: str | None = None
) -> list[dict[str, str]]:
    """System message + the message describing the task and ``context``."""
    about = describe_context(context)
    body = f"Your task: {root_prompt}\n\n{about}" if root_prompt else about
    return [
        {"role": "system", "content": system_prompt or SYSTEM_PROMPT},
        {"role": "user", "content": body},
    ]


def turn_message(index: int, max_iterations: int) -> dict[str, str]:
    """The user message that opens turn ``index`` (0-based)."""
    head = f"Turn {index + 1} of {max_iterations}."
    if index == 0:
        head += (
            " You have not run any code yet. Start by looking at `context`;"
            " do not submit an answer before you have seen it."
        )
    elif index == max_iterations - 1:
        head += " This is your last turn: submit your answer now."
    return {"role": "user", "content": head}


def default_answer_message() -> dict[str, str]:
    return {"role": "user", "content": DEFAULT_ANSWER_REQUEST}
