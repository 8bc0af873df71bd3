"""Store methods must take the parameters of `chatkit.store.Store`, with the same names, in the same order, and be
`async def` where the SDK awaits them.

## Why
ChatKit calls store methods both ways: with keywords (`load_thread(thread_id, context=context)`,
`load_threads(limit=..., after=..., order=..., context=...)`) and positionally (`stream_agent_response` calls
`load_thread_items(thread.id, None, 2, "desc", context)`). So names *and* order matter:

- a renamed parameter (`ctx` for `context`) fails only on the requests that pass it by keyword:
  `threads.create` works, `threads.get_by_id` answers HTTP 500
  (`TypeError: load_thread() got an unexpected keyword argument 'context'`);
- `limit` and `after` swapped, or `context` first, silently pass the wrong values to positional callers;
- a missing parameter (`save_item(self, item, context)`) shifts every argument: ChatKit's
  `save_item(thread.id, item, context=context)` fails with `TypeError: got multiple values for argument 'context'`;
- a plain `def` where the SDK awaits the method fails after the HTTP 200 with
  `TypeError: object NoneType can't be used in 'await' expression`, and the stream dies; one that itself uses
  `await` (or `async for`/`async with`) does not even import: `SyntaxError: 'await' outside async function`.

The expected signatures are those measured for the openai-chatkit release the project declares, else those of the
installed `chatkit.store.Store`.

## Wrong
```python
class CustomChatKitStore(Store):
    async def load_threads(self, context, limit: int = 10, after: str = None, order: str = "desc"):
        ...
    async def save_item(self, item, context) -> None:
        ...
    def save_thread(self, thread, ctx):
        self.threads[thread.id] = thread
```

## Right
```python
class CustomChatKitStore(Store):
    async def load_threads(self, limit: int, after: str, order: str, context):
        ...
    async def save_item(self, thread_id: str, item, context) -> None:
        ...
    async def save_thread(self, thread, context):
        self.threads[thread.id] = thread
```
The fix renames and reorders the parameters and renames their uses inside the method (only there), adds a missing
parameter, and turns a plain `def` into `async def`, unless the method makes blocking calls that `async def` would
hide (then a TODO marker asks you to move them off the event loop: see CK307). Defaults are dropped when reordering
would put a required parameter after one with a default (ChatKit always passes every argument).
"""

from __future__ import annotations

import ast
import re
from functools import partial

from chatkit_fix.analysis import store as st
from chatkit_fix.analysis import web
from chatkit_fix.codemods._cases import Edited, in_service
from chatkit_fix.findings import Safety
from chatkit_fix.pyast import walk
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK302",
    slug="store-signature",
    safety=Safety.SAFE,
    summary="a store method's parameters (names, order, arity) or async-ness differ from chatkit's Store",
    url="https://github.com/openai/chatkit-python/blob/main/chatkit/store.py",
    triggers=st.STORE_TRIGGERS,
    module=__name__,
    explanation=__doc__,
    finding_triggers=(b"Store", b"load_thread"),
)

ALIASES = {
    "context": {"ctx", "context_", "_context", "request_context", "req_ctx", "request_ctx", "contexts", "_ctx"},
    "thread_id": {"tid", "threadid", "thread_key", "thread"},
    "item_id": {"iid", "itemid", "message_id", "msg_id"},
    "item": {"thread_item", "itm", "message", "msg"},
    "after": {"cursor", "after_id", "start_after", "after_cursor"},
    "limit": {"page_size", "size", "max_items", "count", "n"},
    "order": {"sort", "direction", "sort_order", "ordering"},
    "attachment_id": {"att_id", "file_id"},
    "attachment": {"att", "file"},
    "thread": {"thread_metadata", "metadata"},
    "item_type": {"type", "kind", "type_"},
}
SKIPPED_DECORATORS = {"staticmethod", "classmethod", "property", "cached_property"}


@st.check_store_classes(RULE)
def _check_class(ctx, store: st.StoreClass):
    contract = st.contract(ctx.project, ctx.path)
    for name, function in store.methods.items():
        method = contract.by_name.get(name)
        if method is None or any(st._base_name(d) in SKIPPED_DECORATORS for d in function.decorator_list):
            continue
        finding = _check_method(ctx, store, function, method)
        if finding is not None:
            yield finding


