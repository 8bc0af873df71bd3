"""`allow_origins=["*"]` with `allow_credentials=True` lets every web site make credentialed calls to the back end.

## Why
The Fetch standard forbids `Access-Control-Allow-Origin: *` on credentialed requests, so Starlette's
`CORSMiddleware` does not send `*` in this configuration: it **echoes whatever `Origin` the request carries** and adds
`Access-Control-Allow-Credentials: true`, on preflights and on responses alike. Run against
`Origin: https://evil.example`, the preflight answers `200` with `access-control-allow-origin: https://evil.example`
and `access-control-allow-credentials: true`. Any page on the internet can then call the API with the visitor's
cookies. Nothing breaks, so nobody notices. This is the advice the popular "ChatKit integration expert" prompt gives
for its CORS problems, and it is wrong.

ChatKit's custom-`fetch` pattern sends a Bearer token in `Authorization`, which needs no credentials mode at all:
`allow_origins=["*"]` **without** `allow_credentials` (what the official samples do) is fine for it.

## Wrong
```python
app.add_middleware(
    CORSMiddleware,
    allow_origins=["*"],
    allow_credentials=True,
    allow_methods=["*"],
    allow_headers=["*"],
)
```

## Right
```python
app.add_middleware(
    CORSMiddleware,
    allow_origins=os.environ.get("CORS_ORIGINS", "http://localhost:5173").split(","),
    allow_methods=["*"],
    allow_headers=["*"],
)
```
Name the origins: the field of the project's settings object when the module has one (`settings.cors_origins`),
else from the environment (in the module's own `os.getenv`/`os.environ.get` spelling), with the local dev server as
default. Keep `allow_credentials=True` only where cookies really cross origins (`credentials: "include"` in the
front end, or a back end that reads cookies). The fix is unsafe (`--unsafe-fixes`): deployed front ends must be
listed in the settings' variable or in `CORS_ORIGINS`.
"""

from __future__ import annotations

import ast

from chatkit_fix.analysis import settings, web
from chatkit_fix.codemods._cases import Edited, edited
from chatkit_fix.findings import Safety
from chatkit_fix.pyast import literal
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK405",
    slug="cors-wildcard-credentials",
    safety=Safety.UNSAFE,
    summary='allow_origins=["*"] with allow_credentials=True: Starlette echoes any origin with credentials',
    url="https://www.starlette.io/middleware/#corsmiddleware",
    triggers=((b"CORSMiddleware", b"allow_credentials"),),
    module=__name__,
    explanation=__doc__,
)


def _wildcard(node: ast.AST | None) -> bool:
    value = literal(node)
    if value == "*":
        return True
    return isinstance(value, (list, tuple, set)) and "*" in value


def _module_value(ctx, name: str) -> ast.expr | None:
    """The value of a module-level name assigned exactly once."""
    values = []
    for statement in ctx.tree.body:
        if isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in statement.targets) or isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.target.id == name:
            values.append(statement.value)
    return values[0] if len(values) == 1 else None


@RULE.check
def check(ctx):
    for _, call in web.cors_registrations(ctx):
        credentials = next((k for k in call.keywords if k.arg == "allow_credentials"), None)
        origins = next((k for k in call.keywords if k.arg == "allow_origins"), None)
        if credentials is None or origins is None or literal(credentials.value) is not True:
            continue
        target = origins.value
        if isinstance(target, ast.Name):
            target = _module_value(ctx, target.id)
        if target is None or not _wildcard(target):
            continue
        yield _finding(ctx, call, origins, credentials, target)


def _finding(ctx, call, origins, credentials, target):
    named = [v for v in (literal(target) if isinstance(literal(target), (list, tuple, set)) else []) if v != "*" and isinstance(v, str)]
    default = ",".join(named) or ",".join(web.dev_origins(ctx.project))
    expression, needed = settings.origins_expression(ctx, default)
    edits = [*needed, ctx.replace(target, expression)]
    cookies = web.uses_cookies(ctx.project)
    if not cookies:
        edits.append(web.remove_argument(ctx, call, credentials))
    hint = f"allow_origins={expression}" + ("" if cookies else ", without allow_credentials (no cookies cross origins)")
    return ctx.finding(
        origins,
        'allow_origins=["*"] with allow_credentials=True: Starlette echoes any Origin with '
        "Access-Control-Allow-Credentials: true, so every web site can call this API as the user",
        fix=edits,
        hint=hint,
    )


BASEL = (
    "from fastapi import FastAPI\n"
    "from fastapi.middleware.cors import CORSMiddleware\n"
    "\n"
    "app = FastAPI()\n"
    "\n"
    "# Configure CORS middleware for development (allow all origins)\n"
    "app.add_middleware(\n"
    "    CORSMiddleware,\n"
    '    allow_origins=["*"],  # Allow all origins for development\n'
    "    allow_credentials=True,\n"
    '    allow_methods=["*"],  # Allow all HTTP methods\n'
    '    allow_headers=["*"],  # Allow all headers\n'
    ")\n"
)
BASEL_FIXED = edited(
    BASEL,
    ("from fastapi.middleware.cors import CORSMiddleware\n",
     "from fastapi.middleware.cors import CORSMiddleware\n"
     "import os\n"),
    ('    allow_origins=["*"],  # Allow all origins for development\n'
     "    allow_credentials=True,\n",
     '    allow_origins=os.environ.get("CORS_ORIGINS", "http://localhost:3000").split(","),  # Allow all origins for development\n'),
)

