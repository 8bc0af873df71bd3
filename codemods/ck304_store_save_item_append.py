"""`save_item` must replace the item with the same id (an upsert), not append another copy.

## Why
ChatKit calls `add_thread_item` for a new item and `save_item` to *update* one it already stored: an item that
`respond()` replaces with a `thread.item.replaced` event (a widget, a workflow), or a client tool call that gets its
output. A `save_item` that appends (often by calling `add_thread_item`) leaves the old version in place and
adds a second item with the same id: the history shows the item twice, `load_item` returns the stale copy, and a
database with a primary key on the id fails with an integrity error.

## Wrong
```python
async def save_item(self, thread_id: str, item: ThreadItem, context: dict) -> None:
    await self.add_thread_item(thread_id, item, context)
```

## Right
```python
async def save_item(self, thread_id: str, item: ThreadItem, context: dict) -> None:
    for index, existing in enumerate(self._items.get(thread_id, [])):
        if existing.id == item.id:
            self._items[thread_id][index] = item
            break
    else:
        await self.add_thread_item(thread_id, item, context)
```
The fix is made only when the items live in a plain list or dict of lists that the rule can see; a database store
gets the report (use `session.merge`, `INSERT ... ON CONFLICT (id) DO UPDATE`, or look the row up by id first).
"""

from __future__ import annotations

import ast
import re

from chatkit_fix.analysis import store as st
from chatkit_fix.findings import Safety
from chatkit_fix.model.effects.writes import UPSERTS
from chatkit_fix.pyast import walk
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK304",
    slug="store-save-item-append",
    safety=Safety.SAFE,
    summary="save_item appends (or calls add_thread_item) instead of replacing the item with the same id",
    url="https://github.com/openai/chatkit-python/blob/main/chatkit/store.py",
    triggers=st.STORE_TRIGGERS,
    module=__name__,
    explanation=__doc__,
    finding_triggers=(b"Store", b"load_thread"),
)

APPEND_METHODS = {"append", "extend", "insert", "appendleft"}
UPSERT_NAMES = {"merge", "upsert", "replace", "update", "update_one", "replace_one", "put", "put_item", "save", "set",
                "hset", "on_conflict_do_update", "bulk_write", "find_one_and_replace", "find_one_and_update"}
UPSERT_SQL = re.compile(r"on\s+conflict|replace\s+into|insert\s+or\s+replace|upsert|on\s+duplicate|\bupdate\b", re.IGNORECASE)
INSERT_SQL = re.compile(r"\binsert\s+into\b", re.IGNORECASE)


@st.check_store_classes(RULE)
def _check_class(ctx, store: st.StoreClass):
    function = store.methods.get("save_item")
    method = st.contract(ctx.project, ctx.path).by_name.get("save_item")
    if function is None or method is None:
        return
    item = st.param_for(function, method, "item")
    if item is None:
        return
    appends = _appends(function, item)
    if not appends or _replaces(function, item, appends):
        return
    if any(fact.via for fact in ctx.model.facts(UPSERTS, ctx.model.function(ctx.module, function))):
        return  # the helper it calls (add_thread_item, a repository function) replaces by id
    first = appends[0]
    fix, how = _fix(ctx, store, function, item, first)
    yield ctx.finding(
        ctx.header_span(function),
        f"{store.name}.save_item() {how}: saving an existing item adds a second copy with the same id",
        fix=fix,
        hint="replace the item whose id equals item.id, and add it only when there is none",
    )


def _appends(function: st.Function, item: str) -> list[ast.Call]:
    found: list[ast.Call] = []
    for node in st.body_nodes(function):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in APPEND_METHODS and _mentions(node.args, item) or isinstance(func, ast.Attribute) and func.attr == "add_thread_item" and isinstance(func.value, (ast.Name, ast.Call)):
            found.append(node)
        elif isinstance(func, ast.Attribute) and func.attr in ("add", "add_all") and node.args and isinstance(node.args[0], (ast.Call, ast.List)):
            found.append(node)  # session.add(Row(...)): an INSERT
        elif any(
            isinstance(a, ast.Constant) and isinstance(a.value, str) and INSERT_SQL.search(a.value) and not UPSERT_SQL.search(a.value)
            for a in node.args
        ):
            found.append(node)
    return found


