"""The loaded thread history already ends with the user message: do not append it again.

## Why
`ChatKitServer` stores the new user message (`thread.item.done`) *before* it calls `respond()`. So
`load_thread_items(thread.id, ...)` inside `respond()` already returns it as the newest item. Appending
`input_user_message` to the converted history again sends the question twice: the model answers a doubled prompt,
token use grows, and some models reply to "both" messages.

## Wrong
```python
page = await self.store.load_thread_items(thread.id, None, 20, "desc", context)
agent_input = await simple_to_agent_input(list(reversed(page.data)))
agent_input += await simple_to_agent_input(input_user_message)
```

## Right
```python
page = await self.store.load_thread_items(thread.id, None, 20, "desc", context)
agent_input = await simple_to_agent_input(list(reversed(page.data)))
```
The fix drops the second copy (the `append`/`extend`/`+=` statement, or the `+ [...]` operand). History that is
filtered or sliced to leave the current message out is not reported.
"""

from __future__ import annotations

import ast

from chatkit_fix.analysis.server import (
    LOG_METHODS,
    Provenance,
    argument,
    block_of,
    call_name,
    flow_of,
    is_none,
    is_run_streamed,
    remove_statement,
    respond_methods,
    statement_of,
    walk_scope,
)
from chatkit_fix.pyast import walk
from chatkit_fix.codemods._cases import Edited
from chatkit_fix.findings import Safety
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK212",
    slug="user-message-twice",
    safety=Safety.SAFE,
    summary="respond() loads the thread history (which holds the user message) and appends the message again",
    url="https://openai.github.io/chatkit-python/guides/respond-to-user-message/#load-thread-history-recommended-default",
    triggers=((b"ChatKitServer", b"load_thread_items"),),
    module=__name__,
    explanation=__doc__,
)

MESSAGE = (
    "the agent input gets {message} twice: the history loaded from the store already ends with it (ChatKit "
    "stores it before calling respond()), and it is added again here"
)


@RULE.check
def check(ctx):
    for respond in respond_methods(ctx):
        message = respond.message
        if message is None:
            continue
        flow = flow_of(ctx, respond.func)
        if flow.bindings.get(message):
            continue  # the parameter is reassigned: too clever to judge
        provenance = Provenance(ctx, respond.func)
        if _history_compared_with_message(respond.func, provenance, _loaded(respond), _current(message)):
            continue  # the history is filtered against the message, or the addition is guarded by such a test
        reported: set[int] = set()
        for run in walk_scope(respond.func):
            if not is_run_streamed(ctx, run):
                continue
            agent_input = argument(run, 1, "input")
            if agent_input is None:
                continue
            nodes, _ = flow.closure(agent_input)
            names = {n.id for n in nodes if isinstance(n, ast.Name)}
            seen: set[int] = set()
            for statement in walk_scope(respond.func):
                candidate = _statement_copy(flow, statement, names, message)
                if candidate is not None and id(statement) not in seen:
                    seen.add(id(statement))
                    target, exclude = candidate
                    if _is_whole_history(flow, target, message, exclude) and id(statement) not in reported:
                        reported.add(id(statement))
                        removal = remove_statement(ctx, statement)
                        yield _finding(ctx, statement, message, removal)
            for node in nodes:
                if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and id(node) not in seen:
                    statement = statement_of(ctx, node)
                    for keep, drop in ((node.left, node.right), (node.right, node.left)):
                        if _reaches(flow, drop, message) and _is_whole_history(flow, keep, message, (statement,)):
                            seen.add(id(node))
                            reported.add(id(statement))
                            yield _finding(ctx, node, message, _drop_operand(ctx, statement, node, keep))
                            break
        yield from _history_list_gets_message(ctx, respond, provenance, reported)


def _loaded(respond):
    """Whether a node loads the whole thread (not the items `after` some item). A store whose own signature puts
    the request context second (`load_thread_items(thread.id, context, limit=50)`) loads from the beginning too."""

    def test(node: ast.AST) -> bool:
        if not (isinstance(node, ast.Call) and call_name(node) == "load_thread_items"):
            return False
        after = argument(node, 1, "after")
        if after is None or is_none(after):
            return True
        return isinstance(after, ast.Name) and after.id == respond.context and not any(
            k.arg == "after" for k in node.keywords
        )

    return test


def _current(message: str):
    return lambda node: isinstance(node, ast.Name) and node.id == message


