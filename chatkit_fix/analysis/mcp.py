"""What MCP code means: Agents SDK MCP clients, the agents and runs that use them, MCP servers (FastMCP / MCPServer)
and the FastAPI apps that mount them, with the simple data flow the CK5xx rules need.

Everything works on the stdlib `ast`. Names are resolved through imports (`ImportMap`), so aliases, lazy imports and
re-exports (`agents.mcp.server.MCPServerStdio`) count. Data flow is deliberately simple and local: assignments in one
function, tuple unpacking, `await`, module globals, `self.attr`, and the return values of functions defined in the
same module or in another module of the project (`from services.agent import create_task_agent`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from ..model import model_of
from ..pyast import ImportMap, ancestors, is_main_guard, parent_map, walk
from .web import own_nodes

CLIENT_CLASSES = ("MCPServerStreamableHttp", "MCPServerSse", "MCPServerStdio")
FUNCTION_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef)
SCOPE_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
MAX_DEPTH = 16

# ---- modules ------------------------------------------------------------------------------------------------------


class Module:
    """One parsed Python module: its tree, what its names mean, and indexes the rules ask for."""

    def __init__(self, tree: ast.Module, imports: ImportMap, name: str = "", path: Path | None = None,
                 parents: dict[ast.AST, ast.AST] | None = None, project: Any = None):
        self.tree = tree
        self.imports = imports
        self.name = name
        self.path = path
        self._parents = parents
        self.project = project

    @classmethod
    def of(cls, ctx) -> Module:
        """The Module view of a rule's file context, sharing its parse (cached on the context)."""
        module = ctx.__dict__.get("_mcp_module")
        if module is None:
            module = cls(ctx.tree, ctx.imports, ctx.module_name, ctx.path, ctx.parents, ctx.project)
            ctx.__dict__["_mcp_module"] = module
        return module

    @property
    def parents(self) -> dict[ast.AST, ast.AST]:
        if self._parents is None:
            self._parents = parent_map(self.tree)
        return self._parents

    def refers_to(self, node: ast.AST, package: str, symbol: str) -> bool:
        return self.imports.refers_to(node, package, symbol)

    # ---- structure --------------------------------------------------------------------------------------------

    @cached_property
    def functions(self) -> dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]]:
        """Module-level functions by name, and methods as `Class.method`."""
        found: dict[str, list] = {}
        for statement in _flatten(self.tree.body):
            if isinstance(statement, FUNCTION_TYPES):
                found.setdefault(statement.name, []).append(statement)
            elif isinstance(statement, ast.ClassDef):
                for member in _flatten(statement.body):
                    if isinstance(member, FUNCTION_TYPES):
                        found.setdefault(f"{statement.name}.{member.name}", []).append(member)
        return found

    @cached_property
    def globals(self) -> dict[str, list[ast.expr]]:
        """Module-level name -> the values assigned to it (at module level, or in functions that declare it global)."""
        values: dict[str, list[ast.expr]] = {}
        for statement in _flatten(self.tree.body):
            for name, value in _assigned(statement):
                values.setdefault(name, []).append(value)
        for function in walk(self.tree):
            if not isinstance(function, FUNCTION_TYPES):
                continue
            declared = {n for s in walk(function) if isinstance(s, ast.Global) for n in s.names}
            if not declared:
                continue
            for statement in _own_statements(function):
                for name, value in _assigned(statement):
                    if name in declared:
                        values.setdefault(name, []).append(value)
        return values

    def enclosing(self, node: ast.AST, kinds=FUNCTION_TYPES) -> ast.AST | None:
        for parent in ancestors(node, self.parents):
            if isinstance(parent, kinds):
                return parent
        return None

    def enclosing_function(self, node: ast.AST):
        return self.enclosing(node, FUNCTION_TYPES)

    def enclosing_class(self, node: ast.AST) -> ast.ClassDef | None:
        return self.enclosing(node, (ast.ClassDef,))

    def statement_of(self, node: ast.AST) -> ast.stmt:
        current = node
        while not isinstance(current, ast.stmt):
            current = self.parents[current]
        return current

    def in_main_guard(self, node: ast.AST) -> bool:
        return any(is_main_guard(parent) for parent in ancestors(node, self.parents))

    def function_named(self, qualified: str):
        defs = self.functions.get(qualified)
        return defs[-1] if defs else None


