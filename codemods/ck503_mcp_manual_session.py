"""Hand-made MCP sessions: JSON-RPC over a raw HTTP client, `mcp-session-id` juggling, or an SSE client for a
Streamable HTTP server.

## Why
MCP over Streamable HTTP is a session protocol: `initialize`, then `notifications/initialized`, then every request
with the `mcp-session-id` the server returned, an `Accept: application/json, text/event-stream` header and replies
that may arrive as server-sent events. Hand-rolled versions break in ways that look like server bugs: HTTP 400
`Missing session ID`, 404 `Session not found` after a restart or on another worker, 406 without the `Accept` header,
or an SSE reply parsed as JSON. `MCPServerSse` pointed at a Streamable HTTP endpoint (`.../mcp`) fails the same
way: it speaks the older HTTP+SSE transport. The Agents SDK client does all of it:
`MCPServerStreamableHttp(params={"url": ...})` in `Agent(mcp_servers=[...])`.

## Wrong
```python
init = httpx.post(MCP_URL, json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {...}})
session = init.headers["mcp-session-id"]
tools = httpx.post(MCP_URL, headers={"mcp-session-id": session},
                   json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
```

## Right
```python
async with MCPServerStreamableHttp(params={"url": MCP_URL}) as server:
    agent = Agent(name="Assistant", mcp_servers=[server])
```
Only Python is checked (shell scripts that probe a server with curl are out of scope). Tests and hidden tooling
folders (`.claude/`, `.github/`) are left alone: probing a server by hand is what a protocol test does (test files,
and wherever they live `test_*` functions and classes made of `test_*` methods). JSON-RPC
sent over stdio is not an HTTP session and is not reported; one finding is made per hand-made client (the top-level
class or function holding it). Replacing `MCPServerSse` by
`MCPServerStreamableHttp` is an unsafe fix: it is right only when the server really speaks Streamable HTTP.
"""

from __future__ import annotations

import ast
import re
from functools import partial
from pathlib import Path

from chatkit_fix.analysis.mcp import Module
from chatkit_fix.findings import ImportChange, Safety
from chatkit_fix.pyast import keyword, walk
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK503",
    slug="mcp-manual-session",
    safety=Safety.UNSAFE,
    summary="hand-made JSON-RPC or mcp-session-id calls to an MCP endpoint; MCPServerSse for a Streamable HTTP server",
    url="https://modelcontextprotocol.io/specification/2025-06-18/basic/transports#streamable-http",
    triggers=(b"jsonrpc", b"mcp-session-id", b"Mcp-Session-Id", b"MCPServerSse", (b"ClientSession", b"mcp")),
    anywhere=(re.compile(rb"cp-[Ss]ession-[Ii]d"),),  # a literal prefix: one fast pass
    module=__name__,
    explanation=__doc__,
)

CLIENT_METHODS = frozenset({
    "initialize", "ping", "tools/list", "tools/call", "resources/list", "resources/read", "resources/templates/list",
    "prompts/list", "prompts/get", "notifications/initialized", "completion/complete", "logging/setLevel",
})
HTTP_PACKAGES = ("httpx", "requests", "aiohttp", "urllib", "http")


def _is_test_or_tooling(path: Path) -> bool:
    """Protocol tests probe servers by hand on purpose; hidden folders (`.claude/`, `.github/`) hold tooling."""
    name = path.name
    parts = [p.lower() for p in path.parts[:-1]]
    return (name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"
            or bool(set(parts) & {"tests", "test", "testing"}) or any(p.startswith(".") for p in parts))


@RULE.check
def check(ctx):
    if _is_test_or_tooling(Path(ctx.relative_path)) or ctx.module_name.split(".")[0] == "mcp":
        return  # tests, tooling, and the MCP SDK itself
    module = Module.of(ctx)
    yield from _manual_sessions(ctx, module)
    yield from _sse_clients(ctx, module)
    yield from _hand_wired_sessions(ctx, module)


# ---- JSON-RPC and session headers over an HTTP client -------------------------------------------------------------


def _json_rpc_method(node: ast.Dict) -> str | None:
    keys = {k.value: v for k, v in zip(node.keys, node.values) if isinstance(k, ast.Constant) and isinstance(k.value, str)}
    method = keys.get("method")
    if not ("jsonrpc" in keys and isinstance(method, ast.Constant) and isinstance(method.value, str)):
        return None
    if method.value in CLIENT_METHODS or method.value.startswith(("tools/", "resources/", "prompts/")):
        return method.value
    return None


