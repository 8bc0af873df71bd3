"""What writes a record by its id, replacing the one already there: the summary "upserts".

SQL that replaces on a key (`INSERT ... ON CONFLICT (id) DO UPDATE`, `INSERT OR REPLACE`, `REPLACE INTO`,
`ON DUPLICATE KEY UPDATE`, `MERGE INTO`, an `UPDATE`), SQLAlchemy's `session.merge()` and
`insert(...).on_conflict_do_update(...)`, and the client calls of document and key-value stores that put a whole
record under its key (`replace_one`, `update_one(..., upsert=True)`, DynamoDB `put_item`, Cosmos `upsert_item`, Redis
`set`/`hset`). A store method whose helper does one of these replaces the item rather than adding a copy.
"""

from __future__ import annotations

import ast
import re

from ..calls import Fact, Function, simple_effect
from ..modules import own_nodes

NAME = "upserts"

UPSERT_SQL = re.compile(
    r"on\s+conflict\s*(\([^)]*\))?\s*do\s+update|insert\s+or\s+replace|replace\s+into|on\s+duplicate\s+key\s+update|"
    r"\bmerge\s+into\b|^\s*update\s+\w+",
    re.IGNORECASE,
)
UPSERT_CALLS = frozenset({
    "merge", "on_conflict_do_update", "on_duplicate_key_update", "upsert", "upsert_item", "replace_item",
    "replace_one", "find_one_and_replace", "put_item", "hset", "set", "put",
})


def _local(model, function: Function) -> list[Fact]:
    found: list[Fact] = []
    for node in own_nodes(function.node):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and UPSERT_SQL.search(node.value):
            found.append(Fact(function.module, node, "SQL that replaces by key"))
        elif isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else ""
            upsert_flag = any(k.arg == "upsert" and isinstance(k.value, ast.Constant) and k.value.value is True
                              for k in node.keywords)
            if name in UPSERT_CALLS or upsert_flag:
                found.append(Fact(function.module, node, f"{name}()"))
    return found


UPSERTS = simple_effect(NAME, _local, follows=lambda site: True)
