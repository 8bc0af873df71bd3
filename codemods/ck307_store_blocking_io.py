"""Async store methods must not make blocking database or HTTP calls.

## Why
ChatKit awaits every store method on the event loop that serves all requests. A synchronous call inside an
`async def` (SQLModel/SQLAlchemy `Session.exec()`/`commit()`, an executed `Query`, `sqlite3`, `psycopg2`,
`requests.get()`, a synchronous Redis, MongoDB, boto3, Azure Cosmos or MinIO client, the Django ORM without
`sync_to_async`) stops that loop until the database or the remote server answers: every other user's stream freezes
meanwhile, and under load requests time out. Django refuses outright with `SynchronousOnlyOperation: You cannot call
this from an async context`. The code looks fine in a one-user test, which is why it ships.

The blocking call may sit in the method itself or in a helper it calls (a method of the class or of a mixin, a
function of another module), a few calls deep; the finding names the calls and the chain that reaches them. Attachment
stores count too: ChatKit awaits their methods on the same loop.

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
`loop.run_in_executor`, `sync_to_async`, `run_in_threadpool` or a helper of the project that hands its callback to
one of them are fine. Building a query (`session.query(Thread).filter(...)`) is not I/O; running it (`.all()`,
`.first()`, iterating it) is. One finding per async store method, on its `def` line; no automatic fix (the right
change depends on the driver). Test doubles under `tests/` are not served stores and are not reported.
"""

from __future__ import annotations

import ast

from chatkit_fix.analysis import store as st
from chatkit_fix.findings import Safety
from chatkit_fix.model.effects.blocking import alternative
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
    finding_triggers=(b"async def",),
)

# methods ChatKit awaits on an attachment store besides the Store contract's (two-phase uploads)
ATTACHMENT_STORE_METHODS = ("create_attachment", "delete_attachment")
SHOWN = 3  # blocking calls a message names before "and N more"


@RULE.check_project
def check(pctx):
    methods: dict[int, tuple] = {}
    for store in [*st.project_store_classes(pctx), *st.attachment_store_classes(pctx)]:
        names = {method.name for method in st.contract(pctx.project, store.path).methods} | set(ATTACHMENT_STORE_METHODS)
        for name, (module, function) in store.method_defs().items():
            if name in names and isinstance(function, ast.AsyncFunctionDef):
                methods.setdefault(id(function), (module, function))
    for module, function in methods.values():
        # a call of another store method is that method's finding, not this one's
        facts = [
            fact for fact in st.blocking_facts(pctx.model, module, function)
            if not any(site.callee is not None and id(site.callee.node) in methods for site in fact.via)
        ]
        ctx = pctx.parsed(module.path) if facts else None
        if ctx is not None:
            yield _finding(ctx, module, function, facts)


def _finding(ctx, module, function, facts):
    shortest: dict[tuple, object] = {}  # one entry per line that blocks, reached by its shortest chain
    for fact in facts:
        line = (fact.module.path, fact.node.lineno)
        known = shortest.get(line)
        if known is None or _rank(fact) < _rank(known):
            shortest[line] = fact
    ordered = sorted(shortest.values(), key=lambda f: (len(f.via), f.module.path != module.path, f.node.lineno))
    shown = [_describe(fact, module) for fact in ordered[:SHOWN]]
    more = len(ordered) - len(shown)
    listing = "; ".join(shown) + (f"; and {more} more" if more else "")
    owner = module.qualified_names.get(function, function.name)
    remedy = alternative(ordered[0].what)
    hint = (f"use {remedy}, " if remedy else "") + "or run the blocking code in a worker thread: await asyncio.to_thread(...)"
    return ctx.finding(
        ctx.header_span(function),
        f"{owner}() is async but blocks the event loop: {listing}; every other request waits meanwhile",
        hint=hint,
    )


def _rank(fact) -> tuple[int, int, int]:
    """Shorter chains first; on one line, the call that starts first and ends first (`conn.execute(...)` before the
    `.fetchall()` made on its result)."""
    return len(fact.via), fact.node.col_offset, getattr(fact.node, "end_col_offset", 0) or 0


def _describe(fact, module) -> str:
    """`sqlite3 cursor.execute() (line 12) through self._rows()`."""
    where = f"line {fact.node.lineno}" if fact.module.path == module.path else f"{fact.module.name or fact.module.path.name}:{fact.node.lineno}"
    text = f"{fact.what} ({where})"
    if fact.via:
        text += f" through {st.chain_text(fact)}"
    return text


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

