"""`load_thread` must raise `NotFoundError` for an unknown id, not create a thread.

## Why
`load_thread` answers "does this thread exist, and what is it?". A store that makes up an empty thread for any id
it does not know hides every real error: a thread id from before a restart, from another user, or a typo silently
becomes a new, empty conversation; `threads.get_by_id` never fails, so the client never starts a new thread; and a
store scoped by user hands out thread ids it never checked. ChatKit creates threads itself (`threads.create` calls
`generate_thread_id` and `save_thread`), so `load_thread` never needs to.

## Wrong
```python
async def load_thread(self, thread_id: str, context: dict) -> ThreadMetadata:
    if thread_id not in self.threads:
        self.threads[thread_id] = ThreadMetadata(id=thread_id, created_at=datetime.now())
    return self.threads[thread_id]
```

## Right
```python
async def load_thread(self, thread_id: str, context: dict) -> ThreadMetadata:
    if thread_id not in self.threads:
        raise NotFoundError(f"Thread {thread_id} not found")
    return self.threads[thread_id]
```
The fix (unsafe: code that relied on the auto-created thread changes behaviour) replaces the branch that creates
the thread with `raise NotFoundError(...)` and imports it; where the creation is not in a branch of its own, a TODO
marker asks for the change.
"""

from __future__ import annotations

import ast
from functools import partial

from chatkit_fix.analysis import store as st
from chatkit_fix.codemods._cases import Edited, edited
from chatkit_fix.findings import Safety
from chatkit_fix.model.effects.threads import CREATES_THREAD
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK305",
    slug="store-autocreate-thread",
    safety=Safety.UNSAFE,
    summary="load_thread creates a thread for an unknown id instead of raising NotFoundError",
    url="https://github.com/openai/chatkit-python/blob/main/chatkit/store.py",
    triggers=st.STORE_TRIGGERS,
    module=__name__,
    explanation=__doc__,
    finding_triggers=(b"Store", b"load_thread"),
)

@st.check_store_classes(RULE)
def _check_class(ctx, store: st.StoreClass):
    function = store.methods.get("load_thread")
    method = st.contract(ctx.project, ctx.path).by_name.get("load_thread")
    if function is None or method is None:
        return
    creations = ctx.model.facts(CREATES_THREAD, ctx.model.function(ctx.module, function))
    if not creations:
        return
    first = min(creations, key=lambda fact: (len(fact.via), fact.node.lineno))
    where = f" ({first.what} through {st.chain_text(first)})" if first.via else f" ({first.what})"
    # the statement of load_thread that creates: the creation itself, or the call of the helper that does
    creation = first.via[0].node if first.via else first.node
    thread_id = st.param_for(function, method, "thread_id")
    yield ctx.finding(
        ctx.header_span(function),
        f"{store.name}.load_thread() creates a thread when the id is unknown{where}: stale, foreign or mistyped ids "
        "silently become new empty threads",
        fix=partial(_fix, ctx, function, creation, thread_id),
        hint="raise NotFoundError when the thread does not exist; ChatKit creates threads itself",
    )


def _fix(ctx, function: st.Function, creation: ast.Call, thread_id: str | None):
    """The branch that creates the thread raising NotFoundError instead; a TODO where no branch can be replaced."""
    local, edits = st.not_found_error(ctx)
    raise_text = f"raise {local}({st.not_found_message(ctx, 'Thread', thread_id)})"
    statement = creation
    while statement is not None and not isinstance(statement, ast.stmt):
        statement = ctx.parents.get(statement)
    owner = ctx.parents.get(statement)
    block = None
    if isinstance(owner, ast.If):
        block = owner.body if statement in owner.body else owner.orelse
    elif isinstance(owner, ast.ExceptHandler):
        block = owner.body
    elif owner is function and isinstance(statement, ast.Return) and statement is function.body[-1]:
        block = [statement]
    if block is None or not block:
        todo = ctx.todo(statement, "raise NotFoundError here instead of creating the thread (ChatKit creates threads itself)")
        return todo
    start, end = ctx.span(block[0])[0], ctx.span(block[-1])[1]
    indent = st.statement_indent(ctx, block[0])
    # comments among the removed statements stay, above the raise
    comments = [line.strip() for line in ctx.text[start:end].splitlines()[1:] if line.strip().startswith("#")]
    edits.append(ctx.replace((start, end), "".join(f"{c}\n{indent}" for c in comments) + raise_text))
    return edits


