"""Hosted mode needs a fresh client secret from OpenAI's ChatKit sessions API, every time ChatKit asks for one.

## Why
`api: { getClientSecret }` is *hosted* mode: the widget talks to OpenAI with a short-lived `client_secret` that your
server gets from `client.beta.chatkit.sessions.create(...)` (`POST /v1/chatkit/sessions`). ChatKit calls
`getClientSecret(current)` at start and again whenever the secret expires. It fails silently when:

- `getClientSecret` returns a constant, a mock (`"mock_secret"`) or the `current` secret it was given: the expired
  secret comes straight back and the session dies after a few minutes;
- the back end mints its own "client secret" (a JWT, a UUID, a session id) for the route a reachable hosted-mode
  client asks: OpenAI rejects it, the widget never loads. A secret you mint belongs to *your* protocol: use
  `api: { url, domainKey, fetch }` with a `ChatKitServer` (a minting route no hosted client asks is not reported);
- `api` mixes hosted and custom options (`getClientSecret` and `url`): one of them is ignored.

## Wrong
```tsx
useChatKit({ api: { url: "/chatkit", async getClientSecret(current) { return current ?? "mock_secret"; } } });
```
```python
@router.post("/chatkit/session")
async def session():
    return {"client_secret": jwt.encode({"sub": user_id}, SECRET, algorithm="HS256")}
```

## Right
```tsx
useChatKit({ api: { async getClientSecret() {
  const response = await fetch("/api/chatkit/session", { method: "POST" });
  return (await response.json()).client_secret;
} } });
```
```python
@router.post("/chatkit/session")
async def session():
    created = await client.beta.chatkit.sessions.create(user=user_id, workflow={"id": WORKFLOW_ID})
    return {"client_secret": created.client_secret}
```
Report only: choosing hosted or self-hosted mode is a design decision.
"""

from __future__ import annotations

import ast
import re

from chatkit_fix.analysis.server import (
    dotted,
    flow_of,
    parent_of,
    walk_scope,
)
from chatkit_fix.codemods._cases import FRONTEND_SHELL, frontend_app
from chatkit_fix.findings import Safety
from chatkit_fix.pyast import walk
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK214",
    slug="hosted-session-misuse",
    safety=Safety.REPORT,
    summary="hosted mode (getClientSecret) with a static, mock, self-minted or current secret, or mixed with url",
    url="https://openai.github.io/chatkit-js/guides/authentication/",
    languages=("python",),
    triggers=(b"client_secret",),
    module=__name__,
    explanation=__doc__,
    finding_triggers=(b"secret",),
)

MOCK = re.compile(r"(mock|fake|dummy|placeholder|test)[-_ ]?(client[-_ ]?)?(secret|token|key)|^(mock|fake|dummy)", re.IGNORECASE)
MINTING_CALLS = ("encode", "uuid4", "uuid1", "token_hex", "token_urlsafe", "token_bytes", "urandom", "randomUUID")
CONSTANT = ("getClientSecret returns a constant: a hosted client secret expires within minutes and must come from "
            "OpenAI's ChatKit sessions API")
CURRENT = ("getClientSecret returns the current secret ({current}): ChatKit asks again when it expires and gets the "
           "expired one back")
MIXED = "api mixes hosted mode (getClientSecret) and a custom back end (url): ChatKit uses one and ignores the other"
MOCK_SECRET = "getClientSecret can return a mock secret ({text!r}): OpenAI rejects it and the widget never loads"


# ---- front end: what getClientSecret returns ----------------------------------------------------------------------


