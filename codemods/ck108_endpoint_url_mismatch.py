"""The front end's `api.url` path matches no back-end route that calls `ChatKitServer.process`.

## Why
ChatKit posts every request (`threads.create`, `threads.list`, …) to `api.url`. When its path differs from the
FastAPI route that hands the body to `server.process()` (`/chatkit` against `/api/chatkit`, a router prefix
forgotten, `/chat` left from an older back end) every request gets 404 or 405, and ChatKit shows a generic error
banner, or nothing at all while it retries.

The rule is cross-file. The front end's URL is resolved through constants, template strings, imports and
`import.meta.env.X ?? "fallback"`; the back end's routes through `APIRouter(prefix=…)`, `include_router(…, prefix=…)`
and `mount`. Next route handlers (`app/api/**/route.ts`, `pages/api/**`), Next rewrites and Vite `server.proxy`
entries count as routes: the request is served or forwarded there. A back end with no route reaching `process()`
is CK211, not this rule. When exactly one ChatKit route exists the unsafe fix points the URL at it.

## Wrong
```tsx
// front end
useChatKit({ api: { url: "http://localhost:8000/chatkit", domainKey: "domain_pk_localhost_dev" } });
```
```python
# back end
router = APIRouter(prefix="/api")

@router.post("/chatkit")
async def chatkit_endpoint(request: Request): ...
```

## Right
```tsx
useChatKit({ api: { url: "http://localhost:8000/api/chatkit", domainKey: "domain_pk_localhost_dev" } });
```
"""

from __future__ import annotations

from chatkit_fix.analysis.frontend import (
    check_frontend,
    endpoints_near,
    known_url,
    span,
    url_match,
    url_path,
)
from chatkit_fix.codemods._cases import VITE_DEV_PACKAGE, VITE_HTML, vite_main
from chatkit_fix.findings import Safety
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK108",
    slug="endpoint-url-mismatch",
    safety=Safety.UNSAFE,
    summary="api.url path matches no back-end route that calls ChatKitServer.process (every request 404s)",
    url="https://openai.github.io/chatkit-python/server",
    languages=("tsx", "html"),
    triggers=(b"chatkit",),
    module=__name__,
    explanation=__doc__,
    finding_triggers=(),
)


@check_frontend(RULE)
def check(pctx, model):
    seen = set()
    for usage in model.usages:
        api = usage.api
        if api is None or usage.hosted:
            continue
        url_prop = api.get("url")
        if url_prop is None or url_prop.value is None:
            continue
        endpoints = endpoints_near(model, usage.path)
        if not endpoints:
            continue
        parts = model.string_parts(url_prop.path, url_prop.value)
        url, complete = known_url(parts)
        if not url:
            continue
        if complete:
            if "://" not in url and not url.startswith("/"):
                continue  # relative to the page: cannot judge
            path = url_path(url)
        else:
            if not url.startswith("/"):
                continue
            path = url_path(url)
        if path is None:
            continue
        routes = model.frontend_routes(model.root_of(usage.path))
        if any(url_match(path, route, prefix) for route, prefix, _ in routes):
            continue  # served by a Next route handler, a rewrite or a Vite proxy
        if _matches(path, complete, endpoints):
            continue
        key = (url_prop.path, span(url_prop.node), path)  # one options object used by several components
        if key in seen:
            continue
        seen.add(key)
        yield _finding(pctx, model, url_prop, parts, path, endpoints)


def _matches(path: str, complete: bool, endpoints) -> bool:
    for endpoint in endpoints:
        for route in endpoint.paths:
            if path == route:
                return True
            if not complete and (route.endswith(path) or path.endswith(route)):
                return True  # the base URL is unknown (an environment variable)
            if not endpoint.prefix_known and path.endswith(route):
                return True  # a router we could not see included: its mount prefix is unknown
    return False