class _Param:
    """One parameter of the method as written: name, annotation text, default text, kind."""

    def __init__(self, ctx, arg: ast.arg, default: ast.expr | None, kind: str):
        self.arg = arg
        self.name = arg.arg
        self.annotation = ctx.segment(arg.annotation) if arg.annotation is not None else None
        self.default = ctx.segment(default) if default is not None else None
        self.kind = kind  # "positional" | "kwonly"

    def render(self, name: str | None = None, keep_default: bool = True) -> str:
        text = name or self.name
        if self.annotation is not None:
            text += f": {self.annotation}"
        if keep_default and self.default is not None:
            text += f" = {self.default}" if self.annotation is not None else f"={self.default}"
        return text


def _params(ctx, function: st.Function) -> tuple[list[_Param], list[_Param]]:
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    pos = [_Param(ctx, a, d, "positional") for a, d in zip(positional, defaults)]
    kwonly = [_Param(ctx, a, d, "kwonly") for a, d in zip(args.kwonlyargs, args.kw_defaults)]
    return pos, kwonly


def _pair(named: list[_Param], expected: list[str]) -> tuple[dict[str, _Param], list[_Param], list[str]]:
    """Expected name -> the parameter that plays its part; leftovers; expected names nobody plays."""
    mapping = {p.name: p for p in named if p.name in expected}
    unmatched = [p for p in named if p.name not in expected]
    missing = [e for e in expected if e not in mapping]
    for wanted in list(missing):
        for param in unmatched:
            lowered = param.name.lower()
            same_kind = lowered.endswith("_id") == wanted.endswith("_id")  # attachment_id never plays attachment
            if lowered in ALIASES.get(wanted, ()) or (len(wanted) > 4 and wanted in lowered and same_kind):
                mapping[wanted] = param
                unmatched.remove(param)
                missing.remove(wanted)
                break
    # a leftover parameter plays a missing one when it sits where the SDK has it (`ctx` last, `tid` first); a name
    # that says it holds an id never plays the object itself (`attachment_id` is not the Attachment ChatKit passes)
    for wanted in list(missing):
        index = expected.index(wanted)
        if index < len(named) and named[index] in unmatched and named[index].kind == "positional" and (
            wanted.endswith("_id") or not named[index].name.lower().endswith("_id")
        ):
            param = named[index]
            mapping[wanted] = param
            unmatched.remove(param)
            missing.remove(wanted)
    return mapping, unmatched, missing


def _check_method(ctx, store: st.StoreClass, function: st.Function, method: st.ContractMethod):
    args = function.args
    positional, kwonly = _params(ctx, function)
    if not positional or (args.vararg is not None and args.kwarg is not None):
        return None
    expected = list(method.params)
    current_names = [p.name for p in positional[1:]]
    mapping, unmatched, missing = _pair(positional[1:] + kwonly, expected)
    problems: list[str] = []
    if current_names[: len(expected)] != expected or any(p.kind == "kwonly" for p in mapping.values()):
        renamed = [f"{p.name} for {e}" for e, p in mapping.items() if p.name != e]
        if missing:
            problems.append(f"no {', '.join(missing)} parameter")
        if renamed:
            problems.append(f"names {', '.join(renamed)} (keyword calls fail)")
        order_now = [e for e in sorted(mapping, key=lambda e: _position(mapping[e], positional, kwonly))]
        order_sdk = [e for e in expected if e in mapping]
        if order_now != order_sdk:
            moved = [e for e, f in zip(order_now, order_sdk) if e != f]
            problems.append(f"{', '.join(moved)} in another order than the SDK's (positional calls pass the wrong values)")
        else:
            early = [p.name for p in unmatched if p.kind == "positional" and p.default is not None and _position(p, positional, kwonly)
                     < max((_position(q, positional, kwonly) for q in mapping.values()), default=-1)]
            if early:
                problems.append(f"{', '.join(early)} before the SDK's parameters (positional calls pass values into {early[0]})")
        if any(p.kind == "kwonly" for p in mapping.values()):
            problems.append("keyword-only parameters where ChatKit passes them by position")
    extra_required = [p for p in unmatched if p.default is None]
    if extra_required:
        problems.append(f"extra required parameter{'s' if len(extra_required) > 1 else ''} {', '.join(p.name for p in extra_required)}"
                        " (ChatKit passes no value for it)")
    is_async = isinstance(function, ast.AsyncFunctionDef)
    if method.is_async and not is_async and _awaits(function):
        problems.append("a plain def that awaits (SyntaxError: 'await' outside async function when the module is imported)")
    elif method.is_async and not is_async:
        problems.append("a plain def where ChatKit awaits it (TypeError: object ... can't be used in 'await' expression)")
    elif not method.is_async and is_async:
        problems.append("async def where ChatKit calls it without await (it gets a coroutine)")
    if not problems:
        return None

    expected_text = f"{'async ' if method.is_async else ''}def {method.name}({', '.join(['self', *expected])})"
    return ctx.finding(
        ctx.header_span(function),
        f"{store.name}.{function.name}() does not match Store.{method.name}: {'; '.join(problems)}",
        fix=partial(_method_fix, ctx, store, function, method, problems, positional, kwonly, mapping, unmatched, missing),
        hint=f"use {expected_text}",
    )