_OFFLOADED_HELPER = '''import asyncio

from sqlalchemy.orm import Session, sessionmaker

from chatkit.store import Store

SessionLocal = sessionmaker()


class PostgresStore(Store[dict]):
    async def _run(self, work):
        return await asyncio.to_thread(self._run_sync, work)

    def _run_sync(self, work):
        with SessionLocal() as session:
            return work(session)

    async def load_thread(self, thread_id, context):
        def load(session: Session):
            return session.get(Thread, thread_id)

        return await self._run(load)

    async def load_threads(self, limit, after, order, context):
        query = SessionLocal().query(Thread).filter(Thread.owner == context["user"])
        return await asyncio.to_thread(query.all)
'''

_QUERY_VARIABLE = '''from sqlalchemy.orm import Session

from chatkit.store import Store


class PostgreSQLStore(Store[dict]):
    def __init__(self, session_factory):
        self.session_factory = session_factory

    @property
    def db(self) -> Session:
        return self.session_factory()

    async def load_threads(self, limit, after, order, context):
        query = self.db.query(ThreadRow)
        if after:
            query = query.filter(ThreadRow.id > after)
        rows = query.order_by(ThreadRow.created_at).limit(limit).all()
        return rows

    async def delete_thread(self, thread_id, context):
        pending = self.db.query(ThreadRow).filter(ThreadRow.id == thread_id)
        return pending
'''

_CALLBACK_INLINE = '''import sqlite3

from chatkit.store import Store


class SqliteStore(Store):
    def _with_connection(self, work):
        connection = sqlite3.connect("chat.db")
        try:
            return work(connection)
        finally:
            connection.close()

    async def load_item(self, thread_id, item_id, context):
        def read(connection):
            return connection.execute("select data from items where id = ?", (item_id,)).fetchone()

        return self._with_connection(read)
'''

_DELEGATING = '''import requests

from chatkit.store import Store


class ApiStore(Store):
    async def add_thread_item(self, thread_id, item, context):
        requests.post(f"https://api.example.com/threads/{thread_id}/items", json=item.model_dump())

    async def save_item(self, thread_id, item, context):
        await self.add_thread_item(thread_id, item, context)
'''

_COSMOS = '''from azure.cosmos import CosmosClient

from chatkit.store import NotFoundError, Store


class CosmosStore(Store[dict]):
    def __init__(self, url, key):
        client = CosmosClient(url, credential=key)
        self.threads = client.get_database_client("chat").get_container_client("threads")

    async def save_thread(self, thread, context):
        self.threads.upsert_item(thread.model_dump())
'''

_MINIO = '''from dataclasses import dataclass

from minio import Minio

from chatkit.store import AttachmentStore


@dataclass
class MinioAttachmentStore(AttachmentStore):
    client: Minio
    bucket: str

    async def create_attachment(self, input, context):
        url = self.client.presigned_put_object(self.bucket, input.name)
        return url

    async def delete_attachment(self, attachment_id, context):
        self.client.remove_object(self.bucket, attachment_id)
'''

