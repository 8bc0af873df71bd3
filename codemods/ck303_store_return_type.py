"""Store methods must return what ChatKit reads: a `Page` from `load_threads`/`load_thread_items`, with the fields
`Page` has, and `NotFoundError` (not `None`, `ValueError` or `KeyError`) from `load_thread`/`load_item`.

## Why
ChatKit reads `page.data`, `page.has_more` and `page.after`. A dict or a list returned instead fails with
`AttributeError: 'dict' object has no attribute 'has_more'` (or `'data'`): HTTP 500 on `threads.list` and
`items.list`, a dead stream when the agent loads history. `Page` ignores fields it does not have, so `Page(items=...)` is an *empty* page and
`Page(next_cursor=...)` or `Page(first_id=...)` lose the cursor: the client pages forever or never.
`load_thread` and `load_item` signal a missing id with `chatkit.store.NotFoundError`; returning `None` makes ChatKit
fail later with an `AttributeError` on `None`, far from the cause, and `ValueError`/`KeyError` cannot be told apart
from real bugs by the code that maps `NotFoundError` to a 404.

`Page`'s fields are those measured for the openai-chatkit release the project declares, else the installed SDK's.

## Wrong
```python
async def load_threads(self, limit, after, order, context):
    return {"items": threads[:limit], "has_more": len(threads) > limit}

async def load_thread_items(self, thread_id, after, limit, order, context):
    return Page(data=items, has_more=more, next_cursor=None)

async def load_item(self, thread_id, item_id, context):
    for item in self.items[thread_id]:
        if item.id == item_id:
            return item
    return None
```

## Right
```python
async def load_threads(self, limit, after, order, context):
    return Page(data=threads[:limit], has_more=len(threads) > limit)

async def load_thread_items(self, thread_id, after, limit, order, context):
    return Page(data=items, has_more=more, after=None)

async def load_item(self, thread_id, item_id, context):
    for item in self.items[thread_id]:
        if item.id == item_id:
            return item
    raise NotFoundError(f"Item {item_id} not found")
```
Literal dicts and lists become `Page(...)` (unsafe when the same file reads the result as a dict or list); wrong
`Page` keywords are renamed (`items` to `data`, `next_cursor`/`last_id` to `after`) or dropped; `return None`,
`ValueError` and `KeyError` become `raise NotFoundError(...)`, with the import.
"""

from __future__ import annotations

import ast

from chatkit_fix.analysis import store as st
from chatkit_fix.codemods._cases import Edited
from chatkit_fix.findings import Safety
from chatkit_fix.pyast import walk
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK303",
    slug="store-return-type",
    safety=Safety.SAFE,
    summary="a store returns a dict/list where a Page is due, builds Page with unknown fields, or None where NotFoundError is due",
    url="https://github.com/openai/chatkit-python/blob/main/chatkit/store.py",
    triggers=(*st.STORE_TRIGGERS, (b"Page", b"chatkit")),
    module=__name__,
    explanation=__doc__,
    finding_triggers=(b"Store", b"load_thread", b"Page"),
)

FIELD_ALIASES = {
    "data": {"items", "threads", "results", "records", "messages", "entries", "rows"},
    "has_more": {"hasMore", "more", "has_next", "hasNext", "has_next_page"},
    "after": {"next_cursor", "cursor", "next", "nextCursor", "next_after", "last_id", "after_id", "next_page_token", "lastId"},
}
NOT_FOUND_METHODS = {"load_thread": ("Thread", "thread_id"), "load_item": ("Item", "item_id")}
NOT_FOUND_LIKE = {"ValueError", "KeyError"}
CATCH_ALL = {"Exception", "BaseException"}


@st.check_store_classes(RULE)
def _check_class(ctx, store: st.StoreClass):
    contract = st.contract(ctx.project, ctx.path)
    for name, function in store.methods.items():
        method = contract.by_name.get(name)
        if method is None:
            continue
        if contract.returns_page(name):
            yield from _check_page_returns(ctx, store, function, contract)
        if name in NOT_FOUND_METHODS:
            yield from _check_not_found(ctx, store, function, method)