def _session_header(module: Module, node: ast.AST) -> bool:
    """The header name used in a request or read from a response: a dict key, a subscript, a `.get()` argument."""
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() == "mcp-session-id"):
        return False
    parent = module.parents.get(node)
    if isinstance(parent, ast.Dict):
        return node in parent.keys
    if isinstance(parent, ast.Subscript):
        return parent.slice is node
    return isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute) and parent.func.attr == "get"


def _manual_sessions(ctx, module: Module):
    if not any(ctx.imports.imports_package(p) for p in HTTP_PACKAGES):
        return
    per_scope: dict[ast.AST | None, list[tuple[ast.AST, str]]] = {}
    for node in walk(ctx.tree):
        what = None
        if isinstance(node, ast.Dict):
            method = _json_rpc_method(node)
            if method is not None:
                what = f"a hand-made JSON-RPC `{method}` request"
        elif _session_header(module, node):
            what = "the `mcp-session-id` header handled by hand"
        if what is not None:
            per_scope.setdefault(_outermost_scope(module, node), []).append((node, what))
    for scope, found in per_scope.items():
        if not _makes_http_calls(module, scope if scope is not None else ctx.tree):
            continue  # JSON-RPC over stdio or a queue: not an HTTP session
        if scope is not None and _is_test(scope):
            continue  # a test probing a server by hand, wherever its file lives
        found.sort(key=lambda item: (item[0].lineno, item[0].col_offset))
        anchor, _ = found[0]
        kinds = sorted({what for _, what in found})
        where = f"`{scope.name}`" if scope is not None else "this module"
        yield ctx.finding(
            ctx.span(anchor),
            f"{where} talks MCP over HTTP by hand ({'; '.join(kinds)}): session ids, the Accept header and SSE "
            f"replies are easy to get wrong (HTTP 400 `Missing session ID`, 404 `Session not found`)",
            hint="use the Agents SDK client: `MCPServerStreamableHttp(params={'url': ...})` in `Agent(mcp_servers=[...])`",
        )


def _is_test(scope: ast.AST) -> bool:
    """A test by what it is: a `test_*` function, or a class of `test_*` methods (a verification harness)."""
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return scope.name.startswith("test_")
    methods = [m for m in scope.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef)) and m.name != "__init__"]
    return bool(methods) and sum(m.name.startswith("test_") for m in methods) * 2 > len(methods)


