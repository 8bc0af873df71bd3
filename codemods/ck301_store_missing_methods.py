"""A ChatKit store must define every abstract method of `chatkit.store.Store`.

## Why
`chatkit.store.Store` is an abstract base class. A subclass that leaves out any of its abstract methods cannot be
instantiated: the back end dies at import time with
`TypeError: Can't instantiate abstract class MemoryStore with abstract methods delete_attachment, load_attachment,
save_attachment`. The three attachment methods are the ones most often forgotten, because a chat without uploads
never calls them, but they are abstract all the same. A class that is handed to `ChatKitServer` without subclassing
`Store` starts, and then fails with `AttributeError` on the first request that needs the missing method.

The list of methods is the one measured for the openai-chatkit release the project declares (`python
benchmarks/facts/measure.py chatkit-sdk-contract`: the same in every release from 1.0.0 to 1.6.5); a project that
declares none is judged by the installed `chatkit.store.Store`, read when chatkit-fix runs (`--verbose` says which),
so a new SDK that adds an abstract method makes this rule ask for it.

## Wrong
```python
class MemoryStore(Store[dict]):
    async def load_thread(self, thread_id: str, context: dict) -> ThreadMetadata: ...
    # ... no save_attachment, load_attachment, delete_attachment, delete_thread_item
```

## Right
```python
class MemoryStore(Store[dict]):
    async def load_thread(self, thread_id: str, context: dict) -> ThreadMetadata: ...

    # chatkit-fix: TODO[CK301] implement delete_thread_item: ChatKit calls it (it raises NotImplementedError for now)
    async def delete_thread_item(self, thread_id: str, item_id: str, context: dict) -> None:
        raise NotImplementedError

    async def save_attachment(self, attachment: Attachment, context: dict) -> None:
        raise NotImplementedError()
```
The fix adds each missing method with the SDK's exact signature, in the SDK's order, after the last method of the
class. Attachment methods raise `NotImplementedError()` as the official samples do (a store without uploads); any
other method gets one TODO marker, and the finding stays open until it is implemented.
"""

from __future__ import annotations

from functools import partial

from chatkit_fix.analysis import store as st
from chatkit_fix.context import TODO_MARK
from chatkit_fix.findings import Safety
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK301",
    slug="store-missing-methods",
    safety=Safety.SAFE,
    summary="a Store subclass (or a class used as a ChatKitServer store) lacks abstract methods of chatkit's Store",
    url="https://github.com/openai/chatkit-python/blob/main/chatkit/store.py",
    triggers=st.STORE_TRIGGERS,
    module=__name__,
    explanation=__doc__,
    finding_triggers=(b"Store", b"load_thread"),
)


def _has_subclass(ctx, store: st.StoreClass) -> bool:
    """Another class of the project derives from this one: the leaf classes are judged, not this base."""
    model = ctx.model
    for path in ctx.project.grep(store.name.encode(), "python"):
        module = model.module(path)
        if module is None:
            continue
        for node in module.classes.values():
            if node is store.node or not any(st._base_name(base) == store.name for base in node.bases):
                continue
            if any(holder is store.node for _, holder in model.resolver.mro(module, node)):
                return True
    return False


@st.check_store_classes(RULE)
def _check_class(ctx, store: st.StoreClass):
    if store.open_bases or store.is_abstract() or store.defines_getattr():
        return
    contract = st.contract(ctx.project, ctx.path)
    defined = store.all_method_names()
    missing = [m for m in contract.abstract if m.name not in defined]
    if missing and _has_subclass(ctx, store):
        return
    if missing:
        yield _missing_finding(ctx, store, missing, contract)
    if ctx.has_todo(RULE.code):
        for method in contract.abstract:
            function = store.methods.get(method.name)
            if function is not None and not method.is_attachment and st.is_stub(function):
                yield ctx.finding(
                    ctx.header_span(function),
                    f"{store.name}.{method.name}() still raises NotImplementedError (TODO[CK301]): ChatKit calls it",
                    hint=f"implement {method.name}()",
                )


def _missing_finding(ctx, store: st.StoreClass, missing, contract):
    names = ", ".join(m.name for m in missing)
    subclass = any(st.is_store_base(ctx, b) for b in store.node.bases) or store.inherited
    if subclass:
        message = f"{store.name} does not define {names}: creating it fails with `TypeError: Can't instantiate abstract class`"
    else:
        message = f"{store.name} is ChatKit's store but does not define {names}: requests that need them fail with AttributeError"
    return ctx.finding(
        ctx.header_span(store.node),
        message,
        fix=partial(_stubs, ctx, store, missing, contract),
        hint=f"add {names} with the signatures of chatkit.store.Store",
    )


