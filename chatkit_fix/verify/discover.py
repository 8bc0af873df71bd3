"""What `chatkit-fix verify` must boot and check, read from the application model (nothing of the app is imported).

The model (chatkit_fix/model/) answers the web side: every ChatKit endpoint with its full path (routers, prefixes,
mounts, Starlette route lists, FastAPI subclasses and app factories), the app object that serves it and the name uvicorn
imports it by. From there, everything is scoped to that app: the modules it imports (its service), the front end that
talks to it (the nearest one with ChatKit), and the `.env` files of its folders. Found here:

- the app to run (`module:attr`, or a factory with `--factory`) and every ChatKit endpoint it serves;
- hosted mode (a front end with `getClientSecret` and no self-hosted endpoint) and "ChatKit in name only" back ends,
  which have nothing to boot: a statement says so;
- an MCP tool server to start beside it, its tools, and the variable through which the back end reads its URL;
- the environment: variables read, where the JWT secret and the OpenAI client's settings come from (see
  environment.py), the outside services the app needs that verify cannot provide, SQLite paths to redirect;
- CORS (the app's middleware and its origins), the front end's dev origin and proxy, the store's kind.

Config (`[tool.chatkit-fix] backend = {app = ..., mcp-app = ...}`) and command-line options win over detection.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..model import FUNCTION_TYPES, Module, model_of
from ..pyast import call_argument, call_keyword, walk
from .environment import Environment, dotenv_files, parse_dotenv

MCP_SERVER_CLASSES = (("mcp.server.mcpserver", "MCPServer"), ("mcp.server.fastmcp", "FastMCP"), ("fastmcp", "FastMCP"))
MCP_CLIENT_CLASSES = ("MCPServerStreamableHttp", "MCPServerSse")
JWT_DECODERS = (("jwt", "decode"), ("jose", "decode"))
OPENAI_CLIENTS = (("openai", "AsyncOpenAI"), ("openai", "OpenAI"), ("openai", "AsyncAzureOpenAI"), ("openai", "AzureOpenAI"))
TEST_PARTS = {"tests", "test", "node_modules", "site-packages", ".venv", "venv", "__pycache__"}
DEFAULT_MCP_ENV_NAMES = ("MCP_SERVER_URL", "MCP_URL", "CHATKIT_MCP_URL")
LLM_HOSTS = re.compile(r"api\.openai\.com|generativelanguage\.googleapis\.com|openrouter\.ai|api\.groq\.com|"
                       r"api\.deepseek\.com|api\.together\.xyz|api\.mistral\.ai|api\.x\.ai|openai\.azure\.com")
LOCAL_URL = re.compile(r"^[a-z][a-z0-9+.-]*://(?:[^/@]*@)?(localhost|127\.0\.0\.1|0\.0\.0\.0|host\.docker\.internal|"
                       r"\[::1\])(?::(\d+))?", re.I)
DATABASE_SCHEMES = ("postgres", "postgresql", "mysql", "mariadb", "mongodb", "redis", "rediss", "amqp", "kafka")
NOT_A_SERVICE = re.compile(r"FRONTEND|ORIGIN|CORS|REDIRECT|CALLBACK|ALLOWED|SITE|PUBLIC|BACKEND|SELF|APP_URL|API_URL|"
                           r"WEBHOOK|ISSUER|AUDIENCE", re.I)
MODEL_DOWNLOAD = re.compile(r"^(?:hf\.co/)?[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:-GGUF)?$")
SERVICE_IMPORTS = {
    "qdrant_client": "a Qdrant vector database", "chromadb": "a Chroma vector database", "pymilvus": "Milvus",
    "weaviate": "a Weaviate vector database", "pinecone": "Pinecone", "ollama": "an Ollama server",
    "sentence_transformers": "a sentence-transformers model download", "transformers": "a Hugging Face model download",
    "supabase": "Supabase", "redis": "Redis", "pymongo": "MongoDB", "motor": "MongoDB", "boto3": "AWS",
    "psycopg": "PostgreSQL", "psycopg2": "PostgreSQL", "asyncpg": "PostgreSQL", "minio": "MinIO object storage",
}


class DiscoveryError(Exception):
    """The project gives verify nothing to boot (or a configured target cannot be found): a usage error, exit 2."""


@dataclass
class Target:
    """An app to run with `python -m uvicorn <import_string>` from `cwd` (a WSGI app, Flask's, with
    `--interface wsgi`)."""

    import_string: str
    cwd: Path
    source: str  # "--app" / "config" / "detected"
    file: Path | None = None
    factory: bool = False
    interface: str = "asgi"


@dataclass
class ChatKitEndpoint:
    """A route of the app whose handler reaches ChatKitServer.process(), with its full path."""

    path: str
    file: Path
    line: int
    handler: str
    dependencies: int = 0  # Depends(...) guarding it


@dataclass
class McpTarget(Target):
    path: str = "/mcp"
    tools: list[str] = field(default_factory=list)
    url_env: list[str] = field(default_factory=list)  # variables given the server's URL
    url_env_source: str = ""  # how those names were found
    port: int | None = None  # a port the back end has hard-coded (no variable to point it elsewhere)


@dataclass
class Secret:
    """How the app's token check gets its HS256 key: the variables it reads (`names`), or a literal."""

    names: list[str] = field(default_factory=list)
    literal: str | None = None
    where: str = ""  # the decode call, file:line
    how: str = ""  # "jwt.decode at x.py:12 reads JWT_SECRET"
    reached: bool = False  # the decode runs for the ChatKit endpoint (its handler, dependencies, what they call)


