"""The agent must see the newest part of the thread, not the oldest, and not just the current message.

## Why
`load_thread_items(thread.id, after, limit, order, context)` with `order="asc"` and a limit returns the *oldest*
`limit` items: once a thread is longer than the limit the agent keeps answering the start of the conversation and
never sees the latest messages (the upstream quickstart has this bug). Load `"desc"` (the newest `limit` items) and
reverse them, as the official samples do. The load may sit in a helper `respond()` calls, in any module; a store
whose own query always sorts ascending with a LIMIT (whatever `order` says) gives the oldest items too (reported).
A page that is only tested, counted, logged or shown in a widget is not history and is not judged.

A `respond()` that gives the agent only the current message (`Runner.run_streamed(agent, input=text)` or
`simple_to_agent_input(input_user_message)`) forgets everything said before: every turn starts from scratch. That
one is reported, not fixed: history can travel in several ways (`previous_response_id`, `conversation_id`, an Agents
SDK session, or the thread items). Only the run that reaches the user through `stream_agent_response` (or a
`stream_events()` loop in `respond`) is judged: a title or classifier agent that sees one message is fine.

## Wrong
```python
page = await self.store.load_thread_items(thread.id, None, 20, "asc", context)
agent_input = await simple_to_agent_input(page.data)
```

## Right
```python
page = await self.store.load_thread_items(thread.id, None, 20, "desc", context)
agent_input = await simple_to_agent_input(list(reversed(page.data)))   # newest 20, oldest first
```
"""

from __future__ import annotations

import ast
from functools import partial

from chatkit_fix.analysis.server import (
    argument,
    call_name,
    calls_named,
    enclosing_function,
    flow_of,
    is_history_conversion,
    is_none,
    is_run,
    is_run_streamed,
    is_stream_agent_response,
    parent_of,
    request_reach,
    respond_methods,
    server_method_of,
    streams_events_to_user,
    string_value,
    value_sinks,
    walk_scope,
)
from chatkit_fix.codemods._cases import OFFICIAL_RESPOND, Edited
from chatkit_fix.findings import Safety
from chatkit_fix.model.effects.history import LOADS_HISTORY, oldest_first_loader
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK206",
    slug="history-truncated",
    safety=Safety.SAFE,
    summary="history loaded oldest-first with a limit (use desc + reversed), or only the current message given",
    url="https://openai.github.io/chatkit-python/guides/respond-to-user-message/#load-thread-history-recommended-default",
    triggers=((b"load_thread_items", b"asc"), (b"load_thread_items", b"limit"), (b"ChatKitServer", b"run_streamed")),
    module=__name__,
    explanation=__doc__,
)

HISTORY_KEYWORDS = ("previous_response_id", "conversation_id", "session", "auto_previous_response_id")
HISTORY_CALLS = ("load_thread_items", "load_thread", "load_item", "to_input_list", "get_items")
ORDER_INSENSITIVE = ("reversed", "sorted", "len", "bool", "set")
REQUEST_DATA_READS = ("get", "getattr", "isinstance", "len", "str", "bool")  # read a value out of a request object


@RULE.check
def check(ctx):
    yield from _oldest_first(ctx)
    yield from _single_message(ctx)


# ---- order="asc" with a limit ------------------------------------------------------------------------------------


def _oldest_first(ctx):
    for call in calls_named(ctx, "load_thread_items"):
        if call_name(call) != "load_thread_items" or not isinstance(call.func, ast.Attribute):
            continue
        order = argument(call, 3, "order")
        limit = argument(call, 2, "limit")
        after = argument(call, 1, "after")
        if string_value(order) == "asc":
            if limit is None or is_none(limit) or (after is not None and not is_none(after)) or not _feeds(ctx, call):
                continue
            message = (
                "thread history loaded with order=\"asc\" and a limit: that is the OLDEST items, so once the thread is "
                "longer the agent never sees the latest messages"
            )
            yield ctx.finding(ctx.header_span(call), message,
                              fix=partial(_newest_first, ctx, call, enclosing_function(ctx, call), order),
                              hint='order="desc", then list(reversed(page.data))')
        elif string_value(order) != "desc":
            limit = next((k.value for k in call.keywords if k.arg == "limit"), None)
            if limit is None or is_none(limit) or not _feeds(ctx, call):
                continue
            store_method = oldest_first_loader(ctx.model, ctx.module, call, enclosing_function(ctx, call))
            if store_method is not None:
                yield ctx.finding(
                    ctx.header_span(call),
                    f"thread history loaded with a limit from {store_method}(), whose query always sorts ascending "
                    "and ignores order: that is the OLDEST items, so once the thread is longer the agent never sees "
                    "the latest messages",
                    hint="make the store page newest-first (ORDER BY ... DESC LIMIT ?, honouring order=\"desc\") and "
                         "reverse the page before giving it to the agent",
                )


