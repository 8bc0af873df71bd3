"""An explicit `OPTIONS` route for the ChatKit path is dead code next to `CORSMiddleware`, and a trap without it.

## Why
Browsers send a preflight `OPTIONS` request before ChatKit's `POST` (it carries JSON and usually `Authorization`).
When `CORSMiddleware` is installed it answers every preflight itself, before routing: a hand-written
`@app.options("/chatkit")` handler is never reached. It only misleads: it suggests CORS is handled per route, it is
copied to other paths, and when someone later removes the middleware the handler answers the preflight **without** any
`Access-Control-Allow-*` header, so the browser still blocks the call. Keep CORS in one place.

## Wrong
```python
app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["*"], allow_headers=["*"])

@app.options("/chatkit")
async def chatkit_options():
    return Response(status_code=200)
```

## Right
```python
app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["*"], allow_headers=["*"])
# no OPTIONS route: CORSMiddleware answers preflights
```
The fix deletes the handler (with the comment on top of it), or drops `"OPTIONS"` from an `api_route(methods=...)`
that serves other methods too.
"""

from __future__ import annotations

import ast

from chatkit_fix.analysis import web
from chatkit_fix.codemods._cases import Edited
from chatkit_fix.findings import Safety
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK408",
    slug="redundant-options-route",
    safety=Safety.SAFE,
    summary="explicit OPTIONS route for the ChatKit path while CORSMiddleware answers preflights",
    url="https://www.starlette.io/middleware/#corsmiddleware",
    triggers=(b".options(", b"OPTIONS"),
    module=__name__,
    explanation=__doc__,
    finding_triggers=(b".options(", b"OPTIONS"),
)


def _is_chatkit_path(ctx, route: web.Route, prefixes: dict[str, str], all_routes: list[web.Route]) -> bool:
    full = prefixes.get(route.receiver, "") + (route.path or "")
    if "chatkit" in full.lower():
        return True
    return any(
        other.receiver == route.receiver and other.path == route.path and "POST" in other.methods and web.calls_process(other.function)
        for other in all_routes
    )


@RULE.check_project
def check(pctx):
    project = pctx.project
    cors_files = [p for p in web.python_sources(project, (b"CORSMiddleware",)) if web.installs_cors(project, p)]
    if not cors_files:
        return
    for path in web.python_sources(project, (b".options(", b"OPTIONS")):
        if not any(web.same_service(project, path, cors) for cors in cors_files):
            continue
        ctx = pctx.parsed(path)
        if ctx is None:
            continue
        all_routes = web.routes(ctx)
        prefixes = web.router_prefixes(ctx)
        for route in all_routes:
            if "OPTIONS" not in route.methods or not _is_chatkit_path(ctx, route, prefixes, all_routes):
                continue
            yield _finding(ctx, route, all_routes)


def _finding(ctx, route: web.Route, all_routes):
    func = route.function
    path = route.path if route.path is not None else "?"
    message = f"OPTIONS route for {path!r}: CORSMiddleware answers every preflight before routing, so this handler never runs"
    if len(route.methods) > 1 and isinstance(route.methods_node, (ast.List, ast.Tuple, ast.Set)):
        elements = route.methods_node.elts
        index = next(i for i, e in enumerate(elements) if str(web.string_value(e)).upper() == "OPTIONS")
        return ctx.finding(
            route.decorator, message, fix=web.remove_element(ctx, elements, index), hint='drop "OPTIONS" from methods'
        )
    other_routes = [r for r in all_routes if r.function is func and r is not route]
    if other_routes:
        decorator_line = route.decorator.lineno
        return ctx.finding(
            route.decorator, message, fix=web.remove_lines(ctx, decorator_line, route.decorator.end_lineno or decorator_line),
            hint="remove the @...options(...) decorator",
        )
    if not web.alone_on_lines(ctx, func):
        return ctx.finding(route.decorator, message, hint=f"delete {func.name}()")
    first, last = web.statement_lines(ctx, func)
    return ctx.finding(route.decorator, message, fix=web.remove_lines(ctx, first, last), hint=f"delete {func.name}()")


