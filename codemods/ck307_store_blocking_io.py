"""Async store methods must not make blocking database or HTTP calls.

## Why
ChatKit awaits every store method on the event loop that serves all requests. A synchronous call inside an
`async def` (SQLModel/SQLAlchemy `Session.exec()`/`commit()`, `sqlite3`, `psycopg2`, `requests.get()`, the Django ORM
without `sync_to_async`) stops that loop until the database or the remote server answers: every other user's stream
freezes meanwhile, and under load requests time out. Django refuses outright with `SynchronousOnlyOperation: You
cannot call this from an async context`. The code looks fine in a one-user test, which is why it ships.

## Wrong
```python
async def load_thread(self, thread_id: str, context: RequestContext) -> ThreadMetadata:
    with Session(engine) as session:
        row = session.get(ChatKitThread, thread_id)
```

## Right
```python
async def load_thread(self, thread_id: str, context: RequestContext) -> ThreadMetadata:
    async with AsyncSession(async_engine) as session:
        row = await session.get(ChatKitThread, thread_id)
```
or keep the synchronous code and run it in a worker thread:
`row = await asyncio.to_thread(self._load_row, thread_id)`. Calls already inside `asyncio.to_thread`,
`loop.run_in_executor`, `sync_to_async` or `run_in_threadpool` are fine. One finding per blocking call; no automatic
fix (the right change depends on the driver).
"""

from __future__ import annotations

import ast

from chatkit_fix.analysis import store as st
from chatkit_fix.findings import Safety
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK307",
    slug="store-blocking-io",
    safety=Safety.REPORT,
    summary="blocking DB or HTTP calls (sqlite3, sync SQLAlchemy/SQLModel sessions, psycopg2, requests, Django ORM) in async store methods",
    url="https://docs.python.org/3/library/asyncio-dev.html#running-blocking-code",
    triggers=st.STORE_TRIGGERS,
    module=__name__,
    explanation=__doc__,
    finding_triggers=(b"Store", b"load_thread"),
)


@st.check_store_classes(RULE)
def _check_class(ctx, store: st.StoreClass):
    for function in store.methods.values():
        if not isinstance(function, ast.AsyncFunctionDef):
            continue
        for blocking in st.blocking_calls(ctx, function, store.node):
            yield ctx.finding(
                ctx.header_span(blocking.call),
                f"{store.name}.{function.name}() is async but calls {blocking.what}, which blocks the event loop: "
                "every other request waits meanwhile",
                hint=blocking.remedy,
            )


_SQLMODEL = '''from sqlmodel import Session, select

from chatkit.store import NotFoundError, Store
from app.database import engine


class PostgresStore(Store["RequestContext"]):
    def _get_session(self) -> Session:
        return Session(engine)

    async def load_thread(self, thread_id: str, context: "RequestContext"):
        with self._get_session() as session:
            row = session.get(ChatKitThread, thread_id)
            if not row:
                raise NotFoundError(thread_id)
            return row

    async def save_thread(self, thread, context: "RequestContext") -> None:
        with self._get_session() as session:
            session.add(ChatKitThread(id=thread.id))
            session.commit()
'''

_CONTEXT_SESSION = '''from sqlmodel import Session, select
from chatkit.server import ChatKitServer, StreamingResult
from chatkit.store import Store


class DatabaseStore(Store[dict]):
    async def load_threads(self, limit, after, order, context: dict):
        session: Session = context["session"]
        query = select(Conversation).where(Conversation.user_id == context["user_id"])
        conversations = session.exec(query.limit(limit)).all()
        return conversations
'''

_SQLITE = '''import sqlite3
import requests

from chatkit.store import Store


class SqliteStore(Store):
    def __init__(self):
        self.conn = sqlite3.connect("chat.db")

    def _rows(self, thread_id):
        return self.conn.execute("select data from items where thread_id = ?", (thread_id,)).fetchall()

    async def load_thread_items(self, thread_id, after, limit, order, context):
        rows = self._rows(thread_id)
        requests.post("https://hooks.example.com/audit", json={"thread": thread_id})
        return rows
'''

