"""Under CI=true every skip fails the run: a test that skips while it runs, and a module that skips itself while it is
collected (`pytest.importorskip` at module level), which pytest would otherwise count as one quiet "skipped"."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).with_name("conftest.py")


def _run_suite(tmp_path: Path, ci: str | None) -> subprocess.CompletedProcess:
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_needs_missing.py").write_text(
        'import pytest\n\npytest.importorskip("chatkit_fix_no_such_module")\n\n\ndef test_unreached():\n    pass\n')
    (tmp_path / "test_skips_inside.py").write_text(
        'import pytest\n\n\ndef test_skips():\n    pytest.skip("no database")\n')
    (tmp_path / "test_fine.py").write_text("def test_fine():\n    pass\n")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci is not None:
        env["CI"] = ci
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_every_skip_fails_under_ci(tmp_path):
    done = _run_suite(tmp_path, "true")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "2 failed, 1 passed" in done.stdout, done.stdout
    assert "test_needs_missing.py skipped at collection under CI=true" in done.stdout
    assert "chatkit_fix_no_such_module" in done.stdout
    assert "skipped under CI=true, which counts as a failure: Skipped: no database" in done.stdout


@pytest.mark.parametrize("ci", [None, "false"])
def test_skips_stay_skips_outside_ci(tmp_path, ci):
    done = _run_suite(tmp_path, ci)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed, 2 skipped" in done.stdout, done.stdout