def _method_fix(ctx, store, function, method, problems, positional, kwonly, mapping, unmatched, missing) -> list:
    """The SDK's parameter list (uses in the body renamed, contract annotations imported) and async-ness, or a TODO
    saying why not (a lazy fix: built only when the edits are needed)."""
    edits = []
    todo: list[str] = []
    signature_problem = any(not p.startswith(("a plain def", "async def")) for p in problems)
    if signature_problem:
        param_edits, reason = _signature_edits(ctx, store, function, method, positional, kwonly, mapping, unmatched, missing)
        if param_edits is None:
            todo.append(f"give {function.name}() the parameters ({', '.join(['self', *method.params])}): {reason}")
        else:
            edits.extend(param_edits)
    if method.is_async != isinstance(function, ast.AsyncFunctionDef):
        async_edit, reason = _async_edit(ctx, store, function, method.is_async)
        if async_edit is None:
            todo.append(reason)
        else:
            edits.append(async_edit)
    if todo:
        anchor = function.decorator_list[0] if function.decorator_list else function
        edits.append(ctx.todo(anchor, "; ".join(todo)))
    return edits


def _position(param: _Param, positional: list[_Param], kwonly: list[_Param]) -> int:
    ordered = positional + kwonly
    return next(i for i, p in enumerate(ordered) if p is param)


def _signature_edits(ctx, store, function, method, positional, kwonly, mapping, unmatched, missing):
    """Edits that rewrite the parameter list (and rename uses in the body), or (None, why not)."""
    args = function.args
    extra_required = [p for p in unmatched if p.default is None]
    used = _names_used(function)
    needed = [p for p in extra_required if p.name in used]
    if needed:
        return None, f"{', '.join(p.name for p in needed)} get{'s' if len(needed) == 1 else ''} no value from ChatKit"
    unmatched = [p for p in unmatched if p not in extra_required]  # required, unused by the body: dropped
    nodes: list[ast.AST] = [p.arg for p in positional + kwonly]
    nodes += [d for d in args.defaults] + [d for d in args.kw_defaults if d is not None]
    nodes += [a for a in (args.vararg, args.kwarg) if a is not None]
    start = ctx.span(positional[0].arg)[0]
    end = max(ctx.span(n)[1] for n in nodes)
    region = ctx.text[start:end]
    if "#" in region:
        return None, "its parameter list has comments"
    expected = list(method.params)
    renames = {mapping[e].name: e for e in expected if e in mapping and mapping[e].name != e}
    # keep defaults only when the new order stays valid (ChatKit passes every argument anyway)
    kept = [mapping[e].default is not None if e in mapping else False for e in expected]
    keep_defaults = all(kept[i] <= kept[i + 1] for i in range(len(kept) - 1)) if kept else True
    context_annotation = st.context_annotation_of(store)
    contract = st.contract(ctx.project, ctx.path)
    items = [positional[0].render()]
    needed_imports = []
    for name in expected:
        param = mapping.get(name)
        if param is not None:
            items.append(param.render(name, keep_defaults))
        else:
            annotation, imports_needed = _new_annotation(ctx, method, name, context_annotation, contract)
            needed_imports += imports_needed
            items.append(f"{name}: {annotation}" if annotation else name)
    items += [p.render() for p in unmatched if p.kind == "positional"]
    extra_kwonly = [p for p in unmatched if p.kind == "kwonly"]
    if args.vararg is not None:
        items.append("*" + _render_star(ctx, args.vararg))
    elif extra_kwonly:
        items.append("*")
    items += [p.render() for p in extra_kwonly]
    if args.kwarg is not None:
        items.append("**" + _render_star(ctx, args.kwarg))
    if missing:
        body_names = {n.id for n in walk(ast.Module(body=function.body, type_ignores=[])) if isinstance(n, ast.Name)}
        clash = [m for m in missing if m in body_names]
        if clash:
            return None, f"its body already uses the name{'s' if len(clash) > 1 else ''} {', '.join(clash)}"
    edits = [*needed_imports, ctx.replace((start, end), _separator(ctx, function, positional, kwonly).join(items))]
    if renames:
        rename_edits, reason = _rename_edits(ctx, function, renames)
        if rename_edits is None:
            return None, reason
        edits.extend(rename_edits)
    return edits, ""