@RULE.check
def check_page_calls(ctx):  # `Page(...)` built anywhere in the file, in a store class or not
    if "Page" in ctx.text:
        page_fields = None
        for call in ctx.calls():
            func = call.func.value if isinstance(call.func, ast.Subscript) else call.func  # Page[ThreadItem](...)
            if not ctx.refers_to(func, "chatkit", "Page"):
                target = ctx.model.resolve(ctx.module, func)  # a project module re-exporting chatkit's Page
                if target is None or not target.names("chatkit", "Page"):
                    continue
            page_fields = page_fields or st.contract(ctx.project, ctx.path).page_fields
            finding = _check_page_call(ctx, call, page_fields)
            if finding is not None:
                yield finding


# ---- Page returns --------------------------------------------------------------------------------------------------


def _target_field(key: str, page_fields: list[str]) -> str | None:
    if key in page_fields:
        return key
    for field_name, aliases in FIELD_ALIASES.items():
        if key in aliases and field_name in page_fields:
            return field_name
    return None


def _page_returns(function: st.Function) -> list[ast.Return]:
    return [n for n in st.body_nodes(function) if isinstance(n, ast.Return) and n.value is not None]


def _is_list_expr(node: ast.AST, function: st.Function | None = None) -> bool:
    """A list literal, comprehension, `list(...)`/`sorted(...)`, a slice of one, or a local name only ever bound to
    one (`items = []` ... `items.append(...)` ... `return items`)."""
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
        return _is_list_expr(node.value, function)
    if isinstance(node, (ast.List, ast.ListComp)):
        return True
    if isinstance(node, ast.Name) and function is not None:
        values = _local_values(function, node.id)
        return bool(values) and all(v is not None and _is_list_expr(v) for v in values)
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("list", "sorted")


def _local_values(function: st.Function, name: str) -> list[ast.AST | None]:
    """What `name` is bound to in the function (None for a binding that is not an assignment: a loop, a parameter)."""
    if any(a.arg == name for a in [*function.args.posonlyargs, *function.args.args, *function.args.kwonlyargs]):
        return [None]
    found: list[ast.AST | None] = []
    for node in st.body_nodes(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name) and target.id == name:
                    found.append(node.value)
                elif any(isinstance(n, ast.Name) and n.id == name for n in walk(target)):
                    found.append(None)
        elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and isinstance(node.target, ast.Name) and node.target.id == name:
            found.append(node.value)
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
            targets = [node.target] if isinstance(node, (ast.For, ast.AsyncFor)) else [i.optional_vars for i in node.items]
            if any(t is not None and any(isinstance(n, ast.Name) and n.id == name for n in walk(t)) for t in targets):
                found.append(None)
    return found


def _check_page_returns(ctx, store, function, contract):
    fields = contract.page_fields
    for ret in _page_returns(function):
        value = ret.value
        if isinstance(value, ast.Dict):
            yield _dict_return(ctx, function, ret, value, fields, contract)
        elif _is_list_expr(value, function):
            local, edits = st.ensure_chatkit_imports(ctx, {"Page": contract.annotation_modules.get("Page", "chatkit.types")})
            edits.append(ctx.replace(value, f"{local['Page']}(data={ctx.segment(value)})"))
            yield _finding(ctx, function, ret, "a list", edits)


def _dict_return(ctx, function, ret, value: ast.Dict, fields, contract):
    pairs: dict[str, str] = {}
    dropped: list[str] = []
    for key, item in zip(value.keys, value.values):
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            return _finding(ctx, function, ret, "a dict", None)
        target = _target_field(key.value, fields)
        if target is None or target in pairs:
            dropped.append(key.value)
        else:
            pairs[target] = ctx.segment(item)
    if "data" in fields and "data" not in pairs:
        return _finding(ctx, function, ret, "a dict", None)
    local, edits = st.ensure_chatkit_imports(ctx, {"Page": contract.annotation_modules.get("Page", "chatkit.types")})
    ordered = [(f, pairs[f]) for f in fields if f in pairs]
    if "\n" in ctx.segment(value):
        inner = ctx.source.indentation(value.keys[0].lineno) if value.keys else st.statement_indent(ctx, ret) + "    "
        outer = ctx.source.indentation(ret.lineno)
        text = f"{local['Page']}(\n" + "".join(f"{inner}{f}={v},\n" for f, v in ordered) + f"{outer})"
    else:
        text = f"{local['Page']}(" + ", ".join(f"{f}={v}" for f, v in ordered) + ")"
    edits.append(ctx.replace(value, text))
    note = f" (drops {', '.join(dropped)})" if dropped else ""
    return _finding(ctx, function, ret, "a dict", edits, note)


