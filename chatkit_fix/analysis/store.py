"""What the Store rules (CK301-CK308) share: the Store contract read from the SDK, the store classes of a file or a
project, and questions about their methods (parameters, context reads, blocking calls, in-memory storage).

A *store class* is a subclass of `chatkit.store.Store` (also through `chatkit.server`, a subscript `Store[...]`, or
project base classes and mixins in any module, as the application model resolves them), or any class whose instance
is handed to a `ChatKitServer` as its store, whatever its base. Per-file rules see the first kind in their own file;
`project_store_classes()` adds the others, cross-file. Test doubles (code under tests/) are never store classes.
Attachment stores (`AttachmentStore` subclasses) are listed apart, for the rules that judge every store ChatKit awaits.

What a method does beyond its own body comes from the model's summaries (model/effects): what blocks the event
loop, what creates a thread, what upserts; they are computed only for the store methods a rule asks about.
The contract is read lazily, only when a file has a store class.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from chatkit_fix.analysis.launch import (
    app_target,
    commands_in,
    file_kind,
    python_script,
    server_argv,
    shell_script,
    split_argv,
    workers,
    yaml_commands,
)
from chatkit_fix.analysis.web import is_test_path
from chatkit_fix.model import Fact, Module, own_nodes
from chatkit_fix.model.effects.blocking import BLOCKING
from chatkit_fix.pyast import is_symbol, resolve_relative, walk

if TYPE_CHECKING:
    from chatkit_fix.context import ProjectContext, PythonContext
    from chatkit_fix.findings import Finding
    from chatkit_fix.rules import Rule

    ClassCheck = Callable[[PythonContext, "StoreClass"], Iterable[Finding]]

Function = ast.FunctionDef | ast.AsyncFunctionDef
STORE_TRIGGERS = ((b"Store", b"chatkit"),)
SERVER_SYMBOL = "ChatKitServer"

# ---------------------------------------------------------------------------------------------------------------------
# the contract
# ---------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContractMethod:
    name: str
    params: tuple[str, ...]  # without self
    is_async: bool
    abstract: bool
    annotations: dict
    returns: str | None

    @property
    def is_attachment(self) -> bool:
        return "attachment" in self.name


@dataclass
class Contract:
    methods: list[ContractMethod]
    page_fields: list[str]
    annotation_modules: dict[str, str]
    context_typevar: str | None
    not_found_module: str
    origin: str

    @property
    def by_name(self) -> dict[str, ContractMethod]:
        return {m.name: m for m in self.methods}

    @property
    def abstract(self) -> list[ContractMethod]:
        return [m for m in self.methods if m.abstract]

    def returns_page(self, name: str) -> bool:
        method = self.by_name.get(name)
        return bool(method and method.returns and re.match(r"Page\b", method.returns))


_CONTRACTS: dict[int, tuple[dict, Contract]] = {}


def contract(project=None, for_path=None) -> Contract:
    """The Store contract of the openai-chatkit release the service of `for_path` gets (chatkit_fix.sdk: declared,
    else installed or CHATKIT_FIX_CHATKIT_PATH)."""
    from chatkit_fix.sdk import chatkit_facts_for

    facts = chatkit_facts_for(project, for_path)
    cached = _CONTRACTS.get(id(facts))
    if cached is not None and cached[0] is facts:
        return cached[1]
    methods = [
        ContractMethod(
            name=m["name"],
            params=tuple(p for p in m["params"][1:]),
            is_async=bool(m["async"]),
            abstract=bool(m["abstract"]),
            annotations=dict(m.get("annotations") or {}),
            returns=m.get("returns"),
        )
        for m in sorted(facts["store_methods"], key=lambda m: m.get("order", 0))
        if m["params"] and m["params"][0] == "self"
    ]
    result = Contract(
        methods=methods,
        page_fields=list(facts.get("page_fields") or ["data", "has_more", "after"]),
        annotation_modules=dict(facts.get("annotation_modules") or {}),
        context_typevar=facts.get("context_typevar"),
        not_found_module=facts.get("not_found_error") or "chatkit.store",
        origin=facts.get("origin", ""),
    )
    _CONTRACTS[id(facts)] = (facts, result)
    return result


# ---------------------------------------------------------------------------------------------------------------------
# store classes
# ---------------------------------------------------------------------------------------------------------------------

NEUTRAL_BASES = {"Generic", "ABC", "object", "Protocol", "BaseModel"}
NEUTRAL_PACKAGES = ("chatkit.", "typing.", "typing_extensions.", "abc.", "pydantic.")


@dataclass(eq=False)
class StoreClass:
    ctx: PythonContext
    node: ast.ClassDef
    direct: bool  # a Store subclass found in its own file (per-file rules); False: found by the project pass
    context_annotation: str | None = None  # text of X in Store[X]
    attachments_only: bool = False  # an AttachmentStore (a server's attachment_store), not a thread store

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def path(self) -> Path:
        return self.ctx.path

    @property
    def module(self) -> Module:
        return self.ctx.module

    @property
    def methods(self) -> dict[str, Function]:
        return own_methods(self.node)

    @cached_property
    def lineage(self) -> list[tuple[Module, ast.ClassDef]]:
        """The class and its project bases (mixins in other modules included), nearest first."""
        return list(self.ctx.model.resolver.mro(self.module, self.node))

    @cached_property
    def inherited(self) -> dict[str, Function]:
        """Methods the class gets from its project bases (the nearest definition of each name)."""
        found: dict[str, Function] = {}
        for _, holder in self.lineage[1:]:
            for name, function in own_methods(holder).items():
                found.setdefault(name, function)
        return found

    def method_defs(self) -> dict[str, tuple[Module, Function]]:
        """Every method the class has from the project, own or inherited, with the module defining it."""
        found: dict[str, tuple[Module, Function]] = {}
        for module, holder in self.lineage:
            for name, function in own_methods(holder).items():
                found.setdefault(name, (module, function))
        return found

    @cached_property
    def open_bases(self) -> bool:
        """A base the model cannot see into (unresolved, or installed and not the SDK's or typing's) may define
        methods: rules that judge what is missing stay silent."""
        resolver = self.ctx.model.resolver
        for module, holder in self.lineage:
            for base in holder.bases:
                if _base_name(base) in NEUTRAL_BASES:
                    continue
                ref = resolver.expression(module, _unsubscript(base), None)
                names = {ref.external} if ref is not None else module.imports.qualnames(_unsubscript(base))
                if ref is not None and not ref.external:
                    continue  # a project class: its own bases are in the lineage
                if not names or any(not name.startswith(NEUTRAL_PACKAGES) for name in names):
                    return True
        return False

    def all_method_names(self) -> set[str]:
        names = set(self.methods) | set(self.inherited)
        for _, holder in self.lineage:
            for statement in holder.body:
                if isinstance(statement, ast.Assign):
                    names.update(t.id for t in statement.targets if isinstance(t, ast.Name))
                elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value:
                    names.add(statement.target.id)
        return names

    def is_abstract(self) -> bool:
        if any(_base_name(b) == "ABC" for b in self.node.bases):
            return True
        if any(_base_name(k.value) == "ABCMeta" for k in self.node.keywords if k.arg == "metaclass"):
            return True
        return any(_is_abstract_method(f) for f in self.methods.values())

    def defines_getattr(self) -> bool:
        return "__getattr__" in self.methods or "__getattr__" in self.inherited


def own_methods(node: ast.ClassDef) -> dict[str, Function]:
    found: dict[str, Function] = {}
    for statement in node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[statement.name] = statement
    return found


def _is_abstract_method(function: Function) -> bool:
    return any(_base_name(d) == "abstractmethod" for d in function.decorator_list)


def _base_name(expr: ast.AST) -> str:
    if isinstance(expr, ast.Subscript):
        expr = expr.value
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Name):
        return expr.id
    return ""


def _unsubscript(expr: ast.AST) -> ast.AST:
    while isinstance(expr, ast.Subscript):
        expr = expr.value
    return expr


def is_store_base(ctx: PythonContext, expr: ast.AST) -> bool:
    """`Store`, `Store[dict]`, `chatkit.store.Store`, `from chatkit.server import Store` ... but not AttachmentStore."""
    if isinstance(expr, ast.Subscript):
        expr = expr.value
    return ctx.refers_to(expr, "chatkit", "Store")


def is_test_double(ctx: PythonContext) -> bool:
    """Code under tests/ (test files, conftest, test helpers) is never a served store: store rules skip it."""
    return is_test_path(ctx.project, ctx.path)


def _context_annotation(model, lineage) -> str | None:
    """The text of X in the nearest `Store[X]` base."""
    for module, holder in lineage:
        for base in holder.bases:
            if not isinstance(base, ast.Subscript):
                continue
            ref = model.resolver.expression(module, base.value, None)
            if (ref.names("chatkit", "Store") if ref is not None else module.imports.refers_to(base.value, "chatkit", "Store")):
                return ast.get_source_segment(module.text, base.slice)
    return None


def _store_classes_in(ctx: PythonContext, symbol: str = "Store") -> list[ast.ClassDef]:
    """Classes of the file deriving from chatkit's `symbol` (through project bases in any module)."""
    if is_test_double(ctx):
        return []
    resolver, module = ctx.model.resolver, ctx.module
    return [
        node for node in walk(ctx.tree)
        if isinstance(node, ast.ClassDef) and node.bases and (
            resolver.subclass_of(module, node, "chatkit", symbol)
            # a project folder named like the SDK (a namespace package) does not hide the installed one
            or any(ctx.refers_to(_unsubscript(base), "chatkit", symbol) for base in node.bases)
        )
    ]


