"""When the app signs users in, the store must use the identity ChatKit hands it in `context`.

## Why
Every store method receives the `context` the endpoint passed to `ChatKitServer.process(body, context)`. When the
endpoint puts the signed-in user there (`{"user_id": user.id}`, `RequestContext(user_id=...)`) but no store method
ever reads `context`, the store serves every thread to everyone: `threads.list` shows all users' conversations,
and any thread id loads, whoever owns it. Nothing fails, so it goes unnoticed until someone looks.

This rule fires only when an identity reaches the context given to `process()`; a demo with no sign-in is fine.

## Wrong
```python
result = await server.process(await request.body(), {"user_id": current_user.id})

class MemoryStore(Store[dict]):
    async def load_threads(self, limit, after, order, context):
        return self._paginate(list(self.threads.values()), after, limit)
```

## Right
```python
class MemoryStore(Store[dict]):
    async def save_thread(self, thread, context):
        self.owners[thread.id] = context["user_id"]
        self.threads[thread.id] = thread

    async def load_threads(self, limit, after, order, context):
        mine = [t for t in self.threads.values() if self.owners.get(t.id) == context["user_id"]]
        return self._paginate(mine, after, limit)
```
Scope every read and write by the user (and raise `NotFoundError` for another user's thread). No automatic fix:
where the owner is stored depends on your schema.
"""

from __future__ import annotations

from chatkit_fix.analysis import store as st
from chatkit_fix.findings import Safety
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK306",
    slug="store-ignores-context",
    safety=Safety.REPORT,
    summary="the app passes the signed-in user in the context, but no store method reads context: users see each other's threads",
    url="https://openai.github.io/chatkit-python/guides/respond-to-user-message",
    module=__name__,
    explanation=__doc__,
    finding_triggers=(b"Store", b"load_thread"),
)


@RULE.check_project
def check_project(pctx):
    identities = st.identity_contexts(pctx)
    if not identities:
        return
    classes = {(s.path, s.node.lineno): s for s in st.project_store_classes(pctx)}
    bindings = [b for b in st.server_stores(pctx) if not b.attachments and not b.fallback]
    reported: set[tuple] = set()
    for identity in identities:
        for store in _stores_served(pctx, identity, classes, bindings):
            key = (store.path, store.node.lineno)
            if key in reported:
                continue
            keys, opaque = st.identity_reads(pctx.model, store)
            wanted = identity.keys
            if opaque or (keys & wanted if wanted is not None else any(st.IDENTITY.search(k) for k in keys)):
                continue
            ctx = pctx.parsed(store.path)
            if ctx is None:
                continue
            reported.add(key)
            where = f"{pctx.project.relative(identity.ctx.path)}:{identity.ctx.line_of(identity.call)}"
            read = f" (it reads only {', '.join(sorted(keys))})" if keys else ""
            yield ctx.finding(
                ctx.header_span(store.node),
                f"no method of {store.name} reads the signed-in user that {where} passes in `context` "
                f"({identity.evidence}){read}: every user can list and open every thread",
                hint="store the owner with each thread and filter every load, list and delete by the user in context",
            )


def _stores_served(pctx, identity, classes, bindings):
    """The store classes of the server the `process()` call is made on; every served store when the call's server
    cannot be told (the non-abstract store classes when no server construction is seen at all)."""
    servers = st.process_servers(pctx, identity)
    chosen = [b for b in bindings if servers is not None and b.server in servers] or bindings
    if not chosen:  # the classes nothing derives from: a base or a mixin is judged through its subclasses
        bases = {id(holder) for s in classes.values() for _, holder in s.lineage[1:]}
        return [s for s in classes.values() if not s.is_abstract() and id(s.node) not in bases]
    stores = []
    for binding in chosen:
        resolved = st.resolve_class(pctx, binding.ctx, binding.call.func)
        store = classes.get((resolved[0].path, resolved[1].lineno)) if resolved is not None else None
        if store is not None and store not in stores:
            stores.append(store)
    return stores


_STORE = '''from chatkit.store import NotFoundError, Store


class MemoryStore(Store[dict]):
    def __init__(self):
        self._threads = {}

    async def load_thread(self, thread_id: str, context: dict):
        if thread_id not in self._threads:
            raise NotFoundError(thread_id)
        return self._threads[thread_id]

    async def save_thread(self, thread, context: dict) -> None:
        self._threads[thread.id] = thread

    async def save_item(self, thread_id, item, context: dict) -> None:
        await self.add_thread_item(thread_id, item, context)
'''

_MAIN_JWT = '''from fastapi import FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from chatkit.server import StreamingResult

from app.chatkit_store import MemoryStore
from app.chatkit_server import AppChatKitServer

app = FastAPI()
chatkit_store = MemoryStore()
chatkit_server = AppChatKitServer(chatkit_store)


@app.post("/chatkit")
async def chatkit_endpoint(request: Request):
    user_id = "anonymous"
    auth_header = request.headers.get("authorization", "")
    if auth_header.startswith("Bearer "):
        payload = decode_access_token(auth_header[7:])
        user_id = payload.get("sub", "anonymous")
    result = await chatkit_server.process(await request.body(), {"request": request, "user_id": user_id})
    if isinstance(result, StreamingResult):
        return StreamingResponse(result, media_type="text/event-stream")
    return Response(content=result.json, media_type="application/json")
'''