@RULE.check_project
def check_frontend(pctx):
    from chatkit_fix.analysis.frontend import (
        find_all,
        frontend_model,
        function_parameters,
        returned_expression,
        unwrap,
    )

    project = pctx.project
    model = frontend_model(project)
    if not model.relevant:
        return
    for usage in model.usages:
        if not usage.hosted:
            continue
        prop = usage.api.get("getClientSecret")
        if usage.custom:
            yield _tsx_finding(pctx, prop.path, prop.node, MIXED, "keep getClientSecret (hosted) or url + domainKey (custom)")
        target = prop.value if prop.value is not None else prop.node
        found = model.function_value(prop.path, target)
        if found is None:
            value = unwrap(prop.value) if prop.value is not None else None
            if value is not None and value.kind() in ("string", "template_string"):
                yield _tsx_finding(pctx, prop.path, value, CONSTANT.replace("returns", "is"),
                                   "fetch a fresh secret from your server each time")
            continue
        path, function = found
        params = function_parameters(function)
        current = params[0] if params and params[0] else None
        returned = returned_expression(function)
        problems = []
        if returned is not None and (returned.kind() == "string" or (
            returned.kind() == "template_string" and not find_all(returned, "template_substitution")
        )):
            problems.append((returned, CONSTANT))
        for statement in find_all(function, "return_statement"):
            values = [c for c in statement.named_children() if c.kind() != "comment"]
            if values and current and _returns_current(unwrap(values[0]), current):
                problems.append((statement, CURRENT.format(current=current)))
                break
        if (
            returned is not None
            and current
            and _returns_current(returned, current)
            and not any(p[0] is returned for p in problems)
            and not any(p[1] == CURRENT.format(current=current) for p in problems)
        ):
            problems.append((returned, CURRENT.format(current=current)))
        for string in find_all(function, "string_fragment"):
            if MOCK.search(string.text()):
                problems.append((string, MOCK_SECRET.format(text=string.text())))
                break
        seen = set()
        for node, message in problems:
            key = (node.range().start.index, message[:30])
            if key in seen:
                continue
            seen.add(key)
            yield _tsx_finding(pctx, path, node, message, "fetch a fresh secret (sessions.create) every time")


def _returns_current(node, current: str) -> bool:
    if node is None:
        return False
    if node.kind() == "identifier":
        return node.text() == current
    if node.kind() == "binary_expression":  # current ?? "mock", current || fallback
        left = node.field("left")
        return left is not None and left.kind() == "identifier" and left.text() == current
    return False


def _tsx_finding(pctx, path, node, message: str, hint: str):
    ctx = pctx.parsed(path)
    rng = node.range()
    start, end = rng.start.index, rng.end.index
    line_end = ctx.text.find("\n", start)
    return ctx.finding((start, min(end, line_end if line_end >= 0 else end)), message, hint=hint)


# ---- back end: self-minted client secrets -------------------------------------------------------------------------


@RULE.check_project
def check_backend(pctx):
    """Once per run, after the front end is known: self-minted secrets only matter where a hosted client asks."""
    project = pctx.project
    clients = None
    for path in project.grep(b"client_secret", "python"):
        ctx = pctx.parsed(path)
        if ctx is None or "chatkit" not in ctx.text.lower():
            continue
        for node, value, how in _minted_secrets(ctx):
            if clients is None:
                clients = hosted_secret_urls(project)
            if not clients or not _called_by_hosted_client(ctx, node, clients):
                continue  # no reachable hosted-mode client asks this route for its secret
            yield ctx.finding(
                ctx.header_span(value),
                f"the back end hands out a self-minted client_secret ({how}): hosted ChatKit only accepts secrets "
                "from OpenAI's ChatKit sessions API, and a custom back end needs no client secret at all",
                hint="hosted: client.beta.chatkit.sessions.create(...).client_secret; custom: api.url + fetch with "
                     "your own auth header",
            )


def _minted_secrets(ctx):
    """(the dict or call, its client_secret value, how it was minted) for each returned self-minted secret."""
    for node in walk(ctx.tree):
        value = None
        if isinstance(node, ast.Dict):
            for key, item in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "client_secret":
                    value = item
        elif isinstance(node, ast.Call):
            value = next((k.value for k in node.keywords if k.arg == "client_secret"), None)
        if value is None or not _returned(ctx, node):
            continue
        how = _minted(ctx, value)
        if how is not None:
            yield node, value, how


# ---- which routes a hosted-mode client asks for its secret ---------------------------------------------------------

HTTP_CALLS = ("fetch", "post", "get", "put", "request")


def hosted_secret_urls(project) -> list[str | None]:
    """The URL paths the reachable hosted-mode clients' `getClientSecret` functions request (None for one that
    cannot be read: an unknown URL, a helper out of sight): empty when no reachable front end runs hosted mode."""
    from chatkit_fix.analysis.frontend import frontend_model

    model = frontend_model(project)
    cache = project.__dict__.setdefault("_ck214_hosted", {})
    if cache.get("model") is model:
        return cache["urls"]
    urls: list[str | None] = []
    if model.relevant:
        for usage in model.usages:
            prop = usage.api.get("getClientSecret") if usage.hosted else None
            if prop is None:
                continue
            target = prop.node if prop.kind == "method_definition" else prop.value
            found = model.function_value(prop.path, target)
            urls.extend(_requested_urls(model, *found) if found is not None else [None])
    cache.update(model=model, urls=urls)
    return urls


