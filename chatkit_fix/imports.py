"""The imports fixes need, added and removed with libcst's codemod helpers when a fix is applied or shown.

Rules detect on `ast` and only say which imports their fix needs (`ImportChange`); the engine applies a pass's
edits and then every import its fixes asked for at once, so two fixes never add the same import twice and the
text of the import block is libcst's, not a string pasted by hand. libcst is imported here only, and only then.

Where imports go: `AddImportsVisitor` sees the file's first block of absolute imports (after the docstring and
`__future__` imports), so a new import never lands below a relative import; a name added to an existing
`from module import (...)` keeps that statement's layout (one name per line stays one name per line).
"""

from __future__ import annotations

import ast
import difflib
from collections.abc import Iterable
from pathlib import Path

from .findings import Edit, ImportChange
from .sources import SourceFile


class ImportPlacementError(ValueError):
    """libcst could not place an import (a module it cannot parse): the fix is dropped like one that breaks code."""


def apply_import_changes(text: str, changes: Iterable[ImportChange], newline: str = "\n") -> str:
    """`text` with the import changes made: additions, then removals of the imports nothing uses any more (in that
    order, a renamed class's import is rewritten where it stood)."""
    changes = sorted(set(changes))
    removals = [change for change in changes if change.remove]
    additions = [change for change in changes if not change.remove]
    try:
        if additions:
            text = _add(text, additions, newline)
        if removals:
            text = _remove(text, removals, newline)
    except (SyntaxError, RecursionError) as exc:
        raise ImportPlacementError(f"cannot place imports: {exc}") from None
    except Exception as exc:  # libcst's ParserSyntaxError, without importing libcst to name it
        if type(exc).__name__ == "ParserSyntaxError":
            raise ImportPlacementError(f"libcst cannot parse the module: {str(exc).splitlines()[0]}") from None
        raise
    return text


def minimal_edits(before: str, after: str) -> tuple[Edit, ...]:
    """The line-wise edits that turn `before` into `after`: how a fix with imports is shown as plain edits."""
    old_lines = before.splitlines(keepends=True)
    new_lines = after.splitlines(keepends=True)
    starts = [0]
    for line in old_lines:
        starts.append(starts[-1] + len(line))
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    return tuple(
        Edit(starts[i1], starts[i2], "".join(new_lines[j1:j2]))
        for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"
    )


def _parse(text: str, newline: str):
    """`text` as a libcst module that writes new lines with the file's `newline`. libcst's parser guesses the newline
    from the text and ignores `PartialParserConfig(default_newline=...)`; with no line break to go by (an empty head,
    a one-line docstring) it would write LF into a CRLF file."""
    import libcst as cst

    return cst.parse_module(text).with_changes(default_newline=newline)


def _remove(text: str, removals: list[ImportChange], newline: str) -> str:
    import libcst as cst
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import RemoveImportsVisitor

    wrapper = cst.MetadataWrapper(_parse(text, newline))
    unused = [(change.module, change.name, None) for change in removals]
    return wrapper.visit(RemoveImportsVisitor(CodemodContext(wrapper=wrapper), unused)).code


def _add(text: str, additions: list[ImportChange], newline: str) -> str:
    from libcst.codemod import CodemodContext
    from libcst.codemod.visitors import ImportItem

    split = _import_block_end(text)
    head, rest = text[:split], text[split:]
    had_imports = _has_import(head)
    module = _parse(head, newline)
    items = [ImportItem(change.module, change.name) for change in additions]
    new_head = module.visit(_layout_keeping_add_imports(CodemodContext(), items)).code
    if new_head == head:
        return text
    if rest and not new_head.endswith(("\n", "\r")):
        new_head += newline  # libcst writes an empty head's new statements without the last line's ending
    first = rest.lstrip()
    code_follows = first and not rest.startswith(("\n", "\r")) and not first.startswith(("import ", "from "))
    if not had_imports and code_follows and not new_head.endswith(newline * 2):
        # a new import block: one blank line before the code, two before a definition (PEP 8)
        new_head += newline * (2 if first.startswith(("def ", "class ", "async def ", "@")) else 1)
    return new_head + rest


def _import_block_end(text: str) -> int:
    """Offset where the file's first block of absolute imports ends (the start of the line that ends it)."""
    body = ast.parse(text).body
    index = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
        index = 1
    while index < len(body) and isinstance(body[index], (ast.Import, ast.ImportFrom)) and not getattr(body[index], "level", 0):
        index += 1
    # a statement sharing its line with the one before (`import a; x = 1`) ends the block at that line
    while 0 < index < len(body) and body[index].lineno == body[index - 1].end_lineno:
        index -= 1
    if index >= len(body):
        return len(text)
    statement = body[index]
    line = statement.decorator_list[0].lineno if getattr(statement, "decorator_list", None) else statement.lineno
    return SourceFile(Path(), text).offset(line, 0)


def _has_import(text: str) -> bool:
    return any(isinstance(statement, (ast.Import, ast.ImportFrom)) for statement in ast.parse(text).body)


def _layout_keeping_add_imports(context, items):
    """libcst's AddImportsVisitor, with names added to an existing `from ... import` after its own names and with
    its separators (libcst puts them first, joined by `, `)."""
    import libcst as cst
    from libcst.codemod.visitors import AddImportsVisitor

    class LayoutKeepingAddImports(AddImportsVisitor):
        def leave_ImportFrom(self, original_node: cst.ImportFrom, updated_node: cst.ImportFrom) -> cst.ImportFrom:
            result = super().leave_ImportFrom(original_node, updated_node)
            if result is updated_node or isinstance(result.names, cst.ImportStar):
                return result
            existing = list(updated_node.names)
            taken = {(alias.evaluated_name, alias.evaluated_alias) for alias in existing}
            added = [alias for alias in result.names if (alias.evaluated_name, alias.evaluated_alias) not in taken]
            if not added or not existing:
                return result
            separator = existing[0].comma if len(existing) > 1 else cst.MaybeSentinel.DEFAULT
            last_comma = existing[-1].comma
            names = [*existing[:-1], existing[-1].with_changes(comma=separator)]
            names += [alias.with_changes(comma=separator) for alias in added[:-1]]
            names.append(added[-1].with_changes(comma=last_comma))
            return result.with_changes(names=names)

    return LayoutKeepingAddImports(context, items)
