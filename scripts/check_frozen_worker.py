"""Checks that the built app works as the REPL worker for typical model code.

    .venv/bin/python scripts/check_frozen_worker.py dist/rlm-desktop/rlm-desktop

Starts the frozen executable the way the frozen app does (``rlm-desktop --repl-worker
--connect SOCK``) from this Python's ``SubprocessReplEnvironment``, and then inside the
bubblewrap sandbox (``rlm-desktop --repl-worker --fd N``, the default REPL) where bubblewrap
can run here, and runs blocks that import what model code commonly uses (stdlib modules and
numpy), call ``llm_query`` and keep state between blocks. Prints ``worker: ok ...`` or
``worker: FAIL: ...``; exit 0/1.
"""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from rlm_desktop.engine.repl.base import SubcallRequest  # noqa: E402
from rlm_desktop.engine.repl.bwrap import probe  # noqa: E402
from rlm_desktop.engine.repl.sandbox_env import SandboxReplEnvironment  # noqa: E402
from rlm_desktop.engine.repl.subprocess_env import SubprocessReplEnvironment  # noqa: E402

#: modules model code reaches for (the frozen build bundles the whole stdlib, and numpy)
MODULES = (
    "re json collections itertools functools math statistics random string textwrap difflib "
    "datetime zoneinfo decimal fractions heapq bisect csv io sqlite3 hashlib base64 unicodedata "
    "dataclasses typing enum operator pprint copy html html.parser xml.etree.ElementTree "
    "urllib.parse email gzip zipfile tarfile tempfile pathlib glob fnmatch shlex struct array "
    "concurrent.futures threading subprocess time calendar uuid secrets numpy"
).split()

BLOCK_IMPORTS = (
    "import importlib\n"
    f"mods = {MODULES!r}\n"
    "missing = []\n"
    "for m in mods:\n"
    "    try:\n"
    "        importlib.import_module(m)\n"
    "    except Exception as exc:\n"
    "        missing.append(f'{m}: {type(exc).__name__}: {exc}')\n"
    "print('missing:', missing)\n"
)
BLOCK_WORK = (
    "import numpy as np, statistics, sqlite3, re\n"
    "db = sqlite3.connect(':memory:')\n"
    "db.execute('create table t (x)')\n"
    "db.executemany('insert into t values (?)', [(i,) for i in range(10)])\n"
    "total = db.execute('select sum(x) from t').fetchone()[0]\n"
    "answer_from_lm = llm_query('ping')\n"
    "print(total, int(np.arange(5).sum()), statistics.median([3, 1, 2]), "
    "re.sub(r'i', 'o', 'ping'), answer_from_lm)\n"
)


def handler(req: SubcallRequest) -> list[str]:
    return [f"pong:{p}" for p in req.prompts]


def main(argv: list[str]) -> int:
    app = os.path.abspath(argv[0] if argv else os.path.join(ROOT, "dist", "rlm-desktop", "rlm-desktop"))
    if not os.access(app, os.X_OK):
        print(f"worker: FAIL: {app} is not an executable", flush=True)
        return 1
    envs = [
        SubprocessReplEnvironment(
            "ctx", handler, block_timeout=60, start_timeout=60,
            command=lambda sock: [app, "--repl-worker", "--connect", sock],
        )
    ]
    status = probe()
    if status.available:
        envs.append(SandboxReplEnvironment("ctx", handler, block_timeout=60, start_timeout=60,
                                           program=[app, "--repl-worker"]))
    else:
        print(f"worker: note: not checked in the sandbox: {status.message}", flush=True)
    for env in envs:
        code = check(env)
        if code:
            return code
    print(f"worker: ok ({len(MODULES)} modules import in the frozen worker; sqlite3, numpy, llm_query, state; "
          f"{' and '.join(e.name for e in envs)})", flush=True)
    return 0


def check(env: SubprocessReplEnvironment) -> int:
    try:
        env.start()
        r = env.execute(BLOCK_IMPORTS)
        if r.failure or r.stderr or r.stdout.strip() != "missing: []":
            print(f"worker: FAIL ({env.name}): imports: {r.failure or ''} {r.stdout.strip()} {r.stderr.strip()}", flush=True)
            return 1
        r = env.execute(BLOCK_WORK)
        want = "45 10 2 pong pong:ping"
        if r.failure or r.stderr or r.stdout.strip() != want:
            print(f"worker: FAIL ({env.name}): work block: {r.failure or ''} {r.stdout.strip()!r} {r.stderr.strip()}",
                  flush=True)
            return 1
        r = env.execute("print(total + 1)")  # state survives between blocks
        if r.stdout.strip() != "46":
            print(f"worker: FAIL ({env.name}): state between blocks: {r.stdout!r} {r.stderr!r}", flush=True)
            return 1
    except Exception as exc:  # noqa: BLE001 - reported
        print(f"worker: FAIL ({env.name}): {type(exc).__name__}: {exc}", flush=True)
        return 1
    finally:
        env.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
