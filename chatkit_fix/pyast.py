"""Python analysis on the stdlib `ast`: what each name means after imports, wherever the import sits.

Detection runs on `ast` because it parses ten times faster than libcst; libcst is loaded only to build fixes that
need a concrete syntax tree.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator


def module_name_for(relative_parts: tuple[str, ...]) -> str:
    """`pkg/sub/mod.py` -> `pkg.sub.mod`; `pkg/__init__.py` -> `pkg`."""
    parts = list(relative_parts)
    if not parts:
        return ""
    last = parts[-1]
    for suffix in (".pyi", ".py"):
        if last.endswith(suffix):
            last = last[: -len(suffix)]
    parts[-1] = last
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def resolve_relative(module: str, level: int, target: str | None, is_package: bool) -> str:
    """The absolute module named by `from <level dots><target> import ...` inside `module`."""
    if level == 0:
        return target or ""
    base = module.split(".") if module else []
    drop = level - 1 if is_package else level
    base = base[: len(base) - drop] if drop <= len(base) else []
    if target:
        base.append(target)
    return ".".join(base)


class ImportMap:
    """Local name -> every fully qualified name it is bound to by an import anywhere in the module.

    Imports inside functions, `try/except ImportError` guards and aliases all count, because real back ends import
    lazily (`from chatkit.types import ...` inside `respond`).
    """

    def __init__(self, tree: ast.AST, module: str = "", is_package: bool = False):
        self.names: dict[str, set[str]] = {}
        self.modules: set[str] = set()
        for node in walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    self.modules.add(alias.name)
                    if alias.asname:
                        self._bind(alias.asname, alias.name)
                    else:
                        head = alias.name.split(".")[0]
                        self._bind(head, head)
            elif isinstance(node, ast.ImportFrom):
                source = resolve_relative(module, node.level, node.module, is_package)
                self.modules.add(source)
                for alias in node.names:
                    if alias.name == "*":
                        continue
                    self._bind(alias.asname or alias.name, f"{source}.{alias.name}" if source else alias.name)

    def _bind(self, local: str, qualified: str) -> None:
        self.names.setdefault(local, set()).add(qualified)

    def qualnames(self, node: ast.AST) -> set[str]:
        """Every qualified name an expression may refer to (`R.run_streamed` -> {'agents.run.Runner.run_streamed'})."""
        if isinstance(node, ast.Name):
            return set(self.names.get(node.id, ()))
        if isinstance(node, ast.Attribute):
            return {f"{base}.{node.attr}" for base in self.qualnames(node.value)}
        return set()

    def refers_to(self, node: ast.AST, package: str, symbol: str) -> bool:
        """True when `node` names `symbol` from `package`, directly or through a re-export (`agents.run.Runner`)."""
        return any(is_symbol(name, package, symbol) for name in self.qualnames(node))

    def imports_package(self, package: str) -> bool:
        return any(name == package or name.startswith(package + ".") for name in self.modules)


def is_symbol(qualified: str, package: str, symbol: str) -> bool:
    """`agents.run.Runner.run_streamed` is `Runner.run_streamed` of package `agents`; re-export paths vary by release."""
    if qualified == f"{package}.{symbol}":
        return True
    return qualified.startswith(package + ".") and qualified.endswith("." + symbol)


def walk(node: ast.AST) -> list[ast.AST]:
    """`ast.walk(node)` as a list, in the same order (breadth first), at about half the cost.

    A module's list is kept on the module: the rules walk the same trees over and over, and nothing edits a tree
    (fixes are text edits; a fixed file is parsed again).
    """
    if isinstance(node, ast.Module):
        found = node.__dict__.get("_chatkit_fix_nodes")
        if found is None:
            found = node._chatkit_fix_nodes = _breadth_first(node)
        return found
    return _breadth_first(node)


def _breadth_first(node: ast.AST) -> list[ast.AST]:
    found = [node]
    append, extend, node_type = found.append, found.extend, ast.AST
    for current in found:  # the list grows while it is read: every node added is visited in turn
        for name in current._fields:
            value = getattr(current, name, None)
            if value.__class__ is list:
                extend([item for item in value if isinstance(item, node_type)])
            elif isinstance(value, node_type):
                append(value)
    return found


def parent_map(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    parents: dict[ast.AST, ast.AST] = {}
    for node in walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    return parents


def ancestors(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> Iterator[ast.AST]:
    current = parents.get(node)
    while current is not None:
        yield current
        current = parents.get(current)


def keyword(call: ast.Call, name: str) -> ast.keyword | None:
    for item in call.keywords:
        if item.arg == name:
            return item
    return None


def call_keyword(call: ast.Call, name: str) -> ast.AST | None:
    """The value passed as `name=` to the call."""
    return next((item.value for item in call.keywords if item.arg == name), None)


def call_argument(call: ast.Call, position: int, name: str) -> ast.AST | None:
    """The value bound to a parameter: passed by keyword, or at its position when no `*args` comes before it."""
    value = call_keyword(call, name)
    if value is not None:
        return value
    if position < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[: position + 1]):
        return call.args[position]
    return None


def literal(node: ast.AST | None) -> object:
    """The value of a literal expression, or a sentinel when it is not a literal."""
    if node is None:
        return _NOT_LITERAL
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_LITERAL


class _NotLiteral:
    def __repr__(self) -> str:
        return "<not a literal>"


_NOT_LITERAL = _NotLiteral()
NOT_LITERAL = _NOT_LITERAL


def functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def is_main_guard(node: ast.AST) -> bool:
    """`if __name__ == "__main__":`"""
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in node.test.comparators)
    )