def _requested_urls(model, path, function, depth: int = 0) -> list[str | None]:
    """The paths of the URLs a front-end function requests (`fetch(url)`, `http.post("/x")`), following the
    functions it calls one level down; [None] when the getClientSecret requests nothing this can read."""
    from chatkit_fix.analysis.frontend import find_all, url_path

    urls: list[str | None] = []
    for call in find_all(function, "call_expression"):
        callee = call.field("function")
        arguments = call.field("arguments")
        if callee is None or arguments is None:
            continue
        name = callee.text().rsplit(".", 1)[-1]
        values = [c for c in arguments.named_children() if c.kind() != "comment"]
        if name in HTTP_CALLS and values:
            parts = model.string_parts(path, values[0])
            known = "".join(part.text for part in parts[_last_unknown(parts) + 1:])
            if known.strip("/"):
                urls.append(url_path(known))
            elif name == "fetch":
                urls.append(None)  # a URL built out of sight
        elif depth < 1 and callee.kind() == "identifier":
            helper = model.function_value(path, callee)
            if helper is not None:
                urls.extend(_requested_urls(model, *helper, depth + 1))
    return urls if urls or depth else [None]


def _last_unknown(parts) -> int:
    unknown = [index for index, part in enumerate(parts) if part.text is None]
    return unknown[-1] if unknown else -1


def _called_by_hosted_client(ctx, node: ast.AST, clients: list[str | None]) -> bool:
    """A route returns this secret and some hosted client's URL names it (an unreadable URL may name any)."""
    routes = _route_paths(ctx, node)
    if not routes:
        return False  # no route hands it out: no client can ask for it
    if None in clients:
        return True
    return any(_same_route(url, route) for url in clients for route in routes)


def _route_paths(ctx, node: ast.AST) -> list[str]:
    """The paths of the routes that hand out the value built at `node`: the routes whose handler is its function
    or calls it, as their apps serve them (prefixes joined), else as declared."""
    model = ctx.model
    function = ctx.module.enclosing(node)
    if function is None:
        return []
    web = model.web
    paths: list[str] = []
    for route in web.routes():
        handler = route.handler
        if handler is None or route.path is None or not _hands_out(model, handler, function):
            continue
        served = [endpoint.path for endpoint in web.endpoints() if endpoint.route is route]
        paths.extend(path.rstrip("/") or "/" for path in (served or [route.path]))
    return paths


def _hands_out(model, handler, function: ast.AST) -> bool:
    """The handler is the function, or calls it (two calls deep at most)."""
    if handler.node is function:
        return True
    return any(
        site.callee is not None and (site.callee.node is function or any(
            inner.callee is not None and inner.callee.node is function for inner in model.calls.calls(site.callee)
        ))
        for site in model.calls.calls(handler)
    )


def _same_route(url: str, route: str) -> bool:
    """A front-end URL path and a route path that may be the same endpoint: one ends with the other at a segment
    boundary (prefixes of routers and base URLs are often out of sight on one side)."""
    if "{" in route:  # a path parameter: compare the literal head
        route = route.split("{", 1)[0].rstrip("/")
        return bool(route) and route in url
    shorter, longer = sorted((url, route), key=len)
    return longer == shorter or longer.endswith(shorter if shorter.startswith("/") else "/" + shorter)


def _function_of(ctx, node):
    current = parent_of(ctx, node)
    while current is not None and not isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef)):
        current = parent_of(ctx, current)
    return current


def _returned(ctx, node) -> bool:
    """The dict or model is what a function returns (directly, inside a response, or through one variable)."""
    current = node
    while current is not None:
        parent = parent_of(ctx, current)
        if isinstance(parent, ast.Return):
            return True
        if isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name):
            func = _function_of(ctx, parent)
            name = parent.targets[0].id
            return func is not None and any(
                isinstance(n, ast.Return) and n.value is not None
                and any(isinstance(m, ast.Name) and m.id == name for m in walk(n.value))
                for n in walk_scope(func)
            )
        if not isinstance(parent, (ast.Call, ast.keyword, ast.Dict, ast.List, ast.Tuple)):
            return False
        current = parent
    return False


def _minted(ctx, value: ast.expr) -> str | None:
    func = _function_of(ctx, value)
    nodes = list(walk(value))
    if func is not None:
        nodes, _ = flow_of(ctx, func).closure(value)
    if _from_openai(nodes):
        return None
    how = _minting(nodes)
    if how:
        return how
    for node in nodes:
        if isinstance(node, ast.Call):
            body = _callee_body(ctx, node)
            if body is not None:
                inner = list(walk(body))
                if _from_openai(inner):
                    return None
                how = _minting(inner)
                if how:
                    return f"{how} in {dotted(node.func) or 'a helper'}()"
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return "a constant"
    return None


