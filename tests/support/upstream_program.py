"""A user's RLM program for the ``rlm-desktop debug`` tests: plain upstream ``rlms``, no debugger code.

    python tests/support/upstream_program.py BASE_URL [SCENARIO] [UPSTREAM_LOG_DIR]

Scenarios (the model's side is ``upstream_brain.BRAIN``, served by ``MockLMServer``):

* ``full`` (default): custom tools, ``llm_query_batched``, ``rlm_query`` down to depth 3
  (the grandchild's own ``rlm_query`` is a plain LM call at max depth), ``rlm_query_batched``,
  then a persistent two-turn session with compaction;
* ``deep``: only the depth-3 chain (root -> child -> grandchild -> leaf call);
* ``old``: one ``llm_query`` then a ``FINAL(...)`` text answer (rlms 0.1.0 / 0.1.1);
* ``pool``: one completion here, then two in a fork and two in a spawn ``multiprocessing`` pool;
* ``threads``: two completions at once in two threads;
* ``none``: imports ``rlm`` and never makes a completion;
* ``stopped``: one completion; prints how it ended (a stop arrives as upstream's CancellationError).
"""

from __future__ import annotations

import sys


def make(base_url: str, model: str, **kw):
    from rlm import RLM

    return RLM(
        backend="openai",
        backend_kwargs={"model_name": model, "base_url": base_url, "api_key": "sk-mock-not-a-key"},
        environment="local",
        **kw,
    )


def double(x):
    return 2 * x


def full(base_url: str, log_dir: str | None = None) -> None:
    logger = None
    if log_dir:  # upstream's own log of the root completion, to compare with the debugger's record
        from rlm.logger import RLMLogger

        logger = RLMLogger(log_dir=log_dir, file_name="upstream")
    root = make(base_url, "mock-root", max_depth=3, custom_tools={"double": double}, logger=logger)
    out = root.completion("root context for the debugger test", root_prompt="What do the parts say?")
    print("answer:", out.response)
    print("root calls:", sorted(out.usage_summary.to_dict()["model_usage_summaries"]))
    root.close()
    chat = make(base_url, "mock-chat", persistent=True, compaction=True, compaction_threshold_pct=0.0)
    for text in ("first message of the session", "second message"):
        print("chat:", chat.completion(text).response)
    chat.close()


def deep(base_url: str) -> None:
    root = make(base_url, "mock-deep", max_depth=3)
    print("answer:", root.completion("deep context").response)


def old(base_url: str) -> None:
    """For rlms 0.1.0/0.1.1: one llm_query, then a FINAL(...) text answer."""
    root = make(base_url, "mock-old")
    print("answer:", root.completion("old context").response)


def _pool_job(arg):
    base_url, text = arg
    return make(base_url, "mock-d1b", custom_tools={"double": double}).completion(text).response


def pool(base_url: str) -> None:
    """A completion in this process, then two in each of a fork and a spawn process pool."""
    import multiprocessing as mp

    print("parent:", _pool_job((base_url, "parent item")))
    for method in ("fork", "spawn"):
        with mp.get_context(method).Pool(2) as p:
            print(method + ":", p.map(_pool_job, [(base_url, f"{method} item {i}") for i in range(2)]))


def threads(base_url: str) -> None:
    """Two completions at the same time, in two threads of this process (two RLMs)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        print("threads:", list(pool.map(_pool_job, [(base_url, f"thread item {i}") for i in range(2)])))


def stopped(base_url: str) -> None:
    from rlm import CancellationError

    root = make(base_url, "mock-deep", max_depth=3)
    try:
        print("answer:", root.completion("deep context").response)
    except CancellationError as exc:
        print("cancelled:", exc)
    print("after the completion")
    print("again:", root.completion("deep context").response)  # the next completion runs as usual


def main(argv: list[str]) -> int:
    base_url = argv[1]
    scenario = argv[2] if len(argv) > 2 else "full"
    if scenario == "none":
        import rlm  # noqa: F401

        print("no completion here")
        return 3
    if scenario == "full" and len(argv) > 3:
        full(base_url, argv[3])
    else:
        {"full": full, "deep": deep, "stopped": stopped, "old": old, "pool": pool,
         "threads": threads}[scenario](base_url)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
