"""The caller of a token decoder assumes the wrong return shape: `(payload, error)` used as a dict, or the reverse.

## Why
Projects write their own `decode_access_token()`. Some return the payload (a dict) and raise or return `None` on a bad
token, the usual kind; a few return a `(payload, error)` tuple. A caller written for the other shape fails in a way
nobody sees:

- a tuple used as a payload: `payload.get("sub")` raises `AttributeError: 'tuple' object has no attribute 'get'`,
  and `if payload:` is always true (a 2-tuple is truthy). Inside `try: ... except Exception:` the user becomes
  `"anonymous"`;
- a dict unpacked as a tuple: `payload, error = decode_access_token(token)` raises `ValueError: too many values to
  unpack`, or, for a payload with exactly two claims, quietly binds the claim *names*.

The rule reads the decoder's own `return` statements (resolved through the project's imports, even across a broken
import, see CK401) and never its name: most decoders in the wild return a dict, and those callers are left alone.

## Wrong
```python
def decode_access_token(token):            # returns (payload, error)
    try:
        return jwt.decode(token, KEY, algorithms=["HS256"]), None
    except jwt.InvalidTokenError as e:
        return None, str(e)

payload = decode_access_token(token)
user_id = payload.get("sub")
```

## Right
```python
payload, error = decode_access_token(token)
if payload is None:
    raise HTTPException(status_code=401, detail="invalid token")
user_id = payload.get("sub")
```
The fix (safe) unpacks and guards, or for a dict-returning decoder assigns the result to the payload name alone.
"""

from __future__ import annotations

import ast

from chatkit_fix.analysis import web
from chatkit_fix.codemods._cases import served
from chatkit_fix.findings import Safety
from chatkit_fix.model import model_of
from chatkit_fix.model.effects.identity import is_decoder_name
from chatkit_fix.pyast import walk
from chatkit_fix.rules import Invalid, Valid, rule

DECODER_FILE = web.decoder_bytes((b"decode", b"verify", b"validate", b"token", b"jwt"))

RULE = rule(
    code="CK402",
    slug="jwt-return-shape",
    safety=Safety.SAFE,
    summary="a (payload, error) decoder used as a dict, or a dict-returning decoder unpacked as a tuple",
    url="https://pyjwt.readthedocs.io/en/stable/api.html#jwt.decode",
    module=__name__,
    explanation=__doc__,
    finding_triggers=(DECODER_FILE,),
)



@RULE.check_project
def check(pctx):
    project = pctx.project
    for ctx in web.decoder_files(pctx, DECODER_FILE):
        for node in walk(ctx.tree):
            if not isinstance(node, ast.Call):
                continue
            names = {web.last_name(node.func)} | {q.rsplit(".", 1)[-1] for q in ctx.imports.qualnames(node.func)}
            if not any(is_decoder_name(name) for name in names):
                continue
            if web.jwt_library(ctx, node) or isinstance(node.func, ast.Attribute) and web.dotted(node.func.value) in ("self", "cls", None):
                continue
            definition = _definition(ctx, node)
            if definition is None:
                continue
            def_path, func = definition
            shape = _return_shape(project, def_path, func)
            if shape is None:
                continue
            finding = _check_call(ctx, node, func, def_path, shape)
            if finding is not None:
                yield finding


def _definition(ctx, call: ast.Call):
    """(path, def) of the project function a call invokes: same module, imports, or the one definition of its name
    in the service when the import itself is broken."""
    found = ctx.model.resolve(ctx.module, call.func)
    if found is not None:
        return (found.module.path, found.node) if found.is_function else None
    qualified = ctx.imports.qualnames(call.func)
    if qualified and all(web.is_known_distribution(ctx.project, q) for q in qualified):
        return None
    name = web.last_name(call.func)
    definitions = [(p, n) for p, n in web.project_definitions(ctx.project, name, ctx.path) if isinstance(n, web.FUNCTIONS)]
    return definitions[0] if len(definitions) == 1 else None


