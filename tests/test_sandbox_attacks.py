"""The default REPL (bubblewrap sandbox) against model code written by an attacker.

Every attack of issue 12 is a test here, with real bubblewrap (installed by
scripts/setup.sh; CI runs these, they are not skipped there). Each block is what model
code could run; the host checks the outcome itself wherever it can (processes, files)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from rlm_desktop.engine.repl.bwrap import probe
from rlm_desktop.engine.repl.sandbox_env import SandboxReplEnvironment
from tests.support.repl_envs import started_envs

SECRET = "sk-test-0123456789abcdef-SANDBOX"
# Linux only (bubblewrap is); there a missing or broken bwrap makes these tests fail with the
# reason (scripts/setup.sh installs it), it never skips them
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="bubblewrap is Linux only")


@pytest.fixture(autouse=True, scope="module")
def _bwrap_works():
    assert probe().available, probe().message


def _answers(req):
    return [f"answer to {p}" for p in req.prompts]


@pytest.fixture
def make_env():
    yield from started_envs(SandboxReplEnvironment, lambda: _answers, memory_limit_mb=512)


def run_json(env, code):
    """Run ``code`` (which prints one JSON line last) and return that value."""
    r = env.execute(textwrap.dedent(code))
    assert r.failure is None, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def markers(tag):
    """Host pids whose command line contains ``tag``."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    if tag.encode() in f.read():
                        found.append(int(name))
            except OSError:
                pass
    return found


def wait_gone(tag, timeout=10.0):
    deadline = time.monotonic() + timeout
    while markers(tag) and time.monotonic() < deadline:
        time.sleep(0.05)
    return markers(tag)


# -- keys --------------------------------------------------------------------------------------


