"""The front end calls the back end on another origin, and the back end installs no `CORSMiddleware`.

## Why
A page served from `http://localhost:5173` (Vite) or `http://localhost:3000` (Next) that calls
`http://localhost:8000/chatkit` makes a cross-origin request: a different port is a different origin. ChatKit's
request is a `POST` with a JSON body (and usually `Authorization`), so the browser first sends a preflight `OPTIONS`.
Without `CORSMiddleware`, FastAPI answers it `405 Method Not Allowed` without `Access-Control-Allow-Origin`, and the
browser blocks the call: `Access to fetch at 'http://localhost:8000/chatkit' from origin 'http://localhost:5173' has
been blocked by CORS policy`. ChatKit shows an error or nothing; the server log shows only the `OPTIONS 405`.

The rule fires only when the browser really goes cross-origin: an absolute local URL in `api.url`, a `fetch`, or an
API-base constant in browser code, with no Vite `server.proxy`, no Next `rewrites` and no `app/api/**/route.ts` proxy.

## Wrong
```tsx
useChatKit({ api: { url: "http://localhost:8000/chatkit", domainKey: "local" } });
```
```python
app = FastAPI()  # no CORSMiddleware
```

## Right
```python
app = FastAPI()
app.add_middleware(
    CORSMiddleware,
    allow_origins=os.environ.get("CORS_ORIGINS", "http://localhost:5173").split(","),
    allow_methods=["*"],
    allow_headers=["*"],
)
```
Or keep the browser same-origin with a dev proxy (`server.proxy` in `vite.config.ts`, as the official samples do). The
fix adds the middleware after every other middleware of the app, so it is the outermost one (see CK407), with the front
end's dev origin as default and `allow_credentials=True` only when cookies cross origins. When the module has a
settings object with an origins field (`settings.cors_origins`), the middleware reads that field instead.
"""

from __future__ import annotations

import ast
from functools import partial

from chatkit_fix.analysis import settings, web
from chatkit_fix.codemods._cases import edited
from chatkit_fix.findings import Safety
from chatkit_fix.pyast import walk
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK406",
    slug="cors-missing",
    safety=Safety.SAFE,
    summary="the front end calls the back end cross-origin (absolute URL, no proxy) and no CORSMiddleware is installed",
    url="https://fastapi.tiangolo.com/tutorial/cors/",
    languages=("python", "tsx"),
    module=__name__,
    explanation=__doc__,
    finding_triggers=(b"FastAPI", b"Starlette"),
)


@RULE.check_project
def check(pctx):
    project = pctx.project
    candidates = []
    for path in web.python_sources(project, (b"FastAPI", b"Starlette")):
        ctx = pctx.parsed(path)
        if ctx is None:
            continue
        for app in web.apps(ctx):
            candidates.append((path, ctx, app))
    cors_files = [p for p in web.python_sources(project, (b"CORSMiddleware",)) if web.installs_cors(project, p)]
    candidates = [c for c in candidates if not any(web.same_service(project, c[0], cors) for cors in cors_files)]
    if not candidates:
        return
    calls = web.absolute_backend_urls(project, pctx)
    if not calls:
        return
    target = _target(candidates, calls, whole_project=not project.scope.services_only)
    if target is None:
        return
    path, ctx, app = target
    call = calls[0]
    yield _finding(pctx, ctx, app, call)


def _route_paths(ctx) -> set[str]:
    prefixes = web.router_prefixes(ctx)
    return {prefixes.get(r.receiver, "") + (r.path or "") for r in web.routes(ctx)}


def _target(candidates, calls, whole_project: bool = True):
    """The app the front end calls: the one serving the called path, else the ChatKit one, else the only one.

    When the run sees only some services (files named one by one), the app the front end calls may be out of view:
    then only an app serving the called path is the target.
    """
    wanted = {c.route.split("?")[0].rstrip("/") for c in calls if c.route}
    for path, ctx, app in candidates:
        served = {p.rstrip("/") for p in _route_paths(ctx) if p.strip("/")}
        if any(w.endswith(s) for w in wanted for s in served):
            return path, ctx, app
    if not whole_project:
        return None
    processing = [c for c in candidates if any(web.calls_process(f) for f in walk(c[1].tree) if isinstance(f, web.FUNCTIONS))]
    if len(processing) == 1:
        return processing[0]
    if len(candidates) == 1:
        return candidates[0]
    return None


def _finding(pctx, ctx, app: web.App, call: web.FrontendCall):
    project = pctx.project
    front = pctx.parsed(call.path)
    line = front.line_of(call.node) if front is not None else 1
    where = f"{project.relative(call.path)}:{line}"
    message = (
        f"the front end calls {call.url} from another origin ({where}) and no CORSMiddleware is installed: the browser "
        "blocks the preflight and every response"
    )
    anchor = app.statement
    block = web.block_of(ctx, app.statement)
    if block is not None:
        for registration in web.registrations(ctx):
            found = web.block_of(ctx, registration.statement)
            if registration.receiver == app.name and found is not None and found[0] is block[0] and found[1] > block[1]:
                anchor = registration.statement
    if block is None or not web.alone_on_lines(ctx, anchor):
        return ctx.finding(
            ctx.header_span(app.statement), message,
            fix=ctx.todo(app.statement, "add CORSMiddleware with the front end's origins"), complete=False,
            hint="add CORSMiddleware with the front end's origins",
        )
    origins = ",".join(web.dev_origins(project))
    return ctx.finding(
        ctx.header_span(app.statement),
        message,
        fix=partial(_add_middleware, ctx, app, anchor, origins),
        hint=f"add CORSMiddleware (outermost) allowing {origins}",
    )