RULE.cases(
    valid=[
        Valid(_WRAPPED, filename="store/neon_store.py", name="thread wrappers and an async session"),
        Valid(_OFFLOADED_HELPER, filename="backend/app/chatkit_store.py",
              name="a project helper that runs its callback in a worker thread; a lazy query run in one"),
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
        Valid(
            "import sqlite3\nfrom chatkit.store import Store\n\n\nclass SQLiteStore(Store):\n"
            "    async def load_thread(self, thread_id, context):\n"
            "        with sqlite3.connect(':memory:') as conn:\n"
            "            return conn.execute('select * from threads where id = ?', (thread_id,)).fetchone()\n",
            filename="tests/helpers/mock_store.py",
            name="a test double under tests/ is not a served store",
        ),
    ],
    invalid=[
        Invalid(_SQLMODEL, None, filename="backend/app/chatkit_store.py",
                findings=[(11, 5, "PostgresStore.load_thread() is async but blocks the event loop: SQLModel Session.get() (line 13)"),
                          (18, 5, "PostgresStore.save_thread() is async but blocks the event loop: SQLModel Session.commit() (line 21)")],
                name="SQLModel session from a helper"),
        Invalid(_CONTEXT_SESSION, None, filename="backend/api/v1/endpoints/chatkit.py",
                findings=[(7, 5, "DatabaseStore.load_threads() is async but blocks the event loop: SQLModel Session.exec() (line 10)")],
                name="session from the context"),
        Invalid(_SQLITE, None, filename="store/sqlite_store.py",
                findings=[(14, 5, "requests.post() (line 16); sqlite3 connection.execute() (line 12) through self._rows()")],
                name="sqlite3 through a sync helper, requests: one finding for the method"),
        Invalid(_QUERY_VARIABLE, None, filename="backend/app/postgres_store.py",
                findings=[(14, 5, "PostgreSQLStore.load_threads() is async but blocks the event loop: SQLAlchemy Query.all() (line 18)")],
                name="a query kept in a variable runs at .all(); building one is not I/O"),
        Invalid(_CALLBACK_INLINE, None, filename="store/sqlite_store.py",
                findings=[(14, 5, "sqlite3.connect() (line 8) through self._with_connection()")],
                name="a callback run by a helper on the loop"),
        Invalid(_DELEGATING, None, filename="store/api_store.py",
                findings=[(7, 5, "ApiStore.add_thread_item() is async but blocks the event loop: requests.post() (line 8)")],
                name="a store method awaiting another one: the callee's finding only"),
        Invalid(_COSMOS, None, filename="backend/cosmos_store.py",
                findings=[(11, 5, "azure-cosmos client.upsert_item() (line 12)")],
                name="a synchronous Azure Cosmos container client"),
        Invalid(_MINIO, None, filename="storage/object_store.py",
                findings=[(17, 5, "MinioAttachmentStore.delete_attachment() is async but blocks the event loop: minio client.remove_object() (line 18)")],
                name="an attachment store holding a synchronous MinIO client (a dataclass field)"),
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
                ("store/sqlite_store.py", 8, 5, "ThreadStore.load_thread() is async but blocks the event loop: sqlite3.connect() (line 9)"),
            ],
            name="sqlite3 in a store class handed over from another file",
        ),
        Invalid(
            {"chat/models.py": "from django.db import models\n\n\nclass Thread(models.Model):\n    title = models.TextField()\n",
             "chat/store.py": _DJANGO},
            None,
            findings=[("chat/store.py", 8, 5, "DjangoStore.load_thread() is async but blocks the event loop: Django ORM.first() (line 9)")],
            name="Django ORM without sync_to_async; the async ORM is fine",
        ),
        Invalid(
            {"backend/db/rows.py": "import psycopg2\n\nDSN = 'postgresql://localhost/chat'\n\n\n"
                                   "def fetch_items(thread_id):\n    connection = psycopg2.connect(DSN)\n"
                                   "    with connection.cursor() as cursor:\n"
                                   "        cursor.execute('select data from items where thread_id = %s', (thread_id,))\n"
                                   "        return cursor.fetchall()\n",
             "backend/store.py": "from chatkit.store import Store\n\nfrom db.rows import fetch_items\n\n\n"
                                 "class PgStore(Store):\n    async def load_thread_items(self, thread_id, after, limit, order, context):\n"
                                 "        return self._page(fetch_items(thread_id))\n\n    def _page(self, rows):\n        return rows\n",
             "backend/main.py": "from fastapi import FastAPI\n\nfrom store import PgStore\n\napp = FastAPI()\nstore = PgStore()\n"},
            None,
            findings=[("backend/store.py", 7, 5, "psycopg2.connect() (db.rows:7) through fetch_items()")],
            name="blocking calls in a function of another module",
        ),
        Invalid(
            {"backend/stores/threads.py": "class ThreadMixin:\n    async def load_thread(self, thread_id, context):\n"
                                          "        return self.redis.get(f'thread:{thread_id}')\n",
             "backend/stores/store.py": "import redis\n\nfrom chatkit.store import Store\n\nfrom stores.threads import ThreadMixin\n\n\n"
                                        "class RedisStore(ThreadMixin, Store[dict]):\n    def __init__(self, url):\n"
                                        "        self.redis = redis.Redis.from_url(url)\n",
             "backend/main.py": "from fastapi import FastAPI\n\nfrom stores.store import RedisStore\n\napp = FastAPI()\n"},
            None,
            findings=[("backend/stores/threads.py", 2, 5, "ThreadMixin.load_thread() is async but blocks the event loop: redis client.get() (line 3)")],
            name="a store method defined in a mixin of another module",
        ),
    ],
)