def _from_openai(nodes) -> bool:
    for node in nodes:
        if isinstance(node, ast.Attribute) and node.attr == "client_secret":
            return True
        if isinstance(node, ast.Constant) and node.value == "client_secret":
            return True
        if isinstance(node, ast.Call) and "sessions" in (dotted(node.func) or ""):
            return True
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "chatkit/sessions" in node.value:
            return True
    return False


def _minting(nodes) -> str | None:
    for node in nodes:
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else node.func.id if isinstance(node.func, ast.Name) else ""
            if name in MINTING_CALLS:
                return {"encode": "a JWT"}.get(name, f"{name}()")
    return None


def _callee_body(ctx, call: ast.Call):
    """The project function a call runs, in any module of the service: a function, a class's method, the method of
    an instance kept in a module global, a local or `self` (what the model resolves the callee to)."""
    ref = ctx.model.resolve(ctx.module, call.func, _function_of(ctx, call))
    if ref is not None and ref.is_function and not ref.instance:
        return ref.node
    return None


HOSTED_FRONTEND = {
    **FRONTEND_SHELL,
    "frontend/src/App.tsx": frontend_app(
        "{\n    async getClientSecret() {\n"
        "      const response = await fetch(`${import.meta.env.VITE_API}/api/chatkit/session`, { method: 'POST' });\n"
        "      return (await response.json()).client_secret;\n    },\n  }"
    ),
}
MINTING_ROUTES = (
    "import secrets\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
    "@app.post('/api/chatkit/session')\n"
    "async def chatkit_session():\n"
    "    return {'client_secret': secrets.token_urlsafe(32)}\n"
)


