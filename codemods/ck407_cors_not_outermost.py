"""`CORSMiddleware` must be added last, so that it is the outermost middleware.

## Why
Starlette wraps the app in the middleware **in reverse order of `add_middleware`**: the last one added (and the last
`@app.middleware("http")` function) runs first. When CORS is added *before* a middleware that can answer by itself (an
auth check, a rate limiter, an `@app.middleware("http")` with an early `return`, a middleware that raises
`HTTPException` in its dispatch or in a helper method it calls), that middleware runs outside CORS:

- the browser's preflight `OPTIONS` never carries `Authorization`, so the auth middleware answers `401` and the
  browser reports `Response to preflight request doesn't pass access control check`;
- every `401`/`429` it sends lacks `Access-Control-Allow-Origin`, so the front end sees an opaque network error
  instead of the status code.

Checked with Starlette 1.10: with CORS inner, the preflight gets `401` and no `access-control-allow-origin`; with CORS
outermost, the preflight gets `200` and the `401` carries the header. Logging, metrics and GZip middleware after CORS
are harmless.

## Wrong
```python
app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["*"], allow_headers=["*"])
app.add_middleware(JWTAuthMiddleware)  # added last = runs first: preflights get 401
```

## Right
```python
app.add_middleware(JWTAuthMiddleware)
app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["*"], allow_headers=["*"])  # outermost
```
The fix moves the whole CORS statement (with its comment) below the last middleware registration of the app.
"""

from __future__ import annotations

from functools import partial

from chatkit_fix.analysis import web
from chatkit_fix.codemods._cases import Edited
from chatkit_fix.findings import Safety
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK407",
    slug="cors-not-outermost",
    safety=Safety.SAFE,
    summary="CORSMiddleware added before a middleware that answers by itself: preflights and errors lose CORS headers",
    url="https://www.starlette.io/middleware/#corsmiddleware",
    triggers=((b"CORSMiddleware", b"middleware"),),
    module=__name__,
    explanation=__doc__,
)


@RULE.check
def check(ctx):
    registered = web.registrations(ctx)
    for index, registration in enumerate(registered):
        if registration.kind != "add" or not web.is_cors(ctx, registration.middleware):
            continue
        later = [
            r for r in registered[index + 1:]
            if r.receiver == registration.receiver and r.scope is registration.scope
            and not web.mutually_exclusive(ctx, r.statement, registration.statement)
        ]
        answering = [(r, web.answers_by_itself(ctx, r)) for r in later]
        answering = [(r, why) for r, why in answering if why]
        if not answering:
            continue
        yield _finding(ctx, registration, later, answering)
    yield from _constructor_list(ctx, registered)


def _describe(registration: web.Registration) -> str:
    if registration.kind == "decorator":
        return f"@{registration.receiver}.middleware(\"http\") {registration.function.name}()"
    return web.last_name(registration.middleware) or "a middleware"


def _finding(ctx, cors: web.Registration, later, answering):
    blocker, why = answering[-1]
    message = (
        f"CORSMiddleware is added before {_describe(blocker)} ({why}); the last middleware added runs first, so "
        "preflights and its error responses get no CORS headers"
    )
    block = web.block_of(ctx, cors.statement)
    last = later[-1]
    if block is not None and all(web.block_of(ctx, r.statement) is not None and web.block_of(ctx, r.statement)[0] is block[0] for r in later):
        return ctx.finding(cors.call, message, fix=partial(_move, ctx, cors, last),
                           hint="add CORSMiddleware after every other middleware")
    return ctx.finding(
        cors.call,
        message,
        fix=ctx.todo(cors.statement, "add CORSMiddleware after every other middleware so it runs first"),
        complete=False,
        hint="add CORSMiddleware after every other middleware",
    )


def _move(ctx, cors: web.Registration, last: web.Registration):
    """CORSMiddleware's registration moved below the last middleware added; a TODO when it cannot move."""
    edits = web.move_after(ctx, cors.statement, last.statement)
    return edits or ctx.todo(cors.statement, "add CORSMiddleware after every other middleware so it runs first")