def _history_list_gets_message(ctx, respond, provenance, reported: set[int]):
    """A list that respond() fills from the loaded thread (any model gets it: a raw chat-completions call, a
    workflow, a project function) and then extends with the current message."""
    message = respond.message
    loaded, current = _loaded(respond), _current(message)
    for statement in walk_scope(respond.func):
        if id(statement) in reported or not isinstance(statement, ast.Expr):
            continue
        call = statement.value.value if isinstance(statement.value, ast.Await) else statement.value
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr in ("append", "extend", "insert")
            and isinstance(call.func.value, ast.Name)
        ):
            continue
        added = call.args[-1] if call.args else None
        if added is None or not provenance.depends(added, statement, current) or provenance.depends(added, statement, loaded):
            continue
        holder = call.func.value
        if not provenance.depends(holder, statement, loaded) or not _given_on(respond.func, holder.id, statement):
            continue
        removal = remove_statement(ctx, statement)
        if removal is not None and len(block_of(ctx, statement) or ()) == 1:
            removal = None  # the addition is all its block does: leave the block to the reader, not `pass`
        yield _finding(ctx, statement, message, removal)


def _history_compared_with_message(func: ast.AST, provenance, loaded, current) -> bool:
    """A comparison between the loaded items and the message (`item.id != input.id`, `text not in history`)."""
    for node in walk_scope(func):
        if not isinstance(node, ast.Compare):
            continue
        statement = node
        sides = [node.left, *node.comparators]
        from_history = [i for i, side in enumerate(sides) if provenance.depends(side, statement, loaded)]
        from_message = [i for i, side in enumerate(sides) if provenance.depends(side, statement, current)]
        if any(h != m for h in from_history for m in from_message):
            return True  # one side from the thread, another from the message
    return False


def _given_on(func: ast.AST, name: str, after: ast.stmt) -> bool:
    """The list is handed to a call after the addition (a model, a workflow, a helper), not only counted or logged."""
    for node in walk_scope(func):
        if not isinstance(node, ast.Call) or (node.lineno, node.col_offset) <= (after.lineno, after.col_offset):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in ("len", "bool", "print", "isinstance"):
            continue
        if isinstance(node.func, ast.Attribute) and node.func.attr in LOG_METHODS:
            continue
        for value in [*node.args, *(k.value for k in node.keywords)]:
            if any(isinstance(n, ast.Name) and n.id == name for n in walk(value)):
                return True
    return False


def _drop_operand(ctx, statement, node: ast.BinOp, keep: ast.expr):
    """`x = x + [message]` loses the statement; anywhere else the sum becomes its history operand."""
    if (
        isinstance(statement, ast.Assign)
        and statement.value is node
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], ast.Name)
        and isinstance(keep, ast.Name)
        and keep.id == statement.targets[0].id
    ):
        return remove_statement(ctx, statement)
    return ctx.replace(node, ctx.segment(keep))


def _finding(ctx, anchor: ast.AST, message: str, fix):
    text = MESSAGE.format(message=message)
    if fix is None:
        return ctx.finding(ctx.header_span(anchor), text, fix=ctx.todo(anchor, f"drop the second copy of {message}"),
                           complete=False, hint=f"drop the second copy of {message}")
    return ctx.finding(ctx.header_span(anchor), text, fix=fix, hint=f"drop the second copy of {message}")


def _statement_copy(flow, statement: ast.AST, names: set[str], message: str):
    """(the list that receives the message, the statement to leave out of its history) for `x.append(message...)`,
    `x.extend(...)`, `x.insert(...)` or `x += ...` on a list that becomes the agent input."""
    if isinstance(statement, ast.Expr):
        call = statement.value.value if isinstance(statement.value, ast.Await) else statement.value
        if (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr in ("append", "extend", "insert")
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id in names
            and any(_reaches(flow, arg, message) for arg in call.args)
        ):
            return call.func.value, ()
    if (
        isinstance(statement, ast.AugAssign)
        and isinstance(statement.op, ast.Add)
        and isinstance(statement.target, ast.Name)
        and statement.target.id in names
        and _reaches(flow, statement.value, message)
    ):
        return ast.Name(id=statement.target.id, ctx=ast.Load()), (statement,)
    return None


def _reaches(flow, expr: ast.AST, message: str) -> bool:
    _, params = flow.closure(expr)
    return message in params


def _is_whole_history(flow, expr: ast.AST, message: str, exclude: tuple = ()) -> bool:
    """`expr` holds the loaded thread items (a load_thread_items page) and nothing derived from the message: the
    history is not filtered, sliced or loaded `after` something."""
    nodes, params = flow.closure(expr, exclude=exclude)
    if message in params:
        return False
    loads = [n for n in nodes if isinstance(n, ast.Call) and call_name(n) == "load_thread_items"]
    if not loads:
        return False
    for load in loads:
        after = argument(load, 1, "after")
        if after is not None and not is_none(after):
            return False
    for node in nodes:
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
            return False
        if isinstance(node, (ast.ListComp, ast.GeneratorExp)) and any(c.ifs for c in node.generators):
            return False
    return True


