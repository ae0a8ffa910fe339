"""The bundled demo run (``resources/demo/``): a recording made with our engine.

``load_demo()`` returns what the app needs to replay it: the prompt, the context
and an ``EngineConfig`` whose backend is the replay client on the recorded file.
``scripts/make_demo.py`` regenerates the files.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlm_desktop.engine.config import BackendConfig, EngineConfig
from rlm_desktop.paths import resource_path


@dataclass
class DemoRun:
    prompt: str
    context: str
    config: EngineConfig
    trajectory_path: Path
    expected_answer: str | None
    #: set when the bundled demo could not use the sandbox and runs in the plain subprocess
    #: REPL instead (its code is our own recording, not a model's): one plain sentence to show
    isolation_note: str | None = None


def demo_dir_default() -> Path:
    """``resources/demo`` from source or in a frozen build (``rlm_desktop.paths``)."""
    return resource_path("demo")


def load_demo(
    demo_dir: str | os.PathLike[str] | None = None, *, environment: Any = None, log_dir: str | None = None
) -> DemoRun:
    root = Path(demo_dir) if demo_dir is not None else demo_dir_default()
    manifest = json.loads((root / "demo.json").read_text(encoding="utf-8"))
    context = (root / manifest["context_file"]).read_text(encoding="utf-8")
    trajectory = root / manifest["trajectory"]
    env = environment if environment is not None else manifest.get("environment", "sandbox")
    note = None
    if environment is None and env == "sandbox":
        from rlm_desktop.engine.repl.bwrap import probe

        status = probe()
        if not status.available:
            env = "subprocess"
            note = f"Demo runs UNSANDBOXED (its code is the bundled recording): {status.message}"
    config = EngineConfig(
        backend=BackendConfig(kind="replay", model=manifest.get("model", ""), replay_path=str(trajectory)),
        max_depth=int(manifest.get("max_depth", 1)),
        max_iterations=int(manifest.get("max_iterations", 30)),
        environment=env,
        log_dir=log_dir,
    )
    return DemoRun(manifest["prompt"], context, config, trajectory, manifest.get("final_answer"), note)
