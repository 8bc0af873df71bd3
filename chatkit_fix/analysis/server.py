"""ChatKit back-end shapes on the stdlib `ast`: `ChatKitServer` subclasses and their `respond()`, agent runs, the
`stream_agent_response` loops, the model kinds behind an agent, and the simple local data flow the CK2xx rules share.

Everything here works from what names *mean* (resolved through `ctx.imports`), never from spellings: a server is any
class whose base resolves to chatkit's `ChatKitServer` (subscripted or not), `respond` may name its parameters
`input_user_message`, `user_message`, `input` or `item`, and `Runner` may be imported under any alias or through
`agents.run`. Results are cached on the file context, which every rule running on the file shares.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..model import model_of
from ..model.effects.models import CHATCMPL_CLASSES, run_chatcmpl_reason
from ..pyast import walk

# ---- generic helpers ---------------------------------------------------------------------------------------------

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def _cache(ctx) -> dict:
    store = ctx.__dict__.get("_ck_server_cache")
    if store is None:
        store = {}
        ctx.__dict__["_ck_server_cache"] = store
    return store


def walk_scope(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function or module body, without descending into nested functions, classes or lambdas."""
    stack = list(ast.iter_child_nodes(node))
    stack.reverse()
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, SCOPES):
            continue
        children = list(ast.iter_child_nodes(current))
        children.reverse()
        stack.extend(children)


def _position(node: ast.AST):
    return (node.lineno, node.col_offset), (node.end_lineno or node.lineno, node.end_col_offset or 0)


def _contains(outer: ast.AST, start, end) -> bool:
    if not hasattr(outer, "lineno") or getattr(outer, "end_lineno", None) is None:
        return True  # `arguments`, `comprehension`...: no position, look inside
    outer_start, outer_end = _position(outer)
    return outer_start <= start and end <= outer_end


def ancestry(ctx, node: ast.AST) -> list[ast.AST]:
    """The nodes from the module down to `node`'s parent, found by descending along positions: no file-wide parent
    map is built, so a rule that looks at a few nodes of a large file stays cheap."""
    cache = _cache(ctx).setdefault("ancestry", {})
    key = id(node)
    if key in cache:
        return cache[key]
    if not hasattr(node, "lineno"):
        chain = []
        current = ctx.parents.get(node)
        while current is not None:
            chain.append(current)
            current = ctx.parents.get(current)
        chain.reverse()
        cache[key] = chain
        return chain
    start, end = _position(node)
    chain: list[ast.AST] = []

    def descend(current: ast.AST) -> bool:
        for child in ast.iter_child_nodes(current):
            if child is node:
                chain.append(current)
                return True
            if _contains(child, start, end):
                chain.append(current)
                if descend(child):
                    return True
                chain.pop()
        return False

    descend(ctx.tree)
    cache[key] = chain
    return chain


def parent_of(ctx, node: ast.AST) -> ast.AST | None:
    """The parent of `node` (the file-wide parent map when some rule built it already, else a targeted descent)."""
    if "parents" in ctx.__dict__:
        return ctx.parents.get(node)
    chain = ancestry(ctx, node)
    return chain[-1] if chain else None


def enclosing_scope(ctx, node: ast.AST) -> ast.AST | None:
    """The innermost function, class or lambda around `node`."""
    for ancestor in reversed(ancestry(ctx, node)):
        if isinstance(ancestor, SCOPES):
            return ancestor
    return None


def enclosing_function(ctx, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    scope = enclosing_scope(ctx, node)
    return scope if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


def calls_named(ctx, *names: str) -> list[ast.Call]:
    """Calls whose callee ends with one of `names` (`x.name(...)`, `name(...)`, or a name imported under an alias),
    in source order. Only the lines that mention such a name are descended into, so a large file that mentions it
    once costs a few dozen node visits, not a walk of the whole tree."""
    cache = _cache(ctx).setdefault("named", {})
    if names in cache:
        return cache[names]
    wanted = set(names)
    aliases = {
        local for local, qualified in ctx.imports.names.items()
        if any(q.rsplit(".", 1)[-1] in wanted for q in qualified)
    }
    needles = wanted | aliases
    text = ctx.text
    lines: set[int] = set()
    for needle in needles:
        index = text.find(needle)
        while index >= 0:
            lines.add(ctx.source.position(index)[0])
            index = text.find(needle, index + len(needle))
    found: list[ast.Call] = []
    if lines:
        import bisect

        ordered = sorted(lines)
        stack = [ctx.tree]
        while stack:
            current = stack.pop()
            for child in ast.iter_child_nodes(current):
                low = getattr(child, "lineno", None)
                if low is not None:
                    high = getattr(child, "end_lineno", None) or low
                    at = bisect.bisect_left(ordered, low)
                    if at >= len(ordered) or ordered[at] > high:
                        continue
                if isinstance(child, ast.Call):
                    func = child.func
                    if (isinstance(func, ast.Attribute) and func.attr in wanted) or (
                        isinstance(func, ast.Name) and func.id in needles
                    ):
                        found.append(child)
                stack.append(child)
    found.sort(key=lambda c: (c.lineno, c.col_offset))
    cache[names] = found
    return found


def statement_of(ctx, node: ast.AST) -> ast.stmt | None:
    current = node
    while current is not None and not isinstance(current, ast.stmt):
        current = parent_of(ctx, current)
    return current


def block_of(ctx, statement: ast.stmt) -> list[ast.stmt] | None:
    """The statement list that holds `statement` (a body, orelse, finalbody or handler body)."""
    parent = parent_of(ctx, statement)
    if parent is None:
        return None
    for name in ("body", "orelse", "finalbody"):
        block = getattr(parent, name, None)
        if isinstance(block, list) and any(item is statement for item in block):
            return block
    return None


def call_name(call: ast.Call) -> str:
    """The last dotted part of a call's callee: `self.store.load_thread_items(...)` -> `load_thread_items`."""
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def argument(call: ast.Call, position: int | None, name: str) -> ast.expr | None:
    """The argument given at `position` (None: keyword only) or as keyword `name`."""
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    if position is None:
        return None
    if position < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[: position + 1]):
        return call.args[position]
    return None


