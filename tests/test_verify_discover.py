"""`chatkit-fix verify` without booting anything: finding the app, its endpoints, the MCP server, the secret and the
store through the application model, the causes read from a server log (telltales and tracebacks), the test tokens,
and the report's shape and exit codes.
"""

from __future__ import annotations

import base64
import json
import textwrap
from pathlib import Path

import jwt
import pytest
from scaffold_support.projects import generate

from chatkit_fix.config import load_settings
from chatkit_fix.project import Project
from chatkit_fix.verify import diagnose
from chatkit_fix.verify.checks import (CATALOGUE, FAIL, PASS, SKIP, CheckResult, VerifyOptions, VerifyReport,
                                       _attachment_file, hs256_token)
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
    assert found(tmp_path).secret.literal == "literal-secret"


def test_store_detection(tmp_path):
    generate(tmp_path / "memory", framework="none", store="memory", auth="none")
    assert "MemoryStore" in (found(tmp_path / "memory").memory_store or "")
    verify_fixture = found(PROJECTS / "verify" / "lost_on_restart")
    assert verify_fixture.memory_store is None  # module-level dicts: only the restart shows the loss


def test_a_store_subclass_changing_only_helpers_is_judged_by_its_base(tmp_path):
    write(tmp_path, {"keeping.py": """
        from chatkit.store import NotFoundError, Store

        class DictStore(Store):
            def __init__(self):
                self.rows = {}

            def owner(self, context):
                return ""

            async def load_thread(self, thread_id, context):
                if (self.owner(context), thread_id) not in self.rows:
                    raise NotFoundError(thread_id)
                return self.rows[(self.owner(context), thread_id)]

            async def save_thread(self, thread, context):
                self.rows[(self.owner(context), thread.id)] = thread

        class PerUserStore(DictStore):
            def owner(self, context):
                return context["user"]
    """, "main.py": """
        from fastapi import FastAPI, Request
        from keeping import PerUserStore

        store = PerUserStore()
        app = FastAPI()

        @app.post("/chatkit")
        async def chatkit(request: Request):
            return await server.process(await request.body(), {})
    """})
    assert found(tmp_path).memory_store == "keeping.py:3: DictStore"


def test_an_app_error_no_rule_covers_gets_its_meaning_without_a_rule(tmp_path):
    log = ("Traceback (most recent call last):\n"
           f'  File "{tmp_path / "main.py"}", line 41, in chatkit\n    result = await server.process(body, ctx)\n'
           '  File "/venv/lib/python3.11/site-packages/chatkit/server.py", line 862, in _load\n'
           "TypeError: chatkit.types.Thread() got multiple values for keyword argument 'items'\n")
    cause = diagnose.explain(log, tmp_path)
    assert cause.rules == [] and cause.location == "main.py:41" and cause.origin == "chatkit/server.py:862"
    assert cause.text().startswith("app error: TypeError: chatkit.types.Thread() got multiple values")
    assert "save_thread kept the Thread it was given, items included" in cause.text()


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
    ("TypeError: Can't instantiate abstract class S without an implementation for abstract methods 'load_item', "
     "'save_item'", ["CK301"]),
    # a ChatKitServer subclass whose respond() is not in its class body: an app error, no Store rule
    ("TypeError: Can't instantiate abstract class Server with abstract method respond", []),
    ("TypeError: Can't instantiate abstract class S with abstract methods load_item, respond", []),
    ("TypeError: S.load_thread() got an unexpected keyword argument 'context'", ["CK302"]),
    ("AttributeError: 'dict' object has no attribute 'data'", ["CK303"]),
    ("TypeError: 'NonStreamingResult' object is not iterable", ["CK201"]),
    ("nothing to see", []),
])
def test_log_telltales_name_the_rules(log, codes):
    assert diagnose.rules_from_log(log)[0] == codes


