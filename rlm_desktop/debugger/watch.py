"""Watch expressions over recorded locals, evaluated without running log text as code.

    w = Watch.parse('len(chunks)')              # raises WatchError for anything not allowed
    w.evaluate({"chunks": [1, 2, 3]})           # -> 3
    series(run, w)                              # one WatchPoint per iteration of a run

An expression is parsed with ``ast`` and checked against a whitelist, then evaluated by a
small tree-walking interpreter of our own over the recorded values (JSON-like data: dicts,
lists, strings, numbers, booleans, None); Python's ``eval`` is never used. Allowed:

* names of recorded variables (not ``__dunder__`` names), constants, ``[...]`` / ``(...)``;
* subscripts and slices (``answer["ready"]``, ``chunks[-1]``, ``s[:10]``);
* calls of a few pure builtins by name, positional arguments only: ``len sum min max abs
  str int float bool round sorted`` (no attributes, so no methods);
* comparisons (``== != < <= > >= in not in is is not``), arithmetic (``+ - * / // % **``,
  unary ``- + not``), ``and`` / ``or``, ``x if c else y``.

Bounds: the expression at most ``MAX_SOURCE`` characters and ``MAX_NODES`` syntax nodes;
every evaluation at most ``MAX_STEPS`` steps and ``TIME_LIMIT`` seconds; no string, list or
number it builds may exceed ``MAX_SIZE`` elements/characters or ``MAX_INT_BITS`` bits
(checked before the operation, so ``"a" * 10**9`` or ``9 ** 9 ** 9`` fail at once); builtins
refuse inputs longer than ``MAX_ITER``. Every failure is a ``WatchError`` with a message.

The values of an iteration are its last code block's ``locals`` (the REPL namespace after
the turn); a turn without code keeps the previous turn's values.
"""

from __future__ import annotations

import ast
import math
import operator
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_SOURCE = 500
MAX_NODES = 200
MAX_STEPS = 10_000
TIME_LIMIT = 0.05
MAX_SIZE = 1_000_000
MAX_INT_BITS = 4096
MAX_ITER = 200_000


class WatchError(ValueError):
    """The expression is not allowed, or could not be evaluated for these values."""


def _sized(v: Any) -> Any:
    if isinstance(v, (str, list, tuple)) and len(v) > MAX_SIZE:
        raise WatchError(f"result too large ({len(v):,} elements)")
    if isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > MAX_INT_BITS:
        raise WatchError("number too large")
    return v


def _iterable(v: Any, name: str) -> Any:
    if isinstance(v, dict):
        v = list(v)
    if not isinstance(v, (list, tuple, str)):
        raise WatchError(f"{name}() needs a list, string or dict, not {type(v).__name__}")
    if len(v) > MAX_ITER:
        raise WatchError(f"{name}() of {len(v):,} elements is too long")
    return v


def _len(v: Any) -> int:
    if not isinstance(v, (list, tuple, str, dict)):
        raise WatchError(f"len() of {type(v).__name__}")
    return len(v)


def _str(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, (list, tuple, dict)) and _len(v) > MAX_ITER:
        raise WatchError("str() of a value that large")
    return _sized(str(v))


def _agg(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        if len(args) == 1:
            return fn(_iterable(args[0], name))
        if not args or len(args) > 100:
            raise WatchError(f"{name}() takes a list or up to 100 values")
        return fn(args)

    return call


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": _len,
    "sum": lambda v: sum(_iterable(v, "sum")),
    "min": _agg(min, "min"),
    "max": _agg(max, "max"),
    "sorted": lambda v: sorted(_iterable(v, "sorted")),
    "abs": abs,
    "str": _str,
    "int": int,
    "float": float,
    "bool": bool,
    "round": round,
}

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_, ast.IsNot: operator.is_not,
}
_ALLOWED = (ast.Expression, ast.Name, ast.Load, ast.Constant, ast.Subscript, ast.Slice, ast.Call,
            ast.Compare, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.IfExp, ast.Tuple, ast.List,
            ast.And, ast.Or, ast.Not, ast.USub, ast.UAdd, *_BINOPS, *_CMPOPS)


