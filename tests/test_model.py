"""The application model: services and module resolution, names, the call graph with summaries, and the web side
(apps, routers, ChatKit endpoints), on small projects of the shapes real back ends have."""

from __future__ import annotations

import ast
from pathlib import Path

from chatkit_fix.config import Settings
from chatkit_fix.model import Fact, model_of, own_nodes, simple_effect
from chatkit_fix.project import Project


def project_of(tmp_path: Path, files: dict[str, str]) -> Project:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    root = tmp_path.resolve()
    return Project.discover(root, Settings(root), [root])


def test_services_with_the_same_package_name_resolve_their_own_modules(tmp_path):
    project = project_of(tmp_path, {
        "one/backend/pyproject.toml": "[project]\nname = 'one'\n",
        "one/backend/app/__init__.py": "",
        "one/backend/app/server.py": "class OneServer: ...\n",
        "one/backend/app/main.py": "from app.server import OneServer\nfrom .server import OneServer as Again\n",
        "two/backend/requirements.txt": "fastapi\n",
        "two/backend/app/__init__.py": "",
        "two/backend/app/server.py": "class TwoServer: ...\n",
        "two/backend/app/main.py": "from app.server import TwoServer\n",
    })
    model = model_of(project)
    for service, cls in (("one", "OneServer"), ("two", "TwoServer")):
        main = model.module(project.root / service / "backend/app/main.py")
        assert main.name == "app.main"
        assert model.services.resolve("app.server", main.path) == project.root / service / "backend/app/server.py"
        found = model.resolve(main, ast.Name(id=cls, ctx=ast.Load()))
        assert found is not None and found.is_class and found.module.path.parts[-4] == service
    one = model.module(project.root / "one/backend/app/main.py")
    assert model.resolve(one, ast.Name(id="Again", ctx=ast.Load())).node.name == "OneServer"
    assert model.services.resolve("app.server", project.root / "two/backend/app/main.py") != (
        project.root / "one/backend/app/server.py"
    )


def test_an_installed_package_is_never_a_project_module(tmp_path):
    project = project_of(tmp_path, {
        "api/requirements.txt": "djangorestframework\n",
        "api/views.py": "from rest_framework.permissions import IsAuthenticated\nfrom chatkit.store import Store\n",
    })
    model = model_of(project)
    views = model.module(project.root / "api/views.py")
    found = model.resolve(views, ast.Name(id="IsAuthenticated", ctx=ast.Load()))
    assert found.external == "rest_framework.permissions.IsAuthenticated"
    assert model.resolve(views, ast.Name(id="Store", ctx=ast.Load())).names("chatkit", "Store")


def test_an_application_package_named_like_the_sdk_still_imports_the_sdk(tmp_path):
    project = project_of(tmp_path, {
        "apps/orchestrator/requirements.txt": "openai-chatkit\n",
        "apps/orchestrator/chatkit/__init__.py": "from .server import WorkflowServer\n",
        "apps/orchestrator/chatkit/server.py": "from chatkit.server import ChatKitServer\n\n\nclass WorkflowServer(ChatKitServer):\n    ...\n",
        "apps/orchestrator/chatkit/app.py": "from apps.orchestrator.chatkit.server import WorkflowServer\n\nserver = WorkflowServer(None)\n",
    })
    model = model_of(project)
    app = model.module(project.root / "apps/orchestrator/chatkit/app.py")
    server = model.resolve(app, ast.Name(id="server", ctx=ast.Load()))
    assert server.instance and server.node.name == "WorkflowServer"
    assert model.resolver.subclass_of(server.module, server.node, "chatkit.server", "ChatKitServer")
    assert project.scope.in_scope(app.path)


def test_names_follow_factories_self_attributes_and_annotations(tmp_path):
    project = project_of(tmp_path, {
        "svc/requirements.txt": "fastapi\n",
        "svc/stores.py": "class SQLiteStore:\n    def load(self):\n        return 1\n\n\ndef make_store():\n    return SQLiteStore()\n",
        "svc/server.py": (
            "from stores import SQLiteStore, make_store\n\n\n"
            "class Server:\n"
            "    def __init__(self):\n"
            "        self.store = make_store()\n\n"
            "    def go(self, other: SQLiteStore):\n"
            "        self.store.load()\n"
            "        other.load()\n"
        ),
    })
    model = model_of(project)
    server = model.module(project.root / "svc/server.py")
    go = server.functions["Server.go"]
    calls = [n for n in own_nodes(go) if isinstance(n, ast.Call)]
    targets = [model.resolve(server, call.func, go) for call in calls]
    assert [t.module.qualified_names[t.node] for t in targets] == ["SQLiteStore.load", "SQLiteStore.load"]


def test_summaries_follow_helpers_across_modules_but_not_into_worker_threads(tmp_path):
    project = project_of(tmp_path, {
        "svc/requirements.txt": "fastapi\n",
        "svc/db.py": "import sqlite3\n\n\ndef query(sql):\n    return sqlite3.connect('x.db').execute(sql)\n",
        "svc/store.py": (
            "import asyncio\n\nfrom db import query\n\n\n"
            "class Store:\n"
            "    def _rows(self):\n"
            "        return query('select 1')\n\n"
            "    async def blocking(self):\n"
            "        return self._rows()\n\n"
            "    async def offloaded(self):\n"
            "        return await asyncio.to_thread(self._rows)\n"
        ),
    })
    model = model_of(project)

    def connects(model, function):
        return [Fact(function.module, node, "sqlite3.connect()") for node in own_nodes(function.node)
                if isinstance(node, ast.Call) and model.resolve(function.module, node.func, function.node) is not None
                and model.resolve(function.module, node.func, function.node).names("sqlite3", "connect")]

    effect = simple_effect("connects", connects)
    store = model.module(project.root / "svc/store.py")
    blocking = model.facts(effect, model.function(store, store.functions["Store.blocking"]))
    assert [fact.through() for fact in blocking] == ["Store._rows() -> query()"]
    assert blocking[0].module.path.name == "db.py"
    assert model.facts(effect, model.function(store, store.functions["Store.offloaded"])) == []