def _awaits(function: ast.AST) -> bool:
    """The function's own body (not a nested function's) uses `await`, `async for` or `async with`."""
    return any(isinstance(node, (ast.Await, ast.AsyncFor, ast.AsyncWith)) for node in web.own_nodes(function))


def _render_star(ctx, arg: ast.arg) -> str:
    return arg.arg + (f": {ctx.segment(arg.annotation)}" if arg.annotation is not None else "")


def _new_annotation(ctx, method, name, context_annotation, contract):
    """The SDK's annotation for a parameter the method lacks (with the class's context type), and its imports."""
    text = method.annotations.get(name)
    typevar = contract.context_typevar
    if text is None:
        return None, []
    if typevar and text == typevar:
        return context_annotation, []
    if typevar and re.search(rf"\b{re.escape(typevar)}\b", text):
        return None, []
    symbols = {n: contract.annotation_modules[n] for n in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text) if n in contract.annotation_modules}
    if not symbols:
        return text, []
    local, edits = st.ensure_chatkit_imports(ctx, symbols)
    return re.sub(r"[A-Za-z_][A-Za-z0-9_]*", lambda m: local.get(m.group(0), m.group(0)), text), edits


def _separator(ctx, function, positional, kwonly) -> str:
    """", " for parameters on one line; ",\\n<indent>" when every parameter starts its own line."""
    args = [p.arg for p in positional + kwonly] + [a for a in (function.args.vararg, function.args.kwarg) if a]
    lines = [a.lineno for a in args]
    if len(args) >= 2 and len(set(lines)) == len(lines):
        starts_line = all(not ctx.source.line_text(a.lineno)[: a.col_offset].strip().rstrip("*") for a in args)
        if starts_line:
            return ",\n" + ctx.source.indentation(args[0].lineno)
    return ", "


def _rename_edits(ctx, function: st.Function, renames: dict[str, str]):
    """Edits renaming each parameter's uses inside the method body (nested scopes that rebind it are left alone)."""
    used = _names_used(function)
    for old, new in renames.items():
        if new in used and new not in renames:
            return None, f"its body already uses the name {new}"
    edits = []
    for old, new in renames.items():
        targets = _scope_references(function.body, old)
        if targets is None:
            return None, f"{old} is rebound in a way chatkit-fix does not rename (global, nonlocal, except ... as)"
        for name in targets:
            if ctx.segment(name) != old:
                return None, f"cannot locate every use of {old}"
            edits.append(ctx.replace(name, new))
    return edits, ""


def _names_used(function: st.Function) -> set[str]:
    names: set[str] = set()
    for statement in function.body:
        for node in walk(statement):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
    return names


def _binds(nodes: list[ast.AST], name: str) -> bool:
    """Whether a scope made of these nodes binds `name` itself (assignment, import, def, parameter)."""
    for root in nodes:
        for node in _same_scope(root):
            if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, (ast.Store, ast.Del)):
                return True
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
                return True
            if isinstance(node, (ast.Import, ast.ImportFrom)) and any((a.asname or a.name.split(".")[0]) == name for a in node.names):
                return True
            if isinstance(node, ast.ExceptHandler) and node.name == name:
                return True
    return False