@dataclass
class FrontEnd:
    root: Path
    framework: str  # "vite" | "next" | "react"
    origin: str  # its dev server's origin
    origin_source: str
    proxied: bool  # a dev proxy or a server route forwards its calls: the browser stays same-origin
    hosted: bool = False  # it gets a client secret (getClientSecret) instead of calling a ChatKit endpoint
    accepted_files: list[str] | None = None  # composer.attachments.accept's MIME types; None: any, or not known


@dataclass
class OutsideService:
    """Something the app needs that verify cannot provide (a database server, a vector store, a model download)."""

    what: str
    evidence: str
    variable: str | None = None

    def hint(self) -> str:
        if self.variable and self.what.startswith("a value for"):
            return f"{self.what} ({self.evidence}): pass --env {self.variable}=..."
        if self.variable:
            return f"{self.what} ({self.evidence}): start it, or pass --env {self.variable}=..."
        return f"{self.what} ({self.evidence})"


@dataclass
class Discovery:
    root: Path
    app: Target | None
    endpoints: list[ChatKitEndpoint] = field(default_factory=list)
    chatkit_path_source: str = "default"
    service: Path | None = None  # the app's service folder
    statement: str | None = None  # nothing to boot, and why (hosted mode, ChatKit in name only)
    mcp: McpTarget | None = None
    dotenv: dict[str, str] = field(default_factory=dict)  # merged .env values (nearest file wins)
    dotenv_files: list[Path] = field(default_factory=list)
    example_env: dict[str, str] = field(default_factory=dict)  # .env.example and the like
    example_files: list[Path] = field(default_factory=list)
    env_reads: dict[str, str | None] = field(default_factory=dict)  # variable -> default the code falls back to
    secret: Secret | None = None
    auth_evidence: list[str] = field(default_factory=list)
    cors_middleware: bool = False
    options_route: bool = False
    cors_origins: list[str] = field(default_factory=list)  # allow_origins literals and defaults seen in code
    cors_env: list[str] = field(default_factory=list)  # variables the origins are read from
    frontend: FrontEnd | None = None
    memory_store: str | None = None  # the served store keeps threads in process memory: where
    store_env: dict[str, str] = field(default_factory=dict)  # variable -> "path" | "url:<scheme>"
    model_env: dict[str, str] = field(default_factory=dict)  # variable -> "base_url" | "api_key" | "api_version"
    required: set[str] = field(default_factory=set)  # variables the app cannot start without (no default)
    outside: list[OutsideService] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def chatkit_path(self) -> str:
        return self.endpoints[0].path if self.endpoints else "/chatkit"

    @property
    def secret_names(self) -> list[str]:
        return list(self.secret.names) if self.secret else []

    def relative(self, path: Path | None) -> str:
        if path is None:
            return "-"
        try:
            return path.resolve().relative_to(self.root).as_posix() or "."
        except ValueError:
            return str(path)


