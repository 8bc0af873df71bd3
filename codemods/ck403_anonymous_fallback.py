"""The endpoint goes on as `"anonymous"` when authentication fails, or trusts a client-supplied `X-User-ID` header.

## Why
A ChatKit endpoint that starts with `user_id = "anonymous"`, decodes the token inside `try: ... except Exception:` and
carries on, never fails: a missing token, an expired token, a wrong import (`No module named 'src.auth'`), a
decoder that returns a tuple (CK402) all end in the same place, a request served as `"anonymous"`. The user sees
"invalid user ID format" from a tool, or everybody's threads land in one shared anonymous account; the only trace
is a warning in the log. The same happens one level down with `context.get("user_id", "unknown")` in `respond()`.
Identity taken from an `X-User-ID`/`X-User-Role` header is worse: any caller can claim to be any user.

The rule looks at route handlers, their auth helpers and `respond()`, in apps that have users at all (a demo with no
authentication is not reported), and stays quiet when the endpoint already answers 401.

## Wrong
```python
@app.post("/chatkit")
async def chatkit_endpoint(request: Request):
    user_id = "anonymous"
    auth = request.headers.get("authorization", "")
    if auth.startswith("Bearer "):
        try:
            user_id = decode_access_token(auth[7:])["sub"]
        except Exception as e:
            logger.warning(f"JWT decode failed: {e}")
    result = await server.process(await request.body(), {"user_id": user_id})
```

## Right
```python
@app.post("/chatkit")
async def chatkit_endpoint(request: Request):
    user_id = None
    auth = request.headers.get("authorization", "")
    if auth.startswith("Bearer "):
        try:
            user_id = decode_access_token(auth[7:])["sub"]
        except Exception as e:
            logger.warning(f"JWT decode failed: {e}")
            raise HTTPException(status_code=401, detail="invalid token") from e
    if user_id is None:
        raise HTTPException(status_code=401, detail="authentication required")
    result = await server.process(await request.body(), {"user_id": user_id})
```
The fix is unsafe (`--unsafe-fixes`): clients that relied on anonymous access now get 401. Header identities are
marked with a TODO: only a verified token (or a trusted gateway) can say who the user is.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from chatkit_fix.analysis import web
from chatkit_fix.codemods._cases import Edited
from chatkit_fix.findings import Safety
from chatkit_fix.model import model_of
from chatkit_fix.pyast import walk
from chatkit_fix.rules import Invalid, Valid, rule

# a finding sits on an identity default, a swallowed auth error or an identity header
RULE = rule(
    code="CK403",
    slug="anonymous-fallback",
    safety=Safety.UNSAFE,
    summary='auth failures continue as "anonymous"/"unknown", are swallowed by except Exception, or identity comes from X-User-ID',
    url="https://fastapi.tiangolo.com/tutorial/security/simple-oauth2/",
    module=__name__,
    explanation=__doc__,
    finding_triggers=(lambda data: _wants_functions(data) or _wants_headers(data),),
)

USER_SIGNALS = (b"uthorization", b"jwt", b"Bearer", b"current_user", b"X-User", b"x-user", b"x_user", b"X-USER", b"HTTPBearer", b"OAuth2")
ANONYMOUS_NEEDLES = (b"anon", b"unknown", b"guest", b"default_user", b"default-user", b"demo_user", b"demo-user")
AUTH_NEEDLES = (b"decode", b"jwt", b"verify", b"token", b"Token")
# endpoints, respond() and auth helpers live in modules that name a web or token library
WEB_NEEDLES = (b"fastapi", b"starlette", b"chatkit", b"jwt", b"jose", b"Depends", b"Request", b"Header", b"auth")
HEADER_NEEDLES = (b"X-User", b"x-user", b"x_user", b"X-USER", b"X_USER", b"X-UID", b"x-uid", b"x-account", b"X-Account", b"x-role", b"X-Role")
AUTH_NAME = re.compile(r"(^|_)(auth|authenticate|authorize|current_user|get_user|verify|require_user|identity)", re.IGNORECASE)
DETAIL_MISSING = "authentication required"
DETAIL_INVALID = "invalid token"


def _wants_functions(data: bytes) -> bool:
    """A module that may hold an endpoint, respond() or auth helper continuing as anonymous or swallowing errors."""
    return any(n in data for n in WEB_NEEDLES) and (
        any(n in data for n in ANONYMOUS_NEEDLES) or (b"except" in data and any(n in data for n in AUTH_NEEDLES))
    )


def _wants_headers(data: bytes) -> bool:
    """A module that may read identity from an X-User-ID-style header."""
    return any(n in data for n in HEADER_NEEDLES)


@dataclass
class Site:
    ctx: object
    func: ast.AST
    kind: str  # endpoint | auth | respond
    node: ast.AST
    message: str
    hint: str
    edits: list = field(default_factory=list)
    todo: str = ""
    todo_anchor: object = None


@RULE.check_project
def check(pctx):
    project = pctx.project
    sources = web.python_sources(project)
    if not any(signal in project.read_bytes(p) for p in sources for signal in USER_SIGNALS):
        return  # an app with no notion of users
    sites: list[Site] = []
    endpoints: list[tuple[object, ast.AST, ast.AST]] = []  # ChatKit endpoints (context, handler, decorator)
    for path in sources:
        data = project.read_bytes(path)
        wants_functions = _wants_functions(data)
        wants_headers = _wants_headers(data)
        wants_endpoints = b".process(" in data
        if not (wants_functions or wants_headers or wants_endpoints):
            continue
        ctx = pctx.parsed(path)
        if ctx is None:
            continue
        routes = {r.function: r.decorator for r in web.routes(ctx)} if wants_functions or wants_endpoints else {}
        if wants_endpoints:
            endpoints.extend((ctx, func, decorator) for func, decorator in routes.items() if web.calls_process(func))
        if wants_headers:
            sites.extend(_header_sites(ctx))
        if not wants_functions:
            continue
        for func, kind in _functions(ctx, routes):
            if kind != "respond" and (_protected(ctx, func, routes.get(func)) or _anonymous_by_design(func)):
                continue
            sites.extend(_function_sites(ctx, func, kind))
    respond_protected = False
    if endpoints and any(s.kind == "respond" for s in sites):
        app_auth = _app_level_auth(pctx, sources)
        respond_protected = all(app_auth or _protected(ctx, func, decorator) for ctx, func, decorator in endpoints)
    handlers = {id(func) for _, func, _ in endpoints}
    endpoint_fixes = any(s.kind == "endpoint" and s.edits and id(s.func) in handlers for s in sites)
    marked: set = set()
    for site in sites:
        if site.kind == "respond":
            if respond_protected:
                continue
            if endpoint_fixes:
                site.edits, site.todo = [], ""
                site.hint = "answer 401 in the endpoint (CK403's fix there); respond() then always gets a user"
        yield _emit(site, marked)


def _emit(site: Site, marked: set):
    ctx = site.ctx
    if site.todo:
        # one marker per file and run: the engine inserts a TODO once, never one per finding
        fix = None if ctx.path in marked else ctx.todo(site.todo_anchor or site.node, site.todo)
        marked.add(ctx.path)
        return ctx.finding(site.node, site.message, fix=fix, complete=False, hint=site.hint)
    return ctx.finding(site.node, site.message, fix=site.edits or None, hint=site.hint)


# ---- where to look -----------------------------------------------------------------------------------------------


def _functions(ctx, routes):
    from chatkit_fix.analysis import server

    responds = {r.func for r in server.respond_methods(ctx)}
    for node in walk(ctx.tree):
        if not isinstance(node, web.FUNCTIONS):
            continue
        if node in responds or (node.name == "respond" and _in_class(ctx, node)):
            yield node, "respond"
        elif node in routes:
            yield node, "endpoint"
        elif _auth_related(ctx, node):
            yield node, "auth"


def _anonymous_by_design(func) -> bool:
    """`get_current_user_or_anonymous`, `optional_user`: guests are the point of the function."""
    return any(word in func.name.lower() for word in ("anonymous", "optional", "guest", "maybe"))


def _in_class(ctx, func) -> bool:
    return isinstance(ctx.parents.get(func), ast.ClassDef) and b"chatkit" in ctx.text.encode()


def _auth_related(ctx, func) -> bool:
    if AUTH_NAME.search(func.name):
        return True
    for node in web.own_nodes(func):
        if isinstance(node, ast.Call) and (web.jwt_library(ctx, node) or web.is_decoder_name(web.last_name(node.func))):
            return True
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() == "authorization":
            return True
    return False


def _app_level_auth(pctx, sources) -> bool:
    """An auth middleware answers for every route of the app."""
    for path in sources:
        if b"middleware" not in pctx.project.read_bytes(path):
            continue
        ctx = pctx.parsed(path)
        if ctx is None:
            continue
        for registration in web.registrations(ctx):
            name = web.last_name(registration.middleware) if registration.middleware is not None else registration.function.name
            why = web.answers_by_itself(ctx, registration)
            if why and any(word in (name + why).lower() for word in ("auth", "jwt", "token", "bearer", "401")):
                return True
    return False


def _protected(ctx, func, decorator, depth: int = 0) -> bool:
    """The function (or a dependency it declares) answers 401 by itself."""
    if web.answers_401_directly(func):
        return True
    if depth > 2:
        return False
    for dependency in web.dependency_functions(func, decorator):
        target = _dependency(ctx, dependency)
        if target is not None:
            dep_ctx, dep_func = target
            if _protected(dep_ctx, dep_func, None, depth + 1):
                return True
        elif any(word in web.last_name(dependency).lower() for word in ("auth", "current_user", "token", "jwt", "verify", "require")):
            return True
    return False


class _Module:
    """Enough of a context to analyse a function of another module: the model's module of that file."""

    def __init__(self, project, module):
        self.project, self.path, self.tree = project, module.path, module.tree
        self.imports, self.module_name, self.module = module.imports, module.name, module
        self.model = model_of(project)