def _finding(ctx, function, ret, what, edits, note=""):
    callers = _dict_style_callers(ctx, function.name)
    safety = Safety.UNSAFE if callers else None
    hint = f"return Page(data=..., has_more=..., after=...){note}"
    if callers:
        hint += f"; this file also reads the result as {what} (line {ctx.line_of(callers[0])}): update it too"
    return ctx.finding(
        ctx.header_span(ret),
        f"{function.name}() returns {what} where ChatKit expects a Page: it reads page.data and fails with AttributeError",
        fix=edits,
        hint=hint,
        safety=safety,
    )


def _dict_style_callers(ctx, method_name: str) -> list[ast.AST]:
    """Uses in this file of a `.method_name(...)` result as a dict or list (`.get("items")`, `r["items"]`, `len(r)`)."""
    found: list[ast.AST] = []
    for node in walk(ctx.tree):
        if not isinstance(node, ast.Assign) or len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
            continue
        value = node.value.value if isinstance(node.value, ast.Await) else node.value
        if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == method_name):
            continue
        name = node.targets[0].id
        scope = _enclosing_function(ctx, node) or ctx.tree
        for use in walk(scope):
            if isinstance(use, ast.Call) and isinstance(use.func, ast.Attribute) and use.func.attr in ("get", "keys", "items", "values"):
                if isinstance(use.func.value, ast.Name) and use.func.value.id == name:
                    found.append(use)
            elif isinstance(use, ast.Subscript) and isinstance(use.value, ast.Name) and use.value.id == name:
                found.append(use)
            elif isinstance(use, ast.Call) and isinstance(use.func, ast.Name) and use.func.id == "len" and use.args:
                if isinstance(use.args[0], ast.Name) and use.args[0].id == name:
                    found.append(use)
            elif isinstance(use, (ast.For, ast.comprehension)) and isinstance(use.iter, ast.Name) and use.iter.id == name:
                found.append(use.iter)
    return found


def _enclosing_function(ctx, node):
    current = ctx.parents.get(node)
    while current is not None and not isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef)):
        current = ctx.parents.get(current)
    return current


# ---- Page(...) keywords --------------------------------------------------------------------------------------------


def _check_page_call(ctx, call: ast.Call, fields: list[str]):
    if any(k.arg is None for k in call.keywords):
        return None
    present = {k.arg for k in call.keywords if k.arg in fields}
    renames: list[tuple[ast.keyword, str]] = []
    drops: list[ast.keyword] = []
    for keyword in call.keywords:
        if keyword.arg in fields:
            continue
        target = _target_field(keyword.arg, fields)
        if target is not None and target not in present:
            renames.append((keyword, target))
            present.add(target)
        else:
            drops.append(keyword)
    if not renames and not drops:
        return None
    edits = [ctx.replace((ctx.span(k)[0], ctx.span(k.value)[0]), f"{target}=") for k, target in renames]
    edits += _deletions(ctx, call, drops)
    bad = ", ".join(f"{k.arg}=" for k in [*(k for k, _ in renames), *drops])
    changes = [f"{k.arg}= -> {t}=" for k, t in renames] + [f"drop {k.arg}=" for k in drops]
    return ctx.finding(
        ctx.header_span(call),
        f"Page(...) with {bad}: Page has only {', '.join(fields)} and silently ignores the rest",
        fix=edits,
        hint="; ".join(changes),
    )