def _stubs(ctx, store: st.StoreClass, missing, contract) -> list:
    """The missing methods as stubs with the contract's signatures, typed with names the file imports (a lazy fix:
    the annotations, imports and indentation are read from the file only when the edits are needed)."""
    symbols: dict[str, str] = {}
    for method in missing:
        symbols.update(st.annotation_symbols(method, contract.annotation_modules, contract.context_typevar))
    local_names, edits = st.ensure_chatkit_imports(ctx, symbols)
    indent = st.body_indent(ctx, store.node)
    context_annotation = st.context_annotation_of(store)
    unfinished = [m.name for m in missing if not m.is_attachment]
    blocks: list[str] = []
    todo_written = ctx.has_todo(RULE.code) or ctx.__dict__.get("_ck301_todo_planned", False)
    for method in missing:
        lines = []
        if not method.is_attachment and not todo_written:
            tail = "them (they raise" if len(unfinished) > 1 else "it (it raises"
            lines.append(
                f"{indent}# {TODO_MARK.format(code=RULE.code)} implement {', '.join(unfinished)}: "
                f"ChatKit calls {tail} NotImplementedError for now)"
            )
            todo_written = True
            ctx.__dict__["_ck301_todo_planned"] = True  # one marker per file, even with several classes
        lines.append(st.contract_signature(method, context_annotation, contract.context_typevar, local_names, indent))
        lines.append(f"{indent}    raise NotImplementedError{'()' if method.is_attachment else ''}")
        blocks.append("\n".join(lines))
    edits.append(ctx.insert(st.line_end(ctx, store.node.body[-1]), "".join(f"\n\n{block}" for block in blocks)))
    return edits


_ATTACHMENT_METHODS = '''    async def save_attachment(self, attachment: Attachment, context: dict) -> None:
        raise NotImplementedError()

    async def load_attachment(self, attachment_id: str, context: dict) -> Attachment:
        raise NotImplementedError()

    async def delete_attachment(self, attachment_id: str, context: dict) -> None:
        raise NotImplementedError()
'''

_COMPLETE = '''from chatkit.store import NotFoundError, Store
from chatkit.types import Attachment, Page, ThreadItem, ThreadMetadata


class MemoryStore(Store[dict]):
    def __init__(self):
        self.threads: dict[str, ThreadMetadata] = {}
        self.items: dict[str, list[ThreadItem]] = {}

    async def load_thread(self, thread_id: str, context: dict) -> ThreadMetadata:
        if thread_id not in self.threads:
            raise NotFoundError(thread_id)
        return self.threads[thread_id]

    async def save_thread(self, thread: ThreadMetadata, context: dict) -> None:
        self.threads[thread.id] = thread

    async def load_thread_items(self, thread_id: str, after: str | None, limit: int, order: str, context: dict) -> Page[ThreadItem]:
        return Page(data=self.items.get(thread_id, [])[:limit])

''' + _ATTACHMENT_METHODS + '''
    async def load_threads(self, limit: int, after: str | None, order: str, context: dict) -> Page[ThreadMetadata]:
        return Page(data=list(self.threads.values())[:limit])

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context: dict) -> None:
        self.items.setdefault(thread_id, []).append(item)

    async def save_item(self, thread_id: str, item: ThreadItem, context: dict) -> None:
        items = self.items.setdefault(thread_id, [])
        for index, existing in enumerate(items):
            if existing.id == item.id:
                items[index] = item
                return
        items.append(item)

    async def load_item(self, thread_id: str, item_id: str, context: dict) -> ThreadItem:
        for item in self.items.get(thread_id, []):
            if item.id == item_id:
                return item
        raise NotFoundError(item_id)

    async def delete_thread(self, thread_id: str, context: dict) -> None:
        self.threads.pop(thread_id, None)

    async def delete_thread_item(self, thread_id: str, item_id: str, context: dict) -> None:
        self.items[thread_id] = [i for i in self.items.get(thread_id, []) if i.id != item_id]
'''

_NO_ATTACHMENTS = _COMPLETE.replace(_ATTACHMENT_METHODS + "\n", "").replace("from chatkit.types import Attachment, Page", "from chatkit.types import Page")

_NO_ATTACHMENTS_FIXED = _NO_ATTACHMENTS.replace("from chatkit.types import Page, ThreadItem, ThreadMetadata",
                                                "from chatkit.types import Page, ThreadItem, ThreadMetadata, Attachment") + "\n" + _ATTACHMENT_METHODS