def _dependency(ctx, expr):
    """(context, def) of the project function a dependency names, in this module or another of the service."""
    found = ctx.model.resolve(ctx.module, expr)
    if found is None or not found.is_function:
        return None
    if found.module.path == ctx.path:
        return ctx, found.node
    return _Module(ctx.project, found.module), found.node


# ---- what counts -------------------------------------------------------------------------------------------------


def _function_sites(ctx, func, kind: str) -> list[Site]:
    sites: list[Site] = []
    defaults = []  # (statement, name, literal) for `name = "anonymous"`
    fallbacks = []  # (node, drop edit, key) for .get(k, "anonymous"), getattr(..., "anonymous"), x or "anonymous"
    for node in web.own_nodes(func):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name) and web.is_identity_name(targets[0].id):
                if web.is_anonymous_literal(node.value):
                    defaults.append((node, targets[0].id, node.value))
        found = _fallback_expression(ctx, node)
        if found is not None and not _only_logged(ctx, node):
            fallbacks.append((node, *found))
    defaults.sort(key=lambda d: (d[0].lineno, d[0].col_offset))
    exception = web.http_exception(ctx) if kind != "respond" else None
    guarded_ranges: list[tuple[int, int]] = []
    for statement, name, value in defaults:
        message = (f'{name} falls back to {value.value!r} when the token is missing or invalid: the request goes on as an '
                   "anonymous user instead of getting 401")
        site = Site(ctx, func, kind, statement, message, "answer 401 when there is no verified user")
        if kind == "respond":
            site.todo = "get the user from the request context and fail (do not continue) when it is missing"
        elif exception is None:
            site.todo = "answer 401 when there is no verified user"
        elif _in_fallback_branch(ctx, statement):
            dead = _reads_left_unbound(ctx, func, statement, name)
            if _swallowed(ctx, statement) or not web.alone_on_lines(ctx, statement) or dead is None:
                site.todo = "answer 401 when there is no verified user"
            else:
                raise_text = f"raise {exception[0]}(status_code=401, detail={ctx.string_literal(DETAIL_INVALID)})"
                site.edits = [exception[1], ctx.replace(statement, raise_text)]
                site.edits += [web.remove_lines(ctx, read.lineno, read.end_lineno or read.lineno) for read in dead]
        elif _is_initial(func, statement, name) and (plan := _guard_after_block(ctx, statement, name, exception)):
            edits, last = plan
            site.edits = [ctx.replace(value, "None"), *edits]
            guarded_ranges.append((statement.lineno, last.end_lineno or last.lineno))
        else:
            site.todo = "answer 401 when there is no verified user"
        sites.append(site)
    for node, drop, key in fallbacks:
        literal = ctx.segment(node)
        message = f"{literal}: a missing identity becomes an anonymous user instead of a 401"
        site = Site(ctx, func, kind, node, message, "fail when the identity is missing")
        statement = web.statement_of(ctx, node)
        if kind == "respond":
            replacement = _strict_access(ctx, node)
            if replacement is None:
                site.todo = "fail when the request context has no user (do not continue as anonymous)"
            else:
                site.edits = [ctx.replace(node, replacement)]
        elif exception is None:
            site.todo = "answer 401 when there is no verified user"
        elif any(first <= node.lineno <= last for first, last in guarded_ranges):
            site.edits = [drop]
        else:
            name = _assigned_to(ctx, node)
            plan = _guard_after(ctx, statement, name, exception) if name else None
            if plan is None:
                site.todo = "answer 401 when there is no verified user"
            else:
                site.edits = [drop, *plan]
        sites.append(site)
    if kind != "respond" and exception is not None:
        covered = {id(s.node) for s in sites}
        for handler, try_node in _carrying_handlers(ctx, func, bool(defaults or fallbacks)):
            if any(id(n) in covered for n in walk(handler)):
                continue
            sites.append(_handler_site(ctx, func, kind, handler, exception))
    return sites