def test_causes_come_from_the_traceback_never_from_a_list_of_guesses(tmp_path):
    assert diagnose.rules_from_log("") == ([], "")
    log = "INFO: started\nTraceback (most recent call last):\n  File x\nValueError: first\nKeyError: 'second'\n"
    assert diagnose.last_exception(log) == "KeyError: 'second'"
    assert diagnose.is_tool_error("An error occurred while running the tool. Please try again.")
    assert not diagnose.is_tool_error("Saved note 1")
    store = tmp_path / "app" / "store.py"
    library = "/venv/lib/python3.11/site-packages/chatkit/server.py"
    log = (
        "ERROR:    Exception in ASGI application\nTraceback (most recent call last):\n"
        f'  File "{library}", line 10, in process\n    await self.store.save_item(item)\n'
        f'  File "{store}", line 42, in save_item\n    self.rows.append(json.dumps(item.model_dump()))\n'
        f'  File "/usr/lib/python3.11/json/__init__.py", line 231, in dumps\n'
        "TypeError: Object of type datetime is not JSON serializable\n"
    )
    cause = diagnose.explain(log, tmp_path)
    assert (cause.rules, cause.location) == ([], "app/store.py:42")
    assert cause.text() == "app error: TypeError: Object of type datetime is not JSON serializable at app/store.py:42"
    told = diagnose.explain(log.replace("TypeError: Object of type datetime is not JSON serializable",
                                        "TypeError: 'async for' requires an object with __aiter__ method, got coroutine"),
                            tmp_path)
    assert told.rules == ["CK203"] and "respond() returns the stream" in told.text()
    chained = diagnose.explain(
        "Traceback (most recent call last):\n  File \"/x/site-packages/httpx/_transports.py\", line 3, in send\n"
        "httpx.ConnectError: [Errno 111] Connection refused\n\nThe above exception was the direct cause of the "
        "following exception:\n\nTraceback (most recent call last):\n"
        f'  File "{store}", line 7, in load\nqdrant_client.http.exceptions.ResponseHandlingException: refused\n',
        tmp_path)
    assert chained.network and chained.location == "app/store.py:7"
    assert not diagnose.explain("a log without any traceback", tmp_path)


def _report(tmp_path: Path, statuses: dict[str, str]) -> VerifyReport:
    write(tmp_path, {"main.py": """
        from fastapi import FastAPI
        app = FastAPI()

        @app.post("/chatkit")
        async def chatkit(request):
            return await server.process(await request.body(), {})
    """})
    settings = load_settings(tmp_path)
    project = Project.discover(tmp_path, settings, [tmp_path])
    report = VerifyReport(discover(project, tmp_path), VerifyOptions(python="python"))
    for check_id, status in statuses.items():
        rules = ["CK203"] if status == FAIL else []
        report.checks.append(CheckResult(check_id, status, f"{check_id} {status}", rules, 0.1,
                                         "Traceback...\nTypeError: boom" if status == FAIL else ""))
    return report


def test_report_json_shape_text_and_exit_codes(tmp_path):
    passing = _report(tmp_path, {check_id: PASS for check_id in CATALOGUE})
    assert passing.exit_code == 0
    data = to_dict(passing)
    assert set(data) == {"version", "project", "app", "endpoints", "statement", "outside", "mcp", "auth", "origin",
                         "fake_openai", "python", "notes", "checks", "rules", "summary", "logs", "log_dir",
                         "exit_code"}
    assert data["endpoints"] == ["/chatkit"] and data["statement"] is None and data["outside"] == []
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
    assert verifier.secret_source == "JWT_SECRET, generated for this run (jwt.decode at main.py:12 reads JWT_SECRET)"
    assert verifier._origin() == ("http://localhost:4000", "the app's allowed origins")


def test_secret_precedence_option_environment_dotenv(tmp_path, monkeypatch):
    files = {**APP_WITH_SETTINGS, ".env": "JWT_SECRET=from-the-dotenv-file\nCORS_ORIGINS=https://app.example\n"}
    verifier = _verifier(tmp_path, monkeypatch, files)
    try:
        verifier._build_env()
        assert verifier.secret == "from-the-dotenv-file"
        assert verifier.secret_source.startswith("JWT_SECRET from the project's .env (jwt.decode at main.py:12")
        assert verifier._origin() == ("https://app.example", "CORS_ORIGINS")
        monkeypatch.setenv("JWT_SECRET", "from-the-environment")
        verifier._build_env()
        assert verifier.secret == "from-the-environment"
        assert verifier.secret_source.startswith("JWT_SECRET from the environment")
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


