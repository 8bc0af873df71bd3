"""The engine's promises: bytes kept, nothing half written, bad input reported on one line, exit codes as ruff's."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from chatkit_fix import engine as engine_module
from chatkit_fix.cli import main
from chatkit_fix.config import Settings
from chatkit_fix.engine import Engine
from chatkit_fix.findings import Safety
from chatkit_fix.project import Project
from chatkit_fix.rules import REGISTRY, load_rules, rule

BROKEN_RUN = 'import uvicorn\napp = object()\nif __name__ == "__main__":\n    uvicorn.run(app, reload=True)\n'
FIXED_RUN = 'import uvicorn\napp = object()\nif __name__ == "__main__":\n    uvicorn.run("main:app", reload=True)\n'


def cli(*args: str, cwd: Path | None = None):
    runner = CliRunner()
    old = Path.cwd()
    if cwd:
        os.chdir(cwd)
    try:
        return runner.invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(old)


def test_exit_codes_clean_findings_fixed(tmp_path):
    (tmp_path / "main.py").write_text(BROKEN_RUN)
    assert cli("check", str(tmp_path)).exit_code == 1
    dry = cli("apply", "--dry-run", str(tmp_path))
    assert dry.exit_code == 1 and (tmp_path / "main.py").read_text() == BROKEN_RUN
    fixed = cli("apply", str(tmp_path))
    assert fixed.exit_code == 0, fixed.output
    assert (tmp_path / "main.py").read_text() == FIXED_RUN
    assert cli("check", str(tmp_path)).exit_code == 0
    assert cli("check", "--exit-zero", str(tmp_path)).exit_code == 0


def test_missing_path_is_a_usage_error(tmp_path):
    result = cli("check", str(tmp_path / "nope"))
    assert result.exit_code == 2
    assert "no such file or folder" in result.output


def test_crlf_and_bom_are_kept(tmp_path):
    path = tmp_path / "main.py"
    path.write_bytes(b"\xef\xbb\xbf" + BROKEN_RUN.replace("\n", "\r\n").encode())
    assert cli("apply", str(tmp_path)).exit_code == 0
    assert path.read_bytes() == b"\xef\xbb\xbf" + FIXED_RUN.replace("\n", "\r\n").encode()


def test_crlf_kept_in_inserted_lines(tmp_path):
    source = "import uvicorn\r\n\r\ndef serve(application):\r\n    uvicorn.run(application, reload=True)\r\n"
    (tmp_path / "serve.py").write_bytes(source.encode())
    cli("apply", str(tmp_path))
    data = (tmp_path / "serve.py").read_bytes()
    assert b"TODO[CK901]" in data
    assert b"\n" not in data.replace(b"\r\n", b"")


def test_pep263_latin1_cookie_is_kept(tmp_path):
    path = tmp_path / "main.py"
    text = "# -*- coding: latin-1 -*-\n# caf\u00e9\n" + BROKEN_RUN
    path.write_bytes(text.encode("latin-1"))
    assert cli("apply", str(tmp_path)).exit_code == 0
    assert path.read_bytes() == ("# -*- coding: latin-1 -*-\n# caf\u00e9\n" + FIXED_RUN).encode("latin-1")


def test_mode_is_kept(tmp_path):
    path = tmp_path / "main.py"
    path.write_text(BROKEN_RUN)
    path.chmod(0o750)
    result = cli("apply", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert path.read_text() == FIXED_RUN  # the file was rewritten, not left alone
    assert stat.S_IMODE(path.stat().st_mode) == 0o750


def test_read_only_file_is_reported_and_untouched(tmp_path, monkeypatch):
    path = tmp_path / "main.py"
    path.write_text(BROKEN_RUN)
    path.chmod(0o444)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == path and mode == os.W_OK else real_access(p, mode))
    result = cli("apply", str(tmp_path))
    assert result.exit_code == 2
    assert "main.py:1: cannot write: the file is read-only" in result.output
    assert path.read_text() == BROKEN_RUN


def test_syntax_error_in_one_file_among_good_ones(tmp_path):
    (tmp_path / "bad.py").write_text("import uvicorn\nuvicorn.run(app, reload=True\n")
    (tmp_path / "main.py").write_text(BROKEN_RUN)
    result = cli("apply", ".", cwd=tmp_path)
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if "cannot parse" in line]
    assert len(lines) == 1 and lines[0].startswith("bad.py:")
    assert (tmp_path / "main.py").read_text() == FIXED_RUN


def test_undecodable_file_gets_one_line(tmp_path):
    (tmp_path / "main.py").write_bytes(b"import uvicorn\n# \xff\xfe\nuvicorn.run(app, reload=True)\n")
    result = cli("check", str(tmp_path))
    assert result.exit_code == 2
    assert "main.py:2: cannot decode as utf-8" in result.output


def test_dry_run_and_diff_touch_nothing(tmp_path):
    path = tmp_path / "main.py"
    path.write_text(BROKEN_RUN)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    assert cli("apply", "--dry-run", str(tmp_path)).exit_code == 1
    diff = cli("apply", "--diff", str(tmp_path))
    assert diff.exit_code == 1
    assert "--- a/main.py" in diff.output and '+    uvicorn.run("main:app", reload=True)' in diff.output
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    assert not [p for p in tmp_path.iterdir() if p.name != "main.py"]


def test_file_changed_between_read_and_write_is_not_overwritten(tmp_path, monkeypatch):
    path = tmp_path / "main.py"
    path.write_text(BROKEN_RUN)
    original_write = Engine._write

    def someone_edits_first(self, fixed, result):
        path.write_text("# edited by someone else\n" + BROKEN_RUN)
        original_write(self, fixed, result)

    monkeypatch.setattr(Engine, "_write", someone_edits_first)
    result = cli("apply", str(tmp_path))
    assert result.exit_code == 2
    assert "changed on disk" in result.output
    assert path.read_text() == "# edited by someone else\n" + BROKEN_RUN


def test_symlink_out_of_root_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "main.py").write_text(BROKEN_RUN)
    project = tmp_path / "project"
    project.mkdir()
    (project / "linked").symlink_to(outside, target_is_directory=True)
    (project / "main.py").symlink_to(outside / "main.py")
    result = cli("apply", str(project))
    assert result.exit_code == 0, result.output
    assert (outside / "main.py").read_text() == BROKEN_RUN


def test_gitignore_and_skipped_folders(tmp_path):
    (tmp_path / ".gitignore").write_text("generated/\n*.tmp.py\n!keep.tmp.py\n")
    for relative in ("generated/main.py", "node_modules/x/main.py", ".venv/main.py", "a.tmp.py", "keep.tmp.py", "src/main.py"):
        target = tmp_path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(BROKEN_RUN)
    (tmp_path / "venv2").mkdir()
    (tmp_path / "venv2" / "pyvenv.cfg").write_text("home = /usr\n")
    (tmp_path / "venv2" / "main.py").write_text(BROKEN_RUN)
    settings = Settings(root=tmp_path)
    project = Project.discover(tmp_path, settings, [tmp_path])
    names = sorted(project.relative(p) for p in project.targets)
    assert names == [".gitignore", "keep.tmp.py", "src/main.py"]


def test_suppression_comments(tmp_path):
    (tmp_path / "a.py").write_text(BROKEN_RUN.replace("reload=True)", "reload=True)  # chatkit-fix: ignore[CK901]"))
    (tmp_path / "b.py").write_text(BROKEN_RUN.replace("    uvicorn.run", "    # chatkit-fix: ignore\n    uvicorn.run"))
    (tmp_path / "c.py").write_text(BROKEN_RUN.replace("reload=True)", "reload=True)  # chatkit-fix: ignore[CK202]"))
    result = cli("check", "--format", "json", str(tmp_path))
    found = json.loads(result.output)["findings"]
    assert [f["path"] for f in found] == ["c.py"]


def test_config_select_ignore_and_unknown_key(tmp_path):
    (tmp_path / "main.py").write_text(BROKEN_RUN)
    (tmp_path / "pyproject.toml").write_text('[tool.chatkit-fix]\nignore = ["CK9"]\n')
    assert cli("check", str(tmp_path)).exit_code == 0
    assert cli("check", "--extend-select", "CK901", str(tmp_path)).exit_code == 0  # ignore wins, as in ruff
    (tmp_path / "pyproject.toml").write_text('[tool.chatkit-fix]\nper-file-ignores = {"main.py" = ["CK901"]}\n')
    assert cli("check", str(tmp_path)).exit_code == 0
    (tmp_path / "pyproject.toml").write_text('[tool.chatkit-fix]\nselcet = ["CK1"]\n')
    result = cli("check", str(tmp_path))
    assert result.exit_code == 2
    assert "unknown key 'selcet'" in result.output and "pyproject.toml" in result.output
    assert cli("check", "--select", "CK999", str(tmp_path / "main.py")).exit_code == 2


def test_config_file_option(tmp_path):
    (tmp_path / "main.py").write_text(BROKEN_RUN)
    config = tmp_path / "ci.toml"
    config.write_text('ignore = ["CK901"]\n')
    assert cli("check", "--config", str(config), str(tmp_path)).exit_code == 0
    assert cli("check", "--config", str(tmp_path / "missing.toml"), str(tmp_path)).exit_code == 2


@pytest.fixture
def scratch_rule():
    """Register a rule for one test and remove it again, so the registry stays the catalogue."""
    load_rules()
    created = []

    def make(code: str, edit):
        made = rule(code=code, slug=f"scratch-{code.lower()}", safety=Safety.SAFE, summary="scratch", url="https://example.invalid",
                    triggers=(b"scratch",), module=f"tests.scratch.{code}",
                    anywhere=(b"scratch",))  # the scratch files import nothing of the stack: no application unit

        @made.check
        def check(ctx):
            yield ctx.finding(1, "scratch finding", fix=edit(ctx))

        created.append(code)
        return made

    yield make
    for code in created:
        REGISTRY.pop(code, None)


def test_fix_that_breaks_parsing_is_dropped(tmp_path, scratch_rule):
    scratch_rule("CK998", lambda ctx: [ctx.insert(0, "def (:\n")])
    path = tmp_path / "m.py"
    path.write_text("scratch = 1\n")
    result = cli("apply", "--select", "CK998", str(tmp_path))
    assert result.exit_code == 2
    assert "internal error in CK998: its fix would not parse; fix dropped" in result.output
    assert path.read_text() == "scratch = 1\n"


def test_fixes_that_never_converge_are_reported(tmp_path, scratch_rule):
    scratch_rule("CK997", lambda ctx: [ctx.insert(0, "# again\n")])
    path = tmp_path / "m.py"
    path.write_text("scratch = 1\n")
    result = cli("apply", "--select", "CK997", str(tmp_path))
    assert result.exit_code == 2
    assert "did not converge after 10 passes (CK997)" in result.output
    assert path.read_text() == "scratch = 1\n"


def test_rule_crash_is_an_internal_error_and_other_files_go_on(tmp_path, scratch_rule):
    def explode(ctx):
        if ctx.path.name == "a.py":
            raise RuntimeError("boom")
        return []

    scratch_rule("CK996", explode)
    (tmp_path / "a.py").write_text("scratch = 1\n")
    (tmp_path / "b.py").write_text("scratch = 2\n")
    result = cli("check", "--select", "CK996", str(tmp_path))
    assert result.exit_code == 2
    assert "a.py:1: internal error in CK996: RuntimeError: boom" in result.output
    assert "b.py\n  1:1 CK996 scratch finding" in result.output


def test_parallel_run_matches_serial(tmp_path, monkeypatch):
    for index in range(60):
        (tmp_path / f"m{index}.py").write_text(BROKEN_RUN)
    monkeypatch.setattr(engine_module, "PARALLEL_MIN_FILES", 10)
    serial = json.loads(cli("check", "--format", "json", "--jobs", "1", str(tmp_path)).output)
    parallel = json.loads(cli("check", "--format", "json", "--jobs", "2", str(tmp_path)).output)
    assert serial["findings"] == parallel["findings"] and len(serial["findings"]) == 60


def test_output_formats(tmp_path):
    (tmp_path / "main.py").write_text(BROKEN_RUN)
    document = json.loads(cli("check", "--format", "json", ".", cwd=tmp_path).output)
    assert document["schema_version"] == 1
    assert document["findings"] == [{
        "code": "CK901", "slug": "uvicorn-reload-object", "path": "main.py", "filename": str(tmp_path / "main.py"),
        "line": 4, "column": 5, "end_line": 4,
        "end_column": 34, "message": "uvicorn.run() gets an app object with reload=True: uvicorn prints an error and exits",
        "hint": "use uvicorn.run('main:app', ...)", "url": "https://www.uvicorn.org/deployment/#running-programmatically",
        "fix": {"safety": "safe", "complete": True, "edits": [{"start": 73, "end": 76, "content": '"main:app"'}]},
    }]
    assert BROKEN_RUN[73:76] == "app"  # the edit replaces the app object, nothing else
    github = cli("check", "--format", "github", ".", cwd=tmp_path).output
    assert github.startswith("::error file=main.py,line=4,col=5,endLine=4,endColumn=34,title=CK901 uvicorn-reload-object::CK901 ")
    sarif = json.loads(cli("check", "--format", "sarif", str(tmp_path)).output)
    assert sarif["version"] == "2.1.0"
    assert sarif["runs"][0]["results"][0]["ruleId"] == "CK901"
    text = cli("check", "--no-color", ".", cwd=tmp_path).output
    assert "\033[" not in text and text.splitlines()[0] == "main.py"


def test_no_heavy_imports_for_a_file_without_chatkit_code(tmp_path):
    """Start-up stays light: a plain file must not pull in parsers, formatters or the SDKs."""
    import subprocess
    import sys

    (tmp_path / "plain.py").write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "plain.ts").write_text("export const add = (a: number, b: number) => a + b;\n")
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "chatkit_fix", "check", str(tmp_path)],
        capture_output=True, text=True,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    imported = {line.split("|")[-1].strip().split(".")[0] for line in completed.stderr.splitlines() if "|" in line}
    heavy = imported & {"libcst", "ast_grep_py", "jinja2", "black", "chatkit", "agents", "mcp", "tomlkit", "pydantic"}
    assert not heavy, f"imported at start-up: {sorted(heavy)}"


def test_suppression_comments_in_tsx_and_html(tmp_path):
    """`// …`, `{/* … */}` and `<!-- … -->` suppress like `#` does: here CK104 in TSX and CK102 in HTML."""
    (tmp_path / "package.json").write_text('{"dependencies": {"@openai/chatkit-react": "1.6.1", "vite": "7.2.4"}}\n')
    html = (
        "<!doctype html>\n<html>\n  <head>\n"
        "    {marker}<script src=\"https://cdn.openai.com/chatkit/chatkit.js\" async></script>\n"
        "  </head>\n  <body><div id=\"root\"></div><script type=\"module\" src=\"/src/main.tsx\"></script></body>\n</html>\n"
    )
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.tsx").write_text(
        'import { createRoot } from "react-dom/client";\nimport Chat from "./Chat";\n'
        'createRoot(document.getElementById("root")!).render(<Chat />);\n'
    )
    (tmp_path / "src" / "Chat.tsx").write_text(
        'import { ChatKit, useChatKit } from "@openai/chatkit-react";\n\n'
        "export default function Chat() {\n"
        "  const { control } = useChatKit({\n"
        '    api: { url: "/chatkit", domainKey: "local",\n'
        "      // chatkit-fix: ignore[CK104]\n"
        '      fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, "X-Trace": "1" } }) },\n'
        "  });\n"
        '  return <div style={{ height: 600 }}>{/* chatkit-fix: ignore[CK107] */}<ChatKit control={control} style={{ height: 600 }} /></div>;\n'
        "}\n"
    )
    (tmp_path / "index.html").write_text(html.format(marker=""))
    loud = json.loads(cli("check", "--format", "json", "--select", "CK102,CK104", str(tmp_path)).output)["findings"]
    assert {f["code"] for f in loud} == {"CK102"}, loud
    (tmp_path / "index.html").write_text(html.format(marker="<!-- chatkit-fix: ignore[CK102] -->\n    "))
    quiet = json.loads(cli("check", "--format", "json", "--select", "CK102,CK104", str(tmp_path)).output)["findings"]
    assert quiet == []
    (tmp_path / "src" / "Chat.tsx").write_text((tmp_path / "src" / "Chat.tsx").read_text().replace("ignore[CK104]", "ignore[CK999]"))
    again = json.loads(cli("check", "--format", "json", "--select", "CK102,CK104", str(tmp_path)).output)["findings"]
    assert [f["code"] for f in again] == ["CK104"]