def _fallback_expression(ctx, node):
    """(edit dropping the anonymous default, key) for an identity lookup with an anonymous default."""
    if isinstance(node, ast.Call) and len(node.args) >= 2 and not node.keywords:
        key = web.string_value(node.args[0])
        if isinstance(node.func, ast.Attribute) and node.func.attr == "get" and len(node.args) == 2:
            if web.is_identity_name(key) and web.is_anonymous_literal(node.args[1]):
                return web.remove_argument(ctx, node, node.args[1]), key
        if isinstance(node.func, ast.Name) and node.func.id == "getattr" and len(node.args) == 3:
            key = web.string_value(node.args[1])
            if web.is_identity_name(key) and web.is_anonymous_literal(node.args[2]):
                return ctx.replace(node.args[2], "None"), key
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and web.is_anonymous_literal(node.values[-1]):
        keys = [_identity_of(v) for v in node.values[:-1]]
        if any(keys):
            start = ctx.span(node.values[0])[0]
            end = ctx.span(node.values[-2])[1]
            return ctx.replace(node, ctx.text[start:end]), next(k for k in keys if k)
    return None


LOG_CALLS = {"print", "debug", "info", "warning", "warn", "error", "exception", "critical", "log"}


def _only_logged(ctx, node) -> bool:
    """`logger.info(f"user {payload.get('email', 'unknown')}")`: a label in a log line, not an identity."""
    current = ctx.parents.get(node)
    while current is not None and not isinstance(current, ast.stmt):
        if isinstance(current, ast.JoinedStr) or (isinstance(current, ast.Call) and web.last_name(current.func) in LOG_CALLS):
            return True
        current = ctx.parents.get(current)
    return False