def _store_class(ctx: PythonContext, node: ast.ClassDef, direct: bool, attachments_only: bool = False) -> StoreClass:
    store = StoreClass(ctx, node, direct, attachments_only=attachments_only)
    store.context_annotation = _context_annotation(ctx.model, store.lineage)
    return store


def file_store_classes(ctx: PythonContext) -> list[StoreClass]:
    """Store subclasses defined in this file, directly or through project base classes (wherever they are)."""
    cached = ctx.__dict__.get("_ck_store_classes")
    if cached is not None:
        return cached
    result = [_store_class(ctx, node, True) for node in _store_classes_in(ctx)]
    result.sort(key=lambda c: c.node.lineno)
    ctx.__dict__["_ck_store_classes"] = result
    return result


# ---- the project pass ----------------------------------------------------------------------------------------------


def project_store_classes(pctx: ProjectContext) -> list[StoreClass]:
    """Every store class of the project: Store subclasses (the per-file ones, and those in files the per-file rules
    do not read) and classes handed to a ChatKitServer as its store, whatever their base. Test doubles excluded."""
    cached = pctx.memo.get("store_classes")
    if cached is not None:
        return cached
    project = pctx.project
    result: list[StoreClass] = []
    seen: set[tuple[Path, int]] = set()

    def add(store: StoreClass) -> None:
        key = (store.path, store.node.lineno)
        if key not in seen:
            seen.add(key)
            result.append(store)

    for path in project.grep(b"Store", "python"):
        ctx = pctx.parsed(path)
        if ctx is None:
            continue
        if b"chatkit" in project.read_bytes(path):  # the per-file rules read this file
            stores = file_store_classes(ctx)
        else:
            stores = [_store_class(ctx, node, False) for node in _store_classes_in(ctx)]
        for store in stores:
            add(store)
    # subclasses of store classes in files that never name `Store`
    frontier = list(result)
    while frontier:
        parent = frontier.pop()
        for path in project.grep(parent.name.encode(), "python"):
            ctx = pctx.parsed(path)
            if ctx is None or is_test_double(ctx):
                continue
            resolver = ctx.model.resolver
            for node in walk(ctx.tree):
                if not isinstance(node, ast.ClassDef) or (ctx.path, node.lineno) in seen or not node.bases:
                    continue
                if any(holder is parent.node for _, holder in resolver.mro(ctx.module, node)):
                    child = _store_class(ctx, node, False)
                    add(child)
                    frontier.append(child)
    # classes handed to a ChatKitServer as its store, whatever their base
    for binding in server_stores(pctx):
        if binding.attachments:
            continue
        resolved = resolve_class(pctx, binding.ctx, binding.call.func)
        if resolved is not None and not is_test_double(resolved[0]):
            add(_store_class(resolved[0], resolved[1], False))
    pctx.memo["store_classes"] = result
    return result


def attachment_store_classes(pctx: ProjectContext) -> list[StoreClass]:
    """Subclasses of chatkit's `AttachmentStore` that are not thread stores too (a server's `attachment_store`)."""
    cached = pctx.memo.get("attachment_store_classes")
    if cached is not None:
        return cached
    stores = {(s.path, s.node.lineno) for s in project_store_classes(pctx)}
    result: list[StoreClass] = []
    for path in pctx.project.grep(b"AttachmentStore", "python"):
        ctx = pctx.parsed(path)
        if ctx is None:
            continue
        for node in _store_classes_in(ctx, "AttachmentStore"):
            if (ctx.path, node.lineno) not in stores:
                result.append(_store_class(ctx, node, False, attachments_only=True))
    pctx.memo["attachment_store_classes"] = result
    return result


def project_only_store_classes(pctx: ProjectContext) -> list[StoreClass]:
    """The store classes per-file checks cannot see: they are the project pass's share of a rule."""
    return [store for store in project_store_classes(pctx) if not store.direct]


def check_store_classes(rule: Rule) -> Callable[[ClassCheck], ClassCheck]:
    """Decorate `check(ctx, store)` to run on every store class: per file on the file's own Store subclasses
    (`file_store_classes`), and once per run on the ones only the project pass finds (`project_only_store_classes`),
    with the context of the file that defines the class."""

    def register(per_class: ClassCheck) -> ClassCheck:
        @rule.check
        def check(ctx):
            for store in file_store_classes(ctx):
                yield from per_class(ctx, store)

        @rule.check_project
        def check_project(pctx):
            for store in project_only_store_classes(pctx):
                ctx = pctx.parsed(store.path)
                if ctx is not None:
                    yield from per_class(ctx, store)

        return per_class

    return register


def resolve_class(pctx: ProjectContext, ctx: PythonContext, expr: ast.AST) -> tuple[PythonContext, ast.ClassDef] | None:
    """The project class a name or attribute refers to, in this module or imported (re-exports followed)."""
    if isinstance(expr, ast.Subscript):
        expr = expr.value
    found = ctx.model.resolve(ctx.module, expr)
    if found is None or not found.is_class or found.instance:
        return None
    holder = ctx if found.module.path == ctx.path else pctx.parsed(found.module.path)
    return (holder, found.node) if holder is not None else None


@dataclass
class ServerStore:
    """A store a ChatKit server is given: the call that creates it and the server class that receives it."""

    ctx: PythonContext  # the file of the creating call
    call: ast.Call  # `MemoryStore()`
    server: ast.ClassDef | None  # the project server class (None: chatkit's ChatKitServer constructed directly)
    attachments: bool  # handed over as the attachment_store
    fallback: bool  # created only in an `except` handler: it serves when the main store could not be built