# The shape `chatkit-fix init` generates, after someone pasted the wildcard advice: the settings object stays.
INIT_SETTINGS = (
    "import os\nfrom dataclasses import dataclass\n\n\n@dataclass(frozen=True)\nclass Settings:\n"
    "    model: str\n    cors_origins: list[str]\n\n    @classmethod\n    def from_env(cls) -> Settings:\n"
    "        origins = os.environ.get('CHATKIT_CORS_ORIGINS') or 'http://localhost:3000'\n"
    "        return cls(model='gpt-4.1', cors_origins=origins.split(','))\n"
)
INIT_ROUTER = (
    "from fastapi import APIRouter\n\nfrom .chatkit_settings import Settings\n\n"
    "router = APIRouter()\nsettings = Settings.from_env()\n"
)
INIT_MAIN = (
    '"""FastAPI app serving the ChatKit endpoint."""\n\nfrom __future__ import annotations\n\n'
    "from fastapi import FastAPI\nfrom fastapi.middleware.cors import CORSMiddleware\n\n"
    "from .chatkit_router import router, settings\n\n"
    "app = FastAPI()\napp.include_router(router)\n\n"
    'app.add_middleware(\n    CORSMiddleware,\n    allow_origins=["*"],\n    allow_credentials=True,\n'
    '    allow_methods=["GET", "POST", "OPTIONS"],\n    allow_headers=["*"],\n)\n'
)