_HUMANOID = '''from datetime import datetime
from typing import Any

from chatkit.store import Store
from chatkit.types import ThreadMetadata


class SimpleMemoryStore(Store):
    async def load_thread(self, thread_id: str, context: Any) -> ThreadMetadata:
        if thread_id not in self.threads:
            # Create new thread if it doesn't exist
            self.threads[thread_id] = ThreadMetadata(
                id=thread_id,
                created_at=datetime.now(),
            )
            self.thread_items[thread_id] = []
        return self.threads[thread_id]
'''

_HUMANOID_FIXED = '''from datetime import datetime
from typing import Any

from chatkit.store import Store, NotFoundError
from chatkit.types import ThreadMetadata


class SimpleMemoryStore(Store):
    async def load_thread(self, thread_id: str, context: Any) -> ThreadMetadata:
        if thread_id not in self.threads:
            # Create new thread if it doesn't exist
            raise NotFoundError(f"Thread {thread_id} not found")
        return self.threads[thread_id]
'''

_BASEL = '''import uuid
from datetime import datetime

from chatkit.server import Store
from chatkit.types import ThreadMetadata


class MemoryStore(Store[dict]):
    async def load_thread(self, thread_id: str, context: dict) -> ThreadMetadata:
        """Load a thread by ID, creating a new one if it doesn't exist"""
        if thread_id in self._threads:
            return self._threads[thread_id]
        else:
            new_thread = ThreadMetadata(id=thread_id, created_at=datetime.now(), metadata={})
            self._threads[thread_id] = new_thread
            return new_thread
'''

_BASEL_FIXED = edited(
    _BASEL,
    ("from chatkit.types import ThreadMetadata\n",
     "from chatkit.types import ThreadMetadata\n"
     "from chatkit.store import NotFoundError\n"),
    ("            new_thread = ThreadMetadata(id=thread_id, created_at=datetime.now(), metadata={})\n"
     "            self._threads[thread_id] = new_thread\n"
     "            return new_thread\n",
     '            raise NotFoundError(f"Thread {thread_id} not found")\n'),
)

_TASKPILOT = '''from datetime import datetime
from chatkit.store import Store
from chatkit.types import ThreadMetadata


class CustomChatKitStore(Store):
    async def load_thread(self, thread_id: str, context) -> ThreadMetadata:
        """Load thread metadata"""
        if thread_id in self.threads:
            return self.threads[thread_id]
        # Return new thread if not found
        return ThreadMetadata(
            id=thread_id,
            created_at=datetime.utcnow(),
            metadata={},
        )
'''

_TASKPILOT_FIXED = '''from datetime import datetime
from chatkit.store import Store, NotFoundError
from chatkit.types import ThreadMetadata


class CustomChatKitStore(Store):
    async def load_thread(self, thread_id: str, context) -> ThreadMetadata:
        """Load thread metadata"""
        if thread_id in self.threads:
            return self.threads[thread_id]
        # Return new thread if not found
        raise NotFoundError(f"Thread {thread_id} not found")
'''

_SETDEFAULT = '''from datetime import datetime
from chatkit.store import Store
from chatkit.types import ThreadMetadata


class ThreadStore(Store):
    async def load_thread(self, tid, context):
        thread = self.threads.setdefault(tid, ThreadMetadata(id=tid, created_at=datetime.now()))
        return thread
'''

