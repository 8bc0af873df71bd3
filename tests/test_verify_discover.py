"""`chatkit-fix verify` without booting anything: finding the app, the MCP server, the secret and the store from the
project's sources (stdlib `ast` only), the telltales that map a server log to rule codes, the test tokens, and the
report's shape and exit codes.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jwt
import pytest
from scaffold_support.projects import generate

from chatkit_fix.config import load_settings
from chatkit_fix.project import Project
from chatkit_fix.verify import diagnose
from chatkit_fix.verify.checks import CATALOGUE, FAIL, PASS, SKIP, CheckResult, VerifyOptions, VerifyReport, hs256_token
from chatkit_fix.verify.command import CommandOptions, VerifyUsageError, discover_project, run
from chatkit_fix.verify.discover import discover
from chatkit_fix.verify.report import to_dict, to_text

PROJECTS = Path(__file__).parent / "projects"

ENDPOINT = """
    from chatkit.server import StreamingResult
    from fastapi.responses import Response, StreamingResponse

    async def handle(request, server):
        result = await server.process(await request.body(), {})
        if isinstance(result, StreamingResult):
            return StreamingResponse(result, media_type="text/event-stream")
        return Response(content=result.json, media_type="application/json")
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


def found(root: Path, **options):
    return discover_project(CommandOptions(path=root, **options))


def test_init_output_is_found_with_its_mcp_server_secret_and_store(tmp_path):
    generate(tmp_path, framework="none", store="sqlite", auth="jwt")
    d = found(tmp_path)
    assert (d.app.import_string, d.app.cwd, d.chatkit_path) == ("backend.main:app", tmp_path.resolve(), "/chatkit")
    assert d.mcp is not None and d.mcp.import_string == "backend.mcp_tools:app" and d.mcp.path == "/mcp"
    assert d.mcp.tools == ["add_note", "list_notes"]
    assert d.mcp.url_env == ["CHATKIT_MCP_URL"] and d.mcp.url_env_source == "read by the back end"
    assert d.secret_names[0] == "CHATKIT_JWT_SECRET" and d.auth_evidence
    assert d.cors_middleware and "http://localhost:3000" in d.cors_origins
    assert d.memory_store is None and d.store_env == {"CHATKIT_SQLITE_PATH": "path"}


def test_boot_fixtures_are_found_from_their_package_parent():
    store = found(PROJECTS / "boot_store")
    assert store.app.import_string == "app.main:app"
    assert store.app.cwd == (PROJECTS / "boot_store" / "backend").resolve()
    assert store.memory_store and "MemoryStore" in store.memory_store
    mcp = found(PROJECTS / "boot" / "ck502_mcp_lifetime")
    assert mcp.app.import_string == "main:app"
    assert mcp.mcp is not None and mcp.mcp.import_string == "mcp_tools:app" and mcp.mcp.url_env == ["MCP_URL"]
    auth = found(PROJECTS / "boot_auth")
    assert auth.secret_names == ["JWT_SECRET"] and any("jwt.decode" in e for e in auth.auth_evidence)


def test_routers_included_with_prefixes_give_the_endpoint_path(tmp_path):
    write(tmp_path, {
        "service/__init__.py": "",
        "service/chat/__init__.py": "",
        "service/chat/routes.py": """
            from fastapi import APIRouter, Request
            from .server import chatkit_server
            router = APIRouter(prefix="/api")

            @router.post("/chatkit")
            async def chatkit(request: Request):
                return await forward(request)

            async def forward(request):
                return await chatkit_server.process(await request.body(), {})
        """,
        "service/app.py": """
            from fastapi import FastAPI
            from .chat import routes
            from .chat.routes import router as chat_router

            application = FastAPI()
            application.include_router(chat_router, prefix="/v1")
        """,
        "tests/test_app.py": "from fastapi import FastAPI\napp = FastAPI()\n",
    })
    d = found(tmp_path)
    assert d.app.import_string == "service.app:application"
    assert d.app.cwd == tmp_path.resolve()
    assert d.chatkit_path == "/v1/api/chatkit"


