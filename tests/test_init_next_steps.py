"""`init` keeps secrets out of git and tells what to run next in lines that run as printed; its exit codes say
whether something is left for the user (README, "Exit codes")."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pathspec
import pytest
from click.testing import CliRunner

from chatkit_fix.cli import main


def init(*args: str, cwd: Path):
    old = Path.cwd()
    os.chdir(cwd)
    try:
        return CliRunner().invoke(main, ["init", *args], catch_exceptions=False)
    finally:
        os.chdir(old)


def ignored(root: Path, relative: str) -> bool:
    spec = pathspec.GitIgnoreSpec.from_lines((root / ".gitignore").read_text().splitlines())
    return spec.match_file(relative)


def test_init_writes_a_gitignore_that_keeps_the_secret_the_database_and_caches_out(tmp_path):
    result = init("myapp", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    app = tmp_path / "myapp"
    for secret_or_cache in ("backend/.env", "chatkit.sqlite3", "chatkit.sqlite3-wal", "backend/__pycache__/main.pyc",
                            "frontend/node_modules/react/index.js", "frontend/.next/cache", "frontend/.env.local"):
        assert ignored(app, secret_or_cache), secret_or_cache
    for kept in ("backend/.env.example", "frontend/.env.example", "backend/main.py", ".chatkit-fix.lock.json"):
        assert not ignored(app, kept), kept


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_add_all_after_init_commits_no_env_file(tmp_path):
    init("myapp", cwd=tmp_path)
    app = tmp_path / "myapp"
    shutil.copy(app / "backend" / ".env.example", app / "backend" / ".env")
    subprocess.run(["git", "init", "-q", str(app)], check=True)
    subprocess.run(["git", "-C", str(app), "add", "-A"], check=True)
    staged = subprocess.run(["git", "-C", str(app), "diff", "--cached", "--name-only"], capture_output=True, text=True,
                            check=True).stdout.splitlines()
    assert "backend/main.py" in staged and "backend/.env.example" in staged
    assert "backend/.env" not in staged


def test_an_existing_gitignore_only_gains_what_it_lacks(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    original = "# mine\r\n*.env\r\nnode_modules\r\n/secrets/"  # CRLF, no last newline; `*.env` already covers .env
    (app / ".gitignore").write_bytes(original.encode())
    result = init(".", "--framework", "none", cwd=app)
    assert result.exit_code == 0, result.output
    text = (app / ".gitignore").read_bytes().decode()
    assert text.startswith(original + "\r\n\r\n# chatkit-fix init:")
    added = text[len(original):].split("\r\n")
    assert ".env" not in added  # `*.env` of the user's already ignores it
    assert "__pycache__/" in added and "chatkit.sqlite3*" in added
    assert "updated  .gitignore  (now ignores .env, the database and caches)" in result.output
    again = init(".", "--framework", "none", cwd=app)
    assert (app / ".gitignore").read_bytes().decode() == text
    assert "unchanged  .gitignore  (already ignores .env, the database and caches)" in again.output


def test_next_steps_start_with_cd_and_run_as_printed(tmp_path):
    result = init("my app", "--format", "json", cwd=tmp_path)
    steps = json.loads(result.output)["next_steps"]
    assert steps[0] == "cd 'my app'"
    assert steps[1] == "pip install -r backend/requirements.txt"
    assert any(step.startswith("cp -n backend/.env.example backend/.env") for step in steps)
    assert steps[-2] == "(cd frontend && npm install && npm run dev)"
    script = "\n".join(steps)
    assert subprocess.run(["bash", "-n", "-c", script]).returncode == 0  # valid shell as printed
    # the lines up to the servers run as printed: they enter the folder and copy the example without clobbering
    runnable = [step for step in steps if not step.startswith(("pip ", "uvicorn ", "(cd "))]
    env_file = tmp_path / "my app" / "backend" / ".env"
    completed = subprocess.run(["bash", "-e", "-c", "\n".join(runnable) + "\ntest -f backend/.env"], cwd=tmp_path)
    assert completed.returncode == 0
    env_file.write_text("CHATKIT_JWT_SECRET=mine\n")
    subprocess.run(["bash", "-c", "\n".join(runnable)], cwd=tmp_path, check=True)
    assert env_file.read_text() == "CHATKIT_JWT_SECRET=mine\n"  # cp -n kept it
    text = init("my app", cwd=tmp_path).output
    assert "Next steps (paste them into a shell, in order):\n  cd 'my app'\n" in text
    inside = init(".", cwd=tmp_path / "my app").output
    assert "in order):\n  pip install -r backend/requirements.txt\n" in inside  # no cd when already there


def test_init_exit_codes_are_the_documented_ones(tmp_path):
    assert init("app", "--dry-run", cwd=tmp_path).exit_code == 1  # files would change
    assert init("app", cwd=tmp_path).exit_code == 0
    assert init("app", cwd=tmp_path).exit_code == 0  # a re-run with nothing to do
    assert init("app", "--dry-run", cwd=tmp_path).exit_code == 0  # nothing would change
    store = tmp_path / "app" / "backend" / "chatkit_store.py"
    store.write_text(store.read_text() + "\n# edited\n")
    assert init("app", cwd=tmp_path).exit_code == 1  # the edited file was skipped: yours to merge or --force
    assert init("app", "--force", cwd=tmp_path).exit_code == 0
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "| `init` | every file written or already as generated | with `--dry-run`: files would change;" in readme