def _deletions(ctx, call: ast.Call, drops: list[ast.keyword]):
    elements: list[ast.AST] = sorted([*call.args, *call.keywords], key=lambda n: (n.lineno, n.col_offset))
    dropped = {id(k) for k in drops}
    edits = []
    index = 0
    while index < len(elements):
        if id(elements[index]) not in dropped:
            index += 1
            continue
        run_end = index
        while run_end + 1 < len(elements) and id(elements[run_end + 1]) in dropped:
            run_end += 1
        if index > 0:
            edits.append(ctx.replace((ctx.span(elements[index - 1])[1], ctx.span(elements[run_end])[1]), ""))
        elif run_end + 1 < len(elements):
            edits.append(ctx.replace((ctx.span(elements[index])[0], ctx.span(elements[run_end + 1])[0]), ""))
        else:
            edits.append(ctx.replace((ctx.span(elements[index])[0], ctx.span(elements[run_end])[1]), ""))
        index = run_end + 1
    return edits


# ---- NotFoundError -------------------------------------------------------------------------------------------------


def _check_not_found(ctx, store, function, method):
    what, id_param = NOT_FOUND_METHODS[method.name]
    variable = st.param_for(function, method, id_param)

    def raise_text():
        local, edits = st.not_found_error(ctx)
        return f"raise {local}({st.not_found_message(ctx, what, variable)})", edits

    returns_value = False
    for node in st.body_nodes(function):
        if isinstance(node, ast.Return):
            value = node.value
            if value is None or (isinstance(value, ast.Constant) and value.value is None) or (
                isinstance(value, (ast.Dict, ast.List)) and not (value.keys if isinstance(value, ast.Dict) else value.elts)
            ):
                shown = ctx.segment(node)
                handler = _broad_handler(ctx, node, function)
                if handler is not None:
                    yield ctx.finding(
                        ctx.header_span(node),
                        f"{method.name}() turns any error into `{shown}`: ChatKit then fails with an AttributeError on "
                        "None, far from the real error",
                        fix=ctx.replace(node, "raise"),
                        hint="re-raise the error (and raise NotFoundError where the item is really missing)",
                    )
                    continue
                text, edits = raise_text()
                edits.append(ctx.replace(node, text))
                yield ctx.finding(
                    ctx.header_span(node),
                    f"{method.name}() answers a missing {what.lower()} with `{shown}`: ChatKit expects NotFoundError "
                    "and fails later with AttributeError",
                    fix=edits,
                    hint=text,
                )
                continue
            returns_value = True
            rewritten = _dict_get_return(ctx, store, function, node, what, variable)
            if rewritten is not None:
                yield rewritten
        elif isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id in NOT_FOUND_LIKE and not _caught(ctx, node, function, exc.id):
                local, edits = st.not_found_error(ctx)
                edits.append(ctx.replace(exc, local))
                yield ctx.finding(
                    ctx.header_span(node),
                    f"{method.name}() raises {exc.id} for a missing {what.lower()}: ChatKit's contract is NotFoundError",
                    fix=edits,
                    hint=f"raise {local}(...)",
                )
    if returns_value and not st.terminates(function.body):
        text, edits = raise_text()
        last = function.body[-1]
        indent = st.body_indent(ctx, function)
        edits.append(ctx.insert(st.line_end(ctx, last), f"\n{indent}{text}"))
        yield ctx.finding(
            ctx.header_span(function),
            f"{method.name}() falls off its end and returns None when the {what.lower()} is missing: ChatKit expects NotFoundError",
            fix=edits,
            hint=text,
        )


def _broad_handler(ctx, node: ast.AST, function: st.Function) -> ast.ExceptHandler | None:
    """The `except Exception:` (or bare `except:`) handler whose body holds `node`, if any."""
    current = ctx.parents.get(node)
    while current is not None and current is not function:
        if isinstance(current, ast.ExceptHandler):
            types = current.type.elts if isinstance(current.type, ast.Tuple) else [current.type]
            if current.type is None or any(isinstance(t, ast.Name) and t.id in CATCH_ALL for t in types):
                return current
            return None
        current = ctx.parents.get(current)
    return None


def _caught(ctx, node: ast.AST, function: st.Function, name: str) -> bool:
    child = node
    current = ctx.parents.get(node)
    while current is not None and current is not function:
        if isinstance(current, ast.Try) and child in current.body:
            for handler in current.handlers:
                if handler.type is None:
                    return True
                types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
                names = {t.id if isinstance(t, ast.Name) else getattr(t, "attr", "") for t in types}
                if names & ({name, "LookupError"} | CATCH_ALL):
                    return True
        child = current
        current = ctx.parents.get(current)
    return False


