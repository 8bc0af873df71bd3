"""A back end behind `<ChatKit api={{ url }}>` must speak the ChatKit protocol through `ChatKitServer.process()`.

## Why
With `api: { url, domainKey }` the ChatKit web component talks to your back end with its own protocol: JSON
requests such as `{"type": "threads.create", "params": {...}}`, answered with ChatKit's JSON or its SSE events
(`thread.created`, `thread.item.added`, ...). Only `ChatKitServer.process()` implements that protocol. A "/chatkit"
route that answers with its own SSE frames, Assistants-style events, Vercel AI `0:` frames or a plain
`{"response": ...}` never satisfies the widget: it shows an error or stays empty, whatever the route returns.

## Wrong
```python
@app.post("/chatkit")
async def chatkit(request: Request):
    body = await request.json()
    answer = await Runner.run(agent, body["message"])
    return {"response": answer.final_output}
```

## Right
```python
@app.post("/chatkit")
async def chatkit(request: Request):
    result = await server.process(await request.body(), {"request": request})   # server: a ChatKitServer
    if isinstance(result, StreamingResult):
        return StreamingResponse(result, media_type="text/event-stream")
    return Response(content=result.json, media_type="application/json")
```
Report only: such a back end needs a `ChatKitServer` subclass (a `Store` and a `respond()`), not a patch. If the
front end does not need ChatKit's protocol, drop `<ChatKit>` and call your API from your own UI instead.
"""

from __future__ import annotations

import re

from chatkit_fix.codemods._cases import FRONTEND_SHELL, frontend_app
from chatkit_fix.findings import Safety
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK211",
    slug="not-chatkit-protocol",
    safety=Safety.REPORT,
    summary="a /chatkit back end that never calls ChatKitServer.process while the front end uses <ChatKit api.url>",
    url="https://openai.github.io/chatkit-python/quickstart/",
    languages=("python",),
    module=__name__,
    explanation=__doc__,
    finding_triggers=(b"chatkit",),
)


@RULE.check_project
def check(pctx):
    from chatkit_fix.analysis.frontend import BackendScanner, frontend_model, known_url

    project = pctx.project
    if not project.grep(b"chatkit", "python") and not project.grep(b"ChatKit", "python"):
        return
    if pctx.model.web.chatkit_endpoints():
        return  # a route reaches ChatKitServer.process(): CK108 judges the URL; the front end need not be read
    model = frontend_model(project)
    if not model.relevant:
        return
    custom = [usage for usage in model.usages if usage.custom]
    if not custom:
        return
    if model.endpoints:
        return  # some route reaches ChatKitServer.process: CK108 judges whether the URL matches it
    urls = []
    for usage in custom:
        prop = usage.api.get("url")
        if prop is not None and prop.value is not None:
            text, _ = known_url(model.string_parts(prop.path, prop.value))
            if text:
                urls.append(_path_of(text))
    scanner = BackendScanner(model)
    scanner.endpoints()
    reported = set()
    for router, route_path, handler, path, _decorator in scanner.routes:
        prefixes = scanner._prefixes(router, set()) or [scanner.routers.get(router, {}).get("prefix", "")]
        full = sorted({_join(p, route_path) for p in prefixes})
        if not any(_is_chatkit_route(route, urls) for route in full):
            continue
        key = (path, handler.lineno)
        if key in reported:
            continue
        reported.add(key)
        ctx = pctx.parsed(path)
        if ctx is None:
            continue
        yield ctx.finding(
            ctx.header_span(handler),
            f"POST {full[0]} is where <ChatKit api.url> sends its requests, but it never calls "
            "ChatKitServer.process(): it does not speak the ChatKit protocol, so the widget errors or stays empty",
            hint="serve it with a ChatKitServer subclass: result = await server.process(await request.body(), ctx)",
        )


def _join(prefix: str, path: str) -> str:
    joined = (prefix.rstrip("/") + "/" + path.lstrip("/")) if path else prefix
    return "/" + joined.strip("/") if joined.strip("/") else "/"


def _path_of(url: str) -> str:
    match = re.match(r"^[a-z]+://[^/]+(/.*)?$", url)
    path = (match.group(1) or "/") if match else url
    return "/" + path.split("?", 1)[0].strip("/")


def _is_chatkit_route(route: str, urls: list[str]) -> bool:
    route = "/" + route.strip("/")
    if any(url == route or url.endswith(route) and route != "/" for url in urls):
        return True
    last = route.rstrip("/").rsplit("/", 1)[-1].lower()
    return last == "chatkit"


_FRONTEND = {
    **FRONTEND_SHELL,
    "frontend/src/App.tsx": frontend_app("{ url: 'http://localhost:8000/chatkit', domainKey: 'local' }"),
}