def _mentions(nodes, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for root in nodes for n in walk(root))


def _replaces(function: st.Function, item: str, appends: list[ast.Call]) -> bool:
    inside = {id(n) for call in appends for n in walk(call)}
    for node in st.body_nodes(function):
        if id(node) in inside:
            continue
        if isinstance(node, ast.Attribute) and node.attr == "id" and isinstance(node.value, ast.Name) and node.value.id == item:
            return True
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == item:
            return True  # item["id"]
        if isinstance(node, ast.Call):
            name = st._call_name(node.func)
            if name in UPSERT_NAMES:
                return True
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "get" and isinstance(func.value, ast.Name) and func.value.id == item:
                return True  # item.get("id")
            if name == "getattr" and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id == item:
                return True
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and UPSERT_SQL.search(node.value):
            return True
        if isinstance(node, (ast.Assign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Subscript) for t in targets) and isinstance(node, ast.Assign) and _mentions([node.value], item):
                return True  # self.items[thread_id][item.id] = item, or a replace by index
    return False


def _storage(store: st.StoreClass, container: ast.AST):
    """(iterable text, indexable text) for `self.a[k]`, `self.a.setdefault(k, [])` or `self.a`; None otherwise."""
    attributes = st.container_attributes(store)

    def self_attr(node):
        return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"

    def simple(node):
        return isinstance(node, (ast.Name, ast.Constant)) or (isinstance(node, ast.Attribute) and simple(node.value))

    if self_attr(container) and attributes.get(container.attr) == "list":
        text = f"self.{container.attr}"
        return text, text
    if isinstance(container, ast.Subscript) and self_attr(container.value) and attributes.get(container.value.attr) == "dict":
        if simple(container.slice):
            return container.value.attr, container.slice
    if (
        isinstance(container, ast.Call)
        and isinstance(container.func, ast.Attribute)
        and container.func.attr == "setdefault"
        and self_attr(container.func.value)
        and attributes.get(container.func.value.attr) == "dict"
        and container.args
        and simple(container.args[0])
    ):
        return container.func.value.attr, container.args[0]
    return None


def _fix(ctx, store: st.StoreClass, function: st.Function, item: str, append: ast.Call):
    """Edits turning the append into a replace-or-append, and the phrase describing what the method does now."""
    statement = ctx.parents.get(append)
    if isinstance(statement, ast.Await):
        statement = ctx.parents.get(statement)
    if isinstance(append.func, ast.Attribute) and append.func.attr == "add_thread_item":
        how = "calls add_thread_item()"
        target = _delegated_storage(ctx, store, append, item)
    elif isinstance(append.func, ast.Attribute) and append.func.attr == "append":
        how = "appends the item"
        target = _storage(store, append.func.value)
        target = _render_storage(ctx, target) if target else None
        if not (len(append.args) == 1 and isinstance(append.args[0], ast.Name) and append.args[0].id == item):
            target = None
    else:
        return None, "inserts a new record"
    if target is None or not isinstance(statement, ast.Expr):
        return None, how
    iterable, indexable, item_text = (*target, item) if len(target) == 2 else target
    used = {n.id for n in walk(function) if isinstance(n, ast.Name)} | {a.arg for a in walk(function) if isinstance(a, ast.arg)}
    index_name = next(n for n in ("index", "position", "i", "_index") if n not in used)
    existing_name = next(n for n in ("existing", "current", "old", "_existing") if n not in used)
    indent = st.statement_indent(ctx, statement)
    text = (
        f"for {index_name}, {existing_name} in enumerate({iterable}):\n"
        f"{indent}    if {existing_name}.id == {item_text}.id:\n"
        f"{indent}        {indexable}[{index_name}] = {item_text}\n"
        f"{indent}        break\n"
        f"{indent}else:\n"
        f"{indent}    {ctx.segment(statement)}"
    )
    if "\n" in ctx.segment(statement):
        return None, how
    return [ctx.replace(statement, text)], how


