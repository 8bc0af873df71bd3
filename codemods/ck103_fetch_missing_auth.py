"""The ChatKit options have an `api.url` and no `api.fetch`, while the back-end endpoint requires a bearer token.

## Why
ChatKit calls the `api.url` endpoint with the browser's `fetch` and sends no `Authorization` header: there is no
`headers` option (`api.headers` is a type error and is ignored at run time). When the FastAPI endpoint reads
`Authorization` (directly, through `HTTPBearer`/`OAuth2PasswordBearer`, or through a `Depends(...)` dependency that
does), every request gets 401 and the panel shows a generic error, or, with an anonymous fallback, every user shares
one identity. The only way to send the token is a custom `api.fetch` that merges it into ChatKit's own headers.

The rule is cross-file: it fires only when the back-end route that the front end's `api.url` reaches (the one calling
`ChatKitServer.process`) requires a bearer token. Hosted mode (`getClientSecret`) is out of scope. The fix is unsafe
(it changes what is sent): with `[tool.chatkit-fix] token-getter = "@/lib/auth:getToken"` it imports the getter and
adds an `authenticatedFetch`; without it, it leaves a `chatkit-fix: TODO[CK103]` marker.

## Wrong
```tsx
const chatkit = useChatKit({
  api: { url: "/chatkit", domainKey: "domain_pk_localhost_dev" },
});
```

## Right
```tsx
import { getToken } from "@/lib/auth";

async function authenticatedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const headers = new Headers(init?.headers);
  const token = await getToken();
  if (token) headers.set("Authorization", `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

const chatkit = useChatKit({
  api: { url: "/chatkit", domainKey: "domain_pk_localhost_dev", fetch: authenticatedFetch },
});
```
"""

from __future__ import annotations

from chatkit_fix.analysis.frontend import (
    append_member,
    check_frontend,
    endpoints_near,
    ensure_import,
    free_name,
    indent_unit,
    is_typescript,
    known_url,
    span,
    token_getter,
    top_level_statement,
    url_match,
    url_path,
)
from chatkit_fix.codemods._cases import NEXT_LAYOUT, NEXT_PACKAGE, VITE_DEV_PACKAGE, VITE_HTML, next_page, vite_html, vite_main
from chatkit_fix.findings import Safety
from chatkit_fix.sources import HTML_SUFFIXES
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK103",
    slug="fetch-missing-auth",
    safety=Safety.UNSAFE,
    summary="api.url without api.fetch while the back-end endpoint requires a bearer token (every request gets 401)",
    url="https://openai.github.io/chatkit-js/guides/custom-backends",
    languages=("tsx", "html"),
    triggers=(b"chatkit",),
    module=__name__,
    explanation=__doc__,
    finding_triggers=(),
)


@check_frontend(RULE)
def check(pctx, model):
    for usage in model.usages:
        api = usage.api
        if api is None or api.opaque or usage.hosted or api.get("url") is None or api.get("fetch") is not None:
            continue
        if api.get("headers") is not None:
            continue  # CK106 turns api.headers into an api.fetch first
        endpoints = endpoints_near(model, usage.path)
        if not endpoints:
            continue
        url_prop = api.get("url")
        url, _ = known_url(model.string_parts(url_prop.path, url_prop.value))
        path = url_path(url) if url else None
        if path is not None and url is not None and "://" not in url and any(
                kind == "handler" and url_match(path, route, prefix)
                for route, prefix, kind in model.frontend_routes(model.root_of(usage.path))):
            continue  # a Next route handler proxies the call; it can add the token server-side
        matched = [e for e in endpoints if path is not None and any(p == path or p.endswith(path) for p in e.paths)]
        protected = [e for e in (matched or endpoints) if e.requires_bearer]
        if not protected:
            continue
        endpoint = protected[0]
        where = f"{model.project.relative(endpoint.path)}:{endpoint.line}"
        yield _finding(pctx, model, usage, where)


