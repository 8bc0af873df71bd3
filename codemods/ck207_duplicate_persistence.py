"""`respond()` must not store what ChatKit already stores.

## Why
`ChatKitServer` persists the user message itself (`store.add_thread_item`) *before* it calls `respond()`, and it
persists every item `respond()` yields in a `ThreadItemDoneEvent` (a `thread.item.done` event). A `respond()` that
also calls `add_thread_item(thread.id, input_user_message, context)` stores the user message twice: the thread shows
it twice and the agent's history holds it twice. Saving an assistant item by hand and then yielding it as done does
the same to the answer (with an append-only store, two rows with one id). `action()` is no different: ChatKit stores
the items it yields as done exactly like `respond()`'s. The write may hide in a helper of the server, or in a class
that is not the store at all: a "session" or history class inserting into the SQL table where the store keeps the
thread's items writes the same conversation a second time (reported, not removed).

## Wrong
```python
async def respond(self, thread, input_user_message, context):
    await self.store.add_thread_item(thread.id, input_user_message, context)
    ...
```

## Right
```python
async def respond(self, thread, input_user_message, context):
    # the user message is already in the store; yield items as done and ChatKit stores them
    ...
```
The fix removes the extra write. It is unsafe because a store that relied on it (for example, one that filters or
rewrites items on the way in) may behave differently: review the diff.
"""

from __future__ import annotations

import ast

from chatkit_fix.analysis.server import (
    argument,
    call_name,
    flow_of,
    methods,
    remove_statement,
    respond_methods,
    server_classes,
    statement_of,
    walk_scope,
)
from chatkit_fix.codemods._cases import Edited, in_service
from chatkit_fix.findings import Safety
from chatkit_fix.model.effects.sql import tables_inserted
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK207",
    slug="duplicate-persistence",
    safety=Safety.UNSAFE,
    summary="respond() stores the user message (already stored) or an item it also yields as done",
    url="https://openai.github.io/chatkit-python/concepts/thread-stream-events/",
    triggers=(b"ChatKitServer",),
    module=__name__,
    explanation=__doc__,
)

WRITES = ("add_thread_item", "save_item")


@RULE.check
def check(ctx):
    for method, message in _request_methods(ctx):
        yield from _rows_in_the_items_table(ctx, method, message)
        flow = flow_of(ctx, method)
        done_names, done_ids = _yielded_done_items(method)
        for node in walk_scope(method):
            if not isinstance(node, ast.Call):
                continue
            stored = _stored_item(ctx, method, node)
            if stored is None:
                continue
            item, via = stored
            if message and _is_message(flow, item.id, message):
                what = f"the user message ({message}), which ChatKit stored before calling respond()"
            elif item.id in done_names or _item_id(flow, item.id) in done_ids:
                what = (f"{item.id}, which {method.name}() also yields in a ThreadItemDoneEvent that ChatKit "
                        "stores")
            else:
                continue
            where = f" through {via}" if via else ""
            statement = statement_of(ctx, node)
            removal = remove_statement(ctx, statement) if not via and _is_plain_write(statement, node) else None
            text = f"{method.name}() stores {what}{where}: it is stored twice"
            if removal is None:
                yield ctx.finding(ctx.header_span(node), text, fix=ctx.todo(node, "remove this write: ChatKit "
                                  "stores the item itself"), complete=False, hint="remove the write")
            else:
                yield ctx.finding(ctx.header_span(node), text, fix=removal, hint="remove the write")


def _rows_in_the_items_table(ctx, method: ast.AST, message: str | None):
    """Calls of respond() that insert rows into the SQL table where the application's store keeps thread items,
    through a class that is not the store (a "session" or history helper writing the same `messages` table)."""
    tables = _item_tables(ctx)
    if not tables:
        return
    model = ctx.model
    for site in model.calls.calls(model.function(ctx.module, method)):
        callee = site.callee
        if callee is None or _is_store_method(ctx, callee):
            continue
        written = sorted(tables_inserted(model, callee) & tables)
        if not written:
            continue
        yield ctx.finding(
            ctx.header_span(site.node),
            f"{method.name}() inserts rows into {', '.join(written)} through {site.describe()}, the table the store "
            f"keeps thread items in: ChatKit already writes the user message and every item {method.name}() yields "
            "as done there, so the conversation is stored twice",
            hint="let the store persist the items; read history from the thread (load_thread_items) instead",
        )


