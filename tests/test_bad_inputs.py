"""Every input a user can get wrong is answered on one line naming it, and the run goes on where it can: symlink
loops, files that are not text, paths given to init and verify, and a config that names a missing folder or does
not parse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from chatkit_fix.cli import main
from chatkit_fix.verify import diagnose

BROKEN_RUN = 'import uvicorn\napp = object()\nif __name__ == "__main__":\n    uvicorn.run(app, reload=True)\n'


def cli(*args: str, cwd: Path | None = None):
    old = Path.cwd()
    if cwd is not None:
        os.chdir(cwd)
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


# ---- symlink loops ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["check", "apply"])
def test_a_symlink_loop_in_the_tree_is_skipped_with_one_line(tmp_path, command):
    (tmp_path / "main.py").write_text(BROKEN_RUN)
    (tmp_path / "self").symlink_to("self")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a").symlink_to("b")
    (tmp_path / "sub" / "b").symlink_to("a")
    (tmp_path / "sub" / "up").symlink_to("..")  # a link to a folder of the project: the walk never follows it
    completed = subprocess.run([sys.executable, "-m", "chatkit_fix", command, "--no-color", "."], cwd=tmp_path,
                               capture_output=True, text=True)
    assert "Traceback" not in completed.stderr
    assert completed.returncode == (1 if command == "check" else 0), completed.stdout + completed.stderr
    assert ("CK901" if command == "check" else "Fixed 1 finding in 1 file") in completed.stdout
    warnings = completed.stderr.splitlines()
    assert warnings == [f"chatkit-fix: warning: {name}: symlink loop, not followed" for name in ("self", "sub/a", "sub/b")]


def test_a_named_symlink_loop_is_a_one_line_usage_error(tmp_path):
    (tmp_path / "self").symlink_to("self")
    result = cli("check", "self", cwd=tmp_path)
    assert result.exit_code == 2
    assert one_error_line(result.output) == "chatkit-fix: error: self: symlink loop (the link points back at itself)"


# ---- files that are not text --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("content", "expected"), [
    (b"import os\nx = 1\x00\x01\n", "bin.py:2: not a text file: it holds a NUL byte"),
    (b"import os\n\xff\xfe\x80\x81garbage\n", "bin.py:2: cannot decode as utf-8: not a text file"),
])
def test_a_python_file_that_is_not_text_is_reported_even_when_no_rule_reads_it(tmp_path, content, expected):
    (tmp_path / "bin.py").write_bytes(content)
    (tmp_path / "ok.py").write_text("import os\n")
    for args in (["check", "."], ["check", "bin.py"], ["apply", "."]):
        result = cli(*args, cwd=tmp_path)
        assert result.exit_code == 2, (args, result.output)
        assert expected in result.output.splitlines(), (args, result.output)
    assert (tmp_path / "bin.py").read_bytes() == content


def test_a_latin1_file_with_its_cookie_is_text(tmp_path):
    (tmp_path / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\nx = 'caf\xe9'\n")
    assert cli("check", ".", cwd=tmp_path).exit_code == 0


# ---- paths given to init and verify -------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "expected"), [
    (["verify", "nope"], "chatkit-fix: error: nope: no such folder"),
    (["verify", "afile"], "chatkit-fix: error: afile: is a file; give a folder"),
    (["verify", "--app-dir", "nope", "."], "chatkit-fix: error: --app-dir nope: no such folder"),
    (["verify", "--config", "nope.toml", "."], "chatkit-fix: error: --config nope.toml: no such file"),
    (["verify", "--fake-script", "folder", "."], "chatkit-fix: error: --fake-script folder: is a folder; give a file"),
    (["init", "afile"], "chatkit-fix: error: afile: is a file; give a folder"),
])
def test_init_and_verify_report_a_bad_path_on_one_line(tmp_path, args, expected):
    (tmp_path / "afile").write_text("")
    (tmp_path / "folder").mkdir()
    result = cli(*args, cwd=tmp_path)
    assert result.exit_code == 2
    assert one_error_line(result.output) == expected


# ---- configuration ----------------------------------------------------------------------------------------------


def test_a_backend_folder_that_does_not_exist_is_an_error_naming_the_config(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.chatkit-fix]\nbackend = "nope"\n')
    result = cli("check", ".", cwd=tmp_path)
    assert result.exit_code == 2
    line = one_error_line(result.output)
    assert line.startswith(f"chatkit-fix: error: {tmp_path / 'pyproject.toml'}: [tool.chatkit-fix].backend: ")
    assert "folder 'nope' does not exist" in line


@pytest.mark.parametrize("text", [
    '[tool.chatkit-fix]\nselect = ["CK1",\n',
    '[tool.chatkit-fix]\nselect = ["CK1", "CK2"\nignore = []\n',
    '[tool.chatkit-fix]\nselect = [\n  "CK1",  # a [bracket] in a comment\n  "CK2",\n\n[tool.other]\nx = 1\n',
])
def test_an_unclosed_array_is_reported_where_it_opens(tmp_path, text):
    (tmp_path / "pyproject.toml").write_text(text)
    result = cli("check", ".", cwd=tmp_path)
    assert result.exit_code == 2
    assert one_error_line(result.output) == (
        f"chatkit-fix: error: {tmp_path / 'pyproject.toml'}:2: cannot parse TOML: the array given to select is never "
        "closed; add the missing `]`"
    )


def test_other_toml_mistakes_keep_the_parser_message(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.chatkit-fix]\nselect = "CK1\n')
    line = one_error_line(cli("check", ".", cwd=tmp_path).output)
    assert "cannot parse TOML: Illegal character" in line and "line 2" in line


# ---- CK302's plain def with await ---------------------------------------------------------------------------------

AWAITING_STORE = (
    "from chatkit.store import Store\n\n\nclass S(Store):\n"
    "    def load_thread(self, thread_id, context):\n        return await self.fetch(thread_id)\n"
)


def test_ck302_says_a_plain_def_that_awaits_is_a_syntax_error_at_import(tmp_path):
    (tmp_path / "store.py").write_text(AWAITING_STORE)
    output = cli("check", "--select", "CK302", ".", cwd=tmp_path).output
    assert "a plain def that awaits (SyntaxError: 'await' outside async function when the module is imported)" in output
    assert "TypeError" not in output


def test_verify_names_ck302_for_the_syntax_error_of_a_store_method_that_awaits(tmp_path):
    (tmp_path / "store.py").write_text(AWAITING_STORE)
    (tmp_path / "other.py").write_text("def helper(x):\n    return await x\n")
    store_log = subprocess.run([sys.executable, "-c", "import store"], cwd=tmp_path, capture_output=True, text=True).stderr
    assert "SyntaxError: 'await' outside async function" in store_log
    codes, why = diagnose.rules_from_log(store_log)
    assert codes == ["CK302"] and "load_thread" in why
    other_log = subprocess.run([sys.executable, "-c", "import other"], cwd=tmp_path, capture_output=True, text=True).stderr
    assert diagnose.rules_from_log(other_log)[0] == []  # not a store method: no rule explains it
