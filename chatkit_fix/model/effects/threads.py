"""What creates a ChatKit thread: the summary "may create a thread", for a store's `load_thread`.

A function creates a thread when it builds a fresh one (a chatkit `ThreadMetadata`/`Thread` stamped with the current
time, or without a time but named after one of its parameters), when it writes a new row for an id it was given (an
ORM object with that id handed to `add`, a SQL `INSERT`, SQLAlchemy's `insert(...)`), or when it calls the store's own
`save_thread` or a `get_or_create`-style helper. A thread rebuilt from what was stored (`created_at=row.created_at`)
is read, not created. The summary follows every call, those run in worker threads too: where it runs does not change
what it writes.
"""

from __future__ import annotations

import ast
import re

from ...pyast import call_keyword, walk
from ..calls import CallSite, Fact, Function
from ..modules import own_nodes

NAME = "creates-thread"

# the current time: `datetime.now()`, `datetime.utcnow()`, `time.time()`, Django's `timezone.now()`
NOW_CALLS = frozenset({"now", "utcnow", "today", "time", "time_ns"})
CLOCK_PACKAGES = ("datetime.", "time.", "pendulum.", "arrow.", "django.utils.timezone.")
# helpers whose name says they make the thread when it is missing
CREATE_CALLS = frozenset({"get_or_create", "create_thread", "new_thread", "aget_or_create"})
# builtins and methods that keep a value fresh: `datetime.now().isoformat()`, `int(time.time())`
_CONVERSIONS = frozenset({"int", "float", "str", "round"})
_INSERT = re.compile(r"^\s*INSERT\s+(OR\s+\w+\s+)?INTO\b", re.IGNORECASE)


class CreatesThread:
    """The effect "may create a thread": the creations in a function and in the functions it calls."""

    name = NAME

    def local(self, model, function: Function) -> list[Fact]:
        module, node = function.module, function.node
        parameters = _parameters(node)
        derived = _derived_names(node, parameters)
        found: list[Fact] = []
        for child in own_nodes(node):
            if not isinstance(child, ast.Call):
                continue
            what = self._creation(model, function, child, derived)
            if what is not None:
                found.append(Fact(module, child, what))
        return found

    def follows(self, site: CallSite) -> bool:
        return True

    def _creation(self, model, function: Function, call: ast.Call, derived: set[str]) -> str | None:
        module, scope = function.module, function.node
        target = model.resolve(module, call.func, scope)
        if target is not None and (target.names("chatkit", "ThreadMetadata") or target.names("chatkit", "Thread")):
            symbol = target.external.rsplit(".", 1)[-1]
            created = call_keyword(call, "created_at")
            if created is not None and fresh(model, module, created, scope):
                return f"a new {symbol} stamped with the current time"
            identifier = call_keyword(call, "id")
            if created is None and identifier is not None and _mentions(identifier, derived):
                return f"a new {symbol} for the id it was given"
            return None
        name = _called_name(call.func)
        if name in CREATE_CALLS:
            return f"{name}()"
        if name == "save_thread" and isinstance(call.func, ast.Attribute) and _is_self(call.func.value):
            return "self.save_thread()"
        if name in ("add", "merge") and call.args and _new_row_for(_value_of(call.args[0], scope), derived):
            return f"a new row added with {name}()"
        if call.args and _sql_insert(model, module, call.args[0], scope):
            return "a SQL INSERT"
        return None


def fresh(model, module, expr: ast.AST, scope: ast.AST, depth: int = 0) -> bool:
    """Whether a value is the current time (possibly converted: `.isoformat()`, `int(...)`, a local name holding it)."""
    if depth > 4:
        return False
    if isinstance(expr, ast.Call):
        func = expr.func
        if _called_name(func) in NOW_CALLS:
            target = model.resolve(module, func, scope)
            if target is None or target.external.startswith(CLOCK_PACKAGES):
                return True
        if isinstance(func, ast.Attribute) and fresh(model, module, func.value, scope, depth + 1):
            return True  # datetime.now().isoformat()
        if isinstance(func, ast.Name) and func.id in _CONVERSIONS and expr.args:
            return fresh(model, module, expr.args[0], scope, depth + 1)
        return False
    if isinstance(expr, ast.BinOp):
        return fresh(model, module, expr.left, scope, depth + 1) or fresh(model, module, expr.right, scope, depth + 1)
    if isinstance(expr, ast.Name):
        values = _assigned(expr.id, scope)
        return bool(values) and all(fresh(model, module, value, scope, depth + 1) for value in values)
    return False


def _sql_insert(model, module, expr: ast.AST, scope: ast.AST, depth: int = 0) -> bool:
    """A SQL INSERT statement: its text (`"INSERT INTO threads ..."`, an f-string, `text(...)`, a local name holding
    one) or SQLAlchemy's `insert(table)...`."""
    if depth > 3:
        return False
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return bool(_INSERT.match(expr.value))
    if isinstance(expr, ast.JoinedStr) and expr.values:
        first = expr.values[0]
        return isinstance(first, ast.Constant) and isinstance(first.value, str) and bool(_INSERT.match(first.value))
    if isinstance(expr, ast.Name):
        value = _value_of(expr, scope)
        return value is not expr and _sql_insert(model, module, value, scope, depth + 1)
    if isinstance(expr, ast.Call):
        target = model.resolve(module, expr.func, scope)
        if target is not None and target.names("sqlalchemy", "insert"):
            return True
        if _called_name(expr.func) == "text" and expr.args:
            return _sql_insert(model, module, expr.args[0], scope, depth + 1)
        if isinstance(expr.func, ast.Attribute) and isinstance(expr.func.value, ast.Call):
            return _sql_insert(model, module, expr.func.value, scope, depth + 1)  # insert(t).values(...)
    return False


def _assigned(name: str, scope: ast.AST) -> list[ast.AST]:
    """The values a local name is assigned in the function."""
    return [
        node.value for node in own_nodes(scope)
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
    ]


def _value_of(expr: ast.AST, scope: ast.AST) -> ast.AST:
    """What a local name was assigned, when it was assigned once; the expression itself otherwise."""
    if not isinstance(expr, ast.Name):
        return expr
    values = _assigned(expr.id, scope)
    return values[0] if len(values) == 1 else expr


def _new_row_for(expr: ast.AST, derived: set[str]) -> bool:
    """`Model(id=thread_id, ...)`: an object built for the id the function was given."""
    if not isinstance(expr, ast.Call):
        return False
    identifier = call_keyword(expr, "id")
    return identifier is not None and _mentions(identifier, derived)


def _parameters(function: ast.AST) -> set[str]:
    arguments = function.args
    names = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
    return names - {"self", "cls", "context"}


def _derived_names(function: ast.AST, parameters: set[str]) -> set[str]:
    """The parameters and the local names computed from them (`db_id, chatkit_id = to_ids(thread_id)`)."""
    derived = set(parameters)
    assignments = [node for node in own_nodes(function) if isinstance(node, ast.Assign)]
    for _ in range(3):
        grown = False
        for node in assignments:
            if not _mentions(node.value, derived):
                continue
            for target in node.targets:
                for name in walk(target):
                    if isinstance(name, ast.Name) and name.id not in derived:
                        derived.add(name.id)
                        grown = True
        if not grown:
            break
    return derived


def _mentions(expr: ast.AST, names: set[str]) -> bool:
    return any(isinstance(node, ast.Name) and node.id in names for node in walk(expr))


def _called_name(func: ast.AST) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _is_self(expr: ast.AST) -> bool:
    return isinstance(expr, ast.Name) and expr.id == "self"


CREATES_THREAD = CreatesThread()