def server_stores(pctx: ProjectContext) -> list[ServerStore]:
    """Every store handed to a ChatKit server: the store argument of each construction of a server class (followed
    into the class's `super().__init__(store, ...)`), and stores a server's `__init__` creates for itself. The
    argument is followed to the call creating it through names, imports, `self.x` and factory functions."""
    cached = pctx.memo.get("server_store_bindings")
    if cached is not None:
        return cached
    model = pctx.model
    servers = _server_classes(pctx)
    found: list[ServerStore] = []
    seen: set[tuple[Path, int, int, bool]] = set()

    def add(module: Module, call: ast.Call, server, attachments: bool) -> None:
        key = (module.path, call.lineno, call.col_offset, attachments)
        ctx = pctx.parsed(module.path) if key not in seen else None
        if ctx is not None:
            seen.add(key)
            found.append(ServerStore(ctx, call, server, attachments, _in_except_handler(module, call)))

    class_names = {SERVER_SYMBOL, *(cls.name for _, cls in servers.values())}
    paths = {path for name in class_names for path in pctx.project.grep(name.encode(), "python")}
    for path in sorted(paths):
        module = model.module(path)
        if module is None:
            continue
        spelled = _spelled(module, class_names)
        for node in walk(module.tree):
            if not isinstance(node, ast.Call) or _base_name(node.func) not in spelled:
                continue
            scope = module.enclosing(node)
            target = model.resolve(module, node.func, scope)
            if target is None or target.instance:
                continue
            if target.external:
                if not target.names("chatkit", SERVER_SYMBOL):
                    continue
                server = None
                stores = _handed_stores(model, module, node, scope, None)
            elif target.is_class and (target.module.path, target.node.lineno) in servers:
                server = target.node
                stores = _handed_stores(model, module, node, scope, (target.module, target.node))
            else:
                continue
            for (store_module, store_call), attachments in stores:
                add(store_module, store_call, server, attachments)
    # stores a server class creates itself: `super().__init__(store=MemoryStore())`
    for server_module, server in servers.values():
        init = server_module.functions.get(f"{server_module.qualified_names.get(server, server.name)}.__init__")
        for call in _super_init_calls(init) if init is not None else ():
            for argument, attachments in _store_arguments(call, skip_self=_calls_unbound(call)):
                if not _names_parameter(init, argument):
                    for store_module, store_call in creation_sites(model, server_module, argument, init):
                        add(store_module, store_call, server, attachments)
    pctx.memo["server_store_bindings"] = found
    return found


def _server_classes(pctx: ProjectContext) -> dict[tuple[Path, int], tuple[Module, ast.ClassDef]]:
    """Project subclasses of chatkit's ChatKitServer, by (file, line)."""
    found: dict[tuple[Path, int], tuple[Module, ast.ClassDef]] = {}
    model = pctx.model
    candidates = []
    for path in pctx.project.grep(SERVER_SYMBOL.encode(), "python"):
        module = model.module(path)
        if module is not None:
            candidates += [(module, node) for node in module.classes.values() if node.bases]
    names = {SERVER_SYMBOL}
    while candidates:  # subclasses of subclasses, in files that name the class they derive from
        grown = [(m, n) for m, n in candidates if any(_base_name(b) in _spelled(m, names) for b in n.bases)
                 and model.resolver.subclass_of(m, n, "chatkit", SERVER_SYMBOL)]
        for module, node in grown:
            found[(module.path, node.lineno)] = (module, node)
        fresh = {node.name for _, node in grown} - names
        if not fresh:
            break
        names |= fresh
        candidates = []
        for name in fresh:
            for path in pctx.project.grep(name.encode(), "python"):
                module = model.module(path)
                if module is not None:
                    candidates += [(module, node) for node in module.classes.values()
                                   if node.bases and (path, node.lineno) not in found]
    return found


def _spelled(module: Module, names: set[str]) -> set[str]:
    """The names classes can be written with in a module: their own names and the local aliases imports bind."""
    return names | {
        local for local, qualified in module.imports.names.items() if any(q.rsplit(".", 1)[-1] in names for q in qualified)
    }


def _handed_stores(model, module: Module, construction: ast.Call, scope, server) -> list:
    """((module, creating call), attachments?) for the stores a server construction hands over."""
    found = []
    init = None
    if server is not None:
        member = model.resolver.class_member(server[0], server[1], "__init__")
        init = (member.module, member.node) if member is not None and member.is_function else None
    if init is None or not any(_super_init_calls(init[1])):
        for argument, attachments in _store_arguments(construction):
            found += [(site, attachments) for site in creation_sites(model, module, argument, scope)]
        return found
    init_module, init_def = init
    for call in _super_init_calls(init_def):
        for argument, attachments in _store_arguments(call, skip_self=_calls_unbound(call)):
            parameter = _names_parameter(init_def, argument)
            if parameter is None:
                continue  # created by __init__ itself: found once per server class
            passed = _argument_for(construction, init_def, parameter)
            found += [(site, attachments) for site in creation_sites(model, module, passed, scope)]
    return found


def _super_init_calls(init: ast.AST):
    """`super().__init__(...)` and `ChatKitServer.__init__(self, ...)` in a server's `__init__`."""
    for node in walk(init):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "__init__":
            yield node


def _calls_unbound(call: ast.Call) -> bool:
    """`ChatKitServer.__init__(self, store)`: the first argument is the instance."""
    return not (isinstance(call.func.value, ast.Call) and _call_name(call.func.value.func) == "super")


def _store_arguments(call: ast.Call, skip_self: bool = False):
    """(expression, attachments?) of the store and attachment store arguments of a ChatKitServer signature."""
    positional = call.args[1:] if skip_self else call.args
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    store = keywords.get("store", positional[0] if positional else None)
    attachments = keywords.get("attachment_store", positional[1] if len(positional) > 1 else None)
    if store is not None:
        yield store, False
    if attachments is not None:
        yield attachments, True


def _names_parameter(function: ast.AST, expr: ast.AST) -> str | None:
    arguments = function.args
    names = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
    return expr.id if isinstance(expr, ast.Name) and expr.id in names else None


def _argument_for(call: ast.Call, function: ast.AST, parameter: str) -> ast.AST | None:
    """The argument a call passes for a parameter of `function` (a method: `self` is not passed)."""
    for keyword in call.keywords:
        if keyword.arg == parameter:
            return keyword.value
    names = [a.arg for a in [*function.args.posonlyargs, *function.args.args]][1:]
    if parameter in names and names.index(parameter) < len(call.args):
        argument = call.args[names.index(parameter)]
        return None if isinstance(argument, ast.Starred) else argument
    defaults = function.args.defaults
    if parameter in names and defaults:
        offset = len(names) - len(defaults)
        index = names.index(parameter)
        return defaults[index - offset] if index >= offset else None
    return None


