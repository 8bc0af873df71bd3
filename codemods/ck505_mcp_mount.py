"""An MCP server mounted in FastAPI without its session manager, at a doubled path, or stateful behind several
workers.

## Why
`mcp.streamable_http_app()` is a Starlette app whose lifespan starts the Streamable HTTP session manager. Starlette
does not run a mounted app's lifespan, so unless the parent app's lifespan runs `mcp.session_manager.run()`, every
MCP request fails with HTTP 500 `RuntimeError: Task group is not initialized. Make sure to use run().` The sub-app
already routes at `/mcp`: `app.mount("/mcp", mcp.streamable_http_app())` serves at `/mcp/mcp`, and clients calling
`/mcp` get a 307 and then fail. In the default stateful mode the session table lives in one process: with several
workers, requests carrying an `mcp-session-id` land on a worker that never saw it and get 404 `Session not found`.

## Wrong
```python
mcp = MCPServer("tools")
app = FastAPI()
app.mount("/mcp", mcp.streamable_http_app())
```

## Right
```python
mcp = MCPServer("tools")

@asynccontextmanager
async def lifespan(app):
    async with mcp.session_manager.run():
        yield

app = FastAPI(lifespan=lifespan)
app.mount("/", mcp.streamable_http_app(stateless_http=True))  # serves /mcp; mount it after the other routes
```
The rule reads mounts at module level and in app factories (`create_app()`), the sub-app and the path through the
names they are held in; any prefix ending in the sub-app's own path doubles it (`/api/mcp` serves `/api/mcp/mcp`).
The lifespan fix wraps the existing lifespan's `yield` (or adds a lifespan); the path fix changes the mount path
only when the mount is the module's last route registration, since a mount at `/` shadows routes added after it,
and only when the path is written in the mount (a constant may be used elsewhere: report).
Stateful mode with several workers (`--workers`, `gunicorn -w`, `uvicorn.run(workers=...)`) is reported: use
`stateless_http=True` or sticky sessions.
"""

from __future__ import annotations

import ast
from functools import partial
from pathlib import Path

from chatkit_fix.analysis import launch
from chatkit_fix.analysis.mcp import (
    Flow,
    Module,
    add_keyword,
    expression_key,
    free_name,
    indent_edits,
    indent_unit,
    is_fastapi_app,
    is_mcp_server_expr,
    own_nodes,
    statement_end_line,
)
from chatkit_fix.codemods._cases import Edited
from chatkit_fix.findings import Safety
from chatkit_fix.model import model_of
from chatkit_fix.pyast import keyword, literal, walk
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK505",
    slug="mcp-mount",
    safety=Safety.SAFE,
    summary="MCP app mounted without session_manager.run() in the lifespan, at /mcp/mcp, or stateful with workers",
    url="https://github.com/modelcontextprotocol/python-sdk#mounting-to-an-existing-asgi-server",
    triggers=(b"streamable_http_app",),
    module=__name__,
    explanation=__doc__,
    finding_triggers=(b"mount", b"streamable_http_app", b"session_manager"),
)

NO_TASK_GROUP = "RuntimeError: Task group is not initialized. Make sure to use run()."
ROUTE_METHODS = ("get", "post", "put", "patch", "delete", "options", "head", "api_route", "route", "websocket",
                 "include_router", "add_api_route", "add_route", "mount", "add_websocket_route", "host")


def _values(module: Module, node: ast.AST) -> list[ast.AST]:
    """What a name stands for where it is read: the values its function assigns it, else the module's."""
    if not isinstance(node, ast.Name):
        return [node]
    function = module.enclosing_function(node)
    if function is not None:
        bound = Flow(module, function).bindings.get(node.id)
        if bound:
            return [value for how, value, index in bound if how == "assign" and index is None]
    return list(module.globals.get(node.id, ()))


