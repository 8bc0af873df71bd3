"""What blocks the event loop: synchronous database, HTTP and cloud-SDK calls made on it.

A call blocks when the object it is made on is a synchronous client (a DB-API connection or cursor, a SQLAlchemy or
SQLModel `Session`, an executed query, a `requests`/`httpx.Client` session, a Redis, MongoDB, boto3, Azure, Firestore,
MinIO or Supabase client, a Django queryset) and the method performs I/O. What an object is comes from where its value
was made: the library call that built it, a constructor, an annotation (`session: Session`, a dataclass field
`client: Minio`), followed through local names, `self.x` set anywhere in the class or its project bases, module-level
values, imports and the project functions that return or yield it. Objects the model cannot trace are not guessed at.

Awaited calls, `async with` and `async for` are asynchronous APIs and never block; calls handed to a worker thread
(`asyncio.to_thread`, `run_in_executor`, `sync_to_async`, a project helper that runs its callback in one) are not made
on the loop: the call graph marks them offloaded and this effect does not follow them.
"""

from __future__ import annotations

import ast
import weakref
from collections import defaultdict
from dataclasses import dataclass, field

from ...pyast import walk
from ..calls import CallSite, Fact, Function
from ..modules import FUNCTION_TYPES, Module, own_nodes

NAME = "blocks"
MAX_DEPTH = 8


# ---------------------------------------------------------------------------------------------------------------------
# library facts: what each kind of object is, and which of its methods perform I/O
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class State:
    """A kind of synchronous client object and what its methods do: method -> (kind of the result, blocks)."""

    shown: str  # how a message names it; {library} is replaced by the library's name
    methods: dict[str, tuple[str | None, bool]] = field(default_factory=dict)
    other: tuple[str | None, bool] | None = None  # any other method
    iterates: bool = False  # iterating it fetches from the server
    called: str | None = None  # calling the object itself (a session factory) gives this kind
    member: str | None = None  # `client.name` / `client["name"]` gives this kind (pymongo databases, collections)


_DBAPI_CURSOR_IO = {m: ("cursor", True) for m in ("execute", "executemany", "executescript", "fetchone", "fetchall",
                                                   "fetchmany", "callproc", "nextset", "scroll")}
_SA_QUERY_BUILD = ("filter", "filter_by", "where", "order_by", "limit", "offset", "join", "outerjoin", "options",
                   "group_by", "having", "distinct", "select_from", "with_entities", "params", "execution_options",
                   "populate_existing", "slice", "add_columns", "correlate", "yield_per", "enable_eagerloads")
_SA_QUERY_RUN = ("all", "first", "one", "one_or_none", "scalar", "count", "get", "delete", "update", "__iter__")
_SA_SESSION_IO = ("exec", "execute", "scalar", "scalars", "get", "get_one", "commit", "flush", "refresh", "merge",
                  "rollback", "bulk_save_objects", "bulk_insert_mappings", "bulk_update_mappings", "connection")
_DJANGO_LAZY = ("all", "filter", "exclude", "order_by", "values", "values_list", "select_related", "prefetch_related",
                "annotate", "only", "defer", "distinct", "using", "select_for_update", "reverse", "none", "alias",
                "extra", "union", "intersection", "difference", "dates", "datetimes")
_DJANGO_IO = ("get", "create", "get_or_create", "update_or_create", "first", "last", "count", "exists", "update",
              "delete", "bulk_create", "bulk_update", "aggregate", "in_bulk", "earliest", "latest", "iterator",
              "contains", "explain", "raw")
_HTTP_VERBS = ("get", "post", "put", "patch", "delete", "head", "options", "request", "send", "stream", "urlopen",
               "getresponse")