def _check(tree: ast.AST) -> None:
    count = 0
    for node in ast.walk(tree):
        count += 1
        if count > MAX_NODES:
            raise WatchError(f"expression too complex (over {MAX_NODES} parts)")
        if not isinstance(node, _ALLOWED):
            raise WatchError(f"not allowed in a watch: {type(node).__name__}")
        if isinstance(node, ast.Name) and node.id.startswith("__"):
            raise WatchError(f"not allowed in a watch: the name {node.id}")
        if isinstance(node, ast.Constant):
            v = node.value
            if not (v is None or isinstance(v, (bool, int, float, str))):
                raise WatchError(f"not allowed in a watch: a {type(v).__name__} constant")
            _sized(v)
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise WatchError("only these functions can be called: " + ", ".join(FUNCTIONS))
            if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
                raise WatchError("watch calls take positional arguments only")


def _pow(a: Any, b: Any) -> Any:
    if isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool):
        if b < 0:
            return float(a) ** b
        if b > MAX_INT_BITS or max(1, a.bit_length()) * b > MAX_INT_BITS:
            if abs(a) > 1:
                raise WatchError("number too large")
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.pow(a, b)
        except (OverflowError, ValueError) as exc:
            raise WatchError(f"{exc}") from None
    return a ** b


def _mul(a: Any, b: Any) -> Any:
    for seq, n in ((a, b), (b, a)):
        if isinstance(seq, (str, list, tuple)) and isinstance(n, int):
            if len(seq) * max(0, n) > MAX_SIZE:
                raise WatchError("result too large")
    if isinstance(a, int) and isinstance(b, int) and a.bit_length() + b.bit_length() > MAX_INT_BITS:
        raise WatchError("number too large")
    return a * b


def _mod(a: Any, b: Any) -> Any:
    if isinstance(a, str):  # "%0999999999d" % 1 would build a gigabyte
        raise WatchError("string formatting is not allowed in a watch")
    return a % b


def _add(a: Any, b: Any) -> Any:
    if isinstance(a, (str, list, tuple)) and isinstance(b, (str, list, tuple)) and len(a) + len(b) > MAX_SIZE:
        raise WatchError("result too large")
    return a + b