RULE.cases(
    valid=[
        Valid(
            {
                **_FRONTEND,
                "backend/main.py": "from fastapi import FastAPI, Request\n"
                "from fastapi.responses import Response, StreamingResponse\n"
                "from chatkit.server import StreamingResult\n"
                "from server import server\n\n"
                "app = FastAPI()\n\n\n"
                "@app.post('/chatkit')\n"
                "async def chatkit(request: Request):\n"
                "    result = await server.process(await request.body(), {})\n"
                "    if isinstance(result, StreamingResult):\n"
                "        return StreamingResponse(result, media_type='text/event-stream')\n"
                "    return Response(content=result.json, media_type='application/json')\n",
            },
            name="route reaches process",
        ),
        Valid(
            {
                **_FRONTEND,
                "backend/main.py": "from fastapi import FastAPI, Request\n"
                "from server import server\n\n"
                "app = FastAPI()\n\n\n"
                "@app.post('/chatkit')\n"
                "async def chatkit(request: Request):\n"
                "    return await server.process(await request.body(), {})\n\n\n"
                "@app.post('/')\n"
                "async def root(request: Request):\n"
                "    return {'ok': True}\n\n\n"
                "@app.post('/api/messages')\n"
                "async def messages(request: Request):\n"
                "    return {'ok': True}\n",
            },
            name="other POST routes next to the ChatKit one, the root among them",
        ),
        Valid(
            {
                **{k: v for k, v in _FRONTEND.items() if k != "frontend/src/App.tsx"},
                "frontend/src/App.tsx": "import { ChatKit, useChatKit } from '@openai/chatkit-react';\n\n"
                "export function App() {\n"
                "  const { control } = useChatKit({ api: { async getClientSecret() { return (await fetch('/api/chatkit/session')).json(); } } });\n"
                "  return <ChatKit control={control} className='h-[600px]' />;\n"
                "}\n",
                "backend/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
                "@app.post('/api/chatkit/session')\nasync def session():\n    return {'client_secret': await mint()}\n",
            },
            name="hosted mode: the back end only mints sessions",
        ),
    ],
    invalid=[
        Invalid(
            {
                **FRONTEND_SHELL,
                "frontend/src/App.tsx": frontend_app("{ url: 'http://localhost:8000/api/chat?session=1', domainKey: 'local' }"),
                "backend/main.py": '"""The back end of the ChatKit panel."""\n'
                "from fastapi import FastAPI, Request\n"
                "from fastapi.responses import StreamingResponse\n\n"
                "app = FastAPI()\n\n\n"
                "@app.post('/')\n"
                "async def root(request: Request):\n"
                "    return {'ok': True}\n\n\n"
                "@app.post('/api/messages')\n"
                "async def messages(request: Request):\n"
                "    return {'ok': True}\n\n\n"
                "@app.post('/api/chat')\n"
                "async def chat(request: Request):\n"
                "    body = await request.json()\n"
                "    return StreamingResponse(iter([body['text']]), media_type='text/event-stream')\n",
            },
            None,
            findings=[("backend/main.py", 19, 1, "POST /api/chat is where <ChatKit api.url> sends its requests")],
            name="only the route the URL names (query dropped), not the root or another POST route",
        ),
        Invalid(
            {
                **FRONTEND_SHELL,
                "frontend/src/App.tsx": frontend_app("{ url: 'http://localhost:8000/api/assistant', domainKey: 'local' }"),
                "backend/main.py": "from fastapi import FastAPI, Request\n"
                "from fastapi.responses import StreamingResponse\n\n"
                "app = FastAPI()\n\n\n"
                "@app.post('/v1/ChatKit/')\n"
                "async def chat(request: Request):\n"
                "    body = await request.json()\n"
                "    return StreamingResponse(iter([body['text']]), media_type='text/event-stream')\n",
            },
            None,
            findings=[("backend/main.py", 8, 1, "POST /v1/ChatKit is where <ChatKit api.url> sends its requests")],
            name="a route named chatkit (any case, trailing slash) the URL does not name",
        ),
        Invalid(
            {
                **_FRONTEND,
                "backend/app/routes/chat.py": "from fastapi import APIRouter, Request\n"
                "from fastapi.responses import StreamingResponse\n"
                "from agents import Runner\n\n"
                "router = APIRouter(prefix='/chatkit')\n\n\n"
                "@router.post('')\n"
                "async def chatkit(request: Request):\n"
                "    body = await request.json()\n"
                "    result = Runner.run_streamed(agent, body['message'])\n"
                "    return StreamingResponse(sse(result), media_type='text/event-stream')\n",
                "backend/app/main.py": "from fastapi import FastAPI\nfrom app.routes.chat import router\n\n"
                "app = FastAPI()\napp.include_router(router)\n",
                "backend/pyproject.toml": "[project]\nname = 'b'\ndependencies = ['openai-chatkit>=1.6']\n",
            },
            None,
            findings=[("backend/app/routes/chat.py", 9, 1, "POST /chatkit is where <ChatKit api.url> sends its requests,")],
            name="custom SSE behind a router prefix",
        ),
        Invalid(
            {
                "web/package.json": '{"dependencies": {"@openai/chatkit-react": "^1.6.1", "next": "15.0.0", "react": "^19.0.0"}}\n',
                "web/app/layout.tsx": "import Script from 'next/script';\n\n"
                "export default function RootLayout({ children }: { children: React.ReactNode }) {\n"
                "  return (<html><body><Script src='https://cdn.platform.openai.com/deployments/chatkit/chatkit.js' />"
                "{children}</body></html>);\n}\n",
                "web/app/page.tsx": "'use client';\nimport { ChatKit, useChatKit } from '@openai/chatkit-react';\n\n"
                "const API = process.env.NEXT_PUBLIC_API_URL;\n\n"
                "export default function Page() {\n"
                "  const chatkit = useChatKit({ api: { url: `${API}/api/chat`, domainKey: 'dk' } });\n"
                "  return <ChatKit control={chatkit.control} className='h-[600px]' />;\n"
                "}\n",
                "api/main.py": "from fastapi import FastAPI, Request\nfrom chatkit.server import ChatKitServer\n\n"
                "app = FastAPI()\n\n\n"
                "@app.post('/api/chat')\n"
                "async def chat(request: Request):\n"
                "    body = await request.json()\n"
                "    return {'response': await answer(body.get('message', ''))}\n",
                "api/requirements.txt": "fastapi\nopenai-chatkit\n",
            },
            None,
            findings=[("api/main.py", 8, 1, "POST /api/chat is where <ChatKit api.url> sends its requests,")],
            name="Next app, URL from a template, JSON answer",
        ),
    ],
)
