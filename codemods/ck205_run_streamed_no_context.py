"""A run streamed through `stream_agent_response` must get the same `AgentContext` as `context=`.

## Why
`stream_agent_response(agent_context, result)` drains the events that tools push through
`ctx.context.stream(...)`, `stream_widget(...)`, workflows and client tool calls. Those tools reach the
`AgentContext` only when the run gets it: `Runner.run_streamed(agent, input, context=agent_context)`. Without
`context=` (or with the request context instead) `ctx.context` is `None` or the wrong object inside every tool, so
progress updates, widgets and client tools fail with `AttributeError` or never reach the UI.

## Wrong
```python
agent_context = AgentContext(thread=thread, store=self.store, request_context=context)
result = Runner.run_streamed(agent, agent_input)
async for event in stream_agent_response(agent_context, result):
    yield event
```

## Right
```python
agent_context = AgentContext(thread=thread, store=self.store, request_context=context)
result = Runner.run_streamed(agent, agent_input, context=agent_context)
async for event in stream_agent_response(agent_context, result):
    yield event
```
The fix passes the context that `stream_agent_response` gets; when that context is created after the run, its
assignment moves up above the run.
"""

from __future__ import annotations

import ast
from functools import partial

from chatkit_fix.analysis.server import (
    agent_context_of,
    all_origins,
    append_argument,
    argument,
    block_of,
    consumers_of_run,
    dotted,
    enclosing_function,
    flow_of,
    respond_methods,
    run_streamed_calls,
    scope_of,
    statement_of,
)
from chatkit_fix.codemods._cases import Edited
from chatkit_fix.findings import Safety
from chatkit_fix.pyast import walk
from chatkit_fix.rules import Valid, rule

RULE = rule(
    code="CK205",
    slug="run-streamed-no-context",
    safety=Safety.SAFE,
    summary="Runner.run_streamed consumed by stream_agent_response needs context=<the AgentContext>",
    url="https://openai.github.io/chatkit-python/guides/respond-to-user-message/",
    triggers=((b"run_streamed", b"stream_agent_response"),),
    module=__name__,
    explanation=__doc__,
)


@RULE.check
def check(ctx):
    for run in run_streamed_calls(ctx):
        streams = consumers_of_run(ctx, run)
        if not streams:
            continue
        agent_context = agent_context_of(streams[0])
        given = argument(run, 2, "context")
        if given is not None and not _is_request_context(ctx, run, given, agent_context):
            continue
        if given is None and _resumes(ctx, run):
            continue  # a RunState carries the context of the run it resumes
        if given is None and any(k.arg is None for k in run.keywords):
            continue  # **kwargs may carry it
        name = dotted(agent_context) if agent_context is not None else None
        message = (
            "Runner.run_streamed() without context=<AgentContext> while stream_agent_response() streams it: tools "
            "see no AgentContext, so ctx.context.stream(), widgets and client tools fail"
            if given is None else
            "Runner.run_streamed() gets the request context where the AgentContext is due: tools cannot stream "
            "progress, widgets or client tool calls"
        )
        if name is None:
            yield ctx.finding(ctx.header_span(run), message, fix=ctx.todo(run, "pass the AgentContext that "
                              "stream_agent_response gets as context= to Runner.run_streamed"), complete=False,
                              hint="context=<the AgentContext>")
            continue
        yield ctx.finding(ctx.header_span(run), message, fix=partial(_pass_context, ctx, run, agent_context, given, name),
                          hint=f"context={name}")


def _pass_context(ctx, run: ast.Call, agent_context: ast.AST, given: ast.AST | None, name: str):
    """The AgentContext created before the run and passed as context=; a TODO when its definition cannot move."""
    edits = _move_definition(ctx, run, agent_context)
    if edits is None:
        return ctx.todo(run, f"create {name} before the run and pass context={name}")
    if given is None:
        edits.append(append_argument(ctx, run, f"context={name}"))
    else:
        edits.append(ctx.replace(given, name))
    return edits


def _resumes(ctx, run: ast.Call) -> bool:
    """The input is a RunState (`result.to_state()`, `RunState.from_json(...)`): the run resumes a paused run, and
    the SDK reuses the state's own context wrapper when no context= is given."""
    values = all_origins(ctx, argument(run, 1, "input"))
    return bool(values) and all(_is_run_state(ctx, value) for value in values)


