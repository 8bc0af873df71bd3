"""HTTP answers: what answers 401, what raises an HTTP error a middleware cannot pass on.

Framework facts only: FastAPI and Starlette answer with a status through an exception (`HTTPException(401)`) or a
response carrying it (`JSONResponse(..., status_code=401)`), also when a helper builds the exception
(`raise auth_error(HTTP_401_UNAUTHORIZED)`).
"""

from __future__ import annotations

import ast

from ..calls import Fact, Function, simple_effect
from ..modules import own_nodes


def _last_name(node: ast.AST | None) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return _last_name(node.func)
    return ""


def is_status_401(node: ast.AST | None) -> bool:
    if isinstance(node, ast.Constant) and node.value == 401 and not isinstance(node.value, bool):
        return True
    return isinstance(node, ast.Attribute) and node.attr.startswith("HTTP_401")


ANSWER_WORDS = ("exception", "error", "response", "abort")


def answers_401(call: ast.Call) -> bool:
    """`HTTPException(status_code=401)`, `JSONResponse(..., status_code=401)`, `raise_error(HTTP_401_UNAUTHORIZED)`."""
    if any(k.arg in ("status_code", "status") and is_status_401(k.value) for k in call.keywords):
        return True
    name = _last_name(call.func).lower()
    return any(is_status_401(a) for a in call.args) and (not name or any(w in name for w in ANSWER_WORDS) or "401" in name)


def _answers_401(model, function: Function) -> list[Fact]:
    return [
        Fact(function.module, node, "401")
        for node in own_nodes(function.node)
        if isinstance(node, ast.Call) and answers_401(node)
    ]


ANSWERS_401 = simple_effect("answers-401", _answers_401)


def _raises_http_error(model, function: Function) -> list[Fact]:
    """`raise HTTPException(...)` (any status), `raise SomeError(status_code=...)`."""
    facts = []
    for node in own_nodes(function.node):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            name = _last_name(node.exc.func)
            if name.endswith("HTTPException") or any(k.arg == "status_code" for k in node.exc.keywords):
                facts.append(Fact(function.module, node, name))
    return facts


RAISES_HTTP_ERROR = simple_effect("raises-http-error", _raises_http_error)