# ---- the application model's answers, scoped to the app ------------------------------------------------------------

FACTORY_APP = {
    "backend/pyproject.toml": "[project]\nname = 'svc'\n",
    "backend/src/svc/__init__.py": "",
    "backend/src/svc/api/__init__.py": "",
    "backend/src/svc/api/notes.py": """
        from dishka.integrations.fastapi import FromDishka, inject
        from fastapi import APIRouter, Request
        from ..chat import NotesServer
        router = APIRouter(prefix="/notes")

        @router.post("/chatkit")
        @inject
        async def chatkit_endpoint(request: Request, server: FromDishka[NotesServer]):
            return await server.process(await request.body(), {})
    """,
    "backend/src/svc/api/todo.py": """
        from dishka.integrations.fastapi import FromDishka, inject
        from fastapi import APIRouter, Request
        from ..chat import NotesServer
        router = APIRouter()

        @router.post("/chatkit")
        @inject
        async def chatkit_endpoint(request: Request, server: FromDishka[NotesServer]):
            return await server.process(await request.body(), {})
    """,
    "backend/src/svc/chat.py": "class NotesServer:\n    pass\n",
    "backend/src/svc/main.py": """
        from fastapi import FastAPI
        from .api import notes, todo

        class App(FastAPI):
            def __init__(self):
                super().__init__(title="svc")
                self.include_router(notes.router)
                self.include_router(todo.router, prefix="/todo")

        def create_app() -> FastAPI:
            return App()

        app = create_app()
    """,
}


def test_a_fastapi_subclass_built_by_a_factory_with_di_endpoints_serves_every_prefix(tmp_path):
    d = found(write(tmp_path, FACTORY_APP))
    assert (d.app.import_string, d.app.cwd) == ("svc.main:app", (tmp_path / "backend" / "src").resolve())
    assert [e.path for e in d.endpoints] == ["/notes/chatkit", "/todo/chatkit"]
    # --app names the module attribute: the endpoints are still the app's, with their prefixes
    given = found(tmp_path, app="svc.main:app", app_dir=tmp_path / "backend" / "src")
    assert [e.path for e in given.endpoints] == ["/notes/chatkit", "/todo/chatkit"]
    factory = found(tmp_path, app="svc.main:create_app", app_dir=tmp_path / "backend" / "src")
    assert factory.app.factory and [e.path for e in factory.endpoints] == ["/notes/chatkit", "/todo/chatkit"]


def test_an_app_only_a_factory_builds_is_run_with_factory(tmp_path):
    write(tmp_path, {"server.py": """
        from fastapi import APIRouter, FastAPI
        router = APIRouter()

        @router.post("/api/chatkit")
        async def chatkit(request):
            return await SERVER.process(await request.body(), {})

        def build():
            app = FastAPI()
            app.include_router(router)
            return app
    """})
    d = found(tmp_path)
    assert (d.app.import_string, d.app.factory, d.chatkit_path) == ("server:build", True, "/api/chatkit")


