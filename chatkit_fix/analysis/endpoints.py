"""ChatKit endpoints of the application and what stands in front of them.

A ChatKit endpoint is a route whose handler reaches `ChatKitServer.process` or creates a hosted ChatKit session,
directly or through the functions it calls (the model's summaries). For each one this module knows its full paths
(router prefixes, `include_router`/`mount` prefixes), the app serving it, the dependencies FastAPI runs before the
handler (parameter, route, router, include and app level, sub-dependencies included) and whether a middleware of that
app or one of those dependencies answers 401 on its path before the handler runs.

Apps and routers are identified by where they are bound: (file, def that binds them or 0 for module level, name).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from chatkit_fix.model import Function, Module
from chatkit_fix.model.effects.http import ANSWERS_401
from chatkit_fix.model.effects.identity import READS_IDENTITY_HEADER, SERVES_CHATKIT

from . import web

Binding = tuple[Path, int, str]
APP_CLASSES = ("FastAPI", "Starlette")
ROUTER_CLASSES = ("APIRouter", "Router")
WEB_BYTES = (b"FastAPI", b"APIRouter", b"Starlette", b"Router", b"include_router", b"add_middleware", b".middleware(", b"route")
MAX_DEPENDENCY_DEPTH = 4


@dataclass(eq=False)
class Handler:
    """A function registered as a route: by a decorator, `add_api_route`, or a Starlette `Route(...)`."""

    module: Module
    node: ast.FunctionDef | ast.AsyncFunctionDef
    path: str
    methods: set[str]
    holder: Binding | None
    registration: ast.Call
    scope: ast.AST | None  # the def whose code registers it (a factory), None at module level


@dataclass(eq=False)
class Include:
    parent: Binding
    prefix: str
    dependencies: list[tuple[Module, ast.AST | None, ast.expr]]


@dataclass(eq=False)
class Holder:
    """An app or a router: how it was built."""

    kind: str  # "app" | "router"
    module: Module
    scope: ast.AST | None
    call: ast.Call

    @property
    def prefix(self) -> str:
        return web.string_value(web.argument(self.call, None, "prefix")) or ""


@dataclass(eq=False)
class Endpoint:
    handler: Handler
    function: Function
    kind: str  # "process" | "session"
    paths: list[tuple[Binding, str]]
    dependencies: list[Function] = field(default_factory=list)
    security: list[str] = field(default_factory=list)  # FastAPI security schemes that answer 401 themselves
    guard: str | None = None  # why the request is refused with 401 before the handler runs

    @property
    def module(self) -> Module:
        return self.handler.module

    @property
    def node(self):
        return self.handler.node


class Web:
    """The apps, routers, routes and middleware of the files a project check sees."""

    def __init__(self, pctx):
        self.pctx = pctx
        self.model = pctx.model
        self.holders: dict[Binding, Holder] = {}
        self.handlers: list[Handler] = []
        self.includes: dict[Binding, list[Include]] = {}
        self.middleware: dict[Binding, list[tuple[object, web.Registration]]] = {}
        self._guards: dict[tuple[int, str], str | None] = {}
        self._endpoints: list[Endpoint] | None = None
        for path in web.python_sources(pctx.project, WEB_BYTES):
            ctx = pctx.parsed(path)
            if ctx is not None:
                self._scan(ctx)

    # ---- the structure -------------------------------------------------------------------------------------------

    def _scan(self, ctx) -> None:
        module = ctx.module
        for node in web.walk(module.tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Call):
                self._holder(module, node)
            elif isinstance(node, web.FUNCTIONS):
                for decorator in node.decorator_list:
                    self._decorated(module, node, decorator)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                self._method_call(module, node)
        for registration in web.registrations(ctx):
            scope = registration.scope if registration.scope is not module.tree else None
            key = self.binding(module, _parse(registration.receiver), scope)
            if key is not None:
                self.middleware.setdefault(key, []).append((ctx, registration))

    def _holder(self, module: Module, node) -> None:
        call = node.value
        name = web.last_name(call.func)
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if len(targets) != 1 or (name not in APP_CLASSES and name not in ROUTER_CLASSES):
            return
        if not any(q.startswith(("fastapi.", "starlette.")) for q in module.imports.qualnames(call.func)):
            return  # a class of the same name that is not the framework's
        scope = module.enclosing(node)
        key = self.binding(module, targets[0], scope)
        if key is None:
            return
        kind = "app" if name in APP_CLASSES else "router"
        self.holders[key] = Holder(kind, module, scope, call)
        routes = web.argument(call, None, "routes")
        for item in self._elements(module, routes, scope):
            self._starlette_route(module, item, key, scope, "")

    def _elements(self, module: Module, expr, scope) -> list[ast.AST]:
        """The items of a list given literally or through a name bound to one."""
        if isinstance(expr, ast.Name):
            ref = self.model.resolve(module, expr, scope)
            expr = ref.node if ref is not None and ref.module is module else None
        return list(expr.elts) if isinstance(expr, (ast.List, ast.Tuple)) else []

    def _starlette_route(self, module: Module, item, holder: Binding, scope, prefix: str) -> None:
        """`Route("/chatkit", endpoint, methods=[...])` and `Mount("/api", routes=[...])` of a Starlette app or router."""
        if not isinstance(item, ast.Call):
            return
        name = web.last_name(item.func)
        path = web.string_value(web.argument(item, 0, "path"))
        if path is None:
            return
        if name == "Mount":
            for inner in self._elements(module, web.argument(item, None, "routes"), scope):
                self._starlette_route(module, inner, holder, scope, prefix + path)
            return
        if name not in ("Route", "APIRoute"):
            return
        self._register(module, web.argument(item, 1, "endpoint"), prefix + path, self._methods(item), holder, item, scope)

    def _decorated(self, module: Module, node, decorator) -> None:
        if not isinstance(decorator, ast.Call) or not isinstance(decorator.func, ast.Attribute):
            return
        attr = decorator.func.attr
        if attr not in web.ROUTE_METHODS and attr not in ("api_route", "route"):
            return
        scope = module.enclosing(node)
        holder = self.binding(module, decorator.func.value, scope)
        path = web.string_value(web.argument(decorator, 0, "path"))
        methods = {attr.upper()} if attr in web.ROUTE_METHODS else self._methods(decorator)
        self.handlers.append(Handler(module, node, path or "", methods, holder, decorator, scope))

    def _method_call(self, module: Module, call: ast.Call) -> None:
        attr = call.func.attr
        scope = module.enclosing(call)
        if attr in ("add_api_route", "add_route"):
            holder = self.binding(module, call.func.value, scope)
            path = web.string_value(web.argument(call, 0, "path"))
            self._register(module, web.argument(call, 1, "endpoint"), path or "", self._methods(call), holder, call, scope)
        elif attr in ("include_router", "mount"):
            child_expr = web.argument(call, 0, "router") if attr == "include_router" else web.argument(call, 1, "app")
            parent = self.binding(module, call.func.value, scope)
            child = self.binding(module, child_expr, scope) if child_expr is not None else None
            if parent is None or child is None:
                return
            prefix_expr = web.argument(call, None, "prefix") if attr == "include_router" else web.argument(call, 0, "path")
            dependencies = web.argument(call, None, "dependencies")
            found = [(module, scope, d) for d in dependencies.elts] if isinstance(dependencies, (ast.List, ast.Tuple)) else []
            self.includes.setdefault(child, []).append(Include(parent, web.string_value(prefix_expr) or "", found))

    def _register(self, module: Module, endpoint, path: str, methods: set[str], holder, call, scope) -> None:
        if endpoint is None:
            return
        ref = self.model.resolve(module, endpoint, scope)
        if ref is not None and ref.is_function and ref.module is not None:
            self.handlers.append(Handler(ref.module, ref.node, path, methods, holder, call, scope))

    @staticmethod
    def _methods(call: ast.Call) -> set[str]:
        value = web.argument(call, None, "methods")
        if isinstance(value, (ast.List, ast.Tuple, ast.Set)):
            return {str(web.string_value(e)).upper() for e in value.elts if web.string_value(e)}
        return set()

    def binding(self, module: Module, expr, scope, depth: int = 0) -> Binding | None:
        """Where the object an expression names is bound: a local of a def, a module-level name (through imports)."""
        if depth > 6 or expr is None:
            return None
        if isinstance(expr, ast.Name):
            function = scope
            while function is not None:
                if _binds(function, expr.id):
                    return module.path, id(function), expr.id
                function = module.enclosing(function)
            if expr.id in module.top_level:
                return module.path, 0, expr.id
            for qualified in sorted(module.imports.names.get(expr.id, ())):
                owner, _, attribute = qualified.rpartition(".")
                target = self.model.module_named(owner, module.path) if owner else None
                if target is not None:
                    return self.binding(target, ast.Name(attribute), None, depth + 1)
            return None
        if isinstance(expr, ast.Attribute):
            owner = self.model.resolve(module, expr.value, scope)
            if owner is not None and owner.module is not None and owner.node is None:
                return self.binding(owner.module, ast.Name(expr.attr), None, depth + 1)
            text = web.dotted(expr)
            if text:
                holder = module.enclosing_class(scope) if scope is not None else None
                return module.path, id(holder or scope) if (holder or scope) else 0, text
        return None

    # ---- paths, dependencies, guards -----------------------------------------------------------------------------

    def paths(self, handler: Handler) -> list[tuple[Binding, str, list]]:
        """(root app or router, full path, dependencies declared on the way) for each way the route is served."""
        found: list[tuple[Binding, str, list]] = []

        def up(key: Binding | None, path: str, dependencies: list, seen: frozenset) -> None:
            holder = self.holders.get(key) if key is not None else None
            if holder is not None:
                path = holder.prefix + path
                declared = web.argument(holder.call, None, "dependencies")
                if isinstance(declared, (ast.List, ast.Tuple)):
                    dependencies = dependencies + [(holder.module, holder.scope, d) for d in declared.elts]
            parents = self.includes.get(key, []) if key is not None else []
            if not parents or key in seen:
                found.append((key, path, dependencies))
                return
            for include in parents:
                up(include.parent, include.prefix + path, dependencies + include.dependencies, seen | {key})

        up(handler.holder, handler.path, [], frozenset())
        return found

    def apps(self, service) -> list[Binding]:
        return [k for k, h in self.holders.items() if h.kind == "app" and h.module.service is service]

    def endpoints(self) -> list[Endpoint]:
        """Routes whose handler reaches ChatKit (POST, or methods not given)."""
        if self._endpoints is not None:
            return self._endpoints
        found = []
        seen: set[int] = set()
        for handler in self.handlers:
            if handler.methods and "POST" not in handler.methods:
                continue
            function = self.model.function(handler.module, handler.node)
            facts = self.model.facts(SERVES_CHATKIT, function)
            if not facts or id(handler.registration) in seen:
                continue
            seen.add(id(handler.registration))
            kind = "process" if any(f.what == "process" for f in facts) else "session"
            routes = self.paths(handler)
            endpoint = Endpoint(handler, function, kind, [(k, p) for k, p, _ in routes])
            declared = [d for _, _, deps in routes for d in deps]
            if isinstance(handler.registration, ast.Call):
                listed = web.argument(handler.registration, None, "dependencies")
                if isinstance(listed, (ast.List, ast.Tuple)):
                    declared += [(handler.module, handler.scope, d) for d in listed.elts]
            self._dependencies(endpoint, declared)
            endpoint.guard = self._guard(endpoint)
            found.append(endpoint)
        self._endpoints = found
        return found

    def _dependencies(self, endpoint: Endpoint, declared: list) -> None:
        seen: set[int] = set()
        pending = [(m, s, marker) for m, s, marker in declared]
        pending += [(endpoint.module, endpoint.node, marker) for marker in _parameter_markers(endpoint.module, endpoint.node, self.model)]
        depth = 0
        while pending and depth <= MAX_DEPENDENCY_DEPTH:
            following = []
            for module, scope, marker in pending:
                target = _dependency_target(marker)
                if target is None:
                    continue
                ref = self.model.resolve(module, target, scope)
                if ref is None:
                    continue
                if ref.external:
                    if ref.external.startswith("fastapi.security.") and ref.instance and not _optional_scheme(self.model, module, target, scope):
                        endpoint.security.append(ref.external.rsplit(".", 1)[-1])
                    continue
                if ref.is_class and ref.instance:
                    ref = self.model.resolver.class_member(ref.module, ref.node, "__call__")
                if ref is None or not ref.is_function or id(ref.node) in seen:
                    continue
                seen.add(id(ref.node))
                function = self.model.function(ref.module, ref.node)
                endpoint.dependencies.append(function)
                following += [(ref.module, ref.node, m) for m in _parameter_markers(ref.module, ref.node, self.model)]
            pending = following
            depth += 1

    def _guard(self, endpoint: Endpoint) -> str | None:
        if endpoint.security:
            return f"{endpoint.security[0]} answers 401 without credentials"
        for dependency in endpoint.dependencies:
            # a dependency that answers 401 when identity headers are missing verifies nothing the client cannot send
            if self.model.facts(ANSWERS_401, dependency) and not self.model.facts(READS_IDENTITY_HEADER, dependency):
                return f"its dependency {dependency.name}() answers 401"
        for root, path in endpoint.paths:
            for ctx, registration in self._middleware_of(root, endpoint.module.service):
                why = self.middleware_guard(ctx, registration, path)
                if why:
                    return why
        return None

    def _middleware_of(self, root: Binding | None, service):
        holder = self.holders.get(root) if root is not None else None
        if holder is not None and holder.kind == "app":
            return self.middleware.get(root, [])
        apps = self.apps(service)  # a router included nowhere we can see: the one app of its service, if any
        return self.middleware.get(apps[0], []) if len(apps) == 1 else []

    def middleware_guard(self, ctx, registration: web.Registration, path: str) -> str | None:
        """Why a middleware answers 401 for requests to `path` before the app sees them (None when it does not)."""
        functions = self._middleware_functions(ctx, registration)
        if functions is None:
            cls = registration.middleware
            name = web.last_name(cls) if cls is not None else ""
            if name and web.ANSWERING_NAME.search(name) and any(w in name.lower() for w in ("auth", "jwt", "token", "bearer")):
                return f"{name} looks like an auth middleware"
            return None
        for function in functions:
            facts = self.model.facts(ANSWERS_401, function)
            if not facts:
                continue
            exempt, scoped = _path_tests(self.model, function, facts)
            if any(_covers(prefix, path) for prefix in exempt):
                continue
            if scoped and not any(_covers(prefix, path) for prefix in scoped):
                continue
            name = registration.function.name if registration.kind == "decorator" else web.last_name(registration.middleware)
            return f"the middleware {name} answers 401 on {path or '/'}"
        return None

    def _middleware_functions(self, ctx, registration: web.Registration) -> list[Function] | None:
        """The functions that see the request first: the dispatch function or method (None when it cannot be found)."""
        module = ctx.module
        if registration.kind == "decorator":
            return [self.model.function(module, registration.function)]
        cls = registration.middleware
        if cls is None:
            return None
        if web.last_name(cls) == "BaseHTTPMiddleware":
            dispatch = web.argument(registration.call, 1, "dispatch")
            ref = self.model.resolve(module, dispatch, registration.scope if registration.scope is not module.tree else None)
            return [self.model.function(ref.module, ref.node)] if ref is not None and ref.is_function else None
        ref = self.model.resolve(module, cls)
        if ref is None or not ref.is_class:
            return None
        found = []
        for name in ("dispatch", "__call__"):
            member = self.model.resolver.class_member(ref.module, ref.node, name)
            if member is not None and member.is_function:
                found.append(self.model.function(member.module, member.node))
        return found


def web_of(pctx) -> Web:
    found = pctx.memo.get("web_apps")
    if found is None:
        found = pctx.memo["web_apps"] = Web(pctx)
    return found


# ---- helpers -----------------------------------------------------------------------------------------------------


def _parse(dotted: str) -> ast.expr:
    return ast.parse(dotted, mode="eval").body


def _binds(function: ast.AST, name: str) -> bool:
    args = function.args
    if any(a.arg == name for a in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg) if a is not None):
        return True
    return any(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store) for n in web.own_nodes(function))


def _dependency_target(marker: ast.AST) -> ast.expr | None:
    """`g` of `Depends(g)` / `Security(g)`."""
    if isinstance(marker, ast.Call) and web.last_name(marker.func) in ("Depends", "Security") and marker.args:
        return marker.args[0]
    return None


def _parameter_markers(module: Module, function, model) -> list[ast.expr]:
    """`Depends(...)` markers of a function's parameters: defaults, `Annotated[...]` metadata, and annotations naming a
    module-level `Annotated` alias (`CurrentUser = Annotated[User, Depends(get_user)]`)."""
    args = function.args
    found = [*args.defaults, *[d for d in args.kw_defaults if d is not None]]
    for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
        annotation = arg.annotation
        if isinstance(annotation, (ast.Name, ast.Attribute)):
            ref = model.resolve(module, annotation)
            if ref is not None and isinstance(ref.node, ast.Subscript):
                annotation = ref.node
        if isinstance(annotation, ast.Subscript) and web.last_name(annotation.value) == "Annotated" and isinstance(annotation.slice, ast.Tuple):
            found.extend(annotation.slice.elts[1:])
    return [m for m in found if _dependency_target(m) is not None]


def _optional_scheme(model, module: Module, target, scope) -> bool:
    """`HTTPBearer(auto_error=False)`: the scheme lets requests without credentials through."""
    if isinstance(target, ast.Call):
        call = target
    else:
        key = target.id if isinstance(target, ast.Name) else None
        values = module.top_level.get(key, []) if key else []
        call = values[-1] if values and isinstance(values[-1], ast.Call) else None
    if call is None:
        return True  # unknown construction: not proven to answer
    value = web.argument(call, None, "auto_error")
    return isinstance(value, ast.Constant) and value.value is False


def _covers(prefix: str, path: str) -> bool:
    """Whether a path a middleware compares with covers a route's path (`startswith`, the common test)."""
    if prefix in ("", "/"):
        return path in ("", "/")
    return path.startswith(prefix.rstrip("*"))