_SERVER = '''from chatkit.server import ChatKitServer


class AppChatKitServer(ChatKitServer[dict]):
    async def respond(self, thread, input_user_message, context):
        yield None
'''

_TASKPILOT = '''from fastapi import APIRouter, Request
from chatkit.server import ChatKitServer
from chatkit.store import Store


class CustomChatKitStore(Store):
    def __init__(self):
        self.threads = {}

    async def load_thread(self, thread_id: str, context):
        return self.threads[thread_id]

    async def save_thread(self, thread, context) -> None:
        self.threads[thread.id] = thread


class MyChatKitServer(ChatKitServer):
    def __init__(self):
        store = CustomChatKitStore()
        super().__init__(store=store)

    async def respond(self, thread, input, context):
        yield None


chatkit_server = MyChatKitServer()
router = APIRouter()


@router.post("/chatkit")
async def chatkit_protocol_endpoint(request: Request):
    user_id = getattr(request.state, "user_id", None)
    context = type('Context', (), {'user_id': user_id, 'request': request})()
    return await chatkit_server.process(await request.body(), context)
'''

_SCOPED = _STORE.replace('''        if thread_id not in self._threads:''', '''        if thread_id not in self._threads or self._owners.get(thread_id) != context["user_id"]:''')

_ARCHIVE = '''

class ArchiveStore(Store[dict]):
    async def load_thread(self, thread_id: str, context: dict):
        raise NotFoundError(thread_id)
'''

_FAMILY = '''import os
from abc import ABC

from chatkit.store import NotFoundError, Store


class BaseStore(Store[dict], ABC):
    def __init__(self):
        self._threads = {}

    async def load_thread(self, thread_id: str, context: dict):
        if thread_id not in self._threads:
            raise NotFoundError(thread_id)
        return self._threads[thread_id]

    async def save_thread(self, thread, context: dict) -> None:
        self._threads[thread.id] = thread


class ScopedStore(BaseStore):
    async def load_thread(self, thread_id: str, context: dict):
        thread = await super().load_thread(thread_id, context)
        if thread.metadata.get("owner") != context["user_id"]:
            raise NotFoundError(thread_id)
        return thread


class SharedStore(BaseStore):
    pass


def make_store():
    return ScopedStore() if os.environ.get("SCOPED") else SharedStore()
'''

_DEMO = _MAIN_JWT.replace('''    user_id = "anonymous"
    auth_header = request.headers.get("authorization", "")
    if auth_header.startswith("Bearer "):
        payload = decode_access_token(auth_header[7:])
        user_id = payload.get("sub", "anonymous")
    result = await chatkit_server.process(await request.body(), {"request": request, "user_id": user_id})''',
                          '''    result = await chatkit_server.process(await request.body(), {"request": request})''')

RULE.cases(
    valid=[
        Valid({"backend/app/chatkit_store.py": _STORE, "backend/main.py": _DEMO, "backend/app/chatkit_server.py": _SERVER,
               "backend/requirements.txt": "openai-chatkit\n"}, name="demo without sign-in"),
        Valid({"backend/app/chatkit_store.py": _SCOPED, "backend/main.py": _MAIN_JWT, "backend/app/chatkit_server.py": _SERVER,
               "backend/requirements.txt": "openai-chatkit\n"}, name="store scopes by user"),
        Valid(
            {"app/main.py": _MAIN_JWT.replace("{\"request\": request, \"user_id\": user_id}", "{\"user_id\": \"demo\"}"),
             "app/chatkit_store.py": _STORE, "app/chatkit_server.py": _SERVER},
            name="a literal user id is a demo",
        ),
    ],
    invalid=[
        Invalid({"backend/app/chatkit_store.py": _STORE, "backend/main.py": _MAIN_JWT, "backend/app/chatkit_server.py": _SERVER,
                 "backend/requirements.txt": "openai-chatkit\n"}, None, findings=[("backend/app/chatkit_store.py", 4, 1, "no method of MemoryStore reads the signed-in user that backend/main.py:20 passes in `context` (user_id)")], name="JWT user in the context, store in another file"),
        Invalid(_TASKPILOT, None, filename="backend/routes/chatkit.py", findings=[(6, 1, "no method of CustomChatKitStore reads the signed-in user")], name="one-file back end, ad-hoc context object"),
        Invalid({"backend/app/chatkit_store.py": _STORE + _ARCHIVE, "backend/main.py": _MAIN_JWT,
                 "backend/app/chatkit_server.py": _SERVER, "backend/requirements.txt": "openai-chatkit\n"}, None,
                findings=[("backend/app/chatkit_store.py", 4, 1,
                           "no method of MemoryStore reads the signed-in user that backend/main.py:20 passes in `context`")],
                name="only the store the server is given: another class in the file is not served"),
        Invalid({"backend/app/chatkit_store.py": _FAMILY,
                 "backend/main.py": _MAIN_JWT.replace("from app.chatkit_store import MemoryStore", "from app.chatkit_store import make_store")
                 .replace("chatkit_store = MemoryStore()", "chatkit_store = make_store()"),
                 "backend/app/chatkit_server.py": _SERVER, "backend/requirements.txt": "openai-chatkit\n"}, None,
                findings=[("backend/app/chatkit_store.py", 28, 1, "no method of SharedStore reads the signed-in user")],
                name="the store comes from a factory: every concrete store, not the abstract base"),
    ],
)


