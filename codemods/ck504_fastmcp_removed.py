"""FastMCP is gone in mcp 2: the server class is `MCPServer`, and transport settings moved out of its constructor.

## Why
mcp 2 renamed `mcp.server.fastmcp.FastMCP` to `mcp.server.mcpserver.MCPServer`. The old import fails at start-up with
`ModuleNotFoundError: No module named 'mcp.server.fastmcp'`, so the MCP server never runs and every agent tool call
fails. The transport settings (`host`, `port`, `stateless_http`, `json_response`, `streamable_http_path`, ...) are no
longer constructor arguments: `MCPServer("x", port=8001)` raises
`TypeError: MCPServer.__init__() got an unexpected keyword argument 'port'`. They are arguments of `run()` and
`streamable_http_app()` now. (The separate `fastmcp` package on PyPI is another project and is not concerned.)

## Wrong
```python
from mcp.server.fastmcp import FastMCP

mcp = FastMCP("todo", port=8001, json_response=True)
mcp.run(transport="streamable-http")
```

## Right
```python
from mcp.server.mcpserver import MCPServer

mcp = MCPServer("todo")
mcp.run(transport="streamable-http", port=8001, json_response=True)
```
The rule applies where the mcp release the service gets was measured to lack `mcp.server.fastmcp` (the import) or
to refuse those settings in the constructor (`python benchmarks/facts/measure.py fastmcp-module-removed` and
`server-constructor-rejects-transport-settings`; chatkit_fix/data/version-facts.json): the release
`pyproject.toml`, `requirements*.txt`, `uv.lock` or `poetry.lock` declare (an unbounded pin such as `mcp>=1.0`
means the newest), else the installed one. Imports inside a
`try/except ImportError` that supports both versions are left alone. Settings move to each `run()`,
`streamable_http_app()` or `sse_app()` call of the same module that accepts them (a stdio `run()` needs none); when
the server is run from another module, a TODO marker says what to move.
"""

from __future__ import annotations

import ast
import importlib.util
from functools import partial

from chatkit_fix import versions
from chatkit_fix.analysis.mcp import (
    Module,
    add_keyword,
    delete_arguments,
    guarded_by_import_error,
    importers,
)
from chatkit_fix.findings import Safety
from chatkit_fix.pyast import keyword, walk
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK504",
    slug="fastmcp-removed",
    safety=Safety.SAFE,
    summary="mcp 2 removed mcp.server.fastmcp.FastMCP (now MCPServer); transport settings left the constructor",
    url="https://py.sdk.modelcontextprotocol.io/v2/migration/#fastmcp-renamed-to-mcpserver",
    triggers=(b"fastmcp", b"FastMCP", (b"MCPServer(", b"mcp")),
    module=__name__,
    explanation=__doc__,
)

OLD, NEW = "mcp.server.fastmcp", "mcp.server.mcpserver"
RUN_HTTP = ("host", "port", "streamable_http_path", "json_response", "stateless_http", "event_store", "retry_interval",
            "transport_security")
RUN_SSE = ("host", "port", "sse_path", "message_path", "transport_security")
APP_HTTP = ("streamable_http_path", "json_response", "stateless_http", "event_store", "retry_interval",
            "transport_security", "host")
APP_SSE = ("sse_path", "message_path", "transport_security", "host")
TRANSPORT_SETTINGS = frozenset(RUN_HTTP + RUN_SSE + ("mount_path",))
SITES = {"streamable_http_app": APP_HTTP, "sse_app": APP_SSE, "run_streamable_http_async": RUN_HTTP,
         "run_sse_async": RUN_SSE}


REMOVED = "fastmcp-module-removed"
REFUSED = "server-constructor-rejects-transport-settings"


@RULE.check
def check(ctx):
    removed = versions.value(ctx.project, REMOVED, ctx.path)
    refused = versions.value(ctx.project, REFUSED, ctx.path).value or []
    if not removed.value and not refused:
        return
    release = f"mcp {removed.judged.version}"
    module = Module.of(ctx)
    if removed.value:
        for statement in walk(ctx.tree):
            if isinstance(statement, (ast.ImportFrom, ast.Import)) and not guarded_by_import_error(module, statement):
                finding = _check_import(ctx, module, statement, release)
                if finding is not None:
                    yield finding
    if refused:
        for call in walk(ctx.tree):
            if isinstance(call, ast.Call) and _is_server_class(module, call.func):
                finding = _check_constructor(ctx, module, call, release, refused)
                if finding is not None:
                    yield finding


