"""What `chatkit-fix verify` must boot, found by reading the project's Python with the stdlib `ast`.

Nothing of the user's code is imported here. From the sources it finds:

- the ASGI app to run: a module-level `app = FastAPI(...)` (or `Starlette(...)`) that serves a route whose function
  calls `<server>.process(...)`, directly or through routers joined with `include_router`; the import string is
  computed from the folder uvicorn must start in (the parent of the top package);
- the ChatKit endpoint's path (decorator path plus router prefixes);
- an MCP tool server (`MCPServer(...)`/`FastMCP(...)` and its `streamable_http_app()`), its tools, and the
  environment variable through which the back end reads the server's URL;
- the JWT secret's variable (or literal), whether the back end authenticates at all, the CORS origin a front end
  would use, whether the thread store lives in process memory, and SQLite paths to redirect to a scratch folder.

Config (`[tool.chatkit-fix] backend = {app = ..., mcp-app = ...}`) and command-line options win over detection.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..pyast import walk

APP_CLASSES = {"FastAPI", "Starlette"}
ROUTER_CLASSES = {"APIRouter"}
MCP_CLASSES = {"MCPServer", "FastMCP"}
ROUTE_DECORATORS = {"post", "api_route", "route"}
ENV_READ_CALLS = {"os.environ.get", "os.getenv", "environ.get", "getenv", "os.environ.setdefault", "os.environ.pop"}
SECRET_NAME = re.compile(r"JWT|SECRET|SIGNING_KEY|TOKEN_KEY", re.I)
NOT_SECRET = re.compile(r"OPENAI|CLIENT_SECRET|API_KEY|DOMAIN|ANTHROPIC|GEMINI|DATABASE", re.I)
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]{2,}$")
DB_MODULES = {
    "sqlite3", "aiosqlite", "sqlalchemy", "sqlmodel", "asyncpg", "psycopg", "psycopg2", "psycopg_pool", "redis",
    "motor", "pymongo", "databases", "tortoise", "peewee", "django", "boto3", "aioboto3", "google", "firebase_admin",
    "supabase", "pynamodb", "aiomysql", "pymysql", "mysql", "duckdb", "shelve", "dbm", "diskcache", "prisma",
    "beanie", "odmantic", "elasticsearch", "qdrant_client", "chromadb",
}
DEFAULT_MCP_ENV_NAMES = ("MCP_SERVER_URL", "MCP_URL", "CHATKIT_MCP_URL")
FRONTEND_ORIGINS = {"vite": "http://localhost:5173", "next": "http://localhost:3000", "react": "http://localhost:3000"}
SKIP_PARTS = {"tests", "test", "node_modules", "site-packages", ".venv", "venv", "__pycache__"}


class DiscoveryError(Exception):
    """The project gives verify nothing to boot (or a configured target cannot be found): a usage error, exit 2."""


@dataclass
class Target:
    """An ASGI app to run with `python -m uvicorn <import_string>` from `cwd`."""

    import_string: str
    cwd: Path
    source: str  # "--app" / "config" / "detected"
    file: Path | None = None
    factory: bool = False


@dataclass
class McpTarget(Target):
    path: str = "/mcp"
    tools: list[str] = field(default_factory=list)
    url_env: list[str] = field(default_factory=list)  # variables given the server's URL
    url_env_source: str = ""  # how those names were found
    port: int | None = None  # a port the back end has hard-coded (no variable to point it elsewhere)


@dataclass
class Discovery:
    root: Path
    app: Target
    chatkit_path: str = "/chatkit"
    chatkit_path_source: str = "default"
    mcp: McpTarget | None = None
    dotenv: dict[str, str] = field(default_factory=dict)  # merged .env values (first file wins)
    dotenv_files: list[Path] = field(default_factory=list)
    example_env: dict[str, str] = field(default_factory=dict)  # .env.example and the like
    env_reads: dict[str, str | None] = field(default_factory=dict)  # variable -> default the code falls back to
    secret_names: list[str] = field(default_factory=list)
    secret_literal: str | None = None
    secret_literal_where: str | None = None
    auth_evidence: list[str] = field(default_factory=list)
    cors_middleware: bool = False
    options_route: bool = False
    cors_origins: list[str] = field(default_factory=list)  # allow_origins literals and defaults seen in code
    cors_env: list[str] = field(default_factory=list)  # variables the origins are read from
    frontend: str | None = None
    memory_store: str | None = None  # evidence that every store class keeps threads in memory
    store_env: dict[str, str] = field(default_factory=dict)  # variable -> "path" | "url:<scheme>"
    notes: list[str] = field(default_factory=list)

    def relative(self, path: Path | None) -> str:
        if path is None:
            return "-"
        try:
            return path.resolve().relative_to(self.root).as_posix() or "."
        except ValueError:
            return str(path)


# ---- Python files ---------------------------------------------------------------------------------------------------


class PyFile:
    """One parsed module, with what the discovery needs: module-level names, imports, its import root."""

    def __init__(self, path: Path, text: str, tree: ast.Module):
        self.path = path
        self.text = text
        self.tree = tree
        self.import_root = import_root(path)
        self.module = module_of(path, self.import_root)
        self.is_package = path.name == "__init__.py"
        self.assigns: dict[str, ast.expr] = {}
        self.functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
        self.imports: dict[str, tuple[str, str | None]] = {}  # local -> (absolute module, attribute or None)
        for node in tree.body:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.assigns[target.id] = node.value
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
                self.assigns[node.target.id] = node.value
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[node.name] = node
        for node in walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.imports[alias.asname] = (alias.name, None)
                    else:
                        self.imports[alias.name.split(".")[0]] = (alias.name.split(".")[0], None)
            elif isinstance(node, ast.ImportFrom):
                base = self._absolute(node.level, node.module)
                for alias in node.names:
                    self.imports[alias.asname or alias.name] = (base, alias.name)

    def _absolute(self, level: int, module: str | None) -> str:
        if level == 0:
            return module or ""
        parts = self.module.split(".") if self.module else []
        drop = level - 1 if self.is_package else level
        parts = parts[: len(parts) - drop] if drop <= len(parts) else []
        if module:
            parts.append(module)
        return ".".join(parts)

    def imported_modules(self) -> set[str]:
        found = set()
        for node in walk(self.tree):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
        return found

    def string_constant(self, node: ast.AST | None, depth: int = 0) -> str | None:
        """A string literal, or a module-level name bound to one (followed a few steps)."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name) and depth < 4:
            return self.string_constant(self.assigns.get(node.id), depth + 1)
        return None

    def line(self, node: ast.AST) -> int:
        return getattr(node, "lineno", 0)