def _feeds(ctx, call: ast.Call) -> bool:
    """The loaded page reaches a model: the agent run of its function, or a caller that respond() reaches."""
    func = enclosing_function(ctx, call)
    if func is None or _in_loop(ctx, call, func):
        return False
    sinks = value_sinks(ctx, call, func)
    if not sinks.any:
        return False  # the page is only tested, counted, logged or shown in a widget: no model reads it
    return _feeds_the_agent(ctx, call, func) or bool(sinks.returned and id(func) in request_reach(ctx.project))


def _newest_first(ctx, call: ast.Call, func: ast.AST, order: ast.AST):
    """order="desc" and the loaded page reversed before it is converted; a TODO when the data cannot be followed."""
    data_edits = _reverse_data(ctx, call, func)
    if data_edits is None:
        return ctx.todo(call, 'load order="desc" and reverse the page\'s items before converting them')
    quote = ctx.segment(order)[0]
    return [ctx.replace(order, f"{quote}desc{quote}"), *data_edits]


def _feeds_the_agent(ctx, call: ast.Call, func: ast.AST) -> bool:
    streamed = converted = plain_run = False
    for node in walk_scope(func):
        if isinstance(node, ast.Call):
            if is_run_streamed(ctx, node) or is_stream_agent_response(ctx, node):
                streamed = True
            elif is_history_conversion(ctx, node):
                converted = True
            elif is_run(ctx, node):
                plain_run = True
    if streamed:
        return True
    if plain_run:
        return False  # a title or classifier agent
    return converted or server_method_of(ctx, call) is not None


def _in_loop(ctx, node: ast.AST, func: ast.AST) -> bool:
    """The load runs inside a loop (a paginated export), not as the iterable a loop walks once."""
    child, current = node, parent_of(ctx, node)
    while current is not None and current is not func:
        if isinstance(current, ast.While) or (isinstance(current, (ast.For, ast.AsyncFor)) and child is not current.iter):
            return True
        child, current = current, parent_of(ctx, current)
    return False


def _reverse_data(ctx, call: ast.Call, func: ast.AST) -> list | None:
    """Edits wrapping the page's `.data` in `list(reversed(...))`; [] when it is already reordered; None if unknown."""
    parent = parent_of(ctx, call)
    holder = parent if isinstance(parent, ast.Await) else call
    above = parent_of(ctx, holder)
    if isinstance(above, ast.Attribute) and above.attr == "data":
        return _wrap([above], ctx)
    if not (isinstance(above, ast.Assign) and len(above.targets) == 1 and isinstance(above.targets[0], ast.Name)):
        return None
    name = above.targets[0].id
    if len(flow_of(ctx, func).bindings.get(name, [])) != 1:
        return None
    uses = []
    for node in walk_scope(func):
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Load):
            outer = parent_of(ctx, node)
            if isinstance(outer, ast.Attribute) and outer.attr == "data":
                uses.append(outer)
            elif not (isinstance(outer, ast.Attribute) and outer.attr in ("has_more", "after")):
                return None  # the page itself travels on
    if not uses:
        return None
    return _wrap(uses, ctx)


def _wrap(uses: list[ast.Attribute], ctx) -> list:
    edits = []
    for use in uses:
        outer = parent_of(ctx, use)
        if isinstance(outer, ast.Call) and isinstance(outer.func, ast.Name) and outer.func.id in ORDER_INSENSITIVE:
            continue
        start, end = ctx.span(use)
        edits += [ctx.insert(start, "list(reversed("), ctx.insert(end, "))")]
    return edits


# ---- only the current message ------------------------------------------------------------------------------------