def _item_tables(ctx) -> set[str]:
    """Tables the service's Store classes insert thread items into (written by add_thread_item or save_item and
    not by save_thread, which writes the threads themselves)."""
    cache = ctx.project.__dict__.setdefault("_ck207_item_tables", {})
    model, service = ctx.model, ctx.module.service
    key = (id(model), len(ctx.project.updates), str(service))
    if key in cache:
        return cache[key]
    tables: set[str] = set()
    for path in ctx.project.grep(b"add_thread_item", "python"):
        module = model.module(path)
        if module is None or module.service != service:
            continue
        for cls in module.classes.values():
            if not model.resolver.subclass_of(module, cls, "chatkit", "Store"):
                continue
            members = {m.name: m for m in cls.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
            items = set()
            for name in ("add_thread_item", "save_item"):
                if name in members:
                    items |= tables_inserted(model, model.function(module, members[name]))
            if "save_thread" in members:
                items -= tables_inserted(model, model.function(module, members["save_thread"]))
            tables |= items
    cache[key] = tables
    return tables


def _is_store_method(ctx, function) -> bool:
    cls = function.cls
    return cls is not None and ctx.model.resolver.subclass_of(function.module, cls, "chatkit", "Store")


def _request_methods(ctx):
    """(method, the user message parameter or None): respond() and action(), whose events ChatKit stores alike."""
    for respond in respond_methods(ctx):
        yield respond.func, respond.message
    for cls in server_classes(ctx):
        for method in methods(cls):
            if method.name == "action":
                yield method, None


def _stored_item(ctx, method: ast.AST, call: ast.Call) -> tuple[ast.Name, str] | None:
    """(the item a call stores, the helper it goes through or ""): a store write, or a call of a project function
    that hands its argument to one."""
    if isinstance(call.func, ast.Attribute) and call_name(call) in WRITES:
        item = argument(call, 1, "item")
        return (item, "") if isinstance(item, ast.Name) else None
    model = ctx.model
    target = model.resolve(ctx.module, call.func, method)
    if target is None or not target.is_function:
        return None
    for index, value in enumerate(call.args):
        if isinstance(value, ast.Name) and _parameter_stored(model, target, _parameter_at(target.node, call, index), 2):
            return value, f"{target.module.qualified_names.get(target.node, target.node.name)}()"
    for keyword in call.keywords:
        if isinstance(keyword.value, ast.Name) and _parameter_stored(model, target, keyword.arg, 2):
            return keyword.value, f"{target.module.qualified_names.get(target.node, target.node.name)}()"
    return None


def _parameter_at(function: ast.AST, call: ast.Call, index: int) -> str | None:
    positional = [a.arg for a in (*function.args.posonlyargs, *function.args.args)]
    if positional and positional[0] in ("self", "cls") and isinstance(call.func, ast.Attribute):
        positional = positional[1:]
    return positional[index] if index < len(positional) else None


def _parameter_stored(model, target, parameter: str | None, depth: int) -> bool:
    """The project function writes its parameter to a store (itself or through the functions it passes it to)."""
    if parameter is None or depth == 0:
        return False
    function = target.node
    for node in walk_scope(function):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Attribute) and call_name(node) in WRITES:
            item = argument(node, 1, "item")
            if isinstance(item, ast.Name) and item.id == parameter:
                return True
            continue
        given = [(i, a) for i, a in enumerate(node.args) if isinstance(a, ast.Name) and a.id == parameter]
        named = [k for k in node.keywords if isinstance(k.value, ast.Name) and k.value.id == parameter]
        if not (given or named):
            continue
        inner = model.resolve(target.module, node.func, function)
        if inner is None or not inner.is_function or inner.node is function:
            continue
        if any(_parameter_stored(model, inner, _parameter_at(inner.node, node, i), depth - 1) for i, _ in given):
            return True
        if any(_parameter_stored(model, inner, k.arg, depth - 1) for k in named):
            return True
    return False


def _item_id(flow, name: str) -> str | None:
    """The variable that holds the id of the item `name` (`{"id": item_id, ...}`, `Item(id=item_id, ...)`)."""
    values = flow.values(name)
    if len(values) != 1:
        return None
    value = values[0]
    found = None
    if isinstance(value, ast.Dict):
        found = next((v for k, v in zip(value.keys, value.values) if isinstance(k, ast.Constant) and k.value == "id"), None)
    elif isinstance(value, ast.Call):
        found = next((k.value for k in value.keywords if k.arg == "id"), None)
    return found.id if isinstance(found, ast.Name) else None


def _is_message(flow, name: str, message: str) -> bool:
    """The item is the user message: the parameter itself, an alias of it, or a user message rebuilt from it."""
    if flow.bindings.get(message):
        return False
    if name == message:
        return True
    values = flow.values(name)
    if len(values) != 1:
        return False
    value = values[0]
    if isinstance(value, ast.Name) and value.id == message:
        return True
    if not _is_user_message(value):
        return False
    _, params = flow.closure(value)
    return message in params


