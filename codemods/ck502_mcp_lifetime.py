"""The MCP session closes before the agent's stream is done with it.

## Why
`Runner.run_streamed()` returns at once; the agent lists and calls MCP tools later, while the stream is consumed.
When the `async with` that owns the MCP client ends before that (the `async for` over `stream_agent_response()`
sits after the block, or the stream is returned out of it), the session is already closed: the run dies with
`mcp.shared.exceptions.MCPError: Connection closed` and ChatKit streams a `stream.error` event instead of an answer.
Two related shapes break the same way under load: a client shared by the whole app (a module global, a singleton
getter, a cache) entered with `async with` per request, so one request closes the session another is using; and
`connect()` (or a hand-made `__aenter__()`) called in one task (a request) while `cleanup()` (`__aexit__()`) runs in
another, which anyio refuses (`Attempted to exit cancel scope in a different task`). A shared client that the first
request connects once (under a "not connected yet" test) and that is closed only when that connect fails is fine.

## Wrong
```python
async with MCPServerStreamableHttp(params={"url": MCP_URL}) as server:
    agent = Agent(name="Assistant", mcp_servers=[server])
    result = Runner.run_streamed(agent, items, context=agent_context)
async for event in stream_agent_response(agent_context, result):
    yield event
```

## Right
```python
async with MCPServerStreamableHttp(params={"url": MCP_URL}) as server:
    agent = Agent(name="Assistant", mcp_servers=[server])
    result = Runner.run_streamed(agent, items, context=agent_context)
    async for event in stream_agent_response(agent_context, result):
        yield event
```
A client shared across requests is connected once, in the FastAPI lifespan (`await server.connect()` before the
`yield`, `await server.cleanup()` after it, in the same function), and used without `async with` per request; a
per-request client is created per request. Only the lexical case is fixed (the loop moves inside the block); the
others are reported.
"""

from __future__ import annotations

import ast
from functools import partial

from chatkit_fix.analysis.mcp import (
    Flow,
    Module,
    agent_mcp_servers,
    client_class,
    containing_block,
    derived_names,
    expression_key,
    has_multiline_string,
    indent_edits,
    is_agent_call,
    is_runner_call,
    is_stream_agent_response,
    is_stream_events,
    lifespan_functions,
    loaded_names,
    own_nodes,
    statement_end_line,
    uses_of,
)
from chatkit_fix.codemods._cases import Edited
from chatkit_fix.findings import Safety
from chatkit_fix.pyast import ancestors, walk
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK502",
    slug="mcp-lifetime",
    safety=Safety.SAFE,
    summary="the MCP session closes before the agent's stream ends, or is shared across request tasks",
    url="https://openai.github.io/openai-agents-python/mcp/",
    triggers=((b"async with", b"mcp"), (b"async with", b"MCP"), (b".connect(", b"mcp"), (b".connect(", b"MCP"),
              (b".__aenter__(", b"mcp"), (b".__aenter__(", b"MCP")),
    module=__name__,
    explanation=__doc__,
)

CLOSED = "mcp.shared.exceptions.MCPError: Connection closed"
CONNECTS = ("connect", "__aenter__")  # entering the client by hand is connecting it


@RULE.check
def check(ctx):
    module = Module.of(ctx)
    once = _once_functions(module)
    reported: set[int] = set()
    for node in walk(ctx.tree):
        if isinstance(node, ast.AsyncWith):
            yield from _check_with(ctx, module, node, once, reported)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CONNECTS:
            finding = _check_connect(ctx, module, node, once, reported)
            if finding is not None:
                yield finding


