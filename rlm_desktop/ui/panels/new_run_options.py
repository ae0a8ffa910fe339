"""Choices and helpers behind the New Run dialog (no widgets here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QStandardPaths

from rlm_desktop.trajectory.model import Trajectory
from rlm_desktop.trajectory.reader import read_file
from rlm_desktop.trajectory.run_card import question_of

LIMIT_FIELDS = (
    "max_iterations",
    "max_depth",
    "max_budget",
    "max_timeout",
    "max_tokens",
    "max_errors",
    "block_timeout",
)

# id -> (label, engine kind, model suggestions, default base URL placeholder)
BACKENDS: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "replay": ("Replay demo (no key needed)", "replay", ("",), ""),
    "openai": (
        "OpenAI",
        "openai",
        ("gpt-4.1-mini", "gpt-4.1", "gpt-4o-mini", "gpt-5-mini"),
        "https://api.openai.com/v1",
    ),
    "anthropic": ("Anthropic", "anthropic", ("claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1"), ""),
    "compatible": (
        "OpenAI-compatible server (vLLM, Ollama, …)",
        "openai",
        ("qwen2.5-coder:7b", "llama3.1:8b", "Qwen/Qwen2.5-7B-Instruct"),
        "http://127.0.0.1:11434/v1",
    ),
}
ENVIRONMENTS = (
    ("sandbox", "Sandbox (bubblewrap, default)"),
    ("subprocess", "Subprocess (NO sandbox: your user's rights)"),
    ("inprocess", "In-process (fast, no isolation)"),
    ("docker", "Docker container"),
)
GROUP = "new_run"
#: Recordings up to this size are read (off the GUI thread) by themselves to prefill prompt/context.
PREFILL_MAX_BYTES = 8 * 1024 * 1024


@dataclass
class RecordedInputs:
    prompt: str | None = None
    context: str | None = None
    max_iterations: int | None = None
    max_depth: int | None = None


def recorded_inputs(path: str, run_index: int = 0) -> RecordedInputs:
    """``recorded_inputs_of`` a file (reads it: not on the GUI thread, see
    ``recording_read``)."""
    return recorded_inputs_of(read_file(path), run_index)


def recorded_inputs_of(traj: Trajectory, run_index: int = 0) -> RecordedInputs:
    """Best-effort inputs of a recorded run: the context from the first block's
    locals, the prompt from the first user message that states the task, the
    limits that shape the prompts (turn counter, depth) from its metadata."""
    if not 0 <= run_index < len(traj.runs):
        return RecordedInputs()
    run = traj.runs[run_index]
    context = None
    for it in run.iterations:
        for b in it.code_blocks:
            if isinstance(b.locals.get("context"), str):
                context = b.locals["context"]
                break
        if context is not None:
            break
    prompt = question_of(run) if run.parent is None else None
    depth = run.metadata.get("max_depth")
    return RecordedInputs(
        prompt,
        context,
        run.max_iterations,
        depth if isinstance(depth, int) and not isinstance(depth, bool) else None,
    )


def default_log_dir() -> str:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppLocalDataLocation)
    return str(Path(base or Path.home() / ".rlm-desktop") / "runs")