def unawait(node: ast.expr | None) -> ast.expr | None:
    return node.value if isinstance(node, ast.Await) else node


def is_none(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def string_value(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def dotted(node: ast.AST) -> str | None:
    """`self.store` -> "self.store"; None for anything that is not a plain name or attribute chain."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def fresh_name(func: ast.AST, wanted: str) -> str:
    used = {n.id for n in walk(func) if isinstance(n, ast.Name)} | {
        a.arg for n in walk(func) if isinstance(n, ast.arguments) for a in (*n.args, *n.kwonlyargs, *n.posonlyargs)
    }
    name = wanted
    while name in used:
        name = "_" + name
    return name


def append_argument(ctx, call: ast.Call, text: str):
    """An edit adding `text` (e.g. `context=agent_context`) as the last argument of `call`, in the call's layout."""
    arguments = [*call.args, *(k.value for k in call.keywords)]
    close = ctx.span(call)[1] - 1
    if not arguments:
        return ctx.insert(close, text)
    last_end = max(ctx.span(a)[1] for a in arguments)
    between = ctx.text[last_end:close]
    if "\n" in between:
        last_line = ctx.line_of(max(arguments, key=lambda a: ctx.span(a)[1]))
        indent = ctx.source.indentation(last_line)
        if "," in between:
            comma = last_end + between.index(",") + 1
            return ctx.insert(comma, f"\n{indent}{text},")
        return ctx.insert(last_end, f",\n{indent}{text}")
    if between.strip().startswith(","):
        comma = last_end + between.index(",") + 1
        return ctx.insert(comma, f" {text}")
    return ctx.insert(last_end, f", {text}")


def remove_statement(ctx, statement: ast.stmt):
    """Edits removing one statement: its whole lines, or `pass` when it is alone in its block; None if it shares a
    line with another statement."""
    block = block_of(ctx, statement)
    if block is None:
        return None
    start, end = ctx.span(statement)
    line_start = ctx.text.rfind("\n", 0, start) + 1
    line_end = ctx.text.find("\n", end)
    line_end = len(ctx.text) if line_end < 0 else line_end
    if ctx.text[line_start:start].strip() or ctx.text[end:line_end].split("#", 1)[0].strip():
        return None  # `a; b` on one line
    if len(block) == 1:
        return ctx.replace(statement, "pass")
    return ctx.delete_lines(statement)


def module_helper(ctx, name: str, code: str, near: ast.AST):
    """An edit inserting a module-level helper `code` (defining `name`) once, above the top-level statement that holds
    `near` (and above the comments that sit on top of it); None when the module already defines `name`."""
    for statement in ctx.tree.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and statement.name == name:
            return None
    line = getattr(near, "lineno", 1)
    before = [s for s in ctx.tree.body if s.lineno <= line] or ctx.tree.body[:1]
    top = before[-1] if before else near  # the top-level statement that holds `near`
    start = ctx.full_span(top)[0]
    line = ctx.source.position(start)[0]
    while line > 1 and ctx.source.line_text(line - 1).lstrip().startswith("#"):
        line -= 1
    return ctx.insert(ctx.source.offset(line, 0), code.rstrip("\n") + "\n\n\n")


# ---- local data flow ---------------------------------------------------------------------------------------------


@dataclass
class Binding:
    node: ast.AST  # the statement (or with-item / named expression) that binds the name
    value: ast.expr | None  # what the name gets (the iterable for `for`, the context manager for `with ... as`)
    kind: str = "assign"  # assign | aug | for | with | param | annotated


@dataclass
class Flow:
    """Name bindings of one function (or module) body, for simple local data flow."""

    scope: ast.AST
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    params: list[str] = field(default_factory=list)
    annotations: dict[str, ast.expr] = field(default_factory=dict)

    def values(self, name: str) -> list[ast.expr]:
        return [b.value for b in self.bindings.get(name, []) if b.value is not None]

    def single_value(self, name: str) -> ast.expr | None:
        found = self.bindings.get(name, [])
        if len(found) == 1 and found[0].kind in ("assign", "annotated"):
            return found[0].value
        return None

    def closure(self, expr: ast.AST, limit: int = 200, exclude: tuple = ()) -> tuple[list[ast.AST], set[str]]:
        """Every node `expr` depends on through local assignments (bindings made by `exclude` statements left out),
        and the parameters it reaches."""
        nodes: list[ast.AST] = []
        params: set[str] = set()
        seen: set[str] = set()
        pending = [expr]
        while pending and len(nodes) < 5000:
            current = pending.pop()
            for node in walk(current):
                nodes.append(node)
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in seen:
                    seen.add(node.id)
                    if len(seen) > limit:
                        break
                    if node.id in self.params:
                        params.add(node.id)
                    for binding in self.bindings.get(node.id, []):
                        if any(binding.node is excluded for excluded in exclude):
                            continue
                        if binding.value is not None:
                            pending.append(binding.value)
                        if binding.kind == "aug":
                            pending.append(binding.node)
        return nodes, params


def flow_of(ctx, scope: ast.AST) -> Flow:
    cache = _cache(ctx).setdefault("flow", {})
    if id(scope) in cache:
        return cache[id(scope)]
    flow = Flow(scope)
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef)):
        args = scope.args
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if arg is not None:
                flow.params.append(arg.arg)
                if arg.annotation is not None:
                    flow.annotations[arg.arg] = arg.annotation

    def bind(target: ast.AST, binding: Binding) -> None:
        if isinstance(target, ast.Name):
            flow.bindings.setdefault(target.id, []).append(binding)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for element in target.elts:
                bind(element.value if isinstance(element, ast.Starred) else element, binding)

    for node in walk_scope(scope):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                bind(target, Binding(node, node.value))
        elif isinstance(node, ast.AnnAssign):
            if isinstance(node.target, ast.Name):
                flow.annotations[node.target.id] = node.annotation
            bind(node.target, Binding(node, node.value, "annotated" if node.value is not None else "declared"))
        elif isinstance(node, ast.AugAssign):
            bind(node.target, Binding(node, node.value, "aug"))
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            bind(node.target, Binding(node, node.iter, "for"))
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    bind(item.optional_vars, Binding(item, item.context_expr, "with"))
        elif isinstance(node, ast.NamedExpr):
            bind(node.target, Binding(node, node.value))
    cache[id(scope)] = flow
    return flow


