"""The scope (chatkit_fix/scope.py): which Python files the rules look at, decided from import lines alone."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from chatkit_fix.cli import main
from chatkit_fix.config import load_settings
from chatkit_fix.project import Project
from chatkit_fix.scope import imported_names
from chatkit_fix.testing import write_files

APP = "from fastapi import FastAPI\n\napp = FastAPI()\n"
SECRET = 'JWT_SECRET = "a-real-looking-signing-secret"\n'


def in_scope(root: Path, files: dict[str, str], *named: str) -> set[str]:
    write_files(root, files)
    paths = [root / name for name in named] or [root]
    project = Project.discover(root, load_settings(root, None), paths)
    return {project.relative(path) for path in project.files_of("python")}


def secrets_found(root: Path, files: dict[str, str]) -> set[str]:
    write_files(root, files)
    result = CliRunner().invoke(main, ["check", "--select", "CK409", "--format", "json", str(root)])
    return {finding["path"] for finding in json.loads(result.output)["findings"]}


def test_import_lines_give_dotted_modules():
    source = (
        b"\xef\xbb\xbfimport os, app.core.settings as settings\n"
        b"from app import auth, routes  # submodules or names\n"
        b"from .local import thing\n"
        b"def main():\n    import uvicorn\n"
    )
    assert imported_names(source) == {"os", "app.core.settings", "app", "app.auth", "app.routes", "uvicorn"}


def test_vendored_library_is_out_of_scope_and_its_secrets_unreported(tmp_path):
    files = {
        "main.py": APP + "from settings import JWT_SECRET\n",
        "settings.py": SECRET,
        "vendor/somelib/__init__.py": "",
        "vendor/somelib/client.py": "import json\n\n" + SECRET,
    }
    assert secrets_found(tmp_path, files) == {"settings.py"}


def test_a_service_is_one_unit(tmp_path):
    files = {
        "backend/requirements.txt": "fastapi\n",
        "backend/app/__init__.py": "",
        "backend/app/main.py": APP,
        "backend/app/core/__init__.py": "",
        "backend/app/core/config.py": SECRET,
        "backend/scripts/seed.py": "import sqlite3\n",
    }
    assert in_scope(tmp_path, files) == {
        "backend/app/__init__.py", "backend/app/main.py", "backend/app/core/__init__.py",
        "backend/app/core/config.py", "backend/scripts/seed.py",
    }


def test_units_an_application_imports_and_its_entry_script_are_in_scope(tmp_path):
    files = {
        "app/__init__.py": "",
        "app/main.py": APP + "from core.settings import JWT_SECRET\n",
        "core/__init__.py": "",
        "core/settings.py": SECRET,  # imported by the application: in scope
        "tools/__init__.py": "",
        "tools/lint.py": "import ast\n",  # nobody's business
        "run.py": "from app.main import app\n",  # imports the application: its entry script
    }
    assert in_scope(tmp_path, files) == {"app/__init__.py", "app/main.py", "core/__init__.py", "core/settings.py", "run.py"}


def test_a_stray_import_in_prose_does_not_pull_in_a_folder(tmp_path):
    files = {
        "a/pylib/web/__init__.py": "",
        "a/pylib/web/server.py": APP,
        "b/lib/__init__.py": "",
        "b/lib/docs.py": '"""Example:\nimport a\n"""\n',
    }
    assert in_scope(tmp_path, files) == {"a/pylib/web/__init__.py", "a/pylib/web/server.py"}


def test_copied_sdk_is_out_of_scope_but_a_services_own_chatkit_folder_is_in(tmp_path):
    files = {
        "third_party/chatkit/server.py": "from chatkit.types import ThreadMetadata\n\nclass ChatKitServer: ...\n",
        "api/pyproject.toml": "[project]\nname = 'api'\n",
        "api/chatkit/server.py": "from chatkit.server import ChatKitServer\n",
    }
    assert in_scope(tmp_path, files) == {"api/chatkit/server.py"}


def test_a_file_naming_chatkit_is_in_scope_on_its_own(tmp_path):
    files = {
        "scripts/smoke.py": 'import httpx\n\nhttpx.post(URL, json={"type": "threads.create"})  # ChatKit smoke test\n',
        "scripts/other.py": "import httpx\n",
    }
    assert in_scope(tmp_path, files) == {"scripts/smoke.py"}


def test_named_files_of_a_service_never_list_the_rest_of_the_project(tmp_path):
    files = {
        "svc/requirements.txt": "fastapi\n",
        "svc/main.py": APP,
        "svc/store.py": "from chatkit.store import Store\n",
        "other/requirements.txt": "fastapi\n",
        "other/main.py": APP,
    }
    write_files(tmp_path, files)
    project = Project.discover(tmp_path, load_settings(tmp_path, None), [tmp_path / "svc" / "main.py"])
    assert {project.relative(p) for p in project.files_of("python")} == {"svc/main.py", "svc/store.py"}
    assert "files" not in project.__dict__  # the project was never walked
    assert project.scope.services_only


def test_the_sdks_own_repository_checks_its_examples_and_tests_not_the_sdk(tmp_path):
    files = {
        "pyproject.toml": "[project]\nname = 'openai-agents'\n",
        "src/agents/__init__.py": "from .run import Runner\n",
        "src/agents/run.py": "from openai import AsyncOpenAI\n\nclass Runner: ...\n",
        "examples/basic.py": "from agents import Agent, Runner\n",
        "tests/test_run.py": "from agents import Runner\n",
    }
    assert in_scope(tmp_path, files) == {"examples/basic.py", "tests/test_run.py"}


def test_each_service_is_judged_on_its_own(tmp_path):
    """The benchmark's three apps: helpdesk passes its signed-in user to process(), trip-planner does too and its
    store ignores it (CK306), recipes-bot has no users. Judged together, helpdesk's user was blamed on recipes-bot's
    store and trip-planner's own fault was missed."""
    import shutil

    projects = Path(__file__).resolve().parent.parent / "benchmarks" / "projects"
    shutil.copytree(projects, tmp_path / "apps")
    result = CliRunner().invoke(main, ["check", "--select", "CK306", "--format", "json", str(tmp_path)])
    assert {f["path"] for f in json.loads(result.output)["findings"]} == {"apps/trip-planner/api/memory.py"}