def _same_scope(root: ast.AST):
    stack = [root]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                yield child  # its name binds here; its body is another scope
                continue
            if isinstance(child, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                continue
            stack.append(child)


def _scope_references(body: list[ast.stmt], name: str) -> list[ast.Name] | None:
    """Name nodes in this function scope (and closures that do not rebind it) that mean the parameter `name`."""
    found: list[ast.Name] = []

    def unsupported(node: ast.AST) -> bool:
        if isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names:
            return True
        if isinstance(node, ast.ExceptHandler) and node.name == name:
            return True
        if isinstance(node, (ast.Import, ast.ImportFrom)) and any((a.asname or a.name.split(".")[0]) == name for a in node.names):
            return True
        if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name == name:
            return True
        return False

    def visit(node: ast.AST) -> bool:
        if unsupported(node):
            return False
        if isinstance(node, ast.Name):
            if node.id == name:
                found.append(node)
            return True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            outer = [*node.args.defaults, *[d for d in node.args.kw_defaults if d is not None]]
            if not isinstance(node, ast.Lambda):
                outer += node.decorator_list
                outer += [a.annotation for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs] if a.annotation]
                outer += [node.returns] if node.returns else []
            if not all(visit(n) for n in outer):
                return False
            params = {a.arg for a in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]}
            params |= {a.arg for a in (node.args.vararg, node.args.kwarg) if a}
            inner = node.body if isinstance(node.body, list) else [node.body]
            if name in params or _binds(inner, name):
                return True
            return all(visit(n) for n in inner)
        if isinstance(node, ast.ClassDef):
            if not all(visit(n) for n in [*node.bases, *node.keywords, *node.decorator_list]):
                return False
            if _binds(node.body, name):
                return True
            return all(visit(n) for n in node.body)
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            bound = any(
                isinstance(t, ast.Name) and t.id == name for g in node.generators for t in walk(g.target)
            )
            if bound:
                return visit(node.generators[0].iter)
        return all(visit(child) for child in ast.iter_child_nodes(node))

    if not all(visit(statement) for statement in body):
        return None
    return found


def _async_edit(ctx, store: st.StoreClass, function: st.Function, make_async: bool):
    start = ctx.span(function)[0]
    if make_async:
        if any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in st.body_nodes(function)):
            return None, f"make {function.name}() async def (it is a generator: rewrite it to return its result)"
        blocking = st.blocking_facts(ctx.model, ctx.module, function)
        if blocking:
            return None, (
                f"make {function.name}() async def and run its blocking calls ({blocking[0].what}) in a thread: "
                "await asyncio.to_thread(...) (see CK307)"
            )
        if _sync_callers(store, function.name):
            return None, f"make {function.name}() async def and await it where the class calls it"
        return ctx.insert(start, "async "), ""
    if any(isinstance(n, (ast.Await, ast.AsyncFor, ast.AsyncWith)) for n in st.body_nodes(function)):
        return None, f"make {function.name}() a plain def (ChatKit does not await it): it awaits other calls"
    if _sync_callers(store, function.name, awaited=True):
        return None, f"make {function.name}() a plain def and drop the awaits on its calls"
    keyword_end = ctx.text.find("def", start)
    return ctx.replace((start, keyword_end), ""), ""


def _sync_callers(store: st.StoreClass, name: str, awaited: bool = False) -> bool:
    """Calls of self.<name>() in the class that are (not) awaited."""
    for function in store.methods.values():
        parents = {}
        for node in walk(function):
            for child in ast.iter_child_nodes(node):
                parents[child] = node
        for call in st.self_calls(function, [name]):
            is_awaited = isinstance(parents.get(call), ast.Await)
            if is_awaited == awaited:
                return True
    return False


_TASKPILOT = '''from datetime import datetime
from chatkit.store import Store
from chatkit.types import ThreadMetadata, Page


class CustomChatKitStore(Store):
    def __init__(self):
        self.threads = {}
        self.items = {}

    async def load_threads(self, context, limit: int = 10, after: str = None, order: str = "desc", **kwargs):
        threads = list(self.threads.values())
        threads.sort(key=lambda t: t.created_at, reverse=(order == "desc"))
        return Page(data=threads[:limit], has_more=len(threads) > limit)

    async def save_item(self, item, context) -> None:
        """Save item"""
        pass
'''