def test_hosted_mode_and_chatkit_in_name_only_are_statements_not_errors(tmp_path):
    write(tmp_path / "hosted", {
        "package.json": '{"dependencies": {"@openai/chatkit-react": "^1.0.0", "next": "15.0.0"}}',
        "app/page.tsx": """
            import { ChatKit, useChatKit } from "@openai/chatkit-react";
            export default function Page() {
              const { control } = useChatKit({ api: { async getClientSecret() {
                const res = await fetch("/api/create-session", { method: "POST" });
                return (await res.json()).client_secret;
              } } });
              return <ChatKit control={control} className="h-[600px]" />;
            }
        """,
        "app/layout.tsx": "export default function Layout({ children }) { return <html><body>{children}</body></html>; }\n",
    })
    hosted = found(tmp_path / "hosted")
    assert hosted.app is None and hosted.statement.startswith("hosted mode")
    out: list[str] = []
    assert run(CommandOptions(path=tmp_path / "hosted"), echo=out.append, echo_err=lambda _t: None) == 0
    assert "hosted mode" in "".join(out) and "nothing was booted" in "".join(out)
    write(tmp_path / "named", {"main.py": """
        from fastapi import FastAPI
        from openai import OpenAI
        app = FastAPI()

        @app.post("/chatkit")
        async def chatkit(body: dict):
            return OpenAI().responses.create(model="gpt-4.1", input=body["text"]).output_text
    """})
    named = found(tmp_path / "named")
    assert named.app is None and named.statement.startswith("ChatKit in name only") and "CK211" in named.statement


SETTINGS_APP = {
    "app/__init__.py": "",
    "app/config.py": """
        from pydantic import Field
        from pydantic_settings import BaseSettings, SettingsConfigDict

        class Settings(BaseSettings):
            model_config = SettingsConfigDict(env_prefix="TODO_")
            jwt_secret_key: str = "change-me"
            jwt_expires_minutes: int = 60
            jwt_algorithm: str = "HS256"
            database_url: str = Field("sqlite:///./todo.db", alias="DATABASE_URL")

        settings = Settings()
    """,
    "app/auth.py": """
        import jwt
        from fastapi import Header, HTTPException
        from .config import settings

        def current_user(authorization: str = Header(None)) -> str:
            try:
                return jwt.decode(authorization[7:], settings.jwt_secret_key,
                                  algorithms=[settings.jwt_algorithm])["sub"]
            except Exception:
                raise HTTPException(401)
    """,
    "app/main.py": """
        from fastapi import Depends, FastAPI
        from .auth import current_user
        app = FastAPI()

        @app.post("/chatkit")
        async def chatkit(request, user: str = Depends(current_user)):
            return await SERVER.process(await request.body(), {"user": user})
    """,
    ".env.example": "TODO_JWT_SECRET_KEY=your-secret\nTODO_JWT_EXPIRES_MINUTES=60\nTODO_JWT_ALGORITHM=HS256\n",
}


def test_the_secret_goes_only_into_the_variable_the_token_check_reads(tmp_path, monkeypatch):
    verifier = _verifier(tmp_path, monkeypatch, SETTINGS_APP)
    assert verifier.d.secret.names == ["TODO_JWT_SECRET_KEY"] and verifier.d.secret.reached
    try:
        verifier._build_env()
    finally:
        verifier.fake.close()
    env = verifier.env
    assert env["TODO_JWT_SECRET_KEY"] == verifier.secret and len(verifier.secret) >= 32
    assert env.get("TODO_JWT_EXPIRES_MINUTES") != verifier.secret and env.get("TODO_JWT_ALGORITHM") != verifier.secret
    assert "TODO_JWT_SECRET_KEY, generated for this run" in verifier.secret_source
    chosen = _verifier(tmp_path / "chosen", monkeypatch, SETTINGS_APP, jwt_secret_env="OTHER_SECRET")
    try:
        chosen._build_env()
    finally:
        chosen.fake.close()
    assert chosen.env["OTHER_SECRET"] == chosen.secret and "TODO_JWT_SECRET_KEY" not in chosen.env