def _identity_of(expr) -> str | None:
    if isinstance(expr, ast.Name) and web.is_identity_name(expr.id):
        return expr.id
    if isinstance(expr, ast.Attribute) and web.is_identity_name(expr.attr):
        return expr.attr
    if isinstance(expr, ast.Call) and expr.args:
        key = web.string_value(expr.args[-1] if web.last_name(expr.func) == "getattr" else expr.args[0])
        if web.is_identity_name(key):
            return key
    if isinstance(expr, ast.Subscript) and web.is_identity_name(web.string_value(expr.slice)):
        return web.string_value(expr.slice)
    return None


def _strict_access(ctx, node) -> str | None:
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
        return f"{ctx.segment(node.func.value)}[{ctx.segment(node.args[0])}]"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr":
        key = web.string_value(node.args[1])
        if key and key.isidentifier():
            return f"{ctx.segment(node.args[0])}.{key}"
    return None


def _assigned_to(ctx, node) -> str | None:
    parent = ctx.parents.get(node)
    if isinstance(parent, ast.Assign) and parent.value is node and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name):
        return parent.targets[0].id
    if isinstance(parent, ast.AnnAssign) and parent.value is node and isinstance(parent.target, ast.Name):
        return parent.target.id
    return None


def _in_fallback_branch(ctx, statement) -> bool:
    """The statement runs when authentication failed: an except handler, or the else of an if."""
    parent = ctx.parents.get(statement)
    if isinstance(parent, ast.ExceptHandler):
        return True
    if isinstance(parent, ast.If):
        if any(statement is s for s in parent.orelse):
            return True
        test = parent.test
        return (isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)) or (
            isinstance(test, ast.Compare) and any(isinstance(op, (ast.Is, ast.Eq)) for op in test.ops)
            and any(isinstance(c, ast.Constant) and c.value in (None, "") for c in test.comparators)
        )
    return False


def _reads_left_unbound(ctx, func, statement, name: str) -> list[ast.stmt] | None:
    """The statements that read `name` only after `statement` bound it, when `statement` becomes a raise.

    Empty when something else binds `name` in the function too. When `statement` was its only binding, the one read
    allowed is a `return name` right after the try or if holding it (dead once the branch raises: it goes too);
    None for any other read, which the raise would leave reading an unbound name.
    """
    nodes = list(web.own_nodes(func))
    parameters = func.args.posonlyargs + func.args.args + func.args.kwonlyargs + [a for a in (func.args.vararg, func.args.kwarg) if a]
    stores = [n for n in nodes if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Store)]
    declared = any(isinstance(n, (ast.Global, ast.Nonlocal)) and name in n.names for n in nodes)
    if declared or any(p.arg == name for p in parameters) or len(stores) > 1:
        return []
    reads = [n for n in nodes if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)]
    if not reads:
        return []
    holder = ctx.parents.get(statement)
    if isinstance(holder, ast.ExceptHandler):
        holder = ctx.parents.get(holder)
    found = web.block_of(ctx, holder) if isinstance(holder, ast.stmt) else None
    if found is None or len(reads) != 1:
        return None
    block, index = found
    following = block[index + 1] if index + 1 < len(block) else None
    if isinstance(following, ast.Return) and following.value is reads[0] and web.alone_on_lines(ctx, following):
        return [following]
    return None


