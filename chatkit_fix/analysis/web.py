"""Web back ends and their security shapes on the stdlib `ast`: FastAPI/Starlette apps, middleware registrations and
whether a middleware can answer by itself, routes, CORS, JWT calls, identity fallbacks and secrets; plus the few
front-end facts the CORS rules need (dev origin, cookies, proxies, absolute back-end URLs).

Shared by CK401-CK409. Names are resolved through imports (`ctx.imports`), never matched by spelling alone, except
where a project class or function cannot be found and its name is all there is (`JWTAuthMiddleware`).
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from chatkit_fix.findings import Edit, ImportChange
from chatkit_fix.model import model_of
from chatkit_fix.model.effects.http import RAISES_HTTP_ERROR
from chatkit_fix.model.effects.identity import JWT_DECODE
from chatkit_fix.project import inside, watch

from ..pyast import walk

if TYPE_CHECKING:
    from chatkit_fix.context import PythonContext

# ---- generic ast helpers -----------------------------------------------------------------------------------------

SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def own_nodes(node: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a function or module body, not descending into nested functions, classes or lambdas."""
    stack = list(ast.iter_child_nodes(node))
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, SCOPES):
            continue
        stack.extend(ast.iter_child_nodes(current))


def dotted(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def last_name(node: ast.AST | None) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Call):
        return last_name(node.func)
    return ""