STATES: dict[str, State] = {
    "connection": State(
        "{library} connection",
        {"execute": ("cursor", True), "executemany": ("cursor", True), "executescript": ("cursor", True),
         "cursor": ("cursor", False), "commit": (None, True), "rollback": (None, True), "close": (None, False)},
    ),
    "cursor": State("{library} cursor", dict(_DBAPI_CURSOR_IO), iterates=True),
    "pool": State("{library} pool", {"getconn": ("connection", True), "connection": ("connection", True)}),
    "session": State(
        "{library} Session",
        {**{m: (None, True) for m in _SA_SESSION_IO}, "execute": ("result", True), "exec": ("result", True),
         "query": ("query", False), "begin": ("session", False)},
        called="session",
    ),
    "session_factory": State("{library} sessionmaker", {"begin": ("session", False)}, called="session"),
    "query": State(
        "{library} Query",
        {**{m: ("query", False) for m in _SA_QUERY_BUILD}, **{m: (None, True) for m in _SA_QUERY_RUN}},
        iterates=True,
    ),
    "result": State("{library} Result"),
    "engine": State(
        "{library} Engine",
        {"connect": ("sa_connection", True), "begin": ("sa_connection", True), "execute": (None, True),
         "raw_connection": ("connection", True)},
    ),
    "sa_connection": State(
        "{library} Connection",
        {m: (None, True) for m in ("execute", "exec_driver_sql", "scalar", "scalars", "commit", "rollback")},
    ),
    "http": State("{library} client", {m: (None, True) for m in _HTTP_VERBS}),
    "redis": State(
        "{library} client",
        {"pipeline": ("redis_pipeline", False), "pubsub": (None, False), "lock": (None, False),
         "register_script": (None, False), "get_encoder": (None, False)},
        other=(None, True),
    ),
    "redis_pipeline": State("{library} pipeline", {"execute": (None, True)}, other=("redis_pipeline", False)),
    "mongo_client": State(
        "{library} client",
        {"get_database": ("mongo_database", False), "get_default_database": ("mongo_database", False),
         "close": (None, False)},
        other=(None, True), member="mongo_database",
    ),
    "mongo_database": State(
        "{library} database",
        {"get_collection": ("mongo_collection", False), "with_options": ("mongo_database", False)},
        other=(None, True), member="mongo_collection",
    ),
    "mongo_collection": State(
        "{library} collection",
        {"find": ("mongo_cursor", False), "find_raw_batches": ("mongo_cursor", False),
         "aggregate": ("mongo_cursor", True), "with_options": ("mongo_collection", False)},
        other=(None, True), member="mongo_collection",
    ),
    "mongo_cursor": State(
        "{library} cursor",
        {**{m: ("mongo_cursor", False) for m in ("sort", "limit", "skip", "batch_size", "hint", "max_time_ms",
                                                 "collation", "where", "comment", "allow_disk_use")},
         "to_list": (None, True), "next": (None, True), "distinct": (None, True), "explain": (None, True)},
        iterates=True,
    ),
    "aws_session": State("{library} Session", {"client": ("aws_client", False), "resource": ("aws_resource", False)}),
    "aws_client": State(
        "{library} client",
        {m: (None, False) for m in ("get_paginator", "get_waiter", "can_paginate", "generate_presigned_url",
                                    "generate_presigned_post", "close")},
        other=(None, True),
    ),
    "aws_resource": State(
        "{library} resource",
        {"batch_writer": ("aws_batch", False), "meta": (None, False)},
        other=(None, True), member="aws_resource",
    ),
    "aws_batch": State("{library} batch writer", other=("aws_batch", False)),
    "cosmos": State(
        "{library} client",
        {"get_database_client": ("cosmos", False), "get_container_client": ("cosmos", False),
         "create_database_if_not_exists": ("cosmos", True), "create_container_if_not_exists": ("cosmos", True),
         "create_database": ("cosmos", True), "create_container": ("cosmos", True)},
        other=(None, True),
    ),
    "azure_blob": State(
        "{library} client",
        {"get_container_client": ("azure_blob", False), "get_blob_client": ("azure_blob", False),
         "close": (None, False)},
        other=(None, True),
    ),
    "firestore": State(
        "{library} client",
        {**{m: ("firestore", False) for m in ("collection", "document", "collection_group", "where", "order_by",
                                             "limit", "limit_to_last", "offset", "start_at", "start_after", "end_at",
                                             "end_before", "select", "batch", "transaction", "parent")},
         **{m: (None, True) for m in ("get", "set", "update", "delete", "add", "stream", "create", "commit",
                                      "list_documents", "collections", "get_all", "count")}},
    ),
    "gcs": State(
        "{library} client",
        {"bucket": ("gcs", False), "blob": ("gcs", False), "get_bucket": ("gcs", True), "get_blob": ("gcs", True)},
        other=(None, True),
    ),
    "minio": State(
        "{library} client",
        {m: (None, False) for m in ("presigned_get_object", "presigned_put_object", "presigned_post_policy",
                                    "get_presigned_url")},
        other=(None, True),
    ),
    "supabase": State("{library} client", {"execute": (None, True)}, other=("supabase", False), member="supabase"),
    "django_manager": State(
        "{library}",
        {**{m: ("django_manager", False) for m in _DJANGO_LAZY}, **{m: (None, True) for m in _DJANGO_IO}},
        iterates=True,
    ),
}


