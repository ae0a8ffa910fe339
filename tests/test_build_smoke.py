"""The desktop build: ``--smoke`` self-check (from source; scripts/build_desktop.sh runs it on
the frozen build), bundled-resource lookup (source / frozen / override) and build.spec."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rlm_desktop import paths

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "build.spec"


def smoke_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RLM_DESKTOP_")}
    env.update(QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "config"), **extra)
    return env


def run_smoke_process(tmp_path: Path, **extra: str) -> subprocess.CompletedProcess:
    work = tmp_path / "cwd"  # not the repository: resources must not be found by the cwd
    work.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "rlm_desktop", "--smoke"],
        cwd=work, env=smoke_env(tmp_path, PYTHONPATH=str(ROOT), **extra),
        capture_output=True, text=True, timeout=150,
    )


def broken_resources(tmp_path: Path, how: str) -> Path:
    dst = tmp_path / "resources"
    shutil.copytree(paths.resource_path(), dst)
    demo = dst / "demo"
    if how == "cut":  # the recording ends after two iterations
        lines = (demo / "demo_trajectory.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
        (demo / "demo_trajectory.jsonl").write_text("".join(lines[:3]), encoding="utf-8")
    elif how == "context":  # the file is intact, but the live run sees another context
        ctx = demo / "demo_context.txt"
        ctx.write_text(ctx.read_text(encoding="utf-8").replace("Aurora X2", "Zenith Q9"), encoding="utf-8")
    return dst


# -- the self-check ---------------------------------------------------------------------------


def test_smoke_from_source_passes_and_saves_a_screenshot(tmp_path):
    shot = tmp_path / "shot.png"
    proc = run_smoke_process(tmp_path, RLM_DESKTOP_SMOKE_SCREENSHOT=str(shot))
    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    report = [ln for ln in out.splitlines() if ln.startswith("smoke: ")]
    assert re.match(r"smoke: \d+ panels built \(Qt platform offscreen\)$", report[0]), report
    assert "opened demo_trajectory.jsonl: 1 run(s), 6 iteration(s), 8 code block(s)" in out
    assert "ran the demo live: 6 iteration(s), 8 code block(s) in the REPL worker, answer as recorded" in out
    assert report[-1].startswith("smoke: ok in ") and "frozen" not in report[-1]
    from PySide6.QtGui import QImage

    img = QImage(str(shot))
    assert not img.isNull() and img.width() >= 800 and img.height() >= 500


def test_smoke_fails_on_a_cut_demo_recording(tmp_path):
    proc = run_smoke_process(tmp_path, RLM_DESKTOP_RESOURCES=str(broken_resources(tmp_path, "cut")))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    assert last == "smoke: FAIL: demo trajectory answer None is not the expected one", proc.stdout


def test_smoke_in_process_fails_when_the_live_run_diverges(window, tmp_path, monkeypatch):
    """The recording itself is fine (the file checks pass); the live run gets another context,
    so the replayed model sees other prompts: the live part of the check must fail."""
    import io

    from rlm_desktop.ui.smoke import run_smoke

    monkeypatch.setenv(paths.ENV_VAR, str(broken_resources(tmp_path, "context")))
    out = io.StringIO()
    assert run_smoke(window, timeout=60, out=out, watchdog=False) == 1
    lines = out.getvalue().splitlines()
    assert any(ln.startswith("smoke: opened demo_trajectory.jsonl") for ln in lines), lines
    assert not any(ln.startswith("smoke: ran the demo live") for ln in lines), lines
    assert lines[-1].startswith("smoke: FAIL: the demo run "), lines
    assert not window.session.running


def test_smoke_in_process_fails_on_a_missing_panel(window, tmp_path):
    import io

    from rlm_desktop.ui.docks import Placeholder
    from rlm_desktop.ui.smoke import run_smoke

    window.panels["metrics"] = Placeholder("Metrics", "ModuleNotFoundError: No module named 'PySide6.QtOpenGL'")
    out = io.StringIO()
    assert run_smoke(window, timeout=30, out=out, watchdog=False) == 1
    assert out.getvalue().splitlines()[-1] == "smoke: FAIL: panels not available: metrics"


# -- bundled resources --------------------------------------------------------------------------


def test_resource_path_from_source():
    assert paths.resource_root() == ROOT / "resources"
    assert paths.resource_path("demo", "demo.json").is_file()
    from rlm_desktop.engine.demo import load_demo

    assert load_demo().trajectory_path == ROOT / "resources" / "demo" / "demo_trajectory.jsonl"


def test_resource_path_in_a_frozen_build(tmp_path, monkeypatch):
    bundle = tmp_path / "dist" / "rlm-desktop" / "_internal"
    shutil.copytree(ROOT / "resources", bundle / "resources")
    monkeypatch.delenv(paths.ENV_VAR, raising=False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    assert paths.resource_path("icons", "rlm-desktop.png") == bundle / "resources" / "icons" / "rlm-desktop.png"
    from rlm_desktop.engine.demo import load_demo

    assert load_demo().trajectory_path == bundle / "resources" / "demo" / "demo_trajectory.jsonl"
    # without _MEIPASS: the one-folder layout next to the executable
    monkeypatch.delattr(sys, "_MEIPASS")
    monkeypatch.setattr(sys, "executable", str(bundle.parent / "rlm-desktop"))
    assert paths.resource_root() == bundle / "resources"


def test_resource_override_wins(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "elsewhere"), raising=False)
    monkeypatch.setenv(paths.ENV_VAR, str(tmp_path / "mine"))
    assert paths.resource_path("demo") == tmp_path / "mine" / "demo"


def test_the_app_icon_is_bundled_and_loads(qapp):
    from PySide6.QtGui import QIcon, QImage

    from rlm_desktop.ui import app

    assert Path(app.ICON) == paths.resource_path("icons", "rlm-desktop.png")
    img = QImage(app.ICON)
    assert not img.isNull() and img.width() == img.height() >= 64
    assert not QIcon(app.ICON).isNull()


# -- build.spec -----------------------------------------------------------------------------------


class _Recorder:
    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        self.pure = self.scripts = self.binaries = []
        self.datas = [("PySide6/Qt/translations/qtbase_de.qm", "x", "DATA"),
                      ("PySide6/Qt/translations/qtwebengine_de.qm", "x", "DATA"),
                      ("resources/demo/demo.json", "x", "DATA")]


@pytest.fixture(scope="module")
def spec():
    ns = {"SPECPATH": str(ROOT), "__file__": str(SPEC)}
    for name in ("Analysis", "PYZ", "EXE", "COLLECT"):
        ns[name] = type(name, (_Recorder,), {})
    code = SPEC.read_text(encoding="utf-8")
    ast.parse(code)
    exec(compile(code, str(SPEC), "exec"), ns)
    return ns


def test_spec_builds_one_folder_with_resources(spec):
    a, exe, coll = spec["a"], spec["exe"], spec["coll"]
    assert [Path(p) for p in a.args[0]] == [ROOT / "rlm_desktop" / "__main__.py"]
    assert (str(ROOT / "resources"), "resources") in a.kwargs["datas"]
    assert exe.kwargs["exclude_binaries"] is True  # one folder, not one file
    assert exe.kwargs["name"] == coll.kwargs["name"] == "rlm-desktop"
    # translations of Qt modules we do not ship are dropped, the rest is kept
    assert [d[0] for d in a.datas] == ["PySide6/Qt/translations/qtbase_de.qm", "resources/demo/demo.json"]


def test_spec_excludes_unused_qt_and_keeps_what_the_app_imports(spec):
    excludes = set(spec["a"].kwargs["excludes"])
    for mod in ("QtWebEngineCore", "QtWebEngineWidgets", "Qt3DCore", "QtQml", "QtQuick", "QtMultimedia",
                "QtNetwork", "QtSql", "QtPdf", "QtCharts", "QtDesigner"):
        assert f"PySide6.{mod}" in excludes
    for lib in ("tkinter", "matplotlib", "IPython", "pytest", "hypothesis", "rlms"):
        assert lib in excludes
    used = set()
    for f in (ROOT / "rlm_desktop").rglob("*.py"):
        used |= set(re.findall(r"\bPySide6\.(Qt\w+)", f.read_text(encoding="utf-8")))
    used |= {"QtOpenGL", "QtOpenGLWidgets"}  # pyqtgraph.Qt.OpenGLHelpers imports them by name
    assert used >= {"QtCore", "QtGui", "QtWidgets"}
    assert not {f"PySide6.{m}" for m in used} & excludes


def test_spec_bundles_lazy_modules_and_the_stdlib_for_model_code(spec):
    hidden = set(spec["a"].kwargs["hiddenimports"])
    excludes = spec["a"].kwargs["excludes"]
    ours = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            for p in (ROOT / "rlm_desktop").rglob("*.py")}
    assert ours <= hidden  # panels, REPL environments, clients are imported lazily
    for mod in ("re", "json", "collections", "statistics", "sqlite3", "csv", "decimal", "fractions",
                "difflib", "zoneinfo", "xml.etree.ElementTree", "concurrent.futures", "numpy", "orjson"):
        assert mod in hidden, mod
    assert not any(m == "tkinter" or m.startswith(("tkinter.", "test.", "idlelib")) for m in hidden)
    clash = [m for m in hidden for x in excludes if m == x or m.startswith(x + ".")]
    assert clash == []


def test_watchdog_ends_a_stuck_process(tmp_path):
    """If the GUI thread itself stops answering, the check still ends (exit code 3, a FAIL line)."""
    code = (
        "import sys, time\n"
        "from rlm_desktop.ui.smoke import _watchdog\n"
        "_watchdog(0.3, sys.stdout)\n"
        "time.sleep(30)\n"  # a GUI thread that never comes back
        "print('not reached')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=smoke_env(tmp_path, PYTHONPATH=str(ROOT)),
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3
    assert proc.stdout.strip() == "smoke: FAIL: no answer from the GUI thread after 0.3 s (watchdog)"