def _finding(pctx, model, url_prop, parts, path, endpoints):
    routes = sorted({route for endpoint in endpoints for route in endpoint.paths})
    listed = ", ".join(routes)
    message = f"api.url path {path} matches no back-end ChatKit route ({listed}): every request gets 404"
    ctx = pctx.parsed(url_prop.path)
    anchor = span(url_prop.value if url_prop.value is not None else url_prop.node)
    hint = f"point api.url at {routes[0]}" if len(routes) == 1 else f"point api.url at one of {listed}"
    if len(endpoints) != 1 or len(routes) != 1 or not endpoints[0].prefix_known:
        return ctx.finding(anchor, message, hint=hint)
    target = routes[0]
    for part in reversed(parts):  # the literal that ends with the URL's path: the fix goes there
        if part.text is None or part.span is None or part.path is None:
            break
        text = part.text.split("?", 1)[0].split("#", 1)[0]
        trimmed = text.rstrip("/")
        if path != "/" and trimmed.endswith(path):
            part_ctx = pctx.parsed(part.path)
            start = part.span[0] + len(trimmed) - len(path)
            end = start + len(path)
            if part_ctx.text[start:end] != path:
                break
            return part_ctx.finding((start, end), message, fix=part_ctx.replace((start, end), target), hint=hint)
        if part.text:
            break
    return ctx.finding(anchor, message, hint=hint)


BACKEND = '''from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from chatkit.server import StreamingResult

from .server import server

router = APIRouter(prefix="/api")


@router.post("/chatkit")
async def chatkit_endpoint(request: Request):
    result = await server.process(await request.body(), {})
    if isinstance(result, StreamingResult):
        return StreamingResponse(result, media_type="text/event-stream")
    return Response(content=result.json, media_type="application/json")


app = FastAPI()
app.include_router(router)
'''
CHAT = '''import { ChatKit, useChatKit } from "@openai/chatkit-react";
import { CHATKIT_URL } from "./config";

export default function Chat() {
  const chatkit = useChatKit({ api: { url: CHATKIT_URL, domainKey: "domain_pk_localhost_dev" } });
  return <ChatKit control={chatkit.control} className="h-[600px] w-full" />;
}
'''
VITE_CONFIG = '''import { defineConfig } from "vite";

export default defineConfig({
  server: { proxy: { "/api": { target: "http://localhost:8000", changeOrigin: true } } },
});
'''


def _project(config: str, backend: str = BACKEND, **extra: str) -> dict[str, str]:
    return {"frontend/package.json": VITE_DEV_PACKAGE, "frontend/index.html": VITE_HTML,
            "frontend/src/main.tsx": vite_main("Chat"), "frontend/src/Chat.tsx": CHAT, "frontend/src/config.ts": config,
            "backend/app/main.py": backend, **extra}


ENV_CONFIG = 'const API_BASE = import.meta.env.VITE_API_BASE ?? "http://localhost:8000";\n\nexport const CHATKIT_URL = `${API_BASE}/chatkit`;\n'
NEXT_ROUTE = '''export async function POST(request: Request): Promise<Response> {
  return fetch("http://localhost:8000/api/chatkit", { method: "POST", body: await request.text() });
}
'''

# the router's prefix comes from the settings: where it is served is unknown
BACKEND_COMPUTED_PREFIX = BACKEND.replace("from .server import server", "from .server import server\nfrom .settings import settings").replace(
    "app.include_router(router)", "app.include_router(router, prefix=settings.api_prefix)")
SHARED_OPTIONS = 'export const CHATKIT_OPTIONS = { api: { url: "/chat", domainKey: "domain_pk_localhost_dev" } };\n'
CHAT_SHARED = '''import { ChatKit, useChatKit } from "@openai/chatkit-react";
import { CHATKIT_OPTIONS } from "./config";

export default function Chat() {
  const chatkit = useChatKit(CHATKIT_OPTIONS);
  return <ChatKit control={chatkit.control} className="h-[600px] w-full" />;
}
'''



def _panel(name: str, options: str, imports: str = "") -> str:
    """A component named `name` rendering ChatKit with `options` (an expression)."""
    return (f'import {{ ChatKit, useChatKit }} from "@openai/chatkit-react";\n{imports}\n'
            f"export function {name}() {{\n  const chatkit = useChatKit({options});\n"
            f'  return <ChatKit control={{chatkit.control}} className="h-[600px] w-full" />;\n}}\n')