@dataclass(frozen=True)
class Maker:
    """An installed callable or class: calling it gives an object of `state` (None: a plain call), blocking or not."""

    library: str
    state: str | None
    blocks: bool = False


def _dbapi(library: str) -> Maker:
    return Maker(library, "connection", True)


# (package, symbol) -> what calling it gives; an annotation naming it means an object of that kind. Matched like
# `Ref.names`: `sqlalchemy.orm.session.Session` is `("sqlalchemy", "Session")`; asynchronous modules never match.
MAKERS: dict[tuple[str, str], Maker] = {
    **{(package, "connect"): _dbapi(shown) for package, shown in (
        ("sqlite3", "sqlite3"), ("psycopg2", "psycopg2"), ("psycopg", "psycopg"), ("pymysql", "PyMySQL"),
        ("MySQLdb", "MySQLdb"), ("mysql.connector", "mysql-connector"), ("pyodbc", "pyodbc"), ("oracledb", "oracledb"),
        ("cx_Oracle", "cx_Oracle"), ("pymssql", "pymssql"), ("pg8000", "pg8000"), ("duckdb", "duckdb"),
        ("snowflake.connector", "snowflake-connector"),
    )},
    ("sqlite3", "Connection"): Maker("sqlite3", "connection", True),
    ("sqlite3", "Cursor"): Maker("sqlite3", "cursor"),
    ("psycopg2", "connection"): Maker("psycopg2", "connection", True),
    ("psycopg2", "cursor"): Maker("psycopg2", "cursor"),
    ("psycopg", "Connection"): Maker("psycopg", "connection", True),
    ("psycopg", "Cursor"): Maker("psycopg", "cursor"),
    ("psycopg2.pool", "SimpleConnectionPool"): Maker("psycopg2", "pool", True),
    ("psycopg2.pool", "ThreadedConnectionPool"): Maker("psycopg2", "pool", True),
    ("psycopg_pool", "ConnectionPool"): Maker("psycopg", "pool", True),
    ("sqlmodel", "Session"): Maker("SQLModel", "session"),
    ("sqlalchemy", "Session"): Maker("SQLAlchemy", "session"),
    ("sqlalchemy", "sessionmaker"): Maker("SQLAlchemy", "session_factory"),
    ("sqlalchemy", "scoped_session"): Maker("SQLAlchemy", "session"),
    ("sqlalchemy", "create_engine"): Maker("SQLAlchemy", "engine"),
    ("sqlmodel", "create_engine"): Maker("SQLModel", "engine"),
    ("sqlalchemy", "Engine"): Maker("SQLAlchemy", "engine"),
    ("sqlalchemy", "Connection"): Maker("SQLAlchemy", "sa_connection"),
    **{("requests", verb): Maker("requests", None, True) for verb in _HTTP_VERBS[:8]},
    ("requests", "Session"): Maker("requests", "http"),
    ("requests", "session"): Maker("requests", "http"),
    **{("httpx", verb): Maker("httpx", None, True) for verb in (*_HTTP_VERBS[:8], "stream")},
    ("httpx", "Client"): Maker("httpx", "http"),
    ("urllib.request", "urlopen"): Maker("urllib", None, True),
    ("urllib3", "PoolManager"): Maker("urllib3", "http"),
    ("urllib3", "request"): Maker("urllib3", None, True),
    ("http.client", "HTTPConnection"): Maker("http.client", "http"),
    ("http.client", "HTTPSConnection"): Maker("http.client", "http"),
    ("redis", "Redis"): Maker("redis", "redis"),
    ("redis", "StrictRedis"): Maker("redis", "redis"),
    ("redis", "from_url"): Maker("redis", "redis"),
    ("pymongo", "MongoClient"): Maker("pymongo", "mongo_client"),
    ("pymongo", "Database"): Maker("pymongo", "mongo_database"),
    ("pymongo", "Collection"): Maker("pymongo", "mongo_collection"),
    ("boto3", "client"): Maker("boto3", "aws_client"),
    ("boto3", "resource"): Maker("boto3", "aws_resource"),
    ("boto3", "Session"): Maker("boto3", "aws_session"),
    ("azure.cosmos", "CosmosClient"): Maker("azure-cosmos", "cosmos"),
    ("azure.cosmos", "from_connection_string"): Maker("azure-cosmos", "cosmos"),
    ("azure.cosmos", "DatabaseProxy"): Maker("azure-cosmos", "cosmos"),
    ("azure.cosmos", "ContainerProxy"): Maker("azure-cosmos", "cosmos"),
    ("azure.storage.blob", "BlobServiceClient"): Maker("azure-storage-blob", "azure_blob"),
    ("azure.storage.blob", "ContainerClient"): Maker("azure-storage-blob", "azure_blob"),
    ("azure.storage.blob", "BlobClient"): Maker("azure-storage-blob", "azure_blob"),
    ("azure.storage.blob", "from_connection_string"): Maker("azure-storage-blob", "azure_blob"),
    ("google.cloud.firestore", "Client"): Maker("Firestore", "firestore"),
    ("google.cloud.storage", "Client"): Maker("google-cloud-storage", "gcs"),
    ("minio", "Minio"): Maker("minio", "minio"),
    ("supabase", "create_client"): Maker("supabase", "supabase"),
    ("supabase", "Client"): Maker("supabase", "supabase"),
}
_MAKER_SYMBOLS = {symbol for _, symbol in MAKERS}