_TASKPILOT_FIXED = _TASKPILOT.replace(
    'async def load_threads(self, context, limit: int = 10, after: str = None, order: str = "desc", **kwargs):',
    "async def load_threads(self, limit: int, after: str, order: str, context, **kwargs):",
).replace("async def save_item(self, item, context) -> None:", "async def save_item(self, thread_id: str, item, context) -> None:")

_RENAMED = '''from typing import Any

from chatkit.server import Store, ThreadItem


class SimpleStore(Store[dict[str, Any]]):
    async def load_thread_items(
        self,
        thread_id: str,
        limit: int,
        after: str | None,
        order: str,
        ctx: dict[str, Any],
    ):
        user = ctx["user_id"]
        rows = [r for r in self.rows if r.owner == user]

        def visible(row, ctx=None):
            return ctx is None or row.thread_id == thread_id

        return [r for r in rows if visible(r)][:limit]

    def save_thread(self, thread, ctx):
        self.threads[thread.id] = (thread, ctx.get("user_id"))
'''

_RENAMED_FIXED = '''from typing import Any

from chatkit.server import Store, ThreadItem


class SimpleStore(Store[dict[str, Any]]):
    async def load_thread_items(
        self,
        thread_id: str,
        after: str | None,
        limit: int,
        order: str,
        context: dict[str, Any],
    ):
        user = context["user_id"]
        rows = [r for r in self.rows if r.owner == user]

        def visible(row, ctx=None):
            return ctx is None or row.thread_id == thread_id

        return [r for r in rows if visible(r)][:limit]

    async def save_thread(self, thread, context):
        self.threads[thread.id] = (thread, context.get("user_id"))
'''

_SQLITE_SYNC = '''import sqlite3

from chatkit.store import Store


class SqliteStore(Store["RequestContext"]):
    def __init__(self, path):
        self.conn = sqlite3.connect(path)

    def save_thread(self, thread, context):
        self.conn.execute("insert or replace into threads values (?, ?)", (thread.id, thread.model_dump_json()))
        self.conn.commit()
'''

_SQLITE_SYNC_FIXED = _SQLITE_SYNC.replace(
    "    def save_thread(self, thread, context):\n",
    "    # chatkit-fix: TODO[CK302] make save_thread() async def and run its blocking calls (sqlite3 connection.execute()) in a thread:"
    " await asyncio.to_thread(...) (see CK307)\n    def save_thread(self, thread, context):\n",
)

_DUCK_STORE = '''class ThreadStore:
    async def load_thread(self, tid, ctx):
        return self.threads[tid]
'''

_DUCK_SERVER = '''from chatkit.server import ChatKitServer
from .thread_store import ThreadStore

store = ThreadStore()


class ChatbotServer(ChatKitServer):
    async def respond(self, thread, input, context):
        yield None


server = ChatbotServer(store)
'''