def _once_functions(module: Module) -> set:
    """Functions that run once per process, plus module functions called only from those."""
    once = set(lifespan_functions(module))
    callers: dict[str, list[ast.Call]] = {}  # one walk of the module, not one per function and round
    for node in walk(module.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            callers.setdefault(node.func.id, []).append(node)
    changed = True
    while changed:
        changed = False
        for name, definitions in module.functions.items():
            if "." in name or name not in callers:
                continue
            for definition in definitions:
                if definition not in once and all(module.enclosing_function(c) in once for c in callers[name]):
                    once.add(definition)
                    changed = True
    return once


def _mcp_item(module: Module, flow: Flow, item: ast.withitem):
    """(origin, name bound to the client) when a with-item enters an Agents SDK MCP client."""
    expr = item.context_expr
    cls = client_class(module, expr)
    name = item.optional_vars.id if isinstance(item.optional_vars, ast.Name) else None
    if cls is not None:
        return flow.origin(expr), name
    origin = flow.origin(expr)
    if origin.kind in ("fresh", "shared") and origin.cls is not None:
        key = expression_key(expr)
        return origin, name or (key if isinstance(expr, ast.Name) else None)
    return None, None


def _check_with(ctx, module: Module, node: ast.AsyncWith, once: set, reported: set[int]):
    function = module.enclosing_function(node)
    flow = Flow(module, function)
    for item in node.items:
        origin, name = _mcp_item(module, flow, item)
        if origin is None:
            continue
        if origin.kind == "shared" and function is not None and function not in once:
            reported.add(id(item.context_expr))
            label = ctx.segment(item.context_expr)
            yield ctx.finding(
                ctx.header_span(node),
                f"`async with {label}` opens and closes a client shared by every request: concurrent requests close "
                f"each other's MCP session ({CLOSED})",
                hint="connect the shared client once in the FastAPI lifespan and drop the per-request `async with`,"
                     " or create a new client per request",
            )
            continue
        if name is None or function is None:
            continue
        yield from _lexical(ctx, module, function, node, name)


def _lexical(ctx, module: Module, function, with_node: ast.AsyncWith, name: str):
    located = containing_block(module, with_node)
    if located is None:
        return
    block, index = located
    tracked = derived_names(block[: index + 1], {name})
    agents = _agent_names(module, block[: index + 1], tracked)
    streams = _stream_names(module, with_node.body, tracked)
    consumed = {name for node in own_nodes(with_node) if isinstance(node, ast.AsyncFor) for name in loaded_names(node.iter)}
    if consumed & streams:
        streams = set()  # read to its end inside the block: what follows uses a finished run (final_output, ...)
    for node in own_nodes(with_node):
        if isinstance(node, ast.Return) and node.value is not None and _is_stream_value(module, node.value, tracked, streams):
            yield ctx.finding(
                ctx.header_span(node),
                f"the stream is returned out of `async with` ({name}): the MCP session closes on return, before the "
                f"agent lists or calls tools ({CLOSED})",
                hint="consume the stream inside the block (`async for event in ...: yield event`)",
            )
    end_line = statement_end_line(with_node)
    rebinds = [n for n in own_nodes(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
               and n.lineno > end_line]
    late = [
        n for n in own_nodes(function)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.lineno > end_line
        and (n.id in streams or (n.id in agents and _in_runner_call(module, n)))
        and not _exclusive(module, with_node, n)
        and not any(r.id == n.id and r.lineno < n.lineno and not _exclusive(module, r, n) for r in rebinds)
    ]
    if not late:
        return
    first = min(late, key=lambda n: (n.lineno, n.col_offset))
    consumer = module.statement_of(first)
    message = (f"the agent's stream is consumed after `async with` ({name}) has closed the MCP session: the run "
               f"fails with {CLOSED}")
    hint = "move the streaming loop inside the `async with` block"
    moved = _movable(ctx, module, block, index, late, streams | agents)
    yield ctx.finding(ctx.header_span(consumer), message, hint=hint,
                      fix=None if moved is None else partial(indent_edits, ctx, *moved),
                      safety=None if moved else Safety.REPORT)


def _exclusive(module: Module, first: ast.AST, second: ast.AST) -> bool:
    """Whether two nodes sit in branches of one `if` (or `match`) that never both run: a use in the `else` of the
    branch that opened the client is another run, without it."""
    path = {}
    child = first
    for parent in ancestors(first, module.parents):
        path[id(parent)] = child
        child = parent
    child = second
    for parent in ancestors(second, module.parents):
        if id(parent) in path:
            other = path[id(parent)]
            if isinstance(parent, ast.If):
                return (other in parent.body) != (child in parent.body)
            if isinstance(parent, ast.Match):
                return other is not child
            return False
        child = parent
    return False


def _agent_names(module: Module, statements, tracked: set[str]) -> set[str]:
    """Names bound to agents (or anything built by a call) that hold the client."""
    names: set[str] = set()
    for statement in statements:
        for node in walk(statement):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and loaded_names(node.value) & tracked:
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        names.add(target.id)
                    elif isinstance(target, ast.Tuple):
                        names.update(e.id for e in target.elts if isinstance(e, ast.Name))
    for statement in statements:
        for node in walk(statement):
            if is_agent_call(module, node) and agent_mcp_servers(node) is not None:
                parent_assign = None
                for candidate in walk(statement):
                    if isinstance(candidate, ast.Assign) and candidate.value is node:
                        parent_assign = candidate
                if parent_assign is not None and loaded_names(agent_mcp_servers(node)) & tracked:
                    names.update(t.id for t in parent_assign.targets if isinstance(t, ast.Name))
    return names


def _stream_names(module: Module, body, tracked: set[str]) -> set[str]:
    """Names bound inside the block to a streamed run (or a stream made from one) of an agent holding the client."""
    streams: set[str] = set()
    changed = True
    while changed:
        changed = False
        for statement in body:
            for node in [statement, *own_nodes(statement)]:
                if isinstance(node, ast.Assign) and _is_stream_value(module, node.value, tracked, streams):
                    for target in node.targets:
                        if isinstance(target, ast.Name) and target.id not in streams:
                            streams.add(target.id)
                            changed = True
    return streams


def _is_stream_value(module: Module, value: ast.AST, tracked: set[str], streams: set[str]) -> bool:
    for node in walk(value):
        if not isinstance(node, ast.Call):
            continue
        names = loaded_names(node)
        if is_runner_call(module, node, ("run_streamed",)) and names & tracked:
            return True
        if (is_stream_agent_response(module, node) or is_stream_events(node)) and names & (streams | tracked):
            return True
    return isinstance(value, ast.Name) and value.id in streams


def _in_runner_call(module: Module, name: ast.Name) -> bool:
    parent = module.parents.get(name)
    while parent is not None and not isinstance(parent, ast.stmt):
        if is_runner_call(module, parent):
            return True
        parent = module.parents.get(parent)
    return False


def _movable(ctx, module: Module, block, index: int, late, names: set[str]) -> tuple[int, int, str] | None:
    """The lines after the block that use the stream and the indentation that makes them its last statements
    (the fix re-indents them lazily: `indent_edits`); None when they cannot be moved as they are."""
    with_node = block[index]
    lines = {n.lineno for n in late}
    end = index
    for position in range(index + 1, len(block)):
        if loaded_names(block[position]) & names:
            end = position
    if end == index:
        return None
    moved = block[index + 1:end + 1]
    last_line = statement_end_line(block[end])
    if any(line > last_line for line in lines) or has_multiline_string(moved):
        return None
    for statement in moved:
        for node in [statement, *own_nodes(statement)]:
            if isinstance(node, ast.Return) and node.value is not None and loaded_names(node.value) & names:
                return None
    outer = ctx.source.indentation(with_node.lineno)
    inner = ctx.source.indentation(with_node.body[0].lineno)
    if not (len(inner) > len(outer) and inner.startswith(outer)):
        return None
    return statement_end_line(with_node) + 1, last_line, inner[len(outer):]


# ---- connect() in one task, cleanup() in another -----------------------------------------------------------------


def _check_connect(ctx, module: Module, call: ast.Call, once: set, reported: set[int]):
    target = call.func.value
    function = module.enclosing_function(call)
    if function is None or function in once or id(target) in reported:
        return None
    flow = Flow(module, function)
    origin = flow.origin(target)
    key = expression_key(target)
    if origin.kind == "shared" and origin.cls is not None:
        cleanups = [use for use in uses_of(module, key) if use.kind == "cleanup"] if key is not None else []
        if _connected_once(module, call, key) and all(_undoes_failed_connect(module, use.node, call) for use in cleanups):
            return None  # connected by the first request and kept; closed only when that connect fails
        same_task_cleanup = any(use.function is function for use in cleanups)
        if same_task_cleanup:
            message = (f"`{key}` is shared by every request but connected and cleaned up per request: concurrent "
                       f"requests close each other's MCP session ({CLOSED})")
        else:
            message = (f"`{key or ctx.segment(target)}` is a shared MCP client connected inside a request task: its "
                       f"session belongs to that task, so cleanup() from any other task fails (`Attempted to exit "
                       f"cancel scope in a different task`)")
        return ctx.finding(ctx.header_span(module.statement_of(call)), message,
                           hint="connect the shared client once in the FastAPI lifespan and clean it up there")
    if origin.kind == "fresh" and isinstance(target, ast.Name) and _stored_for_later(module, function, target.id):
        return ctx.finding(
            ctx.header_span(module.statement_of(call)),
            f"`{target.id}` is connected inside a request task and kept for later requests: its session belongs to "
            f"this task, so using or cleaning it up from another task fails (`Attempted to exit cancel scope in a "
            f"different task`)",
            hint="connect shared clients once in the FastAPI lifespan (per user: a fresh `async with` client per request)",
        )
    return None


def _connected_once(module: Module, call: ast.Call, key: str | None) -> bool:
    """The connect runs only while the client is not connected yet: under an `if` that tests the client itself
    (`server.session is None`) or a flag the same branch sets (`if not connected: ...; connected = True`)."""
    if key is None:
        return False
    function = module.enclosing_function(call)
    child = call
    for parent in ancestors(call, module.parents):
        if parent is function:
            return False
        if isinstance(parent, ast.If) and any(child is statement for statement in parent.body):
            tested = {expression_key(n) for n in walk(parent.test) if isinstance(n, (ast.Name, ast.Attribute))}
            if any(name == key or name.startswith(key + ".") for name in tested if name):
                return True
            flags = {expression_key(t) for statement in parent.body for node in walk(statement)
                     if isinstance(node, ast.Assign) for t in node.targets}
            if tested & (flags - {None}):
                return True
        child = parent
    return False


def _undoes_failed_connect(module: Module, cleanup: ast.AST, connect: ast.Call) -> bool:
    """A cleanup in the `except` of the `try` around the connect: it closes a connect that failed, in its own task."""
    for parent in ancestors(cleanup, module.parents):
        if isinstance(parent, ast.ExceptHandler):
            handler = parent
            owner = module.parents.get(handler)
            return isinstance(owner, ast.Try) and any(connect in walk(statement) for statement in owner.body)
    return False


def _stored_for_later(module: Module, function, name: str) -> bool:
    """The local client is put in a global, a cache or an attribute (it outlives the task that connected it)."""
    declared = {n for s in own_nodes(function) if isinstance(s, ast.Global) for n in s.names}
    for node in own_nodes(function):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id == name:
            for target in node.targets:
                if isinstance(target, (ast.Subscript, ast.Attribute)):
                    return True
                if isinstance(target, ast.Name) and target.id in declared:
                    return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
            "setdefault", "append", "__setitem__",
        ) and any(isinstance(a, ast.Name) and a.id == name for a in node.args):
            return True
    return False


RULE.cases(
    valid=[
        Valid(
            "from agents import Agent, Runner\nfrom agents.mcp import MCPServerStreamableHttp\n"
            "from chatkit.agents import stream_agent_response\n\nclass S:\n"
            "    async def respond(self, thread, item, context):\n"
            "        async with MCPServerStreamableHttp(params={'url': URL}) as server:\n"
            "            agent = Agent(name='a', mcp_servers=[server])\n"
            "            result = Runner.run_streamed(agent, 'x', context=ctx)\n"
            "            async for event in stream_agent_response(ctx, result):\n                yield event\n"
            "        yield 'done'\n",
            filename="server.py", name="loop inside",
        ),
        Valid(
            # mohsinmirzamaad/evolution-of-todo: a fresh client per request from a factory
            {
                "agent/agent.py": "from agents.mcp.server import MCPServerStdio\n\n"
                "def _create_mcp_server() -> MCPServerStdio:\n    return MCPServerStdio(params={'command': 'uv'})\n",
                "app/chatkit_server.py": "from agents import Runner\nfrom chatkit.agents import stream_agent_response\n"
                "from agent.agent import _create_mcp_server\n\nclass S:\n"
                "    async def respond(self, thread, item, context):\n        mcp_server = _create_mcp_server()\n"
                "        agent = make_agent(mcp_server)\n        async with mcp_server:\n"
                "            result = Runner.run_streamed(agent, input=[])\n"
                "            async for event in stream_agent_response(ctx, result):\n                yield event\n",
                "pyproject.toml": "[project]\nname = 'x'\n",
            },
            name="fresh client from a factory",
        ),
        Valid(
            # the experiments' app_mcp.py
            "import contextlib\nfrom agents.mcp import MCPServerStreamableHttp\nfrom fastapi import FastAPI\n\n"
            "mcp_server = MCPServerStreamableHttp(params={'url': URL})\n\n@contextlib.asynccontextmanager\n"
            "async def lifespan(app):\n    await mcp_server.connect()\n    try:\n        yield\n    finally:\n"
            "        await mcp_server.cleanup()\n\napp = FastAPI(lifespan=lifespan)\n",
            filename="app_mcp.py", name="lifespan connect and cleanup",
        ),
        Valid(
            "import asyncio\nfrom agents import Agent, Runner\nfrom agents.mcp import MCPServerStdio\n\n"
            "server = MCPServerStdio(params={'command': 'npx'})\n\nasync def main():\n    async with server:\n"
            "        print(await Runner.run(Agent(name='a', mcp_servers=[server]), 'hi'))\n\nasyncio.run(main())\n",
            filename="script.py", name="script main",
        ),
        Valid(
            "from agents import Agent, Runner\nfrom agents.mcp import MCPServerSse\n\nasync def ask(q):\n"
            "    server = MCPServerSse(params={'url': URL})\n    await server.connect()\n    try:\n"
            "        return await Runner.run(Agent(name='a', mcp_servers=[server]), q)\n    finally:\n"
            "        await server.cleanup()\n",
            filename="ask.py", name="per-call connect and cleanup",
        ),
        Valid(
            "from agents import Agent, Runner\nfrom agents.mcp import MCPServerStreamableHttp\n\nasync def ask(q):\n"
            "    async with MCPServerStreamableHttp(params={'url': URL}) as server:\n"
            "        result = await Runner.run(Agent(name='a', mcp_servers=[server]), q)\n    return result.final_output\n",
            filename="ask2.py", name="completed run used after the block",
        ),
        Valid(
            "from agents import Agent, Runner\nfrom agents.mcp import MCPServerStdio\n\nasync def ask(q):\n"
            "    async with MCPServerStdio(params={'command': 'npx'}) as server:\n"
            "        result = Runner.run_streamed(Agent(name='a', mcp_servers=[server]), q)\n"
            "        async for event in result.stream_events():\n            print(event)\n"
            "    return result.final_output\n",
            filename="ask3.py", name="stream read to its end inside the block",
        ),
        Valid(
            "from agents import Agent, Runner\nfrom agents.mcp import MCPServerSse\n\n"
            "async def tutor(question, url):\n    if url:\n"
            "        async with MCPServerSse(params={'url': url}) as tools:\n"
            "            agent = Agent(name='tutor', mcp_servers=[tools])\n"
            "            result = Runner.run_streamed(agent, question)\n"
            "            async for event in result.stream_events():\n                yield event\n"
            "    else:\n        agent = Agent(name='tutor')\n        result = Runner.run_streamed(agent, question)\n"
            "        async for event in result.stream_events():\n            yield event\n",
            filename="tutor.py", name="the branch without MCP runs its own agent",
        ),
        Valid(
            "from agents.mcp import MCPServerStdio\n\nnotes = MCPServerStdio(params={'command': 'npx'})\n\n"
            "async def ensure_notes():\n    try:\n        if notes.session is None:\n            await notes.connect()\n"
            "    except Exception:\n        await notes.cleanup()\n        raise\n",
            filename="notes.py", name="shared client connected once by the first request, closed only when that connect fails",
        ),
    ],
    invalid=[
        Edited(
            "from agents import Agent, Runner\nfrom agents.mcp import MCPServerStreamableHttp\n"
            "from chatkit.agents import stream_agent_response\n\nclass S:\n"
            "    async def respond(self, thread, item, context):\n"
            "        async with MCPServerStreamableHttp(params={'url': URL}) as server:\n"
            "            agent = Agent(name='a', mcp_servers=[server])\n"
            "            result = Runner.run_streamed(agent, 'x', context=ctx)\n"
            "        # stream\n"
            "        async for event in stream_agent_response(ctx, result):\n            yield event\n",
            ("        # stream\n"
             "        async for event in stream_agent_response(ctx, result):\n"
             "            yield event\n",
             "            # stream\n"
             "            async for event in stream_agent_response(ctx, result):\n"
             "                yield event\n"),
            filename="server.py", name="loop after the block", findings=[(11, 9, "the agent's stream is consumed after `async with`")],
        ),
        Edited(
            "from agents import Agent, Runner as R\nfrom agents.mcp import MCPServerStdio\n\n"
            "async def events(q):\n    server = MCPServerStdio(params={'command': 'npx'})\n    async with server:\n"
            "        run = R.run_streamed(Agent(name='a', mcp_servers=[server]), q)\n"
            "        stream = run.stream_events()\n    async for e in stream:\n        yield e\n",
            ("    async for e in stream:\n"
             "        yield e\n",
             "        async for e in stream:\n"
             "            yield e\n"),
            filename="events.py", name="async with name, stream_events", findings=[(9, 5, "the agent's stream is consumed after `async with`")],
        ),
        Invalid(
            "from agents import Agent, Runner\nfrom agents.mcp import MCPServerStreamableHttp\n\nasync def stream(q):\n"
            "    async with MCPServerStreamableHttp(params={'url': URL}) as s:\n"
            "        return Runner.run_streamed(Agent(name='a', mcp_servers=[s]), q)\n",
            None, filename="stream.py", name="stream returned out of the block", findings=[(6, 9, "the stream is returned out of `async with` (s)")],
        ),
        Invalid(
            # billy-pk/evolution-of-todo-ai-chatbot: a singleton getter, a factory returning (agent, server)
            {
                "backend/services/agent.py": "from agents import Agent\nfrom agents.mcp import MCPServerStreamableHttp\n\n"
                "_mcp_server = None\n\nasync def get_mcp_server():\n    global _mcp_server\n    if _mcp_server is None:\n"
                "        _mcp_server = MCPServerStreamableHttp(name='t', params={'url': URL})\n    return _mcp_server\n\n"
                "async def create_task_agent(user_id):\n    server = await get_mcp_server()\n"
                "    agent = Agent(name='T', mcp_servers=[server])\n    return agent, server\n",
                "backend/services/chatkit_server.py": "from agents import Runner\nfrom chatkit.agents import stream_agent_response\n\n"
                "class S:\n    async def respond(self, thread, input, context):\n"
                "        from services.agent import create_task_agent\n"
                "        agent, mcp_server = await create_task_agent(context['user_id'])\n"
                "        async with mcp_server:\n            result = Runner.run_streamed(agent, input='x')\n"
                "            async for event in stream_agent_response(ctx, result):\n                yield event\n",
                "backend/main.py": "app = None\n",
            },
            None, findings=[("backend/services/chatkit_server.py", 8, 9, "`async with mcp_server` opens and closes a client shared by every request")], name="shared singleton entered per request",
        ),
        Invalid(
            "from agents.mcp import MCPServerStreamableHttp\n\n_clients = {}\n\nasync def client_for(user_id):\n"
            "    if user_id not in _clients:\n        client = MCPServerStreamableHttp(params={'url': URL})\n"
            "        await client.connect()\n        _clients[user_id] = client\n    return _clients[user_id]\n\n"
            "async def close_all():\n    for client in _clients.values():\n        await client.cleanup()\n",
            None, filename="cache.py", name="per-user cache connected in a request task", findings=[(8, 9, "`client` is connected inside a request task and kept for later requests")],
        ),
        Invalid(
            "from agents.mcp import MCPServerStreamableHttp\n\n_clients = {}\n_pool = []\n\nasync def client_for(user_id):\n"
            "    client = MCPServerStreamableHttp(params={'url': URL})\n"
            "    await client.connect()\n    return _clients.setdefault(user_id, client)\n\n"
            "async def pooled():\n    client = MCPServerStreamableHttp(params={'url': URL})\n"
            "    await client.connect()\n    _pool.append(client)\n    return client\n",
            None, filename="cache.py", name="kept by setdefault and by append",
            findings=[
                (8, 5, "`client` is connected inside a request task and kept for later requests"),
                (13, 5, "`client` is connected inside a request task and kept for later requests"),
            ],
        ),
        Invalid(
            "from agents.mcp import MCPServerStreamableHttp\n\nclass Tools:\n    def __init__(self):\n"
            "        self.server = MCPServerStreamableHttp(params={'url': URL})\n\n    async def handle(self, q):\n"
            "        await self.server.connect()\n        try:\n            return await run(self.server, q)\n"
            "        finally:\n            await self.server.cleanup()\n",
            None, filename="tools.py", name="attribute connected and cleaned per call", findings=[(8, 9, "`self.server` is shared by every request but connected")],
        ),
        Invalid(
            "from agents.mcp import MCPServerStdio\n\nclass Sessions:\n    def __init__(self):\n        self._servers = {}\n\n"
            "    async def open(self, session_id, dsn):\n        server = MCPServerStdio(params={'command': 'pg-mcp', 'args': [dsn]})\n"
            "        await server.__aenter__()\n        self._servers[session_id] = server\n\n"
            "    async def close(self, session_id):\n        server = self._servers.pop(session_id)\n"
            "        await server.__aexit__(None, None, None)\n",
            None, filename="sessions.py", name="entered by hand in one request, exited in another",
            findings=[(9, 9, "`server` is connected inside a request task and kept for later requests")],
        ),
        Invalid(
            "from fastapi import FastAPI\nfrom agents.mcp import MCPServerStdio\n\nnotes = MCPServerStdio(params={'command': 'npx'})\n"
            "app = FastAPI()\n\nasync def ensure_notes():\n    if notes.session is None:\n        await notes.connect()\n\n"
            "@app.on_event('shutdown')\nasync def close_notes():\n    await notes.cleanup()\n",
            None, filename="notes.py", name="connected once by a request, cleaned up by the shutdown task",
            findings=[(9, 9, "`notes` is a shared MCP client connected inside a request task")],
        ),
    ],
)