def _add_middleware(ctx, app: web.App, anchor: ast.stmt, origins: str):
    """`app.add_middleware(CORSMiddleware, ...)` after `anchor`, its origins read as the project reads settings."""
    module = "fastapi.middleware.cors" if app.framework == "fastapi" else "starlette.middleware.cors"
    cors_name, cors_import = ctx.ensure_import(module, "CORSMiddleware")
    allowed, needed = settings.origins_expression(ctx, origins)
    q = ctx.string_literal
    indent = ctx.source.indentation(app.statement.lineno)
    lines = [f"{app.name}.add_middleware(", f"    {cors_name},", f"    allow_origins={allowed},"]
    if web.uses_cookies(ctx.project):
        lines.append("    allow_credentials=True,")
    lines += [f"    allow_methods=[{q('*')}],", f"    allow_headers=[{q('*')}],", ")"]
    text = "".join(f"{indent}{line}\n" for line in lines)
    return [cors_import, *needed, web.insert_after(ctx, anchor, text)]


VITE_PACKAGE = '{"name": "web", "dependencies": {"@openai/chatkit-react": "^1.4.0", "react": "^19.0.0"}, "devDependencies": {"vite": "^6.0.0"}}\n'
NEXT_PACKAGE = '{"name": "web", "dependencies": {"@openai/chatkit-react": "^1.4.0", "next": "15.0.0", "react": "^19.0.0"}}\n'
PANEL = (
    'import { ChatKit, useChatKit } from "@openai/chatkit-react";\n\n'
    "export function ChatKitPanel() {\n"
    '  const { control } = useChatKit({ api: { url: "http://localhost:8000/chatkit", domainKey: "local" } });\n'
    '  return <ChatKit control={control} className="h-[600px]" />;\n'
    "}\n"
)
BACKEND = (
    "from fastapi import FastAPI, Request\n"
    "from fastapi.responses import Response, StreamingResponse\n"
    "\n"
    "app = FastAPI(title=\"ChatKit API\")\n"
    "\n"
    "\n"
    '@app.post("/chatkit")\n'
    "async def chatkit_endpoint(request: Request):\n"
    "    result = await server.process(await request.body(), {})\n"
    "    return Response(content=result.json, media_type=\"application/json\")\n"
)
BACKEND_FIXED = edited(
    BACKEND,
    ("from fastapi.responses import Response, StreamingResponse\n",
     "from fastapi.responses import Response, StreamingResponse\n"
     "import os\n"
     "from fastapi.middleware.cors import CORSMiddleware\n"),
    ('app = FastAPI(title="ChatKit API")\n',
     'app = FastAPI(title="ChatKit API")\n'
     "\n"
     "app.add_middleware(\n"
     "    CORSMiddleware,\n"
     '    allow_origins=os.environ.get("CORS_ORIGINS", "http://localhost:5173").split(","),\n'
     '    allow_methods=["*"],\n'
     '    allow_headers=["*"],\n'
     ")\n"),
)

