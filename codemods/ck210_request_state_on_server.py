"""Per-request data must not live on the `ChatKitServer` instance or in module globals.

## Why
One `ChatKitServer` instance serves every request, and requests run concurrently on one event loop. A `respond()`
(or a helper it calls) that keeps per-request state on `self` (`self.accumulated_text = ""`, `self.user_id =
context["user_id"]`, `self.current_thread = thread`) or in a module global (`global current_user`) shares it between
all users: two streams interleave and one user's text, thread or identity leaks into another's answer. It works in a
one-user demo and breaks under load. The same holds for a helper in another module that stores the request's user
or database session in its module globals (`set_context(user_id, db)` before the run), for a server setter the
endpoint calls on every request (`server.set_user_id(...)` then `process()`), and for one Agents SDK session created
with the server and given as `session=` to every run: all threads of all users share one conversation memory.

## Wrong
```python
class IncidentServer(ChatKitServer):
    async def respond(self, thread, input, context):
        self.accumulated_text = ""
        async for event in result.stream_events():
            self.accumulated_text += text_of(event)
```

## Right
```python
class IncidentServer(ChatKitServer):
    async def respond(self, thread, input, context):
        accumulated_text = ""          # a local: one per request
        async for event in result.stream_events():
            accumulated_text += text_of(event)
```
Keep request data in locals, pass it to helpers as arguments, or put it in the request context (`context`) or the
`AgentContext`. Shared resources set once (a client, an agent, a lazily created cache guarded by `if self.x is
None`) are fine. Report only: moving state needs a decision about where it belongs.
"""

from __future__ import annotations

import ast

from chatkit_fix.analysis.server import (
    dotted,
    methods,
    parent_of,
    server_classes,
    walk_scope,
)
from chatkit_fix.findings import Safety
from chatkit_fix.model.effects.history import is_conversation_session
from chatkit_fix.model.effects.state import SHARED_STATE
from chatkit_fix.pyast import walk
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK210",
    slug="request-state-on-server",
    safety=Safety.REPORT,
    summary="per-request or per-user data kept on the ChatKitServer instance or in module globals",
    url="https://openai.github.io/chatkit-python/guides/pass-extra-app-context-to-your-model/",
    triggers=(b"ChatKitServer",),
    module=__name__,
    explanation=__doc__,
)

SETUP_METHODS = ("__init__", "__post_init__", "setup", "__aenter__", "__enter__", "startup", "initialize", "init")
REQUEST_ENTRY = ("respond", "action", "add_feedback", "transcribe", "handle_stream_cancelled", "sync_action")


@RULE.check
def check(ctx):
    for cls in server_classes(ctx):
        by_name = {m.name: m for m in methods(cls)}
        request_methods = _reachable(by_name)
        reported: set[str] = set()
        for name in sorted(request_methods, key=lambda n: by_name[n].lineno):
            method = by_name[name]
            for node, written, attribute in _self_writes(ctx, method):
                if attribute in reported or _lazy_init(ctx, node, attribute, method):
                    continue
                reported.add(attribute)
                yield ctx.finding(
                    ctx.header_span(written),
                    f"{name}() keeps self.{attribute} on the server instance, which every request shares: concurrent "
                    "requests overwrite each other's state",
                    hint=f"use a local variable (or the request context) instead of self.{attribute}",
                )
            for node in walk_scope(method):
                if isinstance(node, ast.Global):
                    for global_name in node.names:
                        if f"global {global_name}" in reported:
                            continue
                        reported.add(f"global {global_name}")
                        yield ctx.finding(
                            ctx.header_span(node),
                            f"{name}() writes the module global {global_name}: every request and user shares it",
                            hint=f"keep {global_name} in a local or in the request context",
                        )
            yield from _helpers_writing_module_state(ctx, cls, method)
        yield from _setters_called_per_request(ctx, cls, by_name, request_methods)
        yield from _one_session_for_all(ctx, cls, by_name, request_methods)