def _is_user_message(value: ast.expr) -> bool:
    if isinstance(value, ast.Call) and call_name(value) == "UserMessageItem":
        return True
    if isinstance(value, ast.Dict):
        for key, item in zip(value.keys, value.values):
            if (
                isinstance(key, ast.Constant)
                and key.value in ("role", "type")
                and isinstance(item, ast.Constant)
                and item.value in ("user", "user_message")
            ):
                return True
    return False


def _yielded_done_items(func: ast.AST) -> tuple[set[str], set[str]]:
    """The variables of the items yielded in a ThreadItemDoneEvent, and of the item ids yielded as done
    (`ThreadItemDoneEvent(id=item_id)`: a malformed event that still names the item)."""
    names, ids = set(), set()
    for node in walk_scope(func):
        if isinstance(node, ast.Yield) and isinstance(node.value, ast.Call):
            call = node.value
            if call_name(call) != "ThreadItemDoneEvent":
                continue
            item = argument(call, 0, "item")
            while isinstance(item, ast.Call) and isinstance(item.func, ast.Attribute) and item.func.attr == "model_copy":
                item = item.func.value
            if isinstance(item, ast.Name):
                names.add(item.id)
            for keyword in call.keywords:
                if keyword.arg in ("id", "item_id") and isinstance(keyword.value, ast.Name):
                    ids.add(keyword.value.id)
    return names, ids


def _is_plain_write(statement: ast.stmt | None, call: ast.Call) -> bool:
    if not isinstance(statement, ast.Expr):
        return False
    value = statement.value.value if isinstance(statement.value, ast.Await) else statement.value
    return value is call


SQL_STORE = (
    "from chatkit.store import Store\n"
    "from db import pool\n\n\n"
    "class PostgresStore(Store[dict]):\n"
    "    async def save_thread(self, thread, context):\n"
    "        async with pool.acquire() as conn:\n"
    "            await conn.execute('INSERT INTO threads (id) VALUES ($1) ON CONFLICT (id) DO NOTHING', thread.id)\n\n"
    "    async def add_thread_item(self, thread_id, item, context):\n"
    "        await self.save_item(thread_id, item, context)\n\n"
    "    async def save_item(self, thread_id, item, context):\n"
    "        async with pool.acquire() as conn:\n"
    "            await conn.execute('INSERT INTO threads (id) VALUES ($1) ON CONFLICT (id) DO NOTHING', thread_id)\n"
    "            await conn.execute(\n"
    "                'INSERT INTO messages (id, thread_id, role, content) VALUES ($1, $2, $3, $4) '\n"
    "                'ON CONFLICT (id) DO UPDATE SET content = EXCLUDED.content',\n"
    "                item.id, thread_id, item.type, item.model_dump_json())\n"
)