def _is_initial(func, statement, name) -> bool:
    """The default is the first assignment to `name` in the function."""
    for node in sorted(web.own_nodes(func), key=lambda n: (getattr(n, "lineno", 0), getattr(n, "col_offset", 0))):
        if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, ast.Store):
            return node.lineno == statement.lineno
    return False


def _guard_text(ctx, indent: str, name: str, exception) -> str:
    detail = ctx.string_literal(DETAIL_MISSING)
    return f"{indent}if {name} is None:\n{indent}    raise {exception[0]}(status_code=401, detail={detail})\n"


def _guard_after_block(ctx, statement, name, exception):
    """Edits adding a 401 guard after the last statement of the block that sets `name` again."""
    found = web.block_of(ctx, statement)
    if found is None:
        return None
    block, index = found
    setters = [s for s in block[index + 1:] if name in web.assigned_names(s)]
    if not setters:
        return None
    last = setters[-1]
    plan = _guard_after(ctx, last, name, exception, indent_of=statement)
    return (plan, last) if plan is not None else None


def _guard_after(ctx, statement, name, exception, indent_of=None):
    if statement is None or not web.alone_on_lines(ctx, statement) or _swallowed(ctx, statement):
        return None
    indent = ctx.source.indentation((indent_of or statement).lineno)
    at = web.line_after(ctx, statement.end_lineno or statement.lineno)
    prefix = "" if ctx.text[:at].endswith(("\n", "\r")) else "\n"
    return [exception[1], ctx.insert(at, prefix + _guard_text(ctx, indent, name, exception))]


def _catches(handler: ast.ExceptHandler) -> set[str]:
    if handler.type is None:
        return {"BaseException"}
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return {web.last_name(t) for t in types}


def _reraises(handler: ast.ExceptHandler) -> bool:
    for node in web.own_nodes(handler):
        if isinstance(node, ast.Raise) and (node.exc is None or (isinstance(node.exc, ast.Name) and node.exc.id == handler.name)):
            return True
    return False


def _swallowed(ctx, node) -> bool:
    """A 401 raised at `node` would be caught by an enclosing `except Exception` that does not re-raise it."""
    child = node
    current = ctx.parents.get(node)
    while current is not None and not isinstance(current, web.FUNCTIONS):
        if isinstance(current, ast.Try) and any(child is s for s in current.body):
            for handler in current.handlers:
                caught = _catches(handler)
                if caught & {"HTTPException", "StarletteHTTPException"}:
                    if _reraises(handler):
                        break
                    return True
                if caught & {"Exception", "BaseException"}:
                    if not _reraises(handler):
                        return True
                    break
        child = current
        current = ctx.parents.get(current)
    return False


def _auth_operation(ctx, node) -> bool:
    if isinstance(node, ast.Call):
        return bool(web.jwt_library(ctx, node)) or web.is_decoder_name(web.last_name(node.func))
    if isinstance(node, ast.ImportFrom):
        return any(web.is_decoder_name(a.name) for a in node.names)
    return False


def _carrying_handlers(ctx, func, has_defaults: bool):
    """Broad handlers around a token check that let the function go on; the try must set the identity (or the
    function start from an anonymous default), else going on is not going on as someone."""
    for node in web.own_nodes(func):
        if not isinstance(node, ast.Try):
            continue
        if not any(_auth_operation(ctx, n) for s in node.body for n in walk(s)):
            continue
        sets_identity = any(web.is_identity_name(name) for s in node.body for name in web.assigned_names(s))
        if not (sets_identity or has_defaults):
            continue
        for handler in node.handlers:
            if not _catches(handler) & {"Exception", "BaseException"}:
                continue
            if any(isinstance(n, (ast.Raise, ast.Return, ast.Continue, ast.Break)) for n in web.own_nodes(handler)):
                continue
            yield handler, node