def _mcp_app(module: Module, node: ast.AST, depth: int = 0) -> tuple[ast.Call, ast.AST] | None:
    """(streamable_http_app call, MCP server receiver) for an app expression or a name bound to one (in the function
    that mounts it, or at module level)."""
    if isinstance(node, ast.Name):
        if depth > 4:
            return None
        for value in _values(module, node):
            found = _mcp_app(module, value, depth + 1)
            if found is not None:
                return found
        return None
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "streamable_http_app"
            and is_mcp_server_expr(module, node.func.value) is not None):
        return node, node.func.value
    return None


def _mount_path(module: Module, node: ast.AST | None) -> tuple[str | None, bool]:
    """(the path a mount is given, written there as a literal): a literal, or a constant holding one."""
    value = literal(node) if node is not None else None
    if isinstance(value, str):
        return value, True
    if isinstance(node, ast.Name):
        values = [literal(v) for v in _values(module, node)]
        if len(values) == 1 and isinstance(values[0], str):
            return values[0], False
    return None, False


def _app_constructor(module: Module, node: ast.AST) -> ast.Call | None:
    """The FastAPI/Starlette constructor a name is bound to, in its function (a `create_app()` factory) or module."""
    for value in _values(module, node):
        if is_fastapi_app(module, value):
            return value
    return None


def _mounts(module: Module):
    """(mount call, path node, app node, parent app constructor or None, app name) for app.mount(...), Mount(...)."""
    for call in walk(module.tree):
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "mount" and isinstance(func.value, ast.Name):
            owner = _app_constructor(module, func.value)
            if owner is None:
                continue
            path = call.args[0] if call.args else (keyword(call, "path").value if keyword(call, "path") else None)
            app = call.args[1] if len(call.args) > 1 else (keyword(call, "app").value if keyword(call, "app") else None)
            yield call, path, app, owner, func.value.id
        elif module.refers_to(func, "starlette", "Mount"):
            path = call.args[0] if call.args else (keyword(call, "path").value if keyword(call, "path") else None)
            app = call.args[1] if len(call.args) > 1 else (keyword(call, "app").value if keyword(call, "app") else None)
            owner = None
            for parent in _ancestors(module, call):
                if isinstance(parent, ast.Call) and is_fastapi_app(module, parent):
                    owner = parent
                    break
            yield call, path, app, owner, None


def _ancestors(module: Module, node):
    current = module.parents.get(node)
    while current is not None:
        yield current
        current = module.parents.get(current)


@RULE.check
def check(ctx):
    module = Module.of(ctx)
    for call, path_node, app_node, owner, app_name in _mounts(module):
        found = _mcp_app(module, app_node) if app_node is not None else None
        if found is None:
            continue
        app_call, receiver = found
        if owner is not None:
            finding = _check_lifespan(ctx, module, call, owner, receiver, app_node)
            if finding is not None:
                yield finding
        finding = _check_path(ctx, module, call, path_node, app_call, receiver, app_name)
        if finding is not None:
            yield finding


# ---- the session manager --------------------------------------------------------------------------------------------


def _lifespan_runs_manager(module: Module, owner: ast.Call, app_node: ast.AST) -> bool:
    lifespan = keyword(owner, "lifespan")
    names_of_app = {app_node.id} if isinstance(app_node, ast.Name) else set()
    for statement in walk(module.tree):  # app.router.lifespan_context = ...
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Attribute) and t.attr in ("lifespan_context",) for t in statement.targets
        ):
            return True
    if lifespan is None:
        return False
    value = lifespan.value
    if not isinstance(value, ast.Name):
        return True  # a combined or borrowed lifespan (mcp_app.router.lifespan_context, ...): trust it
    function = module.function_named(value.id)
    if function is None:
        return True  # imported: cannot see it
    for node in walk(function):
        if isinstance(node, ast.Attribute) and node.attr == "session_manager":
            return True
        if isinstance(node, ast.Name) and node.id in names_of_app:
            return True
        if isinstance(node, ast.Attribute) and node.attr in ("lifespan_context", "lifespan"):
            return True
    return False


