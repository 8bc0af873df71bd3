"""The token decoder is imported from a module that does not exist or does not define it.

## Why
The import usually sits inside the endpoint, inside `try: ... except Exception:` (a lazy import), so Python raises
`ModuleNotFoundError: No module named 'src.auth'` (or `ImportError: cannot import name 'decode_access_token'`) only
when a request arrives, the `except` logs `JWT decode failed: No module named 'src.auth'`, and the request goes on as
`"anonymous"`. Nothing fails at start-up, and every user becomes the same anonymous user.

The rule resolves the import against the project's own modules (every import root: `backend/`, `src/`, ...). It
fires when the module is missing or does not define the name, and the fix (safe) imports it from the one module of
the project that defines it. Names from installed packages and the standard library are not judged.

## Wrong
```python
from src.auth.jwt import decode_access_token      # there is no src/auth/jwt.py
```

## Right
```python
from src.core.security import decode_access_token  # where `def decode_access_token` lives
```
When no module or several modules define the name, the rule reports it and leaves a TODO.
"""

from __future__ import annotations

import ast
import keyword
import re
from functools import partial

from chatkit_fix.analysis import web
from chatkit_fix.findings import Safety
from chatkit_fix.model.effects.identity import is_decoder_name
from chatkit_fix.pyast import resolve_relative, walk
from chatkit_fix.rules import Invalid, Valid, rule

DECODER_FILE = web.decoder_bytes((b"decode", b"verify", b"validate", b"token", b"jwt", b"current_user", b"authenticate"))

RULE = rule(
    code="CK401",
    slug="jwt-import-path",
    safety=Safety.SAFE,
    summary="token decoder imported from a project module that does not exist or does not define it",
    url="https://docs.python.org/3/reference/import.html#the-module-cache",
    module=__name__,
    explanation=__doc__,
    finding_triggers=(DECODER_FILE,),
)



@RULE.check_project
def check(pctx):
    for ctx in web.decoder_files(pctx, DECODER_FILE):
        for node in walk(ctx.tree):
            if isinstance(node, ast.ImportFrom) and not any(a.name == "*" for a in node.names):
                yield from _check_import(ctx, node)


def _check_import(ctx, node: ast.ImportFrom):
    project, services = ctx.project, ctx.model.services
    decoders = [a for a in node.names if is_decoder_name(a.name)]
    if not decoders:
        return
    module = resolve_relative(ctx.module_name, node.level, node.module, ctx.path.name == "__init__.py")
    if not module:
        return
    target_path = services.resolve(module, ctx.path)
    if target_path is None and node.level == 0 and not web.is_project_module(project, module, ctx.path):
        if web.is_known_distribution(project, module):
            return  # an installed or declared package
        # neither the project's nor a known package: a broken project import only if the service defines the name
        decoders = [a for a in decoders if web.project_definitions(project, a.name, ctx.path)]
    if target_path is None:
        missing, reason = decoders, f"module {module!r} does not exist in the project"
    else:
        tree = web.parse_file(project, target_path)
        if tree is None:
            return
        missing = [
            a for a in decoders
            if not web.module_binds(tree, a.name) and services.resolve(f"{module}.{a.name}", ctx.path) is None
        ]
        reason = f"{project.relative(target_path)} does not define it"
    for alias in missing:
        definitions = [(p, n) for p, n in web.project_definitions(project, alias.name, ctx.path) if p != ctx.path]
        shown = "." * node.level + (node.module or "")
        message = f"{alias.name} is imported from {shown!r}, but {reason}: the import fails when a request arrives"
        target = _import_name(services, ctx, node, module, definitions[0][0]) if len(definitions) == 1 else None
        if target is None:
            where = (
                "nowhere in the project" if not definitions
                else "in several modules" if len(definitions) > 1
                else f"in {project.relative(definitions[0][0])}, which no import of this service can name"
            )
            yield ctx.finding(
                node, f"{message}; {alias.name} is defined {where}",
                fix=ctx.todo(node, f"import {alias.name} from the module that defines it"), complete=False,
                hint=f"import {alias.name} from the module that defines it",
            )
            continue
        yield ctx.finding(
            node,
            f"{message}; it is defined in {project.relative(definitions[0][0])}",
            fix=partial(_rewrite, ctx, node, alias, target),
            hint=f"from {target} import {alias.name}",
        )


