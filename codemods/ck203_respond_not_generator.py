"""`respond()` must be an async generator that yields the events of a *streamed* run.

## Why
ChatKit iterates `respond(...)` with `async for`. An `async def respond` that `return`s a stream (no `yield` in
it) hands ChatKit a coroutine, and the response stream ends with an `error` event `stream.error`; the server log
says `TypeError: 'async for' requires an object with __aiter__ method, got coroutine`. A plain `def respond` that
returns `stream_agent_response(...)` works; an `async def` never does.

`stream_agent_response(context, result)` needs the `RunResultStreaming` of `Runner.run_streamed(...)`. Given the
`RunResult` of `await Runner.run(...)` it fails the same way:
`AttributeError: 'RunResult' object has no attribute 'stream_events'`.

## Wrong
```python
class MyServer(ChatKitServer[dict]):
    async def respond(self, thread, input_user_message, context):
        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)
        result = await Runner.run(agent, items, context=agent_context)
        return stream_agent_response(agent_context, result)
```

## Right
```python
class MyServer(ChatKitServer[dict]):
    async def respond(self, thread, input_user_message, context):
        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)
        result = Runner.run_streamed(agent, items, context=agent_context)   # not awaited
        async for event in stream_agent_response(agent_context, result):
            yield event
```
The fix turns each `return <stream>` into `async for event in <stream>: yield event` and an awaited `Runner.run`
whose result is streamed into `Runner.run_streamed` without `await`.
"""

from __future__ import annotations

import ast
from functools import partial

from chatkit_fix.analysis.server import (
    argument,
    fresh_name,
    has_yield,
    is_run,
    methods,
    origin,
    respond_methods,
    stream_calls,
    walk_scope,
)
from chatkit_fix.codemods._cases import OFFICIAL_RESPOND, Edited
from chatkit_fix.findings import Safety
from chatkit_fix.pyast import walk
from chatkit_fix.rules import Valid, rule

RULE = rule(
    code="CK203",
    slug="respond-not-generator",
    safety=Safety.SAFE,
    summary="respond() must yield the events of Runner.run_streamed, not return a stream or stream a RunResult",
    url="https://openai.github.io/chatkit-python/guides/respond-to-user-message/",
    triggers=((b"ChatKitServer", b"return"), (b"stream_agent_response", b".run")),
    module=__name__,
    explanation=__doc__,
)


@RULE.check
def check(ctx):
    yield from _returning_responds(ctx)
    yield from _streamed_run_results(ctx)


# ---- async def respond(...): return <stream> ---------------------------------------------------------------------


def _returning_responds(ctx):
    for respond in respond_methods(ctx):
        func = respond.func
        if not isinstance(func, ast.AsyncFunctionDef) or has_yield(func):
            continue
        returns = [n for n in walk_scope(func) if isinstance(n, ast.Return) and n.value is not None
                   and not (isinstance(n.value, ast.Constant) and n.value.value is None)]
        if not returns:
            continue
        variable = fresh_name(func, "event")
        yield ctx.finding(
            ctx.header_span(func),
            "async def respond() returns a stream instead of yielding events: ChatKit gets a coroutine and the "
            "stream ends with stream.error (TypeError: 'async for' requires an object with __aiter__ method, "
            "got coroutine)",
            fix=partial(_loop_edits, ctx, respond.cls, func, returns, variable),
            hint=f"async for {variable} in <stream>: yield {variable}",
        )


def _loop_edits(ctx, cls: ast.ClassDef, func: ast.AsyncFunctionDef, returns: list[ast.Return], variable: str) -> list:
    """Each `return <stream>` as a loop yielding its events (a lazy fix)."""
    return [_loop_edit(ctx, cls, func, statement, variable) for statement in returns]


def _loop_edit(ctx, cls: ast.ClassDef, func: ast.AsyncFunctionDef, statement: ast.Return, variable: str):
    value = statement.value
    indent = ctx.source.indentation(ctx.line_of(statement))
    text = ctx.segment(value)
    if isinstance(value, (ast.List, ast.Tuple)):
        loop = f"for {variable} in {text}:"
    elif _is_coroutine_method(cls, value):
        loop = f"async for {variable} in await {text}:"
    else:
        loop = f"async for {variable} in {text}:"
    unit = "\t" if "\t" in indent else "    "
    lines = [loop, f"{indent}{unit}yield {variable}"]
    if statement is not func.body[-1]:
        lines.append(f"{indent}return")
    return ctx.replace(statement, "\n".join(lines))


