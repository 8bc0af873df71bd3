"""Identity: who a hosted session is created for, what reads a caller's identity, what returns a default identity.

Protocol and library facts only: hosted sessions (`client.beta.chatkit.sessions.create`, `POST /v1/chatkit/sessions`)
are created for a user; `X-User-Id`-style headers are whatever the client put there; `"anonymous"`, `"guest"` and (in
a function that checks a credential) `None` stand for nobody.
"""

from __future__ import annotations

import ast
import re

from ...pyast import walk
from ..calls import CallSite, Fact, Function, simple_effect
from ..modules import own_nodes

# ---- vocabulary --------------------------------------------------------------------------------------------------

ANONYMOUS = frozenset({
    "anonymous", "anon", "unknown", "guest", "default_user", "default-user", "demo_user", "demo-user",
    "anonymous_user", "anonymous-user",
})
IDENTITY_KEYS = frozenset({
    "userid", "user", "sub", "uid", "username", "email", "useremail", "ownerid", "accountid", "memberid", "customerid",
    "principal", "identity", "subject", "currentuser",
})
IDENTITY_SUFFIXES = ("userid", "username", "user", "uid", "ownerid", "accountid")
# `X-User-Id`, `X-Account-Role`, and vendor forms such as `X-Acme-OAuth-Subject` or `X-Forwarded-User`; a tenant
# header (`X-Tenant-Id`) selects an organisation's data, it does not say which user is calling
IDENTITY_HEADER = re.compile(
    r"^x[-_](?:[a-z0-9]+[-_]){0,2}?(user|uid|account|member|customer|role|subject|principal|auth[-_]?user)"
    r"([-_](id|role|email|name))?$",
    re.IGNORECASE,
)
# token decoders of the JWT libraries (qualified name -> distribution)
JWT_DECODE = {"jwt.decode": "PyJWT", "jwt.api_jwt.decode": "PyJWT", "jwt.decode_complete": "PyJWT", "jose.jwt.decode": "python-jose"}
DECODER_NAME = re.compile(
    r"(decode|verify|validate|parse|check).*(token|jwt)|(token|jwt).*(decode|verify|validate|parse)|^jwt_|current_user|authenticate",
    re.IGNORECASE,
)
CREDENTIAL_PARAMETERS = frozenset({"token", "accesstoken", "authorization", "authheader", "credentials", "bearer", "idtoken"})
# a function named like this returns a guest on purpose (`get_current_user_or_anonymous`, `optional_user`)
BY_DESIGN_WORDS = ("anonymous", "optional", "guest", "maybe")


def _norm(name: str) -> str:
    return re.sub(r"[-_]", "", name).lower()


def is_identity_name(name: str | None) -> bool:
    if not name:
        return False
    norm = _norm(name)
    return norm in IDENTITY_KEYS or norm.endswith(IDENTITY_SUFFIXES)


def is_anonymous_literal(node: ast.AST | None) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip().lower() in ANONYMOUS


def is_identity_header(name: str | None) -> bool:
    return bool(name) and bool(IDENTITY_HEADER.match(name))


def is_decoder_name(name: str) -> bool:
    return bool(name) and bool(DECODER_NAME.search(name))


def guests_by_design(name: str) -> bool:
    return any(word in name.lower() for word in BY_DESIGN_WORDS)


def _last_name(node: ast.AST | None) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _last_name(node.func)
    return ""