def _flatten(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements of a body, looking inside `if`/`try`/`with` (module-level guards) but not into defs."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.If, ast.Try, ast.With, ast.AsyncWith)) or type(statement).__name__ == "TryStar":
            for field in ("body", "orelse", "finalbody"):
                yield from _flatten(getattr(statement, field, []) or [])
            for handler in getattr(statement, "handlers", []) or []:
                yield from _flatten(handler.body)


def _assigned(statement: ast.stmt) -> Iterator[tuple[str, ast.expr]]:
    """(name, value) for `name = value`, `name: T = value`; tuple targets are not followed here."""
    if isinstance(statement, ast.Assign):
        for target in statement.targets:
            if isinstance(target, ast.Name):
                yield target.id, statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None and isinstance(statement.target, ast.Name):
        yield statement.target.id, statement.value


def _own_statements(function: ast.AST) -> Iterator[ast.stmt]:
    return (node for node in own_nodes(function) if isinstance(node, ast.stmt))


def project_module(project, dotted: str, importer: Path) -> Module | None:
    """Module `dotted` as `importer` imports it (the application model's parse); None when it is no project file."""
    if project is None or not dotted:
        return None
    found = model_of(project).module_named(dotted, importer)
    return module_at(project, found.path) if found is not None else None


def module_at(project, path: Path) -> Module | None:
    """The Module view of a project file, sharing the application model's parse."""
    found = model_of(project).module(path)
    if found is None:
        return None
    return Module(found.tree, found.imports, found.name, found.path, found.parents, project)


def importers(ctx, name: str) -> Iterator[tuple[Module, list[str], list[str]]]:
    """The other modules of the service that mention `name`, each with its local names for this file's `name` (`from
    app.mcp import client`) and for this file itself (`from app import mcp`, then `mcp.client`)."""
    services = ctx.model.services
    for path in ctx.project.grep(name.encode(), "python"):
        if path == ctx.path or services.of(path) is not services.of(ctx.path):
            continue
        other = module_at(ctx.project, path)
        if other is None:
            continue
        here = {q for qualified in other.imports.names.values() for q in qualified
                if services.resolve(q, path) == ctx.path}
        bound = other.imports.names.items()
        yield (other, [local for local, qualified in bound
                       if any(services.resolve(q.rpartition(".")[0], path) == ctx.path and q.endswith("." + name)
                              for q in qualified)],
               [local for local, qualified in bound if qualified & here])


def resolve_function(module: Module, func: ast.expr, scope: ast.AST | None = None):
    """(Module, def) that a called expression names: a local function, `self.method`, or an imported project function."""
    if isinstance(func, ast.Name):
        local = module.function_named(func.id)
        if local is not None and not module.imports.names.get(func.id):
            return module, local
        for qualified in sorted(module.imports.names.get(func.id, ())):
            found = _imported_function(module, qualified)
            if found is not None:
                return found
        if local is not None:
            return module, local
    elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
        cls = module.enclosing_class(scope) if scope is not None else None
        if cls is not None:
            method = module.function_named(f"{cls.name}.{func.attr}")
            if method is not None:
                return module, method
    elif isinstance(func, ast.Attribute):
        for qualified in sorted(module.imports.qualnames(func)):
            found = _imported_function(module, qualified)
            if found is not None:
                return found
    return None


def _imported_function(module: Module, qualified: str):
    owner, _, name = qualified.rpartition(".")
    if not owner or owner.split(".")[0] in ("agents", "chatkit", "mcp", "fastapi", "starlette", "openai"):
        return None
    other = project_module(module.project, owner, module.path)
    if other is None or other is module:
        return None
    definition = other.function_named(name)
    return (other, definition) if definition is not None else None


# ---- recognisers ----------------------------------------------------------------------------------------------------


def unwrap_await(node: ast.AST) -> ast.AST:
    while isinstance(node, ast.Await):
        node = node.value
    return node


def client_class(module: Module, node: ast.AST) -> str | None:
    """The Agents SDK MCP client class a call constructs (`MCPServerStreamableHttp(...)`), or None."""
    node = unwrap_await(node)
    if isinstance(node, ast.Call):
        for name in CLIENT_CLASSES:
            if module.refers_to(node.func, "agents", name):
                return name
    return None


def is_agent_call(module: Module, call: ast.AST) -> bool:
    """`Agent(...)` or `Agent[Ctx](...)` of the Agents SDK."""
    if not isinstance(call, ast.Call):
        return False
    func = call.func.value if isinstance(call.func, ast.Subscript) else call.func
    return module.refers_to(func, "agents", "Agent")


def agent_mcp_servers(call: ast.Call) -> ast.expr | None:
    for keyword in call.keywords:
        if keyword.arg == "mcp_servers":
            return keyword.value
    return None


def is_runner_call(module: Module, call: ast.AST, methods=("run_streamed", "run", "run_sync")) -> str | None:
    if isinstance(call, ast.Call):
        for method in methods:
            if module.refers_to(call.func, "agents", f"Runner.{method}"):
                return method
    return None


def is_stream_agent_response(module: Module, call: ast.AST) -> bool:
    return isinstance(call, ast.Call) and module.refers_to(call.func, "chatkit", "stream_agent_response")


def is_stream_events(call: ast.AST) -> bool:
    return isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr == "stream_events"


def is_fastapi_app(module: Module, call: ast.AST) -> bool:
    return isinstance(call, ast.Call) and (
        module.refers_to(call.func, "fastapi", "FastAPI") or module.refers_to(call.func, "starlette", "applications.Starlette")
        or module.refers_to(call.func, "starlette", "Starlette")
    )


def is_mcp_server_class(module: Module, node: ast.AST) -> bool:
    """`FastMCP` (mcp 1, `mcp.server.fastmcp`), `MCPServer` (mcp 2, `mcp.server.mcpserver`); not the `fastmcp` package."""
    return module.refers_to(node, "mcp", "FastMCP") or module.refers_to(node, "mcp", "MCPServer")


def mcp_server_instances(module: Module) -> dict[str, ast.Call]:
    """Module-level names bound to an MCP server (FastMCP/MCPServer) constructor, including imported ones."""
    found: dict[str, ast.Call] = {}
    for name, values in module.globals.items():
        for value in values:
            if isinstance(value, ast.Call) and is_mcp_server_class(module, value.func):
                found[name] = value
    return found


def is_mcp_server_expr(module: Module, node: ast.AST, depth: int = 0) -> ast.Call | None:
    """The constructor call of the MCP server an expression names: a module global, or one imported from the project."""
    if isinstance(node, ast.Call) and is_mcp_server_class(module, node.func):
        return node
    if not isinstance(node, ast.Name) or depth > 2:
        return None
    local = mcp_server_instances(module).get(node.id)
    if local is not None:
        return local
    for qualified in sorted(module.imports.names.get(node.id, ())):
        owner, _, name = qualified.rpartition(".")
        other = project_module(module.project, owner, module.path)
        if other is not None and other is not module:
            found = mcp_server_instances(other).get(name)
            if found is not None:
                return found
    return None


# ---- data flow: where does an MCP client come from? --------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """What an expression holding an MCP client is.

    fresh: a new client each time this code runs (a constructor, or a factory that constructs);
    shared: one client reused across calls (module global, singleton getter, cache, attribute of a long-lived object);
    param: handed in by the caller; unknown: anything else.
    """

    kind: str
    cls: str | None = None
    node: ast.AST | None = None
    module: Module | None = None


UNKNOWN = Origin("unknown")


def _merge(origins: list[Origin]) -> Origin:
    origins = [o for o in origins if o is not None]
    if not origins:
        return UNKNOWN
    shared = [o for o in origins if o.kind == "shared"]
    if shared:
        return shared[0]
    if all(o.kind == "fresh" for o in origins):
        return origins[0]
    if all(o.kind == "param" for o in origins):
        return origins[0]
    return UNKNOWN


class Flow:
    """Origins of MCP clients in one function (or at module level when `function` is None)."""

    def __init__(self, module: Module, function: ast.AST | None):
        self.module = module
        self.function = function

    @cached_property
    def params(self) -> set[str]:
        if not isinstance(self.function, FUNCTION_TYPES):
            return set()
        args = self.function.args
        names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
        names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
        return set(names)

    @cached_property
    def declared_global(self) -> set[str]:
        if self.function is None:
            return set()
        return {n for s in own_nodes(self.function) if isinstance(s, (ast.Global, ast.Nonlocal)) for n in s.names}

    @cached_property
    def bindings(self) -> dict[str, list[tuple[str, ast.AST, int | None]]]:
        """Local name -> [(how, value, tuple index)]: how is "assign", "with" (async with ... as name) or "other"."""
        found: dict[str, list] = {}
        nodes = own_nodes(self.function) if self.function is not None else _module_level_nodes(self.module.tree)
        for node in nodes:
            if isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if node.value is None:
                    continue
                for target in targets:
                    if isinstance(target, ast.Name):
                        found.setdefault(target.id, []).append(("assign", node.value, None))
                    elif isinstance(target, (ast.Tuple, ast.List)):
                        for index, element in enumerate(target.elts):
                            if isinstance(element, ast.Name):
                                found.setdefault(element.id, []).append(("assign", node.value, index))
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if isinstance(item.optional_vars, ast.Name):
                        how = "with" if isinstance(node, ast.AsyncWith) else "other"
                        found.setdefault(item.optional_vars.id, []).append((how, item.context_expr, None))
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                for name in _target_names(node.target):
                    found.setdefault(name, []).append(("other", node.iter, None))
            elif isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
                found.setdefault(node.target.id, []).append(("assign", node.value, None))
            elif isinstance(node, (ast.AugAssign,)) and isinstance(node.target, ast.Name):
                found.setdefault(node.target.id, []).append(("other", node.value, None))
        return found

    def is_local(self, name: str) -> bool:
        if self.function is None:
            return False
        return name not in self.declared_global and (name in self.bindings or name in self.params)

    def origin(self, node: ast.AST, index: int | None = None, depth: int = 0) -> Origin:
        if depth > MAX_DEPTH:
            return UNKNOWN
        active = self.module.__dict__.setdefault("_origins_in_progress", set())
        key = (id(self.function), id(node), index)
        if key in active:
            return UNKNOWN  # a cycle (a getter that reads its own cache): nothing new to learn
        active.add(key)
        try:
            return self._origin(node, index, depth)
        finally:
            active.discard(key)

    def _origin(self, node: ast.AST, index: int | None, depth: int) -> Origin:
        node = unwrap_await(node)
        if isinstance(node, ast.Tuple) and index is not None:
            return self.origin(node.elts[index], None, depth + 1) if index < len(node.elts) else UNKNOWN
        if isinstance(node, ast.Call):
            cls = client_class(self.module, node)
            if cls is not None:
                return Origin("shared" if self.function is None else "fresh", cls, node, self.module)
            if isinstance(node.func, ast.Attribute) and node.func.attr == "get" and index is None:
                container = self.origin_of_container(node.func.value, depth + 1)
                if container is not None:
                    return container
            target = resolve_function(self.module, node.func, self.function or node)
            if target is not None:
                other, definition = target
                return function_return_origin(other, definition, index, depth + 1)
            return UNKNOWN
        if isinstance(node, ast.Name):
            return self.name_origin(node.id, index, depth)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self":
            return self.attribute_origin(node.attr, depth)
        if isinstance(node, ast.Subscript):
            container = self.origin_of_container(node.value, depth + 1)
            if container is not None:
                return container
        return UNKNOWN

    def origin_of_container(self, node: ast.AST, depth: int = 0) -> Origin | None:
        """A global or `self.` dict/list that MCP clients are stored into: its items are shared clients."""
        if depth > MAX_DEPTH:
            return None
        key = expression_key(node)
        if key is None:
            return None
        if isinstance(node, ast.Name) and self.is_local(node.id):
            return None
        for stored in walk(self.module.tree):
            if isinstance(stored, ast.Assign):
                for target in stored.targets:
                    if isinstance(target, ast.Subscript) and expression_key(target.value) == key:
                        flow = Flow(self.module, self.module.enclosing_function(stored))
                        inner = flow.origin(stored.value, None, depth + 1)
                        if inner.kind in ("fresh", "shared"):
                            return Origin("shared", inner.cls, stored, self.module)
        return None

    def name_origin(self, name: str, index: int | None, depth: int) -> Origin:
        if self.function is not None and name not in self.declared_global:
            if name in self.bindings:
                origins = []
                for how, value, position in self.bindings[name]:
                    if how == "with":
                        origins.append(Origin("connected", client_class(self.module, value), value, self.module))
                    elif how == "assign":
                        origins.append(self.origin(value, position, depth + 1))
                    else:
                        origins.append(UNKNOWN)
                connected = [o for o in origins if o.kind == "connected"]
                return connected[0] if connected else _merge(origins)
            if name in self.params:
                return Origin("param")
        # a module global (or an imported one)
        values = self.module.globals.get(name)
        if values:
            origins = []
            for value in values:
                inner = Flow(self.module, None).origin(value, index, depth + 1)
                origins.append(Origin("shared", inner.cls, inner.node, self.module) if inner.kind in ("fresh", "shared") else inner)
            return _merge(origins)
        for qualified in sorted(self.module.imports.names.get(name, ())):
            owner, _, attr = qualified.rpartition(".")
            other = project_module(self.module.project, owner, self.module.path)
            if other is not None and other is not self.module and attr in other.globals:
                return Flow(other, None).name_origin(attr, index, depth + 1)
        return UNKNOWN

    def attribute_origin(self, attr: str, depth: int) -> Origin:
        cls = self.module.enclosing_class(self.function) if self.function is not None else None
        if cls is None:
            return UNKNOWN
        origins = []
        for node in walk(cls):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if (isinstance(target, ast.Attribute) and target.attr == attr and isinstance(target.value, ast.Name)
                            and target.value.id == "self"):
                        flow = Flow(self.module, self.module.enclosing_function(node))
                        origins.append(flow.origin(node.value, None, depth + 1))
        merged = _merge(origins)
        if merged.kind in ("fresh", "shared"):
            return Origin("shared", merged.cls, merged.node, self.module)
        return merged


def _module_level_nodes(tree: ast.Module) -> Iterator[ast.AST]:
    for statement in tree.body:
        yield from own_nodes_including(statement)


def own_nodes_including(node: ast.AST) -> Iterator[ast.AST]:
    if isinstance(node, SCOPE_TYPES):
        return
    yield node
    yield from own_nodes(node)


def _target_names(target: ast.AST) -> Iterator[str]:
    for node in walk(target):
        if isinstance(node, ast.Name):
            yield node.id


def function_return_origin(module: Module, function, index: int | None, depth: int) -> Origin:
    """What a function returns, as an MCP client origin (element `index` of a returned tuple)."""
    if depth > MAX_DEPTH:
        return UNKNOWN
    flow = Flow(module, function)
    origins = []
    for node in own_nodes(function):
        if isinstance(node, ast.Return) and node.value is not None:
            origins.append(flow.origin(node.value, index, depth + 1))
    return _merge(origins)


# ---- uses of an MCP client ------------------------------------------------------------------------------------------


def expression_key(node: ast.AST) -> str | None:
    """A textual key for a name or an attribute chain (`server`, `self.mcp`, `app.state.mcp`)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = expression_key(node.value)
        return f"{base}.{node.attr}" if base is not None else None
    return None


@dataclass(frozen=True)
class Use:
    kind: str  # "with" | "connect" | "cleanup" | "agent" | "other"
    node: ast.AST  # the statement or call that uses it
    function: ast.AST | None


def uses_of(module: Module, key: str, within: ast.AST | None = None) -> list[Use]:
    """How an MCP client named by `key` is used inside `within` (default: the whole module)."""
    found: list[Use] = []
    root = within if within is not None else module.tree
    nodes = walk(root)
    claimed: set[int] = set()
    for node in nodes:
        if isinstance(node, ast.AsyncWith):
            for item in node.items:
                if expression_key(item.context_expr) == key:
                    found.append(Use("with", node, module.enclosing_function(node)))
                    claimed.add(id(item.context_expr))
        elif isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and expression_key(func.value) == key:
                kind = {"connect": "connect", "cleanup": "cleanup", "__aenter__": "connect", "__aexit__": "cleanup"}.get(func.attr)
                if kind is not None:
                    found.append(Use(kind, node, module.enclosing_function(node)))
                    claimed.add(id(func.value))
            elif isinstance(func, ast.Attribute) and func.attr in ("enter_async_context", "push_async_exit"):
                for arg in node.args:
                    if expression_key(arg) == key:
                        found.append(Use("with", node, module.enclosing_function(node)))
                        claimed.add(id(arg))
    # every other load of the key
    for node in walk(root):
        if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(getattr(node, "ctx", None), ast.Load):
            if id(node) in claimed or expression_key(node) != key:
                continue
            parent = module.parents.get(node)
            if isinstance(parent, ast.Attribute):
                continue  # part of a longer chain (`server.name`): not the client itself
            kind = "agent" if _in_agent_servers(module, node) else "other"
            found.append(Use(kind, node, module.enclosing_function(node)))
    return found


def _in_agent_servers(module: Module, node: ast.AST) -> bool:
    parent = module.parents.get(node)
    if isinstance(parent, (ast.List, ast.Tuple)):
        parent = module.parents.get(parent)
    if isinstance(parent, ast.keyword) and parent.arg == "mcp_servers":
        return is_agent_call(module, module.parents.get(parent))
    return False


# ---- where code runs: once per process, or once per request ----------------------------------------------------


def lifespan_functions(module: Module) -> set[ast.AST]:
    """Functions that run once per process: FastAPI/Starlette lifespans, startup/shutdown handlers, script mains."""
    found: set[ast.AST] = set()
    named: set[str] = set()
    for node in walk(module.tree):
        if isinstance(node, ast.keyword) and node.arg in ("lifespan", "on_startup", "on_shutdown") or isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Attribute) and t.attr in ("lifespan_context", "lifespan") for t in node.targets
        ):
            named.update(_names_in(node.value))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in (
            "add_event_handler",
        ):
            named.update(_names_in(node))
        elif isinstance(node, ast.Call) and _is_runner_entry(module, node):
            for arg in node.args:
                target = arg.func if isinstance(arg, ast.Call) else arg
                if isinstance(target, ast.Name):
                    named.add(target.id)
    for node in walk(module.tree):
        if not isinstance(node, FUNCTION_TYPES):
            continue
        if node.name in named or "lifespan" in node.name.lower() or node.name in ("main", "_main", "amain", "async_main"):
            found.add(node)
            continue
        for decorator in node.decorator_list:
            call = decorator if isinstance(decorator, ast.Call) else None
            if call is not None and isinstance(call.func, ast.Attribute) and call.func.attr == "on_event":
                found.add(node)
        if module.in_main_guard(node):
            found.add(node)
    return found