def _path_tests(model, function: Function, facts) -> tuple[list[str], list[str]]:
    """Paths a middleware lets through untouched (`if path.startswith(PUBLIC): return await call_next(request)`) and
    paths it checks only (`if path.startswith("/api"): ... 401`), read from its own `if` tests."""
    module, node = function.module, function.node
    answering = {id(f.via[0].node if f.via else f.node) for f in facts}
    exempt: list[str] = []
    scoped: list[str] = []
    for statement in web.own_nodes(node):
        if not isinstance(statement, ast.If):
            continue
        paths = _path_strings(model, module, node, statement.test)
        if not paths:
            continue
        body = [n for s in statement.body for n in [s, *web.own_nodes(s)]]
        if any(isinstance(n, ast.Return) for n in body) and not any(id(n) in answering for n in body):
            exempt.extend(paths)
        elif any(id(n) in answering for n in body) and not any(id(n) in answering for n in _outside(node, statement)):
            scoped.extend(paths)
    return exempt, scoped


def _outside(function, statement) -> list[ast.AST]:
    inside = {id(n) for n in web.own_nodes(statement)} | {id(statement)}
    return [n for n in web.own_nodes(function) if id(n) not in inside]


def _path_strings(model, module: Module, function, test: ast.AST) -> list[str]:
    """URL paths a test compares with: literals, and the strings of a list a name in the test is bound to."""
    found: list[str] = []
    for node in web.walk(test):
        value = web.string_value(node)
        if value is not None and value.startswith("/"):
            found.append(value)
        elif isinstance(node, (ast.Name, ast.Attribute)) and isinstance(getattr(node, "ctx", None), ast.Load):
            ref = model.resolve(module, node, function)
            bound = ref.node if ref is not None else None
            if isinstance(bound, (ast.List, ast.Tuple, ast.Set)):
                found += [s for e in bound.elts if (s := web.string_value(e)) is not None and s.startswith("/")]
            elif bound is None and isinstance(node, ast.Name):
                local = _local_list(function, node.id)
                found += [s for e in local if (s := web.string_value(e)) is not None and s.startswith("/")]
    return found


def _local_list(function, name: str) -> list[ast.AST]:
    for node in web.own_nodes(function):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            if isinstance(node.value, (ast.List, ast.Tuple, ast.Set)):
                return list(node.value.elts)
    for node in web.walk(function):
        if isinstance(node, ast.comprehension) and isinstance(node.target, ast.Name) and node.target.id == name:
            return _local_list(function, node.iter.id) if isinstance(node.iter, ast.Name) else []
    return []