def _is_server_class(module: Module, func: ast.AST) -> bool:
    return module.refers_to(func, "mcp", "FastMCP") or module.refers_to(func, "mcp", "mcpserver.MCPServer") or (
        module.refers_to(func, "mcp", "MCPServer")
    )


# ---- imports ----------------------------------------------------------------------------------------------------------


def _new_module(old: str) -> str | None:
    new = NEW + old[len(OLD):]
    try:
        if importlib.util.find_spec("mcp.server.mcpserver") is not None and importlib.util.find_spec(new) is None:
            return None
    except (ImportError, ValueError):
        pass
    return new


def _check_import(ctx, module: Module, statement, release: str):
    message = (f"`{ctx.segment(statement).splitlines()[0].strip()}` fails under {release} (`ModuleNotFoundError: No "
               f"module named 'mcp.server.fastmcp'`): the class is `mcp.server.mcpserver.MCPServer`")
    if isinstance(statement, ast.ImportFrom):
        if statement.level or not statement.module:
            return None
        if statement.module == OLD or statement.module.startswith(OLD + "."):
            new = _new_module(statement.module)
            if new is None:
                return ctx.finding(ctx.header_span(statement), message, complete=False,
                                   fix=ctx.todo(statement, f"`{statement.module}` has no mcp 2 equivalent; port this import"))
            edits = [_replace_module_text(ctx, statement, statement.module, new)]
            edits += _rename_aliases(ctx, module, statement)
            return ctx.finding(ctx.header_span(statement), message, fix=edits, hint=f"from {new} import ...")
        if statement.module == "mcp.server" and any(a.name == "FastMCP" for a in statement.names):
            # mcp 2 has the package mcp.server but no FastMCP in it: the error is ImportError, not ModuleNotFoundError
            message = (f"`{ctx.segment(statement).splitlines()[0].strip()}` fails under {release} (`ImportError: cannot "
                       "import name 'FastMCP' from 'mcp.server'`): the class is `mcp.server.mcpserver.MCPServer`")
            return ctx.finding(ctx.header_span(statement), message,
                               fix=partial(_rename_aliases, ctx, module, statement), hint="from mcp.server import MCPServer")
        return None
    for alias in statement.names:
        if alias.name == OLD or alias.name.startswith(OLD + "."):
            new = _new_module(alias.name)
            if new is None:
                return None
            edits = [_replace_module_text(ctx, statement, alias.name, new)]
            edits += _rename_attribute_uses(ctx, module)
            return ctx.finding(ctx.header_span(statement), message, fix=edits, hint=f"import {new}")
    return None


def _replace_module_text(ctx, statement, old: str, new: str):
    start, end = ctx.span(statement)
    found = ctx.text.find(old, start, end)
    return ctx.replace((found, found + len(old)), new)


def _alias_start(ctx, statement, alias: ast.alias) -> int:
    if hasattr(alias, "lineno"):
        return ctx.source.offset_from_utf8(alias.lineno, alias.col_offset)
    start, end = ctx.span(statement)
    return ctx.text.find(alias.name, start, end)


def _rename_aliases(ctx, module: Module, statement: ast.ImportFrom) -> list:
    edits = []
    for alias in statement.names:
        if alias.name != "FastMCP":
            continue
        start = _alias_start(ctx, statement, alias)
        edits.append(ctx.replace((start, start + len("FastMCP")), "MCPServer"))
        if alias.asname is None:
            if _rebound(module, "FastMCP", statement):
                edits.append(ctx.insert(start + len("FastMCP"), " as FastMCP"))
            else:
                edits += [ctx.replace(n, "MCPServer") for n in walk(ctx.tree)
                          if isinstance(n, ast.Name) and n.id == "FastMCP"]
    return edits


def _rebound(module: Module, name: str, statement) -> bool:
    """The name is also bound by something other than this import (a second import, an assignment, a def)."""
    for node in walk(module.tree):
        if node is statement:
            continue
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store):
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any((a.asname or a.name) == name for a in node.names):
            return True
    return False


def _rename_attribute_uses(ctx, module: Module) -> list:
    """`mcp.server.fastmcp.FastMCP` / `fm.FastMCP` after `import mcp.server.fastmcp [as fm]`."""
    edits = []
    for node in walk(ctx.tree):
        if not isinstance(node, ast.Attribute):
            continue
        names = module.imports.qualnames(node)
        end = ctx.span(node)[1]
        if node.attr == "fastmcp" and OLD in names:
            edits.append(ctx.replace((end - len("fastmcp"), end), "mcpserver"))
        elif node.attr == "FastMCP" and any(n.startswith(OLD + ".") for n in names):
            edits.append(ctx.replace((end - len("FastMCP"), end), "MCPServer"))
    return edits


