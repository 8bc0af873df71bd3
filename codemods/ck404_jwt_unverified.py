"""`jwt.decode` without `algorithms`, without signature verification, or with an empty secret.

## Why
- **No `algorithms=`.** PyJWT 2 refuses to guess: `jwt.decode(token, key)` raises
  `DecodeError: It is required that you pass in a value for the "algorithms" argument when calling decode().` Every
  token is rejected, and in the usual `try: ... except Exception:` the user silently becomes `"anonymous"` (see CK403).
  python-jose (`from jose import jwt`) does not raise: it accepts whatever algorithm the token's header names, which
  opens algorithm-confusion attacks. Both libraries take `algorithms=[...]`, a list.
- **`options={"verify_signature": False}`** decodes without checking the signature: anyone can write a token
  that says `"sub": "<any user>"`. A peek that only picks a code path is fine (the claims read are compared or
  logged, none says who the caller is or what it may do, and the token is verified where it is trusted).
- **An empty secret** (`""`, or `os.getenv("JWT_SECRET", "")` when the variable is missing) lets anyone sign valid
  HMAC tokens. A non-empty literal secret is CK409.

## Wrong
```python
payload = jwt.decode(token, SECRET_KEY)
claims = jwt.decode(token, options={"verify_signature": False})
SECRET_KEY = os.getenv("JWT_SECRET", "")
```

## Right
```python
payload = jwt.decode(token, SECRET_KEY, algorithms=["HS256"])
SECRET_KEY = os.environ["JWT_SECRET"]  # fail at start-up, not open
```
The fix (safe) adds `algorithms=[...]` when the algorithm the tokens are made with is visible: a `jwt.encode(...,
algorithm=...)` in the project (PyJWT and python-jose default to HS256), or an `ALGORITHM` constant of the module. The
other cases are reported: only you know which key and algorithm your tokens use.
See https://pyjwt.readthedocs.io/en/stable/api.html#jwt.decode
"""

from __future__ import annotations

import ast
import re

from chatkit_fix.analysis import web
from chatkit_fix.codemods._cases import Edited
from chatkit_fix.findings import Safety
from chatkit_fix.model import model_of
from chatkit_fix.pyast import literal, walk
from chatkit_fix.rules import Invalid, Valid, rule

RULE = rule(
    code="CK404",
    slug="jwt-unverified",
    safety=Safety.SAFE,
    summary="jwt.decode without algorithms=, with verify_signature False, or with an empty secret",
    url="https://pyjwt.readthedocs.io/en/stable/api.html#jwt.decode",
    triggers=((b"jwt", b"decode"),),
    module=__name__,
    explanation=__doc__,
)


@RULE.check
def check(ctx):
    if web.is_test_path(ctx.project, ctx.path):
        return  # tests decode their own fixtures' tokens
    for call in ctx.calls():
        library = web.jwt_library(ctx, call)
        if library is None:
            continue
        yield from _check_decode(ctx, call, library)


def _check_decode(ctx, call: ast.Call, library: str):
    problems: list[str] = []
    star = web.has_star_arguments(call)
    unverified = _unverified(call)
    if unverified and _only_peeked(ctx, call):
        return  # the unverified claims only choose a path; the token is trusted only where it is verified
    missing_algorithms = not star and web.argument(call, 2, "algorithms") is None and not unverified
    if unverified:
        problems.append(f"{unverified}: the signature is not checked, anyone can forge a token")
    if missing_algorithms:
        if library == "PyJWT":
            problems.append('no algorithms=: PyJWT raises DecodeError ("It is required that you pass in a value for the '
                            '\"algorithms\" argument"), so every token is rejected')
        else:
            problems.append("no algorithms=: python-jose accepts whatever algorithm the token's header names")
    key = web.argument(call, 1, "key")
    empty = _empty_secret(ctx, key) if key is not None and not unverified else None
    if empty:
        problems.append(f"the secret is empty ({empty}): anyone can sign valid tokens")
    if not problems:
        return
    message = f"{web.dotted(call.func) or 'jwt.decode'}(): " + "; ".join(problems)
    fix = None
    hint = "pass algorithms=[...], verify the signature and use a non-empty secret from the environment"
    if missing_algorithms and not empty and not unverified:
        algorithm = _visible_algorithm(ctx)
        if algorithm is not None:
            fix = web.append_argument(ctx, call, f"algorithms=[{algorithm}]")
            hint = f"add algorithms=[{algorithm}]"
    yield ctx.finding(ctx.header_span(call), message, fix=fix, hint=hint)