def _return_shape(project, path, func) -> str | None:
    """"tuple" when every value the function returns is a tuple, "mapping" when every one is a dict-like payload."""
    module = model_of(project).module(path)
    imports = module.imports if module is not None else None
    kinds = set()
    for node in web.own_nodes(func):
        if isinstance(node, ast.Return) and node.value is not None:
            if isinstance(node.value, ast.Constant) and node.value.value is None:
                continue
            kinds.add(_shape_of(imports, func, node.value))
    if kinds == {"tuple"}:
        return "tuple"
    if kinds == {"mapping"}:
        return "mapping"
    return None


def _shape_of(imports, func, value: ast.AST, depth: int = 0) -> str:
    value = web.unawait(value)
    if isinstance(value, ast.Tuple):
        return "tuple"
    if isinstance(value, (ast.Dict, ast.DictComp)):
        return "mapping"
    if isinstance(value, ast.Call):
        if imports is not None and web.jwt_library_in(imports, value):
            return "mapping"
        name = web.last_name(value.func)
        if name == "dict" or (name[:1].isupper() and name not in ("Tuple", "tuple")):
            return "mapping"
        return "unknown"
    if isinstance(value, ast.Name) and depth < 2:
        sources = []
        for node in web.own_nodes(func):
            if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == value.id for t in node.targets):
                sources.append(node.value)
        kinds = {_shape_of(imports, func, s, depth + 1) for s in sources}
        if len(kinds) == 1:
            return kinds.pop()
    return "unknown"


def _check_call(ctx, call: ast.Call, func, def_path, shape: str):
    node = call
    parent = ctx.parents.get(node)
    if isinstance(parent, ast.Await):
        node, parent = parent, ctx.parents.get(parent)
    where = f"{ctx.project.relative(def_path)}:{func.lineno}"
    name = func.name
    if isinstance(parent, ast.Assign) and parent.value is node and len(parent.targets) == 1:
        target = parent.targets[0]
        if isinstance(target, (ast.Tuple, ast.List)) and shape == "mapping":
            return _unpacked_mapping(ctx, parent, target, name, where)
        if isinstance(target, ast.Name) and shape == "tuple" and not _indexed(ctx, parent, target.id):
            return _tuple_as_payload(ctx, parent, target, name, where)
        return None
    if shape == "tuple" and (
        isinstance(parent, ast.Attribute) or (isinstance(parent, ast.Subscript) and web.string_value(parent.slice) is not None)
    ):
        message = f"{name}() returns a (payload, error) tuple ({where}) but its result is used as the payload"
        return ctx.finding(ctx.header_span(web.statement_of(ctx, call)), message,
                           fix=ctx.todo(call, f"unpack the result of {name}(): payload, error = {name}(...)"),
                           complete=False, hint=f"payload, error = {name}(...)")
    return None


def _indexed(ctx, statement, name: str) -> bool:
    """The caller already treats the result as a tuple (`result[0]`, `payload, err = result`)."""
    scope = web.enclosing_function(ctx, statement) or ctx.tree
    for node in web.own_nodes(scope):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == name:
            if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, int):
                return True
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and node.value.id == name:
            if any(isinstance(t, (ast.Tuple, ast.List)) for t in node.targets):
                return True
    return False


def _tuple_as_payload(ctx, statement: ast.Assign, target: ast.Name, name: str, where: str):
    message = (f"{name}() returns a (payload, error) tuple ({where}) but the whole tuple is bound to {target.id}: "
               f"{target.id}.get(...) fails on a tuple and `if {target.id}:` is always true")
    scope = web.enclosing_function(ctx, statement) or ctx.tree
    error = web.fresh_name(scope, "error", ("token_error", "auth_error"))
    edits = [ctx.replace(target, f"{target.id}, {error}")]
    found = web.block_of(ctx, statement)
    following = found[0][found[1] + 1] if found and found[1] + 1 < len(found[0]) else None
    tested = isinstance(following, (ast.If, ast.Assert)) and target.id in web.used_names(following.test)
    if not tested and web.alone_on_lines(ctx, statement):
        exception = web.http_exception(ctx)
        indent = ctx.source.indentation(statement.lineno)
        if exception is not None:
            raise_text = f"raise {exception[0]}(status_code=401, detail={ctx.string_literal('invalid token')})"
            edits.append(exception[1])
        else:
            raise_text = f"raise ValueError({error})"
        at = web.line_after(ctx, statement.end_lineno or statement.lineno)
        prefix = "" if ctx.text[:at].endswith(("\n", "\r")) else "\n"
        edits.append(ctx.insert(at, f"{prefix}{indent}if {target.id} is None:\n{indent}    {raise_text}\n"))
    return ctx.finding(ctx.header_span(statement), message, fix=edits, hint=f"{target.id}, {error} = {name}(...)")