RULE.cases(
    valid=[
        Valid(
            "from fastapi import FastAPI\nfrom fastapi.middleware.cors import CORSMiddleware\n\napp = FastAPI()\n"
            'app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])\n',
            filename="app/main.py",
            name="wildcard without credentials (official samples)",
        ),
        Valid(
            "from fastapi import FastAPI\nfrom fastapi.middleware.cors import CORSMiddleware\n\napp = FastAPI()\n"
            'app.add_middleware(CORSMiddleware, allow_origins=["http://localhost:5173"], allow_credentials=True)\n',
            filename="main.py",
            name="named origins with credentials",
        ),
        Valid(
            "from fastapi import FastAPI\nfrom fastapi.middleware.cors import CORSMiddleware\n\napp = FastAPI()\n"
            'app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=False)\n',
            filename="main.py",
        ),
        Valid(
            "from fastapi import FastAPI\nfrom fastapi.middleware.cors import CORSMiddleware\nfrom config import settings\n\n"
            "app = FastAPI()\n"
            "app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=True)\n",
            filename="backend/main.py",
            name="origins from settings",
        ),
        Valid(
            "import os\nfrom fastapi import FastAPI\nfrom fastapi.middleware.cors import CORSMiddleware\n\n"
            'ORIGINS = ["*"]\nORIGINS = os.environ.get("CORS_ORIGINS", "http://localhost:5173").split(",")\n\n'
            "app = FastAPI()\n"
            "app.add_middleware(CORSMiddleware, allow_origins=ORIGINS, allow_credentials=True)\n",
            filename="main.py",
            name="origins assigned twice at module level: the wildcard is overwritten",
        ),
    ],
    invalid=[
        Invalid(BASEL, BASEL_FIXED, filename="backend/main.py", unsafe=True, name="seed shape, no cookies: credentials dropped", findings=[(9, 5, 'allow_origins=["*"] with allow_credentials=True')]),
        Invalid(
            {
                "backend/main.py": BASEL,
                "frontend/package.json": '{"dependencies": {"react": "^19.0.0", "vite": "^6.0.0"}}\n',
                "frontend/vite.config.ts": 'export default { server: { port: 5174 } };\n',
                "frontend/src/api.ts": 'export const get = (u: string) => fetch(u, { credentials: "include" });\n',
            },
            {
                "backend/main.py": BASEL_FIXED.replace("http://localhost:3000", "http://localhost:5174").replace(
                    '(","),  # Allow all origins for development\n', '(","),  # Allow all origins for development\n    allow_credentials=True,\n'
                ),
            },
            unsafe=True,
            name="cookies cross origins: credentials kept, Vite port",
            findings=[("backend/main.py", 9, 5, 'allow_origins=["*"] with allow_credentials=True')],
        ),
        Invalid(
            "import os\nfrom starlette.applications import Starlette\nfrom starlette.middleware import Middleware\n"
            "from starlette.middleware.cors import CORSMiddleware as Cors\n\n"
            'origins = ["http://localhost:3000", "*"]\n'
            "app = Starlette(middleware=[Middleware(Cors, allow_origins=origins, allow_credentials=True, allow_methods=['*'])])\n",
            "import os\nfrom starlette.applications import Starlette\nfrom starlette.middleware import Middleware\n"
            "from starlette.middleware.cors import CORSMiddleware as Cors\n\n"
            'origins = os.environ.get("CORS_ORIGINS", "http://localhost:3000").split(",")\n'
            "app = Starlette(middleware=[Middleware(Cors, allow_origins=origins, allow_methods=['*'])])\n",
            filename="server.py",
            unsafe=True,
            name="Starlette Middleware list, alias, origins in a variable",
            findings=[(7, 46, 'allow_origins=["*"] with allow_credentials=True')],
        ),
        Edited(
            '"""API."""\nfrom fastapi import FastAPI, Request\nfrom fastapi.middleware.cors import CORSMiddleware\n\n'
            "app = FastAPI()\n"
            "app.add_middleware(CORSMiddleware, allow_credentials=True, allow_origins='*')\n\n"
            "@app.get('/me')\ndef me(request: Request):\n    return {'session': request.cookies.get('session')}\n",
            ("from fastapi.middleware.cors import CORSMiddleware\n",
             "from fastapi.middleware.cors import CORSMiddleware\n"
             "import os\n"),
            ("app.add_middleware(CORSMiddleware, allow_credentials=True, allow_origins='*')\n",
             "app.add_middleware(CORSMiddleware, allow_credentials=True, allow_origins=os.environ.get('CORS_ORIGINS', 'http://localhost:3000').split(','))\n"),
            filename="api/index.py",
            unsafe=True,
            name="back end reads cookies: credentials kept",
            findings=[(6, 60, 'allow_origins=["*"] with allow_credentials=True')],
        ),
        Edited(
            "from fastapi import FastAPI\nfrom fastapi.middleware.cors import CORSMiddleware\n\n"
            "DEBUG: bool = True\n"
            'ORIGINS: list[str] = ["https://app.example.com", "*"]\n\n'
            "app = FastAPI()\n"
            "app.add_middleware(\n    CORSMiddleware,\n    expose_headers=[\"*\"],\n    allow_origins=ORIGINS,\n"
            "    allow_credentials=True,\n)\n",
            ("from fastapi.middleware.cors import CORSMiddleware\n", "from fastapi.middleware.cors import CORSMiddleware\nimport os\n"),
            ('ORIGINS: list[str] = ["https://app.example.com", "*"]\n',
             'ORIGINS: list[str] = os.environ.get("CORS_ORIGINS", "https://app.example.com").split(",")\n'),
            ("    allow_credentials=True,\n", ""),
            filename="main.py",
            unsafe=True,
            findings=[(11, 5, 'allow_origins=["*"] with allow_credentials=True')],
            name="annotated module constant after another, a named origin kept as the default, expose_headers first",
        ),
        Invalid(
            {"backend/__init__.py": "", "backend/chatkit_settings.py": INIT_SETTINGS,
             "backend/chatkit_router.py": INIT_ROUTER, "backend/main.py": INIT_MAIN},
            {"backend/main.py": edited(INIT_MAIN, ('    allow_origins=["*"],\n    allow_credentials=True,\n',
                                                   "    allow_origins=settings.cors_origins,\n"))},
            unsafe=True,
            findings=[("backend/main.py", 15, 5, 'allow_origins=["*"] with allow_credentials=True: Starlette echoes any Origin')],
            name="init's settings object: its origins field, no os.environ beside it",
        ),
        Edited(
            "import os\nfrom fastapi import FastAPI\nfrom fastapi.middleware.cors import CORSMiddleware\n\n"
            "DEBUG = os.getenv('DEBUG', '')\napp = FastAPI(debug=bool(DEBUG))\n"
            "app.add_middleware(CORSMiddleware, allow_origins=['*'], allow_credentials=True)\n",
            ("allow_origins=['*'], allow_credentials=True)",
             "allow_origins=os.getenv('CORS_ORIGINS', 'http://localhost:3000').split(','))"),
            filename="main.py",
            unsafe=True,
            findings=[(7, 36, 'allow_origins=["*"] with allow_credentials=True')],
            name="the module reads the environment with os.getenv: so does the fix",
        ),
        Edited(
            "from fastapi import FastAPI\nfrom fastapi.middleware.cors import CORSMiddleware\n\nfrom .routes import router\n\n"
            "app = FastAPI()\napp.include_router(router)\n"
            "app.add_middleware(CORSMiddleware, allow_origins=['*'], allow_credentials=True)\n",
            ("from fastapi.middleware.cors import CORSMiddleware\n",
             "from fastapi.middleware.cors import CORSMiddleware\nimport os\n"),
            ("allow_origins=['*'], allow_credentials=True)",
             "allow_origins=os.environ.get('CORS_ORIGINS', 'http://localhost:3000').split(','))"),
            filename="app/main.py",
            unsafe=True,
            findings=[(8, 36, 'allow_origins=["*"] with allow_credentials=True')],
            name="import os among the absolute imports, above the relative one",
        ),
    ],
)
