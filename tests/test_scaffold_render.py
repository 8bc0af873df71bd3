"""`init` renders every supported combination into valid, stable files and never clobbers user edits."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import black
import pytest
from scaffold_support.projects import generate, python_files, snapshot

from chatkit_fix.scaffold import Action, InitOptions, ScaffoldError, init_project

COMBINATIONS = [
    pytest.param(store, auth, framework, mcp, id=f"{store}-{auth}-{framework}-{'mcp' if mcp else 'nomcp'}")
    for store in ("sqlite", "postgres", "memory")
    for auth in ("jwt", "none")
    for framework in ("next", "vite", "none")
    for mcp in (True, False)
    if mcp or (store == "sqlite" and framework == "none")
]


@pytest.mark.parametrize(("store", "auth", "framework", "mcp"), COMBINATIONS)
def test_every_combination_renders_valid_stable_files(
    tmp_path: Path, store: str, auth: str, framework: str, mcp: bool
) -> None:
    report = generate(tmp_path, store=store, auth=auth, framework=framework, mcp=mcp)

    assert report.files and all(result.action is Action.CREATED for result in report.files)
    for path in python_files(tmp_path):
        source = path.read_text()
        compile(source, str(path), "exec")
        assert black.format_str(source, mode=black.Mode()) == source, f"{path} is not black-stable"

    before = snapshot(tmp_path)
    again = generate(tmp_path, store=store, auth=auth, framework=framework, mcp=mcp)
    assert {result.action for result in again.files} == {Action.UNCHANGED}
    assert [result.path for result in again.files] == [result.path for result in report.files]
    assert snapshot(tmp_path) == before


def test_backend_files_and_frontend_layout_for_next(tmp_path: Path) -> None:
    generate(tmp_path, framework="next")

    backend = {path.name for path in (tmp_path / "backend").iterdir()}
    assert backend == {
        "__init__.py",
        ".env.example",
        "chatkit_attachments.py",
        "chatkit_auth.py",
        "chatkit_errors.py",
        "chatkit_text.py",
        "chatkit_router.py",
        "chatkit_server.py",
        "chatkit_settings.py",
        "chatkit_store.py",
        "main.py",
        "mcp_tools.py",
        "requirements.txt",
    }
    layout = (tmp_path / "frontend/app/layout.tsx").read_text()
    assert 'import Script from "next/script";' in layout
    assert 'strategy="afterInteractive"' in layout
    assert layout.index("<body>") < layout.index("<Script") < layout.index("</body>")
    widget = (tmp_path / "frontend/components/ChatKitWidget.tsx").read_text()
    assert widget.startswith('"use client";')
    assert "const headers = new Headers(init?.headers);" in widget
    assert "{open && <ChatKit" in widget and 'style={{ height: 600, width: "100%" }}' in widget
    assert "display" not in widget.replace("display:none may", "")
    page = (tmp_path / "frontend/app/page.tsx").read_text()
    assert 'from "../components/ChatKitWidget"' in page
    package = json.loads((tmp_path / "frontend/package.json").read_text())
    assert package["dependencies"]["@openai/chatkit-react"] == "^1.6.1"


@pytest.mark.parametrize("framework", ["next", "vite"])
def test_the_widget_composer_offers_the_attachments_the_backend_accepts(tmp_path: Path, framework: str) -> None:
    """Two-phase uploads, and the same size, count and MIME types as the back end's defaults."""
    generate(tmp_path, framework=framework)
    widget = next(tmp_path.glob("frontend/**/ChatKitWidget.tsx")).read_text()
    settings = (tmp_path / "backend/chatkit_settings.py").read_text()
    assert 'uploadStrategy: { type: "two_phase" }' in widget
    assert "composer: { attachments: ATTACHMENTS }" in widget
    assert re.search(r"enabled: true,", widget)
    max_bytes = re.search(r"^DEFAULT_ATTACHMENT_MAX_BYTES = (\d+)$", settings, re.MULTILINE).group(1)
    max_count = re.search(r"^DEFAULT_ATTACHMENT_MAX_COUNT = (\d+)$", settings, re.MULTILINE).group(1)
    mime_types = re.search(r'^DEFAULT_ATTACHMENT_MIME_TYPES = "([^"]+)"$', settings, re.MULTILINE).group(1)
    assert f"maxSize: {max_bytes}," in widget and f"maxCount: {max_count}," in widget
    accept = re.search(r"accept: \{(.*?)\n  \},", widget, re.DOTALL).group(1)
    assert re.findall(r'"([a-z]+/[a-z.+-]+)": \[', accept) == mime_types.split(",")