def _constructor_list(ctx, registered):
    """`FastAPI(middleware=[...])`: the first item is the outermost; items added later by add_middleware wrap them all."""
    for app in web.apps(ctx):
        items = web.constructor_middleware(ctx, app.call)
        cors_index = next((i for i, item in enumerate(items) if item.args and web.is_cors(ctx, item.args[0])), None)
        if cors_index is None:
            continue
        outer = [item for item in items[:cors_index] if item.args and _answers_class(ctx, item)]
        outer += [r for r in registered if r.receiver == app.name and web.answers_by_itself(ctx, r)]
        if outer:
            yield ctx.finding(
                items[cors_index],
                "CORSMiddleware is not the outermost middleware: an auth or rate-limit middleware runs before it, so "
                "preflights and its error responses get no CORS headers",
                fix=ctx.todo(app.statement, "make CORSMiddleware the first item of middleware=[...] and add no middleware after it"),
                complete=False,
                hint="make CORSMiddleware the outermost middleware",
            )


def _answers_class(ctx, item) -> bool:
    fake = web.Registration("add", web.statement_of(ctx, item), "", item, item.args[0], None)
    return bool(web.answers_by_itself(ctx, fake))


PREFIX = "from fastapi import FastAPI\nfrom fastapi.middleware.cors import CORSMiddleware\n"