def _unpacked_mapping(ctx, statement: ast.Assign, target, name: str, where: str):
    message = (f"{name}() returns the payload itself ({where}), not a (payload, error) tuple: unpacking it raises "
               "ValueError (or binds claim names)")
    names = [e.id if isinstance(e, ast.Name) else None for e in target.elts]
    if len(names) != 2 or names[0] is None or not web.alone_on_lines(ctx, statement):
        return ctx.finding(ctx.header_span(statement), message,
                           fix=ctx.todo(statement, f"{name}() returns the payload: assign it to one name"), complete=False)
    payload, error = names
    edits = [ctx.replace(target, payload)]
    scope = web.enclosing_function(ctx, statement) or ctx.tree
    if error and error != "_" and sum(1 for n in walk(scope) if isinstance(n, ast.Name) and n.id == error) > 1:
        indent = ctx.source.indentation(statement.lineno)
        at = web.line_after(ctx, statement.end_lineno or statement.lineno)
        prefix = "" if ctx.text[:at].endswith(("\n", "\r")) else "\n"
        edits.append(ctx.insert(at, f"{prefix}{indent}{error} = None\n"))
    return ctx.finding(ctx.header_span(statement), message, fix=edits, hint=f"{payload} = {name}(...)")


TUPLE_DECODER = (
    "from jose import ExpiredSignatureError, JWTError, jwt\n\n\n"
    "def decode_access_token(token: str):\n"
    "    try:\n"
    "        payload = jwt.decode(token, SECRET_KEY, algorithms=[ALGORITHM])\n"
    "        return (payload, None)\n"
    "    except ExpiredSignatureError:\n"
    '        return (None, "expired-token")\n'
    "    except JWTError:\n"
    '        return None, "invalid-token"\n'
)
DICT_DECODER = (
    "import jwt\nfrom fastapi import HTTPException\n\n\n"
    "def decode_access_token(token: str) -> dict:\n"
    "    try:\n"
    '        return jwt.decode(token, SECRET_KEY, algorithms=["HS256"])\n'
    "    except jwt.InvalidTokenError:\n"
    '        raise HTTPException(status_code=401, detail="invalid token")\n'
)
CALLER = (
    "from fastapi import FastAPI, HTTPException, Request\n"
    "from src.core.security import decode_access_token\n\n"
    "app = FastAPI()\n\n\n"
    '@app.post("/chatkit")\n'
    "async def chatkit(request: Request):\n"
    '    token = request.headers["authorization"][7:]\n'
    "    payload = decode_access_token(token)\n"
    '    user_id = payload.get("sub")\n'
    "    return await server.process(await request.body(), {'user_id': user_id})\n"
)
PACKAGES = {"backend/requirements.txt": "fastapi\n", "backend/src/__init__.py": "", "backend/src/core/__init__.py": ""}