def _import_name(services, ctx, node: ast.ImportFrom, module: str, def_path) -> str | None:
    """How the importing file should name the defining module: relative when it was (and both sit in one package
    tree), else absolute as the service imports it; None when no import can name it (a folder like `jwt-auth`)."""
    target = services.module_name(def_path)
    if not target or not all(part.isidentifier() and not keyword.iskeyword(part) for part in target.split(".")):
        return None
    if services.resolve(target, ctx.path) != def_path:
        return None  # the name would reach another file from here
    if node.level:
        importer = services.module_name(ctx.path)
        package = importer.split(".") if ctx.path.name == "__init__.py" else importer.split(".")[:-1]
        parts = target.split(".")
        common = 0
        while common < min(len(package), len(parts)) and package[common] == parts[common]:
            common += 1
        if common and services.import_base(ctx.path) == services.import_base(def_path):
            return "." * (len(package) - common + 1) + ".".join(parts[common:])
    return target


def _rewrite(ctx, node: ast.ImportFrom, alias: ast.alias, target: str):
    """Edits that import `alias` from `target`: the module name replaced when nothing else is imported, else a new
    line for this name; a TODO where the import cannot be rewritten in place."""
    segment = ctx.segment(node)
    match = re.match(r"from\s+(\.*[\w.]*)\s+import", segment)
    if match is None:
        return ctx.todo(node, f"import {alias.name} from {target}")
    others = [a for a in node.names if a is not alias]
    if not others:
        start = ctx.span(node)[0] + match.start(1)
        return ctx.replace((start, start + len(match.group(1))), target)
    if not web.alone_on_lines(ctx, node):
        return ctx.todo(node, f"import {alias.name} from {target}")
    index = node.names.index(alias)
    removal = web.remove_element(ctx, node.names, index)
    indent = ctx.source.indentation(node.lineno)
    name = alias.name + (f" as {alias.asname}" if alias.asname else "")
    return [removal, ctx.insert(web.line_after(ctx, node.end_lineno or node.lineno), f"{indent}from {target} import {name}\n")]


SECURITY = (
    "from jose import JWTError, jwt\n\n"
    "def decode_access_token(token: str):\n"
    "    try:\n"
    "        return jwt.decode(token, SECRET_KEY, algorithms=[ALGORITHM])\n"
    "    except JWTError:\n"
    "        return None\n"
)
ENDPOINT = (
    "from fastapi import FastAPI, Request\n\napp = FastAPI()\n\n\n"
    '@app.post("/chatkit")\n'
    "async def chatkit_endpoint(request: Request):\n"
    '    user_id = "anonymous"\n'
    "    try:\n"
    "        from src.auth.jwt import decode_access_token\n"
    '        payload = decode_access_token(request.headers["authorization"][7:])\n'
    '        user_id = payload.get("sub", "anonymous")\n'
    "    except Exception as e:\n"
    '        print(f"JWT decode failed: {e}")\n'
    "    return await server.process(await request.body(), {'user_id': user_id})\n"
)