def scope_of(ctx, node: ast.AST) -> ast.AST:
    return enclosing_function(ctx, node) or ctx.tree


def origin(ctx, expr: ast.expr | None, scope: ast.AST | None = None, depth: int = 0) -> ast.expr | None:
    """Follow a name to the one value it is assigned (in its function, else at module level)."""
    if not isinstance(expr, ast.Name) or depth > 5:
        return expr
    scope = scope or scope_of(ctx, expr)
    flow = flow_of(ctx, scope)
    if expr.id in flow.bindings:
        value = flow.single_value(expr.id)
        return origin(ctx, value, scope, depth + 1) if value is not None else None
    if expr.id in flow.params:
        return None
    outer = enclosing_function(ctx, scope) if scope is not ctx.tree else None
    if outer is not None:  # a closure reads the name from the function around it
        return origin(ctx, expr, outer, depth + 1)
    if scope is not ctx.tree:
        module_flow = flow_of(ctx, ctx.tree)
        value = module_flow.single_value(expr.id)
        if value is not None:
            return origin(ctx, value, ctx.tree, depth + 1)
    return None


def all_origins(ctx, expr: ast.expr | None, scope: ast.AST | None = None, depth: int = 0) -> list[ast.expr]:
    """Every value a name may hold (all its assignments, recursively), or the expression itself."""
    if expr is None:
        return []
    if not isinstance(expr, ast.Name) or depth > 5:
        return [expr]
    scope = scope or scope_of(ctx, expr)
    flow = flow_of(ctx, scope)
    if expr.id in flow.bindings:
        found = []
        for binding in flow.bindings[expr.id]:
            if binding.kind in ("assign", "annotated") and binding.value is not None:
                found.extend(all_origins(ctx, binding.value, scope, depth + 1))
        return found
    if expr.id not in flow.params and scope is not ctx.tree:
        return all_origins(ctx, expr, ctx.tree, depth + 1) if expr.id in flow_of(ctx, ctx.tree).bindings else []
    return []


# ---- ChatKitServer subclasses and respond() ----------------------------------------------------------------------


@dataclass
class Respond:
    cls: ast.ClassDef
    func: ast.FunctionDef | ast.AsyncFunctionDef
    thread: str | None
    message: str | None
    context: str | None


def is_server_base(ctx, base: ast.expr) -> bool:
    target = base.value if isinstance(base, ast.Subscript) else base
    return ctx.refers_to(target, "chatkit", "ChatKitServer")


