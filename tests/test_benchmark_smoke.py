"""The benchmark script runs end to end on a small tree and prints its tables (no timing is asserted here)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from itertools import islice
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "run.py"
JS_SUFFIXES = (".js", ".ts", ".tsx", ".mjs", ".cjs")


def _js_source(tmp_path: Path) -> Path:
    """Installed npm packages without touching the network: npm's own global folder, else a few written files."""
    npm = shutil.which("npm")
    if npm:
        root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True).stdout.strip()
        if root and len(list(islice((p for p in Path(root).rglob("*.js") if p.is_file()), 20))) == 20:
            return Path(root)
    folder = tmp_path / "js-source"
    for i in range(25):
        path = folder / f"pkg{i % 5}" / f"mod{i}{JS_SUFFIXES[i % len(JS_SUFFIXES)]}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"export const value{i} = {i};\n")
    return folder


def test_benchmark_runs_on_a_small_tree(tmp_path):
    keep = tmp_path / "bench"
    command = [
        sys.executable, str(SCRIPT), "--py-files", "50", "--js-files", "20", "--runs", "1", "--libcst-runs", "1",
        "--no-warmup", "--keep", str(keep), "--js-source", str(_js_source(tmp_path)),
        "--site-packages", sysconfig.get_paths()["purelib"],  # not the pinned packages: no download in a smoke test
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "| command | median | min | runs | peak RSS | exit |" in out
    assert "| target | measured | limit | verdict |" in out
    assert "`chatkit-fix check --no-cache .` (tree)" in out
    assert "application code in the tree + 40 services: " in out
    assert "CK901" in out, out  # the planted projects give the check real work
    for target in ("`check` tree / ruff E9", "libcst every file / `check` tree", "`apply` tree / `check` tree",
                   "`check` doubled tree / `check` tree", "peak RSS", "`check` tree + 40 services / ruff E9 on it",
                   "second `check`, tree unchanged / first", "cost of one planted ChatKit service"):
        assert target in out
    tree = keep / "tree"
    assert sum(1 for _ in tree.joinpath("pylib").rglob("*.py")) == 50
    assert sum(1 for p in tree.joinpath("jslib").rglob("*") if p.is_file()) == 20
    assert (tree / "apps" / "helpdesk" / "backend" / "app" / "main.py").is_file()
    services = sorted(p.name for p in (keep / "tree-services-40" / "services").iterdir())
    assert len(services) == 40 and services[0] == "helpdesk-00"
    planted = (keep / "tree-services-40" / "services" / "recipes-bot-01" / "src" / "recipes_bot_01").is_dir()
    assert planted, services
    assert not (keep / "scratch").exists()


@pytest.mark.slow
def test_named_mutants_of_issue_22_are_killed():
    """The ten changes to rules that once passed the whole suite (issue 22) each fail a test now."""
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "mutation.py"), "--named"], capture_output=True,
                          text=True, timeout=900, cwd=REPO)
    lines = done.stdout.splitlines()
    assert done.returncode == 0 and len(lines) == 10, done.stdout + done.stderr[-2000:]
    assert all(": killed (" in line for line in lines), done.stdout
