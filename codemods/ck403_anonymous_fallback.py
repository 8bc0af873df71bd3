"""The endpoint goes on as `"anonymous"` when authentication fails, or trusts a client-supplied `X-User-ID` header.

## Why
A ChatKit endpoint that starts with `user_id = "anonymous"`, decodes the token inside `try: ... except Exception:` and
carries on, never fails: a missing token, an expired token, a wrong import (`No module named 'src.auth'`), a
decoder that returns a tuple (CK402) all end in the same place, a request served as `"anonymous"`. The user sees
"invalid user ID format" from a tool, or everybody's threads land in one shared anonymous account; the only trace
is a warning in the log. The same happens one level down with `context.get("user_id", "unknown")` in `respond()`.
Identity taken from an `X-User-ID`/`X-User-Role` header is worse: any caller can claim to be any user.

The rule follows each ChatKit endpoint (a route whose handler reaches `ChatKitServer.process` or creates a hosted
ChatKit session) through the dependencies FastAPI runs for it and the functions it calls, wherever they are defined, to
the identity that reaches the context, and reads `respond()`; other routes are not its business. It reports identity
defaults, auth helpers that return `None` or `"anonymous"` when the token check fails, and identity headers, in apps
that have users at all (a demo with no authentication is not reported). It stays quiet when the endpoint already
answers 401: itself, through a dependency, or through a middleware that refuses requests on the endpoint's path. A
header identity is fine only behind such a check (a dependency that answers 401 when the header is missing checks
nothing the client cannot send).

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
from dataclasses import dataclass, field, replace

from chatkit_fix.analysis import web
from chatkit_fix.analysis.endpoints import Endpoint, endpoints_of
from chatkit_fix.codemods._cases import Edited
from chatkit_fix.findings import Safety
from chatkit_fix.model.calls import SUMMARY_DEPTH
from chatkit_fix.model.effects.http import ANSWERS_401, answers_401
from chatkit_fix.model.effects.identity import (
    READS_IDENTITY_HEADER,
    RETURNS_DEFAULT_IDENTITY,
    guests_by_design,
    identity_header_reads,
    is_anonymous_literal,
    is_decoder_name,
    is_identity_name,
    mentions_credential,
    swallowing_handler,
)
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
    finding_triggers=(lambda data: _may_hold_site(data),),
)

USER_SIGNALS = (b"uthorization", b"jwt", b"Bearer", b"current_user", b"X-User", b"x-user", b"x_user", b"X-USER", b"HTTPBearer", b"OAuth2")
ANONYMOUS_NEEDLES = (b"anon", b"unknown", b"guest", b"default_user", b"default-user", b"demo_user", b"demo-user")
AUTH_NEEDLES = (b"decode", b"jwt", b"verify", b"token", b"Token", b"uthorization")
HEADER_NEEDLES = (b"X-", b"x-", b"x_", b"X_")
# a ChatKit endpoint calls process() or creates a hosted session, in its own module or in one it calls
ENTRY_NEEDLES = (b".process(", b"chatkit")
# a helper named like this returns the user (`get_current_user`, `extract_user_id_from_request`)
AUTH_NAME = re.compile(r"(^|_)(auth|authenticate|authorize|current_user|get_user|verify|require_user|identity|user_id)", re.IGNORECASE)
DETAIL_MISSING = "authentication required"
DETAIL_INVALID = "invalid token"


def _may_hold_site(data: bytes) -> bool:
    """A module that may hold an identity default, a swallowed auth error or an identity header read."""
    return (
        any(n in data for n in ANONYMOUS_NEEDLES)
        or (b"return" in data and any(n in data for n in AUTH_NEEDLES))
        or (b"eader" in data and any(n in data for n in HEADER_NEEDLES))
    )


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
    header: bool = False  # identity read from a header: only a guard in front of the handler makes it safe


@RULE.check_project
def check(pctx):
    project = pctx.project
    sources = web.python_sources(project)
    if not any(signal in project.read_bytes(p) for p in sources for signal in USER_SIGNALS):
        return  # an app with no notion of users
    flow = IdentityFlow(pctx, sources)
    sites = flow.endpoint_sites()
    responds = flow.respond_sites()
    if responds:
        process = [e for e in flow.endpoints if e.kind == "process"]
        if process and all(flow.answers_401(e) for e in process):
            responds = []
        elif any(s.kind == "endpoint" and s.edits for s in sites):
            for site in responds:
                site.edits, site.todo = [], ""
                site.hint = "answer 401 in the endpoint (CK403's fix there); respond() then always gets a user"
    marked: set = set()
    for site in sorted(sites + responds, key=lambda s: (str(s.ctx.path), s.ctx.span(s.node)[0])):
        yield _emit(site, marked)


def _emit(site: Site, marked: set):
    ctx = site.ctx
    if site.todo:
        # one marker per file and run: the engine inserts a TODO once, never one per finding
        fix = None if ctx.path in marked else ctx.todo(site.todo_anchor or site.node, site.todo)
        marked.add(ctx.path)
        return ctx.finding(site.node, site.message, fix=fix, complete=False, hint=site.hint)
    return ctx.finding(site.node, site.message, fix=site.edits or None, hint=site.hint)


# ---- the identity flow -------------------------------------------------------------------------------------------


class IdentityFlow:
    """From each ChatKit endpoint, through the dependencies FastAPI runs for it and the functions it calls, to the
    identity that reaches the context; and respond(), which reads that context."""

    def __init__(self, pctx, sources):
        self.pctx = pctx
        self.model = pctx.model
        self.sources = sources
        self.endpoints: list[Endpoint] = []
        if any(n in pctx.project.read_bytes(p) for p in sources for n in ENTRY_NEEDLES):
            self.endpoints = endpoints_of(pctx).all()
        self._answers: dict[int, bool] = {}
        self._locals: dict[tuple[int, str], list[Site]] = {}
        self._defaults: dict[int, Site | None] = {}

    def answers_401(self, endpoint: Endpoint) -> bool:
        """The endpoint refuses a request without a verified user: a guard in front of it, or a 401 of its own."""
        key = id(endpoint)
        if key not in self._answers:
            self._answers[key] = bool(
                endpoint.guard
                or self.model.facts(ANSWERS_401, endpoint.function)
                or any(self.model.facts(ANSWERS_401, d) for d in endpoint.dependencies)
            )
        return self._answers[key]

    def endpoint_sites(self) -> list[Site]:
        """Sites of every endpoint, each kept when some endpoint reaching it lets it through."""
        kept: dict[tuple[int, bool], Site] = {}
        for endpoint in self.endpoints:
            answers = self.answers_401(endpoint)
            for site in self._sites_of(endpoint):
                silenced = bool(endpoint.guard) if site.header else answers
                if site.header and not silenced:
                    silenced = self._checked_before(endpoint, site)
                if not silenced:
                    kept.setdefault((id(site.node), site.header), site)
        return _one_per_construct(list(kept.values()))

    def _sites_of(self, endpoint: Endpoint) -> list[Site]:
        found = []
        for function, kind in self._reach(endpoint):
            found += self._local_sites(function, kind)
        for dependency in endpoint.dependencies:  # FastAPI passes what a dependency returns to the handler
            found += self._default_returns(dependency)
        found += self._body_model_defaults(endpoint)
        return found

    def _local_sites(self, function, kind: str) -> list[Site]:
        """The sites in one function (computed once, whichever endpoints reach it)."""
        key = (id(function.node), kind)
        found = self._locals.get(key)
        if found is None:
            found = self._locals[key] = []
            ctx = self.pctx.parsed(function.module.path)
            if ctx is not None and not (kind == "auth" and guests_by_design(function.name)):
                found += _function_sites(ctx, function.node, kind)
                found += [_header_site(ctx, function.node, node, header) for node, header in identity_header_reads(function.node)]
                found += self._returned_defaults(function)
        return found

    def _reach(self, endpoint: Endpoint):
        """The handler, its dependencies, and the project functions they call (a few calls deep)."""
        yield endpoint.function, "endpoint"
        roots = [endpoint.function, *endpoint.dependencies]
        for dependency in endpoint.dependencies:
            yield dependency, "auth"
        seen = {id(f.node) for f in roots}
        layer = roots
        for _ in range(SUMMARY_DEPTH):
            following = []
            for function in layer:
                for site in self.model.calls.calls(function):
                    callee = site.callee
                    if callee is None or site.offloaded or id(callee.node) in seen or _serves_requests(self.model, callee):
                        continue
                    seen.add(id(callee.node))
                    following.append(callee)
                    yield callee, "auth"
            layer = following

    def _returned_defaults(self, function) -> list[Site]:
        """Calls whose value becomes the identity and whose callee returns a default identity on a failed check."""
        sites = []
        for call in self.model.calls.calls(function):
            callee = call.callee
            if callee is None or call.offloaded or not _identity_result(function.module, call.node, callee):
                continue
            sites += self._default_returns(callee)
        return sites

    def _default_returns(self, function) -> list[Site]:
        """One site per function whose default identity `function` returns (itself or through `return helper()`)."""
        holders = {id(f.via[-1].callee.node if f.via else function.node): f.via[-1].callee if f.via else function
                   for f in self.model.facts(RETURNS_DEFAULT_IDENTITY, function)}
        sites = []
        for key, holder in holders.items():
            if key not in self._defaults:
                ctx = self.pctx.parsed(holder.module.path)
                facts = RETURNS_DEFAULT_IDENTITY.local(self.model, holder)
                self._defaults[key] = _default_return_site(ctx, holder, facts) if ctx is not None and facts else None
            if self._defaults[key] is not None:
                sites.append(self._defaults[key])
        return sites

    def _body_model_defaults(self, endpoint: Endpoint) -> list[Site]:
        """A request body model whose identity field defaults to "anonymous" (`user_id: str = "anonymous"`)."""
        sites = []
        args = endpoint.node.args
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
            if arg.annotation is None:
                continue
            ref = self.model.resolve(endpoint.module, arg.annotation)
            if ref is None or not ref.is_class or not self.model.resolver.subclass_of(ref.module, ref.node, "pydantic", "BaseModel"):
                continue
            ctx = self.pctx.parsed(ref.module.path)
            if ctx is None:
                continue
            for statement in ref.node.body:
                if (
                    isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)
                    and is_identity_name(statement.target.id) and is_anonymous_literal(statement.value)
                ):
                    message = (f"{ref.node.name}.{statement.target.id} defaults to {statement.value.value!r}: every caller that "
                               "sends no user shares one anonymous identity")
                    site = Site(ctx, ref.node, "auth", statement, message, "take the user from a verified token")
                    site.todo = "take the user from a verified token, not from a field the caller may leave out"
                    sites.append(site)
        return sites

    def _checked_before(self, endpoint: Endpoint, site: Site) -> bool:
        """The handler itself answers 401 on a failed credential check before the header is read."""
        handler = endpoint.node
        line = site.node.lineno if site.func is handler else self._call_line(endpoint, site)
        if line is None:
            return False
        for node in web.own_nodes(handler):
            if isinstance(node, ast.If) and node.lineno < line and mentions_credential(node.test):
                body = [n for s in node.body for n in [s, *web.own_nodes(s)]]
                if any(isinstance(n, ast.Call) and answers_401(n) for n in body):
                    return True
        return False

    def _call_line(self, endpoint: Endpoint, site: Site) -> int | None:
        """The line of the handler's call that leads to the header read."""
        for call in self.model.calls.calls(endpoint.function):
            callee = call.callee
            if callee is not None and any(f.node is site.node for f in self.model.facts(READS_IDENTITY_HEADER, callee)):
                return call.node.lineno
        return None

    def respond_sites(self) -> list[Site]:
        from chatkit_fix.analysis import server

        sites = []
        for path in self.sources:
            data = self.pctx.project.read_bytes(path)
            if b"respond" not in data or b"chatkit" not in data or not _may_hold_site(data):
                continue
            ctx = self.pctx.parsed(path)
            if ctx is None:
                continue
            for respond in server.respond_methods(ctx):
                sites += _function_sites(ctx, respond.func, "respond")
                sites += [_header_site(ctx, respond.func, node, header, "respond") for node, header in identity_header_reads(respond.func)]
        return _one_per_construct(sites)


