"""The web side of the application: ASGI and WSGI apps, routers, mounts, routes, and the ChatKit endpoints among them.

An app or router is identified by the call that builds it (`FastAPI(...)`, a FastAPI subclass, `APIRouter(...)`,
Starlette's `Router`, Flask's `Flask` and `Blueprint`), wherever it is built: at module level, or in a factory function
whose result a module binds. Names, imports, `include_router`/`register_blueprint`/`mount` edges and decorators all
resolve to that call through the model, so two services with an `app.main` each, or one router imported under another
name, never get mixed up. A ChatKit endpoint is a route whose handler reaches `ChatKitServer.process()` (itself, or
through the project functions it calls); its full paths join the prefixes of every router on the way up to each app
that serves it.
"""

from __future__ import annotations

import ast
import posixpath
from dataclasses import dataclass, field

from ..pyast import call_argument, call_keyword, walk
from .calls import Fact, Function, simple_effect
from .modules import FUNCTION_TYPES, Module, own_nodes

WSGI_CLASSES = (("flask", "Flask"), ("flask", "Blueprint"))  # served through a WSGI interface, not ASGI
APP_CLASSES = (("fastapi", "FastAPI"), ("starlette.applications", "Starlette"), ("starlette", "Starlette"),
               ("flask", "Flask"))
ROUTER_CLASSES = (("fastapi", "APIRouter"), ("starlette.routing", "Router"), ("flask", "Blueprint"))
ROUTE_DECORATORS = {"get", "post", "put", "patch", "delete", "options", "head", "api_route", "route"}
DEPENDENCY_MARKERS = ("Depends", "Security")
NEEDLES = (b"FastAPI", b"Starlette", b"APIRouter", b"Router(", b"Flask", b"Blueprint")


def join_paths(*parts: str) -> str:
    """FastAPI's way of joining a prefix and a path: `/api` + `/chatkit` -> `/api/chatkit`, `/x` + `` -> `/x`."""
    joined = "/"
    for part in parts:
        if part:
            joined = posixpath.join(joined, part.lstrip("/")) if joined != "/" else "/" + part.lstrip("/")
    return joined.rstrip("/") or "/"


@dataclass(eq=False)
class WebObject:
    """An app or router, identified by the call that builds it."""

    module: Module
    call: ast.Call
    kind: str  # "app" | "router"
    prefix: str = ""
    dependencies: list[ast.AST] = field(default_factory=list)  # the `dependencies=[...]` entries
    factory: ast.AST | None = None  # the function building it, when it is not built at module level
    cls: ast.ClassDef | None = None  # the project subclass it instantiates (`class App(FastAPI)`), if any
    interface: str = "asgi"  # "wsgi" for Flask apps and blueprints

    @property
    def line(self) -> int:
        return self.call.lineno

    def import_names(self, resolver) -> list[str]:
        """Module-level names bound to this object (`app = FastAPI()`, `app = create_app()`), for `uvicorn m:app`."""
        return [
            name for name, values in self.module.top_level.items()
            if any((site := resolver.value_site(self.module, value, None)) is not None and site[1] is self.call
                   for value in values)
        ]


@dataclass(eq=False)
class Route:
    owner: WebObject
    path: str | None  # None: not a literal
    methods: frozenset[str]
    handler: Function | None
    node: ast.AST  # the decorator call or the registering call
    dependencies: list[ast.AST] = field(default_factory=list)


@dataclass(eq=False)
class Endpoint:
    """A route as an app serves it."""

    route: Route
    app: WebObject
    path: str  # the full path (prefixes joined)
    chain: list[WebObject]  # the routers between the route's owner and the app, owner first, app last


@dataclass(eq=False)
class Edge:
    parent: WebObject
    child: WebObject
    prefix: str
    node: ast.AST
    replaces_prefix: bool = False  # the child's own prefix does not apply under this edge