def test_a_monorepo_is_scoped_to_the_chosen_app_its_front_end_and_its_dev_port(tmp_path):
    backend = """
        from fastapi import FastAPI
        from fastapi.middleware.cors import CORSMiddleware
        app = FastAPI()
        {cors}

        @app.post("/chatkit")
        async def chatkit(request):
            return await SERVER.process(await request.body(), {{}})
    """
    write(tmp_path, {
        "one/backend/pyproject.toml": "[project]\nname = 'one'\n",
        "one/backend/app/__init__.py": "",
        "one/backend/app/main.py": backend.format(cors=""),
        "one/frontend/package.json": '{"dependencies": {"@openai/chatkit-react": "1", "vite": "5"}}',
        "one/frontend/vite.config.ts": "export default { server: { port: 5170, proxy: { '/chatkit': 'http://127.0.0.1:8000' } } };\n",
        "two/backend/pyproject.toml": "[project]\nname = 'two'\n",
        "two/backend/app/__init__.py": "",
        "two/backend/app/main.py": backend.format(
            cors='app.add_middleware(CORSMiddleware, allow_origins=["http://localhost:5171"])'),
        "two/frontend/package.json": '{"dependencies": {"@openai/chatkit-react": "1", "vite": "5"}}',
        "two/frontend/vite.config.ts": "export default { server: { port: 5171 } };\n",
    })
    root = found(tmp_path)
    assert root.app.cwd == (tmp_path / "one" / "backend").resolve() and not root.cors_middleware
    assert root.frontend.proxied and root.frontend.origin == "http://localhost:5170"
    assert any("two/backend/app/main.py" in note for note in root.notes)
    two = found(tmp_path / "two")
    assert two.cors_middleware and two.cors_origins == ["http://localhost:5171"]
    assert (two.frontend.origin, two.frontend.proxied) == ("http://localhost:5171", False)


def test_outside_services_are_listed_from_the_settings(tmp_path):
    write(tmp_path, {
        "main.py": """
            import os
            from fastapi import FastAPI
            from qdrant_client import QdrantClient
            DATABASE_URL = os.getenv("DATABASE_URL")
            FRONTEND_URL = os.getenv("FRONTEND_URL", "http://localhost:3000")
            app = FastAPI()

            @app.post("/chatkit")
            async def chatkit(request):
                return await SERVER.process(await request.body(), {})
        """,
        ".env.example": "DATABASE_URL=postgresql://user:pw@localhost:5432/db\nQDRANT_URL=http://localhost:6333\n"
                        "EMBEDDING_MODEL=BAAI/bge-small-en-v1.5\nFRONTEND_URL=http://localhost:3000\n",
    })
    hints = [o.hint() for o in found(tmp_path).outside]
    assert any("postgresql server" in h and "pw" not in h and "--env DATABASE_URL=" in h for h in hints)
    assert any("QDRANT_URL=http://localhost:6333" in h for h in hints)
    assert any("model download" in h and "EMBEDDING_MODEL" in h for h in hints)
    assert not any("FRONTEND_URL" in h for h in hints)


def test_a_flask_app_serving_chatkit_is_found_and_run_through_wsgi(tmp_path):
    write(tmp_path, {
        "requirements.txt": "flask\nopenai-chatkit\n",
        "desk.py": """
            from chatkit.server import ChatKitServer

            class Desk(ChatKitServer):
                async def respond(self, thread, item, context):
                    yield None

            DESK = Desk(None)
        """,
        "web.py": """
            import asyncio
            from flask import Flask, Response, request
            from desk import DESK

            site = Flask(__name__)

            @site.route("/support/chatkit", methods=["POST"])
            def chatkit():
                result = asyncio.run(DESK.process(request.get_data(), {}))
                return Response(result.json, mimetype="application/json")
        """,
    })
    d = found(tmp_path)
    assert (d.app.import_string, d.app.interface, d.chatkit_path) == ("web:site", "wsgi", "/support/chatkit")