def creation_sites(model, module: Module, expr: ast.AST | None, scope: ast.AST | None, depth: int = 0) -> list:
    """(module, call) of the calls creating the value of `expr`: the call itself, what a local or module-level name,
    an import, `self.x` or a factory function's return was bound to (every branch)."""
    if expr is None or depth > 6:
        return []
    if isinstance(expr, ast.Await):
        return creation_sites(model, module, expr.value, scope, depth + 1)
    if isinstance(expr, (ast.IfExp, ast.BoolOp)):
        values = [expr.body, expr.orelse] if isinstance(expr, ast.IfExp) else expr.values
        return [site for value in values for site in creation_sites(model, module, value, scope, depth + 1)]
    if isinstance(expr, ast.Call):
        target = model.resolve(module, expr.func, scope)
        if target is not None and target.is_function and target.module is not None and not target.is_class:
            returned = [n.value for n in own_nodes(target.node) if isinstance(n, ast.Return) and n.value is not None]
            sites = [s for v in returned for s in creation_sites(model, target.module, v, target.node, depth + 1)]
            if sites:
                return sites
        return [(module, expr)]
    if isinstance(expr, ast.Name):
        function = scope
        local: list = []
        while function is not None:
            values = _name_values(function, expr.id)
            if isinstance(values, _Global):  # `global store` then `store = MemoryStore()` in the function
                local = [s for v in values.assigned for s in creation_sites(model, module, v, function, depth + 1)]
                break
            if values is not None:
                return [s for v in values for s in creation_sites(model, module, v, function, depth + 1)]
            function = module.enclosing(function)
        if local:
            return local
        bindings = module.top_level.get(expr.id)
        if bindings:
            values = [b for b in bindings if not isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
            return [s for v in values for s in creation_sites(model, module, v, None, depth + 1)]
        for qualified in sorted(module.imports.names.get(expr.id, ())):
            owner, _, name = qualified.rpartition(".")
            holder = model.module_named(owner, module.path) if owner else None
            if holder is not None:
                values = [b for b in holder.top_level.get(name, ()) if not isinstance(b, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
                return [s for v in values for s in creation_sites(model, holder, v, None, depth + 1)]
        return []
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id == "self" and scope is not None:
        cls = module.enclosing_class(scope)
        if cls is None:
            return []
        sites = []
        for method in cls.body:
            if isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for node in own_nodes(method):
                    value = _assigned_value(node, lambda t: isinstance(t, ast.Attribute) and t.attr == expr.attr
                                            and isinstance(t.value, ast.Name) and t.value.id == "self")
                    if value is not None:
                        sites += creation_sites(model, module, value, method, depth + 1)
        return sites
    return []


@dataclass
class _Global:
    """A name a function declares global: what the function assigns it (the module's own values count too)."""

    assigned: list[ast.AST]


def _name_values(function: ast.AST, name: str):
    """The values a name is assigned in a function: a list (empty for a parameter never reassigned), a _Global, or
    None when the function does not bind it."""
    arguments = function.args
    values = []
    bound = name in {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
    declared = False
    for node in own_nodes(function):
        value = _assigned_value(node, lambda t: isinstance(t, ast.Name) and t.id == name)
        if value is not None:
            values.append(value)
            bound = True
        elif isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names:
            declared = True
    if declared:
        return _Global(values)
    return values if bound else None


def _in_except_handler(module: Module, node: ast.AST) -> bool:
    current = module.parents.get(node)
    while current is not None and not isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Module)):
        if isinstance(current, ast.ExceptHandler):
            return True
        current = module.parents.get(current)
    return False


def _assigned_value(node: ast.AST, matches) -> ast.AST | None:
    if isinstance(node, ast.Assign) and any(matches(t) for t in node.targets):
        return node.value
    if isinstance(node, ast.AnnAssign) and node.value is not None and matches(node.target):
        return node.value
    return None


# ---------------------------------------------------------------------------------------------------------------------
# methods
# ---------------------------------------------------------------------------------------------------------------------


def positional_params(function: Function) -> list[ast.arg]:
    return [*function.args.posonlyargs, *function.args.args]


def param_for(function: Function, method: ContractMethod, contract_name: str) -> str | None:
    """The name the method uses for a contract parameter: the same name, or the one in its position."""
    names = [a.arg for a in positional_params(function)][1:]
    if contract_name in names or contract_name in [a.arg for a in function.args.kwonlyargs]:
        return contract_name
    index = method.params.index(contract_name) if contract_name in method.params else -1
    if 0 <= index < len(names) and names[index] not in method.params:
        return names[index]
    return None


def body_nodes(function: Function, into_nested: bool = False) -> Iterator[ast.AST]:
    """Nodes of a function's body, without nested functions, lambdas and classes (unless asked)."""
    stack: list[ast.AST] = list(reversed(function.body))
    while stack:
        node = stack.pop()
        yield node
        for child in reversed(list(ast.iter_child_nodes(node))):
            if not into_nested and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                continue
            stack.append(child)


def has_docstring(function: Function) -> bool:
    first = function.body[0] if function.body else None
    return isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)


def is_stub(function: Function) -> bool:
    """Body is only `raise NotImplementedError` (with an optional docstring, `...` or `pass`)."""
    statements = function.body[1:] if has_docstring(function) else function.body
    statements = [s for s in statements if not (isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and s.value.value is Ellipsis))]
    if len(statements) != 1 or not isinstance(statements[0], ast.Raise):
        return False
    exc = statements[0].exc
    target = exc.func if isinstance(exc, ast.Call) else exc
    return isinstance(target, ast.Name) and target.id == "NotImplementedError"


def self_calls(function: Function, names: Iterable[str] | None = None) -> Iterator[ast.Call]:
    wanted = set(names) if names is not None else None
    for node in body_nodes(function, into_nested=True):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _is_self(node.func.value):
            if wanted is None or node.func.attr in wanted:
                yield node


def _is_self(expr: ast.AST) -> bool:
    if isinstance(expr, ast.Name) and expr.id == "self":
        return True
    return isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name) and expr.func.id == "super"


# ---- blocking calls (CK307, and CK302's sync -> async decision) -----------------------------------------------------


def blocking_facts(model, module: Module, function: Function, depth: int | None = None) -> list[Fact]:
    """The blocking calls `function` makes on the event loop, its own and those of the project functions it calls
    (not those it hands to a worker thread): the model's "blocks" summary, computed only when asked."""
    return model.facts(BLOCKING, model.function(module, function), depth)


def chain_text(fact: Fact) -> str:
    """The calls that reach a fact, as the code writes them: `self._rows() -> fetch_items()`."""
    return " -> ".join(call_text(site) for site in fact.via)


def call_text(site) -> str:
    node = site.node.func if isinstance(site.node, ast.Call) else site.node
    text = ast.get_source_segment(site.caller.module.text, node) or site.describe()
    return f"{' '.join(text.split())}()"


def _call_name(func: ast.AST) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return ""


def _receiver_text(expr: ast.AST) -> str:
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        return f"{expr.value.id}.{expr.attr}"
    return ""


# ---- in-memory storage (CK304, CK308) -------------------------------------------------------------------------------

CONTAINER_CALLS = {"dict": "dict", "list": "list", "defaultdict": "dict", "OrderedDict": "dict", "deque": "list"}


def container_attributes(store: StoreClass) -> dict[str, str]:
    """`self.attr` (and class attributes) holding a plain dict or list: attr -> "dict" | "list"."""
    found: dict[str, str] = {}
    classes = [store.node]
    for statement in store.node.body:
        value = _assigned_value(statement, lambda t: isinstance(t, ast.Name))
        if value is not None:
            kind = _container_kind(value)
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                if isinstance(target, ast.Name) and kind:
                    found[target.id] = kind
    for cls in classes:
        init = own_methods(cls).get("__init__")
        if init is None:
            continue
        for node in walk(init):
            value = _assigned_value(node, lambda t: isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self")
            if value is None:
                continue
            kind = _container_kind(value)
            if isinstance(node, ast.AnnAssign) and kind is None:
                kind = _annotation_kind(node.annotation)
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Attribute) and kind:
                    found[target.attr] = kind
    return found