RULE.cases(
    valid=[
        Valid(
            {
                "backend/requirements.txt": "fastapi\n",
                "backend/src/__init__.py": "",
                "backend/src/core/__init__.py": "",
                "backend/src/core/security.py": SECURITY,
                "backend/main.py": ENDPOINT.replace("src.auth.jwt", "src.core.security"),
            },
            name="import resolves",
        ),
        Valid(
            {
                "app/auth/__init__.py": "from .security import verify_token\n",
                "app/auth/security.py": "def verify_token(token):\n    return {'sub': token}\n",
                "app/main.py": "from app.auth import verify_token\nfrom jose import jwt\nfrom jwt import decode\n",
            },
            name="re-exported by a package, installed packages",
        ),
    ],
    invalid=[
        Invalid(
            {
                "backend/requirements.txt": "fastapi\n",
                "backend/src/__init__.py": "",
                "backend/src/core/__init__.py": "",
                "backend/src/core/security.py": SECURITY,
                "backend/main.py": ENDPOINT,
            },
            {"backend/main.py": ENDPOINT.replace("src.auth.jwt", "src.core.security")},
            name="seed: lazy import of a module that does not exist",
            findings=[("backend/main.py", 10, 9, "but module 'src.auth.jwt' does not exist in the project: the import fails when a request arrives; it is defined in backend/src/core/security.py")],
        ),
        Invalid(
            {
                "backend/pyproject.toml": "[project]\nname = 'api'\n",
                "backend/app/__init__.py": "",
                "backend/app/core/__init__.py": "",
                "backend/app/core/security.py": "def verify_token(token):\n    return {}\n\ndef hash_password(p):\n    return p\n",
                "backend/app/routes/__init__.py": "",
                "backend/app/routes/auth.py": "def login():\n    pass\n",
                "backend/app/routes/chat.py": "from .auth import login, verify_token as check_token\n\n\ndef handler(token):\n    return check_token(token)\n",
                "backend/app/main.py": "from fastapi import FastAPI\n\nfrom .routes import chat\n\napp = FastAPI()\n",
            },
            {
                "backend/app/routes/chat.py": "from .auth import login\nfrom ..core.security import verify_token as check_token\n\n\n"
                "def handler(token):\n    return check_token(token)\n",
            },
            name="relative import of a module that lacks the name, other names kept",
            findings=[("backend/app/routes/chat.py", 1, 1, "but backend/app/routes/auth.py does not define it: the import fails when a request arrives; it is defined in backend/app/core/security.py")],
        ),
        Invalid(
            {
                "api/auth_utils.py": "def get_current_user(token):\n    return {'sub': token}\n",
                "api/deps.py": "def get_current_user(token):\n    return None\n",
                "api/main.py": "from auth import get_current_user\n",
                "api/app.py": "from fastapi import FastAPI\n\nfrom main import get_current_user\n\napp = FastAPI()\n",
            },
            {
                "api/main.py": "# chatkit-fix: TODO[CK401] import get_current_user from the module that defines it\nfrom auth import get_current_user\n",
            },
            name="defined in several modules: TODO",
            findings=[("api/main.py", 1, 1, "but module 'auth' does not exist in the project: the import fails when a request arrives; get_current_user is defined in several modules")],
        ),
        Invalid(
            {
                "backend/app/__init__.py": "",
                "backend/app/routes/__init__.py": "",
                "backend/app/routes/auth.py": "def login():\n    return None\n",
                "backend/app/routes/chat.py": "from fastapi import APIRouter\n\nfrom .auth import login, verify_token\n\n"
                "router = APIRouter()\n",
            },
            {
                "backend/app/routes/chat.py": "from fastapi import APIRouter\n\n"
                "# chatkit-fix: TODO[CK401] import verify_token from the module that defines it\n"
                "from .auth import login, verify_token\n\nrouter = APIRouter()\n",
            },
            name="defined nowhere in the project: TODO",
            findings=[("backend/app/routes/chat.py", 3, 1,
                       "but backend/app/routes/auth.py does not define it: the import fails when a request arrives; "
                       "verify_token is defined nowhere in the project")],
        ),
        Invalid(
            {
                "backend/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get('/me')\n"
                                   "def me(token: str):\n    from backend.security import decode_token\n"
                                   "    return decode_token(token)\n",
                "skills/jwt-auth-integrator/assets/backend/auth.py": "import jwt\n\n\ndef decode_token(token):\n"
                                                                    "    return jwt.decode(token, KEY, algorithms=['HS256'])\n",
            },
            {
                "backend/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get('/me')\n"
                                   "def me(token: str):\n"
                                   "    # chatkit-fix: TODO[CK401] import decode_token from the module that defines it\n"
                                   "    from backend.security import decode_token\n    return decode_token(token)\n",
            },
            findings=[("backend/main.py", 8, 5, "decode_token is defined in "
                       "skills/jwt-auth-integrator/assets/backend/auth.py, which no import of this service can name")],
            name="defined only under a folder no import can name (skills/jwt-auth-integrator): TODO, no path",
        ),
    ],
)