def _dict_get_return(ctx, store, function, ret: ast.Return, what: str, variable: str | None):
    """`return self.threads.get(thread_id)` on a plain dict: the missing case returns None."""
    value = ret.value
    if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "get"):
        return None
    holder = value.func.value
    if not (isinstance(holder, ast.Attribute) and isinstance(holder.value, ast.Name) and holder.value.id == "self"):
        return None
    if st.container_attributes(store).get(holder.attr) != "dict" or value.keywords:
        return None
    if not (len(value.args) == 1 or (len(value.args) == 2 and isinstance(value.args[1], ast.Constant) and value.args[1].value is None)):
        return None
    key = value.args[0]
    if not isinstance(key, (ast.Name, ast.Constant, ast.Attribute)):
        return None
    if _stored_before(ctx, ret, function, holder, key):
        return None
    local, edits = st.not_found_error(ctx)
    indent = st.statement_indent(ctx, ret)
    holder_text, key_text = ctx.segment(holder), ctx.segment(key)
    text = (
        f"if {key_text} not in {holder_text}:\n{indent}    raise {local}({st.not_found_message(ctx, what, variable)})\n"
        f"{indent}return {holder_text}[{key_text}]"
    )
    edits.append(ctx.replace(ret, text))
    return ctx.finding(
        ctx.header_span(ret),
        f"`{ctx.segment(ret)}` returns None for a missing {what.lower()}: ChatKit expects NotFoundError",
        fix=edits,
        hint=f"raise {local}(...) when {key_text} is not in {holder_text}",
    )


def _stored_before(ctx, ret: ast.Return, function, holder: ast.AST, key: ast.AST) -> bool:
    """Whether the key is in the dict whenever the return runs: a statement before it (in its block or an enclosing
    one) stores it (`holder[key] = ...`, `holder.setdefault(key, ...)`), or an `if key not in holder:` before it
    stores it or leaves the function."""
    holder_text, key_text = ctx.segment(holder), ctx.segment(key)

    def stores(statement: ast.AST) -> bool:
        for node in walk(statement):
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Subscript) and ctx.segment(t.value) == holder_text and ctx.segment(t.slice) == key_text
                       for t in targets):
                    return True
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "setdefault":
                if ctx.segment(node.func.value) == holder_text and node.args and ctx.segment(node.args[0]) == key_text:
                    return True
        return False

    def guards(statement: ast.AST) -> bool:
        if not isinstance(statement, ast.If) or statement.orelse:
            return False
        test = statement.test
        missing = (
            isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.NotIn)
            and ctx.segment(test.left) == key_text and ctx.segment(test.comparators[0]) == holder_text
        )
        return missing and (stores(statement) or st.terminates(statement.body))

    child: ast.AST = ret
    current = ctx.parents.get(ret)
    while current is not None:
        for field in ("body", "orelse", "finalbody"):
            block = getattr(current, field, None)
            if isinstance(block, list) and child in block:
                for statement in block[:block.index(child)]:
                    if isinstance(statement, ast.If):
                        certain = guards(statement)  # a store under any other condition may not happen
                    elif isinstance(statement, (ast.For, ast.AsyncFor, ast.While)):
                        certain = False
                    else:
                        certain = stores(statement)
                    if certain:
                        return True
        if current is function:
            break
        child, current = current, ctx.parents.get(current)
    return False


_HUMANOID = '''from typing import Any, Dict, List, Optional

from chatkit.store import Store
from chatkit.types import ThreadMetadata


class SimpleMemoryStore(Store):
    def __init__(self):
        self.threads: Dict[str, ThreadMetadata] = {}
        self.thread_items: Dict[str, List[Dict]] = {}

    async def load_thread_items(self, thread_id: str, after: Optional[str], limit: int, order: str, context: Any):
        items = self.thread_items.get(thread_id, [])
        return {
            "items": items[:limit],
            "has_more": len(items) > limit
        }

    async def load_threads(self, limit: int, after: Optional[str], order: str, context: Any):
        threads = list(self.threads.values())
        return {"items": threads[:limit], "has_more": len(threads) > limit, "total": len(threads)}

    async def load_item(self, thread_id: str, item_id: str, context: Any) -> Dict:
        for item in self.thread_items.get(thread_id, []):
            if item.id == item_id:
                return item
        return {}
'''

