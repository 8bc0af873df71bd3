"""`@mcp.tool` without parentheses: the MCP server refuses to start.

## Why
`MCPServer.tool()` (and `prompt()`) are decorator factories. Written bare, Python passes the function as the tool's
`name`, and mcp raises at import time: `TypeError: The @tool decorator was used incorrectly. Did you forget to
call it? Use @tool() instead of @tool`. The MCP server process exits, and every agent that uses it fails to list
tools. (The separate `fastmcp` package accepts the bare form; it is not concerned.) Measured per release
(`python benchmarks/facts/measure.py bare-tool-decorator-rejected`): every mcp release with a server class refuses it,
`FastMCP` in mcp 1.x as well as `MCPServer` in mcp 2.

## Wrong
```python
mcp = MCPServer("tasks")

@mcp.tool
def add_task(title: str) -> str:
    ...
```

## Right
```python
@mcp.tool()
def add_task(title: str) -> str:
    ...
```
The rule applies where the mcp release the service gets was measured to refuse the bare form (declared pins first,
an unbounded pin meaning the newest, else the installed version). It recognises servers created in the module, imported from another module of the project, or
passed as a parameter annotated `MCPServer`/`FastMCP`.
"""

from __future__ import annotations

import ast

from chatkit_fix import versions
from chatkit_fix.analysis.mcp import (
    Module,
    is_mcp_server_class,
    is_mcp_server_expr,
)
from chatkit_fix.findings import Safety
from chatkit_fix.pyast import walk
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK506",
    slug="mcp-tool-decorator",
    safety=Safety.SAFE,
    summary="bare `@mcp.tool` (or `@mcp.prompt`): the server raises TypeError at import",
    url="https://github.com/modelcontextprotocol/python-sdk#tools",
    triggers=(b".tool\n", b".tool\r\n", b".prompt\n", b".prompt\r\n", b".tool ", b".prompt "),
    module=__name__,
    explanation=__doc__,
)

FACTORIES = ("tool", "prompt")


FACT = "bare-tool-decorator-rejected"