def _finding(pctx, model, usage, where):
    api = usage.api
    ctx = pctx.parsed(api.path)
    script = model.script(api.path)
    start = span(api.node)[0]
    line_end = ctx.text.find("\n", start)
    anchor = (start, line_end if line_end > start else span(api.node)[1])
    message = (f"ChatKit calls {where} without an Authorization header (no api.fetch) while that endpoint requires a "
               "bearer token: every request gets 401")
    getter = token_getter(model.project)
    if api.path.suffix.lower() in HTML_SUFFIXES:  # a page's inline script: no TODO comment or import fits there
        return ctx.finding(anchor, message, hint="add api.fetch that sets Authorization on new Headers(init?.headers)")
    if getter is None or not api.literal:
        todo = ctx.todo(anchor, "add api.fetch that sends `Authorization: Bearer <token>` (merge into "
                                "new Headers(init?.headers)); set [tool.chatkit-fix] token-getter to let the fix do it")
        return ctx.finding(anchor, message, fix=todo, complete=False,
                           hint="add api.fetch that sets Authorization on new Headers(init?.headers)")
    edits = []
    text = script.text
    call_token = _token_expression(ctx, script, getter, edits)
    name = free_name(script, "authenticatedFetch", "chatkitAuthenticatedFetch")
    unit = indent_unit(text)
    typed = is_typescript(api.path)
    signature = "input: RequestInfo | URL, init?: RequestInit): Promise<Response>" if typed else "input, init)"
    helper = (
        f"async function {name}({signature} {{\n"
        f"{unit}const headers = new Headers(init?.headers);\n"
        f"{unit}const token = {call_token};\n"
        f"{unit}if (token) headers.set(\"Authorization\", `Bearer ${{token}}`);\n"
        f"{unit}return fetch(input, {{ ...init, headers }});\n"
        "}\n\n"
    )
    statement = top_level_statement(api.node)
    insert_at = span(statement)[0]
    insert_at = text.rfind("\n", 0, insert_at) + 1
    edits.append(ctx.insert(insert_at, helper))
    edits.append(append_member(ctx, text, api.node, f"fetch: {name}"))
    return ctx.finding(anchor, message, fix=edits,
                       hint=f"add api.fetch: {name}, which sends the token from {getter}")


def _token_expression(ctx, script, getter: str, edits: list) -> str:
    """`await getToken()` for "module:name" (with the import), a call for a bare name, else the expression."""
    if ":" in getter and not getter.strip().startswith(("(", "async")):
        module, _, name = getter.rpartition(":")
        default = name == "default"
        local, edit = ensure_import(ctx, script, module.strip(), "getToken" if default else name.strip(), default=default)
        if edit is not None:
            edits.append(edit)
        return f"await {local}()"
    expression = getter.strip()
    if all(part.isidentifier() for part in expression.split(".")):
        return f"await {expression}()"
    return f"await ({expression})"


BACKEND_MAIN = '''from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from chatkit.server import StreamingResult

from .auth import current_user
from .server import server

app = FastAPI()


@app.post("/chatkit")
async def chatkit_endpoint(request: Request, user: dict = Depends(current_user)):
    result = await server.process(await request.body(), {"user_id": user["sub"]})
    if isinstance(result, StreamingResult):
        return StreamingResponse(result, media_type="text/event-stream")
    return Response(content=result.json, media_type="application/json")
'''
BACKEND_AUTH = '''import jwt
from fastapi import Header, HTTPException


def current_user(authorization: str = Header(default="")) -> dict:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(status_code=401, detail="missing bearer token")
    return jwt.decode(token, "secret", algorithms=["HS256"])
'''
BACKEND_OPEN = BACKEND_MAIN.replace(", user: dict = Depends(current_user)", "").replace('{"user_id": user["sub"]}', "{}")
PANEL = '''"use client";

import { ChatKit, useChatKit } from "@openai/chatkit-react";

export default function ChatPanel() {
  const chatkit = useChatKit({
    api: {
      url: "http://localhost:8000/chatkit",
      domainKey: "domain_pk_localhost_dev",
    },
  });
  return <ChatKit control={chatkit.control} className="h-[600px] w-full" />;
}
'''
AUTH_TS = '''export async function getToken(): Promise<string | null> {
  return typeof window === "undefined" ? null : window.localStorage.getItem("access_token");
}
'''
NEXT_PROXY = '''import { cookies } from "next/headers";

export async function POST(request: Request): Promise<Response> {
  const token = (await cookies()).get("session")?.value ?? "";
  return fetch("http://localhost:8000/chatkit", {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: await request.text(),
  });
}
'''
PYPROJECT = '[tool.chatkit-fix]\ntoken-getter = "@/lib/auth:getToken"\n'