def _is_run_state(ctx, value: ast.AST) -> bool:
    if isinstance(value, ast.Await):
        value = value.value
    if not isinstance(value, ast.Call):
        return False
    func = value.func
    if isinstance(func, ast.Attribute) and func.attr == "to_state" and not value.args:
        return True  # RunResult.to_state()
    target = func.value if isinstance(func, ast.Attribute) else func
    return ctx.refers_to(target, "agents", "RunState")


def _is_request_context(ctx, run: ast.Call, given: ast.expr, agent_context: ast.expr | None) -> bool:
    """`context=context` where `context` is respond()'s request-context parameter and the stream gets another one."""
    if not isinstance(given, ast.Name) or dotted(agent_context or given) == given.id:
        return False
    func = enclosing_function(ctx, run)
    return any(r.func is func and r.context == given.id for r in respond_methods(ctx))


def _move_definition(ctx, run: ast.Call, agent_context: ast.expr) -> list | None:
    """No edit when the context exists before the run; edits moving its assignment above the run when it is
    created after it in the same block; None when neither can be done safely."""
    root = agent_context
    while isinstance(root, ast.Attribute):
        root = root.value
    if not isinstance(root, ast.Name):
        return None
    run_statement = statement_of(ctx, run)
    scope = scope_of(ctx, run)
    bindings = flow_of(ctx, scope).bindings.get(root.id, [])
    if not bindings:
        return []  # a parameter, a module-level name or an attribute of self
    run_line = ctx.line_of(run_statement)
    if any(ctx.line_of(b.node) < run_line for b in bindings):
        return []
    if len(bindings) != 1 or not isinstance(bindings[0].node, ast.Assign):
        return None
    definition = bindings[0].node
    block = block_of(ctx, run_statement)
    if block is None or not any(s is definition for s in block):
        return None
    start = next(i for i, s in enumerate(block) if s is run_statement)
    end = next(i for i, s in enumerate(block) if s is definition)
    assigned_between = set()
    for statement in block[start:end]:
        for node in walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                assigned_between.add(node.id)
    used = {n.id for n in walk(definition.value) if isinstance(n, ast.Name)}
    if used & assigned_between:
        return None
    first, _ = ctx.source.position(ctx.span(definition)[0])
    last, _ = ctx.source.position(ctx.span(definition)[1])
    while first > 1 and ctx.source.line_text(first - 1).strip().startswith("#"):
        first -= 1  # the comments that introduce the assignment move with it
    lines = "".join(ctx.source.line_text(n) + "\n" for n in range(first, last + 1))
    line_count = len(ctx.source.line_starts)
    cut_end = last + 1
    if first > 1 and not ctx.source.line_text(first - 1).strip() and cut_end <= line_count \
            and not ctx.source.line_text(cut_end).strip():
        cut_end += 1  # do not leave two blank lines behind
    end_offset = ctx.source.offset(cut_end, 0) if cut_end <= line_count else len(ctx.text)
    target_line = ctx.line_of(run_statement)
    while target_line > 1 and ctx.source.line_text(target_line - 1).strip().startswith("#"):
        target_line -= 1
    return [ctx.delete((ctx.source.offset(first, 0), end_offset)), ctx.insert(ctx.source.offset(target_line, 0), lines)]