def _container_kind(value: ast.AST) -> str | None:
    if isinstance(value, (ast.Dict, ast.DictComp)):
        return "dict"
    if isinstance(value, (ast.List, ast.ListComp)):
        return "list"
    if isinstance(value, ast.Call):
        return CONTAINER_CALLS.get(_call_name(value.func))
    return None


def _annotation_kind(annotation: ast.AST) -> str | None:
    name = _base_name(annotation).lower()
    return {"dict": "dict", "list": "list", "defaultdict": "dict"}.get(name)


PERSISTENCE_CALLS = {"open", "write_text", "read_text", "write_bytes", "read_bytes", "dump", "load", "execute", "exec",
                     "query", "commit", "insert_one", "find_one", "update_one", "put_item", "get_item", "hset", "hget",
                     "lpush", "rpush", "connect", "urlopen"}


def is_in_memory(store: StoreClass) -> bool:
    """Threads live in plain dicts/lists on the instance, and no method reaches a database, a file or a service."""
    if not container_attributes(store):
        return False
    methods = list(store.methods.values())
    for function in methods:
        for node in body_nodes(function, into_nested=True):
            if isinstance(node, ast.Await):
                value = node.value
                if isinstance(value, ast.Call) and not (isinstance(value.func, ast.Attribute) and _is_self(value.func.value)):
                    return False
            elif isinstance(node, (ast.AsyncWith, ast.AsyncFor)) or isinstance(node, ast.Call) and _call_name(node.func) in PERSISTENCE_CALLS:
                return False
        if blocking_facts(store.ctx.model, store.module, function, depth=0):
            return False
    return True


# ---------------------------------------------------------------------------------------------------------------------
# fix helpers
# ---------------------------------------------------------------------------------------------------------------------


def local_name_for(ctx: PythonContext, name: str) -> str | None:
    """A local name already bound to chatkit's `name` (any chatkit module, any alias)."""
    for local, qualified in ctx.imports.names.items():
        if any(is_symbol(q, "chatkit", name) for q in qualified):
            return local
    return None


def ensure_chatkit_imports(ctx: PythonContext, wanted: dict[str, str]):
    """Local names for chatkit symbols {name: module}, and the imports a fix needs for the missing ones."""
    names: dict[str, str] = {}
    imports = []
    for name, module in wanted.items():
        local = local_name_for(ctx, name)
        if local is not None:
            names[name] = local
            continue
        names[name] = name
        if not _bound_at_module_level(ctx.tree, name):  # else a project definition of the same name: use it as it is
            imports.append(ctx.ensure_import(module, name)[1])
    return names, imports


def _bound_at_module_level(tree: ast.Module, name: str) -> bool:
    for statement in tree.body:
        if isinstance(statement, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and statement.name == name:
            return True
        if isinstance(statement, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in statement.targets):
            return True
    return False


def not_found_error(ctx: PythonContext):
    """(local name of NotFoundError, import edit or None)."""
    names, edits = ensure_chatkit_imports(ctx, {"NotFoundError": contract(ctx.project, ctx.path).not_found_module})
    return names["NotFoundError"], edits


def quote(ctx: PythonContext) -> str:
    """The quote character the file's string literals mostly use (docstrings aside)."""
    cached = ctx.__dict__.get("_ck_quote")
    if cached is not None:
        return cached
    single = double = 0
    lines = ctx.text.splitlines()
    for node in walk(ctx.tree):
        if isinstance(node, (ast.Constant, ast.JoinedStr)) and (isinstance(node, ast.JoinedStr) or isinstance(node.value, str)):
            line = lines[node.lineno - 1] if node.lineno - 1 < len(lines) else ""
            text = line[node.col_offset:].lstrip("rRbBuUfF") if node.end_lineno == node.lineno else ""
            if text.startswith(("\"\"\"", "\'\'\'")):
                continue
            single += text.startswith("'")
            double += text.startswith('"')
    result = "'" if single > double else '"'
    ctx.__dict__["_ck_quote"] = result
    return result


def not_found_message(ctx: PythonContext, what: str, variable: str | None) -> str:
    q = quote(ctx)
    if variable:
        return f"f{q}{what} {{{variable}}} not found{q}"
    return f"{q}{what} not found{q}"


def statement_indent(ctx: PythonContext, node: ast.AST) -> str:
    return ctx.source.indentation(node.lineno)


def body_indent(ctx: PythonContext, node: ast.ClassDef | Function) -> str:
    return ctx.source.indentation(node.body[0].lineno)


def line_end(ctx: PythonContext, node: ast.AST) -> int:
    """Offset of the end of the node's last line (before its newline), after any trailing comment."""
    end = ctx.span(node)[1]
    newline = ctx.text.find("\n", end)
    if newline < 0:
        return len(ctx.text)
    return newline - 1 if newline > 0 and ctx.text[newline - 1] == "\r" else newline


def terminates(statements: list[ast.stmt]) -> bool:
    """Whether control can never fall off the end of these statements (unknown shapes count as terminating)."""
    if not statements:
        return False
    last = statements[-1]
    if isinstance(last, (ast.Return, ast.Raise)):
        return True
    if isinstance(last, ast.If):
        return terminates(last.body) and terminates(last.orelse)
    if isinstance(last, (ast.With, ast.AsyncWith)):
        return terminates(last.body)
    if isinstance(last, ast.Try):
        if last.finalbody and terminates(last.finalbody):
            return True
        body_done = terminates(last.body) or (last.orelse and terminates(last.orelse))
        return bool(body_done) and all(terminates(h.body) for h in last.handlers)
    if isinstance(last, ast.While):
        return isinstance(last.test, ast.Constant) and bool(last.test.value) and not any(isinstance(n, ast.Break) for n in walk(last))
    if isinstance(last, (ast.For, ast.AsyncFor, ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Pass, ast.Delete)):
        return False
    return True


def contract_signature(
    method: ContractMethod, context_annotation: str | None, typevar: str | None, names: dict[str, str], indent: str
) -> str:
    """`async def name(self, a: T, ...) -> R:` as the SDK writes it, with the class's own context type."""

    def annotate(text: str | None) -> str | None:
        if text is None:
            return None
        if typevar and re.search(rf"\b{re.escape(typevar)}\b", text):
            if context_annotation is None:
                return None
            text = re.sub(rf"\b{re.escape(typevar)}\b", context_annotation, text)
        return re.sub(r"[A-Za-z_][A-Za-z0-9_]*", lambda m: names.get(m.group(0), m.group(0)), text)

    params = ["self"]
    for name in method.params:
        annotation = annotate(method.annotations.get(name))
        params.append(f"{name}: {annotation}" if annotation else name)
    returns = annotate(method.returns)
    head = f"{'async ' if method.is_async else ''}def {method.name}("
    tail = f") -> {returns}:" if returns else "):"
    one_line = f"{indent}{head}{', '.join(params)}{tail}"
    if len(one_line) <= 100:
        return one_line
    inner = indent + "    "
    return f"{indent}{head}\n" + "".join(f"{inner}{p},\n" for p in params) + f"{indent}{tail}"


def annotation_symbols(method: ContractMethod, modules: dict[str, str], typevar: str | None) -> dict[str, str]:
    used: dict[str, str] = {}
    for text in [*method.annotations.values(), method.returns]:
        for name in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text or ""):
            if name in modules and name != typevar:
                used[name] = modules[name]
    return used