def _serves_requests(model, function) -> bool:
    """A ChatKit server or store method: what runs inside process() is respond()'s part, not the endpoint's."""
    cls = function.cls
    if cls is None:
        return False
    resolver = model.resolver
    return resolver.subclass_of(function.module, cls, "chatkit", "ChatKitServer") or resolver.subclass_of(function.module, cls, "chatkit", "Store")


def _identity_result(module, call: ast.AST, callee) -> bool:
    """The call's value is taken as the user: assigned to an identity name, or the callee names itself so."""
    if AUTH_NAME.search(callee.name):
        return True
    parent = module.parents.get(call)
    if isinstance(parent, ast.Await):
        parent = module.parents.get(parent)
    if isinstance(parent, (ast.Assign, ast.AnnAssign)):
        targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
        return any(isinstance(t, ast.Name) and is_identity_name(t.id) for t in targets)
    return False


def _one_per_construct(sites: list[Site]) -> list[Site]:
    """One finding per construct: a header read that is also a fallback (`headers.get("X-User-Id", "guest")`) is
    reported once, as the header (the worse of the two)."""
    headers = {id(s.node) for s in sites if s.header}
    kept, seen = [], set()
    for site in sites:
        key = id(site.node)
        if key in seen or (not site.header and key in headers):
            continue
        seen.add(key)
        kept.append(site)
    return kept