def server_classes(ctx) -> list[ast.ClassDef]:
    """Classes whose base resolves to chatkit's ChatKitServer, and classes of the module that extend those."""
    cache = _cache(ctx)
    if "servers" in cache:
        return cache["servers"]
    classes = [node for node in walk_scope(ctx.tree) if isinstance(node, ast.ClassDef)]  # module-level classes
    found: list[ast.ClassDef] = []
    names: set[str] = set()
    changed = True
    while changed:
        changed = False
        for cls in classes:
            if cls in found:
                continue
            for base in cls.bases:
                target = base.value if isinstance(base, ast.Subscript) else base
                if is_server_base(ctx, base) or (isinstance(target, ast.Name) and target.id in names):
                    found.append(cls)
                    names.add(cls.name)
                    changed = True
                    break
    cache["servers"] = found
    return found


def methods(cls: ast.ClassDef) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [node for node in cls.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]


def respond_methods(ctx) -> list[Respond]:
    cache = _cache(ctx)
    if "responds" in cache:
        return cache["responds"]
    found = []
    for cls in server_classes(ctx):
        for func in methods(cls):
            if func.name != "respond":
                continue
            params = [a.arg for a in (*func.args.posonlyargs, *func.args.args)]
            if params and params[0] in ("self", "cls"):
                params = params[1:]
            thread = params[0] if len(params) > 0 else None
            message = params[1] if len(params) > 1 else None
            context = params[2] if len(params) > 2 else None
            found.append(Respond(cls, func, thread, message, context))
    cache["responds"] = found
    return found


def server_method_of(ctx, node: ast.AST) -> tuple[ast.ClassDef, ast.FunctionDef | ast.AsyncFunctionDef] | None:
    func = enclosing_function(ctx, node)
    while func is not None:
        parent = parent_of(ctx, func)
        if isinstance(parent, ast.ClassDef):
            return (parent, func) if parent in server_classes(ctx) else None
        func = enclosing_function(ctx, func)
    return None


def has_yield(func: ast.AST) -> bool:
    return any(isinstance(node, (ast.Yield, ast.YieldFrom)) for node in walk_scope(func))


# ---- agent runs and streams --------------------------------------------------------------------------------------


def may_name(ctx, func: ast.expr, last: str) -> bool:
    """A cheap filter before import resolution: the callee ends with `last`, or is an imported (maybe aliased) name."""
    if isinstance(func, ast.Attribute):
        return func.attr == last
    return isinstance(func, ast.Name) and (func.id == last or func.id in ctx.imports.names)


def is_run_streamed(ctx, call: ast.AST) -> bool:
    return (
        isinstance(call, ast.Call)
        and may_name(ctx, call.func, "run_streamed")
        and _names_runner(ctx, call.func, "run_streamed")
    )


def is_run(ctx, call: ast.AST) -> bool:
    """`Runner.run(...)` or `Runner.run_sync(...)`: the non-streamed runs that return a RunResult."""
    return isinstance(call, ast.Call) and (
        (may_name(ctx, call.func, "run") and _names_runner(ctx, call.func, "run"))
        or (may_name(ctx, call.func, "run_sync") and _names_runner(ctx, call.func, "run_sync"))
    )


def _names_runner(ctx, func: ast.expr, method: str) -> bool:
    """The Agents SDK's `Runner.<method>`, however it is imported: from `agents` (any re-export), or as `Runner` from
    another installed package (`from chatkit.agents import Runner`, `from openai_agents import Runner`: an import
    that fails at run time, but the code means the SDK's runner)."""
    if ctx.refers_to(func, "agents", f"Runner.{method}"):
        return True
    if not (isinstance(func, ast.Attribute) and func.attr == method and isinstance(func.value, ast.Name)):
        return False
    if not any(name.endswith(".Runner") for name in ctx.imports.qualnames(func.value)):
        return False
    ref = ctx.model.resolve(ctx.module, func.value)
    return ref is not None and ref.external.endswith(".Runner") and not ref.instance


def is_stream_agent_response(ctx, call: ast.AST) -> bool:
    return (
        isinstance(call, ast.Call)
        and may_name(ctx, call.func, "stream_agent_response")
        and ctx.refers_to(call.func, "chatkit", "stream_agent_response")
    )


def stream_calls(ctx) -> list[ast.Call]:
    cache = _cache(ctx)
    if "streams" not in cache:
        cache["streams"] = [c for c in calls_named(ctx, "stream_agent_response") if is_stream_agent_response(ctx, c)]
    return cache["streams"]


def run_streamed_calls(ctx) -> list[ast.Call]:
    cache = _cache(ctx)
    if "runs_streamed" not in cache:
        cache["runs_streamed"] = [c for c in calls_named(ctx, "run_streamed") if is_run_streamed(ctx, c)]
    return cache["runs_streamed"]