def context_annotation_of(store: StoreClass) -> str | None:
    """The class's context type: `Store[X]`'s X, else what its own methods write for `context`; None when the
    module does not bind its names (X inherited from a base in another module): a stub then writes no annotation
    rather than one naming something undefined."""
    annotation = store.context_annotation
    if not annotation:
        for function in store.methods.values():
            for arg in [*function.args.args, *function.args.kwonlyargs]:
                if arg.arg == "context" and arg.annotation is not None:
                    annotation = annotation or store.ctx.segment(arg.annotation)
    return annotation if annotation and _names_bound(store.ctx, annotation) else None


def _names_bound(ctx: PythonContext, annotation: str) -> bool:
    """Every name an annotation's text uses (inside quotes too) is a builtin or bound at the module's top level."""
    import builtins

    try:
        tree = ast.parse(annotation.strip(), mode="eval")
    except SyntaxError:
        return False
    for node in walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and not _names_bound(ctx, node.value):
            return False
        if isinstance(node, ast.Name) and not (
            hasattr(builtins, node.id) or node.id in ctx.imports.names or _bound_at_module_level(ctx.tree, node.id)
        ):
            return False
    return True


def relative_module(ctx: PythonContext, node: ast.ImportFrom) -> str:
    return resolve_relative(ctx.module_name, node.level, node.module, ctx.path.name == "__init__.py")


# ---------------------------------------------------------------------------------------------------------------------
# who authenticates (CK306)
# ---------------------------------------------------------------------------------------------------------------------

IDENTITY = re.compile(
    r"(?i)(^|_)(user|users|username|user_?id|uid|sub|subject|actor|email|account|account_?id|tenant|tenant_?id|owner|"
    r"owner_?id|principal|identity|claims|member|customer|customer_?id|org|org_?id|organization)(_|$)"
)


@dataclass
class IdentityContext:
    ctx: PythonContext
    call: ast.Call  # the process(...) call
    evidence: str  # what carries the identity, e.g. "user_id"
    keys: frozenset[str] | None  # the context keys or attributes holding it (None: not known by name)


def identity_contexts(pctx: ProjectContext) -> list[IdentityContext]:
    """`server.process(body, context)` calls whose context carries a (non-literal) user identity."""
    found: list[IdentityContext] = []
    for path in pctx.project.grep(b".process(", "python"):
        ctx = pctx.parsed(path)
        if ctx is None:
            continue
        uses_chatkit = ctx.imports.imports_package("chatkit")
        for node in walk(ctx.tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "process"):
                continue
            receiver = _receiver_text(node.func.value).lower()
            if not uses_chatkit and "server" not in receiver and "chatkit" not in receiver:
                continue
            context = next((k.value for k in node.keywords if k.arg == "context"), node.args[1] if len(node.args) > 1 else None)
            if context is None:
                continue
            evidence, keys = _identity_in(ctx, context, node)
            if evidence:
                found.append(IdentityContext(ctx, node, evidence, keys))
    return found


def _identity_in(ctx: PythonContext, expr: ast.AST, at: ast.AST) -> tuple[str | None, frozenset[str] | None]:
    """(what carries an identity into the context, the context keys that hold it: None when not known by name)."""
    function = ctx.module.enclosing(at)
    roots: list[ast.AST] = [expr]
    keys: set[str] = set()
    evidence: str | None = None
    unnamed = False
    if isinstance(expr, ast.Name):
        scope = function or ctx.tree
        for node in walk(scope):
            value = _assigned_value(node, lambda t: isinstance(t, ast.Name) and t.id == expr.id)
            if value is not None:
                roots.append(value)
            # context["subject"] = auth.subject
            target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
            if (
                isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name) and target.value.id == expr.id
                and isinstance(target.slice, ast.Constant) and isinstance(target.slice.value, str)
                and IDENTITY.search(target.slice.value) and _carries_identity(node.value, function)
            ):
                keys.add(target.slice.value)
                evidence = evidence or target.slice.value
        if function is not None:  # a parameter: `context: Ctx = Depends(get_user_context)`
            arguments = [*function.args.args, *function.args.kwonlyargs]
            defaults = [None] * (len(function.args.args) - len(function.args.defaults)) + list(function.args.defaults)
            defaults += list(function.args.kw_defaults)
            for arg, default in zip(arguments, defaults):
                if arg.arg == expr.id:
                    roots += [n for n in (arg.annotation, default) if n is not None]
    for root in roots:
        for node in walk(root):
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values):
                    if isinstance(key, ast.Constant) and isinstance(key.value, str) and IDENTITY.search(key.value):
                        if _carries_identity(value, function):
                            keys.add(key.value)
                            evidence = evidence or key.value
            elif isinstance(node, ast.keyword) and node.arg and IDENTITY.search(node.arg):
                if _carries_identity(node.value, function):
                    keys.add(node.arg)
                    evidence = evidence or node.arg
            elif (isinstance(node, ast.Name) and node is not expr and IDENTITY.search(node.id) and node.id != "request"
                  and _carries_identity(node, function)):
                evidence, unnamed = evidence or node.id, True
            elif isinstance(node, ast.Attribute) and IDENTITY.search(node.attr):
                evidence, unnamed = evidence or f"{_receiver_text(node) or node.attr}", True
            elif isinstance(node, ast.Call) and _call_name(node.func) == "Depends" and node.args:
                dependency = _call_name(node.args[0]) if isinstance(node.args[0], (ast.Name, ast.Attribute)) else ""
                if IDENTITY.search(dependency.replace("get_", "")) or "auth" in dependency.lower():
                    evidence, unnamed = evidence or dependency, True
    if evidence is None:
        return None, None
    return evidence, frozenset(keys) if keys else None if unnamed else frozenset(keys)


def _carries_identity(value: ast.AST, function: ast.AST | None, depth: int = 0) -> bool:
    """Whether a value put in the context can be a signed-in user: not a literal (`"anonymous"`, `{}`, a local only
    ever assigned literals) and not a URL query parameter, which any caller writes."""
    if isinstance(value, ast.Constant) or (isinstance(value, (ast.Dict, ast.List)) and not (
            value.keys if isinstance(value, ast.Dict) else value.elts)):
        return False
    if _reads_query(value):
        return False
    if isinstance(value, ast.Name) and function is not None and depth < 3:
        values = _name_values(function, value.id)
        values = values.assigned if isinstance(values, _Global) else values
        if values:
            return any(_carries_identity(v, function, depth + 1) for v in values)
    if isinstance(value, ast.IfExp):
        return _carries_identity(value.body, function, depth + 1) or _carries_identity(value.orelse, function, depth + 1)
    return True


def _reads_query(value: ast.AST) -> bool:
    """`request.query_params.get("user_id")`, `request.query_params["user_id"]`, `request.args.get(...)`."""
    node = value.func.value if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) else value
    if isinstance(node, ast.Subscript):
        node = node.value
    return isinstance(node, ast.Attribute) and node.attr in ("query_params", "args", "GET")


def process_servers(pctx: ProjectContext, identity: IdentityContext) -> list[ast.ClassDef] | None:
    """The project server classes a `process()` call is made on (None: the receiver cannot be resolved)."""
    module, model = identity.ctx.module, pctx.model
    receiver, scope = identity.call.func.value, module.enclosing(identity.call)
    target = model.resolve(module, receiver, scope)
    if target is not None and target.is_class:
        return [target.node]
    classes = []
    for site_module, call in creation_sites(model, module, receiver, scope):  # built on several branches
        made = model.resolve(site_module, call.func, site_module.enclosing(call))
        if made is None or not made.is_class:
            return None
        classes.append(made.node)
    return classes or None


