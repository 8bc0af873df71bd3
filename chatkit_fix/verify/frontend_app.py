"""What `verify --browser` needs to know about the front end, read from the front-end model (analysis/frontend.py):
which framework serves it and how its package starts it, the page that mounts ChatKit, the environment variable its
`api.url` is built from (so the dev server can be pointed at the back end verify started), and where its token getter
reads the access token (so a test token can be put there).

Nothing here runs code: values are followed through consts, imports, helper calls and a component's props as the
rules follow them, and a question the code does not answer is answered with None and a reason.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

from ..analysis.frontend import (
    FUNCTION_KINDS,
    FrontendModel,
    FrontendRoot,
    Usage,
    ancestors,
    find_all,
    relative,
    span,
    string_value,
    unwrap,
)

ENV_OBJECTS = {"process.env": "process.env", "import.meta.env": "import.meta.env"}
MAX_ALTERNATIVES = 16
MAX_CALL_DEPTH = 5
STORAGE_OBJECTS = ("localStorage", "sessionStorage")
# package manager -> the lockfile that shows it is used
LOCKFILES = (("pnpm", "pnpm-lock.yaml"), ("yarn", "yarn.lock"), ("bun", "bun.lockb"), ("bun", "bun.lock"),
             ("npm", "package-lock.json"))
# The env files each framework reads in development, most specific first (the process environment beats them all).
ENV_FILES = {
    "next": (".env.development.local", ".env.local", ".env.development", ".env"),
    "vite": (".env.development.local", ".env.development", ".env.local", ".env"),
    "docusaurus": (".env.local", ".env"),
}


@dataclass
class ApiUrl:
    """How the front end builds ChatKit's `api.url`."""

    where: str  # file:line of the usage
    env_name: str | None = None  # the variable the URL is read from (NEXT_PUBLIC_…, VITE_…)
    env_object: str | None = None  # process.env | import.meta.env
    suffix: str = ""  # literal text the code appends to the variable's value ("" when it holds the whole URL)
    fallback: str | None = None  # the literal URL the code uses when the variable is unset
    literal: str | None = None  # the whole URL when it is a literal

    def configured_value(self, root: Path, framework: str | None) -> tuple[str | None, str]:
        """(the variable's value as the dev server would see it, where that came from), from the process
        environment, then the env files the framework reads."""
        if not self.env_name:
            return None, ""
        if os.environ.get(self.env_name):
            return os.environ[self.env_name], "the environment"
        for name in ENV_FILES.get(framework or "", (".env.local", ".env")):
            value = read_env_file(root / name).get(self.env_name)
            if value:
                return value, name
        return None, ""


@dataclass
class TokenPlace:
    """Where the token getter reads the access token."""

    storage: str  # localStorage | sessionStorage | cookie
    key: str
    where: str  # file:line of the read, or the option that set it

    def describe(self) -> str:
        return f"{self.storage} {self.key!r} ({self.where})"


@dataclass
class FrontendApp:
    root: Path
    framework: str | None  # next | vite | docusaurus | None (unknown)
    scripts: dict[str, str]
    package_manager: str
    pages: list[str]  # routes that mount ChatKit, best first
    dynamic_pages: list[str] = field(default_factory=list)  # routes with parameters (cannot be opened as such)
    api: ApiUrl | None = None
    hosted: bool = False
    token: TokenPlace | None = None
    token_note: str = ""  # why no token place was found
    custom_fetch: bool = False