def _helpers_writing_module_state(ctx, cls: ast.ClassDef, method: ast.AST):
    """Calls of functions outside the server (in any module) that store request data in module state."""
    model = ctx.model
    own = set(methods(cls))
    for site in model.calls.calls(model.function(ctx.module, method)):
        callee = site.callee
        if callee is None or callee.node in own:
            continue
        facts = model.facts(SHARED_STATE, callee)
        if not facts:
            continue
        fact = facts[0]
        chain = " -> ".join(s.describe() for s in (site, *fact.via))
        yield ctx.finding(
            ctx.header_span(site.node),
            f"{method.name}() calls {chain}, which stores request data in {fact.what} "
            f"({fact.module.path.name}:{fact.node.lineno}): every request and user shares it, so concurrent requests "
            "read each other's values",
            hint="pass the values as arguments, or keep them in the request context or the AgentContext",
        )


def _setters_called_per_request(ctx, cls: ast.ClassDef, by_name: dict, request_methods: set[str]):
    """A server method that stores its arguments on self, called by a route handler on every request, while a
    request method reads them back: the endpoint's per-request values land on the one shared instance."""
    read = _attributes_read(by_name, request_methods)
    for name, method in by_name.items():
        if name in request_methods or name in SETUP_METHODS:
            continue
        writes = [
            (node, written, attribute) for node, written, attribute in _self_writes(ctx, method)
            if attribute in read and isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None
            and _names_parameter(method, node.value)
        ]
        if not writes:
            continue
        caller = _route_calling(ctx, method)
        if caller is None:
            continue
        for _node, written, attribute in writes:
            yield ctx.finding(
                ctx.header_span(written),
                f"{name}() keeps self.{attribute} on the server instance and the endpoint {caller}() calls it on "
                "every request: the one shared server holds the last caller's value while other requests read it",
                hint=f"pass the value in the request context given to process() instead of self.{attribute}",
            )


def _one_session_for_all(ctx, cls: ast.ClassDef, by_name: dict, request_methods: set[str]):
    """An Agents SDK session created once on the server and given as `session=` to the runs of every request: every
    thread of every user reads and appends the same conversation memory."""
    model, module = ctx.model, ctx.module
    for name in sorted(request_methods, key=lambda n: by_name[n].lineno):
        for node in walk_scope(by_name[name]):
            if not isinstance(node, ast.Call):
                continue
            session = next((k.value for k in node.keywords if k.arg == "session"), None)
            if not (isinstance(session, ast.Attribute) and dotted(session.value) == "self"):
                continue
            found = model.resolver.instance_attribute(module, cls, session.attr)
            if found is None or found[0].name not in SETUP_METHODS:
                continue
            setup, value = found
            if not is_conversation_session(model.resolve(module, value, setup)):
                continue
            yield ctx.finding(
                ctx.header_span(value),
                f"self.{session.attr} is one Agents SDK session created once for the server and given to every "
                f"run in {name}(): all threads of all users read and append the same conversation memory",
                hint="create the session per thread, e.g. SQLiteSession(thread.id, ...), inside respond()",
            )


def _attributes_read(by_name: dict, request_methods: set[str]) -> set[str]:
    return {
        node.attr
        for name in request_methods
        for node in walk_scope(by_name[name])
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and dotted(node.value) == "self"
    }


def _names_parameter(method: ast.AST, value: ast.AST) -> bool:
    arguments = method.args
    parameters = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)} - {"self", "cls"}
    return any(isinstance(node, ast.Name) and node.id in parameters for node in walk(value))


def _route_calling(ctx, method: ast.AST) -> str | None:
    """The name of a route handler that calls `method` (on the server instance it holds)."""
    model = ctx.model
    for route in model.web.routes():
        handler = route.handler
        if handler is None:
            continue
        for site in model.calls.calls(handler):
            callee = site.callee
            if callee is not None and callee.node is method:
                return handler.name
    return None


