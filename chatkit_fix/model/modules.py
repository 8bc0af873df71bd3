"""Modules of the application as the model sees them: one parse per file per version of its text, shared by every rule.

A module knows its dotted name inside its service, what each imported name means (relative imports resolved from the
file's own place), and its definitions: functions, classes and methods by qualified name, module-level values.
"""

from __future__ import annotations

import ast
from functools import cached_property
from pathlib import Path

from ..pyast import ImportMap, parent_map, walk

Function = ast.FunctionDef | ast.AsyncFunctionDef
FUNCTION_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef)


class Module:
    """A parsed Python file of the project."""

    def __init__(self, path: Path, name: str, tree: ast.Module, service, text: str):
        self.path = path
        self.name = name
        self.tree = tree
        self.service = service
        self.text = text

    def __repr__(self) -> str:
        return f"Module({self.name or self.path.name})"

    @property
    def is_package(self) -> bool:
        return self.path.name == "__init__.py"

    @cached_property
    def imports(self) -> ImportMap:
        return ImportMap(self.tree, self.name, self.is_package)

    @cached_property
    def parents(self) -> dict[ast.AST, ast.AST]:
        return parent_map(self.tree)

    @cached_property
    def top_level(self) -> dict[str, list[ast.AST]]:
        """Module-level bindings by name, in source order: defs, classes, and the values assigned (through `if`,
        `try` and `with` blocks, where guarded definitions live)."""
        found: dict[str, list[ast.AST]] = {}
        for statement in _flatten(self.tree.body):
            if isinstance(statement, (*FUNCTION_TYPES, ast.ClassDef)):
                found.setdefault(statement.name, []).append(statement)
            elif isinstance(statement, ast.Assign):
                for target in statement.targets:
                    for name, value in _targets(target, statement.value):
                        found.setdefault(name, []).append(value)
            elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name) and statement.value:
                found.setdefault(statement.target.id, []).append(statement.value)
        return found

    @cached_property
    def functions(self) -> dict[str, Function]:
        """Every function and method by qualified name (`Store.load_thread`, `outer.<locals>.inner` as `outer.inner`);
        the first definition of a name wins, as a reader would look for it."""
        found: dict[str, Function] = {}

        def visit(body: list[ast.stmt], prefix: str) -> None:
            for statement in _flatten(body):
                if isinstance(statement, FUNCTION_TYPES):
                    found.setdefault(prefix + statement.name, statement)
                    visit(statement.body, f"{prefix}{statement.name}.")
                elif isinstance(statement, ast.ClassDef):
                    visit(statement.body, f"{prefix}{statement.name}.")

        visit(self.tree.body, "")
        return found

    @cached_property
    def classes(self) -> dict[str, ast.ClassDef]:
        return {node.name: node for node in walk(self.tree) if isinstance(node, ast.ClassDef)}

    @cached_property
    def qualified_names(self) -> dict[ast.AST, str]:
        """The reverse of `functions` and `classes`: a def or class node -> its qualified name in the module."""
        names: dict[ast.AST, str] = {}

        def visit(body: list[ast.stmt], prefix: str) -> None:
            for statement in _flatten(body):
                if isinstance(statement, (*FUNCTION_TYPES, ast.ClassDef)):
                    names.setdefault(statement, prefix + statement.name)
                    visit(statement.body, f"{prefix}{statement.name}.")

        visit(self.tree.body, "")
        return names

    def enclosing(self, node: ast.AST, kinds: tuple[type, ...] = FUNCTION_TYPES) -> ast.AST | None:
        current = self.parents.get(node)
        while current is not None and not isinstance(current, kinds):
            current = self.parents.get(current)
        return current

    def enclosing_class(self, node: ast.AST) -> ast.ClassDef | None:
        """The class whose method `node` is in (the class directly holding the nearest enclosing def)."""
        function = node if isinstance(node, FUNCTION_TYPES) else self.enclosing(node)
        while function is not None:
            holder = self.parents.get(function)
            if isinstance(holder, ast.ClassDef):
                return holder
            if isinstance(holder, (ast.If, ast.Try, ast.With)):
                holder = self.enclosing(function, (ast.ClassDef, *FUNCTION_TYPES))
                if isinstance(holder, ast.ClassDef):
                    return holder
            function = self.enclosing(function)
        return None


def _flatten(body: list[ast.stmt]):
    """Statements of a body, looking into `if`/`try`/`with` blocks (guarded definitions) but not into defs."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.If):
            yield from _flatten(statement.body)
            yield from _flatten(statement.orelse)
        elif isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
            yield from _flatten(statement.body)
            for handler in statement.handlers:
                yield from _flatten(handler.body)
            yield from _flatten(statement.orelse)
            yield from _flatten(statement.finalbody)
        elif isinstance(statement, (ast.With, ast.AsyncWith)):
            yield from _flatten(statement.body)


def _targets(target: ast.AST, value: ast.AST):
    if isinstance(target, ast.Name):
        yield target.id, value
    elif isinstance(target, (ast.Tuple, ast.List)):
        values = value.elts if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts) else None
        for index, element in enumerate(target.elts):
            yield from _targets(element, values[index] if values else value)


def own_nodes(function: ast.AST) -> list[ast.AST]:
    """The nodes of a function's body without those of nested functions, lambdas and classes, in source order.
    Listed once and kept on the function's node: every summary and lookup asks again (a tree is never edited in
    place, a changed file is parsed anew)."""
    found = function.__dict__.get("_chatkit_fix_own_nodes")
    if found is None:
        found = function._chatkit_fix_own_nodes = _own_nodes(function)
    return found


def _own_nodes(function: ast.AST) -> list[ast.AST]:
    found = []
    stack: list[ast.AST] = list(reversed(getattr(function, "body", [])))
    nested = (*FUNCTION_TYPES, ast.Lambda, ast.ClassDef)
    while stack:
        node = stack.pop()
        found.append(node)
        if isinstance(node, nested):  # a def in the body: its name is bound here, its body is its own
            continue
        for child in reversed(list(ast.iter_child_nodes(node))):
            if not isinstance(child, nested):
                stack.append(child)
    return found