RULE.cases(
    valid=[
        Valid(
            "import uuid\n\nfrom chatkit.store import Store\n\n\nclass MemoryStore(Store[dict]):\n"
            "    @staticmethod\n    def generate_thread_id(context):\n        return f'thr_{uuid.uuid4().hex}'\n\n"
            "    @staticmethod\n    def generate_item_id(item_type, thread, context):\n        return f'{item_type}_{uuid.uuid4().hex}'\n\n"
            "    @property\n    def load_threads(self):\n        return self._load_threads\n",
            filename="store.py",
            name="static methods and a property: bound otherwise, not a self-first signature",
        ),
        Valid(
            "from chatkit.store import Store\n\n\nclass MemoryStore(Store[dict]):\n"
            "    async def load_thread(self, thread_id: str, context: dict):\n        return self.threads[thread_id]\n\n"
            "    async def load_threads(self, limit, after, order, context):\n        return None\n\n"
            "    def generate_item_id(self, item_type, thread, context) -> str:\n        return 'x'\n\n"
            "    def helper(self, ctx):\n        return ctx\n",
            filename="memory_store.py",
            name="matching signatures and a helper",
        ),
        Valid(
            "from chatkit.store import Store\n\n\nclass LoggingStore(Store):\n"
            "    async def load_thread(self, *args, **kwargs):\n        return await self.inner.load_thread(*args, **kwargs)\n",
            filename="store.py",
            name="forwards everything",
        ),
        Valid(
            "class ThreadStore:\n    async def load_thread(self, tid, ctx):\n        return None\n",
            filename="thread_store.py",
            name="not a store of any server",
        ),
    ],
    invalid=[
        Invalid(_TASKPILOT, _TASKPILOT_FIXED, filename="backend/routes/chatkit.py", findings=[(11, 5, "CustomChatKitStore.load_threads() does not match Store.load_threads"), (16, 5, "CustomChatKitStore.save_item() does not match Store.save_item")], name="context first and missing thread_id"),
        Invalid(_RENAMED, _RENAMED_FIXED, filename="app/chatkit_store.py", findings=[
                    (7, 5, "SimpleStore.load_thread_items() does not match Store.load_thread_items"),
                    (23, 5, "SimpleStore.save_thread() does not match Store.save_thread"),
                ],
                name="limit and after swapped, ctx renamed, shadowing closure, sync def"),
        Invalid(_SQLITE_SYNC, _SQLITE_SYNC_FIXED, filename="store/sqlite_store.py", name="sync def with blocking calls", findings=[(10, 5, "SqliteStore.save_thread() does not match Store.save_thread")]),
        Invalid(
            "from chatkit.store import Store\n\n\nclass ThreadStore(Store):\n"
            "    async def generate_thread_id(self, context):\n        return 'thr_1'\n",
            "from chatkit.store import Store\n\n\nclass ThreadStore(Store):\n"
            "    def generate_thread_id(self, context):\n        return 'thr_1'\n",
            filename="services/thread_store.py",
            name="async id generator",
            findings=[(5, 5, "ThreadStore.generate_thread_id() does not match Store.generate_thread_id")],
        ),
        Invalid(
            {"app/thread_store.py": _DUCK_STORE, "app/server.py": _DUCK_SERVER},
            {"app/thread_store.py": _DUCK_STORE.replace("(self, tid, ctx)", "(self, thread_id, context)").replace("[tid]", "[thread_id]")},
            name="cross-file store class without a Store base",
            findings=[("app/thread_store.py", 2, 5, "ThreadStore.load_thread() does not match Store.load_thread")],
        ),
    ],
)


_DATACLASS = '''from dataclasses import dataclass

import chatkit.store as ck


@dataclass
class RequestContext:
    user_id: str


class TodoChatKitStore(ck.Store[RequestContext]):
    async def delete_thread_item(self, thread_id: str, context: RequestContext, item_id: str) -> None:
        self.items[thread_id] = [i for i in self.items[thread_id] if i.id != item_id]

    async def load_item(self, thread_id: str, item_id: str, *, context: RequestContext):
        return self.items[thread_id][item_id]
'''

_DATACLASS_FIXED = _DATACLASS.replace(
    "(self, thread_id: str, context: RequestContext, item_id: str)", "(self, thread_id: str, item_id: str, context: RequestContext)"
).replace("(self, thread_id: str, item_id: str, *, context: RequestContext)", "(self, thread_id: str, item_id: str, context: RequestContext)")

RULE.cases(
    valid=[
        Valid(
            "from chatkit.store import Store\n\n\nclass PostgresChatKitStore(Store['RequestContext']):\n"
            "    async def load_threads(self, limit: int = 20, after: str | None = None, order: str = 'desc', context=None):\n"
            "        return None\n",
            filename="app/integrations/chatkit_store.py",
            name="defaults in the SDK order are fine",
        ),
    ],
    invalid=[
        in_service(Invalid(_DATACLASS, _DATACLASS_FIXED, filename="src/chatkit/store.py", findings=[
                               ("src/chatkit/store.py", 12, 5, "TodoChatKitStore.delete_thread_item() does not match Store.delete_thread_item"),
                               ("src/chatkit/store.py", 15, 5, "TodoChatKitStore.load_item() does not match Store.load_item"),
                           ],
                           name="dataclass context, module alias, keyword-only and misplaced context")),
    ],
)