def _single_message(ctx):
    for respond in respond_methods(ctx):
        if respond.message is None:
            continue
        flow = flow_of(ctx, respond.func)
        for node in walk_scope(respond.func):
            if not is_run_streamed(ctx, node):
                continue
            if any(k.arg in HISTORY_KEYWORDS or k.arg is None for k in node.keywords):
                continue
            agent_input = argument(node, 1, "input")
            if agent_input is None or not streams_events_to_user(ctx, node):
                continue
            _, params = flow.closure(agent_input)
            if respond.message not in params:
                continue
            if _may_carry_history(ctx, respond, flow, node):
                continue
            conversion = _conversion_of_message(ctx, respond, flow, agent_input)
            anchor = conversion if conversion is not None else node
            yield ctx.finding(
                ctx.header_span(anchor),
                f"the agent gets only the current message ({respond.message}): every turn starts without the "
                "thread's history",
                hint="load the thread: page = await self.store.load_thread_items(thread.id, None, 20, \"desc\", "
                     "context); agent_input = await simple_to_agent_input(list(reversed(page.data)))",
            )


def _may_carry_history(ctx, respond, flow, run: ast.Call) -> bool:
    """Something the run is given (its input, the agent and its instructions, the run config) may hold the thread's
    earlier items: a history load or read, a project function that loads them, or the thread handed to a call this
    cannot see into."""
    model = ctx.model
    # `context=` is the tools' context: the model never reads it
    for value in [*run.args, *(k.value for k in run.keywords if k.arg != "context")]:
        nodes, params = flow.closure(value)
        for node in nodes:
            if _history_source(node):
                return True
            if not isinstance(node, ast.Call):
                continue
            target = model.resolve(ctx.module, node.func, respond.func)
            if target is not None and target.is_function:
                if model.facts(LOADS_HISTORY, model.function(target.module, target.node)):
                    return True
                continue
            if _hands_over_thread(ctx, respond, flow, node):
                return True
    return False


def _hands_over_thread(ctx, respond, flow, call: ast.Call) -> bool:
    """A call this cannot see into that is given the thread (its id, its metadata: anything of it)."""
    if respond.thread is None or call_name(call) in REQUEST_DATA_READS:
        return False
    given = [*call.args, *(k.value for k in call.keywords)]
    if isinstance(call.func, ast.Attribute):
        given.append(call.func.value)
    return any(_carries_thread(ctx, respond, flow, value, set()) for value in given)


def _carries_thread(ctx, respond, flow, expr: ast.AST, seen: set[str]) -> bool:
    """The value depends on the thread, other than through project functions whose summaries load no history (they
    were judged on their own) and reads of request data."""
    pending = [expr]
    while pending:
        current = pending.pop()
        if isinstance(current, ast.Name):
            if current.id == respond.thread:
                return True
            if current.id not in seen:
                seen.add(current.id)
                pending.extend(flow.values(current.id))
            continue
        if isinstance(current, ast.Call):
            target = ctx.model.resolve(ctx.module, current.func, respond.func)
            if target is not None and target.is_function:
                continue
        pending.extend(ast.iter_child_nodes(current))
    return False


def _conversion_of_message(ctx, respond, flow, agent_input: ast.expr) -> ast.Call | None:
    """The `simple_to_agent_input(message)` (or converter) call that builds the input from the message alone: the
    call that must change."""
    nodes, _ = flow.closure(agent_input)
    for node in nodes:
        if is_history_conversion(ctx, node) and node.args:
            _, params = flow.closure(node.args[0])
            if respond.message in params:
                return node
    return None


def _history_source(node: ast.AST) -> bool:
    if isinstance(node, ast.Call) and call_name(node) in HISTORY_CALLS:
        return True
    return isinstance(node, ast.Attribute) and node.attr in ("history", "messages")