_HUMANOID = '''from typing import Any, Dict, List, Optional
from datetime import datetime

from chatkit.server import ChatKitServer
from chatkit.types import ThreadMetadata
from chatkit.store import Store


class SimpleMemoryStore(Store):
    """Simple in-memory store for ChatKit"""

    def __init__(self):
        self.threads: Dict[str, ThreadMetadata] = {}
        self.thread_items: Dict[str, List[Dict]] = {}

    async def load_thread(self, thread_id: str, context: Any) -> ThreadMetadata:
        return self.threads[thread_id]

    async def save_thread(self, thread: ThreadMetadata, context: Any) -> None:
        self.threads[thread.id] = thread

    async def load_thread_items(self, thread_id: str, after: Optional[str], limit: int, order: str, context: Any):
        return self.thread_items.get(thread_id, [])

    async def add_thread_item(self, thread_id: str, item: Dict, context: Any) -> None:
        self.thread_items.setdefault(thread_id, []).append(item)

    async def save_attachment(self, attachment: Dict, context: Any) -> None:
        pass

    async def load_attachment(self, attachment_id: str, context: Any) -> Dict:
        return {}

    async def delete_attachment(self, attachment_id: str, context: Any) -> None:
        pass

    async def load_threads(self, limit: int, after: Optional[str], order: str, context: Any):
        return list(self.threads.values())

    async def save_item(self, thread_id: str, item: Dict, context: Any) -> None:
        await self.add_thread_item(thread_id, item, context)

    async def load_item(self, thread_id: str, item_id: str, context: Any) -> Dict:
        return {}

    async def delete_thread(self, thread_id: str, context: Any) -> None:
        self.threads.pop(thread_id, None)  # drop it
'''

_HUMANOID_FIXED = _HUMANOID + '''
    # chatkit-fix: TODO[CK301] implement delete_thread_item: ChatKit calls it (it raises NotImplementedError for now)
    async def delete_thread_item(self, thread_id: str, item_id: str, context: Any) -> None:
        raise NotImplementedError
'''

_REQUEST_CONTEXT = '''from chatkit.server import Store
from chatkit.types import ThreadMetadata


class RequestContext:
    def __init__(self, user_id: str):
        self.user_id = user_id


class PostgresStore(Store["RequestContext"]):
    async def load_thread(self, thread_id: str, context: "RequestContext") -> ThreadMetadata:
        return await fetch_thread(thread_id, context.user_id)

    async def save_thread(self, thread: ThreadMetadata, context: "RequestContext") -> None:
        pass
'''

_REQUEST_CONTEXT_FIXED = _REQUEST_CONTEXT.replace("from chatkit.types import ThreadMetadata\n",
                                                  "from chatkit.types import ThreadMetadata, Attachment, Page, ThreadItem\n") + '''
    # chatkit-fix: TODO[CK301] implement load_thread_items, load_threads, add_thread_item, save_item, load_item, delete_thread, delete_thread_item: ChatKit calls them (they raise NotImplementedError for now)
    async def load_thread_items(
        self,
        thread_id: str,
        after: str | None,
        limit: int,
        order: str,
        context: "RequestContext",
    ) -> Page[ThreadItem]:
        raise NotImplementedError

    async def save_attachment(self, attachment: Attachment, context: "RequestContext") -> None:
        raise NotImplementedError()

    async def load_attachment(self, attachment_id: str, context: "RequestContext") -> Attachment:
        raise NotImplementedError()

    async def delete_attachment(self, attachment_id: str, context: "RequestContext") -> None:
        raise NotImplementedError()

    async def load_threads(
        self,
        limit: int,
        after: str | None,
        order: str,
        context: "RequestContext",
    ) -> Page[ThreadMetadata]:
        raise NotImplementedError

    async def add_thread_item(
        self,
        thread_id: str,
        item: ThreadItem,
        context: "RequestContext",
    ) -> None:
        raise NotImplementedError

    async def save_item(self, thread_id: str, item: ThreadItem, context: "RequestContext") -> None:
        raise NotImplementedError

    async def load_item(
        self,
        thread_id: str,
        item_id: str,
        context: "RequestContext",
    ) -> ThreadItem:
        raise NotImplementedError

    async def delete_thread(self, thread_id: str, context: "RequestContext") -> None:
        raise NotImplementedError

    async def delete_thread_item(
        self,
        thread_id: str,
        item_id: str,
        context: "RequestContext",
    ) -> None:
        raise NotImplementedError
'''