def _render_storage(ctx, target):
    attr_or_text, key = target
    if key is None or isinstance(key, str):
        return attr_or_text, attr_or_text
    key_text = ctx.segment(key)
    return f"self.{attr_or_text}.get({key_text}, [])", f"self.{attr_or_text}[{key_text}]"


def _delegated_storage(ctx, store: st.StoreClass, call: ast.Call, item: str):
    """Where add_thread_item appends, in the names of the delegating call: (iterable, indexable, item text)."""
    add = store.methods.get("add_thread_item") or store.inherited.get("add_thread_item")
    if add is None:
        return None
    params = [a.arg for a in st.positional_params(add)][1:]
    bound: dict[str, ast.AST] = dict(zip(params, call.args))
    bound.update({k.arg: k.value for k in call.keywords if k.arg})
    appends = [
        n for n in st.body_nodes(add)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "append"
    ]
    if len(appends) != 1 or len(appends[0].args) != 1 or not isinstance(appends[0].args[0], ast.Name):
        return None
    appended = appends[0].args[0].id
    if appended not in bound or not isinstance(bound[appended], ast.Name):
        return None
    storage = _storage(store, appends[0].func.value)
    if storage is None:
        return None
    attr_or_text, key = storage
    if key is None or isinstance(key, str):
        return attr_or_text, attr_or_text, bound[appended].id
    if isinstance(key, ast.Name):
        if key.id not in bound or not isinstance(bound[key.id], (ast.Name, ast.Attribute, ast.Constant)):
            return None
        key_text = ctx.segment(bound[key.id])
    elif isinstance(key, ast.Constant):
        key_text = repr(key.value)
    else:
        return None
    return f"self.{attr_or_text}.get({key_text}, [])", f"self.{attr_or_text}[{key_text}]", bound[appended].id


_BASEL = '''from typing import Dict, List

from chatkit.store import Store
from chatkit.types import ThreadItem


class MemoryStore(Store[dict]):
    def __init__(self):
        self._thread_items: Dict[str, List[ThreadItem]] = {}

    async def add_thread_item(self, thread_id: str, item: ThreadItem, context: dict) -> None:
        """Add an item to a thread"""
        if thread_id not in self._thread_items:
            self._thread_items[thread_id] = []
        self._thread_items[thread_id].append(item)

    async def save_item(self, thread_id: str, item: ThreadItem, context: dict) -> None:
        """Save an item (alias for add_thread_item)"""
        await self.add_thread_item(thread_id, item, context)
'''

_BASEL_FIXED = _BASEL.replace('''        """Save an item (alias for add_thread_item)"""
        await self.add_thread_item(thread_id, item, context)
''', '''        """Save an item (alias for add_thread_item)"""
        for index, existing in enumerate(self._thread_items.get(thread_id, [])):
            if existing.id == item.id:
                self._thread_items[thread_id][index] = item
                break
        else:
            await self.add_thread_item(thread_id, item, context)
''')

_DIRECT = '''from collections import defaultdict

from chatkit.server import Store


class InMemoryStore(Store):
    def __init__(self):
        self.items = defaultdict(list)

    async def save_item(self, thread_id, item, ctx):
        self.items[thread_id].append(item)
        self.touched = True
'''

_DIRECT_FIXED = _DIRECT.replace('''        self.items[thread_id].append(item)
''', '''        for index, existing in enumerate(self.items.get(thread_id, [])):
            if existing.id == item.id:
                self.items[thread_id][index] = item
                break
        else:
            self.items[thread_id].append(item)
''')

_DATABASE = '''from sqlmodel import Session
from chatkit.store import Store


class DatabaseStore(Store[dict]):
    async def save_item(self, thread_id, item, context: dict) -> None:
        """Save message to database."""
        await self.add_thread_item(thread_id, item, context)

    async def add_thread_item(self, thread_id, item, context: dict) -> None:
        session: Session = context["session"]
        session.add(Message(conversation_id=thread_id, content=item.content))
        session.commit()
'''