def _reachable(by_name: dict[str, ast.AST]) -> set[str]:
    """Request-time methods: the entry points ChatKit calls and the methods they call through self."""
    found = {name for name in REQUEST_ENTRY if name in by_name}
    pending = list(found)
    while pending:
        method = by_name[pending.pop()]
        for node in walk_scope(method):
            if (
                isinstance(node, ast.Attribute)
                and dotted(node.value) == "self"
                and node.attr in by_name
                and node.attr not in found
                and node.attr not in SETUP_METHODS
            ):
                found.add(node.attr)
                pending.append(node.attr)
    return found


def _self_writes(ctx, method: ast.AST):
    """(statement, the expression that writes, attribute) for each write to an attribute of self: each target of a
    tuple assignment is its own finding, anchored on itself."""
    for node in walk_scope(method):
        targets = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            for element in target.elts if isinstance(target, (ast.Tuple, ast.List)) else [target]:
                if isinstance(element, ast.Attribute) and dotted(element.value) == "self":
                    yield node, element, element.attr
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "setattr"
            and len(node.args) > 1
            and dotted(node.args[0]) == "self"
        ):
            name = node.args[1].value if isinstance(node.args[1], ast.Constant) else "<attribute>"
            yield node, node, str(name)


def _lazy_init(ctx, node: ast.AST, attribute: str, method: ast.AST) -> bool:
    """`if self.x is None: self.x = ...` and friends: a shared resource created once, not request state."""
    current = parent_of(ctx, node)
    while current is not None and current is not method:
        if isinstance(current, ast.If):
            for test in walk(current.test):
                if isinstance(test, ast.Attribute) and test.attr == attribute and dotted(test.value) == "self":
                    return True
                if (isinstance(test, ast.Call) and isinstance(test.func, ast.Name) and test.func.id in ("hasattr", "getattr")
                        and len(test.args) >= 2 and dotted(test.args[0]) == "self"
                        and isinstance(test.args[1], ast.Constant) and test.args[1].value == attribute):
                    return True  # hasattr(self, "x"), getattr(self, "x", None): not a string that happens to match
        current = parent_of(ctx, current)
    return False