def test_env_example_lists_every_variable_the_backend_reads(tmp_path: Path) -> None:
    generate(tmp_path, framework="none", store="postgres")
    env_example = (tmp_path / "backend/.env.example").read_text()
    sources = "".join(path.read_text() for path in python_files(tmp_path / "backend"))
    read = set(re.findall(r'"((?:CHATKIT|DATABASE|OPENAI)_[A-Z_]+)"', sources))
    assert read <= set(re.findall(r"^#? ?([A-Z_]+)=", env_example, re.MULTILINE))
    assert {"CHATKIT_JWT_SECRET", "DATABASE_URL", "CHATKIT_MODEL", "CHATKIT_CORS_ORIGINS"} <= read


def test_vite_puts_the_script_tag_in_index_html(tmp_path: Path) -> None:
    generate(tmp_path, framework="vite", auth="none")
    index = (tmp_path / "frontend/index.html").read_text()
    assert '<script src="https://cdn.platform.openai.com/deployments/chatkit/chatkit.js" async></script>' in index
    widget = (tmp_path / "frontend/src/ChatKitWidget.tsx").read_text()
    assert "import.meta.env.VITE_CHATKIT_API_URL" in widget
    assert "fetch:" not in widget, "without auth the widget needs no custom fetch"


def test_an_edited_file_survives_a_rerun_and_is_reported_with_a_diff(tmp_path: Path) -> None:
    generate(tmp_path, framework="none")
    server = tmp_path / "backend/chatkit_server.py"
    edited = server.read_text().replace("HISTORY_LIMIT = 40", "HISTORY_LIMIT = 10")
    server.write_text(edited)

    report = generate(tmp_path, framework="none")

    assert server.read_text() == edited
    [skipped] = report.skipped_edited
    assert skipped.path == "backend/chatkit_server.py"
    assert "-HISTORY_LIMIT = 10\n+HISTORY_LIMIT = 40" in skipped.diff
    assert "--force" in skipped.reason
    assert "backend/chatkit_server.py" in report.to_text()
    assert generate(tmp_path, framework="none").skipped_edited, "the edit stays protected on later runs"


def test_a_file_still_as_generated_is_updated_when_the_template_output_changes(tmp_path: Path) -> None:
    generate(tmp_path, framework="none", model="gpt-4.1")
    report = generate(tmp_path, framework="none", model="gpt-4.1-mini")

    updated = {result.path: result.diff for result in report.updated}
    assert set(updated) == {"backend/chatkit_settings.py", "backend/.env.example"}
    assert '+DEFAULT_MODEL = "gpt-4.1-mini"' in updated["backend/chatkit_settings.py"]
    assert 'DEFAULT_MODEL = "gpt-4.1-mini"' in (tmp_path / "backend/chatkit_settings.py").read_text()
    assert any("model changed" in note for note in report.notes)