RULE.cases(
    valid=[
        Valid({**PACKAGES, "backend/src/core/security.py": DICT_DECODER, "backend/main.py": CALLER}, name="dict decoder used as a dict"),
        Valid(
            {
                **PACKAGES,
                "backend/src/core/security.py": TUPLE_DECODER,
                "backend/main.py": CALLER.replace("    payload = decode_access_token(token)\n", "    payload, error = decode_access_token(token)\n"),
            },
            name="tuple decoder unpacked",
        ),
        Valid(
            "def verify_token(token):\n    if not token:\n        return None\n    return lookup(token)\n\n"
            "def handler(token):\n    user = verify_token(token)\n    return user.get('id')\n",
            filename="auth.py",
            name="shape unknown: never judged from the name",
        ),
    ],
    invalid=[
        Invalid(
            {**PACKAGES, "backend/src/core/security.py": TUPLE_DECODER, "backend/main.py": CALLER},
            {
                "backend/main.py": CALLER.replace(
                    "    payload = decode_access_token(token)\n",
                    "    payload, error = decode_access_token(token)\n"
                    "    if payload is None:\n"
                    '        raise HTTPException(status_code=401, detail="invalid token")\n',
                )
            },
            name="tuple decoder used as a dict: unpack and guard",
            findings=[("backend/main.py", 10, 5, "decode_access_token() returns a (payload, error) tuple (backend/src/core/security.py:4)")],
        ),
        Invalid(
            {
                **PACKAGES,
                "backend/src/core/security.py": DICT_DECODER,
                "backend/main.py": "import logging\nlogger = logging.getLogger(__name__)\n\n\nasync def user_of(token):\n"
                "    from src.core.security import decode_access_token\n"
                "    payload, error = decode_access_token(token)\n"
                "    if payload:\n"
                '        return payload.get("sub", "anonymous")\n'
                '    logger.warning(f"JWT validation failed: {error}")\n',
            },
            {
                "backend/main.py": "import logging\nlogger = logging.getLogger(__name__)\n\n\nasync def user_of(token):\n"
                "    from src.core.security import decode_access_token\n"
                "    payload = decode_access_token(token)\n"
                "    error = None\n"
                "    if payload:\n"
                '        return payload.get("sub", "anonymous")\n'
                '    logger.warning(f"JWT validation failed: {error}")\n',
            },
            name="dict decoder unpacked as a tuple (seed advice applied to the wrong decoder)",
            findings=[("backend/main.py", 7, 5, "decode_access_token() returns the payload itself (backend/src/core/security.py:5), not a (payload")],
        ),
        served(Invalid(
            {
                "src/core/security.py": TUPLE_DECODER,
                "main.py": "from src.auth.jwt import decode_access_token\n\n\ndef user_of(token):\n"
                "    payload = decode_access_token(token)\n"
                "    if payload:\n"
                '        return payload["sub"]\n',
            },
            {
                "main.py": "from src.auth.jwt import decode_access_token\n\n\ndef user_of(token):\n"
                "    payload, error = decode_access_token(token)\n"
                "    if payload:\n"
                '        return payload["sub"]\n',
            },
            name="through a broken import, already tested",
            findings=[("main.py", 5, 5, "decode_access_token() returns a (payload, error) tuple (src/core/security.py:4)")],
        ), "app.py", "main"),
        Invalid(
            {
                "app/services/auth_service.py": "import jwt\n\n\nasync def verify_token(token):\n"
                "    try:\n        return jwt.decode(token, KEY, algorithms=['HS256']), None\n"
                "    except jwt.PyJWTError as exc:\n        return None, str(exc)\n",
                "app/routes/chatkit.py": "from fastapi import APIRouter, Request\n"
                "from app.services.auth_service import verify_token as check\n\nrouter = APIRouter()\n\n\n"
                "@router.post('')\nasync def chatkit(request: Request):\n"
                "    claims = await check(request.headers['authorization'][7:])\n"
                "    return await server.process(await request.body(), {'user_id': claims['sub']})\n",
            },
            {
                "app/routes/chatkit.py": "from fastapi import APIRouter, Request, HTTPException\n"
                "from app.services.auth_service import verify_token as check\n\nrouter = APIRouter()\n\n\n"
                "@router.post('')\nasync def chatkit(request: Request):\n"
                "    claims, error = await check(request.headers['authorization'][7:])\n"
                "    if claims is None:\n"
                "        raise HTTPException(status_code=401, detail='invalid token')\n"
                "    return await server.process(await request.body(), {'user_id': claims['sub']})\n",
            },
            name="async decoder under an alias, router in src layout",
            findings=[("app/routes/chatkit.py", 9, 5, "verify_token() returns a (payload, error) tuple (app/services/auth_service.py:4)")],
        ),
    ],
)