RULE.cases(
    valid=[
        Valid(
            "from chatkit.store import NotFoundError, Store\nfrom chatkit.types import ThreadMetadata\n\n\n"
            "class PostgresStore(Store['RequestContext']):\n"
            "    async def load_thread(self, thread_id, context):\n        row = self.get(thread_id)\n"
            "        if row is None:\n            raise NotFoundError(thread_id)\n"
            "        return ThreadMetadata(id=row.id, created_at=row.created_at, title=row.title)\n",
            filename="app/chatkit_store.py",
            name="converts a row",
        ),
        Valid(
            "from chatkit.store import Store\nfrom chatkit.types import ThreadMetadata\n\n\n"
            "class DatabaseStore(Store[dict]):\n"
            "    async def load_thread(self, thread_id, context):\n"
            "        conversation = self.find(thread_id)\n"
            "        return ThreadMetadata(id=thread_id, created_at=conversation.created_at)\n",
            filename="api/v1/endpoints/chatkit.py",
            name="created_at from the stored row",
        ),
    ],
    invalid=[
        Invalid(_HUMANOID, _HUMANOID_FIXED, filename="backend/chatkit_server.py", unsafe=True, name="creates in an if branch", findings=[(9, 5, "SimpleMemoryStore.load_thread() creates a thread when the id is unknown")]),
        Invalid(_BASEL, _BASEL_FIXED, filename="backend/app/chatkit_store.py", unsafe=True, name="creates in an else branch", findings=[(9, 5, "MemoryStore.load_thread() creates a thread when the id is unknown")]),
        Invalid(_TASKPILOT, _TASKPILOT_FIXED, filename="backend/routes/chatkit.py", unsafe=True, name="returns a new thread at the end", findings=[(7, 5, "CustomChatKitStore.load_thread() creates a thread when the id is unknown")]),
        Invalid(_TASKPILOT, None, filename="backend/routes/chatkit.py", name="not applied without --unsafe-fixes", findings=[(7, 5, "CustomChatKitStore.load_thread() creates a thread when the id is unknown")]),
        Edited(
            _SETDEFAULT,
            ("    async def load_thread(self, tid, context):\n",
             "    async def load_thread(self, tid, context):\n"
             "        # chatkit-fix: TODO[CK305] raise NotFoundError here instead of creating the thread (ChatKit creates threads itself)\n"),
            filename="services/thread_store.py",
            unsafe=True,
            name="setdefault: TODO marker",
            findings=[(7, 5, "ThreadStore.load_thread() creates a thread when the id is unknown")],
        ),
    ],
)


RULE.cases(
    invalid=[
        Invalid(
            {"services/thread_store.py": "from datetime import datetime, timezone\n\nfrom chatkit.types import Thread\n\n\n"
                                         "class ThreadStore:\n    async def load_thread(self, thread_id, context):\n"
                                         "        try:\n            return self.threads[thread_id]\n        except KeyError:\n"
                                         "            thread = Thread(id=thread_id, created_at=datetime.now(timezone.utc), items=[])\n"
                                         "            self.threads[thread_id] = thread\n            return thread\n",
             "routes/chatkit.py": "from chatkit.server import ChatKitServer\nfrom services.thread_store import ThreadStore\n\n\n"
                                  "class IncidentChatKitServer(ChatKitServer):\n    async def respond(self, thread, input, context):\n"
                                  "        yield None\n\n\nserver = IncidentChatKitServer(ThreadStore())\n"},
            {"services/thread_store.py": "from datetime import datetime, timezone\n\nfrom chatkit.types import Thread\nfrom chatkit.store import NotFoundError\n\n\n"
                                         "class ThreadStore:\n    async def load_thread(self, thread_id, context):\n"
                                         "        try:\n            return self.threads[thread_id]\n        except KeyError:\n"
                                         "            raise NotFoundError(f\"Thread {thread_id} not found\")\n"},
            unsafe=True,
            name="except KeyError branch in a store handed over from a route file",
            findings=[("services/thread_store.py", 7, 5, "ThreadStore.load_thread() creates a thread when the id is unknown")],
        ),
    ],
)