RULE.cases(
    valid=[
        Valid(
            {
                **FRONTEND_SHELL,
                "frontend/src/App.tsx": frontend_app(
                    "{\n    async getClientSecret(currentSecret: string | null) {\n"
                    "      if (!currentSecret) { console.info('first session'); }\n"
                    "      const response = await fetch('/api/create-session', { method: 'POST' });\n"
                    "      const data = await response.json();\n"
                    "      return data.client_secret as string;\n    },\n  }"
                ),
                "backend/main.py": "from fastapi import FastAPI\nfrom openai import AsyncOpenAI\n\n"
                "app = FastAPI()\nclient = AsyncOpenAI()\n\n\n"
                "@app.post('/api/create-session')\n"
                "async def create_session():\n"
                "    session = await client.beta.chatkit.sessions.create(user='u', workflow={'id': 'wf_1'})\n"
                "    return {'client_secret': session.client_secret}\n",
            },
            name="official hosted shape",
        ),
        Valid(
            "import httpx\n\n"
            "async def chatkit_session(user):\n"
            "    async with httpx.AsyncClient() as http:\n"
            "        response = await http.post('https://api.openai.com/v1/chatkit/sessions', json={'user': user})\n"
            "    data = response.json()\n"
            "    return {'client_secret': data['client_secret']}\n",
            filename="backend/chatkit_session.py",
            name="proxied from OpenAI over HTTP",
        ),
        Valid(
            {
                **FRONTEND_SHELL,
                "frontend/src/App.tsx": frontend_app("{ url: '/chatkit', domainKey: 'domain_pk_local' }"),
                "backend/main.py": MINTING_ROUTES,
            },
            name="self-minted session route no front end asks (custom mode)",
        ),
        Valid(
            {**HOSTED_FRONTEND, "backend/main.py": MINTING_ROUTES.replace("/api/chatkit/session", "/api/chatkit/legacy")},
            name="the hosted client asks another route",
        ),
        Valid({"backend/main.py": MINTING_ROUTES}, name="no front end at all"),
        Valid(
            {
                **HOSTED_FRONTEND,
                "backend/app/sessions.py":
                    "from openai import AsyncOpenAI\n\n\n"
                    "class HostedSessions:\n"
                    "    def __init__(self, workflow_id):\n"
                    "        self._client = AsyncOpenAI()\n"
                    "        self._workflow_id = workflow_id\n\n"
                    "    async def open(self, user_id):\n"
                    "        created = await self._client.beta.chatkit.sessions.create(\n"
                    "            user=user_id, workflow={'id': self._workflow_id})\n"
                    "        return created.client_secret\n",
                "backend/app/routes.py":
                    "from fastapi import APIRouter\n\nfrom .sessions import HostedSessions\n\n"
                    "router = APIRouter(prefix='/api/chatkit')\nsessions = HostedSessions('wf_1')\n\n\n"
                    "@router.post('/session')\n"
                    "async def chatkit_session(user_id: str):\n"
                    "    secret = await sessions.open(user_id)\n"
                    "    return {'client_secret': secret}\n",
            },
            name="OpenAI's session secret fetched by a helper class of another module",
        ),
    ],
    invalid=[
        Invalid(
            {
                **FRONTEND_SHELL,
                "frontend/src/App.tsx": frontend_app(
                    "{\n    url: 'http://localhost:8000/chatkit',\n"
                    "    getClientSecret: async (current) => current ?? 'mock_secret',\n  }"
                ),
            },
            None,
            findings=[
                ("frontend/src/App.tsx", 6, 5, "api mixes hosted mode (getClientSecret) and a custom back end (url)"),
                ("frontend/src/App.tsx", 6, 41, "getClientSecret returns the current secret (current)"),
                ("frontend/src/App.tsx", 6, 53, "getClientSecret can return a mock secret ('mock_secret')"),
            ],
            name="mixed options, current and mock secret",
        ),
        Invalid(
            {
                **HOSTED_FRONTEND,
                "backend/routes/chatkit.py":
                    "import jwt\nfrom fastapi import APIRouter\n\nrouter = APIRouter(prefix='/api/chatkit')\n\n\n"
                    "class ChatKitSessionManager:\n"
                    "    @staticmethod\n"
                    "    def create_session_token(user_id):\n"
                    "        client_secret = jwt.encode({'user_id': user_id}, SECRET, algorithm='HS256')\n"
                    "        return client_secret, user_id\n\n\n"
                    "@router.post('/session')\n"
                    "async def create_chatkit_session(user_id: str):\n"
                    "    client_secret, _ = ChatKitSessionManager.create_session_token(user_id)\n"
                    "    return {\n"
                    "        'client_secret': client_secret,\n"
                    "        'user_id': user_id,\n"
                    "    }\n",
            },
            None,
            findings=[("backend/routes/chatkit.py", 18, 26, "the back end hands out a self-minted client_secret")],
            name="JWT minted by a helper, asked for by a hosted client",
        ),
        Invalid(
            {
                **HOSTED_FRONTEND,
                "backend/routes/chatkit.py":
                    "import uuid\nfrom fastapi import FastAPI\nfrom pydantic import BaseModel\n\n"
                    "app = FastAPI()\n\n\n"
                    "class ChatKitSessionResponse(BaseModel):\n    client_secret: str\n    session_id: str\n\n\n"
                    "def new_session():\n"
                    "    session_id = str(uuid.uuid4())\n"
                    "    client_secret = session_id\n"
                    "    return ChatKitSessionResponse(client_secret=client_secret, session_id=session_id)\n\n\n"
                    "@app.post('/api/chatkit/session')\n"
                    "async def create_chatkit_session():\n"
                    "    return new_session()\n",
            },
            None,
            findings=[("backend/routes/chatkit.py", 16, 49,
                       "the back end hands out a self-minted client_secret (uuid4())")],
            name="session id handed out as the client secret by a helper of the route",
        ),
        Invalid(
            {
                **HOSTED_FRONTEND,
                "backend/app/tokens.py":
                    "import jwt\n\n\n"
                    "class SessionTokenIssuer:\n"
                    "    def __init__(self, signing_key):\n"
                    "        self._signing_key = signing_key\n\n"
                    "    def issue(self, user_id):\n"
                    "        return jwt.encode({'sub': user_id}, self._signing_key, algorithm='HS256')\n",
                "backend/app/routes.py":
                    "from fastapi import APIRouter\n\nfrom .tokens import SessionTokenIssuer\n\n"
                    "router = APIRouter(prefix='/api/chatkit')\nissuer = SessionTokenIssuer('dev-key')\n\n\n"
                    "@router.post('/session')\n"
                    "async def chatkit_session(user_id: str):\n"
                    "    token = issuer.issue(user_id)\n"
                    "    return {'client_secret': token, 'expires_in': 900}\n",
            },
            None,
            findings=[("backend/app/routes.py", 12, 30,
                       "the back end hands out a self-minted client_secret (a JWT in issuer.issue())")],
            name="JWT minted by a method of an instance whose class lives in another module",
        ),
    ],
)