# in the order the rule meets them: hosted, URL unknown, through the Vite proxy, right, a shared object twice, relative,
# an unknown prefix glued to a relative tail, then a wrong URL
PANELS = {
    "Alpha": _panel("Alpha", '{ api: { getClientSecret: async () => "ek_123" } }'),
    "Beta": _panel("Beta", '{ api: { url: String(import.meta.env.VITE_CHATKIT_URL), domainKey: "domain_pk_localhost_dev" } }'),
    "Chi": _panel("Chi", '{ api: { url: "/backend/chatkit", domainKey: "domain_pk_localhost_dev" } }'),
    "Delta": _panel("Delta", '{ api: { url: "http://localhost:8000/api/chatkit", domainKey: "domain_pk_localhost_dev" } }'),
    "Epsilon": _panel("Epsilon", "CHATKIT_OPTIONS", 'import { CHATKIT_OPTIONS } from "./config";\n'),
    "Eta": _panel("Eta", "CHATKIT_OPTIONS", 'import { CHATKIT_OPTIONS } from "./config";\n'),
    "Gamma": _panel("Gamma", '{ api: { url: "chatkit", domainKey: "domain_pk_localhost_dev" } }'),
    "Kappa": _panel("Kappa", "{ api: { url: `${import.meta.env.VITE_PREFIX}chat`, domainKey: \"domain_pk_localhost_dev\" } }"),
    "Omega": _panel("Omega", '{ api: { url: "http://localhost:8000/chatkit", domainKey: "domain_pk_localhost_dev" } }'),
}


def _panels() -> dict[str, str]:
    files = _project(SHARED_OPTIONS)
    del files["frontend/src/Chat.tsx"]
    files["frontend/src/main.tsx"] = (
        'import { createRoot } from "react-dom/client";\n' + "".join(f'import {{ {n} }} from "./{n}";\n' for n in PANELS)
        + '\ncreateRoot(document.getElementById("root")!).render(\n  <>\n' + "".join(f"    <{n} />\n" for n in PANELS)
        + "  </>,\n);\n")
    proxy = 'import { defineConfig } from "vite";\n\nexport default defineConfig({ server: { proxy: { "/backend": "http://localhost:8000" } } });\n'
    return files | {f"frontend/src/{name}.tsx": text for name, text in PANELS.items()} | {"frontend/vite.config.ts": proxy}