def import_root(path: Path) -> Path:
    """The folder uvicorn must start in to import `path`: the first ancestor that is not a package."""
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        folder = folder.parent
    return folder


def module_of(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def dotted(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None


def call_name(node: ast.AST | None) -> str:
    """The last name of a call's function (`FastAPI` for `fastapi.FastAPI(...)`), else ''."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def argument(call: ast.Call, position: int, name: str) -> ast.expr | None:
    found = keyword(call, name)
    if found is None and len(call.args) > position:
        found = call.args[position]
    return found


class Sources:
    """The project's Python files, parsed on demand and at most once."""

    def __init__(self, root: Path, files: list[Path]):
        self.root = root
        self.files = [f for f in files if f.suffix == ".py"]
        self._parsed: dict[Path, PyFile | None] = {}
        self._bytes: dict[Path, bytes] = {}

    def data(self, path: Path) -> bytes:
        if path not in self._bytes:
            try:
                self._bytes[path] = path.read_bytes()
            except OSError:
                self._bytes[path] = b""
        return self._bytes[path]

    def parsed(self, path: Path) -> PyFile | None:
        if path not in self._parsed:
            try:
                text = self.data(path).decode("utf-8", "replace")
                self._parsed[path] = PyFile(path, text, ast.parse(text, filename=str(path)))
            except (SyntaxError, ValueError):
                self._parsed[path] = None
        return self._parsed[path]

    def with_bytes(self, *needles: bytes) -> Iterator[PyFile]:
        for path in self.files:
            data = self.data(path)
            if any(needle in data for needle in needles):
                parsed = self.parsed(path)
                if parsed is not None:
                    yield parsed

    def module_file(self, module: str, near: PyFile | None = None) -> Path | None:
        """The project file of an absolute module name, looked up from the importer's root first."""
        roots = ([near.import_root] if near else []) + sorted({f.parent for f in self.files}, key=lambda p: len(p.parts))
        rel = Path(*module.split(".")) if module else None
        if rel is None:
            return None
        for root in roots:
            for candidate in (root / f"{rel}.py", root / rel / "__init__.py"):
                if candidate.is_file():
                    return candidate.resolve()
        return None


def is_test_path(path: Path, root: Path) -> bool:
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = path.parts
    return any(part in SKIP_PARTS or part.startswith("test_") for part in parts[:-1]) or path.name.startswith("test_")


# ---- the app --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Route:
    file: Path
    owner: str  # the app or router variable
    path: str | None
    line: int


def _reaches_process(file: PyFile, function: ast.AST, depth: int = 0, seen: set[str] | None = None) -> bool:
    """The function calls `<something>.process(...)` (not `subprocess`), itself or through module functions."""
    seen = seen or set()
    for node in walk(function):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "process":
            receiver = dotted(func.value) or ""
            if receiver.split(".")[0] not in {"subprocess", "multiprocessing", "os", "asyncio"}:
                return True
        if depth < 2 and isinstance(func, ast.Name) and func.id in file.functions and func.id not in seen:
            seen.add(func.id)
            if _reaches_process(file, file.functions[func.id], depth + 1, seen):
                return True
    return False


def _module_routes(file: PyFile) -> list[_Route]:
    """Routes of this module whose endpoint function reaches `.process(...)`."""
    routes: list[_Route] = []
    for function in file.functions.values():
        for decorator in function.decorator_list:
            if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
                continue
            owner = dotted(decorator.func.value)
            if decorator.func.attr in ROUTE_DECORATORS and owner and _reaches_process(file, function):
                path = file.string_constant(argument(decorator, 0, "path"))
                routes.append(_Route(file.path, owner, path, file.line(function)))
    for node in walk(file.tree):
        if not isinstance(node, ast.Call):
            continue
        kind = call_name(node)
        if kind not in {"add_api_route", "add_route", "Route"}:
            continue
        endpoint = argument(node, 1, "endpoint")
        if not (isinstance(endpoint, ast.Name) and endpoint.id in file.functions):
            continue
        if not _reaches_process(file, file.functions[endpoint.id]):
            continue
        if kind == "Route":
            owner = _starlette_owner(file, node)
        else:
            owner = dotted(node.func.value) if isinstance(node.func, ast.Attribute) else None
        if owner:
            path = file.string_constant(argument(node, 0, "path"))
            routes.append(_Route(file.path, owner, path, file.line(node)))
    return routes


def _starlette_owner(file: PyFile, route: ast.Call) -> str | None:
    """The module-level Starlette app whose `routes=` holds this Route (directly or through a module-level list)."""
    for name, value in file.assigns.items():
        if isinstance(value, ast.Call) and call_name(value) in APP_CLASSES:
            routes = keyword(value, "routes")
            if isinstance(routes, ast.Name):
                routes = file.assigns.get(routes.id)
            if routes is not None and any(node is route for node in walk(routes)):
                return name
    return None


def _apps_and_routers(file: PyFile) -> tuple[set[str], dict[str, str]]:
    apps, routers = set(), {}
    for name, value in file.assigns.items():
        if isinstance(value, ast.Call):
            kind = call_name(value)
            if kind in APP_CLASSES:
                apps.add(name)
            elif kind in ROUTER_CLASSES:
                routers[name] = file.string_constant(keyword(value, "prefix")) or ""
    return apps, routers


def _resolve_reference(sources: Sources, file: PyFile, node: ast.AST) -> tuple[Path, str] | None:
    """Where a router expression is defined: (file, module-level name)."""
    if isinstance(node, ast.Name):
        if node.id in file.assigns:
            return file.path, node.id
        if node.id in file.imports:
            module, attribute = file.imports[node.id]
            if attribute is not None:
                target = sources.module_file(module, file)
                if target is not None:
                    return target, attribute
    elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        local = node.value.id
        if local in file.imports:
            module, attribute = file.imports[local]
            full = f"{module}.{attribute}" if attribute else module
            target = sources.module_file(full, file)
            if target is not None:
                return target, node.attr
    return None


def find_app(sources: Sources, root: Path) -> tuple[Target, str | None, list[str]]:
    """The app serving ChatKit: (target, endpoint path or None, notes)."""
    notes: list[str] = []
    routes: list[_Route] = []
    for file in sources.with_bytes(b".process("):
        routes.extend(_module_routes(file))
    # include_router edges: (child file, child name) -> [(parent file, parent name, prefix)]
    edges: dict[tuple[Path, str], list[tuple[Path, str, str]]] = {}
    apps: dict[tuple[Path, str], PyFile] = {}
    router_prefix: dict[tuple[Path, str], str] = {}
    for file in sources.with_bytes(b"FastAPI", b"Starlette", b"APIRouter", b"include_router"):
        file_apps, file_routers = _apps_and_routers(file)
        for name in file_apps:
            apps[(file.path, name)] = file
        for name, prefix in file_routers.items():
            router_prefix[(file.path, name)] = prefix
        for node in walk(file.tree):
            if isinstance(node, ast.Call) and call_name(node) == "include_router" and node.args:
                parent = dotted(node.func.value) if isinstance(node.func, ast.Attribute) else None
                child = _resolve_reference(sources, file, node.args[0])
                if parent and child:
                    prefix = file.string_constant(keyword(node, "prefix")) or ""
                    edges.setdefault((child[0].resolve(), child[1]), []).append((file.path, parent, prefix))
    candidates: list[tuple[Path, str, str, _Route]] = []
    for route in routes:
        own_prefix = router_prefix.get((route.file, route.owner), "")
        start = (route.file.resolve(), route.owner)
        frontier = [(start, own_prefix + (route.path or "/chatkit"))]
        seen: set[tuple[Path, str]] = set()
        while frontier:
            (path, name), full = frontier.pop()
            if (path, name) in seen:
                continue
            seen.add((path, name))
            if (path, name) in apps:
                candidates.append((path, name, full, route))
            for parent_file, parent_name, prefix in edges.get((path, name), []):
                parent_prefix = router_prefix.get((parent_file, parent_name), "")
                frontier.append(((parent_file.resolve(), parent_name), parent_prefix + prefix + full))
    if candidates:
        candidates.sort(key=lambda c: (is_test_path(c[0], root), len(c[0].parts), str(c[0])))
        path, name, endpoint, route = candidates[0]
        others = sorted({f"{_rel(p, root)}:{n}" for p, n, _, _ in candidates[1:] if (p, n) != (path, name)})
        if others:
            notes.append(f"other apps serve ChatKit too ({', '.join(others)}); pass --app to pick one")
        file = apps[(path, name)]
        endpoint_path = endpoint if route.path is not None else None
        target = Target(f"{file.module}:{name}", file.import_root, "detected", path)
        return target, _normalise_path(endpoint_path) if endpoint_path else None, notes
    fallback = [(p, n, f) for (p, n), f in apps.items() if b"chatkit" in sources.data(p).lower()]
    if fallback:
        fallback.sort(key=lambda c: (is_test_path(c[0], root), len(c[0].parts), str(c[0])))
        path, name, file = fallback[0]
        notes.append(f"no route calling ChatKitServer.process() was found; using {_rel(path, root)}:{name}")
        return Target(f"{file.module}:{name}", file.import_root, "detected", path), None, notes
    raise DiscoveryError(
        "no FastAPI or Starlette app with a route calling ChatKitServer.process() was found; "
        'pass --app "package.module:app" or set [tool.chatkit-fix] backend = { app = "package.module:app" }'
    )


def _normalise_path(path: str) -> str:
    path = re.sub(r"/+", "/", "/" + path.lstrip("/"))
    return path


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)


def resolve_import_string(import_string: str, candidates: list[Path], source: str) -> Target:
    """A configured or given `pkg.module:attr`: the first candidate folder from which the module file exists."""
    if ":" not in import_string:
        raise DiscoveryError(f"{import_string!r}: expected \"package.module:attribute\"")
    module, _, attribute = import_string.partition(":")
    if not module or not attribute:
        raise DiscoveryError(f"{import_string!r}: expected \"package.module:attribute\"")
    rel = Path(*module.split("."))
    for folder in candidates:
        for candidate in (folder / f"{rel}.py", folder / rel / "__init__.py"):
            if candidate.is_file():
                return Target(import_string, folder, source, candidate.resolve(), _is_factory(candidate, attribute))
    where = ", ".join(str(c) for c in candidates[:4])
    raise DiscoveryError(f"{import_string}: module {module!r} not found under {where}; pass --app-dir")


def _is_factory(path: Path, attribute: str) -> bool:
    """`module:create_app` names a function that builds the app: uvicorn needs --factory."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return False
    return any(isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == attribute
               for node in tree.body)


# ---- MCP ------------------------------------------------------------------------------------------------------------


def find_mcp(sources: Sources, root: Path, app: Target) -> McpTarget | None:
    """A separate MCP tool server: a module-level MCPServer/FastMCP and the app built from it."""
    best: McpTarget | None = None
    for file in sources.with_bytes(b"MCPServer", b"FastMCP", b"streamable_http_app"):
        if is_test_path(file.path, root):
            continue
        servers = {name for name, value in file.assigns.items()
                   if isinstance(value, ast.Call) and call_name(value) in MCP_CLASSES}
        if not servers:
            continue
        if _mounted(file, servers):
            continue  # served by another app (app.mount(...)): nothing to start separately
        app_name = None
        path = None
        for name, value in file.assigns.items():
            if isinstance(value, ast.Call) and call_name(value) == "streamable_http_app":
                receiver = dotted(value.func.value) if isinstance(value.func, ast.Attribute) else None
                if receiver in servers:
                    app_name = name
                    path = file.string_constant(keyword(value, "streamable_http_path"))
        server_name = min(servers)
        if path is None:
            path = file.string_constant(keyword(file.assigns[server_name], "streamable_http_path"))
        tools = _mcp_tools(file, servers)
        if app_name is not None:
            target = McpTarget(f"{file.module}:{app_name}", file.import_root, "detected", file.path)
        else:
            target = McpTarget(f"{file.module}:{server_name}.streamable_http_app", file.import_root, "detected",
                               file.path, factory=True)
        target.path = _normalise_path(path or "/mcp")
        target.tools = tools
        if app.file is not None and file.path.resolve() == app.file.resolve():
            continue  # the ChatKit app's own module: it is not a separate server
        if best is None or len(file.path.parts) < len(best.file.parts):  # type: ignore[union-attr]
            best = target
    return best


def _mounted(file: PyFile, servers: set[str]) -> bool:
    for node in walk(file.tree):
        if isinstance(node, ast.Call) and call_name(node) == "mount":
            for sub in walk(node):
                if isinstance(sub, ast.Call) and call_name(sub) == "streamable_http_app":
                    return True
                if isinstance(sub, ast.Name) and sub.id in servers:
                    return True
    return False


def _mcp_tools(file: PyFile, servers: set[str]) -> list[str]:
    tools = []
    for node in walk(file.tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                func = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(func, ast.Attribute) and func.attr == "tool" and dotted(func.value) in servers:
                    name = file.string_constant(keyword(decorator, "name")) if isinstance(decorator, ast.Call) else None
                    tools.append(name or node.name)
    return tools


# ---- environment --------------------------------------------------------------------------------------------------


def env_reads(file: PyFile) -> Iterator[tuple[str, str | None, bool]]:
    """(variable, the default the code falls back to, precise) for every environment read of the module.

    Precise reads are `os.environ[...]`, `os.environ.get`, `os.getenv` (and `... or DEFAULT`); imprecise ones are
    UPPER_CASE string arguments of helpers whose name mentions env (`_required("X")`, `env_str("X")`), and
    pydantic `BaseSettings` fields.
    """
    parents: dict[ast.AST, ast.AST] = {}
    for node in walk(file.tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    for node in walk(file.tree):
        if isinstance(node, ast.Call) and node.args:
            name = file.string_constant(node.args[0])
            if not name or not ENV_NAME.match(name):
                continue
            func = dotted(node.func) or ""
            if func in ENV_READ_CALLS or func.endswith(".environ.get"):
                default = file.string_constant(node.args[1]) if len(node.args) > 1 else None
                parent = parents.get(node)
                if default is None and isinstance(parent, ast.BoolOp) and isinstance(parent.op, ast.Or):
                    others = [file.string_constant(v) for v in parent.values if v is not node]
                    default = next((o for o in others if o is not None), None)
                yield name, default, True
            elif re.search(r"env|required|setting|secret|config", func.split(".")[-1], re.I):
                yield name, None, False  # a helper's second argument may be a hint, not a default
        elif isinstance(node, ast.Subscript) and dotted(node.value) in {"os.environ", "environ"}:
            name = file.string_constant(node.slice)
            if name and ENV_NAME.match(name):
                yield name, None, True
        elif isinstance(node, ast.ClassDef) and any(call_name(b) == "BaseSettings" or dotted(b) == "BaseSettings"
                                                    for b in node.bases):
            prefix = ""
            for statement in node.body:
                if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
                    prefix = file.string_constant(keyword(statement.value, "env_prefix")) or prefix
            for statement in node.body:
                if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                    field_name = statement.target.id
                    if field_name.startswith("_") or field_name == "model_config":
                        continue
                    yield (prefix + field_name).upper(), file.string_constant(statement.value), False


def parse_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a .env file (`export`, quotes and comments as python-dotenv reads them)."""
    values: dict[str, str] = {}
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return values
    for raw in lines:
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        if line.startswith("export "):
            line = line[len("export "):].strip()
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not ENV_NAME.match(key.upper()) and not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
            continue
        if value[:1] in {"'", '"'} and value.endswith(value[0]) and len(value) >= 2:
            value = value[1:-1]
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0].strip()
        values[key] = value
    return values


