"""What the app reads from its environment, found through the application model (nothing of the app is imported).

- environment reads: `os.environ[...]`, `os.getenv`/`os.environ.get` (and `... or DEFAULT`), python-decouple's
  `config(...)`, and the fields of pydantic `BaseSettings` classes (their prefix and aliases);
- where a value the app uses comes from: `source_of(model, module, expr, scope)` follows an expression through names,
  imports, helper returns and settings fields to the variable (or literal) that produced it. It is how the JWT secret
  goes only into the variable the token check reads, and how an OpenAI client's `base_url` variable is found;
- `.env` files and their `.env.example` siblings.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..model import FUNCTION_TYPES, Module, own_nodes
from ..pyast import call_argument, walk

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ENV_READERS = {"os.getenv", "os.environ.get", "os.environ.setdefault", "os.environ.pop", "decouple.config"}
SETTINGS_BASES = (("pydantic_settings", "BaseSettings"), ("pydantic", "BaseSettings"))
# methods that hand on the same value (or its parts): the variable it came from is still the one to set
VALUE_UNWRAPS = {"get_secret_value", "encode", "strip", "decode", "split", "lower", "upper", "rstrip", "lstrip"}
EXAMPLE_FILES = (".env.example", ".env.sample", ".env.template", "env.example", ".env.local.example", "example.env")


@dataclass(frozen=True)
class Source:
    """Where a value comes from: an environment variable (`name`, with the default the code falls back to), or a
    literal in the code (`literal`). `where` is file:line of the read."""

    name: str | None = None
    default: str | None = None
    literal: str | None = None
    where: str = ""


def _string(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


class Environment:
    """Environment reads of a set of modules (one app's), and the sources of the values the app uses."""

    def __init__(self, model, modules: list[Module], root: Path):
        self.model = model
        self.modules = modules
        self.root = root
        self._settings: dict[int, dict[str, tuple[str, str | None]]] = {}
        self._calls_of: dict[int, list[tuple[Module, ast.Call]]] = {}

    def where(self, module: Module, node: ast.AST) -> str:
        try:
            relative = module.path.relative_to(self.root).as_posix()
        except ValueError:
            relative = str(module.path)
        return f"{relative}:{getattr(node, 'lineno', 0)}"

    # ---- reads ---------------------------------------------------------------------------------------------------

    def reads(self) -> dict[str, str | None]:
        """Every variable the modules read, with the default the code falls back to (None: none, or not a string)."""
        found: dict[str, str | None] = {}
        for module in self.modules:
            for source in self._module_reads(module):
                if source.name and (found.get(source.name) is None):
                    found[source.name] = source.default
        return found

    def required(self) -> set[str]:
        """Variables the app cannot start without: `os.environ["X"]` reads, and settings fields with no default."""
        found: set[str] = set()
        for module in self.modules:
            for node in walk(module.tree):
                if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
                    source = self._read(module, node, module.enclosing(node))
                    if source is not None and source.name:
                        found.add(source.name)
                elif isinstance(node, ast.ClassDef) and self._is_settings(module, node):
                    found.update(self._required_fields(module, node))
        return found

    def _required_fields(self, module: Module, cls: ast.ClassDef) -> set[str]:
        names = self.settings_fields(module, cls)
        required: set[str] = set()
        for _, holder in self.model.resolver.mro(module, cls):
            for statement in holder.body:
                if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
                    continue
                value = statement.value
                is_field = isinstance(value, ast.Call) and getattr(value.func, "id", getattr(value.func, "attr", "")) == "Field"
                if value is None or (is_field and call_argument(value, 0, "default") is None
                                     and not any(k.arg == "default_factory" for k in value.keywords)):
                    if statement.target.id in names:
                        required.add(names[statement.target.id][0])
        return required

    def _module_reads(self, module: Module) -> Iterator[Source]:
        for node in walk(module.tree):
            if isinstance(node, (ast.Call, ast.Subscript)):
                source = self._read(module, node, module.enclosing(node))
                if source is not None:
                    yield source
            elif isinstance(node, ast.ClassDef) and self._is_settings(module, node):
                for name, (variable, default) in self.settings_fields(module, node).items():
                    yield Source(variable, default, where=self.where(module, node))

    def _read(self, module: Module, node: ast.AST, scope: ast.AST | None, bindings=None) -> Source | None:
        """`os.getenv("X", "d")`, `os.environ["X"]`, `config("X", default="d")`: the variable and its default (the
        name may be a parameter a caller gave a literal: `_required("X")`)."""
        if isinstance(node, ast.Subscript):
            holder = self.model.resolve(module, node.value, scope)
            name = self._literal(node.slice, scope, bindings)
            if holder is not None and holder.external == "os.environ" and name and ENV_NAME.match(name):
                return Source(name, None, where=self.where(module, node))
            return None
        if not isinstance(node, ast.Call) or not node.args:
            return None
        name = self._literal(node.args[0], scope, bindings)
        if not name or not ENV_NAME.match(name):
            return None
        function = self.model.resolve(module, node.func, scope)
        if function is None or function.external not in ENV_READERS:
            return None
        default = _string(call_argument(node, 1, "default"))
        parent = module.parents.get(node)
        if default is None and isinstance(parent, ast.BoolOp) and isinstance(parent.op, ast.Or):
            default = next((s for s in (_string(v) for v in parent.values if v is not node) if s is not None), None)
        return Source(name, default, where=self.where(module, node))

    @staticmethod
    def _literal(node: ast.AST, scope: ast.AST | None, bindings) -> str | None:
        if isinstance(node, ast.Name) and bindings:
            bound = bindings.get((id(scope), node.id))
            return _string(bound[1]) if bound is not None else None
        return _string(node)

    # ---- settings classes ------------------------------------------------------------------------------------------

    def _is_settings(self, module: Module, cls: ast.ClassDef) -> bool:
        return any(self.model.resolver.subclass_of(module, cls, package, name) for package, name in SETTINGS_BASES)

    def settings_fields(self, module: Module, cls: ast.ClassDef) -> dict[str, tuple[str, str | None]]:
        """field -> (environment variable, literal default) of a pydantic settings class, its project bases included:
        the prefix of `model_config`/`class Config` and `Field(alias=..., validation_alias=...)` are honoured."""
        key = id(cls)
        if key in self._settings:
            return self._settings[key]
        fields: dict[str, tuple[str, str | None]] = {}
        prefix = ""
        for holder_module, holder in reversed(list(self.model.resolver.mro(module, cls))):
            prefix = _env_prefix(holder) or prefix
            for statement in holder.body:
                if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
                    continue
                name = statement.target.id
                if name.startswith("_") or name == "model_config":
                    continue
                default, alias = statement.value, None
                if isinstance(default, ast.Call) and getattr(default.func, "id", getattr(default.func, "attr", "")) == "Field":
                    alias = next((_string(k.value) for k in default.keywords
                                  if k.arg in ("validation_alias", "alias", "env") and _string(k.value)), None)
                    default = call_argument(default, 0, "default")
                fields[name] = (alias or f"{prefix}{name}".upper(), _string(default))
        self._settings[key] = fields
        return fields

    # ---- where a value comes from ----------------------------------------------------------------------------------

    def source_of(self, module: Module, expr: ast.AST | None, scope: ast.AST | None, depth: int = 0,
                  bindings: dict | None = None) -> Source | None:
        """The variable (or literal) a value comes from, followed through names, imports, helper calls (their
        parameters bound to the caller's arguments), a function's callers, settings fields, the keyword a constructor
        got for an attribute, and `.get_secret_value()`-style wrappers; None when the flow is lost."""
        if expr is None or depth > 12:
            return None
        bindings = bindings or {}
        if isinstance(expr, ast.Constant):
            return Source(literal=expr.value, where=self.where(module, expr)) if isinstance(expr.value, str) else None
        if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute) and expr.func.attr in VALUE_UNWRAPS:
            return self.source_of(module, expr.func.value, scope, depth + 1, bindings)
        if isinstance(expr, ast.Call) and getattr(expr.func, "id", "") in ("str", "list") and len(expr.args) == 1:
            return self.source_of(module, expr.args[0], scope, depth + 1, bindings)
        if isinstance(expr, (ast.ListComp, ast.GeneratorExp, ast.SetComp)):
            return self.source_of(module, expr.generators[0].iter, scope, depth + 1, bindings)
        if isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.Or):
            for value in expr.values:
                found = self.source_of(module, value, scope, depth + 1, bindings)
                if found is not None and found.name:
                    others = (self.source_of(module, v, scope, depth + 1, bindings) for v in expr.values if v is not value)
                    literal = next((o.literal for o in others if o is not None and o.literal is not None), None)
                    return Source(found.name, found.default or literal, where=found.where)
            return None
        read = self._read(module, expr, scope, bindings)
        if read is not None:
            return read
        if isinstance(expr, ast.Name) and scope is not None:
            parameter = self._parameter(module, expr.id, scope, bindings)
            if parameter is not None:
                return self.source_of(*parameter, depth + 1, bindings)
            local = _local_value(scope, expr.id)
            if local is not None:
                return self.source_of(module, local, scope, depth + 1, bindings)
        if isinstance(expr, ast.Attribute):
            field = self._settings_field(module, expr, scope)
            if field is not None:
                return field
            given = self._constructor_argument(module, expr, scope)
            if given is not None:
                return self.source_of(*given, depth + 1, bindings)
        if isinstance(expr, ast.Call):
            callee = self.model.resolve(module, expr.func, scope)
            if callee is not None and callee.is_function and not callee.external:
                inner = {**bindings, **_bind(callee.node, expr, module, scope)}
                for node in own_nodes(callee.node):
                    if isinstance(node, ast.Return) and node.value is not None:
                        found = self.source_of(callee.module, node.value, callee.node, depth + 1, inner)
                        if found is not None:
                            return found
                return None
        site = self.model.resolver.value_site(module, expr, scope)
        if site is None or site[1] is expr:
            return None
        site_module, node = site
        return self.source_of(site_module, node, site_module.enclosing(node), depth + 1, bindings)

    def _parameter(self, module: Module, name: str, scope: ast.AST, bindings: dict):
        """(module, expression, scope) a parameter stands for: the argument bound by the call being followed, else
        the argument of the first caller of its function found in the app's modules."""
        function = scope
        while function is not None and not (isinstance(function, FUNCTION_TYPES) and _parameter_index(function, name)
                                            is not None):
            if isinstance(function, FUNCTION_TYPES) and _assigned_in(function, name):
                return None
            function = module.enclosing(function)
        if function is None:
            return None
        if (id(function), name) in bindings:
            return bindings[(id(function), name)]
        for caller_module, call in self._callers(module, function):
            argument = _argument_for(function, call, name)
            if argument is not None:
                return caller_module, argument, caller_module.enclosing(call)
        return None

    def _callers(self, module: Module, function: ast.AST) -> list[tuple[Module, ast.Call]]:
        key = id(function)
        if key not in self._calls_of:
            found = []
            needle = getattr(function, "name", "")
            for other in self.modules:
                if needle not in other.text:
                    continue
                for node in walk(other.tree):
                    if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == needle:
                        target = self.model.resolve(other, node.func, other.enclosing(node))
                        if target is not None and target.node is function:
                            found.append((other, node))
            self._calls_of[key] = found
        return self._calls_of[key]

    def _constructor_argument(self, module: Module, attribute: ast.Attribute, scope: ast.AST | None):
        """`settings.jwt_secret` where `settings` was built by `Settings(jwt_secret=...)` (or `cls(...)` in a
        classmethod): that keyword's expression, with its scope."""
        site = self.model.resolver.value_site(module, attribute.value, scope)
        if site is None or not isinstance(site[1], ast.Call):
            return None
        site_module, call = site
        for keyword in call.keywords:
            if keyword.arg == attribute.attr:
                return site_module, keyword.value, site_module.enclosing(call)
        return None

    def _instance_class(self, module: Module, expr: ast.AST, scope: ast.AST | None, depth: int = 0):
        """The project class an expression is an instance of, through calls the resolver leaves as values (a
        function under `@lru_cache` returning `Settings()`)."""
        owner = self.model.resolve(module, expr, scope)
        if owner is None or depth > 3:
            return None
        if owner.is_class:
            return owner
        if isinstance(owner.node, ast.Call) and owner.module is not None:
            callee = self.model.resolve(owner.module, owner.node.func, owner.module.enclosing(owner.node))
            if callee is not None and callee.is_function:
                for node in own_nodes(callee.node):
                    if isinstance(node, ast.Return) and node.value is not None:
                        found = self._instance_class(callee.module, node.value, callee.node, depth + 1)
                        if found is not None:
                            return found
        return None

    def _settings_field(self, module: Module, attribute: ast.Attribute, scope: ast.AST | None) -> Source | None:
        owner = self._instance_class(module, attribute.value, scope)
        if owner is None or not self._is_settings(owner.module, owner.node):
            return None
        field = self.settings_fields(owner.module, owner.node).get(attribute.attr)
        if field is None:
            return None
        return Source(field[0], field[1], where=self.where(module, attribute))