def test_force_overwrites_an_edited_file_and_keeps_an_orig_copy(tmp_path: Path) -> None:
    generate(tmp_path, framework="none")
    store = tmp_path / "backend/chatkit_store.py"
    generated = store.read_text()
    store.write_text(generated + "\n# my change\n")

    report = generate(tmp_path, framework="none", force=True)

    [overwritten] = report.overwritten
    assert overwritten.backup == "backend/chatkit_store.py.orig"
    assert store.read_text() == generated
    assert (tmp_path / "backend/chatkit_store.py.orig").read_text().endswith("# my change\n")
    store.write_text(generated + "\n# second change\n")
    assert generate(tmp_path, framework="none", force=True).overwritten[0].backup == "backend/chatkit_store.py.orig.2"
    assert (tmp_path / "backend/chatkit_store.py.orig").read_text().endswith("# my change\n")


def test_dry_run_writes_nothing_and_shows_the_plan(tmp_path: Path) -> None:
    report = generate(tmp_path, framework="next", dry_run=True)

    assert list(tmp_path.iterdir()) == []
    assert report.dry_run and report.created
    assert all(result.diff.startswith("--- /dev/null") for result in report.created)
    assert "Dry run" in report.to_text()

    generate(tmp_path, framework="next")
    (tmp_path / "backend/main.py").write_text("edited\n")
    before = snapshot(tmp_path)
    report = generate(tmp_path, framework="next", model="other", force=True, dry_run=True)
    assert snapshot(tmp_path) == before
    assert {r.path for r in report.overwritten} == {"backend/main.py"}
    assert {r.path for r in report.updated} == {"backend/chatkit_settings.py", "backend/.env.example"}


USER_MAIN = """from fastapi import FastAPI

from .auth import AuthMiddleware
from .routes import api

app = FastAPI(title="todo")
app.add_middleware(AuthMiddleware)
app.include_router(api)


@app.get("/health")
def health():
    return {"ok": True}


if __name__ == "__main__":
    import uvicorn

    uvicorn.run("backend.main:app")
"""


def test_existing_main_and_layout_are_merged_by_codemods(tmp_path: Path) -> None:
    main = tmp_path / "backend/main.py"
    main.parent.mkdir()
    main.write_text(USER_MAIN)
    (tmp_path / "web/src/app").mkdir(parents=True)
    layout = tmp_path / "web/src/app/layout.tsx"
    layout.write_text(
        'import "./globals.css";\n\nexport default function RootLayout({ children }: { children: React.ReactNode }) {\n'
        '  return (\n    <html lang="en">\n      <body>\n        {children}\n      </body>\n    </html>\n  );\n}\n'
    )
    (tmp_path / "web/package.json").write_text('{\n    "dependencies": {"next": "15.0.0"}\n}\n')

    report = generate(tmp_path)

    assert {r.path for r in report.merged} == {"backend/main.py", "web/src/app/layout.tsx"}
    merged_main = main.read_text()
    for line in USER_MAIN.splitlines():
        assert line in merged_main.splitlines(), f"user line lost: {line!r}"
    lines = merged_main.splitlines()
    assert "from .chatkit_router import router as chatkit_router, settings as chatkit_settings" in lines
    include = lines.index("app.include_router(chatkit_router)")
    cors = lines.index("app.add_middleware(")
    assert lines.index("app.include_router(api)") < include < cors < lines.index('if __name__ == "__main__":')
    assert lines.index("app.add_middleware(AuthMiddleware)") < cors, "CORS must be added last (outermost)"
    merged_layout = layout.read_text()
    assert 'import Script from "next/script";' in merged_layout
    assert '<Script src="https://cdn.platform.openai.com/deployments/chatkit/chatkit.js" strategy="afterInteractive" />' in merged_layout
    assert (tmp_path / "web/src/components/ChatKitWidget.tsx").exists()
    assert not (tmp_path / "web/src/app/page.tsx").exists(), "an existing app keeps its own pages"
    package = (tmp_path / "web/package.json").read_text()
    assert package.startswith('{\n    "dependencies": {\n        "@openai/chatkit-react": "^1.6.1",')

    again = generate(tmp_path)
    assert not again.changed and not again.needs_merge, "a second init changes nothing"