def _unverified(call: ast.Call) -> str | None:
    options = web.argument(call, 3, "options")
    value = literal(options)
    if isinstance(value, dict) and value.get("verify_signature") is False:
        return 'options={"verify_signature": False}'
    if isinstance(options, ast.Call) and web.last_name(options.func) == "dict":
        if any(k.arg == "verify_signature" and literal(k.value) is False for k in options.keywords):
            return "options=dict(verify_signature=False)"
    verify = web.argument(call, None, "verify")
    if verify is not None and literal(verify) is False:
        return "verify=False"
    return None


# claims that say who the caller is or what it may do: read unverified, they are the caller's own word
TRUST_CLAIMS = re.compile(r"sub|user|email|role|scope|permission|group|admin|tenant|owner|account|aud|iss", re.IGNORECASE)
LOG_CALLS = {"print", "debug", "info", "warning", "warn", "error", "exception", "critical", "log"}


def _only_peeked(ctx, call: ast.Call) -> bool:
    """`claims = jwt.decode(token, options={"verify_signature": False})` whose claims are only compared or logged
    (`if claims.get("event_kind") == "refund"`) and say nothing about who the caller is."""
    statement = ctx.parents.get(call)
    if isinstance(statement, ast.Await):
        statement = ctx.parents.get(statement)
    if not isinstance(statement, ast.Assign) or len(statement.targets) != 1 or not isinstance(statement.targets[0], ast.Name):
        return False
    scope = web.enclosing_function(ctx, statement) or ctx.tree
    uses = _loads(scope, statement.targets[0].id)
    if not uses:
        return False
    for use in uses:
        read = ctx.parents.get(use)
        if isinstance(read, ast.Attribute) and read.attr == "get" and isinstance(ctx.parents.get(read), ast.Call):
            read = ctx.parents.get(read)
            claim = web.string_value(read.args[0]) if read.args else None
        elif isinstance(read, ast.Subscript) and read.value is use:
            claim = web.string_value(read.slice)
        else:
            return False
        if claim is None or TRUST_CLAIMS.search(claim.rsplit("/", 1)[-1]) or not _compared_or_logged(ctx, scope, read):
            return False
    return True


def _loads(scope: ast.AST, name: str) -> list[ast.Name]:
    return [n for n in web.own_nodes(scope) if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)]


def _compared_or_logged(ctx, scope: ast.AST, value: ast.AST) -> bool:
    """The value, or the name it is assigned to, is only compared or logged."""
    parent = ctx.parents.get(value)
    if isinstance(parent, ast.Compare) or (isinstance(parent, ast.Call) and web.last_name(parent.func) in LOG_CALLS):
        return True
    if isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name):
        uses = _loads(scope, parent.targets[0].id)
        return bool(uses) and all(
            isinstance(ctx.parents.get(u), ast.Compare)
            or (isinstance(ctx.parents.get(u), ast.Call) and web.last_name(ctx.parents.get(u).func) in LOG_CALLS)
            for u in uses
        )
    return False


# ---- values across the project -----------------------------------------------------------------------------------


def _getenv_default(node: ast.AST) -> tuple[str | None, ast.AST | None] | None:
    if not isinstance(node, ast.Call):
        return None
    name = web.dotted(node.func) or ""
    if name in ("os.getenv", "getenv", "os.environ.get", "environ.get") or name.endswith(".environ.get"):
        return web.string_value(web.argument(node, 0, "key")), web.argument(node, 1, "default")
    return None


def _module_value(tree: ast.Module, name: str) -> ast.AST | None:
    node = web.top_level_definitions(tree).get(name)
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        return node.value
    if isinstance(node, ast.AnnAssign):
        return node.value
    return None


def _class_attribute(project, name: str) -> ast.AST | None:
    """The default of a settings-class attribute `name`, when exactly one project class defines it."""
    values = []
    for path in web.python_sources(project, (name.encode(),)):
        tree = web.parse_file(project, path)
        if tree is None:
            continue
        for cls in walk(tree):
            if not isinstance(cls, ast.ClassDef):
                continue
            for statement in cls.body:
                if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.target.id == name or isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in statement.targets):
                    values.append(statement.value)
    return values[0] if len(values) == 1 else None