# the asynchronous twin of each library, for the hint of a rule that reports it
ALTERNATIVES: dict[str, str] = {
    "SQLAlchemy": "an AsyncSession (await session.execute(...))",
    "SQLModel": "an AsyncSession (await session.exec(...))",
    "sqlite3": "aiosqlite",
    "psycopg2": "asyncpg or psycopg's AsyncConnection",
    "psycopg": "psycopg's AsyncConnection",
    "PyMySQL": "aiomysql",
    "MySQLdb": "aiomysql",
    "requests": "httpx.AsyncClient",
    "httpx": "httpx.AsyncClient",
    "urllib": "httpx.AsyncClient",
    "redis": "redis.asyncio",
    "pymongo": "motor or pymongo's AsyncMongoClient",
    "boto3": "aioboto3",
    "azure-cosmos": "azure.cosmos.aio",
    "azure-storage-blob": "azure.storage.blob.aio",
    "Firestore": "firestore.AsyncClient",
    "Django ORM": "the async ORM (await Model.objects.aget(...)) or sync_to_async",
    "supabase": "the async client (acreate_client)",
}
_ASYNC_MARKERS = ("aio", "asyncio", "async_", "_async")
_CONSUMERS = frozenset({"list", "tuple", "sorted", "next", "set"})  # builtins that iterate their argument


def _maker(name: str) -> Maker | None:
    """The library fact for an installed dotted name (`sqlalchemy.orm.session.Session`)."""
    if not name or name.rsplit(".", 1)[-1] not in _MAKER_SYMBOLS:
        return None
    parts = name.split(".")
    if any(p.lower().startswith(("async", "aio")) or p in _ASYNC_MARKERS for p in parts):
        return None
    for (package, symbol), maker in MAKERS.items():
        if name == f"{package}.{symbol}" or (name.startswith(package + ".") and name.endswith("." + symbol)):
            return maker
    return None


def alternative(what: str) -> str | None:
    """The asynchronous replacement of the library a fact names (`sqlite3 cursor.execute()` -> aiosqlite)."""
    best = ""
    for library in ALTERNATIVES:
        if what.startswith(library + " ") or what.startswith(library + "."):
            best = library if len(library) > len(best) else best
    return ALTERNATIVES.get(best)


# ---------------------------------------------------------------------------------------------------------------------
# what an expression is
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    library: str
    state: str

    @property
    def shown(self) -> str:
        return STATES[self.state].shown.format(library=self.library)


