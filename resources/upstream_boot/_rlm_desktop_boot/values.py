"""Upstream's objects as plain JSON for the app (stdlib only; upstream's own ``to_dict``
where it has one). Keys that look secret (API keys, tokens, passwords) never leave."""

from __future__ import annotations

from . import report

IMMUTABLE = (str, bytes, int, float, bool, type(None))  # unchanged while still the same object


SECRET = ("secret", "password", "authorization", "bearer")


def sensitive(key):
    k = str(key).lower()
    return ("api" in k and "key" in k) or any(w in k for w in SECRET) or k == "token" \
        or k.endswith(("_token", "-token", "access_key"))


def plain(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if callable(value):
        return f"<{type(value).__name__} '{getattr(value, '__name__', '?')}'>"
    try:
        return repr(value)
    except Exception:  # noqa: BLE001
        return f"<{type(value).__name__}>"


def public(kwargs):
    if not isinstance(kwargs, dict):
        return {}
    return {str(k): plain(v) for k, v in kwargs.items() if not sensitive(k)}


def model_of(rlm):
    kw = getattr(rlm, "backend_kwargs", None) or {}
    return str(kw.get("model_name", "unknown")) if isinstance(kw, dict) else "unknown"


def metadata(rlm):
    return {
        "root_model": model_of(rlm),
        "max_depth": getattr(rlm, "max_depth", None),
        "max_iterations": getattr(rlm, "max_iterations", None),
        "backend": plain(getattr(rlm, "backend", None)),
        "backend_kwargs": public(getattr(rlm, "backend_kwargs", None)),
        "environment_type": plain(getattr(rlm, "environment_type", None)),
        "environment_kwargs": public(getattr(rlm, "environment_kwargs", None)),
        "other_backends": plain(getattr(rlm, "other_backends", None)),
    }


def usage(summary):
    if summary is None:
        return None
    try:
        return summary.to_dict()
    except Exception:  # noqa: BLE001
        return None


def last_usage(handler, model):
    try:
        client = handler.get_client(None)
        last = client.get_last_usage()
        return {"model_usage_summaries": {str(getattr(client, "model_name", model)): last.to_dict()}}
    except Exception:  # noqa: BLE001
        return None


def completion_dict(comp):
    try:
        d = comp.to_dict()
    except Exception:  # noqa: BLE001
        return None
    d.pop("metadata", None)  # a child's whole trajectory: the app has it already
    return d


def error_completion(prompt, model, text):
    return {"root_model": model or "", "prompt": plain(prompt), "response": "" if text is None else str(text),
            "usage_summary": {"model_usage_summaries": {}}, "execution_time": 0.0}


def result_dict(result):
    try:
        d = result.to_dict()
    except Exception:  # noqa: BLE001
        d = {"stdout": str(getattr(result, "stdout", "")), "stderr": str(getattr(result, "stderr", "")),
             "locals": {}, "execution_time": getattr(result, "execution_time", None), "rlm_calls": [],
             "final_answer": getattr(result, "final_answer", None)}
    for c in d.get("rlm_calls") or []:
        if isinstance(c, dict):
            c.pop("metadata", None)
    return d


def code_blocks(text):
    try:
        from rlm.utils.parsing import find_code_blocks

        return list(find_code_blocks(text))
    except Exception:  # noqa: BLE001
        return []


def is_cancellation(exc):
    return isinstance(exc, KeyboardInterrupt) or type(exc).__name__ == "CancellationError"


def cancellation_error():
    try:
        from rlm.utils.exceptions import CancellationError

        return CancellationError(partial_answer=None, message=report.STOP_REASON)
    except Exception:  # noqa: BLE001
        return KeyboardInterrupt(report.STOP_REASON)




def final_of(iteration):
    for b in getattr(iteration, "code_blocks", None) or []:
        fa = getattr(getattr(b, "result", None), "final_answer", None)
        if fa is not None:
            return str(fa)
    return None


def text_final(response):
    """0.1.0/0.1.1 also end a run with FINAL(...) in the reply: upstream's own parser says so."""
    if not isinstance(response, str) or "FINAL" not in response:
        return None
    try:
        from rlm.utils.parsing import find_final_answer
    except Exception:  # noqa: BLE001 - 0.1.2+: no text answers
        return None
    try:
        found = find_final_answer(response)
    except Exception:  # noqa: BLE001
        return None
    return None if found is None else str(found)