RULE.cases(
    valid=[
        Valid(
            {
                "frontend/package.json": VITE_PACKAGE,
                "frontend/vite.config.ts": 'export default { server: { proxy: { "/chatkit": "http://127.0.0.1:8000" } } };\n',
                "frontend/src/ChatKitPanel.tsx": PANEL.replace("http://localhost:8000/chatkit", "/chatkit"),
                "backend/app/main.py": BACKEND,
            },
            name="Vite proxy, relative URL (official samples)",
        ),
        Valid(
            {
                "frontend/package.json": VITE_PACKAGE,
                "frontend/src/ChatKitPanel.tsx": PANEL,
                "backend/app/main.py": BACKEND_FIXED,
            },
            name="CORSMiddleware installed",
        ),
        Valid(
            {
                "web/package.json": NEXT_PACKAGE,
                "web/app/api/chatkit/route.ts": 'export async function POST(req: Request) {\n'
                '  return fetch("http://localhost:8000/chatkit", { method: "POST", body: await req.text() });\n}\n',
                "web/components/Chat.tsx": PANEL.replace("http://localhost:8000/chatkit", "/api/chatkit"),
                "backend/main.py": BACKEND,
            },
            name="Next route.ts proxy: the absolute URL is server side",
        ),
        Valid(
            {
                "frontend/package.json": VITE_PACKAGE,
                "frontend/src/Article.tsx": 'export const Hero = ({ img }: { img: string }) => <img src={`http://localhost:8000/${img}`} />;\n',
                "backend/main.py": BACKEND,
            },
            name="an image URL is not an API call",
        ),
    ],
    invalid=[
        Invalid(
            {"frontend/package.json": VITE_PACKAGE, "frontend/src/ChatKitPanel.tsx": PANEL, "backend/app/main.py": BACKEND},
            {"backend/app/main.py": BACKEND_FIXED},
            name="Vite front end, api.url absolute",
            findings=[("backend/app/main.py", 4, 1, "the front end calls http://localhost:8000/chatkit from another origin (frontend/src/ChatKitPanel.tsx:4)")],
        ),
        Invalid(
            {"frontend/package.json": VITE_PACKAGE, "frontend/src/ChatKitPanel.tsx": PANEL,
             "backend/app/config.py": "from pydantic_settings import BaseSettings\n\n\nclass Settings(BaseSettings):\n"
                                      "    allowed_origins: str = 'http://localhost:5173'\n\n\n"
                                      "def get_settings() -> Settings:\n    return Settings()\n",
             "backend/app/main.py": BACKEND.replace("\napp = FastAPI(", "from .config import get_settings\n\n"
                                                    "settings = get_settings()\napp = FastAPI(", 1)},
            {"backend/app/main.py": edited(
                BACKEND.replace("\napp = FastAPI(", "from .config import get_settings\n\n"
                                "settings = get_settings()\napp = FastAPI(", 1),
                ("from fastapi.responses import Response, StreamingResponse\n",
                 "from fastapi.responses import Response, StreamingResponse\n"
                 "from fastapi.middleware.cors import CORSMiddleware\n"),
                ('app = FastAPI(title="ChatKit API")\n',
                 'app = FastAPI(title="ChatKit API")\n\napp.add_middleware(\n    CORSMiddleware,\n'
                 '    allow_origins=settings.allowed_origins.split(","),\n    allow_methods=["*"],\n'
                 '    allow_headers=["*"],\n)\n'))},
            findings=[("backend/app/main.py", 6, 1, "the front end calls http://localhost:8000/chatkit from another origin")],
            name="the settings object names the origins (a str field, split); the import above the relative one",
        ),
        Invalid(
            {
                "web/package.json": NEXT_PACKAGE,
                "web/src/lib/api.ts": 'export const API_BASE_URL = process.env.NEXT_PUBLIC_API_URL || "http://localhost:8000";\n',
                "web/src/app/(dashboard)/chat/page.tsx": '"use client";\nimport { API_BASE_URL } from "@/lib/api";\n'
                "export default function Page() {\n  return <Chat url={`${API_BASE_URL}/api/chatkit`} />;\n}\n",
                "web/src/lib/session.ts": 'export const me = () => fetch("http://127.0.0.1:8000/api/me", { credentials: "include" });\n',
                "api/main.py": "import os\n\nfrom fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
                '@app.middleware("http")\nasync def timing(request, call_next):\n    return await call_next(request)\n\n\n'
                'app.include_router(chat_router, prefix="/api")\n',
            },
            {
                "api/main.py": "import os\n\nfrom fastapi import FastAPI\nfrom fastapi.middleware.cors import CORSMiddleware\n\napp = FastAPI()\n\n\n"
                '@app.middleware("http")\nasync def timing(request, call_next):\n    return await call_next(request)\n\n\n'
                "app.add_middleware(\n    CORSMiddleware,\n"
                '    allow_origins=os.environ.get("CORS_ORIGINS", "http://localhost:3000").split(","),\n'
                "    allow_credentials=True,\n"
                '    allow_methods=["*"],\n    allow_headers=["*"],\n)\n\n\n'
                'app.include_router(chat_router, prefix="/api")\n',
            },
            name="Next, API base constant, cookies, added after the last middleware",
            findings=[("api/main.py", 5, 1, "the front end calls http://localhost:8000 from another origin (web/src/lib/api.ts:1)")],
        ),
        Invalid(
            {
                "frontend/package.json": VITE_PACKAGE.replace("vite\": \"^6.0.0\"}", "vite\": \"^6.0.0\"}, \"scripts\": {\"dev\": \"vite --port 5180\"}"),
                "frontend/src/App.tsx": PANEL,
                "server.py": "from starlette.applications import Starlette\nfrom starlette.routing import Route\n\n"
                "app = Starlette(routes=[Route('/chatkit', endpoint, methods=['POST'])])\n",
            },
            {
                "server.py": "from starlette.applications import Starlette\nfrom starlette.routing import Route\n"
                "import os\nfrom starlette.middleware.cors import CORSMiddleware\n\n"
                "app = Starlette(routes=[Route('/chatkit', endpoint, methods=['POST'])])\n\n"
                "app.add_middleware(\n    CORSMiddleware,\n"
                "    allow_origins=os.environ.get('CORS_ORIGINS', 'http://localhost:5180').split(','),\n"
                "    allow_methods=['*'],\n    allow_headers=['*'],\n)\n",
            },
            name="Starlette app, dev port from package.json",
            findings=[("server.py", 4, 1, "the front end calls http://localhost:8000/chatkit from another origin (frontend/src/App.tsx:4)")],
        ),
    ],
)
