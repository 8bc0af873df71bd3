"""ChatKit endpoints and what stands in front of them: the dependencies FastAPI runs first, the middleware of the app.

The model (`model.web`) knows the apps, routers, routes and their full paths. This module picks the routes that reach
ChatKit (`ChatKitServer.process()` or a hosted session, through the functions they call), follows their dependencies
to the functions FastAPI runs before the handler (sub-dependencies and `Annotated` aliases included), and says whether
a request without a verified user is refused with 401 before the handler runs: by a dependency, a FastAPI security
scheme, or a middleware of the serving app that answers 401 on the endpoint's path.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from chatkit_fix.model import Function, Module
from chatkit_fix.model.effects.http import ANSWERS_401
from chatkit_fix.model.effects.identity import CREATES_HOSTED_SESSION, READS_IDENTITY_HEADER
from chatkit_fix.model.web import PROCESS
from chatkit_fix.model.web import Endpoint as Served

from . import web

MAX_DEPENDENCY_DEPTH = 4


@dataclass(eq=False)
class Endpoint:
    """A route reaching ChatKit, as one app serves it."""

    served: Served
    kind: str  # "process" | "session"
    dependencies: list[Function] = field(default_factory=list)  # what FastAPI runs before the handler
    security: list[str] = field(default_factory=list)  # FastAPI security schemes that refuse missing credentials
    guard: str | None = None  # why a request without a verified user is refused before the handler runs

    @property
    def function(self) -> Function:
        return self.served.route.handler

    @property
    def module(self) -> Module:
        return self.function.module

    @property
    def node(self):
        return self.function.node

    @property
    def path(self) -> str:
        return self.served.path


class Endpoints:
    """The ChatKit endpoints of the files a project check sees, with their guards."""

    def __init__(self, pctx):
        self.pctx = pctx
        self.model = pctx.model
        self._middleware: dict[int, list[tuple[object, web.Registration]]] | None = None
        self._endpoints: list[Endpoint] | None = None

    def all(self) -> list[Endpoint]:
        """Routes whose handler reaches ChatKit (POST, or methods not given)."""
        if self._endpoints is None:
            self._endpoints = []
            for served in self.model.web.endpoints():
                route = served.route
                if route.handler is None or (route.methods and "POST" not in route.methods):
                    continue
                if self.model.facts(PROCESS, route.handler):
                    kind = "process"
                elif self.model.facts(CREATES_HOSTED_SESSION, route.handler):
                    kind = "session"
                else:
                    continue
                endpoint = Endpoint(served, kind)
                self._dependencies(endpoint)
                endpoint.guard = self._guard(endpoint)
                self._endpoints.append(endpoint)
        return self._endpoints

    # ---- dependencies --------------------------------------------------------------------------------------------

    def _dependencies(self, endpoint: Endpoint) -> None:
        declared = [(module, None, call) for module, call in self.model.web.dependencies(endpoint.served)]
        declared += [(endpoint.module, endpoint.node, m) for m in _parameter_markers(self.model, endpoint.module, endpoint.node)]
        seen: set[int] = set()
        pending = declared
        for _ in range(MAX_DEPENDENCY_DEPTH):
            following = []
            for module, scope, marker in pending:
                target = _dependency_target(marker)
                ref = self.model.resolve(module, target, scope) if target is not None else None
                if ref is None:
                    continue
                if ref.external:
                    if ref.external.startswith("fastapi.security.") and ref.instance and self._refuses(module, target, scope):
                        endpoint.security.append(ref.external.rsplit(".", 1)[-1])
                    continue
                if ref.is_class and ref.instance:  # `Depends(checker)` with `checker = Checker()`: its __call__ runs
                    ref = self.model.resolver.class_member(ref.module, ref.node, "__call__")
                if ref is None or not ref.is_function or id(ref.node) in seen:
                    continue
                seen.add(id(ref.node))
                endpoint.dependencies.append(self.model.function(ref.module, ref.node))
                following += [(ref.module, ref.node, m) for m in _parameter_markers(self.model, ref.module, ref.node)]
            pending = following

    def _refuses(self, module: Module, target: ast.AST, scope) -> bool:
        """A security scheme built without `auto_error=False` refuses a request that lacks its credentials."""
        site = self.model.resolver.value_site(module, target, scope)
        call = site[1] if site is not None else None
        if not isinstance(call, ast.Call):
            return False  # built somewhere we cannot see: not proven to refuse
        value = web.argument(call, None, "auto_error")
        return not (isinstance(value, ast.Constant) and value.value is False)

    # ---- guards --------------------------------------------------------------------------------------------------

    def _guard(self, endpoint: Endpoint) -> str | None:
        if endpoint.security:
            return f"{endpoint.security[0]} refuses requests without credentials"
        for dependency in endpoint.dependencies:
            # a dependency that answers 401 when identity headers are missing verifies nothing the client cannot send
            if self.model.facts(ANSWERS_401, dependency) and not self.model.facts(READS_IDENTITY_HEADER, dependency):
                return f"its dependency {dependency.name}() answers 401"
        for ctx, registration in self.middleware().get(id(endpoint.served.app), []):
            why = self.middleware_guard(ctx, registration, endpoint.path)
            if why:
                return why
        return None

    def middleware(self) -> dict[int, list[tuple[object, web.Registration]]]:
        """The middleware registered on each app (by the app's identity in the model)."""
        if self._middleware is None:
            self._middleware = {}
            for module in self.model.web.modules():
                if b"middleware" not in self.pctx.project.read_bytes(module.path):
                    continue
                ctx = self.pctx.parsed(module.path)
                if ctx is None:
                    continue
                for registration in web.registrations(ctx):
                    scope = registration.scope if registration.scope is not module.tree else None
                    receiver = ast.parse(registration.receiver, mode="eval").body
                    for app in self.model.web.objects_at(module, receiver, scope):
                        self._middleware.setdefault(id(app), []).append((ctx, registration))
        return self._middleware

    def middleware_guard(self, ctx, registration: web.Registration, path: str) -> str | None:
        """Why a middleware answers 401 for requests to `path` before the app sees them (None when it does not)."""
        functions = self._middleware_functions(ctx, registration)
        if functions is None:
            cls = registration.middleware
            name = web.last_name(cls) if cls is not None else ""
            if name and any(word in name.lower() for word in ("auth", "jwt", "token", "bearer")):
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
            return f"the middleware {name} answers 401 on {path}"
        return None

    def _middleware_functions(self, ctx, registration: web.Registration) -> list[Function] | None:
        """The functions that see the request first: the dispatch function or method (None when it cannot be found)."""
        module = ctx.module
        if registration.kind == "decorator":
            return [self.model.function(module, registration.function)]
        cls = registration.middleware
        if cls is None:
            return None
        scope = registration.scope if registration.scope is not module.tree else None
        if web.last_name(cls) == "BaseHTTPMiddleware":
            ref = self.model.resolve(module, web.argument(registration.call, 1, "dispatch"), scope)
            return [self.model.function(ref.module, ref.node)] if ref is not None and ref.is_function else None
        ref = self.model.resolve(module, cls, scope)
        if ref is None or not ref.is_class:
            return None
        found = []
        for name in ("dispatch", "__call__"):
            member = self.model.resolver.class_member(ref.module, ref.node, name)
            if member is not None and member.is_function:
                found.append(self.model.function(member.module, member.node))
        return found


def endpoints_of(pctx) -> Endpoints:
    found = pctx.memo.get("chatkit_endpoints")
    if found is None:
        found = pctx.memo["chatkit_endpoints"] = Endpoints(pctx)
    return found


# ---- helpers -----------------------------------------------------------------------------------------------------


def _dependency_target(marker: ast.AST) -> ast.expr | None:
    """`g` of `Depends(g)` / `Security(g)`."""
    if isinstance(marker, ast.Call) and web.last_name(marker.func) in ("Depends", "Security") and marker.args:
        return marker.args[0]
    return None


def _parameter_markers(model, module: Module, function) -> list[ast.expr]:
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
            site = model.resolver.value_site(module, node, function)
            bound = site[1] if site is not None else None
            if not isinstance(bound, (ast.List, ast.Tuple, ast.Set)) and isinstance(node, ast.Name):
                bound = _iterated_list(function, node.id)
            if isinstance(bound, (ast.List, ast.Tuple, ast.Set)):
                found += [s for e in bound.elts if (s := web.string_value(e)) is not None and s.startswith("/")]
    return found


def _iterated_list(function, name: str) -> ast.AST | None:
    """The literal list a comprehension variable runs over (`any(path.startswith(p) for p in public_paths)`)."""
    for node in web.walk(function):
        if isinstance(node, ast.comprehension) and isinstance(node.target, ast.Name) and node.target.id == name:
            for assignment in web.own_nodes(function):
                if (isinstance(assignment, ast.Assign) and isinstance(node.iter, ast.Name)
                        and any(isinstance(t, ast.Name) and t.id == node.iter.id for t in assignment.targets)):
                    return assignment.value
    return None