_HELPER = '''from datetime import datetime

from chatkit.store import Store
from chatkit.types import ThreadMetadata


class SimpleStore(Store[dict]):
    def _create_thread(self, thread_id):
        thread = ThreadMetadata(id=thread_id, created_at=datetime.now().isoformat())
        self._threads[thread_id] = thread
        return thread

    async def load_thread(self, thread_id, context):
        if thread_id not in self._threads:
            return self._create_thread(thread_id)
        return self._threads[thread_id]
'''

_HELPER_FIXED = edited(
    _HELPER,
    ("from chatkit.store import Store\n", "from chatkit.store import Store, NotFoundError\n"),
    ("            return self._create_thread(thread_id)\n", '            raise NotFoundError(f"Thread {thread_id} not found")\n'),
)

_ORM_ROW = '''from datetime import datetime

from chatkit.store import Store
from chatkit.types import ThreadMetadata


class PostgreSQLChatKitStore(Store[dict]):
    async def load_thread(self, thread_id, context):
        result = await self.db.execute(select(ChatThread).where(ChatThread.id == thread_id))
        row = result.scalar_one_or_none()
        if row:
            return ThreadMetadata(id=row.id, created_at=row.created_at.isoformat())
        new_row = ChatThread(id=thread_id, owner=context["user_id"])
        self.db.add(new_row)
        await self.db.commit()
        return ThreadMetadata(id=thread_id, created_at=new_row.created_at.isoformat())
'''

_SQL_INSERT = '''from datetime import datetime

from chatkit.store import Store
from chatkit.types import ThreadMetadata


class PostgresStore(Store[dict]):
    async def load_thread(self, thread_id, context):
        conversation_id, public_id = split_thread_id(thread_id)
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow("SELECT created_at FROM conversations WHERE id = $1", conversation_id)
            if row:
                return ThreadMetadata(id=public_id, created_at=row["created_at"])
            created = datetime.utcnow()
            await conn.execute("INSERT INTO conversations (id, created_at) VALUES ($1, $2)", conversation_id, created)
        return ThreadMetadata(id=public_id, created_at=created.isoformat())
'''

RULE.cases(
    valid=[
        Valid(
            "from datetime import datetime\n\nfrom chatkit.store import NotFoundError, Store\nfrom chatkit.types import ThreadMetadata\n\n\n"
            "class SqlStore(Store[dict]):\n    async def load_thread(self, thread_id, context):\n"
            "        row = await self.pool.fetchrow('SELECT * FROM threads WHERE id = $1', thread_id)\n"
            "        if row is None:\n            raise NotFoundError(thread_id)\n"
            "        return ThreadMetadata(id=row['id'], created_at=row['created_at'] or datetime.now())\n\n"
            "    async def save_thread(self, thread, context):\n"
            "        await self.pool.execute('INSERT INTO threads (id) VALUES ($1) ON CONFLICT (id) DO NOTHING', thread.id)\n",
            filename="app/sql_store.py",
            name="a stored thread with a fallback time; INSERT only in save_thread",
        ),
    ],
    invalid=[
        Invalid(_HELPER, _HELPER_FIXED, filename="backend/app/routers/chatkit_server.py", unsafe=True,
                findings=[(13, 5, "SimpleStore.load_thread() creates a thread when the id is unknown (a new ThreadMetadata stamped with the current time through self._create_thread())")],
                name="created by a helper, stamped with now().isoformat()"),
        Edited(
            _ORM_ROW,
            ("        self.db.add(new_row)\n",
             "        # chatkit-fix: TODO[CK305] raise NotFoundError here instead of creating the thread (ChatKit creates threads itself)\n"
             "        self.db.add(new_row)\n"),
            filename="backend/app/services/chatkit_store_service.py",
            unsafe=True,
            findings=[(8, 5, "PostgreSQLChatKitStore.load_thread() creates a thread when the id is unknown (a new row added with add())")],
            name="an ORM row added for the unknown id",
        ),
        Invalid(_SQL_INSERT, None, filename="backend/services/chatkit_store.py",
                findings=[(8, 5, "PostgresStore.load_thread() creates a thread when the id is unknown (a SQL INSERT)")],
                name="a SQL INSERT for the unknown id, a thread id mapped to a row id"),
    ],
)
