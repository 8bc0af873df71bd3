"""Conversation history: where an agent's earlier turns come from.

Facts of the SDKs: a ChatKit `Store`'s `load_thread_items(thread_id, after, limit, order, context)` returns a page of
the thread's items; an Agents SDK `Session` (`SQLiteSession`, `OpenAIConversationsSession`, the
`agents.extensions.memory` sessions) passed as `session=` to a run is the conversation memory itself: the run reads
the session's items before the new input and appends the new turn after it.
"""

from __future__ import annotations

import ast

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