class Kinds:
    """What kind of synchronous client an expression holds, per call graph (dropped when a fix changes a file)."""

    def __init__(self, model):
        self.model = model
        self._memo: dict[tuple[int, int], Kind | None] = {}
        self._module_memo: dict[tuple[int, str], Kind | None] = {}
        self._busy: set[tuple[int, int]] = set()
        self._assignments: dict[int, dict[str, list[ast.AST]]] = {}

    def of(self, module: Module, expr: ast.AST | None, scope: ast.AST | None, depth: int = 0) -> Kind | None:
        if expr is None or depth > MAX_DEPTH:
            return None
        key = (id(expr), id(scope))
        if key in self._memo:
            return self._memo[key]
        if key in self._busy:
            return None
        self._busy.add(key)
        try:
            found = self._of(module, expr, scope, depth)
        finally:
            self._busy.discard(key)
        self._memo[key] = found
        return found

    def _of(self, module: Module, expr: ast.AST, scope: ast.AST | None, depth: int) -> Kind | None:
        if isinstance(expr, ast.Call):
            return self._call(module, expr, scope, depth)[0]
        if isinstance(expr, ast.Name):
            return self._name(module, expr.id, scope, depth)
        if isinstance(expr, ast.Attribute):
            return self._attribute(module, expr, scope, depth)
        if isinstance(expr, ast.Subscript):
            owner = self.of(module, expr.value, scope, depth + 1)
            member = STATES[owner.state].member if owner is not None else None
            return Kind(owner.library, member) if member else None
        if isinstance(expr, (ast.IfExp, ast.BoolOp)):
            values = [expr.body, expr.orelse] if isinstance(expr, ast.IfExp) else expr.values
            return _agree(self.of(module, v, scope, depth + 1) for v in values)
        if isinstance(expr, ast.NamedExpr):
            return self.of(module, expr.value, scope, depth + 1)
        return None

    # ---- calls ---------------------------------------------------------------------------------------------------

    def _call(self, module: Module, call: ast.Call, scope, depth: int) -> tuple[Kind | None, str | None]:
        """(kind of the value the call gives, description of the call when it blocks)."""
        func = call.func
        if isinstance(func, ast.Attribute):
            owner = self.of(module, func.value, scope, depth + 1)
            if owner is not None:
                state = STATES[owner.state]
                step = state.methods.get(func.attr, state.other)
                if step is None:
                    return None, None
                following, blocks = step
                kind = Kind(owner.library, following) if following else None
                return kind, (f"{owner.shown}.{func.attr}()" if blocks else None)
        else:
            owner = self.of(module, func, scope, depth + 1)
            if owner is not None and STATES[owner.state].called:
                return Kind(owner.library, STATES[owner.state].called), None
        if isinstance(func, ast.Name) and func.id == "next" and call.args:
            return self._yielded(module, call.args[0], scope, depth), None
        target = self.model.resolve(module, func, scope)
        if target is None:
            return None, None
        if target.external:
            maker = _maker(target.external)
            if maker is None or (target.instance and maker.state is None):
                return None, None
            if maker.state == "session_factory" and _makes_async_sessions(self.model, module, call, scope):
                return None, None
            kind = Kind(maker.library, maker.state) if maker.state else None
            return kind, (f"{_short(target.external)}()" if maker.blocks else None)
        if target.is_function and target.module is not None:
            return self._returned(target.module, target.node, depth), None
        return None, None

    def _returned(self, module: Module, function: ast.AST, depth: int) -> Kind | None:
        """What a project function returns (or yields, for a generator or a context manager): its return annotation,
        else the values it returns."""
        annotated = self.annotated(module, function.returns, depth)
        if annotated is not None:
            return annotated
        values = [n.value for n in own_nodes(function) if isinstance(n, (ast.Return, ast.Yield)) and n.value is not None]
        return _agree(self.of(module, v, function, depth + 1) for v in values if not _is_none(v))

    def _yielded(self, module: Module, generator: ast.AST, scope, depth: int) -> Kind | None:
        """`next(get_session())`: what the project generator yields."""
        if not isinstance(generator, ast.Call):
            return None
        target = self.model.resolve(module, generator.func, scope)
        if target is not None and target.is_function and target.module is not None:
            return self._returned(target.module, target.node, depth + 1)
        return None

    # ---- names ---------------------------------------------------------------------------------------------------

    def _name(self, module: Module, name: str, scope, depth: int) -> Kind | None:
        function = scope
        while function is not None:
            bound = _bindings(function, name)
            if bound is not None:
                annotations, values = bound
                for annotation in annotations:
                    kind = self.annotated(module, annotation, depth)
                    if kind is not None:
                        return kind
                return _agree(self.of(module, v, function, depth + 1) for v in values if not _is_none(v))
            function = module.enclosing(function)
        return self.module_value(module, name, depth + 1)

    def module_value(self, module: Module, name: str, depth: int = 0) -> Kind | None:
        """A module-level name: its own value, else what an import of a project module binds."""
        key = (id(module), name)
        if key in self._module_memo:
            return self._module_memo[key]
        self._module_memo[key] = None
        found = None
        bindings = module.top_level.get(name)
        if bindings:
            if not isinstance(bindings[-1], (*FUNCTION_TYPES, ast.ClassDef)):
                found = self.of(module, bindings[-1], None, depth + 1)
        elif depth <= MAX_DEPTH:
            for qualified in sorted(module.imports.names.get(name, ())):
                owner, _, attribute = qualified.rpartition(".")
                holder = self.model.module_named(owner, module.path) if owner else None
                if holder is not None:
                    found = self.module_value(holder, attribute, depth + 1)
                    if found is not None:
                        break
        self._module_memo[key] = found
        return found

    def annotated(self, module: Module, annotation: ast.AST | None, depth: int = 0) -> Kind | None:
        """The kind an annotation names (`Session`, `Optional[sqlite3.Connection]`, `"Session"`)."""
        for candidate in _annotation_names(annotation):
            target = self.model.resolve(module, candidate, None)
            if target is not None and target.external:
                maker = _maker(target.external)
                if maker is not None and maker.state is not None:
                    return Kind(maker.library, maker.state)
        return None

    # ---- attributes ----------------------------------------------------------------------------------------------

    def _attribute(self, module: Module, expr: ast.Attribute, scope, depth: int) -> Kind | None:
        holder = expr.value
        if isinstance(holder, ast.Name) and scope is not None and _is_receiver(scope, holder.id):
            cls = module.enclosing_class(scope)
            return self.class_attribute(module, cls, expr.attr, depth) if cls is not None else None
        if expr.attr == "objects":
            manager = self._django_manager(module, holder, scope)
            if manager is not None:
                return manager
        owner = self.of(module, holder, scope, depth + 1)
        if owner is not None:
            member = STATES[owner.state].member
            return Kind(owner.library, member) if member else None
        target = self.model.resolve(module, holder, scope)
        if target is not None and target.module is not None and target.node is None:
            return self.module_value(target.module, expr.attr, depth + 1)
        return None

    def class_attribute(self, module: Module, cls: ast.ClassDef, attribute: str, depth: int = 0) -> Kind | None:
        """`self.<attribute>`: class-level fields (dataclass and pydantic annotations count) and `self.x = ...` in
        any method of the class or its project bases; for a mixin that does not set it, what the classes built on
        the mixin set."""
        found = self._own_attribute(module, cls, attribute, depth)
        if found is not None or depth > 1:
            return found
        return _agree(self._own_attribute(m, c, attribute, depth + 1) for m, c in self._subclasses(module, cls))

    def _subclasses(self, module: Module, cls: ast.ClassDef):
        """Classes deriving from `cls` among the modules the model has read (a mixin is reached from its store)."""
        resolver = self.model.resolver
        for other in self.model.loaded_modules():
            for node in other.classes.values():
                if node is not cls and any(_base_name(b) == cls.name for b in node.bases):
                    if any(holder is cls for _, holder in resolver.mro(other, node)):
                        yield other, node

    def _own_attribute(self, module: Module, cls: ast.ClassDef, attribute: str, depth: int) -> Kind | None:
        for holder_module, holder in self.model.resolver.mro(module, cls):
            annotations: list[ast.AST] = []
            values: list[tuple[ast.AST, ast.AST | None]] = []
            for statement in holder.body:
                if isinstance(statement, FUNCTION_TYPES) and statement.name == attribute and _is_property(statement):
                    return self._returned(holder_module, statement, depth + 1)
                if isinstance(statement, ast.AnnAssign) and _is_name(statement.target, attribute):
                    annotations.append(statement.annotation)
                    if statement.value is not None:
                        values.append((statement.value, None))
                elif isinstance(statement, ast.Assign) and any(_is_name(t, attribute) for t in statement.targets):
                    values.append((statement.value, None))
                elif isinstance(statement, FUNCTION_TYPES) and statement.args.args:
                    for node in self._receiver_assignments(statement).get(attribute, ()):
                        if isinstance(node, ast.AnnAssign):
                            annotations.append(node.annotation)
                        if node.value is not None:
                            values.append((node.value, statement))
            for annotation in annotations:
                kind = self.annotated(holder_module, annotation, depth)
                if kind is not None:
                    return kind
            if values:
                return _agree(self.of(holder_module, v, s, depth + 1) for v, s in values if not _is_none(v))
        return None

    def _receiver_assignments(self, method: ast.AST) -> dict[str, list[ast.AST]]:
        """The method's `self.<name> = ...` statements by name, read once per method (every attribute asked of a
        class would otherwise walk all its methods again)."""
        found = self._assignments.get(id(method))
        if found is None:
            found = self._assignments[id(method)] = defaultdict(list)
            me = method.args.args[0].arg
            for node in own_nodes(method):
                for attribute in _receiver_targets(node, me):
                    found[attribute].append(node)
        return found

    def _django_manager(self, module: Module, holder: ast.AST, scope) -> Kind | None:
        """`Model.objects` of a Django model class (a project model or an installed one such as auth's User)."""
        target = self.model.resolve(module, holder, scope)
        if target is None:
            return None
        if target.external.startswith("django."):
            return Kind("Django ORM", "django_manager")
        if target.is_class and not target.instance and target.module is not None:
            if self.model.resolver.subclass_of(target.module, target.node, "django", "Model"):
                return Kind("Django ORM", "django_manager")
        return None