def _check_lifespan(ctx, module: Module, mount: ast.Call, owner: ast.Call, receiver: ast.AST, app_node):
    if _lifespan_runs_manager(module, owner, app_node):
        return None
    message = (f"the mounted MCP app's session manager never starts (Starlette does not run a mounted app's lifespan): "
               f"every MCP request gets HTTP 500 `{NO_TASK_GROUP}`")
    manager = f"{ctx.segment(receiver)}.session_manager.run()"
    hint = f"run `async with {manager}:` around the `yield` of the app's lifespan"
    if not isinstance(receiver, ast.Name):
        return ctx.finding(ctx.header_span(mount), message, fix=ctx.todo(mount, hint), complete=False, hint=hint)
    return ctx.finding(ctx.header_span(mount), message, fix=partial(_run_manager, ctx, module, owner, manager, mount, hint),
                       hint=hint)


def _run_manager(ctx, module: Module, owner: ast.Call, manager: str, mount: ast.Call, hint: str):
    """The lifespan edits that run the session manager; a TODO when the app's lifespan cannot be edited."""
    edits = _lifespan_edits(ctx, module, owner, manager)
    return ctx.todo(mount, hint) if edits is None else edits


def _lifespan_edits(ctx, module: Module, owner: ast.Call, manager: str):
    app_statement = module.statement_of(owner)
    if app_statement not in ctx.tree.body:
        return None
    lifespan = keyword(owner, "lifespan")
    if lifespan is not None:
        if not isinstance(lifespan.value, ast.Name):
            return None
        function = module.function_named(lifespan.value.id)
        if not isinstance(function, ast.AsyncFunctionDef):
            return None
        yields = [n for n in own_nodes(function) if isinstance(n, ast.Expr) and isinstance(n.value, ast.Yield)]
        if len(yields) != 1 or len([n for n in own_nodes(function) if isinstance(n, (ast.Yield, ast.YieldFrom))]) != 1:
            return None
        statement = yields[0]
        unit = indent_unit(ctx, statement)
        indent = ctx.source.indentation(statement.lineno)
        return [ctx.insert(ctx.source.offset(statement.lineno, 0), f"{indent}async with {manager}:\n"),
                *indent_edits(ctx, statement.lineno, statement_end_line(statement), unit)]
    if any(k.arg is None for k in owner.keywords):
        return None
    decorator, needed_import = ctx.ensure_import("contextlib", "asynccontextmanager")
    name = free_name(module, "mcp_lifespan")
    text = f"@{decorator}\nasync def {name}(app):\n    async with {manager}:\n        yield\n\n\n"
    return [needed_import, ctx.insert(ctx.source.offset(app_statement.lineno, 0), text),
            add_keyword(ctx, owner, f"lifespan={name}")]


# ---- the doubled path -------------------------------------------------------------------------------------------------


def _inner_path(module: Module, app_call: ast.Call, receiver: ast.AST) -> str | None:
    inner = keyword(app_call, "streamable_http_path")
    if inner is not None:
        value = literal(inner.value)
        return value if isinstance(value, str) else None
    key = expression_key(receiver)
    settings = [node.value for node in walk(module.tree) if isinstance(node, ast.Assign) and any(
        expression_key(target) == f"{key}.settings.streamable_http_path" for target in node.targets)] if key else []
    if settings:  # `mcp.settings.streamable_http_path = "/"` before the app is built
        value = literal(settings[-1])
        return value if isinstance(value, str) else None
    constructor = is_mcp_server_expr(module, receiver)
    if constructor is not None:
        inner = keyword(constructor, "streamable_http_path")
        if inner is not None:
            value = literal(inner.value)
            return value if isinstance(value, str) else None
    return "/mcp"