STATIC_PAGE = """<!doctype html>
<html>
  <head><script src="https://cdn.platform.openai.com/deployments/chatkit/chatkit.js"></script></head>
  <body>
    <openai-chatkit id="chat" style="height: 600px"></openai-chatkit>
    <script type="module">
      const chat = document.getElementById("chat");
      chat.setOptions({
        api: { url: "/api/chatkit", domainKey: "local" },
      });
    </script>
  </body>
</html>
"""


def _project(panel: str, backend: str = BACKEND_MAIN, **extra: str) -> dict[str, str]:
    files = {
        "frontend/package.json": NEXT_PACKAGE,
        "frontend/tsconfig.json": '{"compilerOptions": {"paths": {"@/*": ["./*"]}}}\n',
        "frontend/app/layout.tsx": NEXT_LAYOUT,
        "frontend/app/page.tsx": next_page("ChatPanel", "@/components/ChatPanel"),
        "frontend/components/ChatPanel.tsx": panel,
        "backend/app/main.py": backend,
        "backend/app/auth.py": BACKEND_AUTH,
    }
    files.update(extra)
    return files


PANEL_TODO = PANEL.replace(
    "    api: {\n",
    "    // chatkit-fix: TODO[CK103] add api.fetch that sends `Authorization: Bearer <token>` (merge into new "
    "Headers(init?.headers)); set [tool.chatkit-fix] token-getter to let the fix do it\n    api: {\n")
PANEL_FIXED = '''"use client";

import { ChatKit, useChatKit } from "@openai/chatkit-react";
import { getToken } from "@/lib/auth";

async function authenticatedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const headers = new Headers(init?.headers);
  const token = await getToken();
  if (token) headers.set("Authorization", `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

export default function ChatPanel() {
  const chatkit = useChatKit({
    api: {
      url: "http://localhost:8000/chatkit",
      domainKey: "domain_pk_localhost_dev",
      fetch: authenticatedFetch,
    },
  });
  return <ChatKit control={chatkit.control} className="h-[600px] w-full" />;
}
'''
CONFIG_BEFORE = '''export const CHATKIT_CONFIG = {
  api: { url: "/api/chatkit", domainKey: "domain_pk_localhost_dev" },
  theme: "dark" as const,
};
'''
CONFIG_AFTER = '''import { getToken } from "@/lib/auth";

async function authenticatedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const headers = new Headers(init?.headers);
  const token = await getToken();
  if (token) headers.set("Authorization", `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

export const CHATKIT_CONFIG = {
  api: { url: "/api/chatkit", domainKey: "domain_pk_localhost_dev", fetch: authenticatedFetch },
  theme: "dark" as const,
};
'''
PANEL_SPREAD = '''"use client";

import { ChatKit, useChatKit } from "@openai/chatkit-react";
import { CHATKIT_CONFIG } from "@/lib/chatkit-config";

export default function ChatPanel() {
  const chatkit = useChatKit({ ...CHATKIT_CONFIG, history: { enabled: true } });
  return <ChatKit control={chatkit.control} className="h-[600px] w-full" />;
}
'''
ROUTER_BACKEND = '''from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .server import server

bearer = HTTPBearer()
router = APIRouter(prefix="/chatkit")


@router.post("")
async def chatkit_endpoint(request: Request, credentials: HTTPAuthorizationCredentials = Depends(bearer)):
    result = await server.process(await request.body(), {"token": credentials.credentials})
    if hasattr(result, "json"):
        return Response(content=result.json, media_type="application/json")
    return StreamingResponse(result, media_type="text/event-stream")


app = FastAPI()
app.include_router(router, prefix="/api")
'''
RAW_BEFORE = '''import { useEffect, useRef } from "react";

export default function Chat() {
  const ref = useRef(null);
  useEffect(() => {
    ref.current.setOptions({ api: { url: "/api/chatkit", domainKey: "local" } });
  }, []);
  return <openai-chatkit ref={ref} style={{ height: 600 }} />;
}
'''