def _agree(kinds) -> Kind | None:
    """The one kind the known candidates agree on; None when none is known or two disagree."""
    found = {kind for kind in kinds if kind is not None}
    return found.pop() if len(found) == 1 else None


def _base_name(expr: ast.AST) -> str:
    while isinstance(expr, ast.Subscript):
        expr = expr.value
    return expr.attr if isinstance(expr, ast.Attribute) else expr.id if isinstance(expr, ast.Name) else ""


def _is_property(function: ast.AST) -> bool:
    return any(
        (d.attr if isinstance(d, ast.Attribute) else d.id if isinstance(d, ast.Name) else "") in ("property", "cached_property")
        for d in function.decorator_list
    )


def _is_none(expr: ast.AST) -> bool:
    return isinstance(expr, ast.Constant) and expr.value is None


def _is_name(target: ast.AST, name: str) -> bool:
    return isinstance(target, ast.Name) and target.id == name


def _is_receiver(scope: ast.AST, name: str) -> bool:
    return isinstance(scope, FUNCTION_TYPES) and bool(scope.args.args) and scope.args.args[0].arg == name and name in ("self", "cls")


def _receiver_targets(node: ast.AST, me: str) -> list[str]:
    """The attributes of the receiver `me` that an assignment statement sets (`self.a = self.b = ...`)."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
    return list(dict.fromkeys(t.attr for t in targets if isinstance(t, ast.Attribute) and _is_name(t.value, me)))


def _bindings(function: ast.AST, name: str) -> tuple[list[ast.AST], list[ast.AST]] | None:
    """(annotations, values) binding `name` in `function` itself; None when the function does not bind it. A name
    bound by a loop, an import or unpacking gets no value (it is not followed)."""
    arguments = function.args if isinstance(function, (*FUNCTION_TYPES, ast.Lambda)) else None
    annotations: list[ast.AST] = []
    values: list[ast.AST] = []
    bound = False
    if arguments is not None:
        for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]:
            if arg is not None and arg.arg == name:
                bound = True
                if arg.annotation is not None:
                    annotations.append(arg.annotation)
    for node in own_nodes(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if _is_name(target, name):
                    bound = True
                    values.append(node.value)
                elif isinstance(target, (ast.Tuple, ast.List)) and any(_is_name(e, name) for e in target.elts):
                    bound = True
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)) and _is_name(node.target, name):
            bound = True
            if isinstance(node, ast.AnnAssign):
                annotations.append(node.annotation)
            if not isinstance(node, ast.AugAssign) and node.value is not None:
                values.append(node.value)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if _is_name(item.optional_vars, name):
                    bound = True
                    if isinstance(node, ast.With):
                        values.append(item.context_expr)
        elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
            if any(_is_name(n, name) for n in walk(node.target)):
                bound = True
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any((alias.asname or alias.name.split(".")[0]) == name for alias in node.names):
                bound = True
        elif isinstance(node, (*FUNCTION_TYPES, ast.ClassDef)) and node.name == name:
            bound = True
    return (annotations, values) if bound else None


def _annotation_names(annotation: ast.AST | None):
    """The class names an annotation may mean: `X`, `mod.X`, `Optional[X]`, `X | None`, `"X"`, `Annotated[X, ...]`."""
    if annotation is None:
        return
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            parsed = ast.parse(annotation.value, mode="eval").body
        except SyntaxError:
            return
        yield from _annotation_names(parsed)
    elif isinstance(annotation, (ast.Name, ast.Attribute)):
        yield annotation
    elif isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
        yield from _annotation_names(annotation.left)
        yield from _annotation_names(annotation.right)
    elif isinstance(annotation, ast.Subscript):
        head = annotation.value
        wrapper = head.attr if isinstance(head, ast.Attribute) else head.id if isinstance(head, ast.Name) else ""
        inner = annotation.slice
        elements = inner.elts if isinstance(inner, ast.Tuple) else [inner]
        if wrapper in ("Optional", "Union"):
            for element in elements:
                yield from _annotation_names(element)
        elif wrapper == "Annotated" and elements:
            yield from _annotation_names(elements[0])


def _makes_async_sessions(model, module: Module, call: ast.Call, scope) -> bool:
    """`sessionmaker(engine, class_=AsyncSession)`."""
    for keyword in call.keywords:
        if keyword.arg == "class_":
            target = model.resolve(module, keyword.value, scope)
            return target is None or "Async" in (target.external or getattr(target.node, "name", ""))
    return False


def _short(name: str) -> str:
    """`sqlite3.connect`, `requests.api.post` -> `requests.post`, `urllib.request.urlopen`."""
    parts = name.split(".")
    if parts[0] in ("requests", "httpx") and len(parts) > 2:
        return f"{parts[0]}.{parts[-1]}"
    return name


# ---------------------------------------------------------------------------------------------------------------------
# the effect
# ---------------------------------------------------------------------------------------------------------------------

_KINDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def kinds(model) -> Kinds:
    """The kinds of the model's current call graph (recomputed after a fix pass)."""
    found = _KINDS.get(model.calls)
    if found is None:
        found = _KINDS[model.calls] = Kinds(model)
    return found