_HUMANOID_FIXED = (
    _HUMANOID.replace("from chatkit.store import Store\n", "from chatkit.store import Store, NotFoundError\n")
    .replace("from chatkit.types import ThreadMetadata\n", "from chatkit.types import ThreadMetadata, Page\n")
    .replace('''        return {
            "items": items[:limit],
            "has_more": len(items) > limit
        }
''', '''        return Page(
            data=items[:limit],
            has_more=len(items) > limit,
        )
''')
    .replace('return {"items": threads[:limit], "has_more": len(threads) > limit, "total": len(threads)}',
             "return Page(data=threads[:limit], has_more=len(threads) > limit)")
    .replace("        return {}\n", '        raise NotFoundError(f"Item {item_id} not found")\n')
)

_BASEL = '''from chatkit.store import Store
from chatkit.types import ThreadMetadata, ThreadItem, Page


class MemoryStore(Store[dict]):
    async def load_thread_items(self, thread_id: str, after: str | None, limit: int, order: str, context: dict) -> Page[ThreadItem]:
        items = self._thread_items[thread_id][:limit]
        return Page(
            data=items,
            has_more=len(items) >= limit if limit > 0 else False,
            next_cursor=None
        )

    async def load_item(self, thread_id: str, item_id: str, context: dict) -> ThreadItem:
        if thread_id not in self._thread_items:
            raise ValueError(f"Thread {thread_id} not found")
        for item in self._thread_items[thread_id]:
            if item.id == item_id:
                return item
        raise ValueError(f"Item {item_id} not found in thread {thread_id}")

    async def load_threads(self, limit: int, after: str | None, order: str, context: dict) -> Page[ThreadMetadata]:
        threads = list(self._threads.values())[:limit]
        return Page(first_id=threads[0].id if threads else None, items=threads, last_id=threads[-1].id if threads else None)
'''

_BASEL_FIXED = (
    _BASEL.replace("from chatkit.store import Store\n", "from chatkit.store import Store, NotFoundError\n")
    .replace("            next_cursor=None\n", "            after=None\n")
    .replace("raise ValueError(", "raise NotFoundError(")
    .replace("return Page(first_id=threads[0].id if threads else None, items=threads, last_id=threads[-1].id if threads else None)",
             "return Page(data=threads, after=threads[-1].id if threads else None)")
)

_TASKPILOT = '''from chatkit.store import Store


class CustomChatKitStore(Store):
    def __init__(self):
        self.threads = {}
        self.items = {}

    async def load_thread(self, thread_id: str, context):
        return self.threads.get(thread_id)

    async def load_item(self, thread_id: str, item_id: str, context):
        """Load specific thread item"""
        if thread_id in self.items:
            for item in self.items[thread_id]:
                if getattr(item, 'id', None) == item_id:
                    return item
        return None
'''

_TASKPILOT_FIXED = (
    _TASKPILOT.replace("from chatkit.store import Store\n", "from chatkit.store import Store, NotFoundError\n")
    .replace("        return self.threads.get(thread_id)\n",
             "        if thread_id not in self.threads:\n            raise NotFoundError(f'Thread {thread_id} not found')\n"
             "        return self.threads[thread_id]\n")
    .replace("        return None\n", "        raise NotFoundError(f'Item {item_id} not found')\n")
)

_CALLER = '''from chatkit.server import ChatKitServer, Store


class ThreadStore(Store):
    async def load_thread_items(self, thread_id, after, limit, order, context):
        return [i for i in self.items if i.thread_id == thread_id][:limit]


class RAGChatKitServer(ChatKitServer):
    async def respond(self, thread, input, context):
        history = await self.store.load_thread_items(thread.id, None, 10, "desc", context)
        for item in history:
            yield item
'''