_HEAD = (
    "from agents import Runner\n"
    "from chatkit.agents import AgentContext, simple_to_agent_input, stream_agent_response\n"
    "from chatkit.server import ChatKitServer\n\n\n"
)

RULE.cases(
    valid=[
        Valid(
            "from chatkit.server import ChatKitServer\n\n\n"
            "class GuardedServer(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, item, context):\n"
            "        page = await self.store.load_thread_items(thread.id, None, 50, 'desc', context)\n"
            "        messages = []\n"
            "        for stored in reversed(page.data):\n"
            "            messages.append({'id': stored.id, 'content': stored.content})\n"
            "        if item.id not in [m['id'] for m in messages]:\n"
            "            messages.append({'id': item.id, 'content': item.content})\n"
            "        yield await self.model.answer(messages)\n",
            filename="server.py",
            name="the addition is guarded by an id-not-in-history test",
        ),
        Valid(
            _HEAD + "class AgentServer(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input_user_message, context):\n"
            "        page = await self.store.load_thread_items(thread.id, None, 20, 'desc', context)\n"
            "        agent_input = await simple_to_agent_input(list(reversed(page.data)))\n"
            "        ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
            "        result = Runner.run_streamed(agent, agent_input, context=ctx)\n"
            "        async for event in stream_agent_response(ctx, result):\n"
            "            yield event\n",
            filename="app.py",
            name="official shape",
        ),
        Valid(
            _HEAD + "class S(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, user_message, context):\n"
            "        page = await self.store.load_thread_items(thread.id, None, 20, 'desc', context)\n"
            "        history = [i for i in reversed(page.data) if i.id != user_message.id]\n"
            "        agent_input = await simple_to_agent_input(history)\n"
            "        agent_input += await simple_to_agent_input(user_message)\n"
            "        result = Runner.run_streamed(agent, agent_input, context=self.ctx)\n"
            "        async for event in stream_agent_response(self.ctx, result):\n"
            "            yield event\n",
            filename="server.py",
            name="history filtered to leave the message out",
        ),
        Valid(
            _HEAD + "class S(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, item, context):\n"
            "        agent_input = [profile_item(thread)]\n"
            "        agent_input += await simple_to_agent_input(item)\n"
            "        result = Runner.run_streamed(agent, agent_input, context=self.ctx)\n"
            "        async for event in stream_agent_response(self.ctx, result):\n"
            "            yield event\n",
            filename="server.py",
            name="no history loaded",
        ),
    ],
    invalid=[
        Edited(
            "from chatkit.server import ChatKitServer\n\n\n"
            "class ChatServer(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input_user_message, context):\n"
            "        messages = [{'role': 'system', 'content': PROMPT}]\n"
            "        page = await self.store.load_thread_items(thread_id=thread.id, after=None, limit=50, order='desc',\n"
            "                                                  context=context)\n"
            "        for item in reversed(page.data):\n"
            "            parts = []\n"
            "            for part in item.content:\n"
            "                parts.append(part.text)\n"
            "            messages.append({'role': 'user' if item.type == 'user_message' else 'assistant',\n"
            "                             'content': ' '.join(parts)})\n"
            "        parts = []\n"
            "        for part in input_user_message.content:\n"
            "            parts.append(part.text)\n"
            "        messages.append({'role': 'user', 'content': ' '.join(parts)})\n"
            "        if len(messages) <= 1:\n"
            "            return\n"
            "        stream = await client.chat.completions.create(model=MODEL, messages=messages, stream=True)\n"
            "        async for chunk in stream:\n"
            "            yield self.event_for(chunk)\n",
            ("        messages.append({'role': 'user', 'content': ' '.join(parts)})\n", ""),
            filename="app/chat_server.py",
            findings=[(18, 9, "the agent input gets input_user_message twice")],
            name="a chat-completions message list built from the thread, then the message again",
        ),
        Invalid(
            "from chatkit.server import ChatKitServer\n\n\n"
            "class ReviewServer(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input_user_message, context):\n"
            "        text = ''\n"
            "        for part in input_user_message.content:\n"
            "            text += part.text\n"
            "        history = []\n"
            "        for item in await self.store.load_thread_items(thread.id, context, limit=50):\n"
            "            history.append({'role': item.role, 'content': item.text})\n"
            "        if text:\n"
            "            history.append({'role': 'user', 'content': text})\n"
            "        result = await run_workflow(WorkflowInput(text=text, history=history))\n"
            "        yield self.reply(result)\n",
            "from chatkit.server import ChatKitServer\n\n\n"
            "class ReviewServer(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input_user_message, context):\n"
            "        text = ''\n"
            "        for part in input_user_message.content:\n"
            "            text += part.text\n"
            "        history = []\n"
            "        for item in await self.store.load_thread_items(thread.id, context, limit=50):\n"
            "            history.append({'role': item.role, 'content': item.text})\n"
            "        if text:\n"
            "            # chatkit-fix: TODO[CK212] drop the second copy of input_user_message\n"
            "            history.append({'role': 'user', 'content': text})\n"
            "        result = await run_workflow(WorkflowInput(text=text, history=history))\n"
            "        yield self.reply(result)\n",
            filename="chatkit_server.py",
            findings=[(13, 13, "the agent input gets input_user_message twice")],
            name="a workflow's history list, a store that takes context second (TODO: the addition is its block)",
        ),
        Edited(
            _HEAD + "class TodoServer(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input_user_message, context):\n"
            "        page = await self.store.load_thread_items(thread.id, None, 20, 'desc', context)\n"
            "        agent_input = await simple_to_agent_input(list(reversed(page.data)))\n"
            "        if input_user_message is not None:\n"
            "            agent_input.extend(await simple_to_agent_input(input_user_message))\n"
            "        ctx = AgentContext(thread=thread, store=self.store, request_context=context)\n"
            "        result = Runner.run_streamed(agent, agent_input, context=ctx)\n"
            "        async for event in stream_agent_response(ctx, result):\n"
            "            yield event\n",
            ("            agent_input.extend(await simple_to_agent_input(input_user_message))\n",
             "            pass\n"),
            filename="app/chatkit_server.py",
            findings=[(11, 13, "the agent input gets input_user_message twice")],
            name="extend",
        ),
        Edited(
            "from agents.run import Runner as R\n"
            "from chatkit.server import ChatKitServer\n\n\n"
            "class Bot(ChatKitServer['Ctx']):\n"
            "    async def respond(self, thread, item, context):\n"
            "        from chatkit.agents import simple_to_agent_input, stream_agent_response\n"
            "        items = (await self.store.load_thread_items(thread.id, None, 30, 'desc', context)).data\n"
            "        items.reverse()\n"
            "        items.append(item)\n"
            "        result = R.run_streamed(self.agent, await simple_to_agent_input(items), context=self.ctx)\n"
            "        async for event in stream_agent_response(self.ctx, result):\n"
            "            yield event\n",
            ("        items.append(item)\n",
             ""),
            filename="bot.py",
            findings=[(10, 9, "the agent input gets item twice")],
            name="thread item appended before conversion, aliases",
        ),
        Edited(
            _HEAD + "class ChatbotServer(ChatKitServer['RequestContext']):\n"
            "    async def respond(self, thread, input_message, context):\n"
            "        items_page = await self.store.load_thread_items(thread.id, after=None, limit=20, order='desc',\n"
            "                                                        context=context)\n"
            "        input_items = list(reversed(items_page.data))\n"
            "        if input_message:\n"
            "            input_items = input_items + [input_message]\n"
            "        converted = await simple_to_agent_input(input_items)\n"
            "        result = Runner.run_streamed(agent, converted, context=self.ctx)\n"
            "        async for event in stream_agent_response(self.ctx, result):\n"
            "            yield event\n",
            ("            input_items = input_items + [input_message]\n",
             "            pass\n"),
            filename="app/server/chatbot_server.py",
            findings=[(12, 27, "the agent input gets input_message twice")],
            name="items = items + [message] after loading",
        ),
        Edited(
            _HEAD + "class S(ChatKitServer):\n"
            "    async def respond(self, thread, user_message, context):\n"
            "        page = await self.store.load_thread_items(thread.id, None, 20, 'desc', context)\n"
            "        history = await simple_to_agent_input(list(reversed(page.data)))\n"
            "        result = Runner.run_streamed(\n"
            "            agent,\n"
            "            history + [{'role': 'user', 'content': user_message.content[0].text}],\n"
            "            context=self.ctx,\n"
            "        )\n"
            "        async for event in stream_agent_response(self.ctx, result):\n"
            "            yield event\n",
            ("            history + [{'role': 'user', 'content': user_message.content[0].text}],\n",
             "            history,\n"),
            filename="server.py",
            findings=[(12, 13, "the agent input gets user_message twice")],
            name="history + [message]",
        ),
    ],
)