class Blocking:
    """The effect "may block the event loop": the blocking calls a function makes on the loop, with the calls (not
    offloaded to a worker thread) that reach them."""

    name = NAME

    def local(self, model, function: Function) -> list[Fact]:
        module = function.module
        parents = module.parents
        known = kinds(model)
        found: list[Fact] = []
        for node in own_nodes(function.node):
            if isinstance(node, ast.Call):
                if _runs_async(node, parents):
                    continue
                _, blocking = known._call(module, node, function.node, 0)
                if blocking is None and isinstance(node.func, ast.Name) and node.func.id in _CONSUMERS and node.args:
                    source = known.of(module, node.args[0], function.node)
                    if source is not None and STATES[source.state].iterates:
                        blocking = f"{node.func.id}() over a {source.shown}"
                if blocking is not None:
                    found.append(Fact(module, node, blocking))
            elif isinstance(node, (ast.For, ast.comprehension)):
                source = known.of(module, node.iter, function.node)
                if source is not None and STATES[source.state].iterates:
                    found.append(Fact(module, node if isinstance(node, ast.For) else node.iter, f"iterating a {source.shown}"))
        return found

    def follows(self, site: CallSite) -> bool:
        return not site.offloaded


def _runs_async(call: ast.Call, parents) -> bool:
    """An awaited call, or the context manager of `async with` / the iterable of `async for`: an asynchronous API."""
    parent = parents.get(call)
    if isinstance(parent, ast.Await):
        return True
    if isinstance(parent, ast.withitem) and isinstance(parents.get(parent), ast.AsyncWith):
        return True
    if isinstance(parent, ast.AsyncFor) and parent.iter is call:
        return True
    return isinstance(parent, ast.comprehension) and parent.is_async and parent.iter is call


BLOCKING = Blocking()
