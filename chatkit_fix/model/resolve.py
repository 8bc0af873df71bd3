"""What an expression names: a definition in the project, an instance of a project class, or an installed name.

Resolution follows imports (re-exports included) into the modules of the importer's own service, module-level
assignments, factory functions that return an instance, `self.x` set in any method of the class, and parameters
annotated with a project class. It gives up (None) rather than guess: rules read "unknown" as "not proven".
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from ..pyast import resolve_relative, walk
from ..scope import STACK
from .modules import FUNCTION_TYPES, Module, own_nodes

MAX_DEPTH = 8


@dataclass(frozen=True, eq=False)
class Ref:
    """One meaning of an expression.

    - a project module: `module` set, `node` None;
    - a project def or class: `node` is the FunctionDef/ClassDef, `instance` True for an instance of that class;
    - a project value nobody can name further: `node` is the expression (a literal, a call of an installed class);
    - an installed name: `external` is its dotted name (`chatkit.store.Store`), `instance` True for the value a call
      of it returned (`sqlite3.connect(...)` is an instance of `sqlite3.connect`).
    """

    module: Module | None = None
    node: ast.AST | None = None
    external: str = ""
    instance: bool = False

    @property
    def is_class(self) -> bool:
        return isinstance(self.node, ast.ClassDef)

    @property
    def is_function(self) -> bool:
        return isinstance(self.node, FUNCTION_TYPES)

    def names(self, package: str, symbol: str) -> bool:
        """An installed `package` symbol, through any re-export path (`agents.run.Runner` is `agents.Runner`)."""
        name = self.external
        return name == f"{package}.{symbol}" or (name.startswith(package + ".") and name.endswith("." + symbol))


class Resolver:
    """Resolution over the model's modules; one per model, caching what module-level names mean."""

    def __init__(self, model):
        self.model = model
        self._lookups: dict[tuple[int, str], Ref | None] = {}
        self._cut = False  # a resolution gave up at MAX_DEPTH: what it found is not cached (another path may get there)

    def _too_deep(self, depth: int) -> bool:
        if depth > MAX_DEPTH:
            self._cut = True
            return True
        return False

    # ---- names of modules ----------------------------------------------------------------------------------------

    def qualified(self, dotted: str, importer: Module, depth: int = 0) -> Ref | None:
        """`app.store.MyStore` as `importer` would import it: a project module, a member of one, or installed."""
        if self._too_deep(depth) or not dotted:
            return None
        model = self.model
        target = model.module_named(dotted, importer.path)
        if target is not None:
            return Ref(module=target)
        owner, _, attribute = dotted.rpartition(".")
        while owner:
            holder = model.module_named(owner, importer.path)
            if holder is not None:
                found = self.member(Ref(module=holder), attribute, depth + 1)
                if found is None and dotted.partition(".")[0] in STACK:
                    # an application package named like the SDK (`app/chatkit/`) that lacks the name: the import
                    # reaches the installed SDK, as it does when the application runs from above that package
                    return Ref(external=dotted)
                return found
            if model.services.is_project_package(owner, importer.path):
                return None  # a project package without that module: a broken import, not an installed name
            owner, _, head = owner.rpartition(".")
            attribute = f"{head}.{attribute}"
        if model.services.is_project_package(dotted, importer.path):
            return None
        return Ref(external=dotted)

    def lookup(self, module: Module, name: str, depth: int = 0) -> Ref | None:
        """A module-level name of `module`: its own definition, else what its imports bind."""
        key = (id(module), name)
        if key in self._lookups:
            return self._lookups[key]
        self._lookups[key] = None  # a cycle of re-exports resolves to nothing
        outer_cut, self._cut = self._cut, False
        found = self._lookup(module, name, depth)
        if self._cut:
            del self._lookups[key]  # cut short by the depth of this path, not an answer for every path
        else:
            self._lookups[key] = found
        self._cut = self._cut or outer_cut
        return found

    def _lookup(self, module: Module, name: str, depth: int) -> Ref | None:
        bindings = module.top_level.get(name)
        if bindings:
            definitions = [b for b in bindings if isinstance(b, (*FUNCTION_TYPES, ast.ClassDef))]
            if definitions:
                return Ref(module=module, node=definitions[0])
            return self.expression(module, bindings[-1], None, depth + 1) or Ref(module=module, node=bindings[-1])
        for qualified in sorted(module.imports.names.get(name, ())):
            found = self.qualified(qualified, module, depth + 1)
            if found is not None:
                return found
        return None

    # ---- members -------------------------------------------------------------------------------------------------

    def member(self, owner: Ref, attribute: str, depth: int = 0) -> Ref | None:
        if self._too_deep(depth):
            return None
        if owner.external:
            return Ref(external=f"{owner.external}.{attribute}", instance=owner.instance)
        if owner.module is not None and owner.node is None:
            return self.lookup(owner.module, attribute, depth + 1)
        if owner.is_class:
            found = self.class_member(owner.module, owner.node, attribute, depth + 1)
            if found is not None and owner.instance and found.is_function:
                return found  # a bound method: the same def
            return found
        return None

    def class_member(self, module: Module, cls: ast.ClassDef, attribute: str, depth: int = 0) -> Ref | None:
        """A method or attribute of a project class, its project bases included; `self.x = ...` in any method counts."""
        for holder_module, holder in self.mro(module, cls):
            for statement in holder.body:
                if isinstance(statement, (*FUNCTION_TYPES, ast.ClassDef)) and statement.name == attribute:
                    return Ref(module=holder_module, node=statement)
                if isinstance(statement, (ast.Assign, ast.AnnAssign)):
                    targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                    if any(isinstance(t, ast.Name) and t.id == attribute for t in targets) and statement.value:
                        return self.expression(holder_module, statement.value, None, depth + 1) or Ref(
                            module=holder_module, node=statement.value
                        )
            value = self.instance_attribute(holder_module, holder, attribute)
            if value is not None:
                return self.expression(holder_module, value[1], value[0], depth + 1) or Ref(
                    module=holder_module, node=value[1]
                )
        return None

    def instance_attribute(self, module: Module, cls: ast.ClassDef, attribute: str):
        """(method, value) of the first `self.<attribute> = value` in the class's own methods (`__init__` first).
        Read in one pass over the class and kept on its node."""
        table = cls.__dict__.get("_chatkit_fix_attributes")
        if table is None:
            table = cls._chatkit_fix_attributes = _instance_attributes(cls)
        return table.get(attribute)

    def mro(self, module: Module, cls: ast.ClassDef, depth: int = 0):
        """The class and its project bases, depth first (installed bases end the walk)."""
        yield module, cls
        if self._too_deep(depth):
            return
        for base in cls.bases:
            found = self.expression(module, _unsubscript(base), None, depth + 1)
            if found is not None and found.is_class and not found.instance:
                yield from self.mro(found.module, found.node, depth + 1)

    def bases(self, module: Module, cls: ast.ClassDef) -> list[Ref]:
        """Every base up the project hierarchy, installed ones as external refs (`chatkit.store.Store`)."""
        found: list[Ref] = []
        for holder_module, holder in self.mro(module, cls):
            for base in holder.bases:
                ref = self.expression(holder_module, _unsubscript(base), None)
                if ref is not None:
                    found.append(ref)
        return found

    def subclass_of(self, module: Module, cls: ast.ClassDef, package: str, symbol: str) -> bool:
        return any(base.external and base.names(package, symbol) for base in self.bases(module, cls))

    # ---- where values come from ---------------------------------------------------------------------------------

    def value_site(self, module: Module, expr: ast.AST | None, scope: ast.AST | None, depth: int = 0):
        """(module, node) of the expression that produced `expr`'s value: names and attributes are followed through
        assignments, imports, `self.x = ...` and factory functions down to a call, a literal or a def. The same
        object met through different names has the same site: that is how two mentions of one app are matched."""
        if expr is None or depth > MAX_DEPTH:
            return None
        if isinstance(expr, ast.Await):
            return self.value_site(module, expr.value, scope, depth + 1)
        if isinstance(expr, ast.Name):
            function = scope
            while function is not None:
                local = local_binding(function, expr.id, module)
                if local is not None:
                    kind, value = local
                    if kind == "def":
                        return module, value
                    if kind == "value":
                        return self.value_site(module, value, function, depth + 1)
                    return None
                function = module.enclosing(function)
            return self._module_value_site(module, expr.id, depth + 1)
        if isinstance(expr, ast.Attribute):
            holder = expr.value
            if isinstance(holder, ast.Name) and scope is not None and _is_receiver(scope, holder.id):
                cls = module.enclosing_class(scope)
                found = self.instance_attribute(module, cls, expr.attr) if cls is not None else None
                if found is not None:
                    return self.value_site(module, found[1], found[0], depth + 1)
                return None
            owner = self.expression(module, holder, scope, depth + 1)
            if owner is not None and owner.module is not None and owner.node is None:
                return self._module_value_site(owner.module, expr.attr, depth + 1)
            return None
        if isinstance(expr, ast.Call):
            callee = self.expression(module, expr.func, scope, depth + 1)
            if callee is not None and callee.is_function:
                returned = [n.value for n in own_nodes(callee.node) if isinstance(n, ast.Return) and n.value is not None]
                sites = {id(s[1]): s for s in (self.value_site(callee.module, v, callee.node, depth + 1) for v in returned) if s}
                if len(sites) == 1:
                    return next(iter(sites.values()))
            return module, expr
        return module, expr

    def _module_value_site(self, module: Module, name: str, depth: int):
        bindings = module.top_level.get(name)
        if bindings:
            definitions = [b for b in bindings if isinstance(b, (*FUNCTION_TYPES, ast.ClassDef))]
            if definitions:
                return module, definitions[0]
            return self.value_site(module, bindings[-1], None, depth + 1)
        for qualified in sorted(module.imports.names.get(name, ())):
            owner, _, attribute = qualified.rpartition(".")
            holder = self.model.module_named(owner, module.path) if owner else None
            if holder is not None:
                return self._module_value_site(holder, attribute, depth + 1)
        return None

    # ---- expressions ---------------------------------------------------------------------------------------------

    def expression(self, module: Module, expr: ast.AST | None, scope: ast.AST | None, depth: int = 0) -> Ref | None:
        """What `expr` (inside function `scope`, or at module level) refers to or evaluates to."""
        if expr is None or self._too_deep(depth):
            return None
        if isinstance(expr, ast.Await):
            return self.expression(module, expr.value, scope, depth + 1)
        if isinstance(expr, ast.Name):
            return self._name(module, expr.id, scope, depth)
        if isinstance(expr, ast.Attribute):
            holder = expr.value
            if isinstance(holder, ast.Name) and scope is not None and _is_receiver(scope, holder.id):
                cls = module.enclosing_class(scope)
                if cls is not None:
                    return self.class_member(module, cls, expr.attr, depth + 1)
            owner = self.expression(module, holder, scope, depth + 1)
            if owner is not None:
                return self.member(owner, expr.attr, depth + 1)
            return None
        if isinstance(expr, ast.Call):
            if isinstance(expr.func, ast.Name) and expr.func.id == "cls" and _is_receiver(scope, "cls"):
                cls = module.enclosing_class(scope)  # `cls(...)` in a classmethod builds an instance of its class
                return Ref(module=module, node=cls, instance=True) if cls is not None else None
            callee = self.expression(module, expr.func, scope, depth + 1)
            return self.call_result(callee, depth + 1)
        if isinstance(expr, ast.Subscript):  # `Store[dict]` used as the class, never `items[0]`
            holder = self.expression(module, expr.value, scope, depth + 1)
            return holder if holder is not None and holder.is_class and not holder.instance else None
        return None

    def call_result(self, callee: Ref | None, depth: int = 0) -> Ref | None:
        """The value a call of `callee` gives: an instance of a class, what a project function returns."""
        if callee is None or self._too_deep(depth):
            return None
        if callee.external:
            return Ref(external=callee.external, instance=True)
        if callee.is_class and not callee.instance:
            return Ref(module=callee.module, node=callee.node, instance=True)
        if callee.is_function and callee.node.returns is not None:  # `def get_settings() -> Settings`
            annotated = self.expression(callee.module, callee.node.returns, None, depth + 1)
            if annotated is not None and annotated.is_class and not annotated.instance:
                return Ref(module=annotated.module, node=annotated.node, instance=True)
        if callee.is_function:
            returned = [
                node.value for node in own_nodes(callee.node)
                if isinstance(node, ast.Return) and node.value is not None
            ]
            results = {id(r): r for r in (self.expression(callee.module, v, callee.node, depth + 1) for v in returned) if r}
            if len(results) == 1:
                return next(iter(results.values()))
        return None

    def _name(self, module: Module, name: str, scope: ast.AST | None, depth: int) -> Ref | None:
        function = scope
        while function is not None:
            local = local_binding(function, name, module)
            if local is not None:
                kind, value = local
                if kind == "def":
                    return Ref(module=module, node=value)
                if kind == "annotation":
                    found = self.expression(module, value, None, depth + 1)
                    if found is not None and found.is_class:
                        return Ref(module=found.module, node=found.node, instance=True)
                    return None
                if kind == "value":
                    return self.expression(module, value, function, depth + 1)
                if kind == "import":
                    return self.qualified(value, module, depth + 1)
                return None  # bound, but to something we cannot follow (a loop variable, several values)
            function = module.enclosing(function)
        return self.lookup(module, name, depth + 1)