def test_a_starlette_route_and_a_plain_subprocess_call(tmp_path):
    write(tmp_path, {
        "worker.py": """
            import subprocess
            from fastapi import FastAPI
            other = FastAPI()

            @other.post("/run")
            def run():
                return subprocess.process("x")
        """,
        "web.py": """
            from starlette.applications import Starlette
            from starlette.routing import Route

            async def endpoint(request):
                return await server.process(await request.body(), {})

            routes = [Route("/chat", endpoint, methods=["POST"])]
            asgi = Starlette(routes=routes)
        """,
    })
    d = found(tmp_path)
    assert (d.app.import_string, d.chatkit_path) == ("web:asgi", "/chat")


def test_config_and_options_override_detection(tmp_path):
    write(tmp_path, {
        "pyproject.toml": """
            [tool.chatkit-fix]
            backend = { roots = ["server"], app = "entry:app", mcp-app = "tools:app" }
        """,
        "server/entry.py": "from fastapi import FastAPI\napp = FastAPI()\ndef create_app():\n    return app\n",
        "server/tools.py": "from mcp.server.mcpserver import MCPServer\nmcp = MCPServer('t')\napp = mcp.streamable_http_app()\n",
    })
    d = found(tmp_path)
    assert (d.app.import_string, d.app.source, d.app.cwd) == ("entry:app", "config", (tmp_path / "server").resolve())
    assert d.mcp is not None and (d.mcp.import_string, d.mcp.source) == ("tools:app", "config")
    given = found(tmp_path, app="entry:create_app", no_mcp=True)
    assert given.app.factory and given.app.source == "--app" and given.mcp is None
    with pytest.raises(VerifyUsageError, match="module 'nowhere' not found"):
        found(tmp_path, app="nowhere:app")


def test_no_app_is_a_usage_error_with_exit_2(tmp_path):
    write(tmp_path, {"main.py": "print('no web app here')\n"})
    errors: list[str] = []
    code = run(CommandOptions(path=tmp_path), echo=lambda _text: None, echo_err=errors.append)
    assert code == 2
    assert "no FastAPI or Starlette app" in errors[0] and "--app" in errors[0]


def test_a_bad_python_is_a_usage_error(tmp_path):
    write(tmp_path, {"main.py": "from fastapi import FastAPI\napp = FastAPI()\n"})
    errors: list[str] = []
    code = run(CommandOptions(path=tmp_path, python=str(tmp_path / "missing-python")), echo=lambda _t: None,
               echo_err=errors.append)
    assert code == 2 and "not an executable file" in errors[0]


def test_mcp_server_with_a_hard_coded_url_or_mounted_in_the_app(tmp_path):
    write(tmp_path, {
        "main.py": """
            from fastapi import FastAPI
            MCP = "http://localhost:8765/tools/mcp"
            app = FastAPI()

            @app.post("/chatkit")
            async def chatkit(request):
                return await server.process(await request.body(), {})
        """,
        "tools.py": """
            from mcp.server.fastmcp import FastMCP
            mcp = FastMCP("tools", streamable_http_path="/tools/mcp")

            @mcp.tool(name="weather")
            def get_weather(city: str) -> str:
                return city
        """,
    })
    d = found(tmp_path)
    assert d.mcp is not None
    assert (d.mcp.import_string, d.mcp.factory, d.mcp.path) == ("tools:mcp.streamable_http_app", True, "/tools/mcp")
    assert d.mcp.tools == ["weather"] and d.mcp.port == 8765
    (tmp_path / "tools.py").write_text(
        "from fastapi import FastAPI\nfrom mcp.server.mcpserver import MCPServer\nmcp = MCPServer('t')\n"
        "api = FastAPI()\napi.mount('/', mcp.streamable_http_app())\n"
    )
    assert found(tmp_path).mcp is None


def test_secrets_from_decode_calls_literals_and_env_files(tmp_path):
    write(tmp_path, {
        "main.py": """
            import os
            import jwt
            from fastapi import FastAPI
            SIGNING = os.environ["APP_TOKEN_SECRET"]
            app = FastAPI()

            @app.post("/chatkit")
            async def chatkit(request):
                claims = jwt.decode(request.headers["authorization"][7:], SIGNING, algorithms=["HS256"])
                return await server.process(await request.body(), {"user_id": claims["sub"]})
        """,
        ".env": "export APP_TOKEN_SECRET='from-dotenv'  \nOTHER=1 # comment\n",
    })
    d = found(tmp_path)
    assert d.secret_names[0] == "APP_TOKEN_SECRET"
    assert d.dotenv == {"APP_TOKEN_SECRET": "from-dotenv", "OTHER": "1"}
    (tmp_path / "main.py").write_text((tmp_path / "main.py").read_text().replace("SIGNING, ", '"literal-secret", '))
    assert found(tmp_path).secret_literal == "literal-secret"