def _check_path(ctx, module: Module, mount: ast.Call, path_node, app_call, receiver, app_name):
    mount_path, written_here = _mount_path(module, path_node)
    inner = _inner_path(module, app_call, receiver)
    if not isinstance(mount_path, str) or inner is None:
        return None
    outer, tail = mount_path.rstrip("/"), inner.rstrip("/")
    if not tail or not outer or not outer.endswith(tail):
        return None
    served = outer + inner
    intended = outer[: len(outer) - len(tail)] or "/"
    message = (f"mounted at {mount_path!r}, the MCP app (which routes at {inner!r} itself) serves at {served!r}: "
               f"clients of {outer!r} get a 307 and fail")
    hint = f"mount it at {intended!r} (after the other routes) so it serves at {outer!r}"
    if app_name is None or _routes_after(module, mount, app_name):
        return ctx.finding(ctx.header_span(mount), message, hint=hint + "; routes are added after this mount here",
                           safety=Safety.REPORT)
    if not written_here:
        return ctx.finding(ctx.header_span(mount), message, hint=hint + f"; the path comes from `{ctx.segment(path_node)}`",
                           safety=Safety.REPORT)
    return ctx.finding(ctx.header_span(mount), message, fix=ctx.replace(path_node, ctx.string_literal(intended)), hint=hint)


def _routes_after(module: Module, mount: ast.Call, app_name: str) -> bool:
    line = mount.end_lineno or mount.lineno
    for node in walk(module.tree):
        target = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ROUTE_METHODS:
            target = node.func.value
        if target is not None and isinstance(target, ast.Name) and target.id == app_name and node.lineno > line:
            return True
    return False


# ---- stateful sessions behind several workers ------------------------------------------------------------------------


def _stateful(module: Module, app_call: ast.Call, receiver: ast.AST) -> bool:
    stateless = keyword(app_call, "stateless_http")
    if stateless is not None:
        return literal(stateless.value) is False
    constructor = is_mcp_server_expr(module, receiver)
    if constructor is not None:
        stateless = keyword(constructor, "stateless_http")
        if stateless is not None:
            return literal(stateless.value) is False
    return True


@RULE.check_project
def check_workers(pctx):
    project = pctx.project
    candidates = project.grep(b"streamable_http_app", "python")
    if not candidates:
        return
    launches = _multi_worker_targets(pctx)
    if not launches:
        return
    for path in candidates:
        ctx = pctx.parsed(path)
        if ctx is None:
            continue
        module = Module.of(ctx)
        served_by = [why for target, why, folder in launches if _serves(project, target, folder, path)]
        if not served_by:
            continue
        for call in walk(ctx.tree):
            found = _mcp_app(module, call) if isinstance(call, ast.Call) else None
            if found is None or found[0] is not call or not _stateful(module, *found):
                continue
            yield ctx.finding(
                ctx.header_span(call),
                f"stateful MCP sessions live in one process, but this app runs with several workers ({served_by[0]}): "
                f"requests land on workers that never saw their `mcp-session-id` and get 404 `Session not found`",
                hint="pass stateless_http=True to streamable_http_app() (or use sticky sessions)",
            )


def _multi_worker_targets(pctx) -> list[tuple[str, str, Path]]:
    """("module:attr", where, the folder it runs in) for every launch that asks for more than one worker."""
    project = pctx.project
    found = []
    for path in project.files:
        kind = launch.file_kind(path)
        if kind is None:
            continue
        text = project.read_bytes(path).decode("utf-8", "replace")
        if b"-w" not in text.encode() and b"workers" not in text.encode():
            continue
        for command in launch.commands_in(path, text):
            count = launch.workers(command.argv)
            target = launch.app_target(command.argv)
            if count is not None and count > 1 and target:
                found.append((target, f"{project.relative(path)}: {count} workers", path.parent))
    for path in project.grep(b"workers", "python"):
        ctx = pctx.parsed(path)
        if ctx is None:
            continue
        for call in ctx.calls_to("uvicorn", "run"):
            count = keyword(call, "workers")
            app = call.args[0] if call.args else (keyword(call, "app").value if keyword(call, "app") else None)
            value = literal(count.value) if count is not None else None
            several = not isinstance(value, int) or value > 1
            if count is not None and isinstance(app, ast.Constant) and isinstance(app.value, str) and several:
                found.append((app.value, f"{ctx.relative_path}: uvicorn.run(workers=...)", path.parent))
    return found