def test_the_attached_file_is_one_the_front_end_lets_users_attach(tmp_path):
    write(tmp_path, {
        "main.py": """
            from fastapi import FastAPI, Request
            app = FastAPI()

            @app.post("/chatkit")
            async def chatkit(request: Request):
                return await server.process(await request.body(), {})
        """,
        "web/package.json": '{"dependencies": {"@openai/chatkit-react": "1", "vite": "5"}}',
        "web/src/Panel.tsx": """
            import { ChatKit, useChatKit } from "@openai/chatkit-react";
            const pictures = { "image/*": [".png", ".jpg"] };
            export function Panel() {
              const { control } = useChatKit({
                api: { url: "/chatkit", domainKey: "local" },
                composer: { attachments: { enabled: true, accept: pictures } },
              });
              return <ChatKit control={control} />;
            }
        """,
    })
    assert found(tmp_path).frontend.accepted_files == ["image/*"]
    name, mime_type, data = _attachment_file("marker-1", ["image/*"])
    assert (name, mime_type, data[:8]) == ("verify.png", "image/png", b"\x89PNG\r\n\x1a\n") and b"marker-1" in data
    assert _attachment_file("marker-2", ["image/*", "application/pdf"])[:2] == ("verify.txt", "text/plain")
    assert _attachment_file("marker-3", None)[2].startswith(b"marker-3")
    (tmp_path / "web/src/Panel.tsx").write_text((tmp_path / "web/src/Panel.tsx").read_text().replace(
        "composer: { attachments: { enabled: true, accept: pictures } },", ""))
    assert found(tmp_path).frontend.accepted_files is None


def test_pydantic_errors_name_the_field_but_never_the_value():
    log = ("Traceback (most recent call last):\n  File \"/srv/app/config.py\", line 28, in <module>\n"
           "pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings\n"
           "extra_key\n  Extra inputs are not permitted [type=extra_forbidden, input_value='s3cr3t, v', input_type=str]\n"
           "    For further information visit https://errors.pydantic.dev/2/v/extra_forbidden\n")
    cause = diagnose.explain(log, Path("/srv"))
    assert cause.text() == ("app error: pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings: "
                            "extra_key (Extra inputs are not permitted [type=extra_forbidden]) at app/config.py:28")


def test_upload_urls_on_this_machine_go_to_the_app_verify_runs():
    """The app's settings name the port it (or its front end's dev proxy) usually runs on; verify runs it elsewhere."""
    from types import SimpleNamespace

    from chatkit_fix.verify.checks import Verifier

    verifier = Verifier.__new__(Verifier)
    verifier.app = SimpleNamespace(url="http://127.0.0.1:5123")
    assert verifier._local_upload_url("http://localhost:3000/attachments/a1?part=1") == \
        "http://127.0.0.1:5123/attachments/a1?part=1"
    assert verifier._local_upload_url("https://bucket.example.com/a1") == "https://bucket.example.com/a1"


def test_the_front_end_port_is_its_dev_server_s_and_its_origin_is_no_outside_service(tmp_path):
    write(tmp_path, {
        "api/main.py": """
            import os
            from fastapi import FastAPI, Request
            UPLOADS_AT = os.environ.get("UPLOAD_BASE", "http://localhost:3001")
            SEARCH_AT = os.environ.get("SEARCH_BASE", "http://localhost:7700")
            app = FastAPI()

            @app.post("/chatkit")
            async def chatkit(request: Request):
                return await server.process(await request.body(), {})
        """,
        "web/package.json": """
            {"scripts": {"dev:web": "next dev -p 3001",
                         "dev": "concurrently \\"npm run dev:web\\" \\"cd ../api && uvicorn main:app --port 8000\\""},
             "dependencies": {"@openai/chatkit-react": "1", "next": "15"}}
        """,
    })
    d = found(tmp_path)
    assert d.frontend.origin == "http://localhost:3001"
    assert [service.variable for service in d.outside] == ["SEARCH_BASE"]


def test_an_attachment_reaches_the_model_as_text_or_inside_any_base64_part():
    from chatkit_fix.verify.checks import _texts_and_decoded

    stored = b"--boundary\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nX marker-7 X\r\n--boundary--"
    encoded = base64.b64encode(stored).decode()
    body = {"input": [{"content": [{"type": "input_image", "image_url": f"data:image/png;base64,{encoded}"},
                                   {"type": "input_file", "file_data": encoded}, {"type": "input_text", "text": "hi"}]}]}
    found = list(_texts_and_decoded(body))
    assert sum("marker-7" in text for text in found) == 2 and "hi" in found
    assert not any("marker-7" in text for text in _texts_and_decoded({"text": "no marker here, only words"}))