def local_binding(function: ast.AST, name: str, module: Module | None = None):
    """How `name` is bound inside `function` (see `_Locals.binding`); the function's bindings are read in one pass
    and kept on its node (a tree is never edited: a changed file is parsed again)."""
    found = function.__dict__.get("_chatkit_fix_locals")
    if found is None:
        found = function._chatkit_fix_locals = _Locals(function, module)
    return found.binding(name)


class _Locals:
    """How each name is bound inside one function, gathered in one pass over its body (a lookup per name would read
    the whole body again: quadratic in the size of the function)."""

    def __init__(self, function: ast.AST, module: Module | None = None):
        self.parameters: dict[str, ast.arg] = {}
        self.definitions: dict[str, ast.AST] = {}
        self.values: dict[str, list[ast.AST]] = {}
        self.opaque: set[str] = set()
        self.imported: dict[str, list[str]] = {}  # lazy imports inside the function: local name -> dotted names
        arguments = function.args if isinstance(function, (*FUNCTION_TYPES, ast.Lambda)) else None
        if arguments is not None:
            for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]:
                if arg is not None:
                    self.parameters.setdefault(arg.arg, arg)
        for node in own_nodes(function):
            if isinstance(node, FUNCTION_TYPES + (ast.ClassDef,)):
                self.definitions.setdefault(node.name, node)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        self.values.setdefault(target.id, []).append(node.value)
                    elif isinstance(target, (ast.Tuple, ast.List)):
                        self.opaque.update(e.id for e in target.elts if isinstance(e, ast.Name))
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
                target = node.target
                if isinstance(target, ast.Name):
                    if isinstance(node, ast.AnnAssign) and node.value is not None:
                        self.values.setdefault(target.id, []).append(node.value)
                    else:
                        self.opaque.add(target.id)
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)):
                self.opaque.update(n.id for n in walk(node.target) if isinstance(n, ast.Name))
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if isinstance(item.optional_vars, ast.Name):
                        self.values.setdefault(item.optional_vars.id, []).append(item.context_expr)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    local = alias.asname or alias.name.split(".")[0]
                    self.imported.setdefault(local, []).append(_imported_name(node, alias, module))

    def binding(self, name: str):
        """("def", node), ("value", expr) when assigned exactly once, ("annotation", annotation) for an annotated
        parameter, ("import", dotted name) for a lazy import, ("opaque", None) otherwise; None when the function does
        not bind `name`."""
        arg = self.parameters.get(name)
        if arg is not None:
            return ("annotation", arg.annotation) if arg.annotation is not None else ("opaque", None)
        if name in self.definitions:
            return "def", self.definitions[name]
        values = self.values.get(name, [])
        imported = self.imported.get(name, [])
        if imported and not values and name not in self.opaque and len(set(imported)) == 1 and imported[0]:
            return "import", imported[0]
        if name in self.opaque or imported or len(values) > 1:
            return "opaque", None
        if values:
            return "value", values[0]
        return None