def _local_value(function: ast.AST, name: str) -> ast.AST | None:
    """The value of the one assignment to `name` in a function's own body (None when there are several or none)."""
    values = [node.value for node in own_nodes(function)
              if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None and any(
                  isinstance(t, ast.Name) and t.id == name
                  for t in (node.targets if isinstance(node, ast.Assign) else [node.target]))]
    return values[0] if len(values) == 1 else None


def _parameter_index(function: ast.AST, name: str) -> int | None:
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    for index, arg in enumerate(positional):
        if arg.arg == name:
            return index
    if any(arg.arg == name for arg in arguments.kwonlyargs):
        return -1
    return None


def _assigned_in(function: ast.AST, name: str) -> bool:
    return any(isinstance(node, (ast.Assign, ast.AnnAssign)) and any(
        isinstance(t, ast.Name) and t.id == name for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
    ) for node in own_nodes(function))


def _argument_for(function: ast.AST, call: ast.Call, name: str) -> ast.AST | None:
    index = _parameter_index(function, name)
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    if index is None or index < 0:
        return None
    if function.args.args and function.args.args[0].arg in ("self", "cls") and isinstance(call.func, ast.Attribute):
        index -= 1  # a method called on its instance or class
    if 0 <= index < len(call.args) and not isinstance(call.args[index], ast.Starred):
        return call.args[index]
    return None