RULE.cases(
    valid=[
        Valid(
            PREFIX + "from middleware.auth import JWTAuthMiddleware\n\napp = FastAPI()\n"
            "app.add_middleware(JWTAuthMiddleware)\n"
            "app.add_middleware(CORSMiddleware, allow_origins=['http://localhost:3000'], allow_headers=['*'])\n",
            filename="main.py",
            name="CORS added last",
        ),
        Valid(
            PREFIX + "from fastapi.middleware.gzip import GZipMiddleware\nimport time\n\napp = FastAPI()\n"
            "app.add_middleware(CORSMiddleware, allow_origins=['*'])\n"
            "app.add_middleware(GZipMiddleware)\n\n\n"
            '@app.middleware("http")\n'
            "async def log_requests(request, call_next):\n"
            "    start = time.time()\n"
            "    response = await call_next(request)\n"
            '    response.headers["X-Process-Time"] = str(time.time() - start)\n'
            "    return response\n",
            filename="main.py",
            name="logging and gzip after CORS are fine",
        ),
        Valid(
            PREFIX + "from starlette.middleware.base import BaseHTTPMiddleware\nfrom auth import require_bearer\n\n\n"
            "def build(cors_outermost: bool):\n"
            "    app = FastAPI()\n"
            "    if cors_outermost:\n"
            "        app.add_middleware(BaseHTTPMiddleware, dispatch=require_bearer)\n"
            "        app.add_middleware(CORSMiddleware, allow_origins=['http://localhost:5173'])\n"
            "    else:\n"
            "        app.add_middleware(BaseHTTPMiddleware, dispatch=require_bearer)\n"
            "        app.add_middleware(CORSMiddleware, allow_origins=['http://localhost:5173'])\n"
            "    return app\n\n\n"
            "def other():\n    api = FastAPI()\n    api.add_middleware(CORSMiddleware, allow_origins=['*'])\n    return api\n\n\n"
            "def third(api):\n    api.add_middleware(JWTAuthMiddleware)\n",
            filename="factory.py",
            name="branches and separate functions",
        ),
    ],
    invalid=[
        Invalid(
            {
                "backend/main.py": PREFIX + "from guards.origin import OriginGuard\n\napp = FastAPI()\n"
                "app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=True)\n"
                "app.add_middleware(OriginGuard, trusted=origins)\n",
                "backend/guards/origin.py": "from fastapi import HTTPException\n"
                "from starlette.middleware.base import BaseHTTPMiddleware\n\n\n"
                "class OriginGuard(BaseHTTPMiddleware):\n"
                "    def __init__(self, app, trusted):\n"
                "        super().__init__(app)\n"
                "        self.trusted = set(trusted)\n\n"
                "    async def dispatch(self, request, call_next):\n"
                "        self._require_trusted_origin(request)\n"
                "        return await call_next(request)\n\n"
                "    def _require_trusted_origin(self, request):\n"
                '        origin = request.headers.get("origin")\n'
                "        if origin is not None and origin not in self.trusted:\n"
                '            raise HTTPException(status_code=403, detail="origin not allowed")\n',
            },
            {
                "backend/main.py": PREFIX + "from guards.origin import OriginGuard\n\napp = FastAPI()\n"
                "app.add_middleware(OriginGuard, trusted=origins)\n\n"
                "app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=True)\n",
            },
            name="a middleware that answers by raising HTTPException in a helper method",
            findings=[("backend/main.py", 6, 1, "OriginGuard (OriginGuard raises HTTPException in OriginGuard._require_trusted_origin()")],
        ),
        Invalid(
            {
                "backend/main.py": PREFIX + "from middleware.auth import JWTAuthMiddleware\n\napp = FastAPI()\n\n"
                "# Add CORS middleware FIRST (will execute LAST in middleware chain)\n"
                "app.add_middleware(\n    CORSMiddleware,\n    allow_origins=origins,\n    allow_credentials=True,\n)\n\n"
                "# Add JWT middleware SECOND\n"
                "app.add_middleware(JWTAuthMiddleware)\n\n"
                "app.include_router(router)\n",
                "backend/middleware/auth.py": "from starlette.middleware.base import BaseHTTPMiddleware\n"
                "from starlette.responses import JSONResponse\n\n\n"
                "class JWTAuthMiddleware(BaseHTTPMiddleware):\n"
                "    async def dispatch(self, request, call_next):\n"
                '        if not request.headers.get("Authorization"):\n'
                '            return JSONResponse({"detail": "Missing authorization header"}, status_code=401)\n'
                "        return await call_next(request)\n",
            },
            {
                "backend/main.py": PREFIX + "from middleware.auth import JWTAuthMiddleware\n\napp = FastAPI()\n\n"
                "# Add JWT middleware SECOND\n"
                "app.add_middleware(JWTAuthMiddleware)\n\n"
                "# Add CORS middleware FIRST (will execute LAST in middleware chain)\n"
                "app.add_middleware(\n    CORSMiddleware,\n    allow_origins=origins,\n    allow_credentials=True,\n)\n\n"
                "app.include_router(router)\n",
            },
            name="auth middleware class in another module",
            findings=[("backend/main.py", 8, 1, "CORSMiddleware is added before JWTAuthMiddleware")],
        ),
        Edited(
            PREFIX + "from fastapi.responses import JSONResponse\n\napp = FastAPI()\n"
            "app.add_middleware(CORSMiddleware, allow_origins=['http://localhost:5173'], allow_headers=['*'])\n\n\n"
            '@app.middleware("http")\n'
            "async def require_bearer(request, call_next):\n"
            '    if not request.headers.get("authorization", "").startswith("Bearer "):\n'
            '        return JSONResponse({"detail": "unauthorized"}, status_code=401)\n'
            "    return await call_next(request)\n",
            ("app.add_middleware(CORSMiddleware, allow_origins=['http://localhost:5173'], allow_headers=['*'])\n",
             ""),
            ("    return await call_next(request)\n",
             "    return await call_next(request)\n"
             "\n"
             "\n"
             "app.add_middleware(CORSMiddleware, allow_origins=['http://localhost:5173'], allow_headers=['*'])\n"),
            filename="app.py",
            name="@app.middleware with an early return",
            findings=[(6, 1, 'CORSMiddleware is added before @app.middleware("http") require_bearer()')],
        ),
        Edited(
            PREFIX + "from slowapi.middleware import SlowAPIMiddleware\nfrom middleware.auth import auth_middleware\n\n"
            "def create_app():\n"
            "    application = FastAPI()\n"
            "    application.add_middleware(CORSMiddleware, allow_origins=['*'])\n"
            "    application.add_middleware(SlowAPIMiddleware)\n\n"
            '    @application.middleware("http")\n'
            "    async def authentication_middleware(request, call_next):\n"
            "        return await auth_middleware(request, call_next)\n"
            "    return application\n",
            ("    application.add_middleware(CORSMiddleware, allow_origins=['*'])\n",
             ""),
            ("        return await auth_middleware(request, call_next)\n",
             "        return await auth_middleware(request, call_next)\n"
             "\n"
             "    application.add_middleware(CORSMiddleware, allow_origins=['*'])\n"),
            filename="src/app/factory.py",
            name="factory, rate limiter, delegating auth function",
            findings=[(8, 5, 'CORSMiddleware is added before @application.middleware("http")')],
        ),
        Edited(
            PREFIX + "from starlette.middleware import Middleware\nfrom starlette.middleware.trustedhost import TrustedHostMiddleware\n\n"
            "app = FastAPI(middleware=[\n"
            "    Middleware(TrustedHostMiddleware, allowed_hosts=['example.com']),\n"
            "    Middleware(CORSMiddleware, allow_origins=['https://example.com']),\n"
            "])\n",
            ("app = FastAPI(middleware=[\n",
             "# chatkit-fix: TODO[CK407] make CORSMiddleware the first item of middleware=[...] and add no middleware after it\n"
             "app = FastAPI(middleware=[\n"),
            filename="main.py",
            name="constructor list: TODO",
            findings=[(8, 5, "CORSMiddleware is not the outermost middleware")],
        ),
    ],
)