def _instance_attributes(cls: ast.ClassDef) -> dict[str, tuple[ast.AST, ast.AST]]:
    methods = [s for s in cls.body if isinstance(s, FUNCTION_TYPES)]
    methods.sort(key=lambda m: m.name != "__init__")
    table: dict[str, tuple[ast.AST, ast.AST]] = {}
    for method in methods:
        if not method.args.args:
            continue
        me = method.args.args[0].arg
        for node in own_nodes(method):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == me:
                        table.setdefault(target.attr, (method, node.value))
    return table


def _imported_name(node: ast.Import | ast.ImportFrom, alias: ast.alias, module: Module | None) -> str:
    """The dotted name an import binds (`from .tools import set_context` inside `app.server` -> `app.tools.set_context`)."""
    if isinstance(node, ast.Import):
        return alias.name if alias.asname else alias.name.split(".")[0]
    if module is None and node.level:
        return ""
    source = resolve_relative(module.name if module else "", node.level, node.module, module.is_package if module else False)
    return f"{source}.{alias.name}" if source else alias.name


def _is_receiver(scope: ast.AST, name: str) -> bool:
    """`self` or `cls`: the first parameter of a method."""
    if not isinstance(scope, FUNCTION_TYPES) or not scope.args.args:
        return False
    return scope.args.args[0].arg == name and name in ("self", "cls")


def _unsubscript(expr: ast.AST) -> ast.AST:
    """`Store[dict]` -> `Store`."""
    while isinstance(expr, ast.Subscript):
        expr = expr.value
    return expr