def _outermost_scope(module: Module, node: ast.AST):
    """The top-level class or function holding `node` (None at module level): one finding per hand-made client."""
    outermost = None
    current = module.parents.get(node)
    while current is not None:
        if isinstance(current, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            outermost = current
        current = module.parents.get(current)
    return outermost


def _makes_http_calls(module: Module, scope: ast.AST) -> bool:
    for node in walk(scope):
        if not isinstance(node, ast.Call):
            continue
        names = module.imports.qualnames(node.func)
        if any(name.split(".")[0] in HTTP_PACKAGES for name in names):
            return True
        if isinstance(node.func, ast.Attribute) and node.func.attr in ("post", "stream", "request", "send"):
            return True
    return False


# ---- MCPServerSse pointed at a Streamable HTTP server ---------------------------------------------------------------


def _url_of(ctx, call: ast.Call) -> tuple[str | None, bool]:
    """(URL text, known) from `params={"url": ...}` or `MCPServerSseParams(url=...)`; env defaults count."""
    params = keyword(call, "params")
    value = params.value if params is not None else (call.args[0] if call.args else None)
    url = None
    if isinstance(value, ast.Dict):
        for key, item in zip(value.keys, value.values):
            if isinstance(key, ast.Constant) and key.value == "url":
                url = item
    elif isinstance(value, ast.Call):
        inner = keyword(value, "url")
        url = inner.value if inner is not None else None
    if url is None:
        return None, False
    text = _string_value(url)
    return text, text is not None


def _string_value(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        tail = node.values[-1] if node.values else None
        return tail.value if isinstance(tail, ast.Constant) and isinstance(tail.value, str) else None
    if isinstance(node, ast.Call) and len(node.args) >= 2:  # os.getenv("X", "http://.../mcp"), environ.get(...)
        return _string_value(node.args[1])
    return None


def _project_speaks_streamable_only(ctx) -> bool:
    project = ctx.project
    streamable = project.grep(b"streamable_http_app", "python") + project.grep(b"streamable-http", "python")
    sse = project.grep(b"sse_app", "python") + project.grep(b'"sse"', "python") + project.grep(b"'sse'", "python")
    return bool(streamable) and not sse


def _sse_clients(ctx, module: Module):
    for call in walk(ctx.tree):
        if not (isinstance(call, ast.Call) and module.refers_to(call.func, "agents", "MCPServerSse")):
            continue
        url, known = _url_of(ctx, call)
        path = (url or "").split("?")[0].rstrip("/")
        if known and path.endswith("/sse"):
            continue
        if known and not path.endswith("/mcp"):
            continue
        if not known and not _project_speaks_streamable_only(ctx):
            continue
        reason = f"its URL {url!r} is a Streamable HTTP endpoint" if known else "the project's MCP server speaks Streamable HTTP"
        yield ctx.finding(
            ctx.header_span(call),
            f"MCPServerSse speaks the old HTTP+SSE transport but {reason}: the connection fails",
            fix=partial(_to_streamable, ctx, module, call),
            hint="use MCPServerStreamableHttp (same params)",
        )


def _to_streamable(ctx, module: Module, call: ast.Call):
    func = call.func
    if isinstance(func, ast.Attribute):
        start = ctx.span(func)[1] - len(func.attr)
        return [ctx.replace((start, ctx.span(func)[1]), "MCPServerStreamableHttp")]
    if not isinstance(func, ast.Name):
        return None
    local, needed = ctx.ensure_import("agents.mcp", "MCPServerStreamableHttp")
    # the old class's import goes when this was its last use (libcst keeps it while anything still names it)
    return [ctx.replace(func, local), needed, ImportChange("agents.mcp", "MCPServerSse", remove=True)]


# ---- ClientSession wired by hand next to an agent -------------------------------------------------------------------


def _hand_wired_sessions(ctx, module: Module):
    if not (ctx.imports.imports_package("agents") or ctx.imports.imports_package("chatkit")):
        return
    for call in walk(ctx.tree):
        if isinstance(call, ast.Call) and module.refers_to(call.func, "mcp", "ClientSession"):
            yield ctx.finding(
                ctx.header_span(call),
                "an MCP ClientSession wired by hand next to an agent: the transport, the session lifetime and the "
                "tool schema conversion are all left to this code",
                hint="give the agent `MCPServerStreamableHttp(params={'url': ...})` in `mcp_servers` instead",
            )


RULE.cases(
    valid=[
        Valid(
            "from agents.mcp import MCPServerStreamableHttp\n\n"
            "server = MCPServerStreamableHttp(params={'url': 'http://127.0.0.1:8001/mcp'})\n",
            filename="agent.py", name="Agents SDK client",
        ),
        Valid(
            "from agents.mcp import MCPServerSse\n\nserver = MCPServerSse(params={'url': 'http://127.0.0.1:8000/sse'})\n",
            filename="agent.py", name="MCPServerSse for an SSE server",
        ),
        Valid(
            # the experiments' test_mcp_stateful.py probes a server by hand: that is a protocol test
            "import httpx\nh = {'Accept': 'application/json, text/event-stream'}\n"
            "r = httpx.post(URL, headers=h, json={'jsonrpc': '2.0', 'id': 1, 'method': 'tools/list', 'params': {}})\n"
            "r2 = httpx.post(URL, headers={**h, 'mcp-session-id': 'bogus'}, json={})\n",
            filename="tests/test_mcp_stateful.py", name="protocol test",
        ),
        Valid(
            "import httpx\nbody = {'jsonrpc': '2.0', 'id': 1, 'method': 'eth_blockNumber', 'params': []}\n"
            "httpx.post(RPC, json=body)\n",
            filename="chain.py", name="other JSON-RPC",
        ),
        Valid(
            "import json, subprocess\nfrom urllib.request import urlopen\n\nclass Stdio:\n    def start(self):\n"
            "        self.p = subprocess.Popen(['npx', 'server'], stdin=subprocess.PIPE)\n"
            "        self.p.stdin.write(json.dumps({'jsonrpc': '2.0', 'id': 1, 'method': 'initialize'}))\n",
            filename="tools/stdio_client.py", name="JSON-RPC over stdio",
        ),
        Valid(
            "import httpx\nhttpx.post(URL, json={'jsonrpc': '2.0', 'id': 1, 'method': 'tools/list'})\n",
            filename=".claude/skills/x/scripts/mcp-client.py", name="hidden tooling folder",
        ),
        Valid(
            "from starlette.requests import Request\nimport httpx\n\nMCP_SESSION_ID_HEADER = 'mcp-session-id'\n\n"
            "async def handle(request: Request, client: httpx.AsyncClient):\n"
            "    sid = request.headers.get(MCP_SESSION_ID_HEADER)\n    return await client.post(URL, json={})\n",
            filename="gateway/proxy.py", name="header name as a constant",
        ),
        Valid(
            "import requests\n\nclass EndpointCheck:\n    def __init__(self):\n        self.url = 'http://localhost:8000/mcp'\n\n"
            "    def test_tools_list(self):\n        body = {'jsonrpc': '2.0', 'id': 1, 'method': 'tools/list', 'params': {}}\n"
            "        return requests.post(self.url, json=body).ok\n\n"
            "    def test_tools_call(self):\n        body = {'jsonrpc': '2.0', 'id': 2, 'method': 'tools/call', 'params': {}}\n"
            "        return requests.post(self.url, json=body).ok\n\n"
            "if __name__ == '__main__':\n    check = EndpointCheck()\n    print(check.test_tools_list(), check.test_tools_call())\n",
            filename="verify_endpoint.py", name="a verification harness of test_ methods outside tests/",
        ),
    ],
    invalid=[
        Invalid(
            "import httpx\n\nasync def list_tools(url):\n    async with httpx.AsyncClient() as client:\n"
            "        init = await client.post(url, json={'jsonrpc': '2.0', 'id': 1, 'method': 'initialize', 'params': {}})\n"
            "        sid = init.headers['mcp-session-id']\n"
            "        return await client.post(url, headers={'Mcp-Session-Id': sid},\n"
            "                                 json={'jsonrpc': '2.0', 'id': 2, 'method': 'tools/list'})\n",
            None, filename="backend/mcp_client.py", findings=[(5, 44, "`list_tools` talks MCP over HTTP by hand (a hand-made JSON-RPC `initialize` request")], name="session by hand",
        ),
        Invalid(
            "import requests\n\nclass McpHttp:\n    def __init__(self, url):\n        self.url, self.sid = url, None\n\n"
            "    def start(self):\n        r = requests.post(self.url, json={'jsonrpc': '2.0', 'id': 1, 'method': 'initialize'})\n"
            "        self.sid = r.headers.get('mcp-session-id')\n\n    def call(self, name, args):\n"
            "        body = {'jsonrpc': '2.0', 'id': 2, 'method': 'tools/call', 'params': {'name': name, 'arguments': args}}\n"
            "        return requests.post(self.url, json=body, headers={'mcp-session-id': self.sid}).json()\n",
            None, filename="app/tools_client.py", findings=[(8, 42, "`McpHttp` talks MCP over HTTP by hand (a hand-made JSON-RPC `initialize` request")], name="one finding per client class",
        ),
        Invalid(
            "from agents.mcp import MCPServerSse\n\nserver = MCPServerSse(params={'url': 'http://127.0.0.1:8001/mcp'})\n",
            "from agents.mcp import MCPServerStreamableHttp\n\n"
            "server = MCPServerStreamableHttp(params={'url': 'http://127.0.0.1:8001/mcp'})\n",
            filename="agent.py", unsafe=True, name="SSE client for /mcp", findings=[(3, 10, "MCPServerSse speaks the old HTTP+SSE transport but its URL 'http://127.0.0.1:8001/mcp' is a Streamable HTTP endpoint")],
        ),
        Invalid(
            "import os\nfrom agents.mcp import MCPServerSse, MCPServerStdio\n\n"
            "a = MCPServerSse(params={'url': os.getenv('MCP_URL', 'http://mcp:8001/mcp/')})\n"
            "b = MCPServerSse(params={'url': os.environ['OTHER']})\n",
            "import os\nfrom agents.mcp import MCPServerSse, MCPServerStdio, MCPServerStreamableHttp\n\n"
            "a = MCPServerStreamableHttp(params={'url': os.getenv('MCP_URL', 'http://mcp:8001/mcp/')})\n"
            "b = MCPServerSse(params={'url': os.environ['OTHER']})\n",
            filename="agent.py", unsafe=True, name="env default", findings=[(4, 5, "its URL 'http://mcp:8001/mcp/' is a Streamable HTTP endpoint")],
        ),
        Invalid(
            {
                "server.py": "from mcp.server.mcpserver import MCPServer\nmcp = MCPServer('t')\n"
                "app = mcp.streamable_http_app(stateless_http=True)\n",
                "client.py": "import agents.mcp as m\n\nclient = m.MCPServerSse(params={'url': URL})\n",
            },
            {"client.py": "import agents.mcp as m\n\nclient = m.MCPServerStreamableHttp(params={'url': URL})\n"},
            unsafe=True, name="project serves Streamable HTTP", findings=[("client.py", 3, 10, "MCPServerSse speaks the old HTTP+SSE transport but the project's MCP server speaks Streamable HTTP")],
        ),
        Invalid(
            "from agents import Agent\nfrom mcp import ClientSession\nfrom mcp.client.streamable_http import streamable_http_client\n\n"
            "async def tools(url):\n    async with streamable_http_client(url) as (r, w, _):\n"
            "        async with ClientSession(r, w) as session:\n            return await session.list_tools()\n",
            None, filename="agent_tools.py", name="ClientSession by hand next to an agent", findings=[(7, 20, "an MCP ClientSession wired by hand next to an agent: the transport, the session lifetime")],
        ),
    ],
)