def run_of_stream(ctx, stream: ast.Call) -> ast.Call | None:
    """The `Runner.run_streamed(...)` call whose result a `stream_agent_response(ctx, result)` consumes."""
    value = argument(stream, 1, "result")
    value = origin(ctx, value) if isinstance(value, ast.Name) else value
    return value if is_run_streamed(ctx, value) else None


def agent_context_of(stream: ast.Call) -> ast.expr | None:
    return argument(stream, 0, "context")


def consumers_of_run(ctx, run: ast.Call) -> list[ast.Call]:
    """The stream_agent_response calls that consume this run's result (inline or through one variable)."""
    found = []
    for stream in stream_calls(ctx):
        if run_of_stream(ctx, stream) is run:
            found.append(stream)
    return found


def streams_events_to_user(ctx, run: ast.Call) -> bool:
    """The run reaches the user: through stream_agent_response, or its `.stream_events()` iterated in a generator."""
    if consumers_of_run(ctx, run):
        return True
    func = enclosing_function(ctx, run)
    if func is None or not has_yield(func):
        return False
    statement = statement_of(ctx, run)
    names = set()
    if isinstance(statement, ast.Assign):
        names = {t.id for t in statement.targets if isinstance(t, ast.Name)}
    for node in walk_scope(func):
        if (
            isinstance(node, ast.AsyncFor)
            and isinstance(node.iter, ast.Call)
            and isinstance(node.iter.func, ast.Attribute)
            and node.iter.func.attr == "stream_events"
        ):
            receiver = node.iter.func.value
            if receiver is run or (isinstance(receiver, ast.Name) and receiver.id in names):
                return True
    return False


def is_history_conversion(ctx, call: ast.AST) -> bool:
    if not isinstance(call, ast.Call):
        return False
    if may_name(ctx, call.func, "simple_to_agent_input") and ctx.refers_to(call.func, "chatkit", "simple_to_agent_input"):
        return True
    return isinstance(call.func, ast.Attribute) and call.func.attr == "to_agent_input"


# ---- model kinds -------------------------------------------------------------------------------------------------

CHATCMPL_MODEL_CLASSES = CHATCMPL_CLASSES


def chatcmpl_reason_for_run(ctx, run: ast.Call) -> str | None:
    """Why the agent run `run` uses a chat-completions (or LiteLLM) model: the run config's model or provider, the
    starting agent's `model=` (followed through factories, registries and modules), or the service's default API;
    None when nothing shows it does."""
    cache = _cache(ctx).setdefault("chatcmpl", {})
    if id(run) not in cache:
        cache[id(run)] = run_chatcmpl_reason(ctx.model, ctx.module, run, enclosing_function(ctx, run))
    return cache[id(run)]


def self_attribute_values(ctx, attribute: ast.Attribute) -> list[ast.expr]:
    method = enclosing_function(ctx, attribute)
    cls = parent_of(ctx, method) if method is not None else None
    if not isinstance(cls, ast.ClassDef):
        return []
    values = []
    for func in methods(cls):
        for node in walk_scope(func):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Attribute) and target.attr == attribute.attr and dotted(target.value) == "self":
                        values.extend(all_origins(ctx, node.value, func))
    return values




# ---- definitions across the project ------------------------------------------------------------------------------


class ModuleView:
    """A module's tree and imports: the file being checked, or another project file parsed on demand."""

    def __init__(self, tree: ast.Module, imports, module_name: str, path=None):
        self.tree = tree
        self.imports = imports
        self.module_name = module_name
        self.path = path

    def refers_to(self, node: ast.AST, package: str, symbol: str) -> bool:
        return self.imports.refers_to(node, package, symbol)

    def top_level(self, name: str) -> ast.AST | None:
        for node in self.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
                return node
        return None


def view_of(ctx) -> ModuleView:
    cache = _cache(ctx)
    if "view" not in cache:
        cache["view"] = ModuleView(ctx.tree, ctx.imports, ctx.module_name, ctx.path)
    return cache["view"]


def project_view(project, module: str, importer) -> ModuleView | None:
    """The project module `module` as `importer` imports it (the model's parse), or None."""
    found = model_of(project).module_named(module, importer)
    if found is None:
        return None
    return ModuleView(found.tree, found.imports, found.name, found.path)


def definition_of(ctx, view: ModuleView, expr: ast.expr, depth: int = 0) -> tuple[ModuleView, ast.AST] | None:
    """The def or class a name refers to: in `view`'s module, or in the project module it is imported from."""
    if depth > 3:
        return None
    if isinstance(expr, ast.Name):
        local = view.top_level(expr.id)
        if local is not None:
            return view, local
        for qualified in sorted(view.imports.names.get(expr.id, ())):
            module, _, attribute = qualified.rpartition(".")
            other = project_view(ctx.project, module, view.path or ctx.path) if module else None
            if other is not None:
                found = other.top_level(attribute)
                if found is not None:
                    return other, found
                return definition_of(ctx, other, ast.Name(id=attribute, ctx=ast.Load()), depth + 1)
    return None