# ---- constructors ---------------------------------------------------------------------------------------------------


def _check_constructor(ctx, module: Module, call: ast.Call, release: str, refused: list[str]):
    settings = [k for k in call.keywords if k.arg in TRANSPORT_SETTINGS and k.arg in refused]
    if not settings:
        return None
    listed = ", ".join(f"{k.arg}=" for k in settings)
    message = (f"{ctx.segment(call.func)}(...) no longer takes transport settings ({listed}) under {release}: "
               f"`TypeError: MCPServer.__init__() got an unexpected keyword argument '{settings[0].arg}'`")
    plan, reason = _plan(ctx, module, call, settings)
    if plan is None:
        todo = f"move {listed} from the constructor to run()/streamable_http_app() ({reason})"
        return ctx.finding(ctx.header_span(call), message, fix=ctx.todo(call, todo), complete=False, hint=todo)
    edits = delete_arguments(ctx, call, settings)
    for site, moved in plan:
        if moved:
            edits.append(add_keyword(ctx, site, ", ".join(ctx.segment(setting) for setting in moved)))
    return ctx.finding(ctx.header_span(call), message, fix=edits,
                       hint=f"pass {listed} to run()/streamable_http_app() instead")


def _plan(ctx, module: Module, call: ast.Call, settings):
    """[(site call, settings to add there)] or (None, why not)."""
    parent = module.parents.get(call)
    if not (isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name)):
        return None, "the server is not assigned to a name"
    name = parent.targets[0].id
    if any(k.arg == "mount_path" for k in settings):
        return None, "mount_path has no mcp 2 equivalent"
    if _used_in_other_modules(ctx, module, name):
        return None, f"`{name}` is run from another module"
    sites = []
    for node in walk(ctx.tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                and node.func.value.id == name):
            method = node.func.attr
            if method == "run":
                transport = keyword(node, "transport")
                value = transport.value if transport is not None else (node.args[0] if node.args else None)
                if value is None:
                    sites.append((node, ()))
                elif isinstance(value, ast.Constant) and value.value in ("stdio", "sse", "streamable-http"):
                    sites.append((node, {"stdio": (), "sse": RUN_SSE, "streamable-http": RUN_HTTP}[value.value]))
                else:
                    return None, "the transport of run() is not a literal"
            elif method in SITES:
                sites.append((node, SITES[method]))
    if not sites:
        return None, f"no run() or streamable_http_app() call of `{name}` in this module"
    function = module.enclosing_function(call)
    plan = []
    for site, accepted in sites:
        present = {k.arg for k in site.keywords}
        moved = [s for s in settings if s.arg in accepted and s.arg not in present]
        for setting in moved:
            if module.enclosing_function(site) is not function and not _portable(module, setting.value):
                return None, f"`{ctx.segment(setting)}` uses local names"
        plan.append((site, moved))
    return plan, ""


def _portable(module: Module, value: ast.AST) -> bool:
    import builtins

    names = {n.id for n in walk(value) if isinstance(n, ast.Name)}
    return all(n in module.globals or n in module.imports.names or hasattr(builtins, n) for n in names)


def _used_in_other_modules(ctx, module: Module, name: str) -> bool:
    for other, locals_, _ in importers(ctx, name):
        for local in locals_:
            for node in walk(other.tree):
                if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == local
                        and node.attr in ("run", *SITES)):
                    return True
    return False


MCP2 = {"requirements.txt": "mcp>=2\n"}