def _serves(project, target: str, folder: Path, path: Path) -> bool:
    """Whether the app a launch in `folder` names (`app.main:app`) is `path` or imports it."""
    model = model_of(project)
    served = model.services.resolve_from(target.split(":")[0], folder)
    if served is None:
        return False
    if served == path:
        return True
    other = model.module(served)
    return other is not None and path in model.imported_files(other)


RULE.cases(
    valid=[
        Valid(
            # the experiments' mcp_mounted.py
            "from __future__ import annotations\nimport contextlib\nimport os\nfrom fastapi import FastAPI\n"
            "from mcp.server.mcpserver import MCPServer\n\nmcp = MCPServer('demo-tools')\n"
            "mcp_app = mcp.streamable_http_app(stateless_http=True, json_response=True)\n\n"
            "@contextlib.asynccontextmanager\nasync def lifespan(app: FastAPI):\n    async with mcp.session_manager.run():\n"
            "        yield\n\napp = FastAPI(lifespan=lifespan)\n\n@app.get('/health')\ndef health():\n    return {}\n\n"
            "app.mount('/', mcp_app)\n",
            filename="mcp_mounted.py", name="lifespan and root mount",
        ),
        Valid(
            "from mcp.server.mcpserver import MCPServer\nmcp = MCPServer('x')\n"
            "app = mcp.streamable_http_app(stateless_http=True, json_response=True)\n",
            filename="mcp_server.py", name="served by itself",
        ),
        Valid(
            "from fastapi import FastAPI\nfrom mcp.server.fastmcp import FastMCP\n\n"
            "mcp = FastMCP('t', stateless_http=True, streamable_http_path='/')\nsub = mcp.streamable_http_app()\n"
            "app = FastAPI(lifespan=lambda app: mcp.session_manager.run())\napp.mount('/mcp', sub)\n",
            filename="main.py", name="inner path '/' (mcp 1 constructor) and a lambda lifespan",
        ),
        Valid(
            "from fastapi import FastAPI\nfrom mcp.server.fastmcp import FastMCP\n\n"
            "mcp = FastMCP('t', stateless_http=True)\nmcp.settings.streamable_http_path = '/'\n"
            "app = FastAPI(lifespan=lambda app: mcp.session_manager.run())\napp.mount('/mcp', mcp.streamable_http_app())\n",
            filename="main.py", name="inner path '/' set on the server's settings",
        ),
        Valid(
            {"mcp_server.py": "from mcp.server.mcpserver import MCPServer\nmcp = MCPServer('x')\n"
             "app = mcp.streamable_http_app()\n",
             "Procfile": "web: uvicorn mcp_server:app --port $PORT\n"},
            name="stateful, one worker",
        ),
    ],
    invalid=[
        Edited(
            "from contextlib import asynccontextmanager\nfrom fastapi import FastAPI\nfrom mcp.server.mcpserver import MCPServer\n\n"
            "mcp = MCPServer('tools')\n\n@asynccontextmanager\nasync def lifespan(app):\n    await init_db()\n    yield\n\n"
            "app = FastAPI(lifespan=lifespan)\n\n@app.post('/chatkit')\nasync def chatkit():\n    pass\n\n"
            "app.mount('/', mcp.streamable_http_app(stateless_http=True))\n",
            ("    yield\n",
             "    async with mcp.session_manager.run():\n"
             "        yield\n"),
            filename="main.py", name="existing lifespan", findings=[(18, 1, "the mounted MCP app's session manager never starts")],
        ),
        Invalid(
            {"tools/server.py": "from mcp.server.mcpserver import MCPServer\nmcp = MCPServer('t')\n",
             "main.py": "from fastapi import FastAPI\nfrom tools.server import mcp\n\napp = FastAPI(title='api')\n"
             "app.mount('/mcp', mcp.streamable_http_app(stateless_http=True))\n"},
            {"main.py": "from fastapi import FastAPI\nfrom tools.server import mcp\nfrom contextlib import asynccontextmanager\n\n"
             "@asynccontextmanager\nasync def mcp_lifespan(app):\n    async with mcp.session_manager.run():\n        yield\n\n\n"
             "app = FastAPI(title='api', lifespan=mcp_lifespan)\n"
             "app.mount('/', mcp.streamable_http_app(stateless_http=True))\n"},
            findings=[
                ("main.py", 5, 1, "mounted at '/mcp', the MCP app"),
                ("main.py", 5, 1, "the mounted MCP app's session manager never starts"),
            ], name="no lifespan, /mcp/mcp, imported server",
        ),
        Invalid(
            "import contextlib\nfrom fastapi import FastAPI\nfrom mcp.server.mcpserver import MCPServer\n\nmcp = MCPServer('t')\n"
            "@contextlib.asynccontextmanager\nasync def lifespan(app):\n    async with mcp.session_manager.run():\n        yield\n"
            "app = FastAPI(lifespan=lifespan)\napp.mount('/api/mcp', mcp.streamable_http_app())\n\n@app.get('/api/health')\n"
            "def health():\n    return {}\n",
            None, filename="main.py", name="doubled path, routes after the mount: report", findings=[(11, 1, "mounted at '/api/mcp', the MCP app")],
        ),
        Invalid(
            {"server.py": "from mcp.server.mcpserver import MCPServer\nmcp = MCPServer('x')\napp = mcp.streamable_http_app()\n",
             "Dockerfile": "FROM python:3.12\nCMD [\"gunicorn\", \"-w\", \"4\", \"-k\", \"uvicorn.workers.UvicornWorker\", \"server:app\"]\n"},
            None, findings=[("server.py", 3, 7, "stateful MCP sessions live in one process,")], name="stateful with 4 gunicorn workers",
        ),
        Edited(
            "from contextlib import asynccontextmanager\nfrom fastapi import FastAPI\nfrom mcp.server.mcpserver import MCPServer\n\n"
            "mcp = MCPServer('tools')\n\n@asynccontextmanager\nasync def lifespan(app):\n    async with mcp.session_manager.run():\n"
            "        yield\n\ndef create_app() -> FastAPI:\n    app = FastAPI(lifespan=lifespan)\n    tools = mcp.streamable_http_app()\n"
            "    app.mount('/mcp', tools)\n    return app\n",
            ("    app.mount('/mcp', tools)\n", "    app.mount('/', tools)\n"),
            filename="factory.py", name="an app factory mounting the app it built in a local",
            findings=[(15, 5, "mounted at '/mcp', the MCP app (which routes at '/mcp' itself) serves at '/mcp/mcp'")],
        ),
        Invalid(
            "import contextlib\nfrom fastapi import FastAPI\nfrom mcp.server.mcpserver import MCPServer\n\nMCP_PREFIX = '/api/mcp'\n"
            "mcp = MCPServer('t')\n\n@contextlib.asynccontextmanager\nasync def lifespan(app):\n    async with mcp.session_manager.run():\n"
            "        yield\n\napp = FastAPI(lifespan=lifespan)\napp.mount(MCP_PREFIX, mcp.streamable_http_app())\n",
            None, filename="main.py", name="the prefix from a constant: reported, the constant left alone",
            findings=[(14, 1, "mounted at '/api/mcp', the MCP app (which routes at '/mcp' itself) serves at '/api/mcp/mcp'")],
        ),
    ],
)