class _Eval:
    def __init__(self, names: dict[str, Any]) -> None:
        self.names = names
        self.steps = 0
        self.deadline = time.perf_counter() + TIME_LIMIT

    def ev(self, node: ast.AST) -> Any:
        self.steps += 1
        if self.steps > MAX_STEPS or time.perf_counter() > self.deadline:
            raise WatchError("evaluation took too long")
        if isinstance(node, ast.Expression):
            return self.ev(node.body)
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in self.names:
                return self.names[node.id]
            if node.id in ("True", "False", "None"):
                return {"True": True, "False": False, "None": None}[node.id]
            raise WatchError(f"no variable {node.id!r} here")
        if isinstance(node, ast.Subscript):
            value = self.ev(node.value)
            key = self.ev(node.slice) if not isinstance(node.slice, ast.Slice) else slice(
                *(self.ev(x) if x is not None else None for x in (node.slice.lower, node.slice.upper, node.slice.step)))
            if not isinstance(value, (dict, list, tuple, str)):
                raise WatchError(f"cannot subscript a {type(value).__name__}")
            try:
                return value[key]
            except (KeyError, IndexError, TypeError, ValueError) as exc:
                raise WatchError(f"{type(exc).__name__}: {exc}") from None
        if isinstance(node, (ast.Tuple, ast.List)):
            items = [self.ev(e) for e in node.elts]
            return tuple(items) if isinstance(node, ast.Tuple) else items
        if isinstance(node, ast.UnaryOp):
            v = self.ev(node.operand)
            if isinstance(node.op, ast.Not):
                return not v
            if not isinstance(v, (int, float)):
                raise WatchError(f"bad operand for unary {type(node.op).__name__}: {type(v).__name__}")
            return -v if isinstance(node.op, ast.USub) else +v
        if isinstance(node, ast.BinOp):
            a, b = self.ev(node.left), self.ev(node.right)
            op = type(node.op)
            fn = {ast.Pow: _pow, ast.Mult: _mul, ast.Add: _add, ast.Mod: _mod}.get(op) or _BINOPS[op]
            return _sized(fn(a, b))
        if isinstance(node, ast.BoolOp):
            is_and = isinstance(node.op, ast.And)
            last: Any = None
            for e in node.values:
                last = self.ev(e)
                if (not last) if is_and else last:
                    return last
            return last
        if isinstance(node, ast.Compare):
            left = self.ev(node.left)
            for cmp, right_node in zip(node.ops, node.comparators, strict=True):
                right = self.ev(right_node)
                if not _CMPOPS[type(cmp)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return self.ev(node.body) if self.ev(node.test) else self.ev(node.orelse)
        if isinstance(node, ast.Call):
            args = [self.ev(a) for a in node.args]
            return _sized(FUNCTIONS[node.func.id](*args))  # type: ignore[attr-defined]
        raise WatchError(f"not allowed in a watch: {type(node).__name__}")  # pragma: no cover - _check


@dataclass(frozen=True)
class Watch:
    source: str
    tree: ast.Expression

    @classmethod
    def parse(cls, source: str) -> Watch:
        src = source.strip()
        if not src:
            raise WatchError("empty expression")
        if len(src) > MAX_SOURCE:
            raise WatchError(f"expression longer than {MAX_SOURCE} characters")
        try:
            tree = ast.parse(src, mode="eval")
        except SyntaxError as exc:
            raise WatchError(f"syntax error: {exc.msg}") from None
        except (RecursionError, MemoryError, ValueError):
            raise WatchError("expression too complex") from None
        _check(tree)
        return cls(src, tree)

    def evaluate(self, names: dict[str, Any]) -> Any:
        try:
            return _Eval(names).ev(self.tree)
        except WatchError:
            raise
        except RecursionError:
            raise WatchError("expression too complex") from None
        except (TypeError, ValueError, ZeroDivisionError, OverflowError, ArithmeticError) as exc:
            raise WatchError(f"{type(exc).__name__}: {exc}") from None


@dataclass(frozen=True)
class WatchPoint:
    position: int  # the iteration's place in its run (0-based; ``iN`` in node paths)
    value: Any = None
    error: str | None = None

    @property
    def number(self) -> float | None:
        """The value as a number for a plot (bools as 0/1), or None."""
        v = self.value
        if self.error is not None or v is None:
            return None
        if isinstance(v, bool):
            return float(v)
        if isinstance(v, (int, float)):
            f = float(v) if not isinstance(v, int) or v.bit_length() < 1000 else None
            return f if f is not None and math.isfinite(f) else None
        return None


def namespaces(run: Any) -> list[dict[str, Any] | None]:
    """Per iteration of ``run``: the recorded REPL namespace after it (None before any code ran)."""
    out: list[dict[str, Any] | None] = []
    last: dict[str, Any] | None = None
    for it in run.iterations:
        for b in reversed(it.code_blocks):
            if b.locals:
                last = b.locals
                break
        out.append(last)
    return out


def series(run: Any, watch: Watch, budget: float = 0.5) -> list[WatchPoint]:
    """``watch`` at every iteration of ``run``; stops (errors on the rest) past ``budget`` seconds."""
    out = []
    stop = time.perf_counter() + budget
    for pos, names in enumerate(namespaces(run)):
        if names is None:
            out.append(WatchPoint(pos, error="no recorded variables yet"))
            continue
        if time.perf_counter() > stop:
            out.append(WatchPoint(pos, error="not evaluated: the watch took too long"))
            continue
        try:
            out.append(WatchPoint(pos, watch.evaluate(names)))
        except WatchError as exc:
            out.append(WatchPoint(pos, error=str(exc)))
    return out
