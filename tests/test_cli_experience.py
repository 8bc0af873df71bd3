"""A CLI that feels like ruff: progress only on a terminal, --quiet, --diff paths, --show-fixes, shell completion,
an example in every --help, and project context around files given one by one (as pre-commit can pass them)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from chatkit_fix.cli import main
from chatkit_fix.config import Settings
from chatkit_fix.engine import Engine
from chatkit_fix.findings import Safety
from chatkit_fix.output import progress
from chatkit_fix.project import Project
from chatkit_fix.rules import REGISTRY, load_rules, rule

BROKEN_RUN = 'import uvicorn\napp = object()\nif __name__ == "__main__":\n    uvicorn.run(app, reload=True)\n'
CLEAN = "x = 1\n"


def base_env() -> dict:
    return {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "FORCE_COLOR", "GITHUB_WORKSPACE")}


def cli(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)


def many_files(folder: Path, count: int, broken: int = 2) -> None:
    for index in range(count):
        (folder / f"m{index:03}.py").write_text(BROKEN_RUN if index < broken else CLEAN)


# ---- progress ----------------------------------------------------------------------------------------------------


class FakeStream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def test_progress_wanted_only_on_a_terminal_for_many_files_in_text():
    many = progress.MIN_FILES
    assert progress.wanted(many, "text", False, FakeStream(tty=True))
    assert not progress.wanted(many, "text", False, FakeStream(tty=False))  # not a TTY: no bar
    assert not progress.wanted(many - 1, "text", False, FakeStream(tty=True))
    assert not progress.wanted(many, "text", True, FakeStream(tty=True))  # --quiet
    for machine in ("json", "sarif", "github"):
        assert not progress.wanted(many, machine, False, FakeStream(tty=True))


def test_progress_bar_draws_and_erases_itself():
    stream = FakeStream(tty=True)
    bar = progress.ProgressBar(stream)
    for done in range(1, 401):
        bar(done, 400)
    bar.close()
    text = stream.getvalue()
    assert text.count("\r") == 101 + 1  # one redraw per percent, plus the erase
    assert "[" + "#" * progress.WIDTH + "] 400/400 files" in text
    assert text.endswith("\r\033[K")


def test_engine_reports_progress_for_every_target(tmp_path):
    many_files(tmp_path, 30)
    (tmp_path / "notes.md").write_text("nothing here\n")
    calls = []
    project = Project.discover(tmp_path, Settings(root=tmp_path), [tmp_path])
    engine = Engine(project, load_rules(), set(load_rules()), jobs=1, progress=lambda done, total: calls.append((done, total)))
    engine.check()
    assert calls == [(done, 31) for done in range(1, 32)]  # the 30 Python files and notes.md, one call each


def test_engine_reports_progress_from_worker_processes(tmp_path, monkeypatch):
    from chatkit_fix import engine as engine_module

    monkeypatch.setattr(engine_module, "PARALLEL_MIN_FILES", 5)
    many_files(tmp_path, 20, broken=20)
    calls = []
    project = Project.discover(tmp_path, Settings(root=tmp_path), [tmp_path])
    Engine(project, load_rules(), set(load_rules()), jobs=2, progress=lambda d, t: calls.append(d)).check()
    assert calls == list(range(1, 21))


def test_no_bar_when_stderr_is_not_a_terminal(tmp_path):
    many_files(tmp_path, progress.MIN_FILES + 20)
    result = cli("check", str(tmp_path))
    assert result.exit_code == 1
    assert result.stderr == ""
    process = subprocess.run([sys.executable, "-m", "chatkit_fix", "check", "."], check=False, cwd=tmp_path, env=base_env(), capture_output=True)
    assert process.returncode == 1 and process.stderr == b""


def run_with_terminal_stderr(args: list[str], cwd: Path) -> tuple[bytes, bytes]:
    """(stdout, stderr) with stderr on a pseudo-terminal."""
    import pty

    master, slave = pty.openpty()
    with open(cwd.parent / f"{cwd.name}.stdout", "w+b") as stdout:
        process = subprocess.Popen([sys.executable, "-m", "chatkit_fix", *args], stdout=stdout, stderr=slave, cwd=cwd, env=base_env())
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        process.wait(timeout=120)
        os.close(master)
        stdout.seek(0)
        return stdout.read(), b"".join(chunks)


def test_bar_on_a_terminal_stderr_and_not_with_quiet_or_machine_formats(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    count = progress.MIN_FILES + 20
    many_files(project, count)
    stdout, stderr = run_with_terminal_stderr(["check", "."], project)
    assert f"] {count}/{count} files".encode() in stderr and stderr.startswith(b"\rchatkit-fix [")
    assert stderr.endswith(b"\r\033[K")  # erased at the end
    assert b"files" not in stdout and b"Found 2 findings" in stdout  # stdout carries only the report
    _, quiet = run_with_terminal_stderr(["check", "--quiet", "."], project)
    assert quiet == b""
    json_out, machine = run_with_terminal_stderr(["check", "--format", "json", "."], project)
    assert machine == b"" and json.loads(json_out)["summary"]["findings"] == 2
    few = tmp_path / "few"
    few.mkdir()
    many_files(few, 5)
    _, small = run_with_terminal_stderr(["check", "."], few)
    assert small == b""


# ---- --quiet, --diff, --show-fixes ----------------------------------------------------------------------------------


def test_quiet_prints_only_findings(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.py").write_text(BROKEN_RUN)
    (tmp_path / "b.py").write_text(BROKEN_RUN)
    result = cli("check", "--quiet", str(tmp_path))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("a.py:4:5: CK901 ") and lines[1].startswith("b.py:4:5: CK901 ")
    (tmp_path / "a.py").write_text(CLEAN)
    (tmp_path / "b.py").write_text(CLEAN)
    clean = cli("check", "--quiet", str(tmp_path))
    assert clean.exit_code == 0 and clean.output == ""


def test_diff_paths_are_relative_to_the_project_root(tmp_path, monkeypatch):
    project = tmp_path / "project"
    (project / "backend").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[tool.chatkit-fix]\n")
    (project / "backend" / "main.py").write_text(BROKEN_RUN)
    for cwd, target in ((tmp_path, "project/backend"), (project / "backend", "."), (project / "backend", "main.py")):
        monkeypatch.chdir(cwd)
        result = cli("apply", "--diff", target)
        assert result.exit_code == 1
        assert result.output.startswith("--- a/backend/main.py\n+++ b/backend/main.py\n@@ ")
        assert '-    uvicorn.run(app, reload=True)\n+    uvicorn.run("main:app", reload=True)\n' in result.output
    assert (project / "backend" / "main.py").read_text() == BROKEN_RUN


def test_show_fixes_lists_what_was_fixed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "main.py").write_text(BROKEN_RUN)
    result = cli("apply", "--show-fixes", str(tmp_path))
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[lines.index("Fixed:") + 1].startswith("  main.py:4:5 CK901 ")
    assert lines[-1].startswith("Fixed 1 finding in 1 file.")
    assert "Fixed:" not in cli("apply", str(tmp_path)).output


# ---- completion and help --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shell, marker", [("bash", "complete -o nosort -F _chatkit_fix_completion chatkit-fix"),
                                           ("zsh", "#compdef chatkit-fix"), ("fish", "complete --no-files --command chatkit-fix")])
def test_completion_script(shell, marker):
    result = CliRunner().invoke(main, [], prog_name="chatkit-fix", env={"_CHATKIT_FIX_COMPLETE": f"{shell}_source"})
    assert result.exit_code == 0
    assert marker in result.output


def test_completion_script_from_the_installed_command():
    """What the README tells users to put in their shell profile."""
    script = Path(sys.executable).parent / "chatkit-fix"
    env = base_env() | {"_CHATKIT_FIX_COMPLETE": "bash_source"}
    result = subprocess.run([str(script)], check=False, env=env, capture_output=True, text=True)
    assert result.returncode == 0
    assert "_chatkit_fix_completion()" in result.stdout and "_CHATKIT_FIX_COMPLETE=bash_complete" in result.stdout


def complete(words: str) -> list[str]:
    parts = words.split(" ")
    env = {"_CHATKIT_FIX_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(parts) - 1)}
    result = CliRunner().invoke(main, [], prog_name="chatkit-fix", env=env)
    return [line.split(",", 1)[1] for line in result.output.splitlines()]


def test_completion_of_commands_options_and_rule_codes():
    assert {"check", "apply", "rules", "explain"} <= set(complete("chatkit-fix "))
    assert "--unsafe-fixes" in complete("chatkit-fix apply --uns")
    codes = complete("chatkit-fix explain CK90")
    assert "CK901" in codes and all(code.startswith("CK90") for code in codes)
    listed = complete("chatkit-fix check --select CK202,CK9")
    assert "CK202,CK901" in listed and all(item.startswith("CK202,CK9") for item in listed)


def _commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


def test_every_help_has_an_example():
    missing = []
    for path in [(), *(p for p, _ in _commands(main))]:
        result = CliRunner().invoke(main, [*path, "--help"], prog_name="chatkit-fix")
        assert result.exit_code == 0, (path, result.output)
        has_example = "Example" in result.output and "  chatkit-fix " in result.output
        if not has_example:
            missing.append(" ".join(path) or "chatkit-fix")
    assert not missing, f"--help without an example (a `\\b Example:` block in the docstring): {missing}"


# ---- project context around files given one by one ------------------------------------------------------------------


@pytest.fixture
def cross_file_rule():
    """A project rule that reports in a Python file when a front-end file it never targets says so."""
    load_rules()
    made = rule(code="CK994", slug="scratch-cross-file", safety=Safety.REPORT, summary="scratch cross-file",
                url="https://example.invalid/ck994", languages=("python",), module="tests.scratch.CK994")

    @made.check_project
    def check(pctx):
        if any(b"needs-backend-fix" in pctx.project.read_bytes(f) for f in pctx.project.grep(b"needs-backend-fix")):
            for path in pctx.project.files_of("python"):
                ctx = pctx.parsed(path)
                if ctx is not None:
                    yield ctx.finding(1, "the front end expects another route")

    yield made
    REGISTRY.pop("CK994", None)


def test_given_files_still_see_the_whole_project(tmp_path, monkeypatch, cross_file_rule):
    """As with pre-commit's `pass_filenames: true`: only the named file is reported on, but the project around it
    (here a front-end file that is not named) is loaded."""
    (tmp_path / "pyproject.toml").write_text("[tool.chatkit-fix]\n")
    (tmp_path / "backend").mkdir()
    (tmp_path / "frontend").mkdir()
    (tmp_path / "backend" / "server.py").write_text("from fastapi import FastAPI\n\napp = FastAPI()\n")
    (tmp_path / "backend" / "other.py").write_text(CLEAN)
    (tmp_path / "frontend" / "chat.tsx").write_text("// needs-backend-fix\nexport const x = 1;\n")
    monkeypatch.chdir(tmp_path / "backend")
    result = cli("check", "--select", "CK994", "--format", "json", "server.py")
    paths = [f["path"] for f in json.loads(result.output)["findings"]]
    assert paths == ["backend/server.py"]


def test_the_console_script_flushes_everything_before_it_ends_without_teardown(tmp_path):
    """`python -m chatkit_fix` ends check and apply with os._exit once its output is flushed: a reader on a pipe
    still gets every byte of a report larger than the pipe's buffer, and the exit code."""
    many_files(tmp_path, 400, broken=400)
    process = subprocess.run([sys.executable, "-m", "chatkit_fix", "check", "--format", "json", "."], check=False,
                             cwd=tmp_path, env=base_env(), capture_output=True)
    assert process.returncode == 1 and len(process.stdout) > 1 << 16
    assert len(json.loads(process.stdout)["findings"]) == 400
    applied = subprocess.run([sys.executable, "-m", "chatkit_fix", "apply", "--format", "json", "."], check=False,
                             cwd=tmp_path, env=base_env(), capture_output=True)
    assert applied.returncode == 0, applied.stderr
    assert all(f'uvicorn.run("{p.stem}:app", reload=True)' in p.read_text() for p in tmp_path.glob("*.py"))
    again = subprocess.run([sys.executable, "-m", "chatkit_fix", "check", "."], check=False, cwd=tmp_path,
                           env=base_env(), capture_output=True)
    assert again.returncode == 0, again.stdout
