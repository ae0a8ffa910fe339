"""HTML export: one self-contained page, all log text escaped, no script from the log runs;
checked in a real headless Chromium (Debian package ``chromium``) with a screenshot."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from rlm_desktop.trajectory import summary
from rlm_desktop.trajectory.html_export import export_html, write_html
from rlm_desktop.trajectory.reader import read_file
from tests.support.diff_pairs import generate_pairs

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install chromium; scripts/setup.sh test does it)")

HOSTILE = [
    "<script>document.title='pwned'</script>",
    "<img src=x onerror=\"document.title='pwned-img'\">",
    "</pre></details><script>document.title='pwned2'</script>",
    "<!-- <script>document.title='pwned3'</script> -->",
    "<a href=\"javascript:document.title='pwned4'\">click</a>",
    "]]></style><svg onload=\"document.title='pwned5'\">",
    "\" onmouseover=\"document.title='pwned6'",
]


def hostile_log(path: Path) -> str:
    evil = "\n".join(HOSTILE)
    meta = {"type": "metadata", "timestamp": "2026-01-01T00:00:00", "root_model": "<b>model</b>" + HOSTILE[0],
            "max_depth": 2, "max_iterations": 5, "backend": "openai", "backend_kwargs": {},
            "environment_type": "local", "environment_kwargs": {}, "other_backends": None}
    child_it = {"type": "iteration", "iteration": 1, "timestamp": "t", "prompt": [{"role": "user", "content": evil}],
                "response": evil, "code_blocks": [], "final_answer": evil, "iteration_time": 0.1}
    call = {"root_model": HOSTILE[1], "prompt": [{"role": HOSTILE[6], "content": evil}], "response": evil,
            "usage_summary": {"model_usage_summaries": {"m": {"total_calls": 1, "total_input_tokens": 12,
                                                              "total_output_tokens": 3}}},
            "execution_time": 0.2,
            "metadata": {"run_metadata": {"root_model": HOSTILE[1]}, "iterations": [child_it]}}
    it = {"type": "iteration", "iteration": 1, "timestamp": "t",
          "prompt": [{"role": "system", "content": evil}, {"role": "user", "content": evil}],
          "response": "```repl\n" + evil + "\n```", "final_answer": evil, "iteration_time": 1.5,
          "code_blocks": [{"code": evil, "result": {"stdout": evil, "stderr": evil, "execution_time": 0.5,
                                                    "locals": {HOSTILE[0]: evil, "x": 1}, "rlm_calls": [call],
                                                    "final_answer": evil}}]}
    path.write_text(json.dumps(meta) + "\n" + json.dumps(it) + "\n")
    return str(path)


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags_of(text: str) -> list[tuple[str, dict]]:
    p = _Tags()
    p.feed(text)
    return p.tags


def test_every_log_text_is_escaped(tmp_path):
    traj = read_file(hostile_log(tmp_path / "evil.jsonl"))
    page = export_html(traj)
    tags = tags_of(page)
    assert not [t for t, _ in tags if t in ("script", "img", "svg", "a", "iframe", "object")]
    assert not [a for _, attrs in tags for a in attrs if a.startswith("on")]
    assert "Content-Security-Policy" in page and "script-src 'none'" in page
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in page
    assert "http://" not in page and "https://" not in page  # nothing to fetch: opens offline


def test_real_upstream_log_tree_and_metrics(tmp_path):
    pairs = generate_pairs(tmp_path / "pairs")
    traj = read_file(str(pairs["deep"]["a"]))
    page = export_html(traj)
    for node in traj.walk():  # every node of the tree, at every depth, is on the page
        assert f'<span class="path">{node.path}</span>' in page
    assert "d2 says [mock-leaf] re: deepest question" in page  # a grandchild's answer
    assert f"{summary.trajectory_usage(traj).total_tokens:,} tokens" in page
    assert "depth 3" in page  # sub-calls per depth


def dump_dom(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=2000", *extra, url],
        capture_output=True, text=True, timeout=120)


@needs_chromium
def test_in_headless_chromium_no_script_from_the_log_runs(tmp_path):
    out = tmp_path / "evil.html"
    traj = read_file(hostile_log(tmp_path / "evil.jsonl"))
    write_html(traj, str(out), title="evil run")
    proc = dump_dom(out.as_uri(), tmp_path, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert "<title>evil run — RLM run</title>" in dom
    assert "pwned" not in re.search(r"<title>(.*?)</title>", dom, re.S).group(1)
    tags = tags_of(dom)
    assert not [t for t, _ in tags if t in ("script", "img", "svg", "a", "iframe")], [t for t, _ in tags][:50]
    assert not [a for _, attrs in tags for a in attrs if a.startswith("on")]
    assert "document.title='pwned'" in dom.replace("&#x27;", "'").replace("&#39;", "'")  # shown as text
    # the whole tree is in the page (nested details down to the child run)
    assert "r0/i0/b0/c0/r/i0" in dom


@needs_chromium
def test_screenshot_in_chromium(tmp_path):
    pairs = generate_pairs(tmp_path / "pairs")
    traj = read_file(str(pairs["deep"]["a"]))
    out = tmp_path / "run.html"
    write_html(traj, str(out), title="depth-3 run (rlms 0.1.3)")
    shot = tmp_path / "shot.png"
    proc = dump_dom(out.as_uri(), tmp_path, f"--screenshot={shot}", "--window-size=1280,900",
                    "--hide-scrollbars")
    assert proc.returncode == 0 and shot.exists() and shot.stat().st_size > 10_000, proc.stderr[-2000:]
    docs = ROOT / "docs" / "screenshot-html-export.png"
    if os.environ.get("RLM_DESKTOP_SCREENSHOTS") or not docs.exists():
        shutil.copy(shot, docs)


def test_export_command_line(tmp_path, capsys):
    from rlm_desktop.export_cli import export_main

    src = hostile_log(tmp_path / "evil.jsonl")
    assert export_main([src, "-o", str(tmp_path / "out.html")]) == 0
    page = (tmp_path / "out.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert export_main([src]) == 0 and (tmp_path / "evil.html").exists()
    assert export_main([str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl" in capsys.readouterr().err


def test_export_from_the_file_menu(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFileDialog

    src = hostile_log(tmp_path / "evil.jsonl")
    window.open_files([src])
    qtbot.waitUntil(lambda: src in window.documents and window.loader.pending == 0, timeout=10000)
    out = tmp_path / "menu.html"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), "HTML (*.html)"))
    assert window.html_export.action in window.menuBar().actions()[0].menu().actions()
    with qtbot.waitSignal(window.html_export.done, timeout=10000) as sig:
        qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert sig.args == [str(out), ""]
    window.html_export.worker.join(5)
    page = out.read_text(encoding="utf-8")
    assert "<title>evil.jsonl — RLM run</title>" in page and "<script" not in page
    assert window.status.currentMessage() == f"Exported {out}"