def _resolve(project, module, expr: ast.AST | None, depth: int = 0) -> ast.AST | None:
    """Follow a name or attribute to the literal (or getenv call) it is bound to, across the service's modules."""
    if expr is None or module is None or depth > 3:
        return None
    if isinstance(expr, (ast.Constant, ast.Call)):
        return expr
    model = model_of(project)
    if isinstance(expr, ast.Name):
        value = _module_value(module.tree, expr.id)
        if value is not None:
            return _resolve(project, module, value, depth + 1)
        for qualified in module.imports.qualnames(expr):
            owner, _, name = qualified.rpartition(".")
            other = model.module_named(owner, module.path) if owner else None
            if other is not None:
                return _resolve(project, other, ast.Name(id=name, ctx=ast.Load()), depth + 1)
        return None
    if isinstance(expr, ast.Attribute):
        for qualified in module.imports.qualnames(expr.value):
            other = model.module_named(qualified, module.path)
            if other is not None:
                return _resolve(project, other, ast.Name(id=expr.attr, ctx=ast.Load()), depth + 1)
        value = _class_attribute(project, expr.attr)
        return _resolve(project, module, value, depth + 1) if value is not None else None
    return None


def _empty_secret(ctx, key: ast.AST) -> str | None:
    value = _resolve(ctx.project, ctx.module, key)
    if isinstance(value, ast.Constant) and value.value == "":
        return "an empty string"
    env = _getenv_default(value) if value is not None else None
    if env is not None and isinstance(env[1], ast.Constant) and env[1].value == "":
        return f"{env[0] or 'the variable'} defaults to \"\""
    return None


def _algorithm_value(project, module, expr: ast.AST | None) -> str | None:
    if expr is None:
        return "HS256"  # PyJWT and python-jose sign with HS256 by default
    value = _resolve(project, module, expr)
    text = web.string_value(value)
    return text if text in web.ALGORITHMS else None


def _bound_here(ctx, expr: ast.AST) -> bool:
    root = expr
    while isinstance(root, ast.Attribute):
        root = root.value
    return isinstance(root, ast.Name) and (root.id in web.top_level_definitions(ctx.tree) or root.id in ctx.imports.names)


def _visible_algorithm(ctx) -> str | None:
    """The algorithm expression to pass, when one algorithm is visible for the tokens this code decodes."""
    project = ctx.project
    values: set[str] = set()
    expressions: dict[str, str] = {}
    for path in web.python_sources(project, (b"encode",)):
        data = project.read_bytes(path)
        if b"jwt" not in data or not web.same_service(project, path, ctx.path):
            continue
        same = path == ctx.path
        module = ctx.module if same else ctx.model.module(path)
        if module is None:
            continue
        tree, imports = module.tree, module.imports
        for node in walk(tree):
            if isinstance(node, ast.Call) and web.jwt_library_in(imports, node, web.JWT_ENCODE):
                expr = web.argument(node, 2, "algorithm")
                value = _algorithm_value(project, module, expr)
                if value is None:
                    return None  # an algorithm we cannot read: do not guess
                values.add(value)
                if same and expr is not None and (isinstance(expr, ast.Constant) or _bound_here(ctx, expr)):
                    expressions.setdefault(value, ctx.segment(expr))
    constants = {}
    for name, node in web.top_level_definitions(ctx.tree).items():
        if "ALG" in name.upper() and isinstance(node, (ast.Assign, ast.AnnAssign)):
            value = web.string_value(node.value)
            if value in web.ALGORITHMS:
                constants.setdefault(value, name)
    if not values:
        values = set(constants)
    if len(values) != 1:
        return None
    value = next(iter(values))
    return constants.get(value) or expressions.get(value) or ctx.string_literal(value)


PYJWT_ENCODE = (
    "import jwt\n\n"
    'SECRET_KEY = os.environ["JWT_SECRET"]\n\n\n'
    "def create_token(user_id: str) -> str:\n"
    '    return jwt.encode({"sub": user_id}, SECRET_KEY, algorithm="HS256")\n\n\n'
)