# ---- what counts -------------------------------------------------------------------------------------------------


def _function_sites(ctx, func, kind: str) -> list[Site]:
    sites: list[Site] = []
    defaults = []  # (statement, name, literal) for `name = "anonymous"`
    fallbacks = []  # (node, drop edit, key) for .get(k, "anonymous"), getattr(..., "anonymous"), x or "anonymous"
    for node in web.own_nodes(func):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name) and is_identity_name(targets[0].id):
                if is_anonymous_literal(node.value):
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
    if kind != "respond":
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
            if is_identity_name(key) and is_anonymous_literal(node.args[1]):
                return web.remove_argument(ctx, node, node.args[1]), key
        if isinstance(node.func, ast.Name) and node.func.id == "getattr" and len(node.args) == 3:
            key = web.string_value(node.args[1])
            if is_identity_name(key) and is_anonymous_literal(node.args[2]):
                return ctx.replace(node.args[2], "None"), key
    if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and is_anonymous_literal(node.values[-1]):
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
    if isinstance(expr, ast.Name) and is_identity_name(expr.id):
        return expr.id
    if isinstance(expr, ast.Attribute) and is_identity_name(expr.attr):
        return expr.attr
    if isinstance(expr, ast.Call) and expr.args:
        key = web.string_value(expr.args[-1] if web.last_name(expr.func) == "getattr" else expr.args[0])
        if is_identity_name(key):
            return key
    if isinstance(expr, ast.Subscript) and is_identity_name(web.string_value(expr.slice)):
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
        return bool(web.jwt_library(ctx, node)) or is_decoder_name(web.last_name(node.func))
    if isinstance(node, ast.ImportFrom):
        return any(is_decoder_name(a.name) for a in node.names)
    return False