def test_chatkit_endpoints_through_routers_subclasses_factories_and_starlette(tmp_path):
    server = (
        "from chatkit.server import ChatKitServer\n\n\n"
        "class MyServer(ChatKitServer):\n    async def respond(self, thread, item, context):\n        yield None\n\n\n"
        "server = MyServer(None)\n"
    )
    project = project_of(tmp_path, {
        "api/requirements.txt": "fastapi\n",
        "api/chat_server.py": server,
        "api/routes/__init__.py": "",
        "api/routes/chat.py": (
            "from fastapi import APIRouter, Depends, Request\n\nfrom chat_server import server\n\n"
            "router = APIRouter(prefix='/chat')\n\n\n"
            "def current_user(request: Request):\n    return request.headers['authorization']\n\n\n"
            "@router.post('/chatkit')\n"
            "async def endpoint(request: Request, user=Depends(current_user)):\n"
            "    return await server.process(await request.body(), {'user': user})\n"
        ),
        "api/app_class.py": (
            "from fastapi import FastAPI\n\nfrom routes import chat\n\n\n"
            "class App(FastAPI):\n    def __init__(self):\n        super().__init__()\n"
            "        self.include_router(chat.router, prefix='/v1')\n"
        ),
        "api/main.py": "from app_class import App\n\n\ndef create_app():\n    return App()\n\n\napp = create_app()\n",
        "star/requirements.txt": "starlette\n",
        "star/chat_server.py": server,
        "star/app.py": (
            "from starlette.applications import Starlette\nfrom starlette.routing import Route\n\n\n"
            "def build():\n"
            "    from chat_server import server\n\n"
            "    async def chatkit(request):\n"
            "        return await server.process(await request.body(), {})\n\n"
            "    routes = [Route('/chatkit', chatkit, methods=['POST'])]\n"
            "    return Starlette(routes=routes)\n"
        ),
    })
    model = model_of(project)
    with project.viewing(None):
        endpoints = model.web.chatkit_endpoints()
        found = sorted((e.path, sorted(e.route.methods), e.app.module.path.name) for e in endpoints)
        assert found == [("/chatkit", ["POST"], "app.py"), ("/v1/chat/chatkit", ["POST"], "main.py")]
        fastapi_endpoint = next(e for e in endpoints if e.path == "/v1/chat/chatkit")
        assert [call.args[0].id for _, call in model.web.dependencies(fastapi_endpoint)] == ["current_user"]


def test_flask_apps_and_blueprints_are_wsgi_endpoints(tmp_path):
    """A Flask route reaching process() is a ChatKit endpoint served through WSGI; a blueprint's url_prefix applies
    unless its registration gives another one, which replaces it."""
    project = project_of(tmp_path, {
        "web/requirements.txt": "flask\n",
        "web/chat_server.py": (
            "from chatkit.server import ChatKitServer\n\n\n"
            "class Desk(ChatKitServer):\n    async def respond(self, thread, item, context):\n        yield None\n\n\n"
            "desk = Desk(None)\n"
        ),
        "web/views.py": (
            "import asyncio\n\nfrom flask import Blueprint, request\n\nfrom chat_server import desk\n\n"
            "talk = Blueprint('talk', __name__, url_prefix='/ignored')\n"
            "plain = Blueprint('plain', __name__, url_prefix='/plain')\n\n\n"
            "@talk.route('/chatkit', methods=['POST', 'OPTIONS'])\n"
            "def chatkit():\n    return asyncio.run(desk.process(request.get_data(), {}))\n\n\n"
            "@plain.post('/chatkit')\n"
            "def plain_chatkit():\n    return asyncio.run(desk.process(request.get_data(), {}))\n"
        ),
        "web/main.py": (
            "from flask import Flask\n\nfrom views import plain, talk\n\n"
            "app = Flask(__name__)\n"
            "app.register_blueprint(talk, url_prefix='/api')\n"
            "app.register_blueprint(plain)\n"
        ),
    })
    model = model_of(project)
    with project.viewing(None):
        endpoints = model.web.chatkit_endpoints()
        found = sorted((e.path, sorted(e.route.methods), e.app.interface) for e in endpoints)
        assert found == [("/api/chatkit", ["OPTIONS", "POST"], "wsgi"), ("/plain/chatkit", ["POST"], "wsgi")]
        assert endpoints[0].app.import_names(model.resolver) == ["app"]


def test_installed_packages_are_never_application_code(tmp_path):
    """A vendored site-packages (recognised by its .dist-info folders, whatever the folder is called) is not walked,
    even when it holds a copy of a package that names ChatKit everywhere."""
    project = project_of(tmp_path, {
        "backend/requirements.txt": "openai-chatkit\n",
        "backend/main.py": "from chatkit.server import ChatKitServer\n",
        "backend/libs/chatkit_fix-0.1.0.dist-info/METADATA": "Name: chatkit-fix\n",
        "backend/libs/chatkit_fix/rules.py": "import chatkit\nChatKitServer = None\n",
        "backend/libs/requests/__init__.py": "import fastapi\n",
    })
    names = {path.relative_to(project.root).as_posix() for path in project.files}
    assert names == {"backend/requirements.txt", "backend/main.py"}