ASCENDING_STORE = (
    "import sqlite3\n\n"
    "from chatkit.store import Store\n\n\n"
    "class SQLiteStore(Store[dict]):\n"
    "    def __init__(self, path):\n"
    "        self.db = sqlite3.connect(path)\n\n"
    "    async def load_thread_items(self, thread_id, context, limit=100, after=None, order='asc'):\n"
    "        rows = self.db.execute('SELECT id, payload FROM items WHERE thread_id = ? '\n"
    "                               'ORDER BY created_at ASC LIMIT ?', (thread_id, limit)).fetchall()\n"
    "        return [self.decode(row) for row in rows]\n"
)
STORE_SERVER = (
    "from chatkit.server import ChatKitServer\n"
    "from sqlite_store import SQLiteStore\n\n\n"
    "class ReviewServer(ChatKitServer[dict]):\n"
    "    def __init__(self, store):\n"
    "        super().__init__(store)\n\n"
    "    async def respond(self, thread, item, context):\n"
    "        history = []\n"
    "        store = getattr(self, 'store', None)\n"
    "        for stored in await store.load_thread_items(thread.id, context, limit=50):\n"
    "            history.append({'role': stored.type, 'content': stored.text})\n"
    "        answer = await client.chat.completions.create(model='gpt-4o-mini', messages=history)\n"
    "        yield self.reply(answer)\n\n\n"
    "server = ReviewServer(store=SQLiteStore('chat.db'))\n"
)