def _string(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _attribute_path(node: ast.AST) -> str:
    """`.beta.chatkit.sessions.create` of `OpenAI().beta.chatkit.sessions.create`: the attributes, whatever the base."""
    path = ""
    while isinstance(node, ast.Attribute):
        path = f".{node.attr}{path}"
        node = node.value
    return path


# ---- hosted sessions ---------------------------------------------------------------------------------------------


def creates_hosted_session(call: ast.Call) -> bool:
    """`client.beta.chatkit.sessions.create(...)`, or a request to OpenAI's `/v1/chatkit/sessions`: the user a hosted
    ChatKit session is created for (calls of `ChatKitServer.process` are the model's `PROCESS`)."""
    if _attribute_path(call.func).endswith(".chatkit.sessions.create"):
        return True
    for argument in [*call.args, *(k.value for k in call.keywords)]:
        parts = argument.values if isinstance(argument, ast.JoinedStr) else [argument]
        if any("chatkit/sessions" in (_string(part) or "") for part in parts):
            return True
    return False


def _creates_hosted_session(model, function: Function) -> list[Fact]:
    return [
        Fact(function.module, node, "hosted session")
        for node in own_nodes(function.node)
        if isinstance(node, ast.Call) and creates_hosted_session(node)
    ]


CREATES_HOSTED_SESSION = simple_effect("creates-hosted-session", _creates_hosted_session)


# ---- identity from headers ---------------------------------------------------------------------------------------


def header_parameters(function: ast.AST):
    """(parameter, `Header(...)` marker) of a FastAPI handler or dependency: defaults and `Annotated[...]` metadata."""
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    for arg in (*positional, *args.kwonlyargs):
        annotation = arg.annotation
        if isinstance(annotation, ast.Subscript) and _last_name(annotation.value) == "Annotated" and isinstance(annotation.slice, ast.Tuple):
            pairs += [(arg, m) for m in annotation.slice.elts[1:]]
    for arg, marker in pairs:
        if isinstance(marker, ast.Call) and _last_name(marker.func) == "Header":
            yield arg, marker


def identity_header_reads(function: ast.AST) -> list[tuple[ast.AST, str]]:
    """(node, header) where a function reads an identity header the caller sent: `request.headers.get("X-User-Id")`,
    `request.headers["X-User-Id"]`, a `Header(alias="X-User-Id")` parameter. Setting a header (a client sending one)
    is not reading it."""
    found = []
    for arg, marker in header_parameters(function):
        alias = next((_string(k.value) for k in marker.keywords if k.arg == "alias"), None)
        name = alias or arg.arg.replace("_", "-")
        if is_identity_header(name):
            found.append((arg, name))
    for node in own_nodes(function):
        header = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and node.args:
            if _is_headers(node.func.value):
                header = _string(node.args[0])
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _is_headers(node.value):
            header = _string(node.slice)
        if header and is_identity_header(header):
            found.append((node, header))
    return found


def _is_headers(node: ast.AST) -> bool:
    """The headers of a request the function received (`request.headers`), not a dict it builds to send."""
    return isinstance(node, ast.Attribute) and node.attr == "headers"


def _reads_identity_header(model, function: Function) -> list[Fact]:
    return [Fact(function.module, node, header) for node, header in identity_header_reads(function.node)]


READS_IDENTITY_HEADER = simple_effect("reads-identity-header", _reads_identity_header)


# ---- default identities ------------------------------------------------------------------------------------------


def reads_credential(module, function: ast.AST) -> bool:
    """The function looks at a credential: a token parameter, the Authorization header, a token decoder."""
    args = function.args
    for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
        if _norm(arg.arg) in CREDENTIAL_PARAMETERS or _last_name(arg.annotation) == "HTTPAuthorizationCredentials":
            return True
    for node in own_nodes(function):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.strip().lower()
            if text == "authorization" or text.startswith("bearer"):
                return True
        elif isinstance(node, ast.Call):
            if module.imports.qualnames(node.func) & JWT_DECODE.keys() or is_decoder_name(_last_name(node.func)):
                return True
    return False


def default_identity_value(value: ast.AST | None) -> bool:
    """`"anonymous"`, `User(id="guest")`, `{"user_id": "anonymous"}`: a value standing for nobody."""
    if is_anonymous_literal(value):
        return True
    if isinstance(value, ast.Call):
        return any(is_identity_name(k.arg) and is_anonymous_literal(k.value) for k in value.keywords)
    if isinstance(value, ast.Dict):
        return any(is_identity_name(_string(k)) and is_anonymous_literal(v) for k, v in zip(value.keys, value.values))
    return False


def _returns_default_identity(model, function: Function) -> list[Fact]:
    if guests_by_design(function.name):
        return []
    credential = None
    facts = []
    for node in own_nodes(function.node):
        if not isinstance(node, ast.Return):
            continue
        value = node.value
        if value is None or (isinstance(value, ast.Constant) and value.value is None):
            if credential is None:
                credential = reads_credential(function.module, function.node)
            if credential:
                facts.append(Fact(function.module, node, "None"))
        elif default_identity_value(value):
            facts.append(Fact(function.module, node, ast.unparse(value)))
    return facts


def _returned(site: CallSite) -> bool:
    """The call's value is what its caller returns (`return await helper(request)`)."""
    parents = site.caller.module.parents
    parent = parents.get(site.node)
    if isinstance(parent, ast.Await):
        parent = parents.get(parent)
    return isinstance(parent, ast.Return) and not site.offloaded


RETURNS_DEFAULT_IDENTITY = simple_effect("returns-default-identity", _returns_default_identity, _returned)


def swallowing_handler(module, node: ast.AST) -> ast.ExceptHandler | None:
    """The `except Exception` (or bare `except`) whose body holds `node`, inside the same function."""
    current = module.parents.get(node)
    while current is not None and not isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        if isinstance(current, ast.ExceptHandler):
            caught = current.type.elts if isinstance(current.type, ast.Tuple) else [current.type]
            if current.type is None or any(_last_name(t) in ("Exception", "BaseException") for t in caught):
                return current
        current = module.parents.get(current)
    return None


def mentions_credential(node: ast.AST) -> bool:
    """An expression that tests a credential: the Authorization header, a token, a bearer string."""
    for child in walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            text = child.value.strip().lower()
            if text == "authorization" or text.startswith("bearer"):
                return True
        name = child.id if isinstance(child, ast.Name) else child.attr if isinstance(child, ast.Attribute) else ""
        if name and any(word in name.lower() for word in ("token", "authorization", "credential", "auth_header")):
            return True
    return False
