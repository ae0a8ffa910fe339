"""The docker REPL on a real Docker engine: state across blocks, sub-calls over the mounted
socket, no network, the memory/CPU/process limits, block timeout, cancel, crashes, container
removal on close and after an app crash, and a whole engine run with environment="docker".

Skipped, with the reason, when no engine answers or the image is missing
(``scripts/ci_docker.sh`` starts an engine and builds the image on a Debian machine)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading

import pytest

from rlm_desktop.engine.repl import docker_containers as dc
from rlm_desktop.engine.repl.base import SubcallRequest
from rlm_desktop.engine.repl.docker_env import DockerReplEnvironment
from tests.support.repl_envs import started_envs

IMAGE = os.environ.get("RLM_REPL_IMAGE") or dc.DEFAULT_IMAGE


def _why_no_docker() -> str | None:
    try:
        client = dc.docker_client(timeout=5)
    except dc.DockerUnavailable as exc:
        return f"{exc} (scripts/ci_docker.sh starts one)"
    try:
        client.images.get(IMAGE)
    except Exception:  # noqa: BLE001
        return f"the image {IMAGE} is missing; build it with scripts/build_repl_image.sh"
    finally:
        client.close()
    return None


WHY = _why_no_docker()
pytestmark = [pytest.mark.docker, pytest.mark.skipif(WHY is not None, reason=f"Docker REPL: {WHY}")]


def handler(req: SubcallRequest) -> list[str]:
    return [f"{req.kind}:{p}" for p in req.prompts]


@pytest.fixture(scope="module")
def client():
    import docker

    c = docker.from_env()
    yield c
    c.close()


@pytest.fixture
def make_env():
    yield from started_envs(DockerReplEnvironment, lambda: handler, block_timeout=20, interrupt_grace=0.5)


def exists(client, name: str) -> bool:
    return any(c.name == name for c in client.containers.list(all=True, filters={"name": name}))


def test_state_subcalls_and_lockdown(make_env, client, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-enter")
    env = make_env({"items": [1, 2, 3]}, memory_limit_mb=256, cpus=0.5, pids_limit=50)
    attrs = client.containers.get(env.container_name).attrs
    hc = attrs["HostConfig"]
    assert hc["NetworkMode"] == "none" and hc["ReadonlyRootfs"] is True
    assert hc["Memory"] == hc["MemorySwap"] == 256 << 20
    assert hc["NanoCpus"] == 500_000_000 and hc["PidsLimit"] == 50
    assert attrs["Config"]["Labels"][dc.LABEL_PID] == str(os.getpid())
    assert not any("sk-must-not-enter" in e for e in attrs["Config"]["Env"])

    r = env.execute("n = len(context['items'])\nprint(llm_query('hi'), rlm_query_batched(['a', 'b']))")
    assert r.stdout == "llm:hi ['rlm:a', 'rlm:b']\n", r.stderr
    with socket.socket() as host_listener:  # a server on the host's loopback...
        host_listener.bind(("127.0.0.1", 0))
        host_listener.listen(1)
        port = host_listener.getsockname()[1]
        r = env.execute(
            "import os, socket\n"
            "print(n, os.getuid() != 0, socket.if_nameindex())\n"
            "print(sorted(k for k in os.environ if 'KEY' in k))\n"
            "print(bool(os.statvfs('/').f_flag & os.ST_RDONLY))\n"
            "try:\n"
            f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n"
            "    print('reached the host')\n"
            "except OSError as exc:\n"
            "    print('unreachable', type(exc).__name__)\n"
        )
    # ...is not reachable: the container's only interface is its own loopback
    assert r.stdout == "3 True [(1, 'lo')]\n[]\nTrue\nunreachable ConnectionRefusedError\n", r.stderr


def test_memory_limit(make_env, client):
    env = make_env(memory_limit_mb=160, tmpfs_mb=256)
    first = env.container_name
    r = env.execute(
        "import os\nkeep = 1\n"
        "for p in ('/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes'):\n"
        "    if os.path.exists(p):\n"
        "        print(open(p).read().strip())\n"
    )
    assert r.stdout == f"{160 << 20}\n", r.stderr  # the cgroup limit is on
    r = env.execute("big = bytearray(400 * 1024 * 1024)")
    assert "MemoryError" in r.stderr and not r.state_lost
    # tmpfs pages count too: filling it past the limit gets the worker OOM-killed
    r = env.execute(
        "chunk = b'x' * (1 << 20)\nwith open('/tmp/fill', 'wb') as f:\n"
        "    for _ in range(240):\n        f.write(chunk)\n        f.flush()\n"
    )
    assert r.failure == "crashed" and "out of memory" in r.stderr and r.state_lost
    assert not exists(client, first)
    r = env.execute("print(keep)")  # a fresh container: the state is gone
    assert "NameError" in r.stderr and env.container_name != first


def test_timeout_cancel_and_crash(make_env, client):
    env = make_env(block_timeout=1.0)
    env.execute("x = 41")
    r = env.execute("while True: pass")
    assert r.failure == "timeout" and not r.state_lost and "TimeoutError" in r.stderr
    threading.Timer(0.3, env.cancel).start()
    r = env.execute("import time\nwhile True: time.sleep(0.01)")
    assert r.failure == "cancelled"
    assert env.execute("print(x + 1)").stdout == "42\n"  # both interrupts kept the state
    first = env.container_name
    r = env.execute("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: time.sleep(0.01)")
    assert r.failure == "timeout" and r.state_lost and "killed" in r.stderr
    assert not exists(client, first)  # the stuck container is gone
    r = env.execute("import os, time\nprint('bye')\ntime.sleep(0.5)\nos._exit(3)")  # 0.5 s: live output is sent
    assert r.failure == "crashed" and "exited with code 3" in r.stderr and r.stdout == "bye\n"
    r = env.execute("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)")
    assert r.failure == "crashed" and "SIGSEGV" in r.stderr
    assert env.execute("print('fresh')").stdout == "fresh\n"


def test_close_removes_the_container_and_temp_dir(make_env, client):
    env = make_env()
    name, tmp = env.container_name, env._tmp
    assert exists(client, name) and os.path.isdir(tmp)
    env.close()
    assert not exists(client, name) and not os.path.exists(tmp)


CRASHING_APP = """
import json, os, sys
from rlm_desktop.engine.repl.docker_env import DockerReplEnvironment
from tests.support.repl_envs import started_envs
env = DockerReplEnvironment("c", lambda req: ["x"] * len(req.prompts))
env.start()
env.execute("y = 1")
print(json.dumps([env.container_name, env._tmp]), flush=True)
os._exit(1)  # the app dies without closing anything
"""


def test_containers_of_a_crashed_app_are_cleaned_up(make_env, client):
    out = subprocess.run(
        [sys.executable, "-c", CRASHING_APP], capture_output=True, text=True, timeout=60, check=False
    )
    name, tmp = json.loads(out.stdout.strip().splitlines()[-1])
    assert exists(client, name) and os.path.isdir(tmp)  # left behind
    env = make_env()  # the next docker REPL cleans up
    assert name in env.cleaned_up
    assert not exists(client, name) and not os.path.exists(tmp)
    assert exists(client, env.container_name)  # its own container is untouched


def test_engine_run_in_docker(tmp_path, client):
    from tests.test_engine_loop import FULL, make_engine

    eng, _ = make_engine(FULL, tmp_path, environment="docker", max_depth=2, max_iterations=6)
    result = eng.completion("Summarise the parts.", "some context text")
    assert result.response == "words=3 / ONE, TWO, THREE", result.error
    assert result.run.iterations[0].code_blocks[0].locals.get("context") == "some context text"
    assert our_containers(client) == []  # the root's and the child run's containers are gone


def our_containers(client) -> list[str]:
    found = client.containers.list(all=True, filters={"label": f"{dc.LABEL_PID}={os.getpid()}"})
    return [c.name for c in found]


def test_engine_cancel_removes_the_container(tmp_path, client):
    from rlm_desktop.engine import events as ev
    from rlm_desktop.trajectory.model import RunStatus
    from tests.test_engine_loop import R, make_engine

    eng, _ = make_engine({"r0/i0": R("while True:\n    pass")}, tmp_path, environment="docker")
    running = threading.Event()
    seen: list[str] = []

    def obs(e):
        if isinstance(e, ev.CodeBlockStarted):
            seen.extend(our_containers(client))
            running.set()

    eng.add_observer(obs)
    threading.Timer(0.0, lambda: (running.wait(30), eng.cancel())).start()
    result = eng.completion("q", "ctx")
    assert result.status == RunStatus.CANCELLED
    assert seen and our_containers(client) == []  # it ran in a container, now gone


def test_the_working_folder_is_writable(make_env, client):
    """docker/README.md: /work (the working dir) is a writable tmpfs; /tmp too."""
    env = make_env()
    r = env.execute(
        "import os\nopen('/work/a.txt', 'w').write('1')\nopen('/tmp/b.txt', 'w').write('2')\n"
        "print(os.getcwd(), sorted(os.listdir('/work')))"
    )
    assert r.failure is None and r.stdout == "/work ['a.txt']\n", r.stderr


def test_a_malformed_frame_ends_the_block_in_docker_too(make_env, client):
    from tests.test_repl_host_hardening import GRAB

    env = make_env(block_timeout=30)
    frame = 'raw({"op": "subcall", "id": 99, "kind": "llm", "prompts": 5, "model": None, "batched": False})'
    r = env.execute(GRAB + frame + "\nimport time\ntime.sleep(60)")
    assert r.failure == "crashed" and "ReplProtocolError" in r.stderr
    assert env.execute("print('fresh')").stdout == "fresh\n"


def test_output_printed_just_before_the_container_dies_is_kept(make_env, client):
    env = make_env()
    r = env.execute("import sys, os\nprint('last words')\nprint('on stderr', file=sys.stderr)\nos._exit(3)")
    assert r.failure == "crashed"
    assert r.stdout == "last words\n" and "on stderr" in r.stderr