def _process_local(model, function: Function) -> list[Fact]:
    """`<server>.process(body, context)` in the function: a ChatKitServer's, when the receiver resolves to one, or any
    two-argument `.process(...)` on an object that is not a process or task API."""
    found = []
    for node in own_nodes(function.node):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "process"):
            continue
        receiver = model.resolve(function.module, node.func.value, function.node)
        if receiver is not None and receiver.external:
            continue  # subprocess, multiprocessing, an installed API
        if receiver is not None and receiver.is_class and receiver.instance:
            if not model.resolver.subclass_of(receiver.module, receiver.node, "chatkit.server", "ChatKitServer"):
                continue
        elif len(node.args) + len(node.keywords) < 2:
            continue
        found.append(Fact(function.module, node, "ChatKitServer.process()"))
    return found


PROCESS = simple_effect("calls-process", _process_local)


class WebModel:
    def __init__(self, model):
        self.model = model
        self._modules: list[Module] | None = None
        self._objects: dict[int, WebObject] | None = None
        self._routes: list[Route] | None = None
        self._edges: list[Edge] | None = None

    # ---- objects -------------------------------------------------------------------------------------------------

    def modules(self) -> list[Module]:
        """Modules that may build or use an app or router: they name FastAPI/Starlette/APIRouter, or a project
        subclass of one (`App(settings)` in a module that never names FastAPI)."""
        if self._modules is None:
            project = self.model.project
            pool = project.files_of("python")
            direct = self.model.modules([p for p in pool if any(n in project.read_bytes(p) for n in NEEDLES)])
            subclasses = {
                cls.name.encode() for module in direct for cls in module.classes.values()
                if any(self.model.resolver.subclass_of(module, cls, p, c) for p, c in (*APP_CLASSES, *ROUTER_CLASSES))
            }
            chosen = {module.path for module in direct}
            more = [p for p in pool if p not in chosen and any(name in project.read_bytes(p) for name in subclasses)]
            self._modules = direct + self.model.modules(more)
        return self._modules

    def objects(self) -> list[WebObject]:
        if self._objects is None:
            self._objects = {}
            for module in self.modules():
                for node in walk(module.tree):
                    if isinstance(node, ast.Call):
                        kind = self.constructor_kind(module, node)
                        if kind is not None:
                            self._objects[id(node)] = self._object(module, node, kind)
        return list(self._objects.values())

    def constructor_kind(self, module: Module, call: ast.Call) -> str | None:
        found = self.model.resolve(module, call.func, module.enclosing(call))
        if found is None or found.instance:
            return None
        for kind, classes in (("app", APP_CLASSES), ("router", ROUTER_CLASSES)):
            if found.external and any(found.names(p, c) for p, c in classes):
                return kind
            if found.is_class and any(self.model.resolver.subclass_of(found.module, found.node, p, c) for p, c in classes):
                return kind
        return None

    def _object(self, module: Module, call: ast.Call, kind: str) -> WebObject:
        scope = module.enclosing(call)
        prefix = self.literal(module, call_keyword(call, "prefix") or call_keyword(call, "url_prefix"), scope) or ""
        dependencies = call_keyword(call, "dependencies")
        entries = list(dependencies.elts) if isinstance(dependencies, (ast.List, ast.Tuple)) else []
        found = self.model.resolve(module, call.func, scope)
        cls = found.node if found is not None and found.is_class else None
        wsgi = found is not None and (
            found.external and any(found.names(p, c) for p, c in WSGI_CLASSES)
            or found.is_class and any(self.model.resolver.subclass_of(found.module, found.node, p, c)
                                      for p, c in WSGI_CLASSES))
        return WebObject(module, call, kind, prefix, entries, scope, cls, "wsgi" if wsgi else "asgi")

    def objects_at(self, module: Module, expr: ast.AST | None, scope: ast.AST | None) -> list[WebObject]:
        """The apps or routers an expression refers to: one object, or, for `self` in a method of an app or router
        subclass (`class App(FastAPI)` including routers in its `__init__`), every construction of that class."""
        self.objects()
        if isinstance(expr, ast.Name) and expr.id == "self" and scope is not None:
            cls = module.enclosing_class(scope)
            if cls is not None:
                return [o for o in self._objects.values() if o.cls is not None and any(
                    holder is cls for _, holder in self.model.resolver.mro(o.module, o.cls)
                )]
        site = self.model.resolver.value_site(module, expr, scope)
        found = self._objects.get(id(site[1])) if site is not None else None
        return [found] if found is not None else []

    def object_at(self, module: Module, expr: ast.AST | None, scope: ast.AST | None) -> WebObject | None:
        found = self.objects_at(module, expr, scope)
        return found[0] if len(found) == 1 else None

    def literal(self, module: Module, expr: ast.AST | None, scope: ast.AST | None) -> str | None:
        site = self.model.resolver.value_site(module, expr, scope) if expr is not None else None
        node = site[1] if site is not None else None
        return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None

    # ---- routes and edges ----------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        if self._routes is None:
            self._collect()
        return self._routes

    def edges(self) -> list[Edge]:
        if self._edges is None:
            self._collect()
        return self._edges

    def _collect(self) -> None:
        self._routes, self._edges = [], []
        for object_ in self.objects():
            self._starlette_routes(object_)
        for module in self.modules():
            for node in walk(module.tree):
                if isinstance(node, FUNCTION_TYPES):
                    self._decorated(module, node)
                elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                    self._registering_call(module, node)

    def _decorated(self, module: Module, function: ast.AST) -> None:
        for decorator in function.decorator_list:
            if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
                continue
            verb = decorator.func.attr
            if verb not in ROUTE_DECORATORS:
                continue
            scope = module.enclosing(function)
            path = self.literal(module, call_argument(decorator, 0, "path"), scope)
            for owner in self.objects_at(module, decorator.func.value, scope):
                self._routes.append(Route(
                    owner, path, _methods(verb, decorator), self.model.function(module, function), decorator,
                    _list(call_keyword(decorator, "dependencies")),
                ))

    def _registering_call(self, module: Module, call: ast.Call) -> None:
        verb = call.func.attr
        if verb not in ("include_router", "register_blueprint", "mount", "add_api_route", "add_route"):
            return
        scope = module.enclosing(call)
        for parent in self.objects_at(module, call.func.value, scope):
            if verb in ("include_router", "register_blueprint") and call.args:
                child = self.object_at(module, call.args[0], scope)
                if child is not None:
                    keyword = "prefix" if verb == "include_router" else "url_prefix"
                    prefix = self.literal(module, call_keyword(call, keyword), scope) or ""
                    if verb == "register_blueprint" and prefix:
                        # Flask: the registration's url_prefix replaces the blueprint's own
                        self._edges.append(Edge(parent, child, prefix, call, replaces_prefix=True))
                        continue
                    self._edges.append(Edge(parent, child, prefix, call))
            elif verb == "mount" and len(call.args) + len(call.keywords) >= 2:
                child = self.object_at(module, call_argument(call, 1, "app"), scope)
                if child is not None:
                    prefix = self.literal(module, call_argument(call, 0, "path"), scope) or ""
                    self._edges.append(Edge(parent, child, prefix, call))
            elif verb in ("add_api_route", "add_route"):
                handler = self._handler(module, call_argument(call, 1, "endpoint"), scope)
                path = self.literal(module, call_argument(call, 0, "path"), scope)
                self._routes.append(Route(parent, path, _methods("api_route", call), handler, call,
                                          _list(call_keyword(call, "dependencies"))))

    def _starlette_routes(self, owner: WebObject) -> None:
        """`Starlette(routes=[Route(...), Mount(...)])` and `Router(routes=...)`."""
        routes = call_keyword(owner.call, "routes")
        if routes is None:
            return
        module, scope = owner.module, owner.factory
        site = self.model.resolver.value_site(module, routes, scope)
        entries = site[1] if site is not None else routes
        for entry in entries.elts if isinstance(entries, (ast.List, ast.Tuple)) else []:
            if not isinstance(entry, ast.Call):
                continue
            kind = self.model.resolve(module, entry.func, scope)
            if kind is not None and kind.names("starlette.routing", "Route"):
                handler = self._handler(module, call_argument(entry, 1, "endpoint"), scope)
                path = self.literal(module, call_argument(entry, 0, "path"), scope)
                self._routes.append(Route(owner, path, _methods("route", entry), handler, entry))
            elif kind is not None and kind.names("starlette.routing", "Mount"):
                child = self.object_at(module, call_keyword(entry, "app"), scope)
                if child is not None:
                    self._edges.append(Edge(owner, child, self.literal(module, call_argument(entry, 0, "path"), scope) or "", entry))

    def _handler(self, module: Module, expr: ast.AST | None, scope: ast.AST | None) -> Function | None:
        found = self.model.resolve(module, expr, scope) if expr is not None else None
        return self.model.function(found.module, found.node) if found is not None and found.is_function else None

    # ---- endpoints -----------------------------------------------------------------------------------------------

    def endpoints(self) -> list[Endpoint]:
        """Every route as served by each app above it (a route under no app is served nowhere: no endpoint)."""
        found = []
        for route in self.routes():
            for app, chain, prefix in self._apps_above(route.owner, [], set()):
                found.append(Endpoint(route, app, join_paths(prefix, route.path or ""), chain))
        return found

    def _apps_above(self, owner: WebObject, chain: list[WebObject], seen: set[int]):
        """(app, routers on the way, joined prefix) for each app serving `owner`."""
        if id(owner) in seen:
            return
        seen = seen | {id(owner)}
        chain = [*chain, owner]
        if owner.kind == "app":
            yield owner, chain, owner.prefix
        for edge in self.edges():
            if edge.child is owner:
                for app, full_chain, prefix in self._apps_above(edge.parent, chain, seen):
                    own = owner.prefix if owner.kind == "router" and not edge.replaces_prefix else ""
                    yield app, full_chain, join_paths(prefix, edge.prefix, own)

    def chatkit_endpoints(self) -> list[Endpoint]:
        """Endpoints whose handler reaches `ChatKitServer.process()`."""
        return [endpoint for endpoint in self.endpoints() if self.reaches_process(endpoint.route)]

    def reaches_process(self, route: Route) -> list[Fact]:
        return self.model.facts(PROCESS, route.handler) if route.handler is not None else []

    def dependencies(self, endpoint: Endpoint) -> list[tuple[Module, ast.Call]]:
        """`Depends(f)`/`Security(f)` calls guarding an endpoint: the handler's parameters (defaults and Annotated),
        the route's `dependencies=`, and those of every router and app on the way."""
        found: list[tuple[Module, ast.Call]] = []
        route = endpoint.route
        handler = route.handler
        if handler is not None:
            arguments = handler.node.args
            for node in [*arguments.defaults, *arguments.kw_defaults,
                         *(a.annotation for a in [*arguments.args, *arguments.kwonlyargs] if a.annotation is not None)]:
                found.extend((handler.module, call) for call in _dependency_calls(node))
        for node in route.dependencies:
            found.extend((route.owner.module, call) for call in _dependency_calls(node))
        for owner in endpoint.chain:
            for node in owner.dependencies:
                found.extend((owner.module, call) for call in _dependency_calls(node))
        return found


def _dependency_calls(node: ast.AST | None) -> list[ast.Call]:
    if node is None:
        return []
    return [
        call for call in walk(node)
        if isinstance(call, ast.Call) and _name_of(call.func) in DEPENDENCY_MARKERS
    ]


def _name_of(func: ast.AST) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _list(node: ast.AST | None) -> list[ast.AST]:
    return list(node.elts) if isinstance(node, (ast.List, ast.Tuple)) else []


def _methods(verb: str, call: ast.Call) -> frozenset[str]:
    if verb not in ("api_route", "route"):
        return frozenset({verb.upper()})
    given = call_keyword(call, "methods")
    if isinstance(given, (ast.List, ast.Tuple, ast.Set)):
        return frozenset(e.value.upper() for e in given.elts if isinstance(e, ast.Constant) and isinstance(e.value, str))
    return frozenset({"GET"})  # FastAPI's and Starlette's default