def _dotenv_folders(root: Path, app: Target, backend_roots: list[Path]) -> list[Path]:
    folders: list[Path] = []
    for folder in [app.cwd, app.file.parent if app.file else None, *backend_roots, root]:
        if folder is not None and folder.resolve() not in folders:
            folders.append(folder.resolve())
    return folders


# ---- the whole picture ----------------------------------------------------------------------------------------------


def discover(
    root: Path,
    files: list[Path],
    backend_roots: list[Path],
    app_option: str | None = None,
    app_dir: Path | None = None,
    config_app: str | None = None,
    config_mcp: str | None = None,
    mcp_option: str | None = None,
    no_mcp: bool = False,
) -> Discovery:
    root = root.resolve()
    sources = Sources(root, [f for f in files if not backend_roots or any(_inside(f, b) for b in backend_roots)])
    candidates = [p for p in [app_dir, *backend_roots, root, root / "src", root / "backend"] if p is not None]
    notes: list[str] = []
    endpoint: str | None = None
    if app_option:
        app = resolve_import_string(app_option, candidates, "--app")
    elif config_app:
        app = resolve_import_string(config_app, candidates, "config")
    else:
        app, endpoint, found_notes = find_app(sources, root)
        notes.extend(found_notes)
    if app_dir is not None:
        app.cwd = app_dir
    if endpoint is None and app.file is not None:
        endpoint = _endpoint_of(sources, app)
    found = Discovery(root=root, app=app, notes=notes)
    if endpoint:
        found.chatkit_path, found.chatkit_path_source = endpoint, "detected"

    # .env files: the app's folder first (uvicorn --env-file habits), then the back end's and the project's
    for folder in _dotenv_folders(root, app, backend_roots):
        dotenv = folder / ".env"
        if dotenv.is_file():
            found.dotenv_files.append(dotenv)
            for key, value in parse_dotenv(dotenv).items():
                found.dotenv.setdefault(key, value)
        for name in (".env.example", ".env.sample", ".env.template", "env.example"):
            example = folder / name
            if example.is_file():
                for key, value in parse_dotenv(example).items():
                    found.example_env.setdefault(key, value)

    backend_files = [f for f in (sources.parsed(p) for p in sources.files) if f is not None
                     and not is_test_path(f.path, root)]
    weak: dict[str, str | None] = {}
    for file in backend_files:
        for name, default, precise in env_reads(file):
            bucket = found.env_reads if precise else weak
            if name not in bucket or bucket[name] is None:
                bucket[name] = default
    for name, default in weak.items():
        found.env_reads.setdefault(name, default)

    # MCP
    if not no_mcp:
        if mcp_option or config_mcp:
            spec = mcp_option or config_mcp or ""
            target = resolve_import_string(spec, candidates, "--mcp-app" if mcp_option else "config")
            found.mcp = McpTarget(target.import_string, target.cwd, target.source, target.file)
            parsed = sources.parsed(target.file) if target.file else None
            if parsed is not None:
                servers = {n for n, v in parsed.assigns.items() if isinstance(v, ast.Call) and call_name(v) in MCP_CLASSES}
                found.mcp.tools = _mcp_tools(parsed, servers)
        else:
            found.mcp = find_mcp(sources, root, app)
        if found.mcp is not None:
            _mcp_url_env(found, backend_files)

    _auth(found, backend_files, sources)
    _cors(found, backend_files)
    _frontend(found, files)
    _stores(found, backend_files)
    return found


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _endpoint_of(sources: Sources, app: Target) -> str | None:
    """For a given --app/config app: the path of a route reaching process() anywhere under its folder."""
    for file in sources.with_bytes(b".process("):
        for route in _module_routes(file):
            if route.path:
                parsed = sources.parsed(route.file)
                _, routers = _apps_and_routers(parsed) if parsed else (set(), {})
                return _normalise_path(routers.get(route.owner, "") + route.path)
    return None