class FrontendNotFound(Exception):
    """No front end that renders ChatKit: a usage error for --browser."""


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a dotenv file (comments, `export` and quotes handled); {} when it is missing."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def find_frontend(model: FrontendModel, near: Path | None = None) -> FrontendApp:
    """The front end whose reachable code renders ChatKit (nearest to `near` when there are several)."""
    elements = model.elements
    if not elements:
        raise FrontendNotFound("no page renders <ChatKit> or <openai-chatkit> (reachable from a page, layout or entry)")
    roots: dict[Path, FrontendRoot] = {}
    for element in elements:
        root = _app_root(model, element.path)
        roots.setdefault(root.path, root)
    if len(roots) > 1 and near is not None:
        chosen = max(roots.values(), key=lambda r: len(os.path.commonpath([str(r.path), str(near)])))
    else:
        chosen = sorted(roots.values(), key=lambda r: len(r.path.parts))[0]
    app = FrontendApp(root=chosen.path, framework=_framework(chosen), scripts=_scripts(chosen.path),
                      package_manager=_package_manager(chosen.path, model.project.root), pages=[])
    static, dynamic = [], []
    for element in elements:
        if _app_root(model, element.path).path != chosen.path:
            continue
        for entry in sorted(model.entries_reaching(element.path)):
            route = _route(model, chosen, entry)
            if route is None:
                continue
            (dynamic if "[" in route else static).append(route)
    app.pages = sorted(set(static), key=lambda r: (r.count("/"), r)) or ["/"]
    app.dynamic_pages = sorted(set(dynamic))
    usages = [u for u in model.usages if _app_root(model, u.path).path == chosen.path]
    app.hosted = bool(usages) and all(u.hosted for u in usages)
    custom = [u for u in usages if u.custom]
    if custom:
        app.api = api_url(model, custom[0])
        app.custom_fetch = any(u.api is not None and u.api.get("fetch") is not None for u in custom)
        app.token, app.token_note = token_place(model, custom)
    return app


def _app_root(model: FrontendModel, path: Path) -> FrontendRoot:
    """The root that serves `path`: a library's code runs in the app that imports it."""
    root = model.root_of(path)
    if root.library:
        for importer in model.package_importers(root):
            return model.root_of(importer)
    return root


def _framework(root: FrontendRoot) -> str | None:
    if root.docusaurus_config is not None:
        return "docusaurus"
    if root.is_next:
        return "next"
    if root.vite_config is not None or "vite" in root.dependencies:
        return "vite"
    return None


def _scripts(folder: Path) -> dict[str, str]:
    try:
        document = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    scripts = document.get("scripts") if isinstance(document, dict) else None
    return {str(k): str(v) for k, v in scripts.items()} if isinstance(scripts, dict) else {}


def _package_manager(folder: Path, top: Path) -> str:
    """From the lockfile next to the package or in a workspace folder above it (up to the project root)."""
    current = folder
    while True:
        for manager, lockfile in LOCKFILES:
            if (current / lockfile).is_file():
                return manager
        if current == top or current.parent == current or top not in current.parents:
            return "npm"
        current = current.parent


def _route(model: FrontendModel, root: FrontendRoot, entry: Path) -> str | None:
    """The URL path of the page an entry file serves; None for entries that are not pages (error boundaries)."""
    for app_dir in root.app_dirs:
        if entry.is_relative_to(app_dir):
            if entry.stem not in ("page", "layout", "template", "default"):
                return None
            parts = [p for p in entry.parent.relative_to(app_dir).parts if not p.startswith(("(", "@"))]
            return "/" + "/".join(parts)
    for pages_dir in root.pages_dirs:
        if entry.is_relative_to(pages_dir):
            parts = list(entry.relative_to(pages_dir).with_suffix("").parts)
            if parts and parts[0].startswith("_"):  # _app, _document: every page
                return "/"
            if parts and parts[-1] == "index":
                parts.pop()
            return "/" + "/".join(parts)
    if entry.suffix.lower() in (".html", ".htm"):
        relative_path = entry.relative_to(root.path).as_posix()
        relative_path = relative_path.removeprefix("public/")
        return "/" if relative_path == "index.html" else "/" + relative_path
    return "/"


# ---- api.url -------------------------------------------------------------------------------------------------------

def _line(model: FrontendModel, path: Path, node) -> str:
    return f"{relative(model, path)}:{node.range().start.line + 1}"


def api_url(model: FrontendModel, usage: Usage) -> ApiUrl:
    prop = usage.api.get("url") if usage.api is not None else None
    result = ApiUrl(where=_line(model, usage.path, usage.call))
    if prop is None or prop.value is None:
        return result
    with model.bound(usage.bindings):
        alternatives = _alternatives(model, prop.path, prop.value)
    for parts in alternatives:
        if result.env_name is None and any(p[0] == "env" for p in parts):
            index = next(i for i, p in enumerate(parts) if p[0] == "env")
            result.env_name, result.env_object = parts[index][1], parts[index][2]
            suffix = []
            for part in parts[index + 1:]:
                if part[0] != "lit":
                    break
                suffix.append(part[1])
            result.suffix = "".join(suffix)
        if result.fallback is None and parts and all(p[0] == "lit" for p in parts):
            result.fallback = "".join(p[1] for p in parts)
    if result.env_name is None and len(alternatives) == 1 and result.fallback is not None:
        result.literal, result.fallback = result.fallback, None
    return result


