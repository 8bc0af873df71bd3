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

from chatkit_fix.analysis import store as st
from chatkit_fix.codemods._cases import Edited, edited
from chatkit_fix.findings import Safety
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

NOW_CALLS = {"now", "utcnow", "today", "time", "time_ns"}
CREATE_CALLS = {"get_or_create", "create_thread", "new_thread"}


@st.check_store_classes(RULE)
def _check_class(ctx, store: st.StoreClass):
    function = store.methods.get("load_thread")
    method = st.contract(ctx.project, ctx.path).by_name.get("load_thread")
    if function is None or method is None:
        return
    thread_id = st.param_for(function, method, "thread_id")
    creation = _creation(ctx, function, thread_id)
    if creation is None:
        return
    edits, complete = _fix(ctx, function, creation, thread_id)
    yield ctx.finding(
        ctx.header_span(function),
        f"{store.name}.load_thread() creates a thread when the id is unknown: stale, foreign or mistyped ids "
        "silently become new empty threads",
        fix=edits,
        hint="raise NotFoundError when the thread does not exist; ChatKit creates threads itself",
        complete=complete,
    )


def _creation(ctx, function: st.Function, thread_id: str | None) -> ast.Call | None:
    for node in st.body_nodes(function):
        if not isinstance(node, ast.Call):
            continue
        if ctx.refers_to(node.func, "chatkit", "ThreadMetadata") or ctx.refers_to(node.func, "chatkit", "Thread"):
            id_kw = next((k for k in node.keywords if k.arg == "id"), None)
            if id_kw is None or not (isinstance(id_kw.value, ast.Name) and id_kw.value.id == thread_id):
                continue
            created = next((k for k in node.keywords if k.arg == "created_at"), None)
            if created is None or _is_now(created.value):
                return node
        elif st._call_name(node.func) in CREATE_CALLS or isinstance(node.func, ast.Attribute) and node.func.attr == "save_thread" and st._is_self(node.func.value):
            return node
    return None


def _is_now(expr: ast.AST) -> bool:
    return isinstance(expr, ast.Call) and st._call_name(expr.func) in NOW_CALLS


def _fix(ctx, function: st.Function, creation: ast.Call, thread_id: str | None):
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
        return [todo] if todo is not None else None, False
    start, end = ctx.span(block[0])[0], ctx.span(block[-1])[1]
    indent = st.statement_indent(ctx, block[0])
    # comments among the removed statements stay, above the raise
    comments = [line.strip() for line in ctx.text[start:end].splitlines()[1:] if line.strip().startswith("#")]
    edits.append(ctx.replace((start, end), "".join(f"{c}\n{indent}" for c in comments) + raise_text))
    return edits, True


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