def _mcp_url_env(found: Discovery, backend_files: list[PyFile]) -> None:
    mcp = found.mcp
    assert mcp is not None
    mcp_file = mcp.file.resolve() if mcp.file else None
    names = [n for n in found.env_reads if "MCP" in n and not SECRET_NAME.search(n)]
    precise = [n for n in names if "URL" in n or "ENDPOINT" in n or "HOST" in n] or names
    if precise:
        mcp.url_env = precise
        mcp.url_env_source = "read by the back end"
        return
    examples = [n for n in found.example_env if "MCP" in n and "URL" in n]
    if examples:
        mcp.url_env = examples
        mcp.url_env_source = "named in .env.example"
        return
    for file in backend_files:
        if mcp_file is not None and file.path.resolve() == mcp_file:
            continue
        for node in walk(file.tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                match = re.match(r"^https?://(127\.0\.0\.1|localhost|\[::1\]):(\d+)(/\S*)?$", node.value)
                if match and (match.group(3) or "").rstrip("/").endswith(mcp.path.rstrip("/") or "/mcp"):
                    mcp.port = int(match.group(2))
                    mcp.url_env = list(DEFAULT_MCP_ENV_NAMES)
                    mcp.url_env_source = (f"no variable found; the back end has {node.value} hard-coded, so the MCP "
                                          f"server is started on port {mcp.port}")
                    return
    mcp.url_env = list(DEFAULT_MCP_ENV_NAMES)
    mcp.url_env_source = "no variable found in the back end: common names guessed"


def _auth(found: Discovery, backend_files: list[PyFile], sources: Sources) -> None:
    from_decode: list[str] = []
    for file in backend_files:
        rel = found.relative(file.path)
        for node in walk(file.tree):
            if isinstance(node, ast.Call):
                func = dotted(node.func) or ""
                imported = file.imports.get(func.split(".")[0], ("", None))
                is_jwt_decode = (func.endswith("jwt.decode") or (func == "decode" and imported[0] in {"jwt", "jose.jwt"})
                                 or (func.endswith(".decode") and imported[0].startswith(("jwt", "jose"))))
                if is_jwt_decode:
                    found.auth_evidence.append(f"{rel}:{file.line(node)}: jwt.decode")
                    key = argument(node, 1, "key")
                    literal = file.string_constant(key)
                    if literal is not None:
                        found.secret_literal = literal
                        found.secret_literal_where = f"{rel}:{file.line(node)}"
                    elif isinstance(key, ast.Name) and key.id in file.assigns:
                        value = file.assigns[key.id]
                        for name, _, _ in env_reads(_wrap(file, value)):
                            from_decode.append(name)
                    elif key is not None:
                        for name, _, _ in env_reads(_wrap(file, key)):
                            from_decode.append(name)
                elif call_name(node) in {"HTTPBearer", "OAuth2PasswordBearer", "APIKeyHeader"}:
                    found.auth_evidence.append(f"{rel}:{file.line(node)}: {call_name(node)}")
            elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
                  and node.value.lower() == "authorization"):
                found.auth_evidence.append(f"{rel}:{file.line(node)}: reads the Authorization header")
    names = list(dict.fromkeys(from_decode))
    pool = list(found.env_reads) + list(found.dotenv) + list(found.example_env)
    secrets = [n for n in dict.fromkeys(pool) if SECRET_NAME.search(n) and not NOT_SECRET.search(n)]
    secrets.sort(key=lambda n: (0 if "JWT" in n else 1))
    found.secret_names = list(dict.fromkeys(names + secrets))