def _handler_site(ctx, func, kind, handler, exception):
    caught = "except" if handler.type is None else f"except {ctx.segment(handler.type)}"
    message = (f"{caught} around the token check carries on: an invalid or expired token (or a broken import) is "
               "silently accepted")
    site = Site(ctx, func, kind, handler, message, "answer 401 in the handler")
    if _swallowed(ctx, handler.body[-1]) or not web.alone_on_lines(ctx, handler.body[-1]):
        site.todo = "answer 401 when the token cannot be verified"
        return site
    last = handler.body[-1]
    indent = ctx.source.indentation(last.lineno)
    cause = handler.name or "None"
    end_line = last.end_lineno or last.lineno
    at = web.line_after(ctx, end_line)
    line_end = at - (len(ctx.text[:at]) - len(ctx.text[:at].rstrip("\r\n")))
    detail = ctx.string_literal(DETAIL_INVALID)
    site.node = ctx.header_span(handler)
    site.edits = [exception[1], ctx.insert(line_end, f"\n{indent}raise {exception[0]}(status_code=401, detail={detail}) from {cause}")]
    return site


def _header_sites(ctx) -> list[Site]:
    sites = []
    for node in walk(ctx.tree):
        header = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and node.args:
            if web.last_name(node.func.value) == "headers":
                header = web.string_value(node.args[0])
        elif isinstance(node, ast.Subscript) and web.last_name(node.value) == "headers":
            header = web.string_value(node.slice)
        elif isinstance(node, web.FUNCTIONS):
            for arg, marker in _header_parameters(node):
                alias = web.string_value(web.argument(marker, None, "alias"))
                name = alias or arg.arg.replace("_", "-")
                if web.IDENTITY_HEADER.match(name):
                    sites.append(_header_site(ctx, node, arg, name))
            continue
        if header and web.IDENTITY_HEADER.match(header):
            func = web.enclosing_function(ctx, node)
            sites.append(_header_site(ctx, func, node, header))
    sites.sort(key=lambda site: (site.node.lineno, site.node.col_offset))
    return sites


def _header_parameters(func):
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    for arg in (*positional, *args.kwonlyargs):
        annotation = arg.annotation
        if isinstance(annotation, ast.Subscript) and web.last_name(annotation.value) == "Annotated" and isinstance(annotation.slice, ast.Tuple):
            pairs += [(arg, m) for m in annotation.slice.elts[1:]]
    for arg, marker in pairs:
        if isinstance(marker, ast.Call) and web.last_name(marker.func) == "Header":
            yield arg, marker


def _header_site(ctx, func, node, header) -> Site:
    kind = "auth"
    message = f"identity taken from the client-supplied {header} header: any caller can claim to be any user"
    site = Site(ctx, func, kind, node, message, "derive the user from a verified token (Authorization: Bearer ...)")
    site.todo = "take the user from a verified token (Authorization: Bearer), not from client-supplied X-User-* headers"
    site.todo_anchor = web.statement_of(ctx, node) if not isinstance(node, ast.arg) else func
    return site


# ---- cases -------------------------------------------------------------------------------------------------------

ENDPOINT = (
    "import logging\n"
    "from fastapi import FastAPI, HTTPException, Request\n"
    "from fastapi.responses import Response, StreamingResponse\n"
    "from chatkit.server import StreamingResult\n"
    "from app.chatkit_server import server\n"
    "\n"
    "logger = logging.getLogger(__name__)\n"
    "app = FastAPI()\n"
    "\n"
    "\n"
    '@app.post("/chatkit")\n'
    "async def chatkit_endpoint(request: Request):\n"
    "    try:\n"
    '        user_id = "anonymous"\n'
    '        auth_header = request.headers.get("authorization", "")\n'
    '        if auth_header.startswith("Bearer "):\n'
    '            token = auth_header.replace("Bearer ", "")\n'
    "            try:\n"
    "                from src.core.security import decode_access_token\n"
    "                payload, error = decode_access_token(token)\n"
    "                if payload:\n"
    '                    user_id = payload.get("sub", "anonymous")\n'
    "                else:\n"
    '                    logger.warning(f"JWT validation failed: {error}")\n'
    "            except Exception as e:\n"
    '                logger.warning(f"JWT decode failed: {e}")\n'
    "        else:\n"
    '            logger.warning("ChatKit request - No valid Bearer token found")\n'
    "\n"
    '        result = await server.process(await request.body(), {"request": request, "user_id": user_id})\n'
    "        if isinstance(result, StreamingResult):\n"
    '            return StreamingResponse(result, media_type="text/event-stream")\n'
    '        return Response(content=result.json, media_type="application/json")\n'
    "    except HTTPException:\n"
    "        raise\n"
    "    except Exception as e:\n"
    '        raise HTTPException(status_code=500, detail=f"ChatKit processing error: {e}")\n'
)
ENDPOINT_FIXED = (
    ENDPOINT.replace('        user_id = "anonymous"\n', "        user_id = None\n")
    .replace('payload.get("sub", "anonymous")', 'payload.get("sub")')
    .replace(
        '                logger.warning(f"JWT decode failed: {e}")\n',
        '                logger.warning(f"JWT decode failed: {e}")\n'
        '                raise HTTPException(status_code=401, detail="invalid token") from e\n',
    )
    .replace(
        '            logger.warning("ChatKit request - No valid Bearer token found")\n',
        '            logger.warning("ChatKit request - No valid Bearer token found")\n'
        "        if user_id is None:\n"
        '            raise HTTPException(status_code=401, detail="authentication required")\n',
    )
)
SERVER = (
    "from typing import Any, AsyncIterator\n"
    "from chatkit.server import ChatKitServer\n"
    "\n"
    "\n"
    "class AppChatKitServer(ChatKitServer):\n"
    "    async def respond(self, thread, input, context: Any) -> AsyncIterator:\n"
    '        user_id = context.get("user_id", "anonymous")\n'
    "        yield await self.answer(thread, user_id)\n"
)

