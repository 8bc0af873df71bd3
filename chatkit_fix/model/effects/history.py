"""Conversation history: where an agent's earlier turns come from.

Facts of the SDKs: a ChatKit `Store`'s `load_thread_items(thread_id, after, limit, order, context)` returns a page of
the thread's items; an Agents SDK `Session` (`SQLiteSession`, `OpenAIConversationsSession`, the
`agents.extensions.memory` sessions) passed as `session=` to a run is the conversation memory itself: the run reads
the session's items before the new input and appends the new turn after it.
"""

from __future__ import annotations

import ast
import re

from ..calls import Fact, Function, simple_effect
from ..modules import own_nodes
from ..resolve import Ref

NOT_MEMORY = ("ResponsesWebSocketSession",)  # a transport of the Responses API, not a conversation memory
HISTORY_LOADS = ("load_thread_items",)


def is_conversation_session(ref: Ref | None) -> bool:
    """An Agents SDK conversation memory class (or an instance of one)."""
    if ref is None or not ref.external.startswith("agents."):
        return False
    name = ref.external.rsplit(".", 1)[-1]
    if not name.endswith("Session") or name in NOT_MEMORY:
        return False
    return not any(part in ("realtime", "voice") for part in ref.external.split("."))


def _loads(model, function: Function) -> list[Fact]:
    found = []
    for node in own_nodes(function.node):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in HISTORY_LOADS:
            found.append(Fact(function.module, node, node.func.attr))
    return found


LOADS_HISTORY = simple_effect("loads-thread-history", _loads)
"""A function that loads the items of a thread from a store, itself or through the functions it calls."""


ASCENDING_PAGE = re.compile(r"ORDER\s+BY\s+[\w.\"`]+(\s+ASC)?\s+LIMIT\b", re.IGNORECASE)


def oldest_first_loader(model, module, call: ast.Call, scope) -> str | None:
    """The qualified name of the project store method a `load_thread_items(...)` call runs when that method always
    pages oldest-first: its SQL sorts ascending with a LIMIT, nothing in it sorts descending, and it never reads an
    `order` argument. None when the receiver is not such a store (or cannot be seen)."""
    from .models import value_sources

    if not isinstance(call.func, ast.Attribute):
        return None
    for value in value_sources(model, module, call.func.value, scope):
        if not isinstance(value.node, ast.Call):
            continue
        target = model.resolve(value.module, value.node.func, value.scope)
        if target is None or not target.is_class or target.instance or target.module is None:
            continue
        method = model.resolver.class_member(target.module, target.node, call.func.attr)
        if method is not None and method.is_function and _always_ascending(method.node):
            return method.module.qualified_names.get(method.node, method.node.name)
    return None


def _always_ascending(function: ast.AST) -> bool:
    texts = [n.value for n in own_nodes(function) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    if not any(ASCENDING_PAGE.search(text) for text in texts) or any(re.search(r"\bDESC\b", t, re.I) for t in texts):
        return False
    reads_order = any(isinstance(n, ast.Name) and n.id == "order" and isinstance(n.ctx, ast.Load) for n in own_nodes(function))
    return not reads_order