def _env_reference(node) -> tuple[str, str] | None:
    """(name, object) for `process.env.NAME`, `import.meta.env.NAME` and `process.env["NAME"]`."""
    if node.kind() == "member_expression":
        obj, prop = node.field("object"), node.field("property")
        if obj is not None and prop is not None and obj.text().replace(" ", "") in ENV_OBJECTS:
            return prop.text(), ENV_OBJECTS[obj.text().replace(" ", "")]
    if node.kind() == "subscript_expression":
        obj, index = node.field("object"), node.field("index")
        name = string_value(index) if index is not None else None
        if obj is not None and name and obj.text().replace(" ", "") in ENV_OBJECTS:
            return name, ENV_OBJECTS[obj.text().replace(" ", "")]
    return None


def _alternatives(model: FrontendModel, path: Path, node, depth: int = 0) -> list[list[tuple]]:
    """The ways a string expression can come out, each a list of parts: ("lit", text), ("env", name, object) or
    ("unknown",). `a ?? b` gives a's ways then b's."""
    node = unwrap(node)
    if node is None or depth > 10:
        return [[("unknown",)]]
    kind = node.kind()
    if kind == "string":
        return [[("lit", string_value(node) or "")]]
    env = _env_reference(node)
    if env is not None:
        return [[("env", *env)]]
    if kind == "template_string":
        pieces: list[list[list[tuple]]] = []
        for child in node.children():
            if child.kind() == "string_fragment":
                pieces.append([[("lit", child.text())]])
            elif child.kind() == "template_substitution":
                inner = [c for c in child.named_children() if c.kind() != "comment"]
                pieces.append(_alternatives(model, path, inner[0], depth + 1) if inner else [[("unknown",)]])
        return _concatenations(pieces)
    if kind == "binary_expression":
        operator = node.field("operator")
        op = operator.text() if operator is not None else ""
        left = _alternatives(model, path, node.field("left"), depth + 1)
        right = _alternatives(model, path, node.field("right"), depth + 1)
        if op == "+":
            return _concatenations([left, right])
        if op in ("??", "||"):
            return (left + right)[:MAX_ALTERNATIVES]
        return [[("unknown",)]]
    if kind == "ternary_expression":
        return (_alternatives(model, path, node.field("consequence"), depth + 1)
                + _alternatives(model, path, node.field("alternative"), depth + 1))[:MAX_ALTERNATIVES]
    if kind in ("identifier", "member_expression", "shorthand_property_identifier"):
        target_path, target = model.resolve_expression(path, node, depth + 1)
        if target is not None and target != node:
            return _alternatives(model, target_path, target, depth + 1)
    return [[("unknown",)]]


def _concatenations(pieces: list[list[list[tuple]]]) -> list[list[tuple]]:
    result = []
    for combination in product(*pieces):
        merged: list[tuple] = []
        for parts in combination:
            for part in parts:
                if part[0] == "lit" and merged and merged[-1][0] == "lit":
                    merged[-1] = ("lit", merged[-1][1] + part[1])
                else:
                    merged.append(part)
        result.append(merged)
        if len(result) >= MAX_ALTERNATIVES:
            break
    return result


# ---- the token getter ---------------------------------------------------------------------------------------------

def token_place(model: FrontendModel, usages: list[Usage]) -> tuple[TokenPlace | None, str]:
    """Where the custom `api.fetch` (and the functions it calls) reads the token: a localStorage or sessionStorage
    key, or a cookie; (None, why) when it reads none of them."""
    fetch_found = False
    for usage in usages:
        prop = usage.api.get("fetch") if usage.api is not None else None
        if prop is None:
            continue
        with model.bound(usage.bindings):
            found = (prop.path, prop.node) if prop.kind == "method_definition" else \
                _function(model, prop.path, prop.value)
            if found is None:
                continue
            fetch_found = True
            place = _storage_read(model, *found, seen=set(), depth=0)
        if place is not None:
            return place, ""
    if not fetch_found:
        return None, "no api.fetch: ChatKit's requests carry no token"
    return None, ("the token getter reads no localStorage, sessionStorage or cookie key the code names (an auth "
                  "library?): pass --token-key, or --storage-state from a signed-in session")