def string_value(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def argument(call: ast.Call, position: int | None, name: str) -> ast.expr | None:
    for item in call.keywords:
        if item.arg == name:
            return item.value
    if position is not None and position < len(call.args):
        if not any(isinstance(a, ast.Starred) for a in call.args[: position + 1]):
            return call.args[position]
    return None


def has_star_arguments(call: ast.Call) -> bool:
    return any(k.arg is None for k in call.keywords) or any(isinstance(a, ast.Starred) for a in call.args)


def unawait(node: ast.AST | None) -> ast.AST | None:
    return node.value if isinstance(node, ast.Await) else node


def enclosing_function(ctx, node: ast.AST):
    current = ctx.parents.get(node)
    while current is not None:
        if isinstance(current, FUNCTIONS):
            return current
        if isinstance(current, (ast.ClassDef, ast.Lambda)):
            return None
        current = ctx.parents.get(current)
    return None


def statement_of(ctx, node: ast.AST) -> ast.stmt | None:
    current = node
    while current is not None and not isinstance(current, ast.stmt):
        current = ctx.parents.get(current)
    return current


def block_of(ctx, statement: ast.stmt) -> tuple[list[ast.stmt], int] | None:
    """The statement list holding `statement` and its index there."""
    parent = ctx.parents.get(statement)
    if parent is None:
        return None
    for name in ("body", "orelse", "finalbody"):
        block = getattr(parent, name, None)
        if isinstance(block, list):
            for index, item in enumerate(block):
                if item is statement:
                    return block, index
    return None


def _path_to_root(ctx, node: ast.AST) -> list[tuple[ast.AST, str]]:
    """(ancestor, field of the ancestor that leads to `node`) from the node's parent up to the module."""
    path = []
    child, current = node, ctx.parents.get(node)
    while current is not None:
        where = ""
        for name, value in ast.iter_fields(current):
            if value is child or (isinstance(value, list) and any(item is child for item in value)):
                where = name
                break
        path.append((current, where))
        child, current = current, ctx.parents.get(current)
    return path


def mutually_exclusive(ctx, a: ast.AST, b: ast.AST) -> bool:
    """`a` and `b` sit in different branches of one `if` (or `match`, or `try` handlers), so they never both run."""
    fields_b = {id(node): where for node, where in _path_to_root(ctx, b)}
    for node, where in _path_to_root(ctx, a):
        if id(node) not in fields_b:
            continue
        other = fields_b[id(node)]
        if isinstance(node, (ast.If, ast.IfExp)):
            return where != other
        if isinstance(node, ast.Match) or (isinstance(node, ast.Try) and where == other == "handlers"):
            return where == other and not _same_child(ctx, node, where, a, b)
        if isinstance(node, ast.Try):
            return {where, other} == {"orelse", "handlers"}
        return False
    return False


def _same_child(ctx, node, where, a, b) -> bool:
    for item in getattr(node, where):
        inside_a = item is a or any(n is item for n, _ in _path_to_root(ctx, a))
        inside_b = item is b or any(n is item for n, _ in _path_to_root(ctx, b))
        if inside_a or inside_b:
            return inside_a and inside_b
    return False


def assigned_names(statement: ast.AST) -> set[str]:
    """Names a statement (or anything inside it, nested functions excepted) stores to."""
    names: set[str] = set()
    nodes = [statement, *own_nodes(statement)] if not isinstance(statement, SCOPES) else [statement]
    for node in nodes:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def used_names(node: ast.AST) -> set[str]:
    return {n.id for n in walk(node) if isinstance(n, ast.Name)}


def fresh_name(scope: ast.AST, wanted: str, alternatives: Iterable[str] = ()) -> str:
    used = used_names(scope) | {
        a.arg for n in walk(scope) if isinstance(n, ast.arguments) for a in (*n.args, *n.kwonlyargs, *n.posonlyargs)
    }
    for name in (wanted, *alternatives):
        if name not in used:
            return name
    name = wanted
    while name in used:
        name = "_" + name
    return name


def top_level_definitions(tree: ast.Module) -> dict[str, ast.AST]:
    """Names a module defines at top level (def, class, assignment), not names it imports."""
    found: dict[str, ast.AST] = {}

    def visit(body: list[ast.stmt]) -> None:
        for statement in body:
            if isinstance(statement, (*FUNCTIONS, ast.ClassDef)):
                found.setdefault(statement.name, statement)
            elif isinstance(statement, (ast.Assign, ast.AnnAssign)):
                targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                for target in targets:
                    for node in walk(target):
                        if isinstance(node, ast.Name):
                            found.setdefault(node.id, statement)
            elif isinstance(statement, (ast.If, ast.Try)):
                visit(statement.body)
                visit(getattr(statement, "orelse", []))
                for handler in getattr(statement, "handlers", []):
                    visit(handler.body)

    visit(tree.body)
    return found


def module_binds(tree: ast.Module, name: str) -> bool:
    """Whether `from <this module> import name` works: defined, imported or star-imported at top level."""
    if name in top_level_definitions(tree):
        return True
    for statement in walk(tree):
        if isinstance(statement, ast.ImportFrom) and any(a.name == "*" or (a.asname or a.name) == name for a in statement.names):
            return True
        if isinstance(statement, ast.Import) and any((a.asname or a.name.split(".")[0]) == name for a in statement.names):
            return True
        if isinstance(statement, FUNCTIONS) and statement.name == "__getattr__":
            return True
    return False


# ---- files and modules -------------------------------------------------------------------------------------------

TEST_PARTS = {"tests", "test", "__tests__", "testing", "spec", "e2e"}


def is_test_path(project, path: Path) -> bool:
    relative = project.relative(path)
    parts = relative.split("/")
    name = parts[-1]
    return (
        any(part in TEST_PARTS for part in parts[:-1])
        or name.startswith("test_")
        or name.endswith(("_test.py", ".test.ts", ".test.tsx", ".spec.ts", ".spec.tsx", ".test.js", ".spec.js"))
        or name == "conftest.py"
    )


def under_tests(project, path: Path) -> bool:
    """A file of a test folder (`tests/`, `__tests__/`, ...) or a conftest: where dummy values belong. A `test_*.py`
    script outside such a folder is not one."""
    parts = project.relative(path).split("/")
    return any(part in TEST_PARTS for part in parts[:-1]) or parts[-1] == "conftest.py"


def parse_file(project, path: Path) -> ast.Module | None:
    """The stdlib tree of a project file (the application model's parse), None when it does not parse."""
    module = model_of(project).module(path)
    return module.tree if module is not None else None


def python_sources(project, needles: Iterable[bytes] = (), tests: bool = False) -> list[Path]:
    """Project Python files holding any of `needles` (all files when none), test files excluded unless asked."""
    needles = tuple(needles)
    found = []
    for path in project.files_of("python"):
        if not tests and is_test_path(project, path):
            continue
        data = project.read_bytes(path)
        if not needles or any(n in data for n in needles):
            found.append(path)
    return found


def same_service(project, a: Path, b: Path) -> bool:
    """Two back-end files deployed together (see model.services)."""
    services = model_of(project).services
    return services.of(a) is services.of(b)


def is_project_module(project, module: str, importer: Path) -> bool:
    """Whether the first name of `module` is a module or package of the importer's own service."""
    top = module.split(".")[0]
    return bool(top) and model_of(project).services.is_project_package(top, importer)


def is_known_distribution(project, module: str) -> bool:
    """A module of the standard library, of a distribution the project declares, or of one installed here."""
    top = module.split(".")[0]
    if not top:
        return False
    if top in sys.stdlib_module_names:
        return True
    from chatkit_fix.versions import declared_names

    declared = {re.sub(r"[-_.]+", "_", name).lower() for name in declared_names(project)}
    if top.lower() in declared:
        return True
    import importlib.util

    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin not in (None, "namespace")


def project_definitions(project, name: str, importer: Path) -> list[tuple[Path, ast.AST]]:
    """Every non-test module of the importer's service that defines `name` at top level (def, class or assignment)."""
    found = []
    needle = name.encode()
    for path in python_sources(project, (needle,)):
        if not same_service(project, path, importer):
            continue
        tree = parse_file(project, path)
        if tree is None:
            continue
        node = top_level_definitions(tree).get(name)
        if node is not None and (not isinstance(node, (ast.Assign, ast.AnnAssign)) or _assigns_value(node)):
            found.append((path, node))
    return found


def _assigns_value(node: ast.AST) -> bool:
    return isinstance(node, ast.Assign) or (isinstance(node, ast.AnnAssign) and node.value is not None)


def resolve_function(project, importer: Path, qualified: str):
    """(path, def) of the project function a qualified name (`src.core.security.decode`) means in `importer`,
    following re-exports; None when it is not a project function."""
    model = model_of(project)
    module = model.module(importer)
    found = model.resolver.qualified(qualified, module) if module is not None else None
    if found is not None and found.is_function:
        return found.module.path, found.node
    return None


def local_function(tree: ast.AST, name: str):
    for node in walk(tree):
        if isinstance(node, FUNCTIONS) and node.name == name:
            return node
    return None


def local_class(tree: ast.AST, name: str):
    for node in walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == name:
            return node
    return None


# ---- imports and edits -------------------------------------------------------------------------------------------


def environ_lookup(ctx, name: str) -> tuple[str, list[ImportChange | None]]:
    """`os.environ["NAME"]` (or the file's alias of os) and the import it needs."""
    local, needed = ctx.ensure_module("os")
    return f"{local}.environ[{ctx.string_literal(name)}]", [needed]


def http_exception(ctx) -> tuple[str, ImportChange | None] | None:
    """The local name of an HTTPException that answers with its status code, importing it when needed."""
    for local, qualified in ctx.imports.names.items():
        if qualified & {"fastapi.HTTPException", "fastapi.exceptions.HTTPException", "starlette.exceptions.HTTPException"}:
            return local, None
    if ctx.imports.imports_package("fastapi"):
        return ctx.ensure_import("fastapi", "HTTPException")
    if ctx.imports.imports_package("starlette"):
        return ctx.ensure_import("starlette.exceptions", "HTTPException")
    return None


def line_start(ctx, line: int) -> int:
    return ctx.source.offset(line, 0)


def line_after(ctx, line: int) -> int:
    """Offset of the start of the line after `line` (end of text for the last line)."""
    starts = ctx.source.line_starts
    return starts[line] if line < len(starts) else len(ctx.text)


def is_blank(ctx, line: int) -> bool:
    return 1 <= line <= len(ctx.source.line_starts) and not ctx.source.line_text(line).strip()


def first_line(ctx, statement: ast.stmt) -> int:
    """The first line of a statement, decorators included."""
    if isinstance(statement, (*FUNCTIONS, ast.ClassDef)) and statement.decorator_list:
        return statement.decorator_list[0].lineno
    return statement.lineno


def comment_start_line(ctx, line: int) -> int:
    """The first line of the comment lines that sit directly on top of `line`."""
    while line > 1 and ctx.source.line_text(line - 1).lstrip().startswith("#"):
        line -= 1
    return line


def alone_on_lines(ctx, statement: ast.stmt) -> bool:
    start = line_start(ctx, first_line(ctx, statement))
    begin = ctx.full_span(statement)[0] if isinstance(statement, (*FUNCTIONS, ast.ClassDef)) else ctx.span(statement)[0]
    end = ctx.span(statement)[1]
    line_end = ctx.text.find("\n", end)
    line_end = len(ctx.text) if line_end < 0 else line_end
    return not ctx.text[start:begin].strip() and not ctx.text[end:line_end].split("#", 1)[0].strip()


def statement_lines(ctx, statement: ast.stmt, with_comments: bool = True) -> tuple[int, int]:
    first = first_line(ctx, statement)
    if with_comments:
        first = comment_start_line(ctx, first)
    return first, statement.end_lineno or statement.lineno


def remove_lines(ctx, first: int, last: int) -> Edit:
    """Delete whole lines first..last, and the blank lines after them when a blank line already sits above."""
    end_line = last
    if is_blank(ctx, first - 1) or first == 1:
        while is_blank(ctx, end_line + 1):
            end_line += 1
    return Edit(line_start(ctx, first), line_after(ctx, end_line), "")


def move_after(ctx, statement: ast.stmt, anchor: ast.stmt) -> list[Edit] | None:
    """Edits moving `statement` (with the comment lines on top of it) to just after `anchor`, in the same block."""
    if not alone_on_lines(ctx, statement) or not alone_on_lines(ctx, anchor):
        return None
    first, last = statement_lines(ctx, statement)
    moved = ctx.text[line_start(ctx, first):line_after(ctx, last)]
    if not moved.endswith(("\n", "\r")):
        moved += "\n"
    removal = Edit(line_start(ctx, first), line_after(ctx, last), "")
    if is_blank(ctx, first - 1) and is_blank(ctx, last + 1):
        removal = Edit(removal.start, line_after(ctx, last + 1), "")
    return [removal, insert_after(ctx, anchor, moved.replace("\r\n", "\n"))]


def insert_after(ctx, anchor: ast.stmt, text: str) -> Edit:
    """Insert whole lines `text` after the statement `anchor`, one blank line between (two after a top-level def)."""
    at = line_after(ctx, anchor.end_lineno or anchor.lineno)
    gap = "\n\n" if isinstance(anchor, (*FUNCTIONS, ast.ClassDef)) and ctx.source.indentation(anchor.lineno) == "" else "\n"
    prefix = "" if ctx.text[:at].endswith(("\n", "\r")) or at == 0 else "\n"
    return ctx.insert(at, prefix + gap + text)


def remove_element(ctx, elements: list[ast.AST], index: int, spans: list[tuple[int, int]] | None = None) -> Edit:
    """Delete one element of a comma-separated list (call arguments, list items, import names) with its comma."""
    spans = spans or [ctx.span(e) for e in elements]
    start, end = spans[index]
    text = ctx.text
    ls = text.rfind("\n", 0, start) + 1
    le = text.find("\n", end)
    le = len(text) if le < 0 else le
    rest = text[end:le]
    if not text[ls:start].strip() and re.fullmatch(r"\s*,?\s*(#.*)?", rest) and len(elements) > 1:
        return Edit(ls, le + 1 if le < len(text) else le, "")  # alone on its line(s)
    if index > 0:
        return Edit(spans[index - 1][1], end, "")
    if len(elements) > 1:
        return Edit(start, spans[1][0], "")
    after = end
    comma = re.match(r"\s*,", text[end:])
    if comma:
        after = end + comma.end()
    return Edit(start, after, "")


def argument_spans(ctx, call: ast.Call) -> list[tuple[ast.AST, tuple[int, int]]]:
    items = [(a, ctx.span(a)) for a in call.args] + [(k, ctx.span(k)) for k in call.keywords]
    return sorted(items, key=lambda pair: pair[1])


def remove_argument(ctx, call: ast.Call, node: ast.AST) -> Edit:
    items = argument_spans(ctx, call)
    index = next(i for i, (n, _) in enumerate(items) if n is node)
    return remove_element(ctx, [n for n, _ in items], index, [s for _, s in items])


def append_argument(ctx, call: ast.Call, text: str) -> Edit:
    """Add `text` as the last argument of `call`, in the call's layout (one per line, trailing comma, inline)."""
    items = argument_spans(ctx, call)
    close = ctx.span(call)[1] - 1
    if not items:
        return ctx.insert(close, text)
    last_node, (_, last_end) = items[-1]
    between = ctx.text[last_end:close]
    if "\n" in between:
        indent = ctx.source.indentation(ctx.line_of(last_node))
        if "," in between.split("#", 1)[0]:
            comma = last_end + between.index(",") + 1
            return ctx.insert(comma, f"\n{indent}{text},")
        return ctx.insert(last_end, f",\n{indent}{text}")
    if between.strip().startswith(","):
        comma = last_end + between.index(",") + 1
        return ctx.insert(comma, f" {text}")
    return ctx.insert(last_end, f", {text}")


# ---- apps, routes and middleware ---------------------------------------------------------------------------------


def is_app_constructor(ctx, node: ast.AST) -> str | None:
    """"fastapi" or "starlette" for `FastAPI(...)`/`Starlette(...)`."""
    if not isinstance(node, ast.Call):
        return None
    if ctx.refers_to(node.func, "fastapi", "FastAPI"):
        return "fastapi"
    if ctx.refers_to(node.func, "starlette", "Starlette"):
        return "starlette"
    return None


@dataclass
class App:
    name: str
    statement: ast.Assign | ast.AnnAssign
    call: ast.Call
    framework: str


def apps(ctx) -> list[App]:
    found = []
    for node in walk(ctx.tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            framework = is_app_constructor(ctx, node.value)
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if framework and len(targets) == 1 and dotted(targets[0]):
                found.append(App(dotted(targets[0]), node, node.value, framework))
    return found


def is_cors(ctx, node: ast.AST | None) -> bool:
    return node is not None and (ctx.refers_to(node, "starlette", "CORSMiddleware") or ctx.refers_to(node, "fastapi", "CORSMiddleware"))


@dataclass
class Registration:
    """One middleware added to an app: `app.add_middleware(Cls, ...)` or an `@app.middleware("http")` function."""

    kind: str  # "add" | "decorator"
    statement: ast.stmt
    receiver: str
    call: ast.Call
    middleware: ast.expr | None  # the class for "add"
    function: ast.AST | None  # the dispatch function for "decorator" (and BaseHTTPMiddleware(dispatch=...))
    scope: ast.AST | None = None  # the function (or module) whose code adds it: order only counts within one scope


def registrations(ctx) -> list[Registration]:
    found: list[Registration] = []
    for node in walk(ctx.tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            call = node.value
            func = call.func
            if isinstance(func, ast.Attribute) and func.attr == "add_middleware" and dotted(func.value):
                cls = argument(call, 0, "middleware_class")
                found.append(Registration("add", node, dotted(func.value), call, cls, None))
        elif isinstance(node, FUNCTIONS):
            for decorator in node.decorator_list:
                if (
                    isinstance(decorator, ast.Call)
                    and isinstance(decorator.func, ast.Attribute)
                    and decorator.func.attr == "middleware"
                    and dotted(decorator.func.value)
                    and string_value(argument(decorator, 0, "middleware_type")) == "http"
                ):
                    found.append(Registration("decorator", node, dotted(decorator.func.value), decorator, None, node))
    for registration in found:
        registration.scope = enclosing_function(ctx, registration.statement) or ctx.tree
    found.sort(key=lambda r: (r.statement.lineno, r.statement.col_offset))
    return found


def constructor_middleware(ctx, call: ast.Call) -> list[ast.Call]:
    """`Middleware(Cls, ...)` items of `FastAPI(middleware=[...])`."""
    value = argument(call, None, "middleware")
    if not isinstance(value, (ast.List, ast.Tuple)):
        return []
    return [item for item in value.elts if isinstance(item, ast.Call) and last_name(item.func) == "Middleware"]


ANSWERING_LIBRARY = {
    "TrustedHostMiddleware": "answers 400 for an unknown host",
    "HTTPSRedirectMiddleware": "answers with a redirect",
    "SlowAPIMiddleware": "answers 429 when the rate limit is hit",
    "SlowAPIASGIMiddleware": "answers 429 when the rate limit is hit",
    "AuthenticationMiddleware": "answers when authentication fails",
    "RateLimitMiddleware": "answers 429 when the rate limit is hit",
}
PASSIVE_LIBRARY = {
    "GZipMiddleware", "SessionMiddleware", "CORSMiddleware", "ProxyHeadersMiddleware", "BrotliMiddleware",
    "PrometheusMiddleware", "SentryAsgiMiddleware", "CorrelationIdMiddleware", "TimingMiddleware",
}
ANSWERING_NAME = re.compile(r"auth|jwt|token|bearer|rate.?limit|limiter|throttl|api.?key|permission|firewall|csrf|ip.?filter|allow.?list|block.?list|guard", re.IGNORECASE)


def answers_by_itself(ctx, registration: Registration) -> str | None:
    """Why a registered middleware can send a response without calling the app (None: it only passes through)."""
    if registration.kind == "decorator":
        return _function_answers(ctx.project, ctx.tree, registration.function, ctx.path)
    cls = registration.middleware
    if cls is None:
        return None
    name = last_name(cls)
    if name == "BaseHTTPMiddleware":
        dispatch = argument(registration.call, 1, "dispatch")
        return _dispatch_reference_answers(ctx, dispatch)
    if is_cors(ctx, cls) or name in PASSIVE_LIBRARY:
        return None
    if name in ANSWERING_LIBRARY:
        return f"{name} {ANSWERING_LIBRARY[name]}"
    found = _find_class(ctx, cls)
    if found is not None:
        path, tree, node = found
        for method in node.body:
            if isinstance(method, FUNCTIONS) and method.name in ("dispatch", "__call__"):
                reason = _function_answers(ctx.project, tree, method, path, asgi=method.name == "__call__")
                if reason:
                    return f"{node.name} {reason}"
        return None
    if ANSWERING_NAME.search(name):
        return f"{name} looks like an auth or rate-limit middleware"
    return None


def _dispatch_reference_answers(ctx, dispatch: ast.AST | None) -> str | None:
    if isinstance(dispatch, ast.Name):
        func = local_function(ctx.tree, dispatch.id)
        if func is not None:
            return _function_answers(ctx.project, ctx.tree, func, ctx.path)
        for qualified in ctx.imports.qualnames(dispatch):
            found = resolve_function(ctx.project, ctx.path, qualified)
            if found:
                path, node = found
                return _function_answers(ctx.project, parse_file(ctx.project, path), node, path)
        if ANSWERING_NAME.search(dispatch.id):
            return f"{dispatch.id} looks like an auth check"
    return None


def _find_class(ctx, cls: ast.AST):
    """(path, tree, class) of the project class an expression names."""
    found = ctx.model.resolve(ctx.module, cls)
    if found is not None and found.is_class:
        return found.module.path, found.module.tree, found.node
    return None


RESPONSE_NAME = re.compile(r"Response$")


def _function_answers(project, tree, func, path, asgi: bool = False, depth: int = 0) -> str | None:
    """Whether a middleware function or method returns or sends a response of its own (an early return)."""
    if func is None or depth > 2:
        return None
    params = [a.arg for a in (*func.args.posonlyargs, *func.args.args)]
    call_next = params[-1] if params and not asgi else None
    passthrough: set[str] = set()
    nodes = list(own_nodes(func))
    for node in nodes:
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and _calls_name(node.value, call_next):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            passthrough |= {t.id for t in targets if isinstance(t, ast.Name)}
    raised = _raises(project, path, func)
    if raised:
        return raised
    for node in nodes:
        if asgi:
            if isinstance(node, ast.Call) and RESPONSE_NAME.search(last_name(node.func) or ""):
                return f"builds its own {last_name(node.func)} (line {node.lineno})"
            if isinstance(node, ast.Dict) and any(string_value(v) == "http.response.start" for v in node.values):
                return f"sends its own response (line {node.lineno})"
            continue
        if not isinstance(node, ast.Return) or node.value is None:
            continue
        value = unawait(node.value)
        if isinstance(value, ast.Name) and value.id in passthrough:
            continue
        if isinstance(value, ast.Call) and last_name(value.func) == call_next:
            continue
        if isinstance(value, ast.Call) and call_next and any(isinstance(a, ast.Name) and a.id == call_next for a in value.args):
            delegate = _delegate(project, tree, path, value.func)
            if delegate is not None:
                reason = _function_answers(project, delegate[1], delegate[2], delegate[0], depth=depth + 1)
                if reason:
                    return f"answers through {delegate[2].name}(): {reason}"
                continue
            if ANSWERING_NAME.search(last_name(value.func)):
                return f"returns {last_name(value.func)}(...) (line {node.lineno})"
            continue
        return f"returns its own response (line {node.lineno})"
    return None


def _raises(project, path, func) -> str | None:
    """An HTTP error the middleware raises, itself or in a helper it calls (`self._validate_csrf_token(request)`)."""
    model = model_of(project)
    module = model.module(path)
    if module is None:
        return None
    for fact in model.facts(RAISES_HTTP_ERROR, model.function(module, func), 2):
        if not fact.via:
            return f"raises {fact.what} (line {fact.node.lineno})"
        return f"raises {fact.what} in {fact.through()} (line {fact.via[0].node.lineno})"
    return None


def _delegate(project, tree, path, func):
    """(path, tree, def) of the project function a middleware hands the request to."""
    model = model_of(project)
    module = model.module(path)
    found = model.resolve(module, func) if module is not None and isinstance(func, ast.Name) else None
    if found is not None and found.is_function:
        return found.module.path, found.module.tree, found.node
    return None


def _calls_name(node: ast.AST, name: str | None) -> bool:
    return name is not None and any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name for n in walk(node)
    )


def cors_registrations(ctx) -> list[tuple[ast.stmt | None, ast.Call]]:
    """(statement, call) of every CORSMiddleware installed in the file: add_middleware(...) or Middleware(...)."""
    found = []
    for node in walk(ctx.tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "add_middleware" and is_cors(ctx, argument(node, 0, "middleware_class")) or last_name(func) == "Middleware" and node.args and is_cors(ctx, node.args[0]):
            found.append((statement_of(ctx, node), node))
    return found


def installs_cors(project, path: Path) -> bool:
    tree = parse_file(project, path)
    if tree is None or b"CORSMiddleware" not in project.read_bytes(path):
        return False
    for node in walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr == "add_middleware" and node.args and last_name(node.args[0]) == "CORSMiddleware":
                return True
            if last_name(func) == "Middleware" and node.args and last_name(node.args[0]) == "CORSMiddleware":
                return True
    return False


ROUTE_METHODS = {"get", "post", "put", "patch", "delete", "options", "head", "trace"}


@dataclass
class Route:
    function: ast.AST
    decorator: ast.Call
    receiver: str
    path: str | None
    methods: set[str]
    methods_node: ast.expr | None


def routes(ctx) -> list[Route]:
    found = []
    for node in walk(ctx.tree):
        if not isinstance(node, FUNCTIONS):
            continue
        for decorator in node.decorator_list:
            if not isinstance(decorator, ast.Call) or not isinstance(decorator.func, ast.Attribute):
                continue
            attr = decorator.func.attr
            receiver = dotted(decorator.func.value)
            if receiver is None:
                continue
            path = string_value(argument(decorator, 0, "path"))
            if attr in ROUTE_METHODS:
                found.append(Route(node, decorator, receiver, path, {attr.upper()}, None))
            elif attr in ("api_route", "route"):
                methods_node = argument(decorator, None, "methods")
                methods = set()
                if isinstance(methods_node, (ast.List, ast.Tuple, ast.Set)):
                    methods = {str(string_value(e)).upper() for e in methods_node.elts if string_value(e)}
                found.append(Route(node, decorator, receiver, path, methods or {"GET"}, methods_node))
    return found


def router_prefixes(ctx) -> dict[str, str]:
    """`router = APIRouter(prefix="/chatkit")` -> {"router": "/chatkit"}."""
    found = {}
    for node in walk(ctx.tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and len(node.targets) == 1:
            if last_name(node.value.func) in ("APIRouter", "FastAPI", "Starlette", "Router"):
                name = dotted(node.targets[0])
                prefix = string_value(argument(node.value, None, "prefix")) or ""
                if name:
                    found[name] = prefix
    return found


def calls_process(func: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "process" for n in own_nodes(func)
    )


# ---- JWT ---------------------------------------------------------------------------------------------------------

JWT_ENCODE = {"jwt.encode": "PyJWT", "jwt.api_jwt.encode": "PyJWT", "jose.jwt.encode": "python-jose"}
ALGORITHMS = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "EdDSA"}


def jwt_library(ctx, call: ast.Call, table=JWT_DECODE) -> str | None:
    for qualified in ctx.imports.qualnames(call.func):
        if qualified in table:
            return table[qualified]
    return None


def jwt_library_in(imports, call: ast.Call, table=JWT_DECODE) -> str | None:
    for qualified in imports.qualnames(call.func):
        if qualified in table:
            return table[qualified]
    return None


# ---- identity and auth -------------------------------------------------------------------------------------------


def may_name_decoder(data: bytes) -> bool:
    """Byte prefilter for files that may mention a token decoder (see DECODER_NAME)."""
    lowered = data.lower()
    return (
        (b"token" in lowered or b"jwt" in lowered)
        and any(verb in lowered for verb in (b"decode", b"verify", b"validate", b"parse", b"check"))
    ) or b"current_user" in lowered or b"authenticate" in lowered


def decoder_bytes(needles: Iterable[bytes]) -> Callable[[bytes], bool]:
    """The byte test of `decoder_files`: one of `needles`, and a token decoder may be named (`may_name_decoder`)."""
    needles = tuple(needles)

    def holds_decoder(data: bytes) -> bool:
        return any(n in data for n in needles) and may_name_decoder(data)

    return holds_decoder


def decoder_files(pctx, test: Callable[[bytes], bool]) -> Iterator[PythonContext]:
    """The parsed contexts of the project's Python files (tests excluded) that pass `test` (see `decoder_bytes`)."""
    project = pctx.project
    for path in python_sources(project):
        if not test(project.read_bytes(path)):
            continue
        ctx = pctx.parsed(path)
        if ctx is not None:
            yield ctx


# ---- front end ---------------------------------------------------------------------------------------------------

COOKIE_BACKEND = (b"request.cookies", b".cookies.get(", b"set_cookie(", b"Cookie(", b"SessionMiddleware", b"APIKeyCookie")
# each starts with a literal, which `re` finds with a fast scan (an alternation at the start would try every byte)
COOKIE_FRONTEND = (re.compile(rb"""credentials\s*:\s*['"`]include['"`]"""), re.compile(rb"withCredentials\s*[:=]\s*true"))
SENDS_COOKIES = watch(("tsx",), lambda data: b"redentials" in data and any(p.search(data) for p in COOKIE_FRONTEND))


def uses_cookies(project) -> bool:
    """Whether cross-origin credentials matter: the front end sends cookies or the back end reads or sets them."""
    for path in project.files_of("tsx"):
        if project.holds(path, SENDS_COOKIES):
            return True
    for path in python_sources(project, COOKIE_BACKEND):
        return True
    return False


def dev_origins(project) -> list[str]:
    """The local origins a front end of this project is served from during development."""
    origins: list[str] = []
    for root in frontend_roots(project):
        origins.append(f"http://localhost:{frontend_port(project, root)}")
    return sorted(set(origins), key=origins.index) or ["http://localhost:3000"]


def frontend_roots(project) -> list[Path]:
    roots = []
    for root in project.frontend_roots:
        data = project.read_bytes(root / "package.json") if (root / "package.json") in project.file_set else b""
        if any(m in data for m in (b"react", b"vite", b"next", b"vue", b"svelte", b"@openai/chatkit")) or not data:
            roots.append(root)
    return roots


def frontend_port(project, root: Path) -> int:
    package = root / "package.json"
    data = project.read_bytes(package) if package.is_file() else b""
    given = _dev_server_port(data)
    for config in _configs(project, root, b"vite.config"):
        text = project.read_bytes(config)
        port = re.search(rb"port\s*:\s*(\d{2,5})", text)
        if port and b"server" in text:
            return int(port.group(1))
        return given or 5173
    if given:
        return given
    if b'"vite"' in data:
        return 5173
    return 3000


DEV_SERVERS = re.compile(r"\b(next|vite|react-scripts|astro|remix|docusaurus|webpack-dev-server|webpack serve)\b")


def _dev_server_port(package_json: bytes) -> int | None:
    """The port a package.json script gives the front end's dev server (`next dev -p 3001`, `vite --port 5175`),
    never another process its scripts start (`concurrently "next dev" "uvicorn main:app --port 8000"`)."""
    try:
        scripts = json.loads(package_json or b"{}").get("scripts") or {}
    except (ValueError, AttributeError):
        scripts = {}
    commands = [c for c in scripts.values() if isinstance(c, str)] if isinstance(scripts, dict) else []
    for command in commands:
        for part in re.split(r"&&|\|\||;|\"|'", command):
            port = re.search(r"(?:--port|-p)[ =](\d{2,5})\b", part)
            if port and DEV_SERVERS.search(part):
                return int(port.group(1))
    return None


def _configs(project, root: Path, stem: bytes) -> list[Path]:
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    return [root / name for name in names if name.encode().startswith(stem) and root / name in project.file_set]


def has_proxy(project, root: Path) -> bool:
    """A dev proxy or a server-side route forwards the front end's calls, so the browser stays same-origin."""
    for config in _configs(project, root, b"vite.config"):
        if b"proxy" in project.read_bytes(config):
            return True
    for config in _configs(project, root, b"next.config"):
        if b"rewrites" in project.read_bytes(config):
            return True
    prefix = os.path.join(str(root), "")
    for path in project.files_of("tsx"):
        text = str(path)
        if text.startswith(prefix) and API_ROUTE.search(text[len(prefix):].replace(os.sep, "/")):
            return True
    return False


API_ROUTE = re.compile(r"(^|/)(app/api/.+/route|pages/api/.+)\.(ts|js|tsx|jsx|mjs)$")


SERVER_SIDE = re.compile(r"(^|/)(app/api/|pages/api/|server/)|(^|/)(middleware|route|server)\.(t|j)sx?$|\.config\.|(^|/)(vite|next|webpack|jest|vitest|playwright)\b")
LOCAL_URL = re.compile(r"^https?://(localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])(:(\d+))?(/[^\s]*)?$")
LOCAL_HOSTS = (b"localhost", b"127.0.0.1", b"0.0.0.0", b"[::1]")  # the hosts of LOCAL_URL, as bytes
# one pass from the literal prefix "://" instead of one search per host
NAMES_LOCAL_HOST = watch(("tsx",), (re.compile(b"://(?:" + b"|".join(map(re.escape, LOCAL_HOSTS)) + b")"),))
URL_KEYS = {"url", "baseurl", "baseURL", "apiurl", "endpoint", "apibaseurl", "backendurl", "host", "server"}
URL_VARIABLE = re.compile(r"api|backend|server|base|url|endpoint|host|chat", re.IGNORECASE)


@dataclass
class FrontendCall:
    path: Path
    node: object
    url: str
    port: int | None
    route: str


def absolute_backend_urls(project, pctx) -> list[FrontendCall]:
    """Front-end code (browser side) that calls a local back end by absolute URL, per front end without a proxy
    (read once per run: every service's view asks the same of the front end)."""
    found = pctx.whole_memo.get("absolute_backend_urls")
    if found is None:
        found = pctx.whole_memo["absolute_backend_urls"] = _absolute_backend_urls(project, pctx)
    return found


def _absolute_backend_urls(project, pctx) -> list[FrontendCall]:
    found: list[FrontendCall] = []
    roots = sorted(frontend_roots(project), key=lambda r: -len(r.parts))
    proxied: dict[Path, bool] = {}
    ports: dict[Path, int | None] = {}
    for path in project.files_of("tsx"):
        if not project.holds(path, NAMES_LOCAL_HOST):
            continue
        data = project.read_bytes(path)
        root = next((r for r in roots if r != path and inside(path, r)), None)
        relative = path.relative_to(root).as_posix() if root else project.relative(path)
        if is_test_path(project, path) or SERVER_SIDE.search(relative) or "node_modules" in relative:
            continue
        if b"use server" in data[:200]:
            continue
        if root is not None:
            if root not in proxied:
                proxied[root] = has_proxy(project, root)
                ports[root] = frontend_port(project, root)
            if proxied[root]:
                continue
        own_port = ports[root] if root else None
        ctx = pctx.parsed(path)
        if ctx is None:
            continue
        try:
            tree = ctx.root
        except Exception:  # noqa: BLE001 - an unparsable front-end file is not ours to judge
            continue
        for node in [*tree.find_all(kind="string"), *tree.find_all(kind="template_string")]:
            text = node.text()[1:-1]
            prefix = re.split(r"\$\{", text, maxsplit=1)[0]
            match = LOCAL_URL.match(prefix) or LOCAL_URL.match(text)
            if not match:
                continue
            port = int(match.group(3)) if match.group(3) else None
            if own_port is not None and port == own_port:
                continue
            if not _used_as_api(node):
                continue
            found.append(FrontendCall(path, node, text, port, match.group(4) or ""))
    return found


def _used_as_api(node) -> bool:
    current = node.parent()
    for _ in range(6):
        if current is None:
            return False
        kind = current.kind()
        if kind.startswith("jsx"):
            return False
        if kind == "pair":
            key = current.field("key")
            name = key.text().strip("'\"") if key is not None else ""
            return name.lower() in {k.lower() for k in URL_KEYS}
        if kind in ("call_expression", "new_expression"):
            callee = current.field("function") or current.field("constructor")
            name = callee.text() if callee is not None else ""
            return bool(re.search(r"(^|\.)(fetch|get|post|put|patch|delete|request|create|EventSource|WebSocket)$|^axios|^ky", name))
        if kind in ("variable_declarator", "assignment_expression", "public_field_definition"):
            target = current.field("name") or current.field("left")
            return bool(target is not None and URL_VARIABLE.search(target.text()))
        current = current.parent()
    return False


# ---- environment -------------------------------------------------------------------------------------------------


def getenv_call(ctx, node: ast.AST | None) -> tuple[str | None, ast.expr | None] | None:
    """(variable name, default) for `os.getenv(...)`, `os.environ.get(...)`, `environ.get(...)` or `getenv(...)`."""
    if not isinstance(node, ast.Call):
        return None
    names = ctx.imports.qualnames(node.func)
    if names & {"os.getenv", "os.environ.get", "os.environ.setdefault"}:
        return string_value(argument(node, 0, "key")), argument(node, 1, "default")
    text = dotted(node.func) or ""
    if text in ("os.getenv", "os.environ.get") or text.endswith("environ.get"):
        return string_value(argument(node, 0, "key")), argument(node, 1, "default")
    return None
