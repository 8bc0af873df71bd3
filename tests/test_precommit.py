"""The pre-commit hooks, through the real `pre-commit`: a commit is blocked by a finding, fixed by the hook, then passes.

The hook repository is this checkout as it is now (tracked and untracked files, ignored ones left out), committed in
a scratch repository with fixed dates, so the same tree gives the same commit and pre-commit's environment for it,
kept in PRE_COMMIT_HOME under the test cache, is reused on the next run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
BROKEN_RUN = 'import uvicorn\napp = object()\nif __name__ == "__main__":\n    uvicorn.run(app, reload=True)\n'
FIXED_RUN = 'import uvicorn\napp = object()\nif __name__ == "__main__":\n    uvicorn.run("main:app", reload=True)\n'
FIXED_DATE = "2026-01-01T00:00:00+00:00"


def _cache() -> Path:
    base = os.environ.get("CHATKIT_FIX_TEST_CACHE")
    path = Path(base) if base else Path(tempfile.gettempdir()) / "chatkit-fix-test-cache"
    path = path / "pre-commit"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def git_env(tmp_path_factory):
    """An environment where git and pre-commit see none of this machine's configuration."""
    gitconfig = tmp_path_factory.mktemp("git") / "gitconfig"
    gitconfig.write_text("[user]\n\tname = chatkit-fix tests\n\temail = tests@example.invalid\n[init]\n\tdefaultBranch = main\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GIT_", "PRE_COMMIT"))}
    env.update(
        GIT_CONFIG_GLOBAL=str(gitconfig),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_AUTHOR_DATE=FIXED_DATE,
        GIT_COMMITTER_DATE=FIXED_DATE,
        PRE_COMMIT_HOME=str(_cache() / "home"),
        PRE_COMMIT_COLOR="never",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        NO_COLOR="1",
    )
    env.pop("VIRTUAL_ENV", None)
    return env


def git(cwd: Path, env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=check, capture_output=True, text=True)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory, git_env):
    """This checkout's current files committed in a repository under the cache: (its path, the commit)."""
    env = git_env
    build = tmp_path_factory.mktemp("hook-repo")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for raw in filter(None, listed):
        name = os.fsdecode(raw)
        source = ROOT / name
        if not source.exists() and not source.is_symlink():
            continue  # deleted in the work tree
        target = build / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            os.symlink(os.readlink(source), target)
        elif source.is_file():
            shutil.copy2(source, target)
    git(build, env, "init", "-q")
    git(build, env, "add", "-A")
    git(build, env, "commit", "-q", "--no-verify", "-m", "chatkit-fix under test")
    sha = git(build, env, "rev-parse", "HEAD").stdout.strip()
    # The same tree gives the same commit; its stable path lets pre-commit reuse the environment it built for it.
    home = _cache() / "hook-repos" / sha
    home.parent.mkdir(parents=True, exist_ok=True)
    if not home.exists():
        staging = Path(tempfile.mkdtemp(dir=home.parent, prefix=".staging-"))
        try:
            shutil.copytree(build, staging / "repo", symlinks=True)
            os.replace(staging / "repo", home)
        except OSError:
            if not home.exists():
                raise
            # another run put the same commit there first
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    _prune_old(home)
    yield home, sha
    # Environments of hook commits that no config uses any more are removed, so the cache does not grow without end.
    subprocess.run([sys.executable, "-m", "pre_commit", "gc"], check=False, cwd=build, env=env, capture_output=True)


def _prune_old(keep: Path) -> None:
    for other in keep.parent.iterdir():
        if other != keep and time.time() - other.stat().st_mtime > 3600:
            shutil.rmtree(other, ignore_errors=True)


def write_config(project: Path, hook_repo: Path, sha: str, hook_id: str) -> None:
    config = {"repos": [{"repo": str(hook_repo), "rev": sha, "hooks": [{"id": hook_id}]}]}
    (project / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def precommit(project: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], check=False, cwd=project, env=env, capture_output=True, text=True)


def test_hooks_file_declares_whole_project_hooks():
    hooks = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"chatkit-fix", "chatkit-fix-check"}
    assert hooks["chatkit-fix"]["entry"].startswith("chatkit-fix apply")
    assert hooks["chatkit-fix-check"]["entry"].startswith("chatkit-fix check")
    for hook in hooks.values():
        # cross-file rules: the whole project is checked, by one process at a time
        assert hook["pass_filenames"] is False and hook["require_serial"] is True
        assert hook["language"] == "python"


