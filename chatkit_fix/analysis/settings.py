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

from ..findings import ImportChange
from ..pyast import walk
from . import web

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
    """(local name, class definition) for each module-level name bound to an instance of a project class, as the
    application model resolves it (`settings = Settings.from_env()`, `from .config import settings`,
    `settings = get_settings()`)."""
    module = ctx.module
    model = ctx.model
    for name, bindings in module.top_level.items():
        if not isinstance(bindings[-1], ast.stmt):
            yield from _instance_class(name, model.resolver.lookup(module, name))
    for name, qualified in module.imports.names.items():
        if name in module.top_level:
            continue
        for dotted in sorted(qualified):  # looked up in the module that binds it, with the resolver's whole depth
            owner, _, attribute = dotted.rpartition(".")
            holder = model.module_named(owner, ctx.path) if owner else None
            if holder is not None:
                yield from _instance_class(name, model.resolver.lookup(holder, attribute))
                break


def _instance_class(name: str, ref):
    if ref is not None and ref.instance and ref.is_class:
        yield name, ref.node


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