def _wrap(file: PyFile, node: ast.AST) -> PyFile:
    """A view of one expression as a module, to run env_reads on it."""
    view = PyFile.__new__(PyFile)
    view.__dict__.update(file.__dict__)
    view.tree = ast.Module(body=[ast.Expr(value=node)], type_ignores=[])  # type: ignore[arg-type]
    return view


def _cors(found: Discovery, backend_files: list[PyFile]) -> None:
    for file in backend_files:
        for node in walk(file.tree):
            if isinstance(node, ast.Call) and node.args and dotted(node.args[0]) in {"CORSMiddleware",
                                                                                    "cors.CORSMiddleware"}:
                found.cors_middleware = True
                origins = keyword(node, "allow_origins")
                if isinstance(origins, (ast.List, ast.Tuple)):
                    found.cors_origins.extend(o for o in (file.string_constant(e) for e in origins.elts) if o)
            elif isinstance(node, ast.Name) and node.id == "CORSMiddleware":
                found.cors_middleware = True  # Middleware(CORSMiddleware, ...) and other spellings
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for decorator in node.decorator_list:
                    if isinstance(decorator, ast.Call) and call_name(decorator) == "options":
                        found.options_route = True
        for name, value in file.assigns.items():
            if "ORIGIN" in name.upper():
                literal = file.string_constant(value)
                if literal:
                    found.cors_origins.extend(o.strip() for o in literal.split(",") if o.strip())
    found.cors_env = [n for n in found.env_reads if "CORS" in n or "ORIGIN" in n]
    for name in found.cors_env:
        default = found.env_reads.get(name)
        if default:
            found.cors_origins.extend(o.strip() for o in default.split(",") if o.strip())