_DUCK_STORE = '''class ThreadStore:
    """Keeps threads in memory."""

    def __init__(self):
        self.threads = {}

    async def load_thread(self, thread_id, context):
        return self.threads[thread_id]
'''

_DUCK_SERVER = '''from chatkit.server import ChatKitServer

from services.thread_store import ThreadStore


class TodoChatKitServer(ChatKitServer[dict]):
    def __init__(self):
        super().__init__(store=ThreadStore())

    async def respond(self, thread, input, context):
        yield None
'''

_PROJECT_BASE = '''from chatkit.store import Store


class BaseStore(Store[dict]):
    async def load_thread(self, thread_id: str, context: dict):
        raise KeyError(thread_id)
'''

RULE.cases(
    valid=[
        Valid(_COMPLETE, filename="backend/app/memory_store.py", name="complete store"),
        Valid(
            "from abc import ABC\nfrom chatkit.store import Store\n\n\nclass BaseStore(Store[dict], ABC):\n"
            "    async def load_thread(self, thread_id, context):\n        return None\n",
            filename="store/base.py",
            name="abstract base",
        ),
        Valid(
            "from chatkit.store import Store\nfrom .mixins import SqlMixin\n\n\nclass PostgresStore(SqlMixin, Store[dict]):\n    pass\n",
            filename="store/neon_store.py",
            name="unknown mixin may define the methods",
        ),
        Valid(
            "from chatkit.store import AttachmentStore\n\n\nclass FileStore(AttachmentStore[dict]):\n"
            "    async def delete_attachment(self, attachment_id, context):\n        pass\n",
            filename="attachment_store.py",
            name="AttachmentStore is another contract",
        ),
        Valid("class Store:\n    pass\n\n\nclass MemoryStore(Store):\n    pass\n", filename="store.py", name="not chatkit"),
        Valid({"store/base.py": _PROJECT_BASE, "store/memory.py": "from store.base import BaseStore\n\n\nclass MemoryStore(BaseStore):\n    pass\n"
               .replace("    pass\n", _COMPLETE.split("class MemoryStore(Store[dict]):\n")[1])},
              name="base completed by a subclass in another file"),
    ],
    invalid=[
        Invalid(_NO_ATTACHMENTS, _NO_ATTACHMENTS_FIXED, filename="memory_store.py", name="attachment methods missing", findings=[(5, 1, "MemoryStore does not define save_attachment, load_attachment, delete_attachment")]),
        Invalid(
            "from chatkit.store import Store\n\n\nclass MyStore(Store):\n"
            "    async def load_thread(self, thread_id, context):\n        raise KeyError(thread_id)\n",
            "from chatkit.store import Store\n"
            "from chatkit.types import Attachment, Page, ThreadItem, ThreadMetadata\n\n\n"
            "class MyStore(Store):\n"
            "    async def load_thread(self, thread_id, context):\n        raise KeyError(thread_id)\n\n"
            "    # chatkit-fix: TODO[CK301] implement save_thread, load_thread_items, load_threads, add_thread_item, "
            "save_item, load_item, delete_thread, delete_thread_item: ChatKit calls them (they raise "
            "NotImplementedError for now)\n"
            "    async def save_thread(self, thread: ThreadMetadata, context) -> None:\n        raise NotImplementedError\n\n"
            "    async def load_thread_items(\n        self,\n        thread_id: str,\n        after: str | None,\n"
            "        limit: int,\n        order: str,\n        context,\n    ) -> Page[ThreadItem]:\n"
            "        raise NotImplementedError\n\n"
            "    async def save_attachment(self, attachment: Attachment, context) -> None:\n"
            "        raise NotImplementedError()\n\n"
            "    async def load_attachment(self, attachment_id: str, context) -> Attachment:\n"
            "        raise NotImplementedError()\n\n"
            "    async def delete_attachment(self, attachment_id: str, context) -> None:\n"
            "        raise NotImplementedError()\n\n"
            "    async def load_threads(\n        self,\n        limit: int,\n        after: str | None,\n"
            "        order: str,\n        context,\n    ) -> Page[ThreadMetadata]:\n        raise NotImplementedError\n\n"
            "    async def add_thread_item(self, thread_id: str, item: ThreadItem, context) -> None:\n"
            "        raise NotImplementedError\n\n"
            "    async def save_item(self, thread_id: str, item: ThreadItem, context) -> None:\n"
            "        raise NotImplementedError\n\n"
            "    async def load_item(self, thread_id: str, item_id: str, context) -> ThreadItem:\n"
            "        raise NotImplementedError\n\n"
            "    async def delete_thread(self, thread_id: str, context) -> None:\n        raise NotImplementedError\n\n"
            "    async def delete_thread_item(self, thread_id: str, item_id: str, context) -> None:\n"
            "        raise NotImplementedError\n",
            filename="s.py",
            name="no chatkit.types import yet (issue 22: under CRLF the fix imported ThreadMetadata only; libcst imports all)",
            findings=[(4, 1, "MyStore does not define save_thread, load_thread_items, save_attachment")],
        ),
        Invalid(_HUMANOID, _HUMANOID_FIXED, filename="backend/chatkit_server.py", name="no type parameter, one method missing", findings=[(9, 1, "SimpleMemoryStore does not define delete_thread_item")]),
        Invalid(_REQUEST_CONTEXT, _REQUEST_CONTEXT_FIXED, filename="app/chatkit_store.py", name="string context type via chatkit.server", findings=[(10, 1, "PostgresStore does not define load_thread_items, save_attachment")]),
        Invalid(
            {"services/thread_store.py": _DUCK_STORE, "app/chatkit_server.py": _DUCK_SERVER},
            {"services/thread_store.py": "from chatkit.types import Attachment, Page, ThreadItem, ThreadMetadata\n\n\n" + _DUCK_STORE + '''
    # chatkit-fix: TODO[CK301] implement save_thread, load_thread_items, load_threads, add_thread_item, save_item, load_item, delete_thread, delete_thread_item: ChatKit calls them (they raise NotImplementedError for now)
    async def save_thread(self, thread: ThreadMetadata, context) -> None:
        raise NotImplementedError

    async def load_thread_items(
        self,
        thread_id: str,
        after: str | None,
        limit: int,
        order: str,
        context,
    ) -> Page[ThreadItem]:
        raise NotImplementedError

    async def save_attachment(self, attachment: Attachment, context) -> None:
        raise NotImplementedError()

    async def load_attachment(self, attachment_id: str, context) -> Attachment:
        raise NotImplementedError()

    async def delete_attachment(self, attachment_id: str, context) -> None:
        raise NotImplementedError()

    async def load_threads(
        self,
        limit: int,
        after: str | None,
        order: str,
        context,
    ) -> Page[ThreadMetadata]:
        raise NotImplementedError

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context) -> None:
        raise NotImplementedError

    async def save_item(self, thread_id: str, item: ThreadItem, context) -> None:
        raise NotImplementedError

    async def load_item(self, thread_id: str, item_id: str, context) -> ThreadItem:
        raise NotImplementedError

    async def delete_thread(self, thread_id: str, context) -> None:
        raise NotImplementedError

    async def delete_thread_item(self, thread_id: str, item_id: str, context) -> None:
        raise NotImplementedError
'''},
            name="duck-typed class handed to ChatKitServer in another file",
            findings=[("services/thread_store.py", 1, 1, "ThreadStore is ChatKit's store but does not define save_thread")],
        ),
    ],
)