RULE.cases(
    valid=[
        Valid("from mcp.server.mcpserver import MCPServer\n\nmcp = MCPServer('demo-tools')\n"
              "app = mcp.streamable_http_app(stateless_http=True, json_response=True)\n", filename="mcp_server.py",
              name="mcp 2 form"),
        Valid({"requirements.txt": "mcp<2\n",
               "server.py": "from mcp.server.fastmcp import FastMCP\n\nmcp = FastMCP('x', port=8001, stateless_http=True)\n"},
              name="mcp 1 declared"),
        Valid({"pyproject.toml": "[project]\nname = 'x'\ndependencies = ['mcp[cli]>=1.3.0']\n",
               "uv.lock": "version = 1\n\n[[package]]\nname = \"mcp\"\nversion = \"1.26.0\"\n",
               "todo_mcp/server.py": "from mcp.server.fastmcp import FastMCP\n\nmcp_server = FastMCP('todo-mcp-server')\n"},
              name="mcp 1 locked"),
        Valid({**MCP2, "server.py": "try:\n    from mcp.server.mcpserver import MCPServer\nexcept ImportError:\n"
               "    from mcp.server.fastmcp import FastMCP as MCPServer\n"}, name="compatibility shim"),
        Valid({**MCP2, "server.py": "from fastmcp import FastMCP\n\nmcp = FastMCP('x', port=8001)\n"},
              name="the fastmcp package"),
    ],
    invalid=[
        Invalid(
            {**MCP2, "mcp_server.py": "from mcp.server.fastmcp import FastMCP\nfrom tools import register_tools\n\n"
             "mcp = FastMCP(\n    \"Todo MCP Server\",\n    json_response=True,\n    port=8001\n)\n\nregister_tools(mcp)\n\n"
             "if __name__ == \"__main__\":\n    mcp.run(transport=\"streamable-http\")\n"},
            {"mcp_server.py": "from mcp.server.mcpserver import MCPServer\nfrom tools import register_tools\n\n"
             "mcp = MCPServer(\n    \"Todo MCP Server\"\n)\n\nregister_tools(mcp)\n\n"
             "if __name__ == \"__main__\":\n    mcp.run(transport=\"streamable-http\", json_response=True, port=8001)\n"},
            findings=[
                ("mcp_server.py", 1, 1, "`from mcp.server.fastmcp import FastMCP` fails under mcp 2.3.0 (`ModuleNotFoundError"),
                ("mcp_server.py", 4, 7, "FastMCP(...) no longer takes transport settings (json_response="),
            ], name="import and constructor (BaselHussain's shape)",
        ),
        Invalid(
            {**MCP2, "server.py": "from mcp.server.fastmcp import FastMCP as F, Context\n\n"
             "mcp = F('demo', host='0.0.0.0', stateless_http=True, debug=True)\n"
             "app = mcp.streamable_http_app()\n\ndef tool(ctx: Context):\n    pass\n"},
            {"server.py": "from mcp.server.mcpserver import MCPServer as F, Context\n\n"
             "mcp = F('demo', debug=True)\n"
             "app = mcp.streamable_http_app(host='0.0.0.0', stateless_http=True)\n\ndef tool(ctx: Context):\n    pass\n"},
            findings=[
                ("server.py", 1, 1, "`from mcp.server.fastmcp import FastMCP as F, Context` fails under mcp 2"),
                ("server.py", 3, 7, "F(...) no longer takes transport settings (host=, stateless_http=) under mcp 2"),
            ], name="aliased, app site",
        ),
        Invalid(
            {"pyproject.toml": "[project]\nname = 'x'\ndependencies = ['mcp>=1.0.0']\n",
             "srv.py": "from mcp.server import FastMCP\n\nserver = FastMCP('tasks')\n\n@server.tool()\ndef add(a: int) -> int:\n"
             "    return a\n\nif isinstance(server, FastMCP):\n    server.run()\n"},
            {"srv.py": "from mcp.server import MCPServer\n\nserver = MCPServer('tasks')\n\n@server.tool()\ndef add(a: int) -> int:\n"
             "    return a\n\nif isinstance(server, MCPServer):\n    server.run()\n"},
            findings=[("srv.py", 1, 1, "`from mcp.server import FastMCP` fails under mcp 2.3.0 (`ImportError: cannot import name 'FastMCP'")], name="mcp.server re-export, unbounded pin",
        ),
        Invalid(
            {**MCP2, "app.py": "import mcp.server.fastmcp as fm\n\nserver = fm.FastMCP('x')\n"},
            {"app.py": "import mcp.server.mcpserver as fm\n\nserver = fm.MCPServer('x')\n"},
            findings=[("app.py", 1, 1, "`import mcp.server.fastmcp as fm` fails under mcp 2.3.0 (`ModuleNotFoundError")], name="module import",
        ),
        Invalid(
            {**MCP2, "tools.py": "from mcp.server.fastmcp import FastMCP\n\nmcp = FastMCP('x', port=9000)\n",
             "run.py": "from tools import mcp\n\nmcp.run(transport='sse')\n"},
            {"tools.py": "from mcp.server.mcpserver import MCPServer\n\n"
             "# chatkit-fix: TODO[CK504] move port= from the constructor to run()/streamable_http_app() (`mcp` is run from "
             "another module)\nmcp = MCPServer('x', port=9000)\n"},
            findings=[
                ("tools.py", 1, 1, "`from mcp.server.fastmcp import FastMCP` fails under mcp 2.3.0 (`ModuleNotFoundError"),
                ("tools.py", 3, 7, "FastMCP(...) no longer takes transport settings (port=) under mcp 2"),
            ], name="run elsewhere: TODO",
        ),
    ],
)