def identity_reads(model, store: StoreClass) -> tuple[set[str], bool]:
    """(the context keys or attributes the store's methods read, whether the context also goes where the reads cannot
    be seen: a dynamic key, an installed function, a copy): followed into the project helpers it is handed to."""
    keys: set[str] = set()
    opaque = False
    contract_methods = contract(store.ctx.project, store.path).by_name
    seen: set[tuple[int, str]] = set()
    for name, (module, function) in store.method_defs().items():
        method = contract_methods.get(name)
        if method is None or "context" not in method.params:
            continue
        parameter = param_for(function, method, "context")
        if parameter is not None:
            found, hidden = _context_reads(model, module, function, parameter, seen, set(contract_methods))
            keys |= found
            opaque = opaque or hidden
    return keys, opaque


BENIGN_CALLS = frozenset({"isinstance", "print", "repr", "str", "type", "id", "bool", "hasattr", "callable"})


def _context_reads(model, module: Module, function: Function, parameter: str, seen: set, store_methods: set[str],
                   depth: int = 0):
    key = (id(function), parameter)
    if key in seen or depth > 3:
        return set(), False
    seen.add(key)
    keys: set[str] = set()
    opaque = False
    parents = module.parents
    for node in own_nodes(function):
        if not (isinstance(node, ast.Name) and node.id == parameter and isinstance(node.ctx, ast.Load)):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Subscript) and parent.value is node:
            if isinstance(parent.slice, ast.Constant) and isinstance(parent.slice.value, str):
                keys.add(parent.slice.value)
            else:
                opaque = True
        elif isinstance(parent, ast.Attribute) and parent.value is node:
            call = parents.get(parent)
            if parent.attr == "get" and isinstance(call, ast.Call) and call.func is parent:
                first = call.args[0] if call.args else None
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    keys.add(first.value)
                else:
                    opaque = True
            elif parent.attr in ("items", "values", "keys", "copy", "model_dump", "dict", "__dict__"):
                opaque = True
            else:
                keys.add(parent.attr)
        elif isinstance(parent, (ast.Call, ast.keyword, ast.Starred)):
            call = parent if isinstance(parent, ast.Call) else parents.get(parent)
            if isinstance(parent, ast.Starred) or not isinstance(call, ast.Call):
                opaque = True
                continue
            if _call_name(call.func) == "getattr" and len(call.args) > 1 and call.args[0] is node:
                name = call.args[1]
                if isinstance(name, ast.Constant) and isinstance(name.value, str):
                    keys.add(name.value)
                else:
                    opaque = True
                continue
            if _call_name(call.func) in BENIGN_CALLS or _is_logging(call.func):
                continue
            if isinstance(call.func, ast.Attribute) and _is_self(call.func.value) and call.func.attr in store_methods:
                continue  # handed on to another store method: read (or not) there
            target = model.resolve(module, call.func, function)
            if target is None or not target.is_function or target.module is None:
                opaque = True
                continue
            for argument, name in _call_arguments(call, target.node):
                if argument is node:
                    found, hidden = _context_reads(model, target.module, target.node, name, seen, store_methods, depth + 1)
                    keys |= found
                    opaque = opaque or hidden
        elif isinstance(parent, (ast.Compare, ast.BoolOp, ast.UnaryOp, ast.If, ast.IfExp, ast.Expr, ast.FormattedValue)):
            continue  # `if context is None`, `if not context`, a log line
        else:
            opaque = True  # stored, aliased or returned: read elsewhere
    return keys, opaque


def _is_logging(func: ast.AST) -> bool:
    return isinstance(func, ast.Attribute) and func.attr in ("debug", "info", "warning", "error", "exception", "critical")


def _call_arguments(call: ast.Call, function: ast.AST):
    """(argument, parameter name) pairs of a call of a project def (a method called on an object skips `self`)."""
    positional = [*function.args.posonlyargs, *function.args.args]
    if isinstance(call.func, ast.Attribute) and positional and positional[0].arg in ("self", "cls"):
        positional = positional[1:]
    for argument, parameter in zip(call.args, positional):
        yield argument, parameter.arg
    names = {a.arg for a in [*positional, *function.args.kwonlyargs]}
    for keyword in call.keywords:
        if keyword.arg in names:
            yield keyword.value, keyword.arg


# ---------------------------------------------------------------------------------------------------------------------
# how the app is started (CK308)
# ---------------------------------------------------------------------------------------------------------------------

PRODUCTION_KINDS = ("dockerfile", "compose", "procfile", "platform")
WORKLOADS = re.compile(rb"(?m)^\s*kind:\s*[\"']?(Deployment|StatefulSet|DaemonSet|Pod|Job|CronJob|ReplicaSet)\b")


@dataclass
class Launcher:
    source: Path  # the file that starts the app (Dockerfile, Procfile, compose, manifest, platform file, script)
    line: int
    command: str
    production: bool
    workers: int
    entries: list[Path]  # Python files the command starts


def launchers(pctx: ProjectContext) -> list[Launcher]:
    """The commands that start the project's Python apps: production ones (Dockerfile `CMD`/`ENTRYPOINT`, compose,
    Procfile, platform files, Kubernetes manifests, supervisord programs, Vercel functions) and development scripts,
    each with the Python files it runs (through the shell scripts and Python launchers it calls)."""
    cached = pctx.memo.get("launchers")
    if cached is not None:
        return cached
    project = pctx.project
    found: list[Launcher] = []
    for path in project.files:
        kind = file_kind(path)
        name = path.name.lower()
        if kind is None and not name.endswith((".yaml", ".yml", ".conf", ".ini")) and name != "vercel.json":
            continue
        try:
            text = project.read_bytes(path).decode("utf-8", "replace")
        except OSError:
            continue
        for argv, production, start, folder in _start_commands(pctx, path, kind, text):
            found += _launched(pctx, path, argv, production, text.count("\n", 0, start) + 1, folder=folder)
        if name == "vercel.json":
            found += _vercel_functions(pctx, path, text)
    # uvicorn.run("app.main:app", workers=4) in Python launchers: several workers, development or not
    for path in project.grep(b"workers", "python"):
        ctx = pctx.parsed(path)
        if ctx is None:
            continue
        for call in ctx.calls_to("uvicorn", "run"):
            workers_kw = next((k for k in call.keywords if k.arg == "workers"), None)
            if workers_kw is None or not isinstance(workers_kw.value, ast.Constant) or not isinstance(workers_kw.value.value, int):
                continue
            target = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "app"), None)
            entries = [path]
            if isinstance(target, ast.Constant) and isinstance(target.value, str):
                entries += _resolve_module_from(pctx, [path.parent], target.value.split(":", 1)[0])
            found.append(Launcher(path, call.lineno, ctx.segment(call), False, workers_kw.value.value, entries))
    pctx.memo["launchers"] = found
    return found