def stream_is_wrapped(ctx, stream: ast.Call) -> bool:
    """The stream is handed to another function (a remapping wrapper) rather than iterated here."""
    parent = parent_of(ctx, stream)
    if isinstance(parent, ast.Call) and stream in parent.args:
        return True
    if isinstance(parent, ast.keyword) and isinstance(parent_of(ctx, parent), ast.Call):
        return True
    if isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name):
        name = parent.targets[0].id
        scope = scope_of(ctx, stream)
        for node in walk_scope(scope) if scope is not ctx.tree else walk(ctx.tree):
            if isinstance(node, ast.Call) and any(isinstance(a, ast.Name) and a.id == name for a in node.args):
                return True
    return False


def loop_over(ctx, stream: ast.Call) -> ast.AsyncFor | None:
    """The `async for` that iterates this stream (directly or through one variable)."""
    parent = parent_of(ctx, stream)
    if isinstance(parent, ast.AsyncFor) and parent.iter is stream:
        return parent
    if isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name):
        name = parent.targets[0].id
        scope = scope_of(ctx, stream)
        for node in walk_scope(scope) if scope is not ctx.tree else walk(ctx.tree):
            if isinstance(node, ast.AsyncFor) and isinstance(node.iter, ast.Name) and node.iter.id == name:
                return node
    return None


def runs_fed_by(ctx, expr: ast.AST) -> list[ast.Call]:
    """Agent runs (streamed or not) in the same function whose input depends on `expr`."""
    func = enclosing_function(ctx, expr)
    if func is None:
        return []
    flow = flow_of(ctx, func)
    found = []
    for node in walk_scope(func):
        if is_run_streamed(ctx, node) or is_run(ctx, node):
            agent_input = argument(node, 1, "input")
            if agent_input is None:
                continue
            nodes, _ = flow.closure(agent_input)
            if any(n is expr for n in nodes):
                found.append(node)
    return found


# ---- where a value goes --------------------------------------------------------------------------------------------

# Calls whose result says nothing of their argument's content: tests, sizes, types, output for people.
INSPECTING_CALLS = ("len", "bool", "isinstance", "hasattr", "type", "id", "print", "any", "all")
LOG_METHODS = ("debug", "info", "warning", "warn", "error", "exception", "critical", "log")
CONTAINER_MUTATORS = ("append", "extend", "insert", "appendleft", "extendleft", "add", "update")
PAGE_CURSORS = ("has_more", "after")


@dataclass
class Sinks:
    """Where a value (and what is computed from it) ends up inside one function."""

    agent: list[ast.AST] = field(default_factory=list)  # an agent run, a history conversion, a model API call
    returned: list[ast.AST] = field(default_factory=list)  # handed back to the caller
    elsewhere: list[ast.AST] = field(default_factory=list)  # a call that keeps or sends it (a store, a helper)

    @property
    def any(self) -> bool:
        return bool(self.agent or self.returned or self.elsewhere)


class _Reader:
    """What the shape tests of this module ask of a file context, for any module of the model."""

    def __init__(self, model, module):
        self.model = model
        self.module = module
        self.imports = module.imports
        self.parents = module.parents

    def refers_to(self, node: ast.AST, package: str, symbol: str) -> bool:
        return self.imports.refers_to(node, package, symbol)


CALL_DEPTH = 2  # project functions a value is followed into


def value_sinks(ctx, start: ast.AST, func: ast.AST) -> Sinks:
    """Follow the value of `start` through `func`: assignments, loops, containers it is added to, calls that compute
    from it (into the project functions that get it, a few calls deep). Tests, sizes, logging, widgets and events
    yielded to the client are not where content goes; agent runs, history conversions, model calls, `return` and
    calls that keep or send it are."""
    return _sinks(_Reader(ctx.model, ctx.module), [start], func, CALL_DEPTH)


def _sinks(reader: _Reader, starts: list[ast.AST], func: ast.AST, depth: int) -> Sinks:
    sinks = Sinks()
    tainted: set[str] = set()
    pending: list[ast.AST] = list(starts)
    visited: set[int] = set()
    while pending:
        node = pending.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        for name in _flow_up(reader, node, func, sinks, depth):
            if name in tainted:
                continue
            tainted.add(name)
            pending.extend(_name_loads(func).get(name, ()))
    return sinks


def _name_loads(func: ast.AST) -> dict[str, list[ast.Name]]:
    """Where each name is read in a function's own body; read once and kept on the def's node."""
    loads = func.__dict__.get("_chatkit_fix_loads")
    if loads is None:
        loads = {}
        for node in walk_scope(func):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                loads.setdefault(node.id, []).append(node)
        func._chatkit_fix_loads = loads
    return loads