RULE.cases(
    valid=[
        Valid(
            "from chatkit.store import Store\n\n\nclass MemoryStore(Store[dict]):\n"
            "    async def save_item(self, thread_id, item, context):\n"
            "        items = self.items[thread_id]\n        for idx, existing in enumerate(items):\n"
            "            if existing.id == item.id:\n                items[idx] = item\n                return\n"
            "        items.append(item)\n",
            filename="backend/app/memory_store.py",
            name="official sample upsert",
        ),
        Valid(
            "from chatkit.store import Store\n\n\nclass PostgresStore(Store['RequestContext']):\n"
            "    async def save_item(self, thread_id, item, context):\n"
            "        row = session.get(ChatKitItem, item.id)\n        if row is None:\n"
            "            session.add(ChatKitItem(id=item.id, thread_id=thread_id))\n        session.commit()\n",
            filename="app/chatkit_store.py",
            name="looks the row up by id first",
        ),
        Valid(
            "from chatkit.store import Store\n\n\nclass SimpleStore(Store):\n"
            "    async def save_item(self, thread_id, item, context):\n"
            "        await self.db.execute('INSERT INTO items VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET data = $2', item.id, item)\n",
            filename="store.py",
            name="INSERT ON CONFLICT",
        ),
    ],
    invalid=[
        Invalid(_BASEL, _BASEL_FIXED, filename="backend/app/chatkit_store.py", name="delegates to add_thread_item", findings=[(17, 5, "MemoryStore.save_item() calls add_thread_item()")]),
        Invalid(_DIRECT, _DIRECT_FIXED, filename="chatkit_store.py", name="appends to a defaultdict list", findings=[(10, 5, "InMemoryStore.save_item() appends the item")]),
        Invalid(_DATABASE, None, filename="api/v1/endpoints/chatkit.py", name="database insert: report only", findings=[(6, 5, "DatabaseStore.save_item() calls add_thread_item()")]),
    ],
)


_DUCK = '''class SimpleStore:
    def __init__(self):
        self.items = []

    async def add_thread_item(self, thread_id, item, context):
        self.items.append(item)

    async def save_item(self, thread_id, item, context):
        await self.add_thread_item(thread_id, item, context)
'''

RULE.cases(
    invalid=[
        Invalid(
            {"store.py": _DUCK,
             "api/index.py": "from chatkit.server import ChatKitServer\nfrom store import SimpleStore\n\n\n"
                             "class SimpleChatServer(ChatKitServer):\n    async def respond(self, thread, input, context):\n"
                             "        yield None\n\n\nstore = SimpleStore()\nserver = SimpleChatServer(store=store)\n"},
            {"store.py": _DUCK.replace("        await self.add_thread_item(thread_id, item, context)\n",
                                       "        for index, existing in enumerate(self.items):\n            if existing.id == item.id:\n"
                                       "                self.items[index] = item\n                break\n        else:\n"
                                       "            await self.add_thread_item(thread_id, item, context)\n")},
            name="Vercel api/index.py hands a plain list store over",
            findings=[("store.py", 8, 5, "SimpleStore.save_item() calls add_thread_item()")],
        ),
    ],
)


RULE.cases(
    valid=[
        Valid(
            "from chatkit.store import Store\n\n\nclass PostgresStore(Store[dict]):\n"
            "    async def add_thread_item(self, thread_id, item, context):\n"
            "        await self._write_item(thread_id, item)\n\n"
            "    async def save_item(self, thread_id, item, context):\n"
            "        await self.add_thread_item(thread_id, item, context)\n\n"
            "    async def _write_item(self, thread_id, item):\n"
            "        async with self.pool.acquire() as conn:\n"
            "            await conn.execute(\n"
            "                \"INSERT INTO items (id, thread_id, data) VALUES ($1, $2, $3) \"\n"
            "                \"ON CONFLICT (id) DO UPDATE SET data = EXCLUDED.data\",\n"
            "                item.id, thread_id, item.model_dump_json(),\n"
            "            )\n",
            filename="app/stores/postgres.py",
            name="add_thread_item writes through an upserting helper",
        ),
    ],
)