def test_readme_snippets_match_the_hooks():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    hooks = {hook["id"]: hook for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    blocks = [yaml.safe_load(block.split("\n", 1)[1]) for block in readme.split("```yaml")[1:] for block in [block.split("```")[0]]]
    configs = [block for block in blocks if isinstance(block, dict) and "repos" in block]
    assert len(configs) == 2
    remote, local = (config["repos"][0] for config in configs)
    assert {hook["id"] for hook in remote["hooks"]} <= set(hooks)
    (local_hook,) = local["hooks"]
    for key in ("entry", "pass_filenames", "require_serial"):
        assert local_hook[key] == hooks["chatkit-fix"][key]
    workflow = next(block for block in blocks if isinstance(block, dict) and "jobs" in block)
    steps = workflow["jobs"]["chatkit-fix"]["steps"]
    assert any("--format github" in step.get("run", "") for step in steps)
    assert any(step.get("uses", "").startswith("github/codeql-action/upload-sarif") for step in steps)
    assert "_CHATKIT_FIX_COMPLETE=bash_source chatkit-fix" in readme


@pytest.mark.slow
def test_commit_is_blocked_then_fixed_by_the_hook_then_goes_through(tmp_path, git_env, hook_repo):
    env = git_env
    hook_repo, sha = hook_repo
    project = tmp_path / "project"
    project.mkdir()
    git(project, env, "init", "-q")
    (project / "README.md").write_text("demo\n")
    write_config(project, hook_repo, sha, "chatkit-fix-check")
    git(project, env, "add", "-A")
    git(project, env, "commit", "-q", "--no-verify", "-m", "start")
    installed = precommit(project, env, "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    start = git(project, env, "rev-parse", "HEAD").stdout

    # 1. The report-only hook blocks the commit and changes nothing.
    (project / "main.py").write_text(BROKEN_RUN)
    git(project, env, "add", "main.py")
    blocked = git(project, env, "commit", "-m", "add a server", check=False)
    output = blocked.stdout + blocked.stderr
    assert blocked.returncode != 0, output
    assert "chatkit-fix check (report only)" in output and "Failed" in output
    assert "main.py" in output and "CK901" in output
    assert (project / "main.py").read_text() == BROKEN_RUN
    assert git(project, env, "rev-parse", "HEAD").stdout == start

    # 2. The fixing hook blocks it too, but fixes the file (pre-commit sees the change and stops the commit).
    write_config(project, hook_repo, sha, "chatkit-fix")
    git(project, env, "add", ".pre-commit-config.yaml")
    fixed = git(project, env, "commit", "-m", "add a server", check=False)
    output = fixed.stdout + fixed.stderr
    assert fixed.returncode != 0, output
    assert "files were modified by this hook" in output
    assert "Fixed:" in output and "main.py:4:5 CK901" in output
    assert (project / "main.py").read_text() == FIXED_RUN
    assert git(project, env, "rev-parse", "HEAD").stdout == start

    # 3. With the fix staged, the commit goes through and holds the fixed file.
    git(project, env, "add", "main.py")
    passed = git(project, env, "commit", "-m", "add a server", check=False)
    output = passed.stdout + passed.stderr
    assert passed.returncode == 0, output
    assert "chatkit-fix (apply safe fixes)" in output and "Passed" in output
    assert git(project, env, "show", "HEAD:main.py").stdout == FIXED_RUN



@pytest.mark.slow
def test_hook_sees_files_that_are_not_staged(tmp_path, git_env, hook_repo):
    """pass_filenames: false: a finding in a file the commit does not touch still stops it (the checked tree is the
    commit: pre-commit stashes unstaged changes first)."""
    env = git_env
    hook_repo, sha = hook_repo
    project = tmp_path / "project"
    project.mkdir()
    git(project, env, "init", "-q")
    (project / "main.py").write_text(BROKEN_RUN)
    write_config(project, hook_repo, sha, "chatkit-fix-check")
    git(project, env, "add", "-A")
    git(project, env, "commit", "-q", "--no-verify", "-m", "start")
    assert precommit(project, env, "install").returncode == 0
    (project / "notes.txt").write_text("unrelated\n")
    git(project, env, "add", "notes.txt")
    blocked = git(project, env, "commit", "-m", "notes", check=False)
    assert blocked.returncode != 0 and "CK901" in blocked.stdout + blocked.stderr
    # An unstaged fix does not count: the hook checks what is being committed.
    (project / "main.py").write_text(FIXED_RUN)
    still = git(project, env, "commit", "-m", "notes", check=False)
    assert still.returncode != 0 and "CK901" in still.stdout + still.stderr
    assert (project / "main.py").read_text() == FIXED_RUN  # the stash was restored
    git(project, env, "add", "main.py")
    assert git(project, env, "commit", "-m", "notes", check=False).returncode == 0