def _start_commands(pctx: ProjectContext, path: Path, kind: str | None, text: str):
    """(argv, production, offset, folder it runs in or None) of each command a file starts."""
    if kind in PRODUCTION_KINDS or kind == "shell":
        commands = commands_in(path, text)
        for command in commands:
            yield command.argv, command.production and kind != "shell", command.start, None
        if kind == "dockerfile":  # ENTRYPOINT ["/entrypoint.sh"] + CMD ["web"]: the entrypoint runs with the CMD
            by_instruction = {_instruction(text, c.start): c for c in commands}
            entry, cmd = by_instruction.get("ENTRYPOINT"), by_instruction.get("CMD")
            if entry is not None and cmd is not None:
                yield entry.argv + cmd.argv, entry.production, entry.start, None
    elif path.name.lower().endswith((".yaml", ".yml")) and WORKLOADS.search(text.encode("utf-8", "replace")):
        # a Kubernetes workload: a container's `command` and the `args` after it make one command line
        pending: tuple[list[str], int] | None = None
        for command in yaml_commands(path, text, ("command", "args"), "manifest"):
            key = text[text.rfind("\n", 0, command.start) + 1:command.start]
            if "command" in key:
                if pending is not None:
                    yield pending[0], True, pending[1], None
                pending = (command.argv, command.start)
            elif pending is not None:
                yield pending[0] + command.argv, True, pending[1], None
                pending = None
            else:
                yield command.argv, True, command.start, None
        if pending is not None:
            yield pending[0], True, pending[1], None
    elif "[program:" in text:  # supervisord: each program's command, run in its `directory`
        for program in re.split(r"(?m)^(?=\s*\[)", text):
            command = re.search(r"(?m)^\s*command\s*=\s*(.+?)\s*$", program)
            if command is None:
                continue
            directory = re.search(r"(?m)^\s*directory\s*=\s*(.+?)\s*$", program)
            folder = _project_folder(pctx, path, directory.group(1)) if directory is not None else None
            yield split_argv(command.group(1)), True, text.find(program) + command.start(1), folder


def _instruction(text: str, offset: int) -> str:
    line = text[text.rfind("\n", 0, offset) + 1:offset].strip()
    return line.split()[0].upper() if line else ""


def _launched(pctx: ProjectContext, source: Path, argv: list[str], production: bool, line: int,
              depth: int = 0, folder: Path | None = None) -> list[Launcher]:
    """What one command runs: the app an ASGI server serves, a Python script or module, or a shell script's own
    server commands (the `case` branch the command's argument selects)."""
    bases = [folder, source.parent] if folder is not None else [source.parent]
    found: list[Launcher] = []
    server = server_argv(argv)
    shown = " ".join(argv)
    if server:
        app_dir = next((server[i + 1] for i, w in enumerate(server[:-1]) if w in ("--app-dir", "--chdir")), None)
        if app_dir is not None:
            bases.insert(0, (source.parent / app_dir).resolve())
        entries: list[Path] = []
        target = app_target(argv)
        if target is not None:
            entries = _resolve_module_from(pctx, bases, target.split(":", 1)[0])
        elif Path(server[0]).name == "fastapi":
            files = [w for w in server[2:] if w.endswith(".py")]
            entries = [f for f in (_project_file(pctx, source, files[0]),) if f is not None] if files else []
        if entries:
            found.append(Launcher(source, line, shown, production, workers(argv) or 1, entries))
        return found
    script = python_script(argv)
    if script is not None:
        kind, name = script
        entry = _project_file(pctx, source, name) if kind == "file" else next(iter(_resolve_module_from(pctx, bases, name)), None)
        if entry is not None:
            found.append(Launcher(source, line, shown, production, 1, [entry]))
            if depth == 0:  # a start script that runs the server itself: os.system("uvicorn main:app ...")
                text = pctx.project.read_bytes(entry).decode("utf-8", "replace")
                for string in re.findall(r"""["']([^"'\n]*(?:uvicorn|gunicorn|hypercorn)[^"'\n]*)["']""", text):
                    found += _launched(pctx, entry, split_argv(string), production, line, depth + 1)
        return found
    shell = shell_script(argv)
    if shell is not None and depth < 2:
        script_path = _project_file(pctx, source, shell)
        if script_path is not None:
            text = pctx.project.read_bytes(script_path).decode("utf-8", "replace")
            following = argv[argv.index(shell) + 1:] if shell in argv else []
            branch = _case_branch(text, following[0]) if following else None
            for command in commands_in(script_path, branch if branch is not None else text):
                found += _launched(pctx, source, command.argv, production, line, depth + 1)
    return found


def _case_branch(script: str, argument: str) -> str | None:
    """The body of the `case` branch of a shell script that `argument` selects (`fastapi)` ... `;;`), if any."""
    for match in re.finditer(r"(?m)^\s*\(?([\w|*.-]+)\)\s*$", script):
        patterns = match.group(1).split("|")
        if argument in patterns:
            end = script.find(";;", match.end())
            return script[match.end():end if end >= 0 else len(script)]
    return None


CONTAINER_ROOTS = ("./", "/app/", "/code/", "/srv/", "/usr/src/app/", "/opt/app/")


def _project_folder(pctx: ProjectContext, source: Path, named: str) -> Path | None:
    """The project folder a container path names (`/app/backend` -> backend/ next to the file or at the root)."""
    cleaned = named.replace("\\", "/").rstrip("/") + "/"
    for prefix in CONTAINER_ROOTS:
        cleaned = cleaned.removeprefix(prefix)
    cleaned = cleaned.strip("/")
    for root in (source.parent, pctx.project.root):
        candidate = (root / cleaned).resolve() if cleaned else root
        if candidate.is_dir():
            return candidate
    return None


def _project_file(pctx: ProjectContext, source: Path, named: str) -> Path | None:
    """The project file a command names: relative to the command's folder or the project, after a container's
    usual work directories (`/app/`), or the one file ending so."""
    cleaned = named.replace("\\", "/")
    for prefix in CONTAINER_ROOTS:
        cleaned = cleaned.removeprefix(prefix)
    cleaned = cleaned.lstrip("/")
    files = pctx.project.files
    known = set(files)
    for root in (source.parent, pctx.project.root):
        candidate = (root / cleaned).resolve()
        if candidate in known:
            return candidate
    matches = [f for f in files if f.as_posix().endswith("/" + cleaned)]
    near = [f for f in matches if source.parent in f.parents]
    chosen = near or matches
    return chosen[0] if len(chosen) == 1 else None


def _vercel_functions(pctx: ProjectContext, config: Path, text: str) -> list[Launcher]:
    """Vercel serves every Python file under `api/` next to its vercel.json (and the `src` builds it names)."""
    found: list[Launcher] = []
    folder = config.parent
    api = folder / "api"
    for path in pctx.project.files_under(api, "python") if api.is_dir() else ():
        found.append(Launcher(config, 1, f"vercel function {path.relative_to(folder).as_posix()}", True, 1, [path]))
    for match in re.finditer(r'"src"\s*:\s*"([^"]+\.py)"', text):
        entry = folder / match.group(1)
        if entry.is_file() and api not in entry.parents:
            found.append(Launcher(config, text.count("\n", 0, match.start()) + 1, match.group(1), True, 1, [entry]))
    return found


def _resolve_module_from(pctx: ProjectContext, bases: list[Path], module: str) -> list[Path]:
    for base in bases:
        resolved = pctx.model.services.resolve_from(module, base)
        if resolved is not None:
            return [resolved]
    return []


def reachable_files(pctx: ProjectContext, entries: Iterable[Path], within: Path | None = None) -> set[Path]:
    """Project Python files imported, directly or not, by the entry files (lazy imports count); `within` bounds the
    walk to one folder, e.g. a launcher's build context. Launchers starting the same files share one walk."""
    key = (frozenset(p.resolve() for p in entries), within.resolve() if within is not None else None)
    known = pctx.memo.setdefault("reachable_files", {})
    if key not in known:
        known[key] = pctx.model.reachable(sorted(key[0]), key[1])
    return known[key]