RULE.cases(
    valid=[
        Valid(
            "import jwt\n\n\ndef dispatch_event(token, handlers):\n"
            "    try:\n"
            '        peeked = jwt.decode(token, options={"verify_signature": False})\n'
            "    except jwt.DecodeError:\n"
            "        return handlers.reject(token)\n"
            '    kind = peeked["event_kind"]\n'
            '    log.debug("event of kind %s", kind)\n'
            '    if kind == "refund":\n'
            "        return handlers.refund(token)\n"
            "    return handlers.default(token)\n",
            filename="webhooks/dispatch.py",
            name="an unverified peek at a claim that only picks the handler (which verifies the token)",
        ),
        Valid(PYJWT_ENCODE + 'def decode_token(token: str) -> dict:\n    return jwt.decode(token, SECRET_KEY, algorithms=["HS256"])\n',
              filename="auth.py"),
        Valid(
            "from jose import jwt, JWTError\nfrom src.core.config import settings\n\n"
            "def decode_access_token(token):\n"
            "    return jwt.decode(token, settings.SECRET, algorithms=[settings.ALGORITHM])\n",
            filename="backend/src/core/security.py",
            name="python-jose with algorithms",
        ),
        Valid(
            "from authlib.jose import jwt\n\ndef claims(token, key):\n    return jwt.decode(token, key)\n",
            filename="oauth.py",
            name="authlib has another API",
        ),
        Valid("import jwt\n\ndef test_claims(token):\n    assert jwt.decode(token, options={'verify_signature': False})['sub']\n",
              filename="backend/tests/test_tokens.py", name="tests peek at their own tokens"),
    ],
    invalid=[
        Invalid(
            "import jwt\n\n\ndef current_user(token):\n"
            '    claims = jwt.decode(token, options={"verify_signature": False})\n'
            '    if claims.get("role") == "admin":\n'
            "        return load_admin()\n"
            "    return None\n",
            None,
            filename="auth.py",
            findings=[(5, 14, 'options={"verify_signature": False}: the signature is not checked')],
            name="an unverified claim that decides what the caller may do",
        ),
        Edited(
            PYJWT_ENCODE + "def decode_token(token: str) -> dict:\n    return jwt.decode(token, SECRET_KEY)\n",
            ("    return jwt.decode(token, SECRET_KEY)\n",
             '    return jwt.decode(token, SECRET_KEY, algorithms=["HS256"])\n'),
            filename="auth.py",
            name="PyJWT, encoder in the same module",
            findings=[(11, 12, "jwt.decode(): no algorithms=: PyJWT raises DecodeError")],
        ),
        Edited(
            "from jose import jwt as jose_jwt\n\nALGORITHM = 'HS256'\n\n"
            "def verify(token, secret):\n"
            "    payload = jose_jwt.decode(\n"
            "        token,\n"
            "        secret,\n"
            "    )\n"
            "    return payload\n",
            ("        secret,\n",
             "        secret,\n"
             "        algorithms=[ALGORITHM],\n"),
            filename="app/auth/jwt_utils.py",
            name="python-jose alias, module constant, trailing comma",
            findings=[(6, 15, "jose_jwt.decode(): no algorithms=: python-jose accepts whatever algorithm the token's header")],
        ),
        Invalid(
            {
                "backend/config.py": "from pydantic_settings import BaseSettings\n\n"
                "class Settings(BaseSettings):\n    JWT_SECRET: str\n    JWT_ALGORITHM: str = \"HS256\"\n\nsettings = Settings()\n",
                "backend/routes/auth.py": "from jose import jwt\nfrom config import settings\n\n"
                "def create(data):\n    return jwt.encode(data, settings.JWT_SECRET, algorithm=settings.JWT_ALGORITHM)\n",
                "backend/middleware/auth.py": "from jwt import decode\nfrom config import settings\n\n"
                "def user_of(token):\n    return decode(token, settings.JWT_SECRET)['sub']\n",
            },
            {
                "backend/middleware/auth.py": "from jwt import decode\nfrom config import settings\n\n"
                "def user_of(token):\n    return decode(token, settings.JWT_SECRET, algorithms=['HS256'])['sub']\n",
            },
            name="encoder in another module, algorithm from settings",
            findings=[("backend/middleware/auth.py", 5, 12, "decode(): no algorithms=: PyJWT raises DecodeError")],
        ),
        Invalid(
            "import jwt\n\ndef peek(token):\n    return jwt.decode(token, options={'verify_signature': False})\n",
            None,
            filename="api/deps.py",
            findings=[(4, 12, 'jwt.decode(): options={"verify_signature": False}: the signature is not checked')],
            name="verify_signature False: report",
        ),
        Invalid(
            'import os\nimport jwt\n\nJWT_SECRET = os.getenv("JWT_SECRET", "")\n\n'
            'def decode_token(token):\n    return jwt.decode(token, JWT_SECRET, algorithms=["HS256"])\n',
            None,
            filename="security.py",
            findings=[(7, 12, "jwt.decode(): the secret is empty")],
            name="empty default secret: report",
        ),
        Invalid(
            "import jwt\n\ndef decode_token(token, key):\n    return jwt.decode(token, key)\n",
            None,
            filename="tokens.py",
            findings=[(4, 12, "jwt.decode(): no algorithms=: PyJWT raises DecodeError")],
            name="algorithm not visible: report",
        ),
    ],
)