def is_test_path(path: Path, root: Path) -> bool:
    try:
        parts = path.relative_to(root).parts
    except ValueError:
        parts = path.parts
    return any(part in TEST_PARTS or part.startswith("test_") for part in parts[:-1]) or path.name.startswith("test_")


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _string(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


# ---- the app and its endpoints --------------------------------------------------------------------------------------


def import_root(module: Module) -> Path:
    """The folder uvicorn must start in to import `module` by its dotted name."""
    folder = module.path.parent
    for _ in range(len(module.name.split(".")) - (0 if module.is_package else 1)):
        folder = folder.parent
    return folder


class Finder:
    """The app, its endpoints and everything scoped to it, for one project."""

    def __init__(self, project, root: Path):
        self.project = project
        self.root = root
        self.model = model_of(project)

    def where(self, module: Module, node: ast.AST) -> str:
        return f"{self.relative(module.path)}:{getattr(node, 'lineno', 0)}"

    def relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    # ---- apps ----------------------------------------------------------------------------------------------------

    def apps(self):
        """(app object, its ChatKit endpoints) for every app serving one, the likeliest first: outside tests, then
        the shallowest file."""
        grouped: dict[int, tuple[object, list]] = {}
        for endpoint in self.model.web.chatkit_endpoints():
            grouped.setdefault(id(endpoint.app), (endpoint.app, []))[1].append(endpoint)
        found = list(grouped.values())
        launched = {target.split(":", 1)[0].rsplit(".", 1)[-1] for target in self.launch_targets()}
        found.sort(key=lambda pair: (is_test_path(pair[0].module.path, self.root),
                                     pair[0].module.path.stem not in launched, len(pair[0].module.path.parts),
                                     str(pair[0].module.path), pair[0].line))
        return found

    def target_of(self, app, source: str) -> Target | None:
        """How uvicorn imports an app object: a module-level name bound to it (in its module, or in a module that
        calls its factory), else its factory function with --factory; from the folder its launchers and its own
        imports say it runs in."""
        target = self._target_of(app, source)
        if target is not None:
            target.interface = app.interface
        return target

    def _target_of(self, app, source: str) -> Target | None:
        module = app.module
        names = app.import_names(self.model.resolver)
        if names:
            return self._located(module, sorted(names, key=lambda n: (n != "app", n))[0], source)
        factory = app.factory
        for other, name in self._bindings_elsewhere(app):
            return self._located(other, name, source)
        if isinstance(factory, FUNCTION_TYPES) and module.enclosing(factory) is None \
                and module.enclosing_class(factory) is None and _callable_without_arguments(factory):
            target = self._located(module, factory.name, source)
            target.factory = True
            return target
        return None

    def _located(self, module: Module, attribute: str, source: str) -> Target:
        """`module:attr` and the folder to start uvicorn in: where a launcher of the project runs it (`uvicorn
        main:app` in the module's folder), else the folder its absolute imports of sibling modules need (a flat
        layout run from inside its folder even when that folder is a package), else above its top package."""
        parts = module.path.with_suffix("").parts
        if module.is_package:
            parts = parts[:-1]
        for target in self.launch_targets():
            dotted = target.split(":", 1)[0].split(".")
            if target.split(":", 1)[1].split("(")[0] == attribute and tuple(dotted) == parts[-len(dotted):]:
                folder = Path(*parts[:-len(dotted)]) if len(parts) > len(dotted) else Path("/")
                if _inside(folder, self.root) or folder == self.root:
                    return Target(f"{'.'.join(dotted)}:{attribute}", folder, source, module.path)
        if not module.is_package and module.path.parent != import_root(module) and self._imports_siblings(module):
            return Target(f"{module.path.stem}:{attribute}", module.path.parent, source, module.path)
        return Target(f"{module.name}:{attribute}", import_root(module), source, module.path)

    def launch_targets(self) -> list[str]:
        """`module:attr` targets of the project's server commands (Dockerfiles, compose, Procfiles, scripts)."""
        if not hasattr(self, "_launch_targets"):
            from ..analysis import launch

            found = []
            for path in self.project.files:
                if launch.file_kind(path) is None or is_test_path(path, self.root):
                    continue
                try:
                    text = path.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                for command in launch.commands_in(path, text):
                    target = launch.app_target(command.argv)
                    if target:
                        found.append(target)
            self._launch_targets = found
        return self._launch_targets

    def _imports_siblings(self, module: Module) -> bool:
        """An absolute import names a module next to this file that is not importable from above its package."""
        folder = module.path.parent
        for name in module.imports.modules:
            head = name.split(".")[0]
            if not head or head == folder.name:
                continue
            if (folder / f"{head}.py").is_file() or (folder / head / "__init__.py").is_file():
                return True
        return False

    def _bindings_elsewhere(self, app):
        """(module, name) of module-level names in the app's service bound to it by calling its factory elsewhere
        (`app = create_app()` in main.py)."""
        if app.factory is None or not isinstance(app.factory, FUNCTION_TYPES):
            return
        needle = app.factory.name.encode()
        service = app.module.service
        for path in self.project.files_under(service.folder, "python"):
            if path == app.module.path or needle not in self.project.read_bytes(path):
                continue
            module = self.model.module(path)
            if module is None or is_test_path(path, self.root):
                continue
            for name, values in module.top_level.items():
                for value in values:
                    site = self.model.resolver.value_site(module, value, None)
                    if site is not None and site[1] is app.call:
                        yield module, name

    def endpoints_of(self, app, endpoints) -> list[ChatKitEndpoint]:
        found: dict[str, ChatKitEndpoint] = {}
        for endpoint in endpoints:
            route = endpoint.route
            if route.path is None or "POST" not in route.methods:
                continue
            handler = route.handler
            module = handler.module if handler is not None else route.owner.module
            line = handler.node.lineno if handler is not None else getattr(route.node, "lineno", 0)
            found.setdefault(endpoint.path, ChatKitEndpoint(
                endpoint.path, module.path, line, handler.qualified if handler is not None else "?",
                len(self.model.web.dependencies(endpoint)),
            ))
        return sorted(found.values(), key=lambda e: (e.path.count("/"), e.path))

    def given_app(self, import_string: str, candidates: list[Path], source: str):
        """`pkg.module:attr` given by --app or the config: its target, and the app object it names (if the model
        knows it) so its endpoints are the ones exercised."""
        if ":" not in import_string:
            raise DiscoveryError(f"{import_string!r}: expected \"package.module:attribute\"")
        dotted, _, attribute = import_string.partition(":")
        if not dotted or not attribute:
            raise DiscoveryError(f"{import_string!r}: expected \"package.module:attribute\"")
        for folder in candidates:
            path = self.model.services.resolve_from(dotted, folder)
            if path is None or not _inside(path, folder):
                continue
            module = self.model.module(path)
            factory = False
            if module is not None:
                bound = module.top_level.get(attribute.split(".")[0], [])
                factory = any(isinstance(b, FUNCTION_TYPES) for b in bound)
            target = Target(import_string, folder, source, path, factory)
            chosen = None
            for app, endpoints in self.apps():
                names = app.import_names(self.model.resolver)
                if (app.module.path == path and attribute in names) or \
                        (factory and isinstance(app.factory, FUNCTION_TYPES) and app.factory.name == attribute):
                    chosen = (app, endpoints)
                    break
                if any(m.path == path and n == attribute for m, n in self._bindings_elsewhere(app)):
                    chosen = (app, endpoints)
                    break
            return target, chosen
        where = ", ".join(str(c) for c in candidates[:4])
        raise DiscoveryError(f"{import_string}: module {dotted!r} not found under {where}; pass --app-dir")

    # ---- nothing to boot -----------------------------------------------------------------------------------------

    def statement_without_endpoint(self, frontend: FrontEnd | None) -> str | None:
        """Hosted mode, or a back end that is ChatKit in name only: what there is, and that nothing can be booted."""
        if frontend is not None and frontend.hosted:
            return (f"hosted mode: the front end ({self.relative(frontend.root)}) gets a client secret "
                    "(getClientSecret) and talks to OpenAI's hosted ChatKit; there is no self-hosted ChatKit back end "
                    "to boot, so nothing was run (`chatkit-fix check` reviews the session code: CK214)")
        named = [r for r in self.model.web.routes() if r.path and "chatkit" in r.path.lower()]
        if named:
            route = named[0]
            where = self.where(route.owner.module, route.node)
            return (f"ChatKit in name only: the route {route.path} ({where}) never reaches ChatKitServer.process(), "
                    "so it does not speak the ChatKit protocol and there is nothing for verify to drive (CK211)")
        return None

    # ---- modules of the app ------------------------------------------------------------------------------------

    def app_modules(self, app_file: Path, service_folder: Path | None) -> list[Module]:
        """The modules the app imports (directly or not), outside tests."""
        files = self.model.reachable([app_file], within=service_folder)
        return [m for m in self.model.modules(sorted(files)) if not is_test_path(m.path, self.root)]


def _callable_without_arguments(function: ast.AST) -> bool:
    arguments = function.args
    required = len(arguments.posonlyargs) + len(arguments.args) - len(arguments.defaults)
    return required <= 0 and all(d is not None for d in arguments.kw_defaults)


# ---- MCP ----------------------------------------------------------------------------------------------------------


def find_mcp(finder: Finder, app_file: Path | None, service: Path | None) -> McpTarget | None:
    """A separate MCP tool server in the app's service: a module-level MCPServer/FastMCP whose app is not mounted into
    another app (then the app serves it, and nothing more needs starting)."""
    model = finder.model
    best: McpTarget | None = None
    folder = service or finder.root
    for path in finder.project.files_under(folder, "python"):
        data = finder.project.read_bytes(path)
        if not any(n in data for n in (b"MCPServer", b"FastMCP")) or is_test_path(path, finder.root):
            continue
        if app_file is not None and path == app_file:
            continue
        module = model.module(path)
        if module is None:
            continue
        servers = {name for name, values in module.top_level.items()
                   for value in values if _is_mcp_server(model, module, value)}
        if not servers or _mounted(module, servers):
            continue
        app_name, path_value = None, None
        for name, values in module.top_level.items():
            for value in values:
                if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) \
                        and value.func.attr == "streamable_http_app" and getattr(value.func.value, "id", "") in servers:
                    app_name = name
                    path_value = _string(call_keyword(value, "streamable_http_path"))
        server_name = min(servers)
        if path_value is None:
            construction = next(v for v in module.top_level[server_name] if isinstance(v, ast.Call))
            path_value = _string(call_keyword(construction, "streamable_http_path"))
        if app_name is not None:
            target = McpTarget(f"{module.name}:{app_name}", import_root(module), "detected", path)
        else:
            target = McpTarget(f"{module.name}:{server_name}.streamable_http_app", import_root(module), "detected",
                               path, factory=True)
        target.path = "/" + (path_value or "/mcp").lstrip("/")
        target.tools = _mcp_tools(module, servers)
        if best is None or len(path.parts) < len(best.file.parts):  # type: ignore[union-attr]
            best = target
    return best