PUBLIC_ROUTE = """

@app.post("/anonymous/chatkit")
async def public_chatkit(request: Request):
    result = await server.process(await request.body(), {"user_id": "guest"})
    if isinstance(result, StreamingResult):
        return StreamingResponse(result, media_type="text/event-stream")
    return Response(content=result.json, media_type="application/json")
"""
BACKEND_TWO_ROUTES = BACKEND_MAIN + PUBLIC_ROUTE  # /chatkit requires a token, /anonymous/chatkit does not
AUTH_FETCH = '''async function authenticatedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const headers = new Headers(init?.headers);
  const token = @TOKEN@;
  if (token) headers.set("Authorization", `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

'''
REACT_IMPORT = 'import { ChatKit, useChatKit } from "@openai/chatkit-react";\n'


def _panel_fixed(token: str, imports: str = "") -> str:
    """PANEL with an authenticatedFetch reading the token with `token`, after the imports `imports`."""
    return PANEL.replace(REACT_IMPORT, REACT_IMPORT + imports).replace(
        "export default", AUTH_FETCH.replace("@TOKEN@", token) + "export default").replace(
        '      domainKey: "domain_pk_localhost_dev",\n',
        '      domainKey: "domain_pk_localhost_dev",\n      fetch: authenticatedFetch,\n')


PANEL_FOUR_SPACES_FIXED = '''"use client";

import { ChatKit, useChatKit } from "@openai/chatkit-react";
import { getToken } from "@/lib/auth";

function authenticatedFetch() {
    return null;
}

async function chatkitAuthenticatedFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const headers = new Headers(init?.headers);
    const token = await getToken();
    if (token) headers.set("Authorization", `Bearer ${token}`);
    return fetch(input, { ...init, headers });
}

export default function ChatPanel() {
    const chatkit = useChatKit({
        api: {
            url: "http://localhost:8000/chatkit",
            domainKey: "domain_pk_localhost_dev",
            fetch: chatkitAuthenticatedFetch,
        },
    });
    return <ChatKit control={chatkit.control} className="h-[600px] w-full" />;
}
'''


def _javascript_panel(files: dict[str, str]) -> dict[str, str]:
    """The project with its panel in ChatPanel.jsx (plain JavaScript) instead of ChatPanel.tsx."""
    files = dict(files)
    files["frontend/components/ChatPanel.jsx"] = files.pop("frontend/components/ChatPanel.tsx")
    return files


PANEL_WITH_FETCH = PANEL.replace('      domainKey: "domain_pk_localhost_dev",\n',
                                 '      domainKey: "domain_pk_localhost_dev",\n      fetch: authFetch,\n').replace(
    "export default", "const authFetch: typeof fetch = (input, init) => fetch(input, init);\n\nexport default")
PANEL_WITH_HEADERS = PANEL.replace('      domainKey: "domain_pk_localhost_dev",\n',
                                   '      domainKey: "domain_pk_localhost_dev",\n      headers: { Authorization: "Bearer x" },\n')
FIVE_PANELS_PAGE = '''import AccountChat from "@/components/AccountChat";
import BetaChat from "@/components/BetaChat";
import ConsoleChat from "@/components/ConsoleChat";
import DemoChat from "@/components/DemoChat";
import SupportChat from "@/components/SupportChat";

export default function Home() {
  return (
    <>
      <AccountChat />
      <BetaChat />
      <ConsoleChat />
      <DemoChat />
      <SupportChat />
    </>
  );
}
'''
VITE_PROXY_CONFIG = ('import { defineConfig } from "vite";\n\nexport default defineConfig({\n'
                     '  server: { proxy: { "/chatkit": "http://localhost:8000" } },\n});\n')