RULE.cases(
    valid=[
        Valid(_project('export const CHATKIT_URL = "http://localhost:8000/api/chatkit";\n'), name="absolute URL, router prefix"),
        Valid(_project('export const CHATKIT_URL = "/api/chatkit";\n', **{"frontend/vite.config.ts": VITE_CONFIG}),
              name="vite proxy"),
        Valid(_project('export const CHATKIT_URL = `${import.meta.env.VITE_API_URL}/chatkit`;\n'),
              name="unknown base, known tail"),
        Valid(_project('export const CHATKIT_URL = "/chatkit";\n',
                       **{"frontend/package.json": VITE_DEV_PACKAGE.replace('"react"', '"next": "16.4.6", "react"'),
                          "frontend/app/layout.tsx": "export default function RootLayout() {\n  return null;\n}\n",
                          "frontend/app/chatkit/route.ts": NEXT_ROUTE}), name="next route handler proxies"),
        Valid(_project('export const CHATKIT_URL = "http://localhost:3000/api/chat/kit";\n',
                       **{"frontend/package.json": VITE_DEV_PACKAGE.replace('"react"', '"next": "16.4.6", "react"'),
                          "frontend/app/layout.tsx": "export default function RootLayout() {\n  return null;\n}\n",
                          "frontend/app/api/[...path]/route.ts": NEXT_ROUTE}), name="absolute URL to a next catch-all route"),
        Valid(_project('export const CHATKIT_URL = "http://localhost:8000/chat";\n',
                       BACKEND.replace("server.process(await request.body(), {})", "{}")), name="no process(): CK211"),
        Valid(_project('export const CHATKIT_URL = "http://localhost:8000/api/chatkit/?debug=1";\n'),
              name="a trailing slash and a query"),
        Valid(_project('export const CHATKIT_URL = "chatkit";\n'), name="relative to the page: not judged"),
        Valid(_project('export const CHATKIT_URL = `${window.location.origin}/chatkit`;\n'),
              name="unknown origin, the route ends with the tail"),
        Valid({**_project('export const CHATKIT_URL = "/chat";\n'), "frontend/src/Chat.tsx": CHAT.replace(
                  'api: { url: CHATKIT_URL, domainKey: "domain_pk_localhost_dev" }',
                  "api: { url: CHATKIT_URL, getClientSecret: async () => 'ek_123' }")},
              name="hosted mode: the URL is not this back end's"),
        Valid({name: text for name, text in _project('export const CHATKIT_URL = "/chat";\n').items()
               if not name.startswith("backend/")}, name="no back end in the project"),
        Valid(_project("export const CHATKIT_URL = String(import.meta.env.VITE_CHATKIT_URL);\n"), name="the whole URL unknown"),
        Valid(_project('export const CHATKIT_URL = "http://localhost:8000/v1/api/chatkit";\n', BACKEND_COMPUTED_PREFIX),
              name="a router included under a computed prefix: a URL ending with its route may be right"),
        Valid(_project("export const CHATKIT_URL = `${import.meta.env.VITE_API_URL}/v1/api/chatkit`;\n"),
              name="unknown base, the tail ends with the route"),
        Valid(_project("export const CHATKIT_URL = `${import.meta.env.VITE_PREFIX}chat`;\n"),
              name="unknown base glued to a relative tail: not judged"),
    ],
    invalid=[
        Invalid(_project(ENV_CONFIG), {"frontend/src/config.ts": ENV_CONFIG.replace("}/chatkit`", "}/api/chatkit`")},
                findings=[("frontend/src/config.ts", 3, 40, "api.url path /chatkit matches no back-end ChatKit route (/api/chatkit)")], unsafe=True, name="env fallback in a config module"),
        Invalid(_project('export const CHATKIT_URL = "http://127.0.0.1:8000/chat";\n'),
                {"frontend/src/config.ts": 'export const CHATKIT_URL = "http://127.0.0.1:8000/api/chatkit";\n'},
                findings=[("frontend/src/config.ts", 1, 50, "api.url path /chat matches no back-end ChatKit route (/api/chatkit)")], unsafe=True, name="stale path"),
        Invalid(_project('export const CHATKIT_URL = "/chatkit";\n', **{"frontend/vite.config.ts": VITE_CONFIG}),
                {"frontend/src/config.ts": 'export const CHATKIT_URL = "/api/chatkit";\n'},
                findings=[("frontend/src/config.ts", 1, 29, "api.url path /chatkit matches no back-end ChatKit route (/api/chatkit)")], unsafe=True, name="outside the vite proxy"),
        Invalid(_project('export const CHATKIT_URL = "http://localhost:8000/chatkit";\n',
                         BACKEND.replace('@router.post("/chatkit")', '@router.post("/chatkit")\n@router.post("/v2/chatkit")')),
                None, findings=[("frontend/src/Chat.tsx", 5, 44, "api.url path /chatkit matches no back-end ChatKit route (/api/chatkit")], unsafe=True, name="two routes: report only"),
        Invalid(_project('export const CHATKIT_URL = "http://localhost:8000/chat";\n', BACKEND_COMPUTED_PREFIX), None,
                findings=[("frontend/src/Chat.tsx", 5, 44, "api.url path /chat matches no back-end ChatKit route (/api/chatkit)")], unsafe=True,
                name="a router included under a computed prefix: reported, the full path unknown so not rewritten"),
        Invalid(_project('export const CHATKIT_URL = "http://localhost:8000/";\n'), None,
                findings=[("frontend/src/Chat.tsx", 5, 44, "api.url path / matches no back-end ChatKit route (/api/chatkit)")],
                unsafe=True, name="the server's root: reported, no path to rewrite"),
        Invalid({**_project(SHARED_OPTIONS), "frontend/src/Chat.tsx": CHAT_SHARED,
                  "frontend/src/Help.tsx": CHAT_SHARED.replace("function Chat", "function Help"),
                  "frontend/src/main.tsx": vite_main("Chat").replace(
                      'import Chat from "./Chat";', 'import Chat from "./Chat";\nimport Help from "./Help";').replace(
                      "<Chat />", "<><Chat /><Help /></>")},
                {"frontend/src/config.ts": SHARED_OPTIONS.replace('"/chat"', '"/api/chatkit"')},
                findings=[("frontend/src/config.ts", 1, 47, "api.url path /chat matches no back-end ChatKit route (/api/chatkit)")], unsafe=True,
                name="one options object used by two components: one finding"),
        Invalid(_project('export const CHATKIT_URL = "http://localhost:8000/chat";\n', **{"backend/app/legacy.py": BACKEND}),
                None, findings=[("frontend/src/Chat.tsx", 5, 44, "api.url path /chat matches no back-end ChatKit route (/api/chatkit)")], unsafe=True,
                name="two endpoints on the route: reported, not rewritten"),
        Invalid(_project("export const CHATKIT_URL = `${import.meta.env.VITE_API_URL}/chat`;\n"),
                {"frontend/src/config.ts": "export const CHATKIT_URL = `${import.meta.env.VITE_API_URL}/api/chatkit`;\n"},
                findings=[("frontend/src/config.ts", 1, 60, "api.url path /chat matches no back-end ChatKit route (/api/chatkit)")], unsafe=True, name="unknown base, wrong tail"),
        Invalid(_project('export const CHATKIT_URL = "http://127.0.0.1:8000/chat?debug=1#top";\n'),
                {"frontend/src/config.ts": 'export const CHATKIT_URL = "http://127.0.0.1:8000/api/chatkit?debug=1#top";\n'},
                findings=[("frontend/src/config.ts", 1, 50, "api.url path /chat matches no back-end ChatKit route (/api/chatkit)")], unsafe=True, name="the query and fragment kept"),
        Invalid(_project('export const CHATKIT_URL = "http://127.0.0.1:8000/chat/";\n'),
                {"frontend/src/config.ts": 'export const CHATKIT_URL = "http://127.0.0.1:8000/api/chatkit/";\n'},
                findings=[("frontend/src/config.ts", 1, 50, "api.url path /chat matches no back-end ChatKit route (/api/chatkit)")], unsafe=True, name="the trailing slash kept"),
        Invalid(_project('const HOST = "http://127.0.0.1:8000";\nexport const CHATKIT_URL = HOST + "/chat";\n'),
                {"frontend/src/config.ts": 'const HOST = "http://127.0.0.1:8000";\nexport const CHATKIT_URL = HOST + "/api/chatkit";\n'},
                findings=[("frontend/src/config.ts", 2, 36, "api.url path /chat matches no back-end ChatKit route (/api/chatkit)")], unsafe=True, name="host and path concatenated"),
        Invalid(_project('const PATH = "/chat";\nexport const CHATKIT_URL = `http://127.0.0.1:8000${PATH}`;\n'),
                {"frontend/src/config.ts": 'const PATH = "/api/chatkit";\nexport const CHATKIT_URL = `http://127.0.0.1:8000${PATH}`;\n'},
                findings=[("frontend/src/config.ts", 1, 15, "api.url path /chat matches no back-end ChatKit route (/api/chatkit)")], unsafe=True, name="the path in a constant"),
        Invalid(_project('export const CHATKIT_URL = "http://127.0.0.1:8000/chat#top";\n'),
                {"frontend/src/config.ts": 'export const CHATKIT_URL = "http://127.0.0.1:8000/api/chatkit#top";\n'},
                findings=[("frontend/src/config.ts", 1, 50, "api.url path /chat matches no back-end ChatKit route (/api/chatkit)")], unsafe=True, name="the fragment kept"),
        Invalid(_panels(), {
            "frontend/src/config.ts": SHARED_OPTIONS.replace('"/chat"', '"/api/chatkit"'),
            "frontend/src/Omega.tsx": PANELS["Omega"].replace("8000/chatkit", "8000/api/chatkit"),
        }, findings=[("frontend/src/config.ts", 1, 47, "api.url path /chat matches no back-end ChatKit route (/api/chatkit)"),
                      ("frontend/src/Omega.tsx", 4, 66, "api.url path /chatkit matches no back-end ChatKit route (/api/chatkit)")],
            unsafe=True, name="nine panels: each kind passed over, a shared object reported once, then the last wrong URL"),
        Invalid(_project('const HOST = "http://127.0.0.1:8000";\nconst PATH = "/chat";\nexport const CHATKIT_URL = HOST + PATH + "?v=2";\n'),
                None, findings=[("frontend/src/Chat.tsx", 5, 44, "api.url path /chat matches no back-end ChatKit route (/api/chatkit)")], unsafe=True,
                name="the path not in the last literal: reported, not rewritten"),
    ],
)