def _is_coroutine_method(cls: ast.ClassDef, value: ast.expr) -> bool:
    """`self.helper(...)` where `helper` is an `async def` without `yield`: calling it gives a coroutine."""
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)):
        return False
    if not (isinstance(value.func.value, ast.Name) and value.func.value.id == "self"):
        return False
    for method in methods(cls):
        if method.name == value.func.attr:
            return isinstance(method, ast.AsyncFunctionDef) and not has_yield(method)
    return False


# ---- stream_agent_response(ctx, await Runner.run(...)) -------------------------------------------------------------


def _streamed_run_results(ctx):
    reported: set[int] = set()
    for stream in stream_calls(ctx):
        result = argument(stream, 1, "result")
        if result is None:
            continue
        value = origin(ctx, result) if isinstance(result, ast.Name) else result
        run = value.value if isinstance(value, ast.Await) else value
        if not is_run(ctx, run) or id(run) in reported:
            if isinstance(value, ast.Await) and _returns_run_result(ctx, value.value) and id(value) not in reported:
                reported.add(id(value))
                yield ctx.finding(
                    ctx.header_span(stream),
                    "stream_agent_response() gets a RunResult (from a function that awaits Runner.run): it has no "
                    "stream_events and the stream ends with stream.error",
                    fix=ctx.todo(stream, "build the run with Runner.run_streamed(agent, input, context=...) "
                                         "(not awaited) and stream that result"),
                    complete=False,
                    hint="stream the result of Runner.run_streamed(...)",
                )
            continue
        reported.add(id(run))
        anchor = value if isinstance(value, ast.Await) else run
        message = (
            "stream_agent_response() gets the RunResult of Runner.run(...): it has no stream_events and the stream "
            "ends with stream.error (AttributeError: 'RunResult' object has no attribute 'stream_events')"
        )
        if not isinstance(run.func, ast.Attribute):
            yield ctx.finding(ctx.header_span(anchor), message, fix=ctx.todo(anchor, "use Runner.run_streamed(...) "
                              "without await and stream its result"), complete=False,
                              hint="Runner.run_streamed(...), not awaited")
            continue
        start = ctx.span(anchor)[0]
        end = ctx.span(run.func)[1]
        replacement = ctx.segment(run.func.value) + ".run_streamed"
        yield ctx.finding(
            ctx.header_span(anchor),
            message,
            fix=ctx.replace((start, end), replacement),
            hint="use Runner.run_streamed(...) without await",
        )


