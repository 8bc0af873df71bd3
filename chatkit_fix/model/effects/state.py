"""Writes of request data into state that every request shares: module globals and module-level containers.

A module global written from a function's parameters (`global _user_id; _user_id = user_id`) or a fixed slot of a
module-level dict (`_context["user_id"] = user_id`) holds one value for the whole process: the next request
overwrites it while the previous one still reads it. A registry keyed by a value (`_streams[thread_id] = ...`) keeps
one entry per key and is not such a slot; a lazily created shared resource (`if _client is None: _client = ...`)
holds no request data.
"""

from __future__ import annotations

import ast

from ...pyast import walk
from ..calls import Fact, Function, simple_effect
from ..modules import own_nodes


def _parameters(function: ast.AST) -> set[str]:
    arguments = function.args
    names = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
    names.update(a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None)
    return names - {"self", "cls"}


def _from_parameters(function: ast.AST, value: ast.AST) -> bool:
    """The value is computed from the function's parameters, directly or through its local assignments."""
    parameters = _parameters(function)
    assigned: dict[str, list[ast.AST]] = {}
    for node in own_nodes(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(node.value)
    seen: set[str] = set()
    pending = [value]
    while pending:
        for node in walk(pending.pop()):
            if isinstance(node, ast.Name) and node.id not in seen:
                seen.add(node.id)
                if node.id in parameters:
                    return True
                pending.extend(assigned.get(node.id, ()))
    return False


def _module_level(function: Function, name: str) -> bool:
    """`name` means a module-level binding of the function's module (not a local or a parameter)."""
    if name in _parameters(function.node) or name not in function.module.top_level:
        return False
    return not any(
        isinstance(node, (ast.Assign, ast.AnnAssign)) and any(
            isinstance(t, ast.Name) and t.id == name
            for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        )
        for node in own_nodes(function.node)
    )


def _shared_writes(model, function: Function) -> list[Fact]:
    node_of = function.node
    declared = {name for node in own_nodes(node_of) if isinstance(node, ast.Global) for name in node.names}
    found: list[Fact] = []
    for node in own_nodes(node_of):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id in declared:
                    if _from_parameters(node_of, node.value):
                        found.append(Fact(function.module, node, f"the module global {target.id}"))
                elif (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and isinstance(target.slice, ast.Constant)
                    and _module_level(function, target.value.id)
                    and _from_parameters(node_of, node.value)
                ):
                    found.append(Fact(function.module, node, f"{target.value.id}[{target.slice.value!r}] of module state"))
    return found


SHARED_STATE = simple_effect("writes-shared-state", _shared_writes, follows=lambda site: True)
"""A function that writes request data (values of its parameters) into a module global or a fixed slot of a
module-level container, itself or through the functions it calls."""
