"""``rlm-desktop debug`` on older upstream releases: rlms 0.1.2 fully (same program as for
0.1.3: depth 3, batches, persistent session, compaction), 0.1.1 and 0.1.0 as far as their
seams allow (no rlm_query before 0.1.1; answers by FINAL(...) text). Each release is
installed by the test into its own folder (``pip install --no-deps --target``, upstream's
dependencies come from this venv) that goes first on the program's path; skipped with the
reason when the package index cannot be reached."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rlm_desktop.debugger import BreakpointManager, DebugController
from rlm_desktop.engine import events as ev
from rlm_desktop.engine.upstream_host import UpstreamProgram
from rlm_desktop.trajectory.reader import read_file
from tests.support.mock_openai import MockLMServer
from tests.support.upstream_brain import brain

ROOT = Path(__file__).resolve().parents[1]
PROGRAM = str(ROOT / "tests" / "support" / "upstream_program.py")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    pytest.importorskip("rlm")
    with MockLMServer(brain) as s:
        yield s


_INSTALLED: dict[str, Path] = {}


def release(version: str, tmp_path_factory) -> Path:
    if version not in _INSTALLED:
        target = tmp_path_factory.mktemp(f"rlms-{version}")
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check",
             "--target", str(target), f"rlms=={version}"],
            capture_output=True, text=True, timeout=300,
        )
        if proc.returncode != 0:
            pytest.skip(f"cannot install rlms=={version} (offline?): {proc.stderr.strip()[-300:]}")
        _INSTALLED[version] = target
    return _INSTALLED[version]


def program_env(target: Path) -> dict[str, str]:
    return {"PYTHONPATH": str(target)}


def run_both(server, target: Path, scenario: str, tmp_path: Path):
    env = {**os.environ, **program_env(target)}
    check = subprocess.run([sys.executable, "-c", "import importlib.metadata as m; print(m.version('rlms'))"],
                           capture_output=True, text=True, env=env)
    direct = subprocess.run([sys.executable, PROGRAM, server.base_url, scenario], capture_output=True, cwd=ROOT,
                            env=env, timeout=240)
    rec = tmp_path / f"{scenario}.jsonl"
    dbg_env = dict(os.environ)
    dbg_env["PYTHONPATH"] = str(ROOT)
    dbg = subprocess.run(
        [sys.executable, "-m", "rlm_desktop", "debug", "--no-gui", "--record", str(rec), "--env",
         f"PYTHONPATH={target}", "--", sys.executable, PROGRAM, server.base_url, scenario],
        capture_output=True, cwd=ROOT, env=dbg_env, timeout=240,
    )
    return check.stdout.strip(), direct, dbg, rec


def test_rlms_0_1_2_fully(server, tmp_path, tmp_path_factory):
    target = release("0.1.2", tmp_path_factory)
    version, direct, dbg, rec = run_both(server, target, "full", tmp_path)
    assert version == "0.1.2"
    assert direct.returncode == 0, direct.stderr.decode()[-2000:]
    assert dbg.returncode == 0, dbg.stderr.decode()[-2000:]
    assert dbg.stdout == direct.stdout
    traj = read_file(str(rec))
    assert not traj.bad_lines and len(traj.runs) == 3
    assert traj.runs[0].sub_calls_by_depth() == {1: 5, 2: 2, 3: 1}
    assert all(it.usage is not None for it in traj.runs[0].iterations)
    assert traj.runs[1].iterations[0].extra.get("compactions")  # compaction's summary call is there


def test_rlms_0_1_2_depth_breakpoint_and_step_out(server, tmp_path, tmp_path_factory):
    target = release("0.1.2", tmp_path_factory)
    bps = BreakpointManager()
    bps.add(kind="depth", depth=2)
    ctl = DebugController(bps)
    states = []
    ctl.add_listener(lambda st: states.append(st) if st.state == "paused" else None)
    with open(tmp_path / "out", "wb") as out:
        prog = UpstreamProgram([sys.executable, PROGRAM, server.base_url, "deep"], cwd=ROOT,
                               env=program_env(target), stdout=out)
        ctl.attach(prog)
        import threading
        import time

        t = threading.Thread(target=prog.run, daemon=True)
        t.start()
        deadline = time.monotonic() + 120
        while not states:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert isinstance(states[0].event, ev.RunStarted) and states[0].event.depth == 2
        ctl.step_out()
        while len(states) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert states[1].event.depth == 1 and isinstance(states[1].event, ev.SubCallFinished)
        ctl.resume()
        t.join(120)
    assert (tmp_path / "out").read_text().startswith("answer: deep done: d1 got d2 says")


@pytest.mark.parametrize("version", ["0.1.1", "0.1.0"])
def test_older_releases_as_far_as_their_seams_allow(server, tmp_path, tmp_path_factory, version):
    target = release(version, tmp_path_factory)
    got, direct, dbg, rec = run_both(server, target, "old", tmp_path)
    assert got == version
    assert direct.returncode == 0, direct.stderr.decode()[-2000:]
    assert dbg.returncode == 0, dbg.stderr.decode()[-2000:]
    assert dbg.stdout == direct.stdout == b"answer: old done\n"
    lines = [json.loads(x) for x in rec.read_text().splitlines()]
    assert lines[0]["type"] == "metadata" and lines[0]["root_model"] == "mock-old"
    traj = read_file(str(rec))
    run = traj.runs[0]
    assert [len(it.code_blocks) for it in run.iterations] == [1, 0]
    call = run.iterations[0].code_blocks[0].sub_calls[0]
    assert call.response == "[mock-old] re: old sub question" and call.depth == 1
    assert run.final_answer == "old done" and run.iterations[-1].final_answer == "old done"