def _carrying_handlers(ctx, func, has_defaults: bool):
    """Broad handlers around a token check that let the function go on; the try must set the identity (or the
    function start from an anonymous default), else going on is not going on as someone."""
    for node in web.own_nodes(func):
        if not isinstance(node, ast.Try):
            continue
        if not any(_auth_operation(ctx, n) for s in node.body for n in walk(s)):
            continue
        sets_identity = any(is_identity_name(name) for s in node.body for name in web.assigned_names(s))
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
    if exception is None or _swallowed(ctx, handler.body[-1]) or not web.alone_on_lines(ctx, handler.body[-1]):
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


def _header_site(ctx, func, node, header, kind: str = "auth") -> Site:
    message = f"identity taken from the client-supplied {header} header: any caller can claim to be any user"
    site = Site(ctx, func, kind, node, message, "derive the user from a verified token (Authorization: Bearer ...)", header=True)
    site.todo = "take the user from a verified token (Authorization: Bearer), not from client-supplied X-User-* headers"
    site.todo_anchor = web.statement_of(ctx, node) if not isinstance(node, ast.arg) else func
    return site


def _default_return_site(ctx, function, facts) -> Site:
    """One finding per function that answers a failed credential check with a default identity: on the `except`
    that swallows the failure when there is one, else on the first such return."""
    facts = sorted(facts, key=lambda f: (f.node.lineno, f.node.col_offset))
    values = " or ".join(dict.fromkeys(f.what for f in facts))
    handler = next((h for f in facts if (h := swallowing_handler(function.module, f.node)) is not None), None)
    hint = "answer 401 (raise HTTPException(status_code=401)) when the credential is missing or invalid"
    if handler is not None:
        caught = "except" if handler.type is None else f"except {ctx.segment(handler.type)}"
        message = (f"{function.name}() returns {values} when the token check fails ({caught} swallows the error): the "
                   "ChatKit endpoint goes on without a verified user instead of answering 401")
        site = Site(ctx, function.node, "auth", ctx.header_span(handler), message, hint)
        site.todo_anchor = handler
    else:
        message = (f"{function.name}() returns {values} when the token is missing or invalid: the ChatKit endpoint goes "
                   "on without a verified user instead of answering 401")
        site = Site(ctx, function.node, "auth", facts[0].node, message, hint)
    site.todo = "answer 401 when there is no verified user"
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

