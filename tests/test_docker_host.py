"""The docker REPL's host side, without a Docker engine: the container spec (no network,
limits, labels, mounts, no secrets), left-over clean-up, clear errors when Docker or the
image is missing, and the whole REPL over a fake engine that runs each "container" as a
local process with the spec's command, mount and environment."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading

import pytest

from rlm_desktop.engine.environments import environment_class
from rlm_desktop.engine.repl import docker_containers as dc
from rlm_desktop.engine.repl.base import SubcallRequest
from rlm_desktop.engine.repl.docker_env import DockerReplEnvironment, DockerUnavailable, docker_client
from tests.support.repl_envs import started_envs

pytestmark = pytest.mark.skipif(not hasattr(os, "killpg"), reason="POSIX only")


def handler(req: SubcallRequest) -> list[str]:
    return [f"{req.kind}:{p}" for p in req.prompts]


# -- a fake engine: containers are local processes ---------------------------------------------------


class ImageNotFound(Exception):
    """Named like docker.errors.ImageNotFound (the environment matches the name)."""


class FakeContainer:
    def __init__(self, engine: FakeEngine, spec: dict) -> None:
        self.engine = engine
        self.spec = spec
        self.name = spec["name"]
        self.labels = dict(spec.get("labels") or {})
        self.proc: subprocess.Popen | None = None
        self.removed = False
        self.attrs = {"State": {"OOMKilled": False}}

    def start(self) -> None:
        (src, mount), = self.spec["volumes"].items()
        assert mount["mode"] == "ro"
        argv = [sys.executable] + [a.replace(dc.MOUNT, src) for a in self.spec["command"][1:]]
        self.proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.spec["environment"],
            start_new_session=True,
        )

    def logs(self, **kw):
        assert kw.get("stream") and kw.get("follow")
        fd = self.proc.stdout.fileno()
        while chunk := os.read(fd, 65536):
            yield chunk

    def wait(self, timeout=None):
        code = self.proc.wait(timeout)
        return {"StatusCode": 128 - code if code < 0 else code}  # like docker's init

    def reload(self) -> None:
        pass

    def remove(self, force=False) -> None:
        assert force
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if self.proc is not None:
            self.proc.stdout.close()
        self.removed = True
        with contextlib.suppress(ValueError):
            self.engine.live.remove(self)


class FakeEngine:
    """Just enough of ``docker.DockerClient`` for the REPL and the clean-up."""

    def __init__(self, images=("rlm-desktop-repl:latest",)) -> None:
        self.images_there = set(images)
        self.specs: list[dict] = []
        self.live: list[FakeContainer] = []
        self.listed: list = []
        self.containers = self
        self.images = self

    # client.images.get
    def get(self, name):
        if name not in self.images_there:
            raise ImageNotFound(f"No such image: {name}")
        return name

    # client.containers.create / list
    def create(self, **spec):
        self.specs.append(spec)
        c = FakeContainer(self, spec)
        self.live.append(c)
        return c

    def list(self, all=False, filters=None):
        assert all and filters == {"label": dc.LABEL_PID}
        return list(self.listed)


@pytest.fixture
def fake_env():
    envs = started_envs(DockerReplEnvironment, lambda: handler, block_timeout=20, interrupt_grace=0.5)
    make_env = next(envs)

    def make(context="ctx", engine=None, **kw):
        engine = engine or FakeEngine()
        return make_env(context, client=engine, **kw), engine

    yield make
    envs.close()  # closes every environment made


# -- the spec ---------------------------------------------------------------------------------------


def test_container_spec_is_locked_down(tmp_path):
    spec = dc.container_spec(
        image="img:1",
        name="rlm-desktop-x-0",
        tmp=str(tmp_path),
        socket_name="s0",
        labels={"a": "b"},
        memory_limit_mb=300,
        cpus=1.5,
        pids_limit=64,
        tmpfs_mb=32,
        user="1234:1234",
    )
    assert spec["image"] == "img:1" and spec["name"] == "rlm-desktop-x-0"
    assert spec["network_mode"] == "none"
    assert spec["mem_limit"] == spec["memswap_limit"] == "300m"
    assert spec["nano_cpus"] == 1_500_000_000 and spec["pids_limit"] == 64
    assert spec["read_only"] is True and spec["user"] == "1234:1234"
    assert set(spec["tmpfs"]) == {"/tmp", dc.WORKDIR} and "size=32m" in spec["tmpfs"]["/tmp"]
    assert spec["working_dir"] == dc.WORKDIR
    assert spec["volumes"] == {str(tmp_path): {"bind": dc.MOUNT, "mode": "ro"}}
    assert spec["command"] == ["python3", f"{dc.MOUNT}/worker.py", "--connect", f"{dc.MOUNT}/s0"]
    assert spec["cap_drop"] == ["ALL"] and "no-new-privileges" in spec["security_opt"]
    assert spec["init"] is True and spec["labels"] == {"a": "b"}
    unlimited = dc.container_spec(
        image="i", name="n", tmp="/t", socket_name="s", labels={}, memory_limit_mb=None, cpus=None,
        pids_limit=None,
    )
    assert not {"mem_limit", "nano_cpus", "pids_limit"} & set(unlimited)
    assert unlimited["network_mode"] == "none"


def test_no_secret_reaches_the_container_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-1")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-secret-2")
    env = dc.container_environment({"MY_TOKEN": "t0k", "HF_API_KEY": "k", "FOO": "bar"})
    assert env["FOO"] == "bar" and env["HOME"] == dc.WORKDIR
    assert not any("sk-secret" in v or v in ("t0k", "k") for v in env.values())
    assert not any("KEY" in k or "TOKEN" in k for k in env)


def test_default_user_is_never_root(monkeypatch):
    monkeypatch.setattr(os, "getuid", lambda: 0)
    assert dc.default_user() == dc.NOBODY
    monkeypatch.setattr(os, "getuid", lambda: 1000)
    monkeypatch.setattr(os, "getgid", lambda: 100)
    assert dc.default_user() == "1000:100"


def test_owner_labels_name_this_process():
    labels = dc.owner_labels("sess", "/tmp/rlm-repl-x")
    assert labels[dc.LABEL_PID] == str(os.getpid()) and labels[dc.LABEL_SESSION] == "sess"
    assert labels[dc.LABEL_TMP] == "/tmp/rlm-repl-x"
    assert not dc.owner_is_gone(labels)


def test_exit_status_names_signals():
    assert dc.exit_status(0) == 0 and dc.exit_status(3) == 3
    assert dc.exit_status(139) == -signal.SIGSEGV
    assert dc.exit_status(0, oom_killed=True) == -signal.SIGKILL
    assert dc.exit_status(None) == -signal.SIGKILL


# -- left-over clean-up ---------------------------------------------------------------------------


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


class Listed:
    def __init__(self, name, labels, fail=False):
        self.name, self.labels, self.fail, self.removed = name, labels, fail, False

    def remove(self, force=False):
        if self.fail:
            raise RuntimeError("No such container")
        self.removed = force


def test_cleanup_removes_only_containers_of_dead_owners():
    me = dc.owner_labels("s")
    stale_tmp = tempfile.mkdtemp(prefix="rlm-repl-")
    other_tmp = tempfile.mkdtemp(prefix="keep-me-")
    try:
        dead = Listed("dead", {**me, dc.LABEL_PID: str(dead_pid()), dc.LABEL_TMP: stale_tmp})
        reused = Listed("reused", {**me, dc.LABEL_START: "1"})  # our pid, another life
        mine = Listed("mine", dict(me))
        elsewhere = Listed("elsewhere", {**me, dc.LABEL_PID: str(dead_pid()), dc.LABEL_HOST: "other-host"})
        odd = Listed("odd", {dc.LABEL_PID: "not-a-pid"})
        gone = Listed("gone", {**me, dc.LABEL_PID: str(dead_pid()), dc.LABEL_TMP: other_tmp}, fail=True)
        engine = FakeEngine()
        engine.listed = [dead, reused, mine, elsewhere, odd, gone]
        assert dc.cleanup_leftover_containers(engine) == ["dead", "reused"]
        assert dead.removed and reused.removed
        assert not (mine.removed or elsewhere.removed or odd.removed)
        assert not os.path.exists(stale_tmp)  # the dead owner's REPL temp dir too
        assert os.path.exists(other_tmp)  # never a dir that is not a REPL temp dir
    finally:
        for d in (stale_tmp, other_tmp):
            dc.shutil.rmtree(d, ignore_errors=True)


def test_a_tmp_label_outside_the_temp_dir_is_never_removed(tmp_path):
    victim = tmp_path / "rlm-repl-looks-like-ours"
    victim.mkdir()
    dc._remove_tmp(str(victim))  # its parent is not the temp dir itself
    assert victim.exists()


# -- errors -----------------------------------------------------------------------------------------


def test_unreachable_daemon_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    with pytest.raises(DockerUnavailable, match="Docker is not reachable"):
        docker_client(timeout=2)
    env = DockerReplEnvironment("c", handler)
    with pytest.raises(DockerUnavailable, match="Docker is not reachable"):
        env.start()
    env.close()
    stale = tmp_path / "stale.sock"  # a socket file nobody listens on (a dead engine)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.bind(str(stale))
        monkeypatch.setenv("DOCKER_HOST", f"unix://{stale}")
        with pytest.raises(DockerUnavailable, match="Docker is not reachable.*refused"):
            docker_client(timeout=2)


def test_missing_sdk_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "docker", None)
    with pytest.raises(DockerUnavailable, match="'docker' Python package"):
        docker_client()


def test_missing_image_says_how_to_build_it():
    env = DockerReplEnvironment("c", handler, client=FakeEngine(images=()), image="nope:1")
    with pytest.raises(DockerUnavailable, match=r"'nope:1' is missing.*build_repl_image\.sh"):
        env.start()
    env.close()


def test_the_engine_finds_the_docker_environment_by_name():
    assert environment_class("docker") is DockerReplEnvironment


def test_an_engine_run_without_docker_fails_cleanly(monkeypatch, tmp_path):
    from rlm_desktop.trajectory.model import RunStatus
    from tests.test_engine_loop import R, make_engine

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")
    eng, _ = make_engine({"r0/i0": R("print(1)")}, tmp_path, environment="docker")
    result = eng.completion("q", "ctx")
    assert result.status == RunStatus.FAILED
    assert "Docker is not reachable" in result.error


# -- the REPL over the fake engine ----------------------------------------------------------------


def test_repl_runs_in_the_container_spec(fake_env, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-never-inside")
    env, engine = fake_env(
        {"k": [1, 2]}, memory_limit_mb=512, cpus=0.5, pids_limit=99, container_env={"X_API_KEY": "no", "A": "1"}
    )
    (spec,) = engine.specs
    assert spec["network_mode"] == "none" and spec["mem_limit"] == "512m"
    assert spec["nano_cpus"] == 500_000_000 and spec["pids_limit"] == 99
    assert spec["labels"][dc.LABEL_PID] == str(os.getpid())
    assert spec["labels"][dc.LABEL_SESSION] == env.session
    assert spec["labels"][dc.LABEL_TMP] == env._tmp
    assert spec["user"] != "0" and not spec["user"].startswith("0:")
    assert env.container_name == spec["name"]
    r = env.execute("x = len(context['k'])\nprint(llm_query('hi'), rlm_query_batched(['a', 'b']))")
    assert r.stdout == "llm:hi ['rlm:a', 'rlm:b']\n" and r.failure is None
    r = env.execute("import os\nprint(x, sorted(k for k in os.environ if 'KEY' in k), os.environ['A'])")
    assert r.stdout == "2 [] 1\n"  # state kept; no key in the container's environment


def test_crashes_kills_and_close_remove_containers(fake_env):
    env, engine = fake_env(block_timeout=1.0)
    first = engine.live[0]
    r = env.execute("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)")
    assert r.failure == "crashed" and "SIGSEGV" in r.stderr and r.state_lost
    assert first.removed and engine.live == []
    assert env.execute("y = 5").failure is None  # a fresh container
    r = env.execute("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: time.sleep(0.01)")
    assert r.failure == "timeout" and r.state_lost and "killed" in r.stderr
    assert len(engine.specs) == 2 and engine.live == []  # killed and removed
    r = env.execute("print('again')")
    assert r.stdout == "again\n" and len(engine.live) == 1 and len(engine.specs) == 3
    assert engine.specs[-1]["name"] != engine.specs[0]["name"]
    tmp = env._tmp
    env.close()
    assert engine.live == [] and not os.path.exists(tmp)


def test_timeout_interrupts_and_cancel_keeps_state(fake_env):
    env, engine = fake_env(block_timeout=1.0)
    env.execute("n = 7")
    r = env.execute("while True: pass")
    assert r.failure == "timeout" and not r.state_lost
    threading.Timer(0.3, env.cancel).start()
    r = env.execute("import time\nwhile True: time.sleep(0.01)")
    assert r.failure == "cancelled"
    assert env.execute("print(n)").stdout == "7\n" and len(engine.specs) == 1


def test_socket_and_worker_are_reachable_by_another_container_user(fake_env):
    env, _ = fake_env(user="4242:4242")
    assert os.stat(env._tmp).st_mode & 0o777 == 0o711  # enter, not list
    assert os.stat(os.path.join(env._tmp, "worker.py")).st_mode & 0o777 == 0o644


def test_own_uid_keeps_the_temp_dir_private(fake_env):
    env, _ = fake_env(user=f"{os.getuid()}:{os.getgid()}")
    assert os.stat(env._tmp).st_mode & 0o777 == 0o700


def test_a_container_that_cannot_start_is_removed_and_reported(fake_env, monkeypatch):
    engine = FakeEngine()

    def broken_start(self):
        raise RuntimeError('exec: "python3": executable file not found in $PATH')

    monkeypatch.setattr(FakeContainer, "start", broken_start)
    with pytest.raises(RuntimeError, match="could not start the REPL container"):
        fake_env(engine=engine)
    assert len(engine.specs) == 1 and engine.live == []