_DJANGO = '''from django.db import models
from chatkit.store import Store

from .models import Thread


class DjangoStore(Store):
    async def load_thread(self, thread_id, context):
        return Thread.objects.filter(id=thread_id, owner=context["user"]).first()

    async def delete_thread(self, thread_id, context):
        await Thread.objects.filter(id=thread_id).adelete()
'''

_WRAPPED = '''import asyncio

from asgiref.sync import sync_to_async
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Session

from chatkit.store import Store


class NeonPostgresStore(Store[dict]):
    async def load_thread(self, thread_id, context):
        def query():
            with Session(engine) as session:
                return session.get(Thread, thread_id)
        return await asyncio.to_thread(query)

    async def save_thread(self, thread, context):
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, lambda: self.session.commit())

    async def load_item(self, thread_id, item_id, context):
        async with AsyncSession(async_engine) as session:
            return await session.get(Item, item_id)

    async def delete_thread(self, thread_id, context):
        @sync_to_async
        def delete():
            Thread.objects.filter(id=thread_id).delete()
        await delete()
'''

RULE.cases(
    valid=[
        Valid(_WRAPPED, filename="store/neon_store.py", name="thread wrappers and an async session"),
        Valid(
            "import httpx\nfrom chatkit.store import Store\n\n\nclass ApiStore(Store):\n"
            "    async def load_thread(self, thread_id, context):\n"
            "        async with httpx.AsyncClient() as client:\n            response = await client.get(f'/threads/{thread_id}')\n"
            "        return response.json()\n",
            filename="services/thread_store.py",
            name="httpx.AsyncClient",
        ),
        Valid(
            "import sqlite3\nfrom chatkit.store import Store\n\n\nclass SqliteStore(Store):\n"
            "    def migrate(self):\n        self.conn.execute('create table t (id text)')\n",
            filename="store.py",
            name="blocking call in a sync helper nobody awaits",
        ),
    ],
    invalid=[
        Invalid(_SQLMODEL, None, filename="backend/app/chatkit_store.py", findings=[(13, 19, "PostgresStore.load_thread() is async"), (21, 13, "PostgresStore.save_thread() is async")], name="SQLModel session from a helper"),
        Invalid(_CONTEXT_SESSION, None, filename="backend/api/v1/endpoints/chatkit.py", findings=[(10, 25, "DatabaseStore.load_threads() is async")], name="session from the context"),
        Invalid(_SQLITE, None, filename="store/sqlite_store.py", findings=[(15, 16, "SqliteStore.load_thread_items() is async but calls self._rows()"), (16, 9, "SqliteStore.load_thread_items() is async but calls requests.post(),")], name="sqlite3 through a sync helper, requests"),
        Invalid(_DJANGO, None, filename="chat/store.py", findings=[(9, 16, "DjangoStore.load_thread() is async but calls Django ORM .objects.first(),")], name="Django ORM without sync_to_async"),
    ],
)


RULE.cases(
    invalid=[
        Invalid(
            {"store/sqlite_store.py": "import sqlite3\n\n\nclass ThreadStore:\n    def __init__(self, path):\n"
                                      "        self.path = path\n\n    async def load_thread(self, thread_id, context):\n"
                                      "        with sqlite3.connect(self.path) as conn:\n"
                                      "            row = conn.execute('select data from threads where id = ?', (thread_id,)).fetchone()\n"
                                      "        return row\n",
             "app/main.py": "from chatkit.server import ChatKitServer\nfrom store.sqlite_store import ThreadStore\n\n\n"
                            "class MerakChatKitServer(ChatKitServer):\n    async def respond(self, thread, input, context):\n        yield None\n\n\n"
                            "def build():\n    store = ThreadStore('chat.db')\n    return MerakChatKitServer(store=store)\n"},
            None,
            findings=[
                ("store/sqlite_store.py", 9, 14, "ThreadStore.load_thread() is async but calls sqlite3.connect(),"),
                ("store/sqlite_store.py", 10, 19, "ThreadStore.load_thread() is async but calls sqlite3 execute(),"),
            ],
            name="sqlite3 in a store class handed over from another file",
        ),
    ],
)
