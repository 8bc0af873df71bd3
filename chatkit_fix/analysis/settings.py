"""How a module reads its configuration, so that a fix needing a setting writes it the module's way.

A back end that keeps its configuration in a settings object (`settings = Settings.from_env()`, a pydantic
`BaseSettings`, a dataclass) must not get a fresh `os.environ.get(...)` beside it: the fix names the object's field
(`settings.cors_origins`), which reads the variable the project documents (`CHATKIT_CORS_ORIGINS`, not a name the
fix made up). Without such an object the fix reads the environment in the spelling the module already uses
(`os.getenv` or `os.environ.get`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..findings import ImportChange
from ..pyast import ImportMap, walk
from . import web

MAX_DEPTH = 4  # re-exports followed from module to module
LIST_TYPES = ("list", "List", "Sequence", "tuple", "Tuple", "set", "Set", "frozenset", "FrozenSet")


@dataclass(frozen=True)
class SettingsField:
    """A field of the project's settings object, as the module reaches it: `expression` is `settings.cors_origins`;
    `kind` is "list" or "str" (from the field's annotation)."""

    expression: str
    kind: str


def settings_field(ctx, wanted: Callable[[str], bool]) -> SettingsField | None:
    """The one field `wanted` accepts (by name) of a settings object bound at module level in `ctx`, or None."""
    found: list[SettingsField] = []
    for local, cls in _settings_objects(ctx):
        for name, kind in _fields(cls):
            if wanted(name):
                found.append(SettingsField(f"{local}.{name}", kind))
    return found[0] if len(found) == 1 else None


def cors_origins_field(ctx) -> SettingsField | None:
    """The settings field holding the allowed CORS origins (`cors_origins`, `allowed_origins`, `CORS_ORIGINS`...)."""
    return settings_field(ctx, lambda name: "origin" in name.lower())


def origins_expression(ctx, default: str) -> tuple[str, list[ImportChange | None]]:
    """The allowed origins as a list expression in the module's idiom, and the import it needs."""
    field = cors_origins_field(ctx)
    if field is not None:
        if field.kind == "list":
            return field.expression, []
        return f"{field.expression}.split({ctx.string_literal(',')})", []
    read, needed = environ_get(ctx, "CORS_ORIGINS", default)
    return f"{read}.split({ctx.string_literal(',')})", [needed]


def environ_get(ctx, name: str, default: str) -> tuple[str, ImportChange | None]:
    """`os.environ.get("NAME", "default")`, or `os.getenv(...)` when that is how the module reads the environment."""
    local, needed = ctx.ensure_module("os")
    function = "getenv" if _prefers_getenv(ctx) else "environ.get"
    return f"{local}.{function}({ctx.string_literal(name)}, {ctx.string_literal(default)})", needed


def _prefers_getenv(ctx) -> bool:
    getenv = environ = 0
    for node in walk(ctx.tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            qualified = ctx.imports.qualnames(node.func)
            getenv += "os.getenv" in qualified
            environ += "os.environ.get" in qualified
    return getenv > environ


# ---- settings objects ---------------------------------------------------------------------------------------------


def _settings_objects(ctx):
    """(local name, class definition) for each module-level name bound to an instance of a project class."""
    project = ctx.project
    for statement in ctx.tree.body:
        target = _assigned_name(statement)
        if target is not None:
            cls = _instance_class(project, ctx.tree, ctx.module_name, ctx.path, statement.value, 0)
            if cls is not None:
                yield target, cls
        elif isinstance(statement, ast.ImportFrom):
            for alias in statement.names:
                local = alias.asname or alias.name
                for qualified in ctx.imports.names.get(local, ()):
                    cls = _imported_instance_class(project, qualified, 0)
                    if cls is not None:
                        yield local, cls
                        break


def _assigned_name(statement: ast.stmt) -> str | None:
    """The name a module-level `name = value` (or `name: T = value`) binds."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name):
        return statement.targets[0].id
    if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value is not None:
        return statement.target.id
    return None


def _imported_instance_class(project, qualified: str, depth: int):
    """The class of the object `module.name` names, when the module is a project file that binds it to an instance."""
    module, _, name = qualified.rpartition(".")
    path = project.resolve_module(module) if module else None
    if path is None or depth > MAX_DEPTH:
        return None
    tree = web.parse_file(project, path)
    if tree is None:
        return None
    for statement in tree.body:
        if _assigned_name(statement) == name:
            return _instance_class(project, tree, module, path, statement.value, depth + 1)
    imports = ImportMap(tree, module, path.name == "__init__.py")
    for target in imports.names.get(name, ()):
        cls = _imported_instance_class(project, target, depth + 1)
        if cls is not None:
            return cls
    return None


def _instance_class(project, tree: ast.Module, module: str, path: Path, value: ast.AST | None, depth: int):
    """The project class that `value` (a module-level assignment's value) makes an instance of, or None.

    `Settings()`, `Settings.from_env()` (a classmethod) and `get_settings()` (a function annotated with, or
    returning, such a call) are instances; anything else is not judged.
    """
    if not isinstance(value, ast.Call) or depth > MAX_DEPTH:
        return None
    func = value.func
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        found = _definition(project, tree, module, path, func.value.id, depth)
        if found is not None and isinstance(found[0], ast.ClassDef) and _is_constructor(found[0], func.attr):
            return found[0]
        return None
    if not isinstance(func, ast.Name):
        return None
    found = _definition(project, tree, module, path, func.id, depth)
    if found is None:
        return None
    node, tree, module, path = found
    if isinstance(node, ast.ClassDef):
        return node
    if isinstance(node.returns, ast.Name):
        returned = _definition(project, tree, module, path, node.returns.id, depth + 1)
        return returned[0] if returned is not None and isinstance(returned[0], ast.ClassDef) else None
    for child in walk(node):
        if isinstance(child, ast.Return):
            return _instance_class(project, tree, module, path, child.value, depth + 1)
    return None


def _is_constructor(cls: ast.ClassDef, method: str) -> bool:
    """A classmethod of the class that builds an instance (`from_env`, `load`)."""
    for node in cls.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == method:
            return any(isinstance(d, ast.Name) and d.id == "classmethod" for d in node.decorator_list)
    return False


def _definition(project, tree: ast.Module, module: str, path: Path, name: str, depth: int):
    """(class or function definition, its module's tree, module name, path) of `name` in a project module,
    following imports into other project modules; None when it is not defined in the project."""
    for statement in tree.body:
        if isinstance(statement, (ast.ClassDef, ast.FunctionDef)) and statement.name == name:
            return statement, tree, module, path
    imports = ImportMap(tree, module, path.name == "__init__.py")
    for qualified in imports.names.get(name, ()):
        owner, _, symbol = qualified.rpartition(".")
        owner_path = project.resolve_module(owner) if owner else None
        if owner_path is None or depth > MAX_DEPTH:
            continue
        owner_tree = web.parse_file(project, owner_path)
        if owner_tree is not None:
            found = _definition(project, owner_tree, owner, owner_path, symbol, depth + 1)
            if found is not None:
                return found
    return None


def _fields(cls: ast.ClassDef):
    """(name, "list" | "str") for each annotated field or property of a settings class whose type is one of those."""
    for node in cls.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            kind = _kind(node.annotation)
        elif isinstance(node, ast.FunctionDef) and any(isinstance(d, ast.Name) and d.id == "property" for d in node.decorator_list):
            kind = _kind(node.returns)
        else:
            continue
        if kind is not None:
            yield (node.target.id if isinstance(node, ast.AnnAssign) else node.name), kind


def _kind(annotation: ast.AST | None) -> str | None:
    if isinstance(annotation, ast.Subscript):
        annotation = annotation.value
    name = web.last_name(annotation) if annotation is not None else ""
    if name in LIST_TYPES:
        return "list"
    if name == "str":
        return "str"
    return None