SERVED = (
    "from chatkit.server import ChatKitServer\n\n\n"
    "class Server(ChatKitServer):\n"
    "    async def respond(self, thread, input, context):\n"
    '        yield await self.answer(thread, context["user_id"])\n\n\n'
    "server = Server(store=None)\n"
)


def _with_endpoint(case, dependency: str):
    """`case` (an auth module) used by a ChatKit endpoint: a `main.py` next to it runs `dependency` before process()."""
    (path,) = case.files
    folder, _, name = path.rpartition("/")
    prefix = f"{folder}/" if folder else ""
    endpoint = (
        "from fastapi import Depends, FastAPI, Request\n\n"
        f"from {name[:-3]} import {dependency}\n"
        "from server import server\n\n"
        "app = FastAPI()\n\n\n"
        '@app.post("/chatkit")\n'
        f"async def chatkit(request: Request, user=Depends({dependency})):\n"
        '    return await server.process(await request.body(), {"user_id": user})\n'
    )
    return replace(case, files={**case.files, f"{prefix}main.py": endpoint, f"{prefix}server.py": SERVED})


def _endpoint(body: str, head: str = "", signature: str = "request: Request") -> dict[str, str]:
    """A `main.py` whose POST /chatkit runs `body` (which sets `user_id`) before process(), and its server."""
    source = (
        "from fastapi import FastAPI, HTTPException, Request\n\n"
        "from server import server\n" + head + "\n"
        "app = FastAPI()\n\n\n"
        '@app.post("/chatkit")\n'
        f"async def chatkit({signature}):\n" + body +
        '    return await server.process(await request.body(), {"user_id": user_id})\n'
    )
    return {"main.py": source, "server.py": SERVED}


PUBLIC_PATHS_MIDDLEWARE = (
    "from starlette.middleware.base import BaseHTTPMiddleware\n"
    "from starlette.responses import JSONResponse\n\n\n"
    "class JWTAuthMiddleware(BaseHTTPMiddleware):\n"
    "    async def dispatch(self, request, call_next):\n"
    '        public_paths = ["/auth/", "/health"{extra}]\n'
    "        if any(request.url.path.startswith(path) for path in public_paths):\n"
    "            return await call_next(request)\n"
    '        token = request.headers.get("Authorization")\n'
    "        if not token:\n"
    '            return JSONResponse({{"detail": "missing token"}}, status_code=401)\n'
    "        request.state.user_id = verify(token)\n"
    "        return await call_next(request)\n"
)
ROUTER_BEHIND_MIDDLEWARE = {
    "main.py": "from fastapi import FastAPI\n\nfrom middleware import JWTAuthMiddleware\nfrom routes import router\n\n"
               "app = FastAPI()\napp.add_middleware(JWTAuthMiddleware)\napp.include_router(router)\n",
    "routes.py": "from fastapi import APIRouter, Request\n\nfrom server import server\n\n"
                 'router = APIRouter(prefix="/api/v1")\n\n\n'
                 '@router.post("/chatkit")\n'
                 "async def chatkit(request: Request):\n"
                 '    user_id = getattr(request.state, "user_id", None)\n'
                 "    if not user_id:\n"
                 '        user_id = request.headers.get("X-User-ID")\n'
                 '    return await server.process(await request.body(), {"user_id": user_id})\n',
    "server.py": SERVED.replace('context["user_id"]', 'context.get("user_id", "anonymous")'),
}