def _is_mcp_server(model, module: Module, value: ast.AST) -> bool:
    if not isinstance(value, ast.Call):
        return False
    found = model.resolve(module, value.func, None)
    return found is not None and any(found.names(p, c) for p, c in MCP_SERVER_CLASSES)


def _mounted(module: Module, servers: set[str]) -> bool:
    for node in walk(module.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "mount":
            for sub in walk(node):
                if isinstance(sub, ast.Attribute) and sub.attr in ("streamable_http_app", "sse_app"):
                    return True
                if isinstance(sub, ast.Name) and sub.id in servers:
                    return True
    return False


def _mcp_tools(module: Module, servers: set[str]) -> list[str]:
    tools = []
    for node in walk(module.tree):
        if isinstance(node, FUNCTION_TYPES):
            for decorator in node.decorator_list:
                func = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(func, ast.Attribute) and func.attr == "tool" and getattr(func.value, "id", "") in servers:
                    name = _string(call_keyword(decorator, "name")) if isinstance(decorator, ast.Call) else None
                    tools.append(name or node.name)
    return tools


def mcp_url_env(finder: Finder, found: Discovery, env: Environment, modules: list[Module]) -> None:
    """The variable through which the back end reads the MCP server's URL: followed from the `url` of its
    MCPServerStreamableHttp/Sse params, else a name the back end reads, else a hard-coded local URL's port."""
    mcp = found.mcp
    assert mcp is not None
    for module in modules:
        for node in walk(module.tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", ""))
                    in MCP_CLIENT_CLASSES):
                continue
            url = _params_url(node)
            source = env.source_of(module, url, module.enclosing(node)) if url is not None else None
            if source is not None and source.name:
                mcp.url_env, mcp.url_env_source = [source.name], f"the URL of the MCP client at {source.where}"
                return
            if source is not None and source.literal:
                match = LOCAL_URL.match(source.literal)
                if match and match.group(2):
                    mcp.port = int(match.group(2))
                    mcp.url_env = list(DEFAULT_MCP_ENV_NAMES)
                    mcp.url_env_source = (f"the back end has {source.literal} hard-coded ({source.where}), so the "
                                          f"MCP server is started on port {mcp.port}")
                    return
    names = [n for n in found.env_reads if "MCP" in n.upper() and re.search("URL|ENDPOINT|HOST", n.upper())]
    for module in modules if not names else []:
        if mcp.file is not None and module.path == mcp.file:
            continue
        for node in walk(module.tree):
            match = LOCAL_URL.match(_string(node) or "")
            if match and match.group(2) and (_string(node) or "").rstrip("/").endswith(mcp.path.rstrip("/") or "/mcp"):
                mcp.port = int(match.group(2))
                mcp.url_env = list(DEFAULT_MCP_ENV_NAMES)
                mcp.url_env_source = (f"no variable found; the back end has {_string(node)} hard-coded "
                                      f"({finder.where(module, node)}), so the MCP server is started on port {mcp.port}")
                return
    if names:
        mcp.url_env, mcp.url_env_source = names, "read by the back end"
        return
    examples = [n for n in found.example_env if "MCP" in n.upper() and "URL" in n.upper()]
    if examples:
        mcp.url_env, mcp.url_env_source = examples, "named in .env.example"
        return
    mcp.url_env = list(DEFAULT_MCP_ENV_NAMES)
    mcp.url_env_source = "no variable found in the back end: common names guessed"


def _params_url(call: ast.Call) -> ast.AST | None:
    params = call_keyword(call, "params") or (call.args[0] if call.args else None)
    if isinstance(params, ast.Dict):
        for key, value in zip(params.keys, params.values):
            if _string(key) == "url":
                return value
    if isinstance(params, ast.Call):
        return call_keyword(params, "url")
    return None


# ---- auth -------------------------------------------------------------------------------------------------------


def find_secret(finder: Finder, env: Environment, modules: list[Module], endpoint_functions) -> tuple[Secret | None, list[str]]:
    """The key of the app's token check: each `jwt.decode` reached from a ChatKit endpoint (its handler and
    dependencies) first, else any in the app's modules; its key followed to the variable or literal it comes from."""
    model = finder.model
    decodes: list[tuple[Module, ast.Call]] = []
    evidence: list[str] = []
    for module in modules:
        for node in walk(module.tree):
            if isinstance(node, ast.Call):
                found = model.resolve(module, node.func, module.enclosing(node))
                if found is not None and found.external and any(found.names(p, s) for p, s in JWT_DECODERS):
                    decodes.append((module, node))
                elif found is not None and found.external and found.external.rsplit(".", 1)[-1] in (
                        "HTTPBearer", "OAuth2PasswordBearer", "APIKeyHeader") and found.external.startswith("fastapi"):
                    evidence.append(f"{finder.where(module, node)}: {found.external.rsplit('.', 1)[-1]}")
    reached = {id(node) for node in endpoint_functions}

    def on_endpoint(pair) -> bool:
        return id(pair[0].enclosing(pair[1])) in reached

    decodes.sort(key=lambda pair: not on_endpoint(pair))
    evidence = [f"{finder.where(m, call)}: jwt.decode" for m, call in decodes] + evidence
    for module, call in decodes:
        key = call_argument(call, 1, "key")
        where = finder.where(module, call)
        source = env.source_of(module, key, module.enclosing(call)) if key is not None else None
        if source is None:
            continue
        if source.name:
            return Secret([source.name], where=where, how=f"jwt.decode at {where} reads {source.name}",
                          reached=on_endpoint((module, call))), evidence
        if source.literal is not None:
            return Secret(literal=source.literal, where=where, how=f"jwt.decode at {where} uses a literal key",
                          reached=on_endpoint((module, call))), evidence
    if decodes:
        module, call = decodes[0]
        return Secret(where=finder.where(module, call), how="the key of jwt.decode could not be followed",
                      reached=on_endpoint((module, call))), evidence
    return None, evidence


def endpoint_functions(finder: Finder, endpoints) -> list[ast.AST]:
    """The defs of the endpoints' handlers and of the dependencies guarding them, and the functions they call."""
    model = finder.model
    functions = []
    for endpoint in endpoints:
        if endpoint.route.handler is not None:
            functions.append(endpoint.route.handler)
        for module, depends in model.web.dependencies(endpoint):
            target = model.resolve(module, depends.args[0] if depends.args else call_keyword(depends, "dependency"),
                                   module.enclosing(depends))
            if target is not None and target.is_function:
                functions.append(model.function(target.module, target.node))
    seen, stack = {}, list(functions)
    while stack and len(seen) < 200:
        function = stack.pop()
        if id(function.node) in seen:
            continue
        seen[id(function.node)] = function.node
        stack.extend(site.callee for site in model.calls.calls(function) if site.callee is not None)
    return list(seen.values())


# ---- CORS -------------------------------------------------------------------------------------------------------


def find_cors(finder: Finder, found: Discovery, env: Environment, modules: list[Module], app_object) -> None:
    """CORSMiddleware installed on the app (add_middleware or the constructor's middleware list), and its origins."""
    model = finder.model
    for module in modules:
        for node in walk(module.tree):
            if isinstance(node, FUNCTION_TYPES):
                for decorator in node.decorator_list:
                    if isinstance(decorator, ast.Call) and getattr(decorator.func, "attr", "") == "options":
                        found.options_route = True
            if not isinstance(node, ast.Call) or not node.args:
                continue
            middleware = model.resolve(module, node.args[0], module.enclosing(node))
            if middleware is None or not middleware.names("starlette.middleware.cors", "CORSMiddleware") and \
                    not middleware.names("fastapi.middleware.cors", "CORSMiddleware"):
                continue
            if isinstance(node.func, ast.Attribute) and node.func.attr == "add_middleware" and app_object is not None:
                owners = model.web.objects_at(module, node.func.value, module.enclosing(node))
                if owners and app_object not in owners:
                    continue  # another app's middleware
            found.cors_middleware = True
            origins = call_keyword(node, "allow_origins")
            scope = module.enclosing(node)
            site = model.resolver.value_site(module, origins, scope) if origins is not None else None
            value = site[1] if site is not None else origins
            elements = value.elts if isinstance(value, (ast.List, ast.Tuple)) else [origins] if origins else []
            for element in elements:
                element_module = site[0] if site is not None and value is not origins else module
                source = env.source_of(element_module, element, scope if element_module is module else
                                       element_module.enclosing(element))
                if source is not None and source.name:
                    found.cors_env.append(source.name)
                    found.cors_origins.extend(_split_origins(source.default or ""))
                elif source is not None and source.literal:
                    found.cors_origins.extend(_split_origins(source.literal))
    found.cors_env = list(dict.fromkeys(found.cors_env))


def _split_origins(value: str) -> list[str]:
    try:
        parsed = json.loads(value)
        if isinstance(parsed, list):
            return [str(v) for v in parsed]
    except ValueError:
        pass
    return [o.strip() for o in re.split(r"[,\s]+", value) if o.strip()]


# ---- front end ------------------------------------------------------------------------------------------------------


def find_frontend(finder: Finder, near: Path | None) -> FrontEnd | None:
    """The front end that talks to the app: among the project's front-end roots that use ChatKit, the one sharing
    the deepest folder with the app's service."""
    from ..analysis import web as web_analysis
    from ..analysis.frontend import frontend_model

    project = finder.project
    roots = [r for r in web_analysis.frontend_roots(project) if _uses_chatkit(project, r)]
    if not roots:
        return None
    anchor = near or finder.root

    def shared(root: Path) -> int:
        common = 0
        for a, b in zip(root.parts, anchor.parts):
            if a != b:
                break
            common += 1
        return common

    root = max(roots, key=lambda r: (shared(r), -len(r.parts)))
    if near is not None and shared(root) < len(finder.root.parts) and len(roots) > 1:
        return None
    package = project.read_bytes(root / "package.json") if (root / "package.json").is_file() else b""
    framework = "next" if b'"next"' in package else "vite" if b'"vite"' in package else "react"
    port = web_analysis.frontend_port(project, root)
    origin_source = {"vite": "the Vite dev server", "next": "the Next dev server"}.get(framework, "its dev server")
    if framework == "vite" and port != 5173:
        origin_source += " (server.port)"
    hosted = False
    model = frontend_model(project)
    usages = [u for u in model.usages if _inside(u.path, root)]
    if usages and all(u.hosted and not u.custom for u in usages):
        hosted = True
    return FrontEnd(root, framework, f"http://localhost:{port}", origin_source,
                    web_analysis.has_proxy(project, root), hosted, _accepted_files(model, usages))


def _accepted_files(model, usages) -> list[str] | None:
    """The MIME types the composer lets users attach (`composer.attachments.accept`'s keys), when every ChatKit of
    the front end says; None when one accepts anything or its options cannot be read."""
    accepted: set[str] = set()
    for usage in usages:
        value = usage.options
        for key in ("composer", "attachments", "accept"):
            prop = value.get(key) if value is not None and not value.opaque else None
            value = model.object_value(prop.path, prop.value) if prop is not None and prop.value is not None else None
        if value is None or value.opaque or not value.props:
            return None
        accepted.update(value.props)
    return sorted(accepted) or None


def _uses_chatkit(project, root: Path) -> bool:
    package = root / "package.json"
    data = project.read_bytes(package) if package.is_file() else b""
    return b"@openai/chatkit" in data or b"chatkit" in data.lower()


# ---- stores, models and outside services -------------------------------------------------------------------------


THREAD_METHODS = ("__init__", "load_thread", "save_thread", "load_thread_items", "add_thread_item", "save_item",
                  "load_threads")


def find_store(finder: Finder, modules: list[Module]) -> str | None:
    """The app's store keeps its threads in process memory: where. The judgement is CK308's (plain containers on
    the instance, no method reaching a database, a file or a service), applied to the thread methods: a store that
    keeps only its attachments on disk still loses every thread on restart."""
    import copy

    from ..analysis import store as store_analysis
    from ..context import ProjectContext

    files = {m.path for m in modules}
    pctx = ProjectContext(finder.project)
    classes = store_analysis.project_store_classes(pctx)
    served = [s for s in classes if s.path in files and not s.is_abstract() and not s.attachments_only]
    memory = []
    for store in served:
        if len(store.lineage) > 1 and not set(store.methods) & set(THREAD_METHODS):
            # a subclass keeping its project base's thread methods and containers: the base is judged instead
            store = next((s for s in classes if s.node is store.lineage[1][1]), store)
        threads_only = copy.copy(store.node)
        threads_only.body = [n for n in store.node.body if not isinstance(n, FUNCTION_TYPES) or n.name in THREAD_METHODS]
        trimmed = dataclasses.replace(store, node=threads_only)
        if store_analysis.is_in_memory(trimmed):
            memory.append(store)
    if memory and len(memory) == len(served):
        store = memory[0]
        return f"{finder.relative(store.path)}:{store.node.lineno}: {store.name}"
    return None


def find_model_env(finder: Finder, env: Environment, modules: list[Module]) -> dict[str, str]:
    """Variables through which the app configures an OpenAI-compatible client (`base_url`, `api_key` of
    AsyncOpenAI/OpenAI/Azure and of LiteLLM models): verify points them at the fake OpenAI API."""
    found: dict[str, str] = {}
    for module in modules:
        for node in walk(module.tree):
            if not isinstance(node, ast.Call):
                continue
            scope = module.enclosing(node)
            callee = finder.model.resolve(module, node.func, scope)
            if callee is None or not callee.external:
                continue
            is_client = any(callee.names(p, c) for p, c in OPENAI_CLIENTS) or callee.external.endswith("LitellmModel")
            if not is_client:
                continue
            for keyword, kind in (("base_url", "base_url"), ("azure_endpoint", "base_url"), ("api_key", "api_key"),
                                  ("api_version", "api_version")):
                value = call_keyword(node, keyword)
                source = env.source_of(module, value, scope) if value is not None else None
                if source is not None and source.name:
                    found.setdefault(source.name, kind)
    return found


def find_outside(found: Discovery, modules: list[Module], verify_provides: set[str]) -> list[OutsideService]:
    """Services the app needs that verify cannot provide, from its settings' values (local service URLs, database
    servers, model names to download) and the client libraries it imports."""
    services: list[OutsideService] = []
    values = {**{k: v for k, v in found.env_reads.items() if v}, **found.example_env, **found.dotenv}
    for name, value in values.items():
        if name in verify_provides or name in found.store_env or name in found.model_env:
            continue
        if found.mcp is not None and name in found.mcp.url_env:
            continue
        if NOT_A_SERVICE.search(name):
            continue  # where the app's own pages live, who may call it: not something it connects to
        scheme = value.split("://", 1)[0].lower().split("+")[0] if "://" in value else ""
        if scheme in DATABASE_SCHEMES:
            services.append(OutsideService(f"a {scheme} server", f"{name}={_redact(value)}", name))
        elif LOCAL_URL.match(value) and not LLM_HOSTS.search(value):
            if found.frontend is not None and _local_origin(value) == _local_origin(found.frontend.origin):
                continue  # the app's own front end (often the dev proxy in front of the app itself)
            services.append(OutsideService("a local service", f"{name}={value}", name))
        elif MODEL_DOWNLOAD.match(value) and re.search("MODEL", name) and "/" in value and not value.startswith(("gpt", "o1", "o3")):
            services.append(OutsideService("a model download", f"{name}={value}", name))
    given = {**found.example_env, **found.dotenv}
    for name in sorted(found.required):
        if name in given or name in verify_provides or name in found.model_env or name in found.store_env:
            continue
        if found.mcp is not None and name in found.mcp.url_env:
            continue
        services.append(OutsideService(f"a value for {name}", "the app requires it and no .env file names it", name))
    imported = {name.split(".")[0] for module in modules for name in module.imports.modules}
    named = {s.what for s in services}
    for package, what in SERVICE_IMPORTS.items():
        if package in imported and what not in named and not any(package in s.evidence for s in services):
            if package in ("psycopg", "psycopg2", "asyncpg") and any("postgres" in s.what for s in services):
                continue
            services.append(OutsideService(what, f"imports {package}"))
    return services


def _local_origin(url: str) -> tuple[str, int | None]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = "localhost" if parts.hostname in ("localhost", "127.0.0.1", "::1", "0.0.0.0") else parts.hostname or ""
    return host, parts.port


def _redact(value: str) -> str:
    return re.sub(r"://([^:/@]+):([^@]+)@", r"://\1:***@", value)


# ---- the whole picture ----------------------------------------------------------------------------------------------


def discover(
    project,
    root: Path,
    app_option: str | None = None,
    app_dir: Path | None = None,
    config_app: str | None = None,
    config_mcp: str | None = None,
    mcp_option: str | None = None,
    no_mcp: bool = False,
    backend_roots: list[Path] | None = None,
) -> Discovery:
    root = root.resolve()
    finder = Finder(project, root)
    candidates = [p for p in [app_dir, *(backend_roots or []), root, root / "src", root / "backend"] if p is not None]
    notes: list[str] = []
    chosen = None
    if app_option or config_app:
        given = app_option or config_app or ""
        app, chosen = finder.given_app(given, candidates, "--app" if app_option else "config")
    else:
        apps = finder.apps()
        app = None
        for app_object, endpoints in apps:
            app = finder.target_of(app_object, "detected")
            if app is not None:
                chosen = (app_object, endpoints)
                break
            notes.append(f"{finder.where(app_object.module, app_object.call)} serves ChatKit but is built where "
                         "uvicorn cannot import it (no module-level name, no factory without arguments): pass --app")
        if chosen is not None and len(apps) > 1:
            others = [f"{finder.relative(a.module.path)}:{a.line}" for a, _ in apps if a is not chosen[0]]
            notes.append(f"other apps serve ChatKit too ({', '.join(others)}); point verify at their folder, or pass "
                         "--app, to verify them")
    if app is not None and app_dir is not None:
        app.cwd = app_dir
    service = finder.model.services.of(app.file).folder if app is not None and app.file is not None else None
    if service is not None and not _inside(service, root):
        service = root
    frontend = find_frontend(finder, service or (app.file.parent if app is not None and app.file else None))
    found = Discovery(root=root, app=app, notes=notes, service=service, frontend=frontend)
    if app is None:
        statement = finder.statement_without_endpoint(frontend)
        if statement is None:
            raise DiscoveryError(
                "no FastAPI or Starlette app with a route calling ChatKitServer.process() was found; "
                'pass --app "package.module:app" or set [tool.chatkit-fix] backend = { app = "package.module:app" }'
            )
        found.statement = statement
        return found
    endpoint_objects = chosen[1] if chosen is not None else []
    if chosen is not None:
        found.endpoints = finder.endpoints_of(chosen[0], endpoint_objects)
        found.chatkit_path_source = "detected"
    elif app.file is not None:
        nearby = [e for a, es in finder.apps() for e in es if _inside(a.module.path, service or root)]
        found.endpoints = finder.endpoints_of(None, nearby)
        found.chatkit_path_source = "detected in the app's service" if found.endpoints else "default"
        endpoint_objects = nearby

    modules = finder.app_modules(app.file, service) if app.file is not None else []
    env = Environment(finder.model, modules, root)

    # .env files: the app's folder first (uvicorn --env-file habits), then its service's and the project's
    folders: list[Path] = []
    for folder in [app.cwd, app.file.parent if app.file else None, service, *(backend_roots or []), root]:
        if folder is not None and folder.resolve() not in folders and _inside(folder.resolve(), root):
            folders.append(folder.resolve())
    env_files, examples = dotenv_files(folders)
    for path in env_files:
        found.dotenv_files.append(path)
        for key, value in parse_dotenv(path).items():
            found.dotenv.setdefault(key, value)
    for path in examples:
        found.example_files.append(path)
        for key, value in parse_dotenv(path).items():
            found.example_env.setdefault(key, value)
    found.env_reads = env.reads()
    found.required = env.required()

    if not no_mcp:
        if mcp_option or config_mcp:
            spec = mcp_option or config_mcp or ""
            target, _ = finder.given_app(spec, candidates, "--mcp-app" if mcp_option else "config")
            found.mcp = McpTarget(target.import_string, target.cwd, target.source, target.file)
            module = finder.model.module(target.file) if target.file else None
            if module is not None:
                servers = {n for n, vs in module.top_level.items() for v in vs if _is_mcp_server(finder.model, module, v)}
                found.mcp.tools = _mcp_tools(module, servers)
        else:
            found.mcp = find_mcp(finder, app.file, service)
        if found.mcp is not None:
            mcp_url_env(finder, found, env, modules)

    found.secret, found.auth_evidence = find_secret(finder, env, modules, endpoint_functions(finder, endpoint_objects))
    app_object = chosen[0] if chosen is not None else None
    find_cors(finder, found, env, modules, app_object)
    found.memory_store = find_store(finder, modules)
    for name, default in found.env_reads.items():
        value = found.example_env.get(name) or default or ""
        if re.search(r"\.(sqlite3?|db)$", value) and "://" not in value:
            found.store_env[name] = "path"
        elif value.startswith("sqlite") and "://" in value:
            found.store_env[name] = "url:" + value.split("://", 1)[0]
        elif "SQLITE" in name.upper() and not value:
            found.store_env[name] = "path"
    found.model_env = find_model_env(finder, env, modules)
    for name, value in {**found.example_env, **{k: v for k, v in found.env_reads.items() if v}}.items():
        if name not in found.model_env and LLM_HOSTS.search(value or "") and "://" in value:
            found.model_env[name] = "base_url"
    provided = {"OPENAI_BASE_URL", "OPENAI_API_KEY", *found.secret_names, *found.cors_env}
    found.outside = find_outside(found, modules, provided)
    return found
