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
    stores = st.project_store_classes(pctx)
    served = set()
    for instantiation in st.server_store_instantiations(pctx):
        resolved = st.resolve_class(pctx, instantiation.ctx, instantiation.call.func)
        if resolved is not None:
            served.add((resolved[0].path, resolved[1].lineno))
    if served:
        stores = [s for s in stores if (s.path, s.node.lineno) in served]
    else:
        stores = [s for s in stores if not s.is_abstract()]
    source = identities[0]
    where = f"{pctx.project.relative(source.ctx.path)}:{source.ctx.line_of(source.call)}"
    for store in stores:
        contract = st.contract(pctx.project, store.path)
        if _reads_context(store, contract, set(contract.by_name)):
            continue
        ctx = pctx.parsed(store.path)
        if ctx is None:
            continue
        yield ctx.finding(
            ctx.header_span(store.node),
            f"no method of {store.name} reads `context`, yet {where} passes the signed-in user in it "
            f"({source.evidence}): every user can list and open every thread",
            hint="store the owner with each thread and filter every load, list and delete by the user in context",
        )


def _reads_context(store: st.StoreClass, contract, names: set[str]) -> bool:
    methods = dict(store.inherited) | dict(store.methods)
    for name, function in methods.items():
        method = contract.by_name.get(name)
        if method is None or "context" not in method.params:
            continue
        param = st.param_for(function, method, "context")
        if param is not None and st.reads_name(function, param, names):
            return True
    return False


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
                 "backend/requirements.txt": "openai-chatkit\n"}, None, findings=[("backend/app/chatkit_store.py", 4, 1, "no method of MemoryStore reads `context`")], name="JWT user in the context, store in another file"),
        Invalid(_TASKPILOT, None, filename="backend/routes/chatkit.py", findings=[(6, 1, "no method of CustomChatKitStore reads `context`")], name="one-file back end, ad-hoc context object"),
        Invalid({"backend/app/chatkit_store.py": _STORE + _ARCHIVE, "backend/main.py": _MAIN_JWT,
                 "backend/app/chatkit_server.py": _SERVER, "backend/requirements.txt": "openai-chatkit\n"}, None,
                findings=[("backend/app/chatkit_store.py", 4, 1,
                           "no method of MemoryStore reads `context`, yet backend/main.py:20 passes the signed-in user")],
                name="only the store the server is given: another class in the file is not served"),
        Invalid({"backend/app/chatkit_store.py": _FAMILY,
                 "backend/main.py": _MAIN_JWT.replace("from app.chatkit_store import MemoryStore", "from app.chatkit_store import make_store")
                 .replace("chatkit_store = MemoryStore()", "chatkit_store = make_store()"),
                 "backend/app/chatkit_server.py": _SERVER, "backend/requirements.txt": "openai-chatkit\n"}, None,
                findings=[("backend/app/chatkit_store.py", 28, 1, "no method of SharedStore reads `context`")],
                name="the store comes from a factory: every concrete store, not the abstract base"),
    ],
)