def test_no_key_in_the_environment_whatever_its_name(make_env, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("MY_LLM_PASS", SECRET)  # a name no filter would catch
    monkeypatch.setenv("HARMLESS_SETTING", "visible-on-request")
    env = make_env(env_passthrough=("HARMLESS_SETTING",))
    got = run_json(
        env,
        """
        import os, json
        print(json.dumps({"names": sorted(os.environ), "has": any(NEEDLE in v for v in os.environ.values()),
                          "harmless": os.environ.get("HARMLESS_SETTING")}))
        """.replace("NEEDLE", repr(SECRET)),
    )
    assert got["has"] is False
    assert "MY_LLM_PASS" not in got["names"] and "OPENAI_API_KEY" not in got["names"]
    assert got["harmless"] == "visible-on-request"  # the user named it: it passes


def test_no_key_from_proc_or_memory_of_the_app(make_env, monkeypatch):
    monkeypatch.setenv("MY_LLM_PASS", SECRET)
    typed_key = "sk-typed-in-the-dialog-" + "7" * 20  # lives in this (the app's) memory
    app = os.getpid()
    got = run_json(
        make_env(),
        f"""
        import os, json, re
        found, tried = [], {{}}
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
        for pid in sorted(set(pids + [{app}, os.getppid()])):
            for what in ("environ", "cmdline"):
                try:
                    data = open(f"/proc/{{pid}}/{{what}}", "rb").read()
                    if b"sk-" in data:
                        found.append((pid, what))
                except OSError as exc:
                    tried[f"{{pid}}/{{what}}"] = type(exc).__name__
            if pid == os.getpid():
                continue  # this very code holds the needles it looks for
            try:  # every readable mapping of every other process it can see
                maps = open(f"/proc/{{pid}}/maps").read().splitlines()
                with open(f"/proc/{{pid}}/mem", "rb", 0) as mem:
                    for line in maps:
                        lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
                        if "r" not in line.split()[1] or hi - lo > 256 << 20:
                            continue
                        try:
                            mem.seek(lo)
                            chunk = mem.read(hi - lo)
                        except (OSError, OverflowError, ValueError):
                            continue
                        if {typed_key!r}.encode() in chunk or {SECRET!r}.encode() in chunk:
                            found.append((pid, "mem"))
            except OSError as exc:
                tried[f"{{pid}}/mem"] = type(exc).__name__
        print(json.dumps({{"pids": pids, "found": found, "app": tried.get("{app}/environ")}}))
        """,
    )
    assert got["found"] == []
    assert app not in got["pids"] and len(got["pids"]) <= 4  # its own PID namespace
    assert got["app"] in ("FileNotFoundError", "ProcessLookupError", None)


def test_no_settings_logs_or_home_of_the_app(make_env, tmp_path):
    log = tmp_path / "logs" / "rlm_2026.jsonl"
    log.parent.mkdir()
    log.write_text(json.dumps({"type": "metadata", "key": SECRET}) + "\n")
    settings = tmp_path / "config" / "rlm-desktop.conf"
    settings.parent.mkdir()
    settings.write_text(f"[backend]\napi_key={SECRET}\n")
    home = os.path.expanduser("~")
    got = run_json(
        make_env(),
        f"""
        import os, json
        out = {{}}
        for p in ({str(log)!r}, {str(settings)!r}, {home!r}, {str(tmp_path)!r}):
            try:
                out[p] = sorted(os.listdir(p)) if os.path.isdir(p) else open(p).read()
            except OSError as exc:
                out[p] = type(exc).__name__
        hits = []
        for root, dirs, files in os.walk("/"):
            dirs[:] = [d for d in dirs if os.path.join(root, d) not in ("/proc", "/sys", "/dev", "/usr")]
            for f in files:
                p = os.path.join(root, f)
                if f.endswith((".jsonl", ".conf", ".ini")) and "site-packages" not in p:
                    try:
                        if {SECRET!r} in open(p, errors="replace").read():
                            hits.append(p)
                    except OSError:
                        pass
        print(json.dumps({{"out": out, "hits": hits}}))
        """,
    )
    assert got["hits"] == []
    seen_home = got["out"].pop(home)
    assert all(v == "FileNotFoundError" for v in got["out"].values()), got["out"]
    # no home: at most the path down to a Python installation bound read-only (here under ~)
    if seen_home != "FileNotFoundError":
        pythons = [os.path.realpath(p) for p in (sys.prefix, sys.base_prefix)]
        assert all(any(py.startswith(os.path.join(home, n) + os.sep) for py in pythons) for n in seen_home)


# -- the app's process ---------------------------------------------------------------------


def test_cannot_signal_stop_or_ptrace_the_app(make_env):
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        got = run_json(
            make_env(),
            f"""
            import os, json, signal, ctypes
            out = {{}}
            for name, pid in (("app", {os.getpid()}), ("victim", {victim.pid}), ("parent", os.getppid())):
                for sig in (signal.SIGSTOP, signal.SIGKILL):
                    try:
                        os.kill(pid, sig)
                        out[f"{{name}}-{{sig.name}}"] = "sent"
                    except OSError as exc:
                        out[f"{{name}}-{{sig.name}}"] = type(exc).__name__
                libc = ctypes.CDLL(None, use_errno=True)
                out[f"{{name}}-ptrace"] = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH
            print(json.dumps(out))
            """,
        )
        assert got["app-ptrace"] == -1 and got["victim-ptrace"] == -1
        assert got["app-SIGKILL"] == "ProcessLookupError" and got["victim-SIGKILL"] == "ProcessLookupError"
        time.sleep(0.2)
        assert victim.poll() is None  # still running
        with open(f"/proc/{victim.pid}/stat") as f:
            assert f.read().rsplit(")", 1)[1].split()[0] != "T"  # not stopped
    finally:
        victim.kill()
        victim.wait()


# -- memory ----------------------------------------------------------------------------------


def test_memory_limit_cannot_be_raised(make_env):
    env = make_env(memory_limit_mb=256)
    got = run_json(
        env,
        """
        import resource, json
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        try:
            resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            raised = "raised"
        except (ValueError, OSError) as exc:
            raised = type(exc).__name__
        try:
            resource.setrlimit(resource.RLIMIT_AS, (hard, hard))  # the same value is allowed
            block = b"x" * (600 << 20)
            big = len(block)
        except MemoryError:
            big = "MemoryError"
        print(json.dumps({"soft": soft, "hard": hard, "raised": raised, "big": big}))
        """,
    )
    assert got["soft"] == got["hard"] == 256 << 20
    assert got["raised"] in ("ValueError", "PermissionError")
    assert got["big"] == "MemoryError"


def test_memory_limit_covers_children_together(make_env):
    """Two children of 180 MB each under a 256 MB limit: each is under its own RLIMIT_AS,
    but the sandbox's cgroup holds their sum, so they cannot both live."""
    env = make_env(memory_limit_mb=256)
    assert env.jail is not None and env.jail.covers_children, env.jail.describe()
    got = run_json(
        env,
        """
        import subprocess, sys, json
        child = "import time; b = b'x' * (180 << 20); print('ok', flush=True); time.sleep(3)"
        procs = [subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE) for _ in range(2)]
        outs = [p.communicate()[0].decode() for p in procs]
        print(json.dumps({"lived": sum(o.strip() == "ok" and p.returncode == 0 for o, p in zip(outs, procs)),
                          "codes": [p.returncode for p in procs]}))
        """,
    )
    # one may get its 180 MB and say "ok" before the other's push the sum over the limit:
    # then it is the one killed (SIGKILL), while it sleeps holding them
    assert got["lived"] < 2, got


def test_a_fork_bomb_stops_at_the_process_bound(make_env):
    env = make_env(pids_max=40)
    assert env.jail.pids_max == 40, env.jail.describe()
    got = run_json(
        env,
        """
        import os, json, time
        kids = []
        try:
            for _ in range(200):
                pid = os.fork()
                if pid == 0:
                    time.sleep(30)
                    os._exit(0)
                kids.append(pid)
            error = None
        except OSError as exc:
            error = exc.strerror
        for pid in kids:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        print(json.dumps({"forked": len(kids), "error": error}))
        """,
    )
    assert got["forked"] < 40 and got["error"] == "Resource temporarily unavailable", got
    assert env.execute("print('alive')").stdout == "alive\n"


def test_without_cgroups_every_process_has_the_hard_limit(make_env):
    env = make_env(memory_limit_mb=256, use_cgroups=False)
    assert env.jail is not None and env.jail.kind == "rlimit"
    got = run_json(
        env,
        """
        import subprocess, sys, json
        child = ("import resource\\ntry:\\n    resource.setrlimit(resource.RLIMIT_AS, (-1, -1))\\n"
                 "except Exception as e:\\n    print(type(e).__name__)\\n"
                 "try:\\n    b = b'x' * (400 << 20)\\nexcept MemoryError:\\n    print('MemoryError')")
        out = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True).stdout
        print(json.dumps(out.split()))
        """,
    )
    assert got == ["ValueError", "MemoryError"]


# -- processes that try to outlive the sandbox --------------------------------------------------

_ESCAPE = """
import os, subprocess, sys
def escape(tag):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", tag])
        os._exit(0)
    os.wait()
escape({tag!r})
print("escaped")
"""


def test_double_forked_setsid_process_dies_when_the_repl_closes(make_env):
    tag = f"rlm-escape-close-{os.getpid()}-{time.monotonic_ns()}"
    env = make_env()
    assert env.execute(_ESCAPE.format(tag=tag)).stdout == "escaped\n"
    deadline = time.monotonic() + 10
    while not markers(tag) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert markers(tag), "the escaped process should be running while the REPL lives"
    cgroups = env.jail._paths()
    assert cgroups and all(os.path.isdir(p) for p in cgroups)
    env.close()
    assert wait_gone(tag) == []
    assert not any(os.path.exists(p) for p in cgroups)  # the cgroups go with the REPL


def test_double_forked_setsid_process_dies_on_cancel(make_env):
    tag = f"rlm-escape-cancel-{os.getpid()}-{time.monotonic_ns()}"
    env = make_env()
    threading.Timer(1.5, env.cancel).start()
    r = env.execute(_ESCAPE.format(tag=tag) + "\nimport time\nwhile True:\n    time.sleep(0.05)\n")
    assert r.failure == "cancelled"
    assert wait_gone(tag) == []
    assert env.execute("print('still here')").stdout == "still here\n"  # the REPL itself lives on


def test_double_forked_setsid_process_dies_on_timeout(make_env):
    tag = f"rlm-escape-timeout-{os.getpid()}-{time.monotonic_ns()}"
    env = make_env(block_timeout=1.5)
    r = env.execute(_ESCAPE.format(tag=tag) + "\nimport time\ntime.sleep(30)\n")
    assert r.failure == "timeout"
    assert wait_gone(tag) == []


APP = """
import sys, time
sys.path.insert(0, {root!r})
from rlm_desktop.engine.repl.sandbox_env import SandboxReplEnvironment
env = SandboxReplEnvironment("ctx", lambda req: [""] * len(req.prompts))
env.start()
print(env._tmp, flush=True)
print(" ".join(env.jail._paths()), flush=True)
r = env.execute({code!r})
print(r.stdout.strip(), flush=True)
time.sleep(600)
"""


def test_everything_dies_when_the_app_is_killed_and_leftovers_go_at_next_start():
    from rlm_desktop.engine.repl import memory_jail, tempdirs

    tag = f"rlm-escape-kill9-{os.getpid()}-{time.monotonic_ns()}"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    app = subprocess.Popen(
        [sys.executable, "-c", APP.format(root=root, code=_ESCAPE.format(tag=tag))], stdout=subprocess.PIPE, text=True
    )
    try:
        tmp = app.stdout.readline().strip()
        cgroups = app.stdout.readline().split()
        assert app.stdout.readline().strip() == "escaped"
        assert markers(tag) and os.path.isdir(tmp)
        os.kill(app.pid, signal.SIGKILL)
        app.wait()
        assert wait_gone(tag) == []
        assert os.path.isdir(tmp)  # a killed app cannot clean up: the next start does
        assert tmp in tempdirs.cleanup_leftovers()
        assert not os.path.exists(tmp)
        assert cgroups and all(os.path.isdir(p) for p in cgroups)  # empty, but left behind
        assert set(cgroups) <= set(memory_jail.cleanup_leftovers())
        assert not any(os.path.exists(p) for p in cgroups)
    finally:
        app.kill()
        app.wait()


# -- files -------------------------------------------------------------------------------------


def test_nothing_outside_scratch_is_writable_the_log_least_of_all(make_env, tmp_path):
    log = tmp_path / "rlm_run.jsonl"
    log.write_text('{"type": "metadata"}\n')
    got = run_json(
        make_env(),
        f"""
        import os, json
        ok = []
        for p in ({str(log)!r}, "/x", "/etc/x", "/usr/x", "/root/x", {sys.prefix!r} + "/x", "/proc/sys/kernel/x",
                  "/dev/x", "/proc/1/x"):
            try:
                open(p, "a").close()
                ok.append(p)
            except OSError:
                pass
        for root, dirs, files in os.walk("/"):
            dirs[:] = [d for d in dirs if os.path.join(root, d) not in ("/proc", "/sys", "/dev", "/scratch", "/tmp")]
            for name in dirs + files:
                p = os.path.join(root, name)
                if os.path.realpath(p).startswith("/dev/"):
                    continue  # e.g. masked systemd units: links to /dev/null
                if os.access(p, os.W_OK):
                    ok.append(p)
        print(json.dumps(ok))
        """,
    )
    assert got == []
    assert log.read_text() == '{"type": "metadata"}\n'
    r = make_env().execute("open('/scratch/a', 'w').write('1'); open('/tmp/b', 'w').write('2'); print('ok')")
    assert r.stdout == "ok\n", r.stderr


def test_the_in_memory_folders_are_bounded(make_env):
    got = run_json(
        make_env(tmp_mb=32, memory_limit_mb=1024),
        """
        import json, multiprocessing
        out = {}
        for p in ("/tmp/fill", "/dev/shm/fill"):
            try:
                with open(p, "wb") as f:
                    for _ in range(64):
                        f.write(b"x" * (1 << 20))
                out[p] = "wrote 64 MB"
            except OSError as exc:
                out[p] = exc.strerror
        import os; os.unlink("/dev/shm/fill")
        multiprocessing.Lock()  # POSIX semaphores still work
        print(json.dumps(out))
        """,
    )
    assert got == {"/tmp/fill": "No space left on device", "/dev/shm/fill": "No space left on device"}


# -- network -----------------------------------------------------------------------------------


@pytest.fixture
def listener():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    yield srv.getsockname()[1]
    srv.close()


_CONNECT = """
import socket, json
out = {{}}
for host, port in (("127.0.0.1", {port}), ("8.8.8.8", 53), ("1.1.1.1", 443)):
    try:
        socket.create_connection((host, port), timeout=2).close()
        out[host] = "connected"
    except OSError as exc:
        out[host] = type(exc).__name__
print(json.dumps(out))
"""


def test_no_connection_anywhere_by_default(make_env, listener):
    got = run_json(make_env(), _CONNECT.format(port=listener))
    assert "connected" not in got.values(), got


def test_network_when_the_user_allows_it(make_env, listener):
    got = run_json(make_env(network=True), _CONNECT.format(port=listener))
    assert got["127.0.0.1"] == "connected"


def test_sub_calls_still_work_through_the_inherited_channel(make_env):
    r = make_env().execute("print(llm_query('x'))\nprint(rlm_query_batched(['a', 'b']))")
    assert r.stdout == "answer to x\n['answer to a', 'answer to b']\n", r.stderr
