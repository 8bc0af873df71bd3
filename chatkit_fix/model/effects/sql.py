"""Rows a function writes with SQL: the tables named by the `INSERT INTO <table>` statements it runs.

Two classes that insert into the same table write the same rows, whatever they are called: a ChatKit store's
`add_thread_item` and a "session" class of the application that both insert into `messages` keep one conversation
twice.
"""

from __future__ import annotations

import ast
import re

from ..calls import Fact, Function, simple_effect
from ..modules import own_nodes

INSERT = re.compile(r"\bINSERT\s+(?:OR\s+\w+\s+)?INTO\s+[`\"\[]?(?:\w+[`\"\]]?\.)?[`\"\[]?(\w+)", re.IGNORECASE)


def _inserts(model, function: Function) -> list[Fact]:
    found = []
    for node in own_nodes(function.node):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and "into" in node.value.lower():
            for table in INSERT.findall(node.value):
                found.append(Fact(function.module, node, table.lower()))
    return found


INSERTS_ROWS = simple_effect("inserts-sql-rows", _inserts, follows=lambda site: True)
"""A function that inserts rows into SQL tables (`fact.what` is the table), itself or through its calls."""


def tables_inserted(model, function: Function) -> set[str]:
    return {fact.what for fact in model.facts(INSERTS_ROWS, function)}