RULE.cases(
    valid=[
        Valid({"backend/main.py": ENDPOINT_FIXED, "backend/app/chatkit_server.py": SERVER}, name="endpoint answers 401"),
        Valid(
            {
                "main.py": "from fastapi import FastAPI, Request\napp = FastAPI()\n\n"
                '@app.post("/chatkit")\nasync def chatkit(request: Request):\n'
                "    return await server.process(await request.body(), {})\n",
                "server.py": SERVER,
            },
            name="no notion of users at all",
        ),
        Valid(
            "from fastapi import FastAPI, Request, Depends\nfrom auth import get_current_user\napp = FastAPI()\n\n"
            '@app.post("/chatkit")\nasync def chatkit(request: Request, user=Depends(get_current_user)):\n'
            '    ip = request.client.host if request.client else "unknown"\n'
            '    agent = request.headers.get("user-agent", "unknown")\n'
            '    return await server.process(await request.body(), {"user_id": user.id, "ip": ip})\n',
            filename="main.py",
            name="unknown IP and user agent are not identities",
        ),
        Valid(
            "import jwt\nfrom fastapi import FastAPI, Request\napp = FastAPI()\n\n"
            '@app.post("/chatkit")\nasync def chatkit(request: Request):\n'
            "    payload = jwt.decode(request.headers['authorization'][7:], KEY, algorithms=['HS256'])\n"
            "    logger.info(f\"request from {payload.get('email', 'unknown')}\")\n"
            "    return await server.process(await request.body(), {'user_id': payload['sub']})\n",
            filename="main.py",
            name="an unknown label in a log line",
        ),
        Valid(
            "from fastapi import Depends\nfrom fastapi.security import HTTPBearer\n\nbearer = HTTPBearer(auto_error=False)\n\n\n"
            "def get_current_user_or_anonymous(credentials=Depends(bearer)):\n"
            "    if credentials:\n"
            "        try:\n"
            "            user_id = verify_token(credentials.credentials)['sub']\n"
            "            return load_user(user_id)\n"
            "        except Exception:\n"
            "            pass\n"
            "    return User(id='anonymous')\n",
            filename="src/security/dependencies.py",
            name="guests by design",
        ),
    ],
    invalid=[
        Invalid(
            {"backend/main.py": ENDPOINT, "backend/app/chatkit_server.py": SERVER},
            {"backend/main.py": ENDPOINT_FIXED},
            findings=[
                ("backend/app/chatkit_server.py", 7, 19, 'context.get("user_id", "anonymous")'),
                ("backend/main.py", 14, 9, "user_id falls back to 'anonymous' when the token is missing or invalid"),
                ("backend/main.py", 22, 31, 'payload.get("sub", "anonymous")'),
                ("backend/main.py", 25, 13, "except Exception around the token check carries on"),
            ],
            unsafe=True,
            name="seed endpoint and respond default",
        ),
        Invalid(
            {
                "backend/app/server.py": SERVER.replace('"anonymous"', '"unknown"'),
                "backend/app/auth.py": "import jwt\n\ndef decode(token, key):\n    return jwt.decode(token, key, algorithms=['HS256'])\n",
            },
            {"backend/app/server.py": SERVER.replace('context.get("user_id", "anonymous")', 'context["user_id"]')},
            unsafe=True,
            name="respond default without a ChatKit endpoint to fix",
            findings=[("backend/app/server.py", 7, 19, 'context.get("user_id", "unknown")')],
        ),
        Edited(
            "import jwt\nfrom fastapi import Depends, FastAPI, Header\n\napp = FastAPI()\n\n\n"
            "def current_user(authorization: str = Header(default='')):\n"
            "    try:\n"
            "        return jwt.decode(authorization[7:], KEY, algorithms=['HS256'])['sub']\n"
            "    except jwt.InvalidTokenError:\n"
            "        user = 'guest'\n"
            "    return user\n",
            ("from fastapi import Depends, FastAPI, Header\n",
             "from fastapi import Depends, FastAPI, Header, HTTPException\n"),
            ("        user = 'guest'\n    return user\n",
             "        raise HTTPException(status_code=401, detail='invalid token')\n"),
            filename="deps.py",
            unsafe=True,
            name="guest fallback in a dependency",
            findings=[(11, 9, "user falls back to 'guest' when the token is missing or invalid")],
        ),
        Edited(
            "import jwt\nfrom fastapi import FastAPI, Header, HTTPException\n\napp = FastAPI()\n\n\n"
            "def current_user(authorization: str = Header(default='')):\n"
            "    try:\n"
            "        return jwt.decode(authorization[7:], KEY, algorithms=['HS256'])['sub']\n"
            "    except jwt.InvalidTokenError:\n"
            "        user = 'guest'\n"
            "    print(user)\n"
            "    return user\n",
            ("        user = 'guest'\n",
             "        # chatkit-fix: TODO[CK403] answer 401 when there is no verified user\n        user = 'guest'\n"),
            filename="deps.py",
            unsafe=True,
            findings=[(11, 9, "user falls back to 'guest' when the token is missing or invalid")],
            name="the fallback is the only binding of a name read twice after it: a raise would leave it unbound",
        ),
        Edited(
            "from typing import Optional\nfrom fastapi import Header, HTTPException\n\n\n"
            "def extract_user_context(\n"
            '    x_user_role: Optional[str] = Header(None, alias="X-User-Role"),\n'
            '    x_user_id: Optional[str] = Header(None, alias="X-User-Id")\n'
            "):\n"
            "    if not x_user_role or not x_user_id:\n"
            '        raise HTTPException(status_code=401, detail="Missing authentication headers")\n'
            "    return x_user_id\n",
            ("def extract_user_context(\n",
             "# chatkit-fix: TODO[CK403] take the user from a verified token (Authorization: Bearer), not from client-supplied X-User-* headers\n"
             "def extract_user_context(\n"),
            filename="backend/auth.py",
            findings=[
                (6, 5, "identity taken from the client-supplied X-User-Role header"),
                (7, 5, "identity taken from the client-supplied X-User-Id header"),
            ],
            unsafe=True,
            name="identity from X-User-Id header: TODO",
        ),
        Invalid(
            "from fastapi import APIRouter, Request, HTTPException\n\nrouter = APIRouter()\n\n\n"
            '@router.post("/chatkit/sessions")\n'
            "async def create_session(request: Request):\n"
            '    user_id = getattr(request.state, "user_id", None)\n'
            "    if not user_id:\n"
            '        user_id = request.headers.get("X-User-ID")\n'
            "    if not user_id:\n"
            '        raise HTTPException(status_code=401, detail="User not authenticated")\n'
            "    return {'user': user_id}\n",
            None,
            filename="routes/chatkit.py",
            unsafe=False,
            name="X-User-ID fallback: reported (TODO only with --unsafe-fixes)",
            findings=[(10, 19, "identity taken from the client-supplied X-User-ID header")],
        ),
        Edited(
            "import jwt\nfrom fastapi import FastAPI, Request\nfrom fastapi.responses import StreamingResponse\n\n"
            "from chatkit.server import ChatKitServer\n\napp = FastAPI()\nserver: ChatKitServer = None\n\n\n"
            '@app.middleware("http")\n'
            "async def authenticate(request: Request, call_next):\n"
            '    token = request.headers.get("authorization", "")[7:]\n'
            "    try:\n"
            '        request.state.user_id = jwt.decode(token, "k", algorithms=["HS256"])["sub"]\n'
            "    except jwt.InvalidTokenError:\n"
            "        pass\n"
            "    return await call_next(request)\n\n\n"
            '@app.post("/chatkit")\n'
            "async def chatkit(request: Request):\n"
            '    user_id = getattr(request.state, "user_id", "anonymous")\n'
            '    result = await server.process(await request.body(), {"user_id": user_id})\n'
            '    return StreamingResponse(result, media_type="text/event-stream")\n',
            ("from fastapi import FastAPI, Request\n", "from fastapi import FastAPI, Request, HTTPException\n"),
            ('    user_id = getattr(request.state, "user_id", "anonymous")\n',
             '    user_id = getattr(request.state, "user_id", None)\n'
             "    if user_id is None:\n"
             '        raise HTTPException(status_code=401, detail="authentication required")\n'),
            filename="backend/main.py",
            unsafe=True,
            findings=[(23, 15, 'getattr(request.state, "user_id", "anonymous")')],
            name="getattr default: None, so the 401 guard fires",
        ),
    ],
)