def test_store_detection(tmp_path):
    generate(tmp_path / "memory", framework="none", store="memory", auth="none")
    assert "MemoryStore" in (found(tmp_path / "memory").memory_store or "")
    verify_fixture = found(PROJECTS / "verify" / "lost_on_restart")
    assert verify_fixture.memory_store is None  # module-level dicts: only the restart shows the loss


def test_hs256_tokens_verify_with_pyjwt():
    token = hs256_token("s" * 40, "alice", {"aud": "api"})
    claims = jwt.decode(token, "s" * 40, algorithms=["HS256"], audience="api", options={"require": ["exp", "sub"]})
    assert claims["sub"] == "alice" and claims["exp"] > claims["iat"]


@pytest.mark.parametrize(("log", "codes"), [
    ("TypeError: 'async for' requires an object with __aiter__ method, got coroutine", ["CK203"]),
    ("AttributeError: 'RunResult' object has no attribute 'stream_events'", ["CK203"]),
    ("AttributeError: 'RunResult' object has no attribute 'handoffs'", ["CK204"]),
    ("agents.exceptions.UserError: Unknown content: {'type': 'output_text'}", ["CK215"]),
    ("agents.exceptions.UserError: Server not initialized. Make sure you call connect() first.", ["CK501"]),
    ("mcp.shared.exceptions.MCPError: Connection closed", ["CK502"]),
    ("TypeError: Can't instantiate abstract class S with abstract methods load_attachment", ["CK301"]),
    ("TypeError: S.load_thread() got an unexpected keyword argument 'context'", ["CK302"]),
    ("AttributeError: 'dict' object has no attribute 'data'", ["CK303"]),
    ("nothing to see", []),
])
def test_log_telltales_name_the_rules(log, codes):
    assert diagnose.rules_from_log(log)[0] == codes


def test_fallback_rules_and_last_exception():
    assert diagnose.rules_from_log("", diagnose.STREAM_FAILURE_RULES)[0] == list(diagnose.STREAM_FAILURE_RULES)
    log = "INFO: started\nTraceback (most recent call last):\n  File x\nValueError: first\nKeyError: 'second'\n"
    assert diagnose.last_exception(log) == "KeyError: 'second'"
    assert diagnose.is_tool_error("An error occurred while running the tool. Please try again.")
    assert not diagnose.is_tool_error("Saved note 1")


def _report(tmp_path: Path, statuses: dict[str, str]) -> VerifyReport:
    write(tmp_path, {"main.py": "from fastapi import FastAPI\napp = FastAPI()\n# chatkit\n"})
    settings = load_settings(tmp_path)
    project = Project.discover(tmp_path, settings, [tmp_path])
    report = VerifyReport(discover(tmp_path, project.files, []), VerifyOptions(python="python"))
    for check_id, status in statuses.items():
        rules = ["CK203"] if status == FAIL else []
        report.checks.append(CheckResult(check_id, status, f"{check_id} {status}", rules, 0.1,
                                         "Traceback...\nTypeError: boom" if status == FAIL else ""))
    return report


def test_report_json_shape_text_and_exit_codes(tmp_path):
    passing = _report(tmp_path, {check_id: PASS for check_id in CATALOGUE})
    assert passing.exit_code == 0
    data = to_dict(passing)
    assert set(data) == {"version", "project", "app", "mcp", "auth", "origin", "fake_openai", "python", "notes",
                         "checks", "rules", "summary", "logs", "log_dir", "exit_code"}
    assert [c["id"] for c in data["checks"]] == list(CATALOGUE)
    assert set(data["checks"][0]) == {"id", "title", "status", "reason", "rules", "seconds"}
    assert data["summary"] == {"passed": len(CATALOGUE), "failed": 0, "skipped": 0, "seconds": 0.0}
    json.dumps(data)

    failing = _report(tmp_path / "f", {"app.start": PASS, "threads.create": FAIL, "persistence": SKIP})
    assert failing.exit_code == 1 and failing.failed_rules == ["CK203"]
    data = to_dict(failing)
    assert data["checks"][1]["log"].endswith("TypeError: boom")
    assert data["rules"]["CK203"]["slug"] == "respond-not-generator"
    text = to_text(failing)
    assert "FAIL  threads.create" in text and "[CK203]" in text and "TypeError: boom" in text
    assert "1 passed, 1 failed, 1 skipped" in text

    nothing = _report(tmp_path / "n", {"app.start": PASS, "threads.create": SKIP})
    assert nothing.exit_code == 2  # bearer auth and no secret: nothing was verified