def test_a_service_seen_alone_is_not_taken_for_the_back_end_of_another_services_front_end(tmp_path):
    """CK406 pairs a front end's cross-origin call with the app serving the called path. Seen on its own (one
    service per pass), a ChatKit app that does not serve that path is not the target: the real one is elsewhere."""
    server = (
        "from chatkit.server import ChatKitServer\nfrom fastapi import FastAPI, Request\n\napp = FastAPI()\n"
        "server: ChatKitServer = None\n\n\n@app.post({path!r})\nasync def chatkit(request: Request):\n"
        "    return await server.process(await request.body(), {{}})\n"
    )
    files = {
        "web/package.json": '{"dependencies": {"@openai/chatkit-react": "1.6.1", "next": "16.0.0"}}\n',
        "web/app/layout.tsx": "export default function RootLayout({ children }) { return children; }\n",
        "web/app/page.tsx": (
            'import { ChatKit, useChatKit } from "@openai/chatkit-react";\n\nexport default function Page() {\n'
            '  const { control } = useChatKit({ api: { url: "http://localhost:8000/chatkit", domainKey: "" } });\n'
            "  return <ChatKit control={control} />;\n}\n"
        ),
        "chat/requirements.txt": "fastapi\n",
        "chat/main.py": server.format(path="/chatkit"),
        "admin/requirements.txt": "fastapi\n",
        "admin/main.py": server.format(path="/admin/chatkit"),
    }
    write_files(tmp_path, files)
    result = CliRunner().invoke(main, ["check", "--select", "CK406", "--format", "json", str(tmp_path)])
    assert {f["path"] for f in json.loads(result.output)["findings"]} == {"chat/main.py"}