_STUB_LEFT = _HUMANOID_FIXED

_DERIVED_BASE = '''import chatkit.store as ck_store


class BaseStore(ck_store.Store[dict]):
    async def load_thread(self, thread_id: str, context: dict):
        raise ck_store.NotFoundError(thread_id)
'''

_DERIVED = '''from store.base import BaseStore


class NeonPostgresStore(BaseStore):
    """Everything but the attachments."""
''' + "".join(
    f"\n    async def {name}(self, *args):\n        return None\n"
    for name in ("save_thread", "load_thread_items", "load_threads", "add_thread_item", "save_item", "load_item",
                 "delete_thread", "delete_thread_item")
)

RULE.cases(
    invalid=[
        Invalid(_STUB_LEFT, None, filename="backend/chatkit_server.py", findings=[(50, 5, "SimpleMemoryStore.delete_thread_item() still raises NotImplementedError")], name="stub left by the fix stays open"),
        Invalid(
            {"store/base.py": _DERIVED_BASE, "store/neon_store.py": _DERIVED},
            {"store/neon_store.py": "from store.base import BaseStore\nfrom chatkit.types import Attachment\n"
             + _DERIVED.split("\n", 1)[1] + "\n" + _ATTACHMENT_METHODS},
            name="subclass in another file of a project base, module alias import",
            findings=[("store/neon_store.py", 4, 1, "NeonPostgresStore does not define save_attachment, load_attachment")],
        ),
    ],
)