_PLAYGROUND = '''from typing import Any

from chatkit.store import Store


class MemoryStore(Store[dict[str, Any]]):
    def generate_item_id(
        self,
        type: str,
        thread,
        context: dict[str, Any],
    ) -> str:
        return f"{type}_1"

    async def delete_attachment(
        self,
        thread_id: str,
        attachment_id: str,
        context: dict[str, Any],
    ) -> None:
        """Attachments are not supported."""
        pass

    async def save_attachment(self, thread_id: str, attachment_id: str, data: bytes, context: dict[str, Any]) -> None:
        self.blobs[attachment_id] = data
'''

_PLAYGROUND_FIXED = _PLAYGROUND.replace('''        type: str,
        thread,
        context: dict[str, Any],
    ) -> str:
        return f"{type}_1"''', '''        item_type: str,
        thread,
        context: dict[str, Any],
    ) -> str:
        return f"{item_type}_1"''').replace('''    async def delete_attachment(
        self,
        thread_id: str,
        attachment_id: str,''', '''    async def delete_attachment(
        self,
        attachment_id: str,''').replace('''    async def save_attachment(''', '''    # chatkit-fix: TODO[CK302] give save_attachment() the parameters (self, attachment, context): attachment_id, data get no value from ChatKit
    async def save_attachment(''')

RULE.cases(
    invalid=[
        Invalid(_PLAYGROUND, _PLAYGROUND_FIXED, filename="backend/app/memory_store.py", findings=[
                    (7, 5, "MemoryStore.generate_item_id() does not match Store.generate_item_id"),
                    (15, 5, "MemoryStore.delete_attachment() does not match Store.delete_attachment"),
                    (24, 5, "MemoryStore.save_attachment() does not match Store.save_attachment"),
                ],
                name="renamed item_type, unused extra parameter dropped, used extras: TODO"),
    ],
)

RULE.cases(
    invalid=[
        Invalid(
            "from chatkit.store import Store\n\n\nclass ThreadStore(Store):\n"
            "    async def save_thread(self, context):\n        self.saved = True\n",
            "from chatkit.store import Store\nfrom chatkit.types import ThreadMetadata\n\n\nclass ThreadStore(Store):\n"
            "    async def save_thread(self, thread: ThreadMetadata, context):\n        self.saved = True\n",
            filename="services/thread_store.py",
            name="missing parameter gets the SDK's annotation and its import",
            findings=[(5, 5, "ThreadStore.save_thread() does not match Store.save_thread")],
        ),
    ],
)

RULE.cases(
    invalid=[
        Edited(
            "from typing import Any, Optional\n\nfrom chatkit.store import Store\n\n\nclass PostgresStore(Store):\n"
            "    async def load_thread(self, thread_id: str, user_id: Optional[str] = None, context: Optional[Any] = None):\n"
            "        return await self.fetch(thread_id, user_id or context['user_id'])\n\n"
            "    async def load_attachment(self, thread_id: str, attachment_id: str):\n        return None\n",
            ("    async def load_thread(self, thread_id: str, user_id: Optional[str] = None, context: Optional[Any] = None):\n",
             "    async def load_thread(self, thread_id: str, context: Optional[Any] = None, user_id: Optional[str] = None):\n"),
            ("    async def load_attachment(self, thread_id: str, attachment_id: str):\n",
             "    async def load_attachment(self, attachment_id: str, context: Optional[Any]):\n"),
            filename="services/postgres_store.py",
            findings=[
                (7, 5, "PostgresStore.load_thread() does not match Store.load_thread"),
                (10, 5, "PostgresStore.load_attachment() does not match Store.load_attachment"),
            ],
            name="extra parameter before context moves after it; unused extra dropped, context added",
        ),
        Invalid(
            "from chatkit.store import Store\n\n\nclass BlobStore(Store[dict]):\n"
            "    async def save_attachment(self, attachment_id: str, blob: bytes, context: dict) -> None:\n"
            "        raise NotImplementedError('no uploads')\n",
            "from chatkit.store import Store\nfrom chatkit.types import Attachment\n\n\nclass BlobStore(Store[dict]):\n"
            "    async def save_attachment(self, attachment: Attachment, context: dict) -> None:\n"
            "        raise NotImplementedError('no uploads')\n",
            filename="uploads/blob_store.py",
            findings=[(5, 5, "BlobStore.save_attachment() does not match Store.save_attachment: no attachment parameter")],
            name="an id parameter in the object's place is not renamed to it: the object is added, typed as the SDK types it",
        ),
    ],
)