def _returns_run_result(ctx, call: ast.expr) -> bool:
    """A call to a function of this module annotated `-> RunResult` or returning `await Runner.run(...)`."""
    if not isinstance(call, ast.Call):
        return False
    name = call.func.attr if isinstance(call.func, ast.Attribute) else call.func.id if isinstance(call.func, ast.Name) else None
    if name is None:
        return False
    for node in walk(ctx.tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            if node.returns is not None and ctx.refers_to(node.returns, "agents", "RunResult"):
                return True
            for statement in walk_scope(node):
                if isinstance(statement, ast.Return) and statement.value is not None:
                    returned = origin(ctx, statement.value, node) if isinstance(statement.value, ast.Name) else statement.value
                    if isinstance(returned, ast.Await) and is_run(ctx, returned.value):
                        return True
    return False


RULE.cases(
    valid=[
        Valid(OFFICIAL_RESPOND, filename="app.py", name="official shape"),
        Valid(
            "from chatkit.server import ChatKitServer\n"
            "from chatkit.agents import stream_agent_response\n\n\n"
            "class PlainReturn(ChatKitServer[dict]):\n"
            "    def respond(self, thread, item, context):\n"
            "        ctx, result = run_agent(self, thread, context)\n"
            "        return stream_agent_response(ctx, result)\n",
            filename="server.py",
            name="plain def returning the stream works",
        ),
        Valid(
            "from agents import Runner\n\n\n"
            "class Titler:\n"
            "    async def respond(self, agent, text):\n"
            "        result = await Runner.run(agent, text)\n"
            "        return result.final_output\n",
            filename="title.py",
            name="not a ChatKitServer",
        ),
        Valid(
            "from chatkit.server import ChatKitServer\n\n\n"
            "class Server(ChatKitServer):\n"
            "    async def respond(self, thread, input, context):\n"
            "        if input is None:\n"
            "            return\n"
            "        yield make_event(input)\n",
            filename="server.py",
            name="bare return in a generator",
        ),
    ],
    invalid=[
        Edited(
            "from agents import Runner\n"
            "from chatkit.agents import AgentContext, stream_agent_response\n"
            "from chatkit.server import ChatKitServer\n\n\n"
            "class TodoServer(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input_user_message, context):\n"
            "        agent_ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
            "        result = Runner.run_streamed(agent, 'hi', context=agent_ctx)\n"
            "        return stream_agent_response(agent_ctx, result)\n",
            ("        return stream_agent_response(agent_ctx, result)\n",
             "        async for event in stream_agent_response(agent_ctx, result):\n"
             "            yield event\n"),
            filename="app/chatkit_server.py",
            findings=[(7, 5, "async def respond() returns a stream instead of yielding events")],
            name="async def returning the stream",
        ),
        Edited(
            "import chatkit.server as cks\n"
            "from chatkit.agents import stream_agent_response as sar\n\n\n"
            "class Bot(cks.ChatKitServer['RequestContext']):\n"
            "    async def respond(self, thread, item, context):\n"
            "        event = None\n"
            "        if item is None:\n"
            "            return self.empty_stream()\n"
            "        return sar(\n"
            "            self.ctx_for(thread, context),\n"
            "            self.run(item),\n"
            "        )\n",
            ("            return self.empty_stream()\n"
             "        return sar(\n",
             "            async for _event in self.empty_stream():\n"
             "                yield _event\n"
             "            return\n"
             "        async for _event in sar(\n"),
            ("        )\n",
             "        ):\n"
             "            yield _event\n"),
            filename="server.py",
            findings=[(6, 5, "async def respond() returns a stream instead of yielding events")],
            name="module import, two returns, multi-line call, name taken",
        ),
        Edited(
            "from agents.run import Runner as R\n"
            "from chatkit.server import ChatKitServer\n\n\n"
            "class SupportServer(ChatKitServer):\n"
            "    async def respond(self, thread, user_message, context):\n"
            "        from chatkit.agents import AgentContext, stream_agent_response\n"
            "        agent_ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
            "        result = await R.run(\n"
            "            support_agent,\n"
            "            'hello',\n"
            "            context=agent_ctx,\n"
            "        )\n"
            "        async for event in stream_agent_response(agent_ctx, result):\n"
            "            yield event\n",
            ("        result = await R.run(\n",
             "        result = R.run_streamed(\n"),
            filename="services/chatkit_server.py",
            findings=[(9, 18, "stream_agent_response() gets the RunResult of Runner.run(...)")],
            name="awaited Runner.run streamed, aliased and lazy imports",
        ),
        Edited(
            "import agents\n"
            "from chatkit.server import ChatKitServer\n"
            "from chatkit.agents import stream_agent_response\n\n\n"
            "class S(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input, context):\n"
            "        async for e in stream_agent_response(self.agent_ctx(thread, context), await agents.Runner.run(self.agent, 'x')):\n"
            "            yield e\n",
            ("        async for e in stream_agent_response(self.agent_ctx(thread, context), await agents.Runner.run(self.agent, 'x')):\n",
             "        async for e in stream_agent_response(self.agent_ctx(thread, context), agents.Runner.run_streamed(self.agent, 'x')):\n"),
            filename="main.py",
            findings=[(8, 79, "stream_agent_response() gets the RunResult of Runner.run(...)")],
            name="inline await, module import",
        ),
        Edited(
            "from agents import Runner, RunResult\n"
            "from chatkit.server import ChatKitServer\n"
            "from chatkit.agents import stream_agent_response\n\n\n"
            "async def run_agent(agent, text) -> RunResult:\n"
            "    return await Runner.run(agent, text)\n\n\n"
            "class S(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input, context):\n"
            "        result = await run_agent(self.agent, 'x')\n"
            "        async for e in stream_agent_response(self.ctx, result):\n"
            "            yield e\n",
            ("        result = await run_agent(self.agent, 'x')\n",
             "        result = await run_agent(self.agent, 'x')\n"
             "        # chatkit-fix: TODO[CK203] build the run with Runner.run_streamed(agent, input, context=...) (not awaited) and stream that result\n"),
            filename="main.py",
            findings=[(13, 24, "stream_agent_response() gets a RunResult")],
            name="helper annotated RunResult: TODO marker",
        ),
    ],
)
