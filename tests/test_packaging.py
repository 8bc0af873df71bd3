"""The installed wheel, not the checkout: it runs, and it puts nothing but `chatkit_fix` into site-packages."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from chatkit_fix import __version__

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    source = tmp_path_factory.mktemp("src") / "chatkit-fix"
    # build from a clean copy so stale build/ folders of the checkout cannot leak into the wheel
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(".cache", ".git", "build", "*.egg-info", "__pycache__", "node_modules"))
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(source)],
        check=True, capture_output=True, text=True,
    )
    (built,) = out.glob("chatkit_fix-*.whl")
    return built


@pytest.mark.slow
def test_wheel_has_only_the_chatkit_fix_namespace(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    assert top_level == {"chatkit_fix", f"chatkit_fix-{__version__}.dist-info"}
    assert any(name.startswith("chatkit_fix/codemods/ck901_") for name in names)
    assert any(name.startswith("chatkit_fix/templates/") and name.endswith(".j2") for name in names)
    assert "chatkit_fix/data/version-facts.json" in names and "chatkit_fix/data/releases.json" in names


@pytest.mark.slow
def test_installed_wheel_runs_in_a_fresh_virtualenv(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True)
    version = subprocess.run([str(env_dir / "bin" / "chatkit-fix"), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == f"chatkit-fix, version {__version__}"
    example = tmp_path / "broken-todo"
    shutil.copytree(ROOT / "examples" / "broken-todo", example)
    checked = subprocess.run([str(env_dir / "bin" / "chatkit-fix"), "check", str(example)], capture_output=True, text=True)
    assert checked.returncode == 1, checked.stdout + checked.stderr
    assert "CK901" in checked.stdout and "CK202" in checked.stdout
    no_generic = subprocess.run([str(python), "-c", "import codemods"], capture_output=True, text=True, cwd=tmp_path)
    assert no_generic.returncode != 0 and "No module named 'codemods'" in no_generic.stderr