MAIN = (
    "from fastapi import FastAPI, Request, Response\n"
    "from fastapi.middleware.cors import CORSMiddleware\n"
    "\n"
    "app = FastAPI()\n"
    'app.add_middleware(CORSMiddleware, allow_origins=["http://localhost:3000"], allow_methods=["*"], allow_headers=["*"])\n'
    "\n"
    "\n"
)
ENDPOINT = (
    '@app.post("/chatkit")\n'
    "async def chatkit_endpoint(request: Request):\n"
    "    result = await server.process(await request.body(), {})\n"
    "    return Response(content=result.json, media_type='application/json')\n"
)

RULE.cases(
    valid=[
        Valid(MAIN + ENDPOINT, filename="main.py"),
        Valid(
            "from fastapi import FastAPI, Response\n\napp = FastAPI()\n\n"
            '@app.options("/chatkit")\nasync def preflight():\n    return Response(status_code=204)\n',
            filename="main.py",
            name="no CORSMiddleware: not redundant",
        ),
        Valid(
            MAIN + '@app.options("/files/{name}")\nasync def files_options(name: str):\n    return Response(headers={"Allow": "GET"})\n',
            filename="main.py",
            name="OPTIONS route for another path",
        ),
    ],
    invalid=[
        Invalid(
            MAIN
            + "# ChatKit CORS preflight\n"
            '@app.options("/chatkit")\n'
            "async def chatkit_options():\n"
            '    """Handle CORS preflight requests for ChatKit endpoint"""\n'
            "    return Response(status_code=200)\n"
            "\n\n"
            "# ChatKit endpoint with JWT auth\n" + ENDPOINT,
            MAIN + "# ChatKit endpoint with JWT auth\n" + ENDPOINT,
            filename="backend/main.py",
            name="seed shape",
            findings=[(9, 2, "OPTIONS route for '/chatkit'")],
        ),
        Invalid(
            {
                "backend/main.py": "from fastapi import FastAPI\nfrom fastapi.middleware.cors import CORSMiddleware\n"
                "from api.v1.endpoints import chatkit\n\napp = FastAPI()\n"
                "app.add_middleware(CORSMiddleware, allow_origins=['http://localhost:3000'], allow_methods=['*'])\n"
                "app.include_router(chatkit.router, prefix='/api/v1')\n",
                "backend/api/v1/endpoints/chatkit.py": "from fastapi import APIRouter\nfrom fastapi.responses import JSONResponse\n\n"
                'router = APIRouter(prefix="/chatkit", tags=["chatkit"])\n\n\n'
                "# ---------------------------------------------------------------------------\n"
                "# CORS pre-flight (no auth)\n"
                "# ---------------------------------------------------------------------------\n"
                '@router.options("")\n'
                "async def chatkit_options():\n"
                "    return JSONResponse(content={}, status_code=200)\n\n\n"
                '@router.get("/history")\nasync def history():\n    return []\n',
            },
            {
                "backend/api/v1/endpoints/chatkit.py": "from fastapi import APIRouter\nfrom fastapi.responses import JSONResponse\n\n"
                'router = APIRouter(prefix="/chatkit", tags=["chatkit"])\n\n\n'
                '@router.get("/history")\nasync def history():\n    return []\n',
            },
            name="router with prefix in another file",
            findings=[("backend/api/v1/endpoints/chatkit.py", 10, 2, "OPTIONS route for ''")],
        ),
        Edited(
            MAIN + '@app.api_route("/api/chat", methods=["POST", "OPTIONS"])\n'
            "async def chat(request: Request):\n"
            "    return await server.process(await request.body(), {})\n",
            ('@app.api_route("/api/chat", methods=["POST", "OPTIONS"])\n',
             '@app.api_route("/api/chat", methods=["POST"])\n'),
            filename="main.py",
            name="api_route with OPTIONS among other methods",
            findings=[(8, 2, "OPTIONS route for '/api/chat'")],
        ),
        Edited(
            MAIN + '@app.api_route("/support/chatkit", methods=["OPTIONS"])\n'
            "def preflight():\n    return Response()\n",
            ('@app.api_route("/support/chatkit", methods=["OPTIONS"])\n'
             "def preflight():\n"
             "    return Response()\n",
             ""),
            filename="main.py",
            name="api_route OPTIONS only, at end of file",
            findings=[(8, 2, "OPTIONS route for '/support/chatkit'")],
        ),
    ],
)