_METADATA_ONLY = {
    "app/stores/threads.py": "class ThreadMixin:\n    async def load_threads(self, limit, after, order, context):\n"
                             "        request = context.get(\"chatkit_request\")\n"
                             "        return await self._page(self.threads, request, limit, after)\n",
    "app/stores/store.py": "from chatkit.store import Store\n\nfrom app.stores.threads import ThreadMixin\n\n\n"
                           "class SqliteChatKitStore(ThreadMixin, Store[dict]):\n    def __init__(self):\n        self.threads = []\n",
    "app/routers/chatkit.py": "from fastapi import APIRouter, Request\nfrom chatkit.server import ChatKitServer\n\n"
                              "from app.stores.store import SqliteChatKitStore\n\n\n"
                              "class WorkflowServer(ChatKitServer[dict]):\n    async def respond(self, thread, item, context):\n        yield None\n\n\n"
                              "server = WorkflowServer(SqliteChatKitStore())\nrouter = APIRouter()\n\n\n"
                              "@router.post(\"/chatkit\")\nasync def chatkit(request: Request):\n"
                              "    auth = await authenticate(request)\n"
                              "    context = {\"chatkit_request\": request, \"actor\": auth.actor}\n"
                              "    if auth.subject is not None:\n        context[\"subject\"] = auth.subject\n"
                              "    return await server.process(await request.body(), context)\n",
}

_TWO_SERVERS = {
    "app/routers/users.py": "from fastapi import APIRouter, Depends, Request\nfrom chatkit.server import ChatKitServer\nfrom chatkit.store import Store\n\n"
                            "from app.owners import owner_of\n\n\n"
                            "class ScopedStore(Store[dict]):\n    async def load_threads(self, limit, after, order, context):\n"
                            "        return [t for t in self.threads if t.owner == owner_of(context)]\n\n\n"
                            "class UserServer(ChatKitServer[dict]):\n    async def respond(self, thread, item, context):\n        yield None\n\n\n"
                            "user_server = UserServer(ScopedStore())\nrouter = APIRouter()\n\n\n"
                            "@router.post(\"/agent/chatkit\")\nasync def chat(request: Request, user=Depends(current_user)):\n"
                            "    return await user_server.process(await request.body(), {\"user_id\": user.id})\n",
    "app/owners.py": "def owner_of(context):\n    return context[\"user_id\"]\n",
    "app/routers/inventory.py": "from fastapi import APIRouter, Request\nfrom chatkit.server import ChatKitServer\nfrom chatkit.store import Store\n\n\n"
                                "class InventoryStore(Store[dict]):\n    async def load_threads(self, limit, after, order, context):\n"
                                "        return list(self.threads)\n\n\n"
                                "class InventoryServer(ChatKitServer[dict]):\n    async def respond(self, thread, item, context):\n        yield None\n\n\n"
                                "inventory_server = InventoryServer(InventoryStore())\nrouter = APIRouter()\n\n\n"
                                "@router.post(\"/inventory/chatkit\")\nasync def chat(request: Request):\n"
                                "    return await inventory_server.process(await request.body(), {\"headers\": dict(request.headers)})\n",
}

RULE.cases(
    valid=[
        Valid(_TWO_SERVERS, name="each process() call is judged against its own server's store; identity read by a helper"),
        Valid({**{k: v for k, v in _TWO_SERVERS.items() if k != "app/routers/inventory.py"},
               "app/routers/users.py": _TWO_SERVERS["app/routers/users.py"]
               .replace("user_server = UserServer(ScopedStore())",
                        "try:\n    store = ScopedStore()\nexcept Exception:\n    store = MemoryStore()\nuser_server = UserServer(store)")
               .replace("from app.owners import owner_of\n", "from app.owners import owner_of\nfrom app.memory import MemoryStore\n"),
               "app/memory.py": "from chatkit.store import Store\n\n\nclass MemoryStore(Store[dict]):\n"
                                "    async def load_threads(self, limit, after, order, context):\n        return list(self.threads)\n"},
              name="a fallback store built only when the main one fails"),
    ],
    invalid=[
        Invalid(_METADATA_ONLY, None,
                findings=[("app/stores/store.py", 6, 1, "(it reads only chatkit_request)")],
                name="context read for request metadata, never for the actor or subject it carries"),
    ],
)
