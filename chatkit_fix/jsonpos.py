"""JSON values with their source spans, from JSON text or from Python literals, so one rule can edit both.

The stdlib `json` module gives no positions; request bodies in `.json`, `.http` and `.sh` files and dict literals in
Python need the same analysis and precise edits, so both are lifted into `Value` trees.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Value:
    kind: str  # "object", "array", "string" or "other"
    start: int
    end: int
    value: Any = None  # the Python value for strings and other scalars
    members: list[tuple[str, int, int, Value]] = field(default_factory=list)  # key, key start, key end, value
    items: list[Value] = field(default_factory=list)
    partial: bool = False  # a Python dict with `**spread`: missing keys may come from elsewhere

    def get(self, key: str) -> Value | None:
        for name, _, _, value in self.members:
            if name == key:
                return value
        return None

    def string(self, key: str) -> str | None:
        value = self.get(key)
        return value.value if value is not None and value.kind == "string" else None


class _Parser:
    _WS = re.compile(r"[ \t\r\n]*")
    _NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
    _STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"')

    def __init__(self, text: str):
        self.text = text

    def skip(self, pos: int) -> int:
        return self._WS.match(self.text, pos).end()

    def value(self, pos: int) -> Value:
        pos = self.skip(pos)
        if pos >= len(self.text):
            raise ValueError("unexpected end")
        char = self.text[pos]
        if char == "{":
            return self.object(pos)
        if char == "[":
            return self.array(pos)
        if char == '"':
            match = self._STRING.match(self.text, pos)
            if not match:
                raise ValueError("bad string")
            import json

            return Value("string", pos, match.end(), json.loads(match.group(0)))
        for literal, python in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(literal, pos):
                return Value("other", pos, pos + len(literal), python)
        match = self._NUMBER.match(self.text, pos)
        if match and match.end() > pos:
            return Value("other", pos, match.end(), float(match.group(0)))
        raise ValueError(f"unexpected {char!r}")

    def object(self, start: int) -> Value:
        node = Value("object", start, start)
        pos = self.skip(start + 1)
        if self.text.startswith("}", pos):
            node.end = pos + 1
            return node
        while True:
            key = self.value(pos)
            if key.kind != "string":
                raise ValueError("object key is not a string")
            pos = self.skip(key.end)
            if not self.text.startswith(":", pos):
                raise ValueError("expected ':'")
            member = self.value(pos + 1)
            node.members.append((key.value, key.start, key.end, member))
            pos = self.skip(member.end)
            if self.text.startswith(",", pos):
                pos += 1
                continue
            if self.text.startswith("}", pos):
                node.end = pos + 1
                return node
            raise ValueError("expected ',' or '}'")

    def array(self, start: int) -> Value:
        node = Value("array", start, start)
        pos = self.skip(start + 1)
        if self.text.startswith("]", pos):
            node.end = pos + 1
            return node
        while True:
            item = self.value(pos)
            node.items.append(item)
            pos = self.skip(item.end)
            if self.text.startswith(",", pos):
                pos += 1
                continue
            if self.text.startswith("]", pos):
                node.end = pos + 1
                return node
            raise ValueError("expected ',' or ']'")


def parse_at(text: str, start: int) -> Value | None:
    """The JSON value that starts at `start` (trailing text allowed), or None when it is not JSON."""
    try:
        return _Parser(text).value(start)
    except (ValueError, RecursionError):
        return None


def objects_in(text: str, wanted) -> list[Value]:
    """Outermost JSON objects embedded anywhere in `text` (a curl script, an .http file) for which `wanted` is true.

    Each JSON value is parsed once: inside one that is not wanted, the search goes on through its parsed members
    (re-parsing from every nested `{` made a large JSON file quadratic).
    """
    found: list[Value] = []
    pos = 0
    while True:
        pos = text.find("{", pos)
        if pos < 0:
            return found
        node = parse_at(text, pos)
        if node is None:
            pos += 1
            continue
        found.extend(_outermost(node, wanted))
        pos = node.end


def _outermost(node: Value, wanted) -> list[Value]:
    if node.kind == "object" and wanted(node):
        return [node]
    children = [value for _, _, _, value in node.members] + node.items
    return [found for child in children for found in _outermost(child, wanted)]


def from_python(node: ast.AST, span) -> Value | None:
    """Lift a Python dict/list/str literal (keys must be str constants) into a Value; other nodes become "other"."""
    start, end = span(node)
    if isinstance(node, ast.Dict):
        value = Value("object", start, end)
        for key, item in zip(node.keys, node.values):
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                value.partial = True  # `**spread` or computed keys: not something we can judge
                continue
            key_start, key_end = span(key)
            value.members.append((key.value, key_start, key_end, from_python(item, span)))
        return value
    if isinstance(node, (ast.List, ast.Tuple)):
        return Value("array", start, end, items=[from_python(item, span) for item in node.elts])
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return Value("string", start, end, node.value)
    return Value("other", start, end, node)
