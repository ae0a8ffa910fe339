"""A factory fixture body for REPL environments: ``yield from started_envs(...)``.

Each test module picks the environment class, a default sub-call handler and its default
keyword arguments; every environment made in a test is closed after it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any


def started_envs(cls: type, default_handler: Callable[[], Any], **defaults: Any) -> Iterator[Callable[..., Any]]:
    made: list[Any] = []

    def make(context: Any = "ctx", handler: Any = None, **kw: Any) -> Any:
        for key, value in defaults.items():
            kw.setdefault(key, value)
        env = cls(context, handler or default_handler(), **kw)
        made.append(env)
        env.start()
        return env

    try:
        yield make
    finally:
        for env in made:
            env.close()