def _named(panel: str, name: str) -> str:
    return panel.replace("function ChatPanel", f"function {name}")


def _five_panels() -> dict[str, str]:
    """One page rendering five panels; only SupportChat calls the protected endpoint without a fetch: AccountChat has
    a fetch, BetaChat api.headers, ConsoleChat goes through a Next route handler, DemoChat to the open endpoint."""
    files = _project(PANEL, BACKEND_TWO_ROUTES)
    del files["frontend/components/ChatPanel.tsx"]
    return files | {
        "frontend/app/page.tsx": FIVE_PANELS_PAGE, "frontend/app/api/chatkit/route.ts": NEXT_PROXY,
        "frontend/components/AccountChat.tsx": _named(PANEL_WITH_FETCH, "AccountChat"),
        "frontend/components/BetaChat.jsx": _named(PANEL_WITH_HEADERS, "BetaChat"),
        "frontend/components/ConsoleChat.tsx": _named(PANEL.replace("http://localhost:8000/chatkit", "/api/chatkit"), "ConsoleChat"),
        "frontend/components/DemoChat.tsx": _named(
            PANEL.replace("http://localhost:8000/chatkit", "http://localhost:8000/anonymous/chatkit"), "DemoChat"),
        "frontend/components/SupportChat.tsx": _named(PANEL, "SupportChat"),
    }