def _verifier(tmp_path: Path, monkeypatch, files: dict[str, str], **options):
    from chatkit_fix.verify.checks import Verifier
    from chatkit_fix.verify.fake_openai import FakeOpenAI

    write(tmp_path, files)
    for name in ("JWT_SECRET", "DB_PATH", "CORS_ORIGINS", "OPENAI_BASE_URL", "OPENAI_ORG_ID"):
        monkeypatch.delenv(name, raising=False)
    verifier = Verifier(found(tmp_path), VerifyOptions(python="python", **options))
    verifier.fake = FakeOpenAI()
    verifier.workdir = tmp_path / "scratch"
    return verifier


APP_WITH_SETTINGS = {
    "main.py": """
        import os
        import jwt
        from fastapi import FastAPI
        from fastapi.middleware.cors import CORSMiddleware
        SECRET = os.environ["JWT_SECRET"]
        DB = os.getenv("DB_PATH", "data/chat.db")
        app = FastAPI()
        app.add_middleware(CORSMiddleware, allow_origins=os.environ.get("CORS_ORIGINS", "http://localhost:4000").split(","))

        @app.post("/chatkit")
        async def chatkit(request):
            claims = jwt.decode(request.headers["authorization"][7:], SECRET, algorithms=["HS256"])
            return await server.process(await request.body(), {"user_id": claims["sub"]})
    """,
}


def test_child_environment_fake_api_scratch_database_and_generated_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.openai.com/v1")
    verifier = _verifier(tmp_path, monkeypatch, {**APP_WITH_SETTINGS, ".env": "OPENAI_API_KEY=sk-real\nX=1\n"})
    try:
        verifier._build_env()
    finally:
        verifier.fake.close()
    env = verifier.env
    assert env["OPENAI_BASE_URL"] == verifier.fake.base_url and env["OPENAI_API_KEY"] != "sk-real"
    assert env["OPENAI_AGENTS_DISABLE_TRACING"] == "1" and env["X"] == "1"
    assert env["DB_PATH"].startswith(str(tmp_path / "scratch"))
    assert env["JWT_SECRET"] == verifier.secret and len(verifier.secret) >= 32
    assert verifier.secret_source == "JWT_SECRET, generated for this run"
    assert verifier._origin() == ("http://localhost:4000", "the app's allowed origins")


def test_secret_precedence_option_environment_dotenv(tmp_path, monkeypatch):
    files = {**APP_WITH_SETTINGS, ".env": "JWT_SECRET=from-the-dotenv-file\nCORS_ORIGINS=https://app.example\n"}
    verifier = _verifier(tmp_path, monkeypatch, files)
    try:
        verifier._build_env()
        assert (verifier.secret, verifier.secret_source) == ("from-the-dotenv-file", "JWT_SECRET from the project's .env")
        assert verifier._origin() == ("https://app.example", "CORS_ORIGINS")
        monkeypatch.setenv("JWT_SECRET", "from-the-environment")
        verifier._build_env()
        assert (verifier.secret, verifier.secret_source) == ("from-the-environment", "JWT_SECRET from the environment")
        assert "JWT_SECRET" not in verifier.env  # the child inherits it as it is
    finally:
        verifier.fake.close()
    given = _verifier(tmp_path / "given", monkeypatch, files, jwt_secret="given-on-the-command-line",
                      origin="http://localhost:9999")
    try:
        given._build_env()
    finally:
        given.fake.close()
    assert given.env["JWT_SECRET"] == given.secret == "given-on-the-command-line"
    assert given._origin() == ("http://localhost:9999", "--origin")