def _frontend(found: Discovery, files: list[Path]) -> None:
    for path in files:
        if path.name != "package.json" or "node_modules" in path.parts:
            continue
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        deps: dict[str, str] = {}
        for section in ("dependencies", "devDependencies"):
            if isinstance(document.get(section), dict):
                deps.update(document[section])
        if not any(name.startswith("@openai/chatkit") for name in deps):
            continue
        found.frontend = "next" if "next" in deps else "vite" if "vite" in deps else "react"
        return


def _stores(found: Discovery, backend_files: list[PyFile]) -> None:
    classes: list[tuple[PyFile, ast.ClassDef]] = []
    for file in backend_files:
        if b"Store" not in file.text.encode():
            continue
        for node in walk(file.tree):
            if isinstance(node, ast.ClassDef):
                for base in node.bases:
                    base_node = base.value if isinstance(base, ast.Subscript) else base
                    base_name = dotted(base_node) or ""
                    origin = file.imports.get(base_name.split(".")[0], ("", None))[0]
                    if base_name.split(".")[-1] == "Store" and ("chatkit" in origin or "chatkit" in base_name):
                        classes.append((file, node))
    memory: list[str] = []
    persistent = False
    for file, node in classes:
        method_names = {n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
        if "load_thread" not in method_names and "save_thread" not in method_names:
            continue  # an abstract intermediate class
        uses_db = any(m.split(".")[0] in DB_MODULES for m in file.imported_modules())
        if uses_db or not (_container_attributes(node) or "memory" in node.name.lower()):
            persistent = True  # a store that may persist: the restart check decides
        else:
            memory.append(f"{found.relative(file.path)}:{node.lineno}: {node.name}")
    if memory and not persistent:
        found.memory_store = memory[0]
    for name, default in found.env_reads.items():
        value = default or ""
        if re.search(r"\.(sqlite3?|db)$", value) and "://" not in value:
            found.store_env[name] = "path"
        elif value.startswith("sqlite") and "://" in value:
            found.store_env[name] = "url:" + value.split("://", 1)[0]
        elif "SQLITE" in name and not value:
            found.store_env[name] = "path"


def _container_attributes(node: ast.ClassDef) -> bool:
    for sub in walk(node):
        if isinstance(sub, (ast.Assign, ast.AnnAssign)):
            value = sub.value
            targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
            on_self = any(isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"
                          for t in targets)
            if not on_self or value is None:
                continue
            if isinstance(value, (ast.Dict, ast.List, ast.DictComp, ast.ListComp)):
                return True
            if isinstance(value, ast.Call) and call_name(value) in {"dict", "list", "defaultdict", "OrderedDict",
                                                                     "deque"}:
                return True
    return False