def test_an_unmergeable_layout_is_reported_and_untouched(tmp_path: Path) -> None:
    (tmp_path / "web/src/app").mkdir(parents=True)
    layout = tmp_path / "web/src/app/layout.jsx"
    layout.write_text("export default function RootLayout({ children }) { return children; }\n")
    (tmp_path / "web/package.json").write_text('{"dependencies": {"next": "15.0.0"}}\n')
    main = tmp_path / "backend/main.py"
    main.parent.mkdir()
    main.write_text("from starlette.applications import Starlette\n\napp = Starlette()\n")

    report = generate(tmp_path, force=True)

    merges = {result.path: result.reason for result in report.needs_merge}
    assert set(merges) == {"backend/main.py", "web/src/app/layout.jsx"}
    assert "include_router" in merges["backend/main.py"] and "next/script" in merges["web/src/app/layout.jsx"]
    assert main.read_text() == "from starlette.applications import Starlette\n\napp = Starlette()\n"
    assert layout.read_text() == "export default function RootLayout({ children }) { return children; }\n"


def test_a_foreign_file_with_a_generated_name_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend/__init__.py").write_text("VERSION = 1\n")
    (tmp_path / "backend/chatkit_store.py").write_text("# my own store\n")

    report = generate(tmp_path, framework="none")

    assert (tmp_path / "backend/__init__.py").read_text() == "VERSION = 1\n"
    assert (tmp_path / "backend/chatkit_store.py").read_text() == "# my own store\n"
    [skipped] = report.skipped_edited
    assert skipped.path == "backend/chatkit_store.py" and "not generated by chatkit-fix" in skipped.reason


def test_dependencies_are_added_to_pyproject_keeping_comments_and_pins(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "app"\n# runtime deps\ndependencies = [\n    "fastapi==0.110.0",  # pinned on purpose\n]\n\n'
        "[tool.other]\nkey = 1\n"
    )

    generate(tmp_path, framework="none", store="postgres")

    text = pyproject.read_text()
    assert "# runtime deps" in text and '"fastapi==0.110.0",  # pinned on purpose' in text
    assert '"asyncpg>=0.29"' in text and '"openai-chatkit>=1.6.5,<2"' in text and "fastapi>=" not in text
    assert text.endswith("[tool.other]\nkey = 1\n")
    assert not (tmp_path / "backend/requirements.txt").exists()
    generate(tmp_path, framework="none", store="postgres")
    assert pyproject.read_text() == text


def test_dependencies_are_added_to_poetry_and_requirements_txt(tmp_path: Path) -> None:
    (tmp_path / "poetry").mkdir()
    poetry = tmp_path / "poetry/pyproject.toml"
    poetry.write_text('[tool.poetry.dependencies]\npython = "^3.11"\n')
    generate(tmp_path / "poetry", framework="none", auth="none", mcp=False)
    text = poetry.read_text()
    assert 'uvicorn = {version = ">=0.30", extras = ["standard"]}' in text
    assert "pyjwt" not in text and "mcp" not in text

    (tmp_path / "reqs/backend").mkdir(parents=True)
    requirements = tmp_path / "reqs/requirements.txt"
    requirements.write_text("-r base.txt\nOpenAI_Agents==0.24.0")
    generate(tmp_path / "reqs", framework="none")
    lines = requirements.read_text().splitlines()
    assert lines[:2] == ["-r base.txt", "OpenAI_Agents==0.24.0"]
    assert "aiosqlite>=0.20" in lines and not any(line.startswith("openai-agents") for line in lines)