RULE.cases(
    valid=[
        Valid(
            {
                "sqlite_store.py": ASCENDING_STORE.replace(
                    "        rows = self.db.execute('SELECT id, payload FROM items WHERE thread_id = ? '\n"
                    "                               'ORDER BY created_at ASC LIMIT ?', (thread_id, limit)).fetchall()\n",
                    "        direction = 'DESC' if order == 'desc' else 'ASC'\n"
                    "        rows = self.db.execute(f'SELECT id, payload FROM items WHERE thread_id = ? '\n"
                    "                               f'ORDER BY created_at {direction} LIMIT ?', (thread_id, limit)).fetchall()\n",
                ),
                "server.py": STORE_SERVER,
            },
            name="a store that honours order",
        ),
        Valid(OFFICIAL_RESPOND, filename="app.py", name="official shape"),
        Valid(
            "from agents import Runner\n"
            "from chatkit.server import ChatKitServer\n\n\n"
            "class S(ChatKitServer[dict]):\n"
            "    async def _title(self, thread, user_message):\n"
            "        run = await Runner.run(self.title_agent, input=await self.converter.to_agent_input(user_message))\n"
            "        thread.title = run.final_output\n\n"
            "    async def _first_messages(self, thread, context):\n"
            "        page = await self.store.load_thread_items(thread.id, None, 3, 'asc', context)\n"
            "        run = await Runner.run(self.title_agent, input=await self.converter.to_agent_input(page.data))\n"
            "        return run.final_output\n",
            filename="server.py",
            name="title agent with one message or the first ones",
        ),
        Valid(
            "from agents import Runner\n"
            "from chatkit.agents import stream_agent_response\n"
            "from chatkit.server import ChatKitServer\n\n\n"
            "class S(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, item, context):\n"
            "        result = Runner.run_streamed(self.agent, await simple_to_agent_input(item),\n"
            "                                     previous_response_id=thread.metadata.get('last_response_id'))\n"
            "        async for event in stream_agent_response(self.ctx, result):\n"
            "            yield event\n",
            filename="server.py",
            name="history by previous_response_id",
        ),
        Valid(
            "async def export_all(store, thread, context):\n"
            "    after = None\n"
            "    while True:\n"
            "        page = await store.load_thread_items(thread.id, after, 100, 'asc', context)\n"
            "        yield page.data\n"
            "        if not page.has_more:\n"
            "            break\n"
            "        after = page.after\n",
            filename="export.py",
            name="paginated export",
        ),
        Valid(
            "from chatkit.server import ChatKitServer\n"
            "from chatkit.widgets import Card, Markdown\n\n\n"
            "class S(ChatKitServer[dict]):\n"
            "    async def _restore(self, thread, context):\n"
            "        existing = await self.store.load_thread_items(thread.id, None, 100, 'asc', context)\n"
            "        if existing.data and len(existing.data) > 0:\n"
            "            print(f'{len(existing.data)} items already')\n"
            "            return\n"
            "        await self.store.add_thread_item(thread.id, self.welcome(thread), context)\n\n"
            "    async def _transcript(self, thread, context):\n"
            "        page = await self.store.load_thread_items(thread.id, None, 100, 'asc', context)\n"
            "        rows = []\n"
            "        for item in page.data:\n"
            "            text = self._text_of(item)\n"
            "            if text:\n"
            "                rows.append(Markdown(value=text))\n"
            "        return Card(children=rows)\n\n"
            "    def _text_of(self, item):\n"
            "        parts = []\n"
            "        for part in item.content:\n"
            "            parts.append(part.text)\n"
            "        return ' '.join(parts)\n\n"
            "    async def respond(self, thread, item, context):\n"
            "        await self._restore(thread, context)\n"
            "        yield await self._transcript(thread, context)\n",
            filename="server.py",
            name="oldest items only counted, or shown in a widget",
        ),
        Valid(
            "from agents import Agent, Runner\n"
            "from chatkit.agents import AgentContext, simple_to_agent_input, stream_agent_response\n"
            "from chatkit.server import ChatKitServer\n\n\n"
            "class S(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, item, context):\n"
            "        page = await self.store.load_thread_items(thread.id, None, 30, 'desc', context)\n"
            "        transcript = '\\n'.join(str(i) for i in reversed(page.data))\n"
            "        agent = Agent(name='tutor', instructions=f'Conversation so far:\\n{transcript}')\n"
            "        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)\n"
            "        result = Runner.run_streamed(agent, await simple_to_agent_input(item), context=agent_context)\n"
            "        async for event in stream_agent_response(agent_context, result):\n"
            "            yield event\n",
            filename="server.py",
            name="history given through the agent's instructions",
        ),
    ],
    invalid=[
        Invalid(
            {
                "sqlite_store.py": ASCENDING_STORE,
                "server.py": STORE_SERVER,
            },
            None,
            findings=[("server.py", 12, 29, "thread history loaded with a limit from SQLiteStore.load_thread_items(), "
                                            "whose query always sorts ascending and ignores order")],
            name="the store's own query pages oldest-first whatever order says (report)",
        ),
        Edited(
            "from agents import Runner\n"
            "from chatkit.agents import AgentContext, simple_to_agent_input, stream_agent_response\n"
            "from chatkit.server import ChatKitServer\n\n\n"
            "class TodoChatKitServer(ChatKitServer['RequestContext']):\n"
            "    async def respond(self, thread, input_user_message, context):\n"
            "        items_page = await self.store.load_thread_items(\n"
            "            thread.id, after=None, limit=50, order=\"asc\", context=context\n"
            "        )\n"
            "        items = items_page.data\n"
            "        input_items = await simple_to_agent_input(items)\n"
            "        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)\n"
            "        result = Runner.run_streamed(agent, input=input_items, context=agent_context)\n"
            "        async for event in stream_agent_response(agent_context, result):\n"
            "            yield event\n",
            ('            thread.id, after=None, limit=50, order="asc", context=context\n',
             '            thread.id, after=None, limit=50, order="desc", context=context\n'),
            ("        items = items_page.data\n",
             "        items = list(reversed(items_page.data))\n"),
            filename="app/chatkit_server.py",
            findings=[(8, 28, 'thread history loaded with order="asc" and a limit')],
            name="keywords, asc",
        ),
        Invalid(
            "from chatkit.agents import simple_to_agent_input\n\n"
            "async def build_input(store, thread, context):\n"
            "    return await simple_to_agent_input((await store.load_thread_items(thread.id, None, 20, 'asc', context)).data)\n",
            "from chatkit.agents import simple_to_agent_input\n\n"
            "async def build_input(store, thread, context):\n"
            "    return await simple_to_agent_input(list(reversed((await store.load_thread_items(thread.id, None, 20, 'desc', context)).data)))\n",
            filename="history.py",
            findings=[(4, 47, 'thread history loaded with order="asc" and a limit')],
            name="positional, inline",
        ),
        Invalid(
            "from agents import Runner\n"
            "from chatkit.server import ChatKitServer\n\n\n"
            "class AppChatKitServer(ChatKitServer):\n"
            "    async def respond(self, thread, input, context):\n"
            "        from chatkit.agents import AgentContext, stream_agent_response\n"
            "        user_input_text = self._extract_text(input) if input else ''\n"
            "        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)\n"
            "        result = Runner.run_streamed(agent, input=user_input_text, context=agent_context)\n"
            "        async for event in stream_agent_response(agent_context, result):\n"
            "            yield event\n",
            None,
            filename="backend/app/chatkit_server.py",
            findings=[(10, 18, "the agent gets only the current message (input)")],
            name="only the current message (report)",
        ),
        Invalid(
            "from agents import Runner as R\n"
            "from chatkit.server import ChatKitServer\n\n\n"
            "class IncidentServer(ChatKitServer):\n"
            "    async def respond(self, thread, item, context):\n"
            "        text = ''\n"
            "        for part in item.content:\n"
            "            text += part.text\n"
            "        result = R.run_streamed(self.agent, input=text, context=context['user'])\n"
            "        async for event in result.stream_events():\n"
            "            yield self.convert(event)\n",
            None,
            filename="chatkit_server.py",
            findings=[(10, 18, "the agent gets only the current message (item)")],
            name="hand-rolled stream of the current message (report)",
        ),
        Invalid(
            "from chatkit.agents import AgentContext, Runner, simple_to_agent_input, stream_agent_response\n"
            "from chatkit.server import ChatKitServer\n\n\n"
            "class S(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input, context):\n"
            "        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)\n"
            "        agent_input = await simple_to_agent_input(input)\n"
            "        result = Runner.run_streamed(self.agent, input=agent_input, context=agent_context)\n"
            "        async for event in stream_agent_response(agent_context, result):\n"
            "            yield event\n",
            None,
            filename="server.py",
            findings=[(8, 29, "the agent gets only the current message (input)")],
            name="only the current message converted (report on the conversion; Runner imported from chatkit)",
        ),
        Invalid(
            "from agents import Runner\n"
            "from chatkit.agents import AgentContext, stream_agent_response\n"
            "from chatkit.server import ChatKitServer\n\n\n"
            "class S(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, item, context):\n"
            "        prefs = self._preferences_of(thread.id)\n"
            "        text = await self._to_text(thread, item)\n"
            "        agent_context = AgentContext(thread=thread, store=self.store, request_context=context)\n"
            "        result = Runner.run_streamed(self.agent, f'{prefs.tone}: {text}', context=agent_context,\n"
            "                                     max_turns=prefs.turns)\n"
            "        async for event in stream_agent_response(agent_context, result):\n"
            "            yield event\n\n"
            "    def _preferences_of(self, thread_id):\n"
            "        return self.preferences[thread_id]\n\n"
            "    async def _to_text(self, thread, item):\n"
            "        return ' '.join(part.text for part in item.content)\n",
            None,
            filename="server.py",
            findings=[(11, 18, "the agent gets only the current message (item)")],
            name="the thread reaches only helpers that load no history (report)",
        ),
        Invalid(
            {
                "app/__init__.py": "",
                "app/history.py":
                    "from chatkit.types import AssistantMessageItem, UserMessageItem\n\n\n"
                    "async def build_history(store, thread, context):\n"
                    "    history = []\n"
                    "    page = await store.load_thread_items(thread.id, after=None, limit=200, order='asc',\n"
                    "                                         context=context)\n"
                    "    for item in page.data:\n"
                    "        if isinstance(item, UserMessageItem):\n"
                    "            history.append({'role': 'user', 'content': item.content[0].text})\n"
                    "    return history\n",
                "app/server.py":
                    "from chatkit.server import ChatKitServer\n"
                    "from app.history import build_history\n\n\n"
                    "class WorkflowServer(ChatKitServer[dict]):\n"
                    "    async def _history(self, thread, context):\n"
                    "        return await build_history(self.store, thread, context)\n\n"
                    "    async def respond(self, thread, item, context):\n"
                    "        history = await self._history(thread, context)\n"
                    "        reply = await self.workflow.run({'history': history})\n"
                    "        yield reply\n",
            },
            {
                "app/history.py":
                    "from chatkit.types import AssistantMessageItem, UserMessageItem\n\n\n"
                    "async def build_history(store, thread, context):\n"
                    "    history = []\n"
                    "    page = await store.load_thread_items(thread.id, after=None, limit=200, order='desc',\n"
                    "                                         context=context)\n"
                    "    for item in list(reversed(page.data)):\n"
                    "        if isinstance(item, UserMessageItem):\n"
                    "            history.append({'role': 'user', 'content': item.content[0].text})\n"
                    "    return history\n",
            },
            findings=[("app/history.py", 6, 18, 'thread history loaded with order="asc" and a limit')],
            name="a history helper of another module that respond() calls",
        ),
    ],
)