_SAMPLE = '''from chatkit.store import NotFoundError, Store
from chatkit.types import Page, ThreadItem


class MemoryStore(Store[dict]):
    async def load_item(self, thread_id: str, item_id: str, context: dict) -> ThreadItem:
        for item in self.items.get(thread_id, []):
            if item.id == item_id:
                return item
        raise NotFoundError(f"Item {item_id} not found in thread {thread_id}")

    async def load_thread(self, thread_id: str, context: dict):
        try:
            return self.threads[thread_id]
        except KeyError:
            raise NotFoundError(thread_id) from None

    async def load_thread_items(self, thread_id, after, limit, order, context) -> Page[ThreadItem]:
        return self._paginate(self.items.get(thread_id, []), after, limit, order)

    def _paginate(self, rows, after, limit, order):
        return Page(data=rows[:limit], has_more=len(rows) > limit, after=None)
'''

RULE.cases(
    valid=[
        Valid(_SAMPLE, filename="backend/app/memory_store.py", name="official sample shape"),
        Valid(
            "from chatkit.store import Store\n\n\nclass PostgresStore(Store):\n"
            "    async def load_thread(self, thread_id, context):\n        row = await self.db.fetch(thread_id)\n"
            "        if row is None:\n            raise LookupError(thread_id)  # mapped by our handler\n        return row\n\n"
            "    async def parse(self, value):\n        try:\n            raise ValueError(value)\n        except ValueError:\n            return None\n",
            filename="store/neon_store.py",
            name="LookupError is out of scope; helpers are not contract methods",
        ),
        Valid("def load_threads():\n    return {'items': []}\n", filename="utils.py", name="not a store"),
    ],
    invalid=[
        Invalid(_HUMANOID, _HUMANOID_FIXED, filename="backend/chatkit_server.py", findings=[(14, 9, "load_thread_items() returns a dict where ChatKit expects a Page"), (21, 9, "load_threads() returns a dict where ChatKit expects a Page"), (27, 9, "load_item() answers a missing item with `return {}`")], name="dicts instead of Page, empty dict for missing"),
        Invalid(_BASEL, _BASEL_FIXED, filename="backend/app/chatkit_store.py", findings=[(8, 16, "Page(...) with next_cursor="), (16, 13, "load_item() raises ValueError for a missing item"), (20, 9, "load_item() raises ValueError for a missing item"), (24, 16, "Page(...) with items=, last_id=, first_id=")], name="invalid Page fields and ValueError"),
        Invalid(_TASKPILOT, _TASKPILOT_FIXED, filename="backend/routes/chatkit.py", findings=[(10, 9, "`return self.threads.get(thread_id)` returns None for a missing thread"), (18, 9, "load_item() answers a missing item with `return None`")], name="None for a missing thread or item"),
        Edited(_CALLER,
               ("from chatkit.server import ChatKitServer, Store\n",
                "from chatkit.server import ChatKitServer, Store\nfrom chatkit.types import Page\n"),
               ("        return [i for i in self.items if i.thread_id == thread_id][:limit]\n",
                "        return Page(data=[i for i in self.items if i.thread_id == thread_id][:limit])\n"),
               filename="chatkit_server.py", unsafe=True, name="list returned and read as a list: unsafe", findings=[(6, 9, "load_thread_items() returns a list where ChatKit expects a Page")]),
    ],
)


_DUCK_STORE = '''class ThreadStore:
    def __init__(self):
        self.threads = {}

    async def load_threads(self, limit, after, order, context):
        return sorted(self.threads.values(), key=lambda t: t.created_at)[:limit]

    async def load_thread(self, thread_id, context):
        thread = self.threads.get(thread_id)
        if thread is None:
            return None
        return thread
'''

_DUCK_SERVER = '''from chatkit.server import ChatKitServer

from services.thread_store import ThreadStore


class TaskFlowChatKitServer(ChatKitServer):
    def __init__(self):
        self.store = ThreadStore()
        super().__init__(self.store)

    async def respond(self, thread, input, context):
        yield None
'''