@RULE.check
def check(ctx):
    answer = versions.value(ctx.project, FACT, ctx.path)
    if not answer.value:
        return
    module = Module.of(ctx)
    for function in walk(ctx.tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for decorator in function.decorator_list:
            if not (isinstance(decorator, ast.Attribute) and decorator.attr in FACTORIES):
                continue
            if not _is_server(ctx, module, decorator.value, function):
                continue
            error = answer.value.get(decorator.attr)
            if error is None:
                continue
            text = ctx.segment(decorator)
            yield ctx.finding(
                ctx.span(decorator),
                f"`@{text}` without parentheses: the server fails at import under mcp {answer.judged.version} "
                f"(`{error}`)",
                fix=ctx.insert(ctx.span(decorator)[1], "()"),
                hint=f"@{text}()",
            )


def _is_server(ctx, module: Module, node: ast.AST, decorated) -> bool:
    if is_mcp_server_expr(module, node) is not None:
        return True
    if isinstance(node, ast.Name):
        scope = module.enclosing_function(decorated)
        while scope is not None:
            args = scope.args
            for arg in args.posonlyargs + args.args + args.kwonlyargs:
                if arg.arg == node.id and arg.annotation is not None:
                    annotation = arg.annotation
                    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
                        try:
                            annotation = ast.parse(annotation.value, mode="eval").body
                        except SyntaxError:
                            return False
                    return is_mcp_server_class(module, annotation)
            scope = module.enclosing_function(scope)
    return False


MCP2 = {"requirements.txt": "mcp>=2.3\n"}

RULE.cases(
    valid=[
        Valid({**MCP2, "mcp_server.py": "from mcp.server.mcpserver import MCPServer\n\nmcp = MCPServer('demo-tools')\n\n"
               "@mcp.tool()\ndef add(a: int, b: int) -> int:\n    return a + b\n"}, name="called"),
        Valid({"requirements.txt": "mcp==1.1.3\n", "server.py": "from mcp.server.fastmcp import FastMCP\n\n"
               "mcp = FastMCP('x')\n\n@mcp.tool\ndef add(a: int) -> int:\n    return a\n"},
              name="a release measured to have no server class"),
        Valid({**MCP2, "server.py": "from fastmcp import FastMCP\n\nmcp = FastMCP('x')\n\n@mcp.tool\ndef add(a: int) -> int:\n"
               "    return a\n"}, name="the fastmcp package"),
        Valid({**MCP2, "agent.py": "from pydantic_ai import Agent\n\nagent = Agent('x')\n\n@agent.tool\ndef f(ctx) -> str:\n"
               "    return ''\n"}, name="another framework's tool decorator"),
        Valid({**MCP2, "tools.py": "from mcp.server.mcpserver import MCPServer\nfrom pydantic_ai import Agent\n\n"
               "agent = Agent('x')\nmcp = MCPServer('x')\n\n\n@agent.tool\ndef f(ctx) -> str:\n    return ''\n\n\n"
               "@mcp.tool()\ndef g() -> str:\n    return ''\n"},
              name="another framework's tool decorator next to an MCP server"),
        Valid({**MCP2, "tools.py": "from mcp.server.mcpserver import MCPServer\n\n\ndef register(server: 'MCP Server'):\n"
               "    @server.tool\n    def ping() -> str:\n        return 'pong'\n"},
              name="an annotation that is not an expression: not known to be a server"),
    ],
    invalid=[
        Invalid(
            {**MCP2, "server.py": "from mcp.server.mcpserver import MCPServer as Server\n\nmcp = Server('x')\n\n"
             "@mcp.tool\ndef add(a: int) -> int:\n    return a\n\n\n@mcp.prompt\nasync def hello() -> str:\n    return 'hi'\n"},
            {"server.py": "from mcp.server.mcpserver import MCPServer as Server\n\nmcp = Server('x')\n\n"
             "@mcp.tool()\ndef add(a: int) -> int:\n    return a\n\n\n@mcp.prompt()\nasync def hello() -> str:\n    return 'hi'\n"},
            findings=[
                ("server.py", 5, 2, "`@mcp.tool` without parentheses"),
                ("server.py", 10, 2, "`@mcp.prompt` without parentheses"),
            ], name="tool and prompt",
        ),
        Invalid(
            {"pyproject.toml": "[project]\nname = 'x'\ndependencies = ['mcp>=1.0.0']\n",
             "tools/tasks.py": "from mcp.server.fastmcp import FastMCP\n\ndef register_tools(mcp: 'FastMCP'):\n"
             "    @mcp.tool\n    def add_task(title: str) -> str:\n        return title\n"},
            {"tools/tasks.py": "from mcp.server.fastmcp import FastMCP\n\ndef register_tools(mcp: 'FastMCP'):\n"
             "    @mcp.tool()\n    def add_task(title: str) -> str:\n        return title\n"},
            name="annotated parameter, unbounded pin",
            findings=[("tools/tasks.py", 4, 6, "`@mcp.tool` without parentheses")],
        ),
        Invalid(
            {"requirements.txt": "mcp<2\n", "server.py": "from mcp.server.fastmcp import FastMCP\n\nmcp = FastMCP('x')\n\n"
             "@mcp.tool\ndef add(a: int) -> int:\n    return a\n"},
            {"server.py": "from mcp.server.fastmcp import FastMCP\n\nmcp = FastMCP('x')\n\n"
             "@mcp.tool()\ndef add(a: int) -> int:\n    return a\n"},
            name="mcp 1 declared: FastMCP refuses it too",
            findings=[("server.py", 5, 2, "the server fails at import under mcp 1.30.0 (`TypeError: The @tool decorator")],
        ),
        Invalid(
            {**MCP2, "server.py": "from mcp.server.mcpserver import MCPServer\nmcp = MCPServer('x')\n",
             "tools.py": "from server import mcp\n\n@mcp.tool\ndef ping() -> str:\n    return 'pong'\n"},
            {"tools.py": "from server import mcp\n\n@mcp.tool()\ndef ping() -> str:\n    return 'pong'\n"},
            name="server imported from the project",
            findings=[("tools.py", 3, 2, "`@mcp.tool` without parentheses")],
        ),
        Invalid(
            {**MCP2, "tools.py": "from functools import cache\n\nfrom fastapi import FastAPI\n"
             "from mcp.server.mcpserver import MCPServer\n\n\ndef register(app: FastAPI, server: MCPServer):\n"
             "    @cache\n    @server.tool\n    def ping() -> str:\n        return 'pong'\n"},
            {"tools.py": "from functools import cache\n\nfrom fastapi import FastAPI\n"
             "from mcp.server.mcpserver import MCPServer\n\n\ndef register(app: FastAPI, server: MCPServer):\n"
             "    @cache\n    @server.tool()\n    def ping() -> str:\n        return 'pong'\n"},
            name="a parameter annotated with the class, after another annotated one; under another decorator",
            findings=[("tools.py", 9, 6, "`@server.tool` without parentheses")],
        ),
    ],
)