RULE.cases(
    valid=[
        Valid(_project(PANEL, BACKEND_OPEN), name="back end without auth"),
        Valid(_project(PANEL.replace('      domainKey: "domain_pk_localhost_dev",\n',
                                     '      domainKey: "domain_pk_localhost_dev",\n      fetch: authFetch,\n').replace(
            'export default', 'const authFetch: typeof fetch = (input, init) => fetch(input, init);\n\nexport default')),
              name="custom fetch present"),
        Valid(_project(PANEL.replace('''    api: {
      url: "http://localhost:8000/chatkit",
      domainKey: "domain_pk_localhost_dev",
    },''', '''    api: {
      getClientSecret: async () => "secret",
    },''')), name="hosted mode"),
        Valid(_project("export default function ChatPanel() {\n  return null;\n}\n",
                       **{"frontend/components/Old.tsx": PANEL}), name="dead code"),
        Valid(_project(PANEL.replace("http://localhost:8000/chatkit", "/api/chatkit"),
                       **{"frontend/app/api/chatkit/route.ts": NEXT_PROXY}), name="next route handler adds the token"),
        Valid(_javascript_panel(_project(PANEL.replace(
            '      domainKey: "domain_pk_localhost_dev",\n',
            '      domainKey: "domain_pk_localhost_dev",\n      headers: { Authorization: "Bearer x" },\n'))),
              name="api.headers (a type error in TypeScript): CK106 turns it into an api.fetch first"),
        Valid({name: text for name, text in _project(PANEL).items() if not name.startswith("backend/")},
              name="no back end in the project: nothing says a token is required"),
        Valid(_project(PANEL.replace("http://localhost:8000/chatkit", "http://localhost:8000/anonymous/chatkit"),
                       BACKEND_TWO_ROUTES), name="the URL reaches the open one of two endpoints"),
        Valid(_project(PANEL.replace("http://localhost:8000/chatkit", "http://localhost:8000/public/chatkit"),
                       BACKEND_MAIN + PUBLIC_ROUTE.replace("/anonymous/chatkit", "/public/chatkit")),
              name="the URL reaches the open endpoint, whose route sorts after the protected one"),
        Valid(_project(PANEL.replace("http://localhost:8000/chatkit", "/chatkit"),
                       BACKEND_MAIN.replace('"/chatkit"', '"/admin/chat"') + PUBLIC_ROUTE.replace("/anonymous/chatkit", "/api/chatkit")),
              name="no route is the URL's path; the open one ends with it, the protected one does not"),
        Valid(_project(PANEL.replace("    api: {\n", "    api: {\n      ...apiDefaults,\n").replace(
            REACT_IMPORT, REACT_IMPORT + 'import { apiDefaults } from "@acme/chat-config";\n')),
            name="api spread from a package's object: its fetch may be there"),
    ],
    invalid=[
        Invalid(_project(PANEL), {"frontend/components/ChatPanel.tsx": PANEL_TODO}, findings=[("frontend/components/ChatPanel.tsx", 7, 10, "ChatKit calls backend/app/main.py:12 without an Authorization header")], unsafe=True,
                name="no token getter leaves a TODO"),
        Invalid(_project(PANEL, **{"pyproject.toml": PYPROJECT, "frontend/lib/auth.ts": AUTH_TS}),
                {"frontend/components/ChatPanel.tsx": PANEL_FIXED}, findings=[("frontend/components/ChatPanel.tsx", 7, 10, "ChatKit calls backend/app/main.py:12 without an Authorization header")], unsafe=True,
                name="token getter configured"),
        Invalid(_project(PANEL_SPREAD, ROUTER_BACKEND, **{"pyproject.toml": PYPROJECT, "frontend/lib/auth.ts": AUTH_TS,
                                                          "frontend/lib/chatkit-config.ts": CONFIG_BEFORE}),
                {"frontend/lib/chatkit-config.ts": CONFIG_AFTER}, findings=[("frontend/lib/chatkit-config.ts", 2, 8, "ChatKit calls backend/app/main.py:12 without an Authorization header")], unsafe=True,
                name="spread config object, HTTPBearer router with prefixes"),
        Invalid({"frontend/package.json": '{"dependencies": {"react": "19.3.1", "vite": "7.2.4"}}\n',
                 "frontend/index.html": vite_html(entry="/src/main.jsx"),
                 "frontend/src/main.jsx": 'import { createRoot } from "react-dom/client";\nimport Chat from "./Chat";\n\n'
                                          'createRoot(document.getElementById("root")).render(<Chat />);\n',
                 "frontend/src/Chat.jsx": RAW_BEFORE,
                 "backend/app/main.py": ROUTER_BACKEND,
                 "pyproject.toml": '[tool.chatkit-fix]\ntoken-getter = "window.auth.currentToken"\n'},
                {"frontend/src/Chat.jsx": '''import { useEffect, useRef } from "react";

async function authenticatedFetch(input, init) {
  const headers = new Headers(init?.headers);
  const token = await window.auth.currentToken();
  if (token) headers.set("Authorization", `Bearer ${token}`);
  return fetch(input, { ...init, headers });
}

export default function Chat() {
  const ref = useRef(null);
  useEffect(() => {
    ref.current.setOptions({ api: { url: "/api/chatkit", domainKey: "local", fetch: authenticatedFetch } });
  }, []);
  return <openai-chatkit ref={ref} style={{ height: 600 }} />;
}
'''}, findings=[("frontend/src/Chat.jsx", 6, 35, "ChatKit calls backend/app/main.py:12 without an Authorization header")], unsafe=True, name="raw element setOptions in JSX, getter expression"),
        Invalid({"frontend/chat.html": STATIC_PAGE, "backend/app/main.py": ROUTER_BACKEND,
                 "pyproject.toml": '[tool.chatkit-fix]\ntoken-getter = "window.auth.currentToken"\n'}, None,
                findings=[("frontend/chat.html", 9, 14, "ChatKit calls backend/app/main.py:12 without an Authorization header")],
                unsafe=True, name="static page's inline script: reported, no edit inside the page's script"),
        Invalid(_project(PANEL, BACKEND_TWO_ROUTES), {"frontend/components/ChatPanel.tsx": PANEL_TODO},
                findings=[("frontend/components/ChatPanel.tsx", 7, 10, "ChatKit calls backend/app/main.py:12 without an Authorization header")],
                unsafe=True, name="the URL reaches the protected one of two endpoints"),
        Invalid(_project(PANEL, **{"pyproject.toml": '[tool.chatkit-fix]\ntoken-getter = "localStorage.getItem(\\"access_token\\")"\n'}),
                {"frontend/components/ChatPanel.tsx": _panel_fixed('await (localStorage.getItem("access_token"))')},
                findings=[("frontend/components/ChatPanel.tsx", 7, 10, "without an Authorization header")], unsafe=True,
                name="a getter expression is awaited as written"),
        Invalid(_project(PANEL, **{"pyproject.toml": '[tool.chatkit-fix]\ntoken-getter = "@/lib/auth:default"\n',
                                   "frontend/lib/auth.ts": AUTH_TS.replace("export async", "export default async")}),
                {"frontend/components/ChatPanel.tsx": _panel_fixed("await getToken()", 'import getToken from "@/lib/auth";\n')},
                findings=[("frontend/components/ChatPanel.tsx", 7, 10, "without an Authorization header")], unsafe=True,
                name="a default-exported getter"),
        Invalid(_project(PANEL.replace(REACT_IMPORT, REACT_IMPORT + 'import { getToken as readToken } from "@/lib/auth";\n'),
                         **{"pyproject.toml": PYPROJECT, "frontend/lib/auth.ts": AUTH_TS}),
                {"frontend/components/ChatPanel.tsx": _panel_fixed(
                    "await readToken()", 'import { getToken as readToken } from "@/lib/auth";\n')},
                findings=[("frontend/components/ChatPanel.tsx", 8, 10, "without an Authorization header")], unsafe=True,
                name="the getter already imported under another name"),
        Invalid(_project(PANEL.replace("  ", "    ").replace(
            "export default", "function authenticatedFetch() {\n    return null;\n}\n\nexport default"),
            **{"pyproject.toml": PYPROJECT, "frontend/lib/auth.ts": AUTH_TS}),
            {"frontend/components/ChatPanel.tsx": PANEL_FOUR_SPACES_FIXED},
            findings=[("frontend/components/ChatPanel.tsx", 11, 14, "without an Authorization header")], unsafe=True,
            name="four-space indentation, authenticatedFetch already declared"),
        Invalid(_five_panels(), {"frontend/components/SupportChat.tsx": _named(PANEL_TODO, "SupportChat")},
                findings=[("frontend/components/SupportChat.tsx", 7, 10, "ChatKit calls backend/app/main.py:12 without an Authorization header")],
                unsafe=True, name="five panels, one calling the protected endpoint without a fetch"),
        Invalid({"frontend/package.json": VITE_DEV_PACKAGE, "frontend/index.html": VITE_HTML, "frontend/vite.config.ts": VITE_PROXY_CONFIG,
                 "frontend/src/main.tsx": vite_main("ChatPanel"),
                 "frontend/src/ChatPanel.tsx": PANEL.replace("http://localhost:8000/chatkit", "/chatkit"),
                 "backend/app/main.py": BACKEND_MAIN, "backend/app/auth.py": BACKEND_AUTH},
                {"frontend/src/ChatPanel.tsx": PANEL_TODO.replace("http://localhost:8000/chatkit", "/chatkit")},
                findings=[("frontend/src/ChatPanel.tsx", 7, 10, "ChatKit calls backend/app/main.py:12 without an Authorization header")],
                unsafe=True, name="a Vite dev proxy forwards the request as sent: no token added"),
        Invalid(_project(PANEL, **{"pyproject.toml": '[tool.chatkit-fix]\ntoken-getter = "@/lib/session:accessToken"\n',
                                   "frontend/lib/session.ts": AUTH_TS.replace("getToken", "accessToken")}),
                {"frontend/components/ChatPanel.tsx": _panel_fixed("await accessToken()", 'import { accessToken } from "@/lib/session";\n')},
                findings=[("frontend/components/ChatPanel.tsx", 7, 10, "without an Authorization header")], unsafe=True,
                name="a getter named before `default` in the alphabet is still a named import"),
        Invalid(_project(PANEL, **{"backend/app/v2.py": BACKEND_MAIN.replace('"/chatkit"', '"/v2/chatkit"')}),
                {"frontend/components/ChatPanel.tsx": PANEL_TODO},
                findings=[("frontend/components/ChatPanel.tsx", 7, 10, "ChatKit calls backend/app/main.py:12 without an Authorization header")],
                unsafe=True, name="two protected endpoints: the message names the first"),
    ],
)