RULE.cases(
    invalid=[
        Invalid(
            {"services/thread_store.py": _DUCK_STORE, "app/server/chatkit_server.py": _DUCK_SERVER},
            {"services/thread_store.py": "from chatkit.store import NotFoundError\nfrom chatkit.types import Page\n\n\n" + _DUCK_STORE
             .replace("        return sorted(self.threads.values(), key=lambda t: t.created_at)[:limit]",
                      "        return Page(data=sorted(self.threads.values(), key=lambda t: t.created_at)[:limit])")
             .replace("            return None\n", "            raise NotFoundError(f\"Thread {thread_id} not found\")\n")},
            findings=[
                ("services/thread_store.py", 6, 9, "load_threads() returns a list where ChatKit expects a Page"),
                ("services/thread_store.py", 11, 13, "load_thread() answers a missing thread with `return None`"),
            ],
            name="store class without a Store base, handed over as self.store in another file",
        ),
        Invalid(
            "from chatkit.types import Page, ThreadItem\n\n\ndef paginate(rows):\n"
            "    return Page[ThreadItem](data=rows, hasMore=False, total=len(rows))\n",
            "from chatkit.types import Page, ThreadItem\n\n\ndef paginate(rows):\n"
            "    return Page[ThreadItem](data=rows, has_more=False)\n",
            filename="app/pagination.py",
            name="subscripted Page in a helper",
            findings=[(5, 12, "Page(...) with hasMore=, total=")],
        ),
    ],
)

RULE.cases(
    invalid=[
        Edited(
            "from chatkit.store import Store\n\n\nclass PostgresStore(Store):\n"
            "    async def load_thread(self, thread_id, context=None):\n        try:\n"
            "            row = await self.fetch(thread_id)\n            if not row:\n                return None\n"
            "            return row\n        except Exception as e:\n            logger.error(e)\n            return None\n",
            ("from chatkit.store import Store\n",
             "from chatkit.store import Store, NotFoundError\n"),
            ("                return None\n",
             '                raise NotFoundError(f"Thread {thread_id} not found")\n'),
            ("            return None\n",
             "            raise\n"),
            filename="services/postgres_store.py",
            findings=[
                (9, 17, "load_thread() answers a missing thread with `return None`"),
                (13, 13, "load_thread() turns any error into `return None`"),
            ],
            name="None for a missing row, None for any error",
        ),
    ],
)


_STORED_FIRST = '''from datetime import datetime

from chatkit.store import NotFoundError, Store
from chatkit.types import ThreadMetadata


class InventoryStore(Store[dict]):
    def __init__(self):
        self._threads: dict[str, ThreadMetadata] = {}
        self._items: dict[str, list] = {}

    async def load_thread(self, thread_id, context):
        if thread_id not in self._threads:
            self._threads[thread_id] = ThreadMetadata(id=thread_id, created_at=datetime.now())
        return self._threads.get(thread_id)

    async def load_item(self, thread_id, item_id, context):
        if item_id not in self._items:
            raise NotFoundError(item_id)
        return self._items.get(item_id)
'''

_BUILT_LIST = '''from chatkit.store import Store
from chatkit.types import Page


class SQLiteStore(Store[dict]):
    async def load_thread_items(self, thread_id, after, limit, order, context):
        items = []
        for row in self._rows(thread_id, limit):
            items.append(self._item(row))
        return items
'''

RULE.cases(
    valid=[
        Valid(_STORED_FIRST, filename="backend/app/routers/inventory_agent.py",
              name="get() after the key was stored or the missing case left the function"),
    ],
    invalid=[
        Invalid(_BUILT_LIST, _BUILT_LIST.replace("        return items\n", "        return Page(data=items)\n"),
                filename="chatkit_store.py", findings=[(10, 9, "load_thread_items() returns a list")],
                name="returns the list it built"),
        Invalid(
            {"app/types.py": "from chatkit.types import Page, ThreadItem\n\n__all__ = ['Page', 'ThreadItem']\n",
             "app/store.py": "from chatkit.store import Store\n\nfrom app.types import Page\n\n\n"
                             "class RowStore(Store[dict]):\n    def _page(self, rows, limit):\n"
                             "        return Page(data=rows[:limit], has_more=len(rows) > limit, last_id=rows[-1].id)\n"},
            {"app/store.py": "from chatkit.store import Store\n\nfrom app.types import Page\n\n\n"
                             "class RowStore(Store[dict]):\n    def _page(self, rows, limit):\n"
                             "        return Page(data=rows[:limit], has_more=len(rows) > limit, after=rows[-1].id)\n"},
            findings=[("app/store.py", 8, 16, "Page(...) with last_id=")],
            name="Page re-exported by a project module, built in a store helper",
        ),
    ],
)