RULE.cases(
    valid=[
        Valid(
            "from chatkit.server import ChatKitServer\n\n\n"
            "class CustomerSupportServer(ChatKitServer[dict]):\n"
            "    def __init__(self, store, agent=None):\n"
            "        super().__init__(store)\n"
            "        self.agent = agent\n"
            "        self.title_agent = None\n\n"
            "    async def respond(self, thread, user_message, context):\n"
            "        if self.title_agent is None:\n"
            "            self.title_agent = build_title_agent()\n"
            "        self.agent_state.set_meal(thread.id, 'veg')\n"
            "        thread.title = 'Trip'\n"
            "        text = ''\n"
            "        yield make_event(text)\n",
            filename="app/server.py",
            name="setup in __init__, lazy init, method calls, locals",
        ),
        Valid(
            "class Accumulator:\n"
            "    async def respond(self, thread, input, context):\n"
            "        self.text = ''\n"
            "        yield self.text\n",
            filename="other.py",
            name="not a ChatKitServer",
        ),
        Valid(
            "from chatkit.server import ChatKitServer\n\n\n"
            "class Server(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input, context):\n"
            "        if not hasattr(self, 'client'):\n"
            "            self.client = make_client()\n"
            "        context.seen = True\n"
            "        emit(self, 'started')\n"
            "        track(self, 'respond')\n"
            "        setattr(context, 'seen', True)\n"
            "        setattr(thread, 'title', 'Trip')\n"
            "        context.reset()\n"
            "        tools.reset()\n"
            "        yield None\n\n"
            "    def reset(self):\n"
            "        self.cache = {}\n",
            filename="server.py",
            name="hasattr lazy init, a write to the context, helpers given self",
        ),
        Valid(
            {
                "app/server.py":
                    "from agents import Runner, SQLiteSession\n"
                    "from chatkit.server import ChatKitServer\n"
                    "from app.registry import remember_stream, configure\n\n\n"
                    "class Server(ChatKitServer[dict]):\n"
                    "    def set_mode(self, mode):\n"
                    "        self.mode = mode\n\n"
                    "    async def respond(self, thread, item, context):\n"
                    "        remember_stream(thread.id, item)\n"
                    "        configure()\n"
                    "        session = SQLiteSession(thread.id, 'history.db')\n"
                    "        result = Runner.run_streamed(self.agent, item.content[0].text, session=session)\n"
                    "        yield self.mode\n",
                "app/__init__.py": "",
                "app/registry.py":
                    "_streams = {}\n_client = None\n\n\n"
                    "def remember_stream(thread_id, item):\n"
                    "    _streams[thread_id] = item\n\n\n"
                    "def configure():\n"
                    "    global _client\n"
                    "    if _client is None:\n"
                    "        _client = object()\n",
            },
            name="keyed registry, lazy client, per-thread session, a setter no endpoint calls",
        ),
    ],
    invalid=[
        Invalid(
            "from chatkit.server import ChatKitServer\n\n\n"
            "class Server(ChatKitServer[dict]):\n"
            "    async def respond(self, thread, input, context):\n"
            "        if self.debug:\n"
            "            self.last_input = input\n"
            "        if context.get('mode') == 'fast':\n"
            "            self.mode = 'fast'\n"
            "        if self.verbose:\n"
            "            self.history = input\n"
            "        if context.draft:\n"
            "            self.draft = context.draft\n"
            "        if thread.topic:\n"
            "            self.topic = thread.topic\n"
            "        yield None\n",
            None,
            filename="server.py",
            findings=[(7, 13, "respond() keeps self.last_input on the server instance"),
                      (9, 13, "respond() keeps self.mode on the server instance"),
                      (11, 13, "respond() keeps self.history on the server instance"),
                      (13, 13, "respond() keeps self.draft on the server instance"),
                      (15, 13, "respond() keeps self.topic on the server instance")],
            name="writes under a condition on something else are request state too",
        ),
        Invalid(
            "from chatkit.server import ChatKitServer\n\n\n"
            "class IncidentChatKitServer(ChatKitServer):\n"
            "    def __init__(self):\n"
            "        super().__init__(store=chat_store)\n"
            "        self.accumulated_text = ''\n\n"
            "    async def respond(self, thread, input, context):\n"
            "        self.accumulated_text = ''\n"
            "        async for event in self.events(input):\n"
            "            yield self._transform(event)\n\n"
            "    def _transform(self, event):\n"
            "        self.accumulated_text += event.text\n"
            "        return event\n",
            None,
            filename="chatkit_server.py",
            findings=[(10, 9, "respond() keeps self.accumulated_text on the server instance,")],
            name="accumulated text on self",
        ),
        Invalid(
            "import chatkit.server\n\n"
            "current_user = None\n\n\n"
            "class Bot(chatkit.server.ChatKitServer[dict]):\n"
            "    async def respond(self, thread, item, context):\n"
            "        global current_user\n"
            "        current_user = context['user']\n"
            "        self.thread_id, self.ctx = thread.id, context\n"
            "        yield await self.answer(item)\n\n"
            "    async def answer(self, item):\n"
            "        setattr(self, 'last_item', item)\n"
            "        return item\n",
            None,
            filename="bot.py",
            findings=[
                (8, 9, "respond() writes the module global current_user"),
                (10, 25, "respond() keeps self.ctx on the server instance, which every request shares"),
                (10, 9, "respond() keeps self.thread_id on the server instance,"),
                (14, 9, "answer() keeps self.last_item on the server instance, which every request shares"),
            ],
            name="global, tuple target, setattr in a helper",
        ),
        Invalid(
            "from chatkit.server import ChatKitServer as Base\n\n\n"
            "class MerakServer(Base['Ctx']):\n"
            "    async def action(self, thread, action, sender, context):\n"
            "        self.current_user: str = context.user_id\n"
            "        self.counter += 1\n"
            "        yield self.widget_for(action)\n",
            None,
            filename="app/integrations/chatkit_server.py",
            findings=[
                (6, 9, "action() keeps self.current_user on the server instance,"),
                (7, 9, "action() keeps self.counter on the server instance, which every request shares"),
            ],
            name="action(), annotated and augmented writes",
        ),
        Invalid(
            {
                "app/server.py":
                    "from chatkit.server import ChatKitServer\n\n\n"
                    "class ToolServer(ChatKitServer[dict]):\n"
                    "    async def respond(self, thread, item, context):\n"
                    "        from app.tools.search import bind_search\n"
                    "        from app.tools import files\n"
                    "        bind_search(context['user_id'], context['db'])\n"
                    "        files.bind_files(context['user_id'])\n"
                    "        yield item\n",
                "app/__init__.py": "",
                "app/tools/__init__.py": "",
                "app/tools/search.py":
                    "_search_context = {}\n\n\n"
                    "def bind_search(user_id, session):\n"
                    "    _search_context['user_id'] = user_id\n"
                    "    _search_context['db'] = session\n",
                "app/tools/files.py":
                    "_current_user = None\n\n\n"
                    "def bind_files(user_id):\n"
                    "    _remember(user_id)\n\n\n"
                    "def _remember(user_id):\n"
                    "    global _current_user\n"
                    "    _current_user = user_id\n",
            },
            None,
            findings=[
                ("app/server.py", 8, 9, "respond() calls bind_search(), which stores request data in "
                                        "_search_context['user_id'] of module state (search.py:5)"),
                ("app/server.py", 9, 9, "respond() calls bind_files() -> _remember(), which stores request data in "
                                        "the module global _current_user (files.py:10)"),
            ],
            name="helpers of other modules that keep request data in module state",
        ),
        Invalid(
            {
                "main.py":
                    "from fastapi import FastAPI, Request\n"
                    "from fastapi.responses import Response\n"
                    "from server import TodoServer\n\n"
                    "app = FastAPI()\n"
                    "server = TodoServer(store)\n\n\n"
                    "@app.post('/chatkit')\n"
                    "async def chatkit(request: Request):\n"
                    "    server.bind_user(request.headers.get('x-user'))\n"
                    "    result = await server.process(await request.body(), {})\n"
                    "    return Response(result.json)\n",
                "server.py":
                    "from chatkit.server import ChatKitServer\n\n\n"
                    "class TodoServer(ChatKitServer[dict]):\n"
                    "    def __init__(self, store):\n"
                    "        super().__init__(store)\n"
                    "        self._user_id = None\n\n"
                    "    def bind_user(self, user_id):\n"
                    "        self._user_id = user_id\n\n"
                    "    async def respond(self, thread, item, context):\n"
                    "        yield self._user_id\n",
            },
            None,
            findings=[("server.py", 10, 9, "bind_user() keeps self._user_id on the server instance and the endpoint "
                                           "chatkit() calls it on every request")],
            name="a setter the endpoint calls on every request",
        ),
        Invalid(
            "import uuid\n"
            "from agents import Runner, SQLiteSession\n"
            "from chatkit.server import ChatKitServer\n\n\n"
            "class ExamServer(ChatKitServer[dict]):\n"
            "    def __init__(self, store, agent):\n"
            "        super().__init__(store)\n"
            "        self.memory = SQLiteSession(uuid.uuid4().hex)\n"
            "        self.agent = agent\n\n"
            "    async def respond(self, thread, item, context):\n"
            "        result = Runner.run_streamed(self.agent, item.content[0].text, session=self.memory)\n"
            "        async for event in result.stream_events():\n"
            "            yield event\n",
            None,
            filename="app/server.py",
            findings=[(9, 23, "self.memory is one Agents SDK session created once for the server")],
            name="one conversation memory for every thread",
        ),
    ],
)