RULE.cases(
    valid=[
        Valid(
            "from chatkit.server import ChatKitServer\nfrom chatkit.types import ThreadItemAddedEvent\n\n\n"
            "class Notes(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input_user_message, context):\n"
            '        note = {"role": "assistant", "content": "saved"}\n'
            "        await self.store.add_thread_item(thread.id, note, context)\n"
            "        summary = self.summarize(thread)\n"
            "        await self.store.save_item(thread.id, summary, context)\n"
            "        yield ThreadItemAddedEvent(item=summary)\n",
            filename="notes.py",
            name="an assistant note and an item only announced as added: stored once",
        ),
        Valid(
            "from chatkit.server import ChatKitServer\n"
            "from chatkit.types import HiddenContextItem, ThreadItemDoneEvent\n\n\n"
            "class CatServer(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, item, context):\n"
            "        async for event in self.run(thread, item, context):\n"
            "            yield event\n\n"
            "    async def action(self, thread, action, sender, context):\n"
            "        await self.store.add_thread_item(thread.id, HiddenContextItem(id='x', thread_id=thread.id,\n"
            "                                         created_at=now(), content='picked'), context=context)\n"
            "        yield ThreadItemDoneEvent(item=self.message(thread, 'ok'))\n",
            filename="app/server.py",
            name="hidden context in an action",
        ),
        Valid(
            "from chatkit.server import ChatKitServer\n\n\n"
            "class S(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input_user_message, context):\n"
            "        note = make_note(thread)\n"
            "        await self.store.add_thread_item(thread.id, note, context)\n"
            "        yield progress()\n",
            filename="server.py",
            name="an item respond() does not yield",
        ),
    ],
    invalid=[
        Invalid(
            {
                "backend/store.py": SQL_STORE,
                "backend/history.py":
                    "from db import pool\n\n\n"
                    "class ConversationLog:\n"
                    "    def __init__(self, thread_id):\n"
                    "        self.thread_id = thread_id\n\n"
                    "    async def save_message(self, role, text):\n"
                    "        async with pool.acquire() as conn:\n"
                    "            await conn.execute('INSERT INTO messages (thread_id, role, content) VALUES ($1, $2, $3)',\n"
                    "                               self.thread_id, role, text)\n\n"
                    "    async def record_usage(self, tokens):\n"
                    "        async with pool.acquire() as conn:\n"
                    "            await conn.execute('INSERT INTO usage (thread_id, tokens) VALUES ($1, $2)', self.thread_id, tokens)\n"
                    "            await conn.execute('INSERT INTO threads (id) VALUES ($1) ON CONFLICT DO NOTHING', self.thread_id)\n",
                "backend/server.py":
                    "from chatkit.server import ChatKitServer\n"
                    "from history import ConversationLog\n\n\n"
                    "class TutorServer(ChatKitServer[dict]):\n"
                    "    async def respond(self, thread, item, context):\n"
                    "        log = ConversationLog(thread.id)\n"
                    "        await log.save_message('user', item.content[0].text)\n"
                    "        async for event in self.answer(thread, item, context):\n"
                    "            yield event\n"
                    "        await log.record_usage(42)\n",
            },
            None,
            findings=[("backend/server.py", 8, 15, "respond() inserts rows into messages through "
                                                  "ConversationLog.save_message(), the table the store keeps thread items in")],
            name="another class inserts into the store's items table (report)",
        ),
        Edited(
            "from chatkit.server import ChatKitServer\nfrom chatkit.types import ThreadItemDoneEvent, UserMessageItem\n\n\n"
            "class Server(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input_user_message, context):\n"
            "        message = input_user_message\n"
            "        await self.store.add_thread_item(thread.id, message, context)\n"
            "        copy = UserMessageItem(\n"
            "            id=input_user_message.id,\n"
            "            thread_id=thread.id,\n"
            "            created_at=input_user_message.created_at,\n"
            "            content=input_user_message.content,\n"
            "            inference_options=input_user_message.inference_options,\n"
            "        )\n"
            "        await self.store.save_item(thread.id, copy, context)\n"
            "        reply = self.make_reply(thread)\n"
            "        await self.store.save_item(thread.id, reply, context)\n"
            '        yield ThreadItemDoneEvent(item=reply.model_copy(update={"id": "x"}))\n',
            ("        await self.store.add_thread_item(thread.id, message, context)\n", ""),
            ("        await self.store.save_item(thread.id, copy, context)\n", ""),
            ("        await self.store.save_item(thread.id, reply, context)\n", ""),
            filename="server.py",
            unsafe=True,
            findings=[
                (8, 15, "respond() stores the user message (input_user_message)"),
                (16, 15, "respond() stores the user message (input_user_message)"),
                (18, 15, "respond() stores reply, which respond() also yields in a ThreadItemDoneEvent"),
            ],
            name="an alias of the user message, a UserMessageItem rebuilt from it, an item yielded as done via model_copy",
        ),
        Edited(
            "from chatkit.server import ChatKitServer\n\n\n"
            "class MyChatKitServer(ChatKitServer):\n"
            "    async def respond(self, thread, input, context):\n"
            "        try:\n"
            "            # Add the current user message to the thread first\n"
            "            await self.store.add_thread_item(thread.id, input, context)\n"
            "            page = await self.store.load_thread_items(thread.id, None, 30, 'desc', context)\n"
            "            async for event in self.stream(page):\n"
            "                yield event\n"
            "        except Exception:\n"
            "            raise\n",
            ("            await self.store.add_thread_item(thread.id, input, context)\n",
             ""),
            filename="routes/chatkit.py",
            findings=[(8, 19, "respond() stores the user message (input),")],
            unsafe=True,
            name="user message added again",
        ),
        in_service(Edited(
            "from chatkit.server import ChatKitServer as Base\n\n\n"
            "class ChatbotServer(Base[dict]):\n"
            "    async def respond(self, thread, user_message, context):\n"
            "        if user_message:\n"
            "            await self.data_store.save_item(thread.id, item=user_message, context=context)\n"
            "        from chatkit.types import ThreadItemDoneEvent\n"
            "        answer = self.answer(thread)\n"
            "        await self.store.add_thread_item(thread.id, answer, context)\n"
            "        yield ThreadItemDoneEvent(item=answer.model_copy(update={'status': 'done'}))\n",
            ("            await self.data_store.save_item(thread.id, item=user_message, context=context)\n",
             "            pass\n"),
            ("        await self.store.add_thread_item(thread.id, answer, context)\n",
             ""),
            filename="src/chatkit/server.py",
            findings=[
                ("src/chatkit/server.py", 7, 19, "respond() stores the user message (user_message),"),
                ("src/chatkit/server.py", 10, 15, "respond() stores answer, which respond() also yields in a ThreadItemDoneEvent"),
            ],
            unsafe=True,
            name="aliased base, keyword item, assistant item yielded as done",
        )),
        Edited(
            "from chatkit.server import ChatKitServer\n\n\n"
            "class RAGServer(ChatKitServer):\n"
            "    async def respond(self, thread, input, context):\n"
            "        text = ''\n"
            "        for part in input.content:\n"
            "            text += part.text\n"
            "        user_item = {'id': new_id(), 'type': 'message', 'role': 'user', 'content': [text]}\n"
            "        await self.store.add_thread_item(thread.id, user_item, context)\n"
            "        yield answer(text)\n",
            ("        await self.store.add_thread_item(thread.id, user_item, context)\n",
             ""),
            filename="backend/chatkit_server.py",
            findings=[(10, 15, "respond() stores the user message (input),")],
            unsafe=True,
            name="user message rebuilt from the input",
        ),
        Edited(
            "from chatkit.server import ChatKitServer\n\n\n"
            "class S(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input_user_message, context):\n"
            "        await asyncio.gather(self.store.add_thread_item(thread.id, input_user_message, context), log())\n"
            "        yield done()\n",
            ("    async def respond(self, thread, input_user_message, context):\n",
             "    async def respond(self, thread, input_user_message, context):\n"
             "        # chatkit-fix: TODO[CK207] remove this write: ChatKit stores the item itself\n"),
            filename="server.py",
            findings=[(6, 30, "respond() stores the user message (input_user_message),")],
            unsafe=True,
            name="inside gather: TODO marker",
        ),
        Edited(
            "from chatkit.server import ChatKitServer\n"
            "from chatkit.types import ThreadItemDoneEvent, WidgetItem\n\n\n"
            "class S(ChatKitServer[dict]):\n"
            "    async def action(self, thread, action, sender, context):\n"
            "        card = WidgetItem(id=self.new_id(), thread_id=thread.id, widget=self.render(action))\n"
            "        await self.store.add_thread_item(thread.id, card, context)\n"
            "        yield ThreadItemDoneEvent(item=card)\n",
            ("        await self.store.add_thread_item(thread.id, card, context)\n", ""),
            filename="server.py",
            findings=[(8, 15, "action() stores card, which action() also yields in a ThreadItemDoneEvent")],
            unsafe=True,
            name="action() stores an item it yields as done (its events are stored like respond()'s)",
        ),
        Invalid(
            "from chatkit.server import ChatKitServer\n"
            "from chatkit.types import ThreadItemDoneEvent\n\n\n"
            "class S(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, item, context):\n"
            "        reply_id = self.store.generate_item_id('message', thread, context)\n"
            "        reply = {'id': reply_id, 'type': 'message', 'role': 'assistant', 'content': self.answer(item)}\n"
            "        await self._keep(thread, reply, context)\n"
            "        yield ThreadItemDoneEvent(id=reply_id)\n\n"
            "    async def _keep(self, thread, entry, context):\n"
            "        await self.store.add_thread_item(thread.id, entry, context)\n",
            "from chatkit.server import ChatKitServer\n"
            "from chatkit.types import ThreadItemDoneEvent\n\n\n"
            "class S(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, item, context):\n"
            "        reply_id = self.store.generate_item_id('message', thread, context)\n"
            "        reply = {'id': reply_id, 'type': 'message', 'role': 'assistant', 'content': self.answer(item)}\n"
            "        # chatkit-fix: TODO[CK207] remove this write: ChatKit stores the item itself\n"
            "        await self._keep(thread, reply, context)\n"
            "        yield ThreadItemDoneEvent(id=reply_id)\n\n"
            "    async def _keep(self, thread, entry, context):\n"
            "        await self.store.add_thread_item(thread.id, entry, context)\n",
            filename="server.py",
            findings=[(9, 15, "respond() stores reply, which respond() also yields in a ThreadItemDoneEvent that "
                              "ChatKit stores through S._keep()")],
            unsafe=True,
            name="through a helper, yielded as done by its id",
        ),
    ],
)