def _function(model: FrontendModel, path: Path, node, depth: int = 0):
    """(path, function) for an expression naming a function: a factory call's result, a reference followed through
    the parameters bound on the way, and a parameter with a default value (`{ getToken = readStoredToken }`) that
    nothing binds stands for its default."""
    node = unwrap(node)
    if node is None or depth > 8:
        return None
    if node.kind() == "call_expression":
        # a factory (`authenticatedFetch(getToken)`): its parameters bound to the arguments, then what it returns
        for value_path, value in model.returned_values(path, node):
            found = _function(model, value_path, value, depth + 1)
            if found is not None:
                return found
    found = model.function_value(path, node)
    if found is not None:
        return found
    if node.kind() not in ("identifier", "shorthand_property_identifier"):
        return None
    declared = model.declaration(path, node)
    if declared is not None and declared[1] is not None and declared[1] != node:
        return _function(model, *declared, depth + 1)
    default = _parameter_default(node)
    return _function(model, path, default, depth + 1) if default is not None else None


def _parameter_default(identifier):
    """The default value of the parameter an identifier names, in the nearest function binding it."""
    name = identifier.text()
    for scope in ancestors(identifier):
        if scope.kind() not in FUNCTION_KINDS:
            continue
        params = scope.field("parameters") or scope.field("parameter")
        if params is None:
            continue
        for kind in ("object_assignment_pattern", "assignment_pattern"):
            for pattern in find_all(params, kind):
                left, right = pattern.field("left"), pattern.field("right")
                if left is not None and right is not None and left.text() == name:
                    return right
    return None


def _storage_read(model: FrontendModel, path: Path, function, seen: set, depth: int) -> TokenPlace | None:
    key = (path, span(function))
    if key in seen or depth > MAX_CALL_DEPTH:
        return None
    seen.add(key)
    body = function.field("body") or function
    calls = find_all(body, "call_expression")
    for call in calls:
        place = _storage_call(model, path, call)
        if place is not None:
            return place
    cookie = _cookie_read(model, path, body)
    if cookie is not None:
        return cookie
    for call in calls:
        callee = call.field("function")
        if callee is None:
            continue
        target = _function(model, path, callee)
        if target is not None:
            place = _storage_read(model, *target, seen=seen, depth=depth + 1)
            if place is not None:
                return place
    return None


def _storage_call(model: FrontendModel, path: Path, call) -> TokenPlace | None:
    """`localStorage.getItem(KEY)` (also through `window.`), js-cookie's `Cookies.get(NAME)`."""
    callee = call.field("function")
    if callee is None or callee.kind() != "member_expression":
        return None
    method, owner = callee.field("property"), callee.field("object")
    if method is None or owner is None:
        return None
    args = [a for a in call.field("arguments").named_children() if a.kind() != "comment"]
    if not args:
        return None
    owner_name = owner.text().replace(" ", "").removeprefix("window.").removeprefix("globalThis.")
    storage = owner_name if owner_name in STORAGE_OBJECTS else None
    if storage is None and method.text() == "get" and owner_name == "Cookies":
        storage = "cookie"
    elif storage is None or method.text() != "getItem":
        return None
    value = model.string_parts(path, args[0])
    if not value or any(part.text is None for part in value):
        return None
    return TokenPlace(storage, "".join(part.text for part in value), _line(model, path, call))


def _cookie_read(model: FrontendModel, path: Path, body) -> TokenPlace | None:
    """`document.cookie` parsed for one name: the string literal `NAME=` the function compares cookies with."""
    if not any(m.text().replace(" ", "") in ("document.cookie", "window.document.cookie")
               for m in find_all(body, "member_expression")):
        return None
    for node in find_all(body, "string"):
        text = string_value(node) or ""
        if text.endswith("=") and len(text) > 1 and all(c.isalnum() or c in "._-" for c in text[:-1]):
            return TokenPlace("cookie", text[:-1], _line(model, path, node))
    return None