def _bind(function: ast.AST, call: ast.Call, module: Module, scope: ast.AST | None) -> dict:
    """(function, parameter) -> (module, argument, scope) for the arguments a call gives a project function."""
    bound = {}
    arguments = function.args
    for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
        value = _argument_for(function, call, arg.arg)
        if value is not None:
            bound[(id(function), arg.arg)] = (module, value, scope)
    return bound


def _env_prefix(cls: ast.ClassDef) -> str | None:
    for statement in cls.body:
        if isinstance(statement, ast.Assign) and any(getattr(t, "id", "") == "model_config" for t in statement.targets):
            value = statement.value
            if isinstance(value, ast.Call):
                found = next((_string(k.value) for k in value.keywords if k.arg == "env_prefix"), None)
                if found is not None:
                    return found
            if isinstance(value, ast.Dict):
                for key, item in zip(value.keys, value.values):
                    if _string(key) == "env_prefix" and _string(item) is not None:
                        return _string(item)
        if isinstance(statement, ast.ClassDef) and statement.name == "Config":
            for inner in statement.body:
                if isinstance(inner, ast.Assign) and any(getattr(t, "id", "") == "env_prefix" for t in inner.targets):
                    return _string(inner.value)
    return None


def enclosing_function(module: Module, node: ast.AST) -> ast.AST | None:
    return module.enclosing(node, FUNCTION_TYPES)


# ---- .env files -----------------------------------------------------------------------------------------------------


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
        if not ENV_NAME.match(key):
            continue
        if value[:1] in {"'", '"'} and value.endswith(value[0]) and len(value) >= 2:
            value = value[1:-1]
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0].strip()
        values[key] = value
    return values


def dotenv_files(folders: list[Path]) -> tuple[list[Path], list[Path]]:
    """(.env files, example files) in `folders`, nearest folder first."""
    env, examples = [], []
    for folder in folders:
        if (folder / ".env").is_file():
            env.append(folder / ".env")
        examples.extend(folder / name for name in EXAMPLE_FILES if (folder / name).is_file())
    return env, examples