RULE.cases(
    valid=[
        Valid({"backend/main.py": ENDPOINT_FIXED, "backend/app/chatkit_server.py": SERVER}, name="endpoint answers 401"),
        Valid(
            {
                "main.py": "from fastapi import FastAPI, Request\n\nfrom server import server\n\napp = FastAPI()\n\n"
                '@app.post("/chatkit")\nasync def chatkit(request: Request):\n'
                '    return await server.process(await request.body(), {"user_id": request.query_params.get("user_id", "anonymous")})\n',
                "server.py": SERVED,
            },
            name="no notion of users at all",
        ),
        Valid(
            {
                "main.py": "from fastapi import FastAPI, Request, Depends\nfrom auth import get_current_user\n"
                "from server import server\napp = FastAPI()\n\n"
                '@app.post("/chatkit")\nasync def chatkit(request: Request, user=Depends(get_current_user)):\n'
                '    ip = request.client.host if request.client else "unknown"\n'
                '    agent = request.headers.get("user-agent", "unknown")\n'
                '    return await server.process(await request.body(), {"user_id": user.id, "ip": ip})\n',
                "auth.py": "def get_current_user(authorization: str):\n    return load(authorization)\n",
                "server.py": SERVED,
            },
            name="unknown IP and user agent are not identities",
        ),
        Valid(
            _endpoint(
                "    payload = jwt.decode(request.headers['authorization'][7:], KEY, algorithms=['HS256'])\n"
                "    logger.info(f\"request from {payload.get('email', 'unknown')}\")\n"
                "    user_id = payload['sub']\n",
                head="import jwt\n",
            ),
            name="an unknown label in a log line",
        ),
        _with_endpoint(Valid(
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
        ), "get_current_user_or_anonymous"),
        Valid(
            {
                "main.py": "from fastapi import Depends, FastAPI, HTTPException, Request\n\nfrom server import server\n\n"
                "app = FastAPI()\n\n\n"
                "def current_user(request: Request):\n"
                '    token = request.headers.get("authorization")\n'
                "    if not token:\n"
                '        raise HTTPException(status_code=401, detail="missing token")\n'
                "    return verify(token)\n\n\n"
                '@app.post("/chatkit")\n'
                "async def chatkit(request: Request, user=Depends(current_user)):\n"
                '    return await server.process(await request.body(), {"user_id": user})\n\n\n'
                '@app.get("/reports")\n'
                "async def reports(request: Request):\n"
                '    owner = request.headers.get("X-User-ID", "demo_user")\n'
                '    return {"owner": audit.get("sub") or "unknown"}\n',
                "server.py": SERVED.replace('context["user_id"]', 'context.get("user_id", "unknown")'),
            },
            name="routes that never reach ChatKit are out of scope; respond() behind an endpoint that answers 401",
        ),
        Valid(
            {
                **_endpoint(
                    '    user_id = verify(request.headers.get("authorization"))\n',
                    head="from auth import verify\n",
                ),
                "auth.py": "from fastapi import HTTPException\n\n\ndef verify(token):\n    if not token:\n"
                           '        raise HTTPException(status_code=401, detail="missing token")\n    return decode(token)\n',
                "legacy.py": "from fastapi import Header\n\n\n"
                             'def validate_user_id(x_user_id: str = Header(..., alias="x-user-id")):\n'
                             "    return x_user_id\n",
            },
            name="a header helper no route uses",
        ),
        Valid({**ROUTER_BEHIND_MIDDLEWARE, "middleware.py": PUBLIC_PATHS_MIDDLEWARE.format(extra="")},
              name="a middleware answers 401 on the ChatKit path (public paths exempted elsewhere)"),
        Valid(
            _endpoint(
                "    user_id = await verify_session(request)\n"
                "    async with httpx.AsyncClient() as client:\n"
                '        client.headers["X-User-ID"] = user_id\n'
                '        await client.post(AUDIT_URL, headers={"X-User-ID": user_id})\n',
                head="import httpx\n\nfrom auth import verify_session\n",
            ) | {"auth.py": "from fastapi import HTTPException\n\n\nasync def verify_session(request):\n"
                            '    user = lookup(request.headers.get("authorization"))\n    if user is None:\n'
                            '        raise HTTPException(status_code=401, detail="no session")\n    return user.id\n'},
            name="a client that sends X-User-ID is not identity read from a caller",
        ),
        Valid(
            _endpoint('    user_id = request.headers.get("X-User-ID")\n', head="from fastapi import Depends\nfrom fastapi.security import OAuth2PasswordBearer\n\noauth2 = OAuth2PasswordBearer(tokenUrl='token')\n",
                      signature="request: Request, token: str = Depends(oauth2)"),
            name="a security scheme in front of the endpoint answers 401",
        ),
        Valid(
            _endpoint(
                '    token = request.headers.get("Authorization", "")\n'
                '    if token != f"Bearer {SERVICE_TOKEN}":\n'
                '        raise HTTPException(status_code=401, detail="invalid token")\n'
                '    user_id = request.headers.get("X-Account-Id")\n',
            ),
            name="the handler answers 401 on a failed credential check before reading the header",
        ),
        Valid(
            _endpoint('    tenant = request.headers.get("X-Tenant-Id")\n    user_id = None  # no users: X-User-ID style auth lives elsewhere\n'),
            name="a tenant header selects an organisation's data, it does not say who calls",
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
        _with_endpoint(Edited(
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
        ), "current_user"),
        _with_endpoint(Edited(
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
        ), "current_user"),
        _with_endpoint(Edited(
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
            name="identity from X-User-Id header in a dependency that answers 401 only when the header is missing",
        ), "extract_user_context"),
        Invalid(
            {
                "routes/chatkit.py": "from fastapi import APIRouter, Request, HTTPException\nfrom openai import AsyncOpenAI\n\n"
                "router = APIRouter()\nclient = AsyncOpenAI()\n\n"
                '@router.post("/chatkit/sessions")\n'
                "async def create_session(request: Request):\n"
                '    user_id = getattr(request.state, "user_id", None)\n'
                "    if not user_id:\n"
                '        user_id = request.headers.get("X-User-ID")\n'
                "    if not user_id:\n"
                '        raise HTTPException(status_code=401, detail="User not authenticated")\n'
                "    session = await client.beta.chatkit.sessions.create(user=user_id, workflow={'id': WORKFLOW_ID})\n"
                "    return {'client_secret': session.client_secret}\n",
                "main.py": "from fastapi import FastAPI\n\nfrom routes.chatkit import router\n\napp = FastAPI()\n"
                           'app.include_router(router, prefix="/api")\n',
            },
            None,
            unsafe=False,
            name="X-User-ID fallback in a hosted session route: reported (TODO only with --unsafe-fixes)",
            findings=[("routes/chatkit.py", 11, 19, "identity taken from the client-supplied X-User-ID header")],
        ),
        _with_endpoint(Edited(
            "import jwt\n\n\n"
            "def get_current_user(authorization: str = ''):\n"
            "    try:\n"
            "        return jwt.decode(authorization[7:], KEY, algorithms=['HS256'])['sub']\n"
            "    except Exception:\n"
            '        return "anonymous"\n',
            ("    except Exception:\n",
             "    # chatkit-fix: TODO[CK403] answer 401 when there is no verified user\n    except Exception:\n"),
            filename="app/auth/dependencies.py",
            unsafe=True,
            findings=[(7, 5, "get_current_user() returns 'anonymous' when the token check fails (except Exception swallows")],
            name="a dependency in another module swallows the failure as 'anonymous' (no fastapi import there)",
        ), "get_current_user"),
        Invalid(
            _endpoint(
                "    user_id = await user_from(request)\n",
                head="\n\nasync def user_from(request):\n"
                     '    header = request.headers.get("authorization", "")\n'
                     '    if not header.startswith("Bearer "):\n'
                     "        return None\n"
                     "    try:\n"
                     "        return decode_token(header[7:]).user_id\n"
                     "    except Exception as error:\n"
                     '        logger.warning(f"bad token: {error}")\n'
                     "        return None\n",
            ),
            None,
            findings=[("main.py", 12, 5, "user_from() returns None when the token check fails")],
            name="an auth helper that returns None on every failure",
        ),
        Invalid(
            {
                "main.py": "from fastapi import FastAPI, Header\nfrom openai import OpenAI\nfrom pydantic import BaseModel\n\n"
                           "app = FastAPI()\nclient = OpenAI()\n\n\n"
                           "class ChatStart(BaseModel):\n"
                           '    user_id: str = "anonymous"\n'
                           '    locale: str = "en"\n\n\n'
                           '@app.post("/api/chat-start")\n'
                           "def start_chat(payload: ChatStart):\n"
                           "    started = client.beta.chatkit.sessions.create(user=payload.user_id, workflow={'id': WORKFLOW})\n"
                           "    return {'secret': started.client_secret, 'locale': payload.locale}\n\n\n"
                           '@app.get("/api/profile")\n'
                           "def profile(authorization: str = Header()):\n"
                           "    return profiles.lookup(authorization)\n",
            },
            None,
            findings=[("main.py", 10, 5, "ChatStart.user_id defaults to 'anonymous'")],
            name="a hosted session's body model defaults the user to 'anonymous'",
        ),
        Invalid({**ROUTER_BEHIND_MIDDLEWARE, "middleware.py": PUBLIC_PATHS_MIDDLEWARE.format(extra=', "/api/v1/chatkit"')},
                None,
                findings=[("routes.py", 12, 19, "X-User-ID header"), ("server.py", 6, 41, 'context.get("user_id", "anonymous")')],
                name="the middleware lets the ChatKit path through untouched"),
        Invalid(
            _endpoint(
                "    user_id = await authenticate(request)\n",
                head="\n\nasync def authenticate(request):\n"
                     "    if request.headers.get('authorization'):\n"
                     "        return await verify_bearer(request)\n"
                     "    return await publish_identity(request)\n\n\n"
                     "async def publish_identity(request):\n"
                     "    return session_subject(request)\n\n\n"
                     "def session_subject(request):\n"
                     '    return request.headers.get("X-Acme-OAuth-Subject")\n',
            ),
            None,
            findings=[("main.py", 17, 12, "X-Acme-OAuth-Subject header")],
            name="a vendor identity header three calls below the endpoint",
        ),
        Invalid(
            {
                "main.py": "from fastapi import Depends, FastAPI, Request\n\nfrom deps import get_user\nfrom server import server\n\n"
                           "app = FastAPI()\n\n\n"
                           '@app.post("/chatkit")\n'
                           "async def chatkit(request: Request, user=Depends(get_user)):\n"
                           '    return await server.process(await request.body(), {"user_id": user})\n\n\n'
                           '@app.post("/api/chatkit")\n'
                           "async def chatkit_alias(request: Request, user=Depends(get_user)):\n"
                           '    return await server.process(await request.body(), {"user_id": user})\n',
                "deps.py": "import jwt\n\n\ndef get_user(authorization: str = ''):\n"
                           "    try:\n        return jwt.decode(authorization[7:], KEY, algorithms=['HS256'])['sub']\n"
                           "    except Exception:\n        return 'guest'\n",
                "server.py": SERVED,
            },
            None,
            findings=[("deps.py", 7, 5, "get_user() returns 'guest' when the token check fails")],
            name="a dependency two ChatKit endpoints share: one finding",
        ),
        Invalid(
            _endpoint('    user_id = request.headers.get("X-User-ID", "demo_user")\n', head="# users: X-User-ID\n"),
            None,
            findings=[("main.py", 11, 15, "X-User-ID header")],
            name="a header read with a default is one construct: one finding",
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