def _flow_up(reader: _Reader, node: ast.AST, func: ast.AST, sinks: Sinks, depth: int) -> list[str]:
    """Climb from a node holding the value to where it stops; the names it is bound to on the way."""
    parents = reader.parents
    current = node
    while True:
        parent = parents.get(current)
        if parent is None or parent is func:
            return []
        if isinstance(parent, ast.Attribute):
            if parent.attr in PAGE_CURSORS:
                return []
        elif isinstance(parent, (ast.Subscript, ast.Await, ast.Starred, ast.BinOp, ast.FormattedValue, ast.JoinedStr,
                                 ast.List, ast.Tuple, ast.Set, ast.Dict, ast.BoolOp, ast.keyword)):
            if isinstance(parent, ast.Subscript) and current is parent.slice:
                return []  # used as an index
        elif isinstance(parent, ast.IfExp):
            if current is parent.test:
                return []
        elif isinstance(parent, (ast.Compare, ast.UnaryOp)) or (
            isinstance(parent, (ast.If, ast.While, ast.Assert)) and current is parent.test
        ):
            return []
        elif isinstance(parent, ast.Call):
            kind = _call_kind(reader, parent, current, func, depth)
            if kind == "stop":
                return []
            if kind == "agent":
                sinks.agent.append(parent)
                return []
            if kind == "kept":
                sinks.elsewhere.append(parent)
                return []
            if kind == "mutates" and isinstance(parent.func, ast.Attribute):
                receiver = parent.func.value
                if isinstance(receiver, ast.Name):
                    return [receiver.id]
                sinks.elsewhere.append(parent)
                return []
            above = parents.get(parent)
            if isinstance(above, ast.Expr) or (isinstance(above, ast.Await) and isinstance(parents.get(above), ast.Expr)):
                if kind not in ("pure", "method"):
                    sinks.elsewhere.append(parent)  # a call whose result is dropped keeps or sends the value
                return []
        elif isinstance(parent, ast.comprehension):
            if current is parent.iter:
                holder = parents.get(parent)
                carried = _flow_up(reader, holder, func, sinks, depth) if holder is not None else []
                return _bound_names(parent.target) + carried
            return []
        elif isinstance(parent, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            pass
        elif isinstance(parent, (ast.For, ast.AsyncFor)):
            return _bound_names(parent.target) if current is parent.iter else []
        elif isinstance(parent, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            names: list[str] = []
            for target in targets:
                names.extend(_bound_names(target) if isinstance(target, (ast.Name, ast.Tuple, ast.List)) else [])
                base = target
                while isinstance(base, (ast.Subscript, ast.Attribute)):
                    base = base.value
                if base is not target and isinstance(base, ast.Name):
                    if base.id in ("self", "cls"):
                        sinks.elsewhere.append(parent)  # kept on the instance
                    else:
                        names.append(base.id)
            return names
        elif isinstance(parent, ast.Return):
            sinks.returned.append(parent)
            return []
        elif isinstance(parent, (ast.Yield, ast.YieldFrom, ast.Expr)):
            return []
        elif isinstance(parent, ast.withitem):
            return _bound_names(parent.optional_vars) if parent.optional_vars is not None else []
        else:
            sinks.elsewhere.append(parent)
            return []
        current = parent


def _bound_names(target: ast.AST) -> list[str]:
    return [n.id for n in walk(target) if isinstance(n, ast.Name)]


def _call_kind(reader: _Reader, call: ast.Call, holder: ast.AST, func: ast.AST, depth: int) -> str:
    """What a call does with the value it is given (as an argument, or as the object of a method): `stop` (looks
    at it), `agent` (a model reads it), `kept` (stored or sent on), `mutates` (added to a container), `method` (a
    method of the value itself), `pure` (a project function that only computes its result from it), `computes` (its
    result carries the value on)."""
    callee = call.func
    name = call_name(call)
    if holder is callee or (isinstance(callee, ast.Attribute) and holder is callee.value):
        return "method"  # a method of the value (`items.copy()`, `parts.sort()`): its result carries on
    if isinstance(callee, ast.Name) and callee.id in INSPECTING_CALLS:
        return "stop"
    if isinstance(callee, ast.Attribute) and name in LOG_METHODS:
        return "stop"
    if any(q.startswith("chatkit.widgets.") for q in reader.imports.qualnames(callee)):
        return "stop"  # a widget shows the items to the user; it is not what the model reads
    if is_run_streamed(reader, call) or is_run(reader, call) or is_history_conversion(reader, call) or _model_api_call(callee):
        return "agent"
    if isinstance(callee, ast.Attribute) and name in CONTAINER_MUTATORS:
        return "mutates"
    return _project_call_kind(reader, call, holder, func, depth)


def _project_call_kind(reader: _Reader, call: ast.Call, holder: ast.AST, func: ast.AST, depth: int) -> str:
    """Follow the value into the project function that gets it, by the parameter it binds."""
    model = reader.model
    target = model.resolve(reader.module, call.func, func)
    if target is None or not target.is_function:
        return "computes"
    callee = target.node
    parameter = _parameter_for(call, holder, callee, reader.parents)
    if parameter is None:
        return "computes"
    if depth <= 0:
        return "kept"
    inner_reader = reader if target.module is reader.module else _Reader(model, target.module)
    inner = _sinks(inner_reader, list(_name_loads(callee).get(parameter, ())), callee, depth - 1)
    if inner.agent:
        return "agent"
    if inner.elsewhere:
        return "kept"
    return "computes" if inner.returned else "pure"


def _parameter_for(call: ast.Call, holder: ast.AST, callee: ast.AST, parents) -> str | None:
    """The parameter of `callee` that the argument holding `holder` binds."""
    argument_node = holder
    while argument_node is not None and not any(argument_node is a for a in call.args) and not any(
        argument_node is k for k in call.keywords
    ):
        argument_node = parents.get(argument_node)
        if argument_node is call:
            return None
    if argument_node is None:
        return None
    arguments = callee.args
    positional = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
    if positional and positional[0] in ("self", "cls") and isinstance(call.func, ast.Attribute):
        positional = positional[1:]
    if isinstance(argument_node, ast.keyword):
        return argument_node.arg
    if isinstance(argument_node, ast.Starred):
        return None
    index = next(i for i, a in enumerate(call.args) if a is argument_node)
    if index < len(positional):
        return positional[index]
    return arguments.vararg.arg if arguments.vararg is not None else None


def _model_api_call(func: ast.expr) -> bool:
    """`client.chat.completions.create(messages=...)`, `client.responses.create(input=...)`."""
    text = dotted(func) or ""
    return text.endswith((".completions.create", ".responses.create", ".responses.stream", ".completions.stream"))


# ---- what runs at request time -------------------------------------------------------------------------------------

REQUEST_METHODS = ("respond", "action")


def request_reach(project) -> set[int]:
    """The defs (by id) that the request methods (`respond`, `action`) of the project's ChatKitServer subclasses
    reach through calls, a few calls deep, themselves included."""
    model = model_of(project)
    cache = project.__dict__.setdefault("_ck_request_reach", {})
    if cache.get("model") is model and cache.get("generation") == len(project.updates):
        return cache["reach"]
    reach: dict[int, int] = {}  # def id -> the most calls left when it was reached
    for path in project.grep(b"ChatKitServer", "python"):
        module = model.module(path)
        if module is None:
            continue
        for cls in module.classes.values():
            if not model.resolver.subclass_of(module, cls, "chatkit", "ChatKitServer"):
                continue
            for method in methods(cls):
                if method.name in REQUEST_METHODS:
                    _reach_from(model, model.function(module, method), 4, reach)
    cache.update(model=model, generation=len(project.updates), reach=set(reach))
    return cache["reach"]


def _reach_from(model, function, depth: int, reach: dict[int, int]) -> None:
    if reach.get(id(function.node), -1) >= depth:
        return
    reach[id(function.node)] = depth
    if depth == 0:
        return
    for site in model.calls.calls(function):
        callee = site.callee
        if callee is not None:
            _reach_from(model, callee, depth - 1, reach)


# ---- what a value is made of, at a point of a function ------------------------------------------------------------


class Provenance:
    """What a value at a given statement of a function is computed from, following each name to its latest
    assignment before that statement and the additions made to it since (`x.append(...)`, `x += ...`,
    `x[k] = ...`): straight-line reading, so a name reused for two lists is told apart by where it is read."""

    def __init__(self, ctx, func: ast.AST):
        self.ctx = ctx
        self.func = func
        self.flow = flow_of(ctx, func)
        self.additions: dict[str, list[tuple[tuple[int, int], list[ast.AST]]]] = {}
        for node in walk_scope(func):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
                if node.func.attr in CONTAINER_MUTATORS:
                    self._add(node.func.value.id, node, [*node.args, *(k.value for k in node.keywords)])
            elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
                self._add(node.target.id, node, [node.value])
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                        self._add(target.value.id, node, [node.value])

    def _add(self, name: str, node: ast.AST, values: list[ast.AST]) -> None:
        self.additions.setdefault(name, []).append(((node.lineno, node.col_offset), values))

    def depends(self, expr: ast.AST, at: ast.AST, wanted) -> bool:
        """Some part of `expr`, read at statement `at`, is (or is computed from) a node `wanted(node)` accepts."""
        return self._depends(expr, (at.lineno, at.col_offset), wanted, set())

    def _depends(self, expr: ast.AST, before: tuple[int, int], wanted, seen: set) -> bool:
        for node in walk(expr):
            if wanted(node):
                return True
            if not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)):
                continue
            key = (node.id, before)
            if key in seen:
                continue
            seen.add(key)
            start = (0, 0)
            earlier = [
                b for b in self.flow.bindings.get(node.id, [])
                if b.kind != "aug" and (b.node.lineno, b.node.col_offset) < before
            ]
            if earlier:
                latest = max(earlier, key=lambda b: (b.node.lineno, b.node.col_offset))
                start = (latest.node.lineno, latest.node.col_offset)
                if latest.value is not None and self._depends(latest.value, start, wanted, seen):
                    return True
            for position, values in self.additions.get(node.id, ()):
                if start <= position < before and any(self._depends(v, position, wanted, seen) for v in values):
                    return True
        return False