RULE.cases(
    valid=[
        Valid(
            "from agents import Runner\n"
            "from chatkit.agents import stream_agent_response\n\n\n"
            "async def resume(agent, result, agent_context, approved):\n"
            "    state = result.to_state()\n"
            "    for item in approved:\n"
            "        state.approve(item)\n"
            "    pending = state\n"
            "    while True:\n"
            "        resumed = Runner.run_streamed(agent, pending)\n"
            "        async for event in stream_agent_response(agent_context, resumed):\n"
            "            yield event\n"
            "        if not resumed.interruptions:\n"
            "            break\n"
            "        pending = resumed.to_state()\n",
            filename="approvals.py",
            name="a run resumed from a RunState keeps its context",
        ),
        Valid(
            "from agents import Runner\n"
            "from chatkit.agents import AgentContext, stream_agent_response\n"
            "from chatkit.server import ChatKitServer\n\n\n"
            "class CatServer(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, item, context):\n"
            "        agent_context = CatAgentContext(thread=thread, store=self.store, request_context=context)\n"
            "        result = Runner.run_streamed(cat_agent, [], context=agent_context)\n"
            "        async for event in stream_agent_response(agent_context, result):\n"
            "            yield event\n",
            filename="app/server.py",
            name="AgentContext subclass passed",
        ),
        Valid(
            "from agents import Runner\n\n"
            "async def run(agent, text):\n"
            "    result = Runner.run_streamed(agent, text)\n"
            "    async for event in result.stream_events():\n"
            "        print(event)\n",
            filename="cli.py",
            name="not streamed to ChatKit",
        ),
        Valid(
            "from agents import Runner\n"
            "from chatkit.agents import stream_agent_response\n\n"
            "async def run(agent, text, agent_ctx, **options):\n"
            "    result = Runner.run_streamed(agent, text, **options)\n"
            "    async for event in stream_agent_response(agent_ctx, result):\n"
            "        yield event\n",
            filename="helpers.py",
            name="kwargs may carry the context",
        ),
    ],
    invalid=[
        Edited(
            "from agents import Runner\n"
            "from chatkit.agents import AgentContext, stream_agent_response\n"
            "from chatkit.server import ChatKitServer\n\n\n"
            "class TodoChatKitServer(ChatKitServer['RequestContext']):\n"
            "    async def respond(self, thread, input_user_message, context):\n"
            "        agent_context = AgentContext(\n"
            "            thread=thread,\n"
            "            store=self.store,\n"
            "            request_context=context,\n"
            "        )\n"
            "        async with server:\n"
            "            result = Runner.run_streamed(agent, input=items)\n"
            "            async for event in stream_agent_response(agent_context, result):\n"
            "                yield event\n",
            ("            result = Runner.run_streamed(agent, input=items)\n",
             "            result = Runner.run_streamed(agent, input=items, context=agent_context)\n"),
            filename="app/chatkit_server.py",
            findings=[(14, 22, "Runner.run_streamed() without context=<AgentContext>")],
            name="missing context",
        ),
        Edited(
            "from agents.run import Runner as AgentRunner\n"
            "from chatkit.server import ChatKitServer\n\n\n"
            "class AppChatKitServer(ChatKitServer):\n"
            "    async def respond(self, thread, input, context):\n"
            "        from chatkit.agents import stream_agent_response, AgentContext\n"
            "        async with make_server() as server:\n"
            "            agent = build(server)\n"
            "            # run it\n"
            "            result = AgentRunner.run_streamed(agent, input=text)\n\n"
            "            # the context\n"
            "            agent_context = AgentContext(\n"
            "                thread=thread, store=self.store, request_context=context\n"
            "            )\n\n"
            "            async for event in stream_agent_response(agent_context, result):\n"
            "                yield event\n",
            ("            # run it\n"
             "            result = AgentRunner.run_streamed(agent, input=text)\n"
             "\n",
             ""),
            ("            )\n",
             "            )\n"
             "            # run it\n"
             "            result = AgentRunner.run_streamed(agent, input=text, context=agent_context)\n"),
            filename="backend/app/chatkit_server.py",
            findings=[(11, 22, "Runner.run_streamed() without context=<AgentContext>")],
            name="context created after the run: moved up",
        ),
        Edited(
            "from agents import Runner\n"
            "from chatkit.agents import AgentContext, stream_agent_response\n"
            "from chatkit.server import ChatKitServer\n\n\n"
            "class Srv(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, user_message, context):\n"
            "        ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
            "        result = Runner.run_streamed(\n"
            "            self.agent,\n"
            "            items,\n"
            "            context=context,\n"
            "        )\n"
            "        async for event in stream_agent_response(ctx, result):\n"
            "            yield event\n",
            ("            context=context,\n",
             "            context=ctx,\n"),
            filename="server.py",
            findings=[(9, 18, "Runner.run_streamed() gets the request context where the AgentContext is due")],
            name="request context instead of the AgentContext",
        ),
        Edited(
            "from agents import Runner\n"
            "from chatkit.agents import stream_agent_response\n\n"
            "async def respond(agent, text, agent_ctx):\n"
            "    async for event in stream_agent_response(agent_ctx, Runner.run_streamed(\n"
            "        agent,\n"
            "        text,\n"
            "    )):\n"
            "        yield event\n",
            ("        text,\n",
             "        text,\n"
             "        context=agent_ctx,\n"),
            filename="stream.py",
            findings=[(5, 57, "Runner.run_streamed() without context=<AgentContext>")],
            name="inline run, trailing comma, parameter context",
        ),
    ],
)