def _is_runner_entry(module: Module, call: ast.Call) -> bool:
    return (module.refers_to(call.func, "asyncio", "run") or module.refers_to(call.func, "anyio", "run")
            or module.refers_to(call.func, "trio", "run"))


def _names_in(node: ast.AST) -> set[str]:
    return {n.id for n in walk(node) if isinstance(n, ast.Name)}


def runs_once(module: Module, function: ast.AST | None) -> bool:
    """Module level, a `__main__` block, or a lifespan / startup / script-main function."""
    if function is None:
        return True
    return function in lifespan_functions(module) or module.in_main_guard(function)


# ---- blocks and re-indentation (for fixes that wrap or move statements) ---------------------------------------------


def containing_block(module: Module, statement: ast.stmt) -> tuple[list[ast.stmt], int] | None:
    parent = module.parents.get(statement)
    if parent is None:
        parent = module.tree
    for field in ("body", "orelse", "finalbody"):
        block = getattr(parent, field, None)
        if isinstance(block, list) and statement in block:
            return block, block.index(statement)
    for handler in getattr(parent, "handlers", []) or []:
        if statement in handler.body:
            return handler.body, handler.body.index(statement)
    return None


def loaded_names(node: ast.AST) -> set[str]:
    return {n.id for n in walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def stored_names(statement: ast.stmt) -> set[str]:
    names: set[str] = set()
    for node in walk(statement):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def derived_names(statements: Iterable[ast.stmt], seeds: set[str]) -> set[str]:
    """`seeds` plus every name assigned from an expression that uses a tracked name, in statement order."""
    tracked = set(seeds)
    for statement in statements:
        for node in [statement, *own_nodes(statement)] if not isinstance(statement, SCOPE_TYPES) else []:
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                if loaded_names(node.value) & tracked:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in targets:
                        tracked.update(_target_names(target))
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None and loaded_names(item.context_expr) & tracked:
                        tracked.update(_target_names(item.optional_vars))
            elif isinstance(node, (ast.For, ast.AsyncFor)) and loaded_names(node.iter) & tracked:
                tracked.update(_target_names(node.target))
    return tracked


def has_multiline_string(statements: Iterable[ast.stmt]) -> bool:
    """Re-indenting lines would change a string literal that spans lines."""
    for statement in statements:
        for node in walk(statement):
            spans_lines = isinstance(node, (ast.Constant, ast.JoinedStr)) and (node.end_lineno or node.lineno) != node.lineno
            if spans_lines and (isinstance(node, ast.JoinedStr) or isinstance(node.value, (str, bytes))):
                return True
    return False


def indent_unit(ctx, statement: ast.stmt) -> str:
    """The indentation step the file uses around `statement` (four spaces when nothing tells)."""
    module = Module.of(ctx)
    block = None
    node = statement
    while node is not None:
        parent = module.parents.get(node)
        if parent is None or isinstance(parent, ast.Module):
            break
        body = getattr(parent, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            outer = ctx.source.indentation(parent.lineno)
            inner = ctx.source.indentation(body[0].lineno)
            if len(inner) > len(outer) and inner.startswith(outer):
                block = inner[len(outer):]
                break
        node = parent
    if block:
        return block
    return "\t" if "\n\t" in ctx.text else "    "


def indent_edits(ctx, first_line: int, last_line: int, unit: str) -> list:
    """Edits that indent every non-blank line in [first_line, last_line] by `unit`."""
    edits = []
    for line in range(first_line, last_line + 1):
        if ctx.source.line_text(line).strip():
            edits.append(ctx.insert(ctx.source.offset(line, 0), unit))
    return edits


def statement_end_line(statement: ast.stmt) -> int:
    return statement.end_lineno or statement.lineno


def free_name(module: Module, wanted: str) -> str:
    used = {n.id for n in walk(module.tree) if isinstance(n, ast.Name)} | {
        n.arg for n in walk(module.tree) if isinstance(n, ast.arg)
    } | set(module.functions)
    name, counter = wanted, 1
    while name in used:
        counter += 1
        name = f"{wanted}_{counter}"
    return name


# ---- regions: the statements a client's lifetime must cover ---------------------------------------------------------


@dataclass
class Region:
    """Statements `block[start..end]` of one block; `problem` says why they cannot be wrapped (None: they can)."""

    block: list[ast.stmt]
    start: int
    end: int
    tracked: set[str]
    problem: str | None = None

    @property
    def statements(self) -> list[ast.stmt]:
        return self.block[self.start:self.end + 1]


def completed_run(module: Module, node: ast.AST) -> bool:
    """`await Runner.run(...)` / `Runner.run_sync(...)`: the run is over when the expression is."""
    if isinstance(node, ast.Await) and is_runner_call(module, node.value, ("run",)):
        return True
    return bool(is_runner_call(module, node, ("run_sync",)))


def region_from(module: Module, function: ast.AST | None, first: ast.stmt, seeds: set[str]) -> Region | None:
    """The statements from `first` to the last one (in the same block) that uses a name derived from `seeds`."""
    located = containing_block(module, first)
    if located is None:
        return None
    block, start = located
    tracked = derived_names(block[start:], seeds)
    end = start
    for index in range(start + 1, len(block)):
        if loaded_names(block[index]) & tracked:
            end = index
    region = Region(block, start, end, tracked)
    last_line = statement_end_line(block[end])
    if has_multiline_string(region.statements):
        region.problem = "a string literal spans several lines in the statements to re-indent"
    if function is not None:
        for node in own_nodes(function):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in tracked and node.lineno > last_line:
                region.problem = f"`{node.id}` is used after the block (line {node.lineno})"
                break
    for statement in region.statements:
        for node in [statement, *own_nodes(statement)]:
            if (isinstance(node, ast.Return) and node.value is not None and loaded_names(node.value) & tracked
                    and not completed_run(module, node.value)):
                region.problem = "a value that still needs the MCP session is returned out of the block"
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                region.problem = "the statements declare globals"
    return region


# ---- editing call arguments -----------------------------------------------------------------------------------------


def add_keyword(ctx, call: ast.Call, text: str):
    """An edit appending `text` (e.g. `lifespan=x`) as the call's last argument, following its layout."""
    arguments = [*call.args, *[k.value for k in call.keywords]]
    close = ctx.span(call)[1] - 1
    if not arguments:
        return ctx.insert(close, text)
    last = max(arguments, key=lambda a: ctx.span(a)[1])
    last_end = ctx.span(last)[1]
    between = ctx.text[last_end:close]
    if "," in between:
        comma = last_end + between.index(",") + 1
        if "\n" in between:
            keyword_node = next((k for k in call.keywords if k.value is last), None)
            line = ctx.line_of(keyword_node if keyword_node is not None and hasattr(keyword_node, "lineno") else last)
            return ctx.insert(comma, f"\n{ctx.source.indentation(line)}{text},")
        return ctx.insert(comma, f" {text}")
    return ctx.insert(last_end, f", {text}")


def argument_spans(ctx, call: ast.Call) -> list[tuple[ast.AST, int, int]]:
    """(node, start, end) of each argument in source order; a keyword spans `name=value`."""
    spans = []
    for arg in call.args:
        spans.append((arg, *ctx.span(arg)))
    for keyword in call.keywords:
        if hasattr(keyword, "lineno"):
            spans.append((keyword, *ctx.span(keyword)))
        else:  # pragma: no cover - Python < 3.9
            start, end = ctx.span(keyword.value)
            spans.append((keyword, ctx.text.rfind(keyword.arg or "**", 0, start), end))
    return sorted(spans, key=lambda s: s[1])


def delete_arguments(ctx, call: ast.Call, doomed: list[ast.AST]) -> list:
    """Edits removing the given arguments (keywords or positionals) and their commas, keeping the rest's layout."""
    spans = argument_spans(ctx, call)
    marks = [node in doomed for node, _, _ in spans]
    edits = []
    index = 0
    open_paren = ctx.text.index("(", ctx.span(call.func)[1])
    close = ctx.span(call)[1] - 1
    while index < len(spans):
        if not marks[index]:
            index += 1
            continue
        run_start = index
        while index < len(spans) and marks[index]:
            index += 1
        run_end = index - 1
        if run_start > 0:
            start, end = spans[run_start - 1][2], spans[run_end][2]
        elif index < len(spans):
            start, end = spans[run_start][1], spans[index][1]
        else:
            start, end = open_paren + 1, close
            between = ctx.text[start:end]
            if "\n" in between:
                end = start + len(between.rstrip()) if between.strip() else start
                start = spans[run_start][1]
                tail = ctx.text[spans[run_end][2]:close]
                end = spans[run_end][2] + (tail.index(",") + 1 if tail.lstrip().startswith(",") else 0)
        edits.append(ctx.delete((start, end)))
    return edits


def guarded_by_import_error(module: Module, node: ast.AST) -> bool:
    """Inside a `try:` whose handlers catch ImportError: a compatibility shim for two versions."""
    child = node
    for parent in ancestors(node, module.parents):
        if isinstance(parent, ast.ExceptHandler) and child in parent.body and _catches_import_error(parent):
            return True
        if isinstance(parent, ast.Try) and child in parent.body and any(_catches_import_error(h) for h in parent.handlers):
            return True
        child = parent
    return False


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = _names_in(handler.type) if handler.type is not None else {"BaseException"}
    return bool(names & {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