def test_mcp_1_gets_the_fastmcp_form(tmp_path: Path) -> None:
    generate(tmp_path / "declared", framework="none")
    (tmp_path / "pinned").mkdir()
    (tmp_path / "pinned/requirements.txt").write_text("mcp>=1.9,<2\n")

    generate(tmp_path / "pinned", framework="none")
    generate(tmp_path / "forced", framework="none", mcp_major=1)

    for project in ("pinned", "forced"):
        tools = (tmp_path / project / "backend/mcp_tools.py").read_text()
        assert "from mcp.server.fastmcp import Context, FastMCP" in tools
        assert 'FastMCP("chatkit-tools", stateless_http=True, json_response=True)' in tools
        assert "@mcp.tool()" in tools and "mcpserver" not in tools
    assert (
        "from mcp.server.mcpserver import Context, MCPServer"
        in (tmp_path / "declared/backend/mcp_tools.py").read_text()
    )


def test_lock_file_is_sorted_and_stable(tmp_path: Path) -> None:
    generate(tmp_path, framework="vite")
    lock_path = tmp_path / ".chatkit-fix.lock.json"
    text = lock_path.read_text()
    data = json.loads(text)
    assert text == json.dumps(data, indent=2, sort_keys=True) + "\n"
    assert "backend/chatkit_server.py" in data["files"] and "frontend/package.json" not in data["files"]
    assert data["options"]["framework"] == "vite"
    mtime = lock_path.stat().st_mtime_ns
    generate(tmp_path, framework="vite")
    assert lock_path.stat().st_mtime_ns == mtime


def test_framework_is_detected_from_package_json(tmp_path: Path) -> None:
    (tmp_path / "client").mkdir()
    (tmp_path / "client/package.json").write_text('{"devDependencies": {"vite": "^8"}}')
    (tmp_path / "client/index.html").write_text("<html><head></head></html>\n")

    report = generate(tmp_path)

    assert (tmp_path / "client/src/ChatKitWidget.tsx").exists()
    assert [r.path for r in report.merged] == ["client/index.html"]
    assert "chatkit.js" in (tmp_path / "client/index.html").read_text()
    assert not (tmp_path / "client/src/main.tsx").exists()
    existing = tmp_path / "api-only"
    existing.mkdir()
    (existing / "pyproject.toml").write_text('[project]\nname = "api"\n')
    assert any("no Next or Vite app found" in note for note in generate(existing).notes)
    generate(tmp_path / "fresh")
    assert (tmp_path / "fresh/frontend/app/layout.tsx").exists(), "a new project gets the complete integration"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"store": "redis"}, "store must be one of"),
        ({"backend_dir": "../up"}, "inside the target"),
        ({"backend_dir": "my-api"}, "not a valid Python package name"),
        ({"backend_dir": "chatkit"}, "would hide the installed 'chatkit' package"),
        ({"model": 'gpt"4'}, "plain model name"),
    ],
)
def test_invalid_options_are_refused_before_anything_is_written(tmp_path: Path, options: dict, message: str) -> None:
    with pytest.raises(ScaffoldError, match=message):
        init_project(tmp_path, InitOptions(**options))
    assert list(tmp_path.iterdir()) == []


def test_importing_the_package_loads_no_renderer() -> None:
    code = (
        "import sys, chatkit_fix.scaffold as s; "
        "print(sorted(m for m in ('jinja2', 'black', 'tomlkit') if m in sys.modules))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=Path(__file__).parents[1]
    )
    assert output.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "options",
    [
        {"store": "sqlite", "auth": "jwt", "framework": "next"},
        {"store": "postgres", "auth": "jwt", "framework": "vite"},
        {"store": "memory", "auth": "none", "framework": "next"},
        {"store": "sqlite", "auth": "none", "framework": "vite"},
        {"store": "sqlite", "auth": "jwt", "framework": "none", "mcp_major": 1},
    ],
    ids=lambda options: "-".join(str(value) for value in options.values()),
)
def test_chatkit_fix_check_finds_nothing_in_a_generated_project(tmp_path: Path, options: dict) -> None:
    generate(tmp_path, **options)
    result = subprocess.run(
        [sys.executable, "-m", "chatkit_fix", "check", "--no-color", str(tmp_path)],
        check=False,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
