"""What a rule sees of a file or of the project, and the helpers it uses to report findings and build fixes.

Anchors may be stdlib `ast` nodes, ast-grep nodes, `(start, end)` offsets or a 1-based line number; each context
turns them into offsets, so rules never compute positions by hand.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, Union

from .findings import Edit, Finding, Fix, ImportChange, Safety
from .model import ApplicationModel, Module, model_of
from .pyast import walk
from .sources import SourceError, SourceFile

if TYPE_CHECKING:
    from .project import Project


class Reporter(Protocol):
    """What a context needs of the rule it reports for (the rule API's `Rule` is one)."""

    code: str
    slug: str
    safety: Safety
    url: str


Anchor = Union[ast.AST, tuple[int, int], int, Any]
FixSpec = Union[Edit, ImportChange, Sequence[Union[Edit, ImportChange, None]], None]
FixBuilder = Callable[[], FixSpec]  # a lazy fix: see FileContext.finding

TODO_MARK = "chatkit-fix: TODO[{code}]"
COMMENT_PREFIX = {"python": "# ", "tsx": "// ", "html": "<!-- ", "text": "# "}
COMMENT_SUFFIX = {"html": " -->"}


class FileContext:
    """Per-file state shared by every rule that runs on the file (one parse, many rules)."""

    language = "text"

    def __init__(self, source: SourceFile, project: Project):
        self.source = source
        self.project = project
        self.rule: Reporter | None = None  # set by the engine before each rule's check runs

    @property
    def path(self) -> Path:
        return self.source.path

    @property
    def text(self) -> str:
        return self.source.text

    @property
    def relative_path(self) -> str:
        return self.project.relative(self.path)

    @property
    def model(self) -> ApplicationModel:
        """The application model of the run (services, modules, names, calls, summaries)."""
        return model_of(self.project)

    # ---- positions --------------------------------------------------------------------------------------------------

    def span(self, anchor: Anchor) -> tuple[int, int]:
        """Offsets of an anchor; subclasses add their parser's node types."""
        if isinstance(anchor, tuple):
            return anchor
        if isinstance(anchor, int):
            start = self.source.offset(anchor, 0)
            return start, start + len(self.source.line_text(anchor))
        raise TypeError(f"cannot locate anchor {anchor!r}")

    def segment(self, anchor: Anchor) -> str:
        start, end = self.span(anchor)
        return self.text[start:end]

    def line_of(self, anchor: Anchor) -> int:
        return self.source.position(self.span(anchor)[0])[0]

    # ---- edits --------------------------------------------------------------------------------------------------------

    def replace(self, anchor: Anchor, text: str) -> Edit:
        start, end = self.span(anchor)
        return Edit(start, end, self.source.native_newlines(text))

    def insert(self, offset: int, text: str) -> Edit:
        return Edit(offset, offset, self.source.native_newlines(text))

    def delete(self, anchor: Anchor) -> Edit:
        start, end = self.span(anchor)
        return Edit(start, end, "")

    def delete_lines(self, anchor: Anchor) -> Edit:
        """Remove the whole lines an anchor covers, line endings included."""
        start, end = self.span(anchor)
        first, _ = self.source.position(start)
        last, _ = self.source.position(end)
        starts = self.source.line_starts
        end_offset = starts[last] if last < len(starts) else len(self.text)
        return Edit(starts[first - 1], end_offset, "")

    def has_todo(self, code: str) -> bool:
        return TODO_MARK.format(code=code) in self.text

    def todo(self, anchor: Anchor, message: str, code: str | None = None) -> Edit | None:
        """A `chatkit-fix: TODO[CKnnn] ...` comment above the anchor's line; None when the file already has one."""
        code = code or (self.rule.code if self.rule else "CK000")
        if self.has_todo(code):
            return None
        line = self.line_of(anchor)
        indent = self.source.indentation(line)
        prefix = COMMENT_PREFIX.get(self.language, "# ")
        suffix = COMMENT_SUFFIX.get(self.language, "")
        comment = f"{indent}{prefix}{TODO_MARK.format(code=code)} {message}{suffix}\n"
        return self.insert(self.source.offset(line, 0), comment)

    # ---- findings -------------------------------------------------------------------------------------------------

    def finding(
        self,
        anchor: Anchor,
        message: str,
        fix: FixSpec | FixBuilder = None,
        hint: str = "",
        safety: Safety | None = None,
        complete: bool | None = None,
        description: str = "",
    ) -> Finding:
        """A finding of the running rule at `anchor`; `fix` edits are applied together or not at all.

        `fix` is the edits, or a function of no arguments returning them: a lazy fix, built only when the run
        needs edits, by the engine, which keeps the finding report-only when building raises (`engine.settle_fix`).
        Bind what it needs when the finding is made (`functools.partial`, default arguments), not loop variables
        read later. `complete` defaults to whether the edits leave no `chatkit-fix: TODO[CKnnn]` marker.
        """
        assert self.rule is not None, "finding() is called from inside a rule check"
        start, end = self.span(anchor)
        line, col = self.source.position(start)
        end_line, end_col = self.source.position(end)
        fix_safety = safety or self.rule.safety
        made: Fix | None = None
        if fix_safety != Safety.REPORT:
            if callable(fix):
                made = Fix((), fix_safety, description or hint, complete is not False, built=False,
                           builder=self._fix_builder(fix, fix_safety, description or hint, complete))
            else:
                made = _fix(fix, fix_safety, description or hint, complete, self.rule.code)
        return Finding(
            code=self.rule.code,
            slug=self.rule.slug,
            path=self.path,
            line=line,
            col=col + 1,
            end_line=end_line,
            end_col=end_col + 1,
            message=message,
            hint=hint,
            url=self.rule.url,
            fix=made,
        )

    def _fix_builder(self, build: FixBuilder, safety: Safety, description: str, complete: bool | None):
        """`build` as the Fix it makes, run as the rule that reported (todo() and ensure_import() read it)."""
        rule = self.rule

        def built() -> Fix | None:
            running, self.rule = self.rule, rule
            try:
                return _fix(build(), safety, description, complete, rule.code)
            finally:
                self.rule = running

        return built


def _fix(spec: FixSpec, safety: Safety, description: str, complete: bool | None, code: str) -> Fix | None:
    """The Fix of a rule's edits and import changes; None when there are none."""
    edits, imports = _edits(spec)
    if not (edits or imports):
        return None
    if complete is None:
        marker = TODO_MARK.format(code=code)
        complete = not any(marker in edit.text for edit in edits)
    return Fix(edits, safety, description, complete, imports)


def _edits(fix: FixSpec) -> tuple[tuple[Edit, ...], tuple[ImportChange, ...]]:
    """A fix's text edits and its import changes, apart."""
    if fix is None:
        return (), ()
    parts = [fix] if isinstance(fix, (Edit, ImportChange)) else [part for part in fix if part is not None]
    edits = tuple(part for part in parts if isinstance(part, Edit))
    imports = tuple(sorted({part for part in parts if isinstance(part, ImportChange)}))
    return edits, imports


class PythonContext(FileContext):
    """A Python file: the stdlib tree, what names mean after imports, and libcst on demand for fixes."""

    language = "python"

    @cached_property
    def tree(self) -> ast.Module:
        """The application model's parse of this text (one parse per file, shared with every cross-file question)."""
        module = self.model.module(self.path)
        if module is not None and module.text == self.text:
            return module.tree
        try:
            return ast.parse(self.text, filename=str(self.path), type_comments=False)
        except SyntaxError as exc:
            raise SourceError(self.path, f"cannot parse: {exc.msg}", exc.lineno or 1) from None
        except (ValueError, RecursionError, MemoryError) as exc:
            raise SourceError(self.path, f"cannot parse: {exc}") from None

    @cached_property
    def module_name(self) -> str:
        return self.model.services.module_name(self.path)

    @cached_property
    def module(self) -> Module:
        """This file as a module of the application model (the same tree as `tree`)."""
        module = self.model.module(self.path)
        if module is None or module.tree is not self.tree:
            module = self.model.detached(self.path, self.text, self.tree)
        return module

    @cached_property
    def imports(self):
        from .pyast import ImportMap

        return ImportMap(self.tree, self.module_name, self.path.name == "__init__.py")

    @cached_property
    def parents(self) -> dict[ast.AST, ast.AST]:
        from .pyast import parent_map

        return parent_map(self.tree)

    def span(self, anchor: Anchor) -> tuple[int, int]:
        if isinstance(anchor, ast.AST):
            node = anchor
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.decorator_list:
                # the statement starts at `def`/`class`; decorators sit above it
                start = self._def_keyword_offset(node)
            else:
                start = self.source.offset_from_utf8(node.lineno, node.col_offset)
            end = self.source.offset_from_utf8(node.end_lineno or node.lineno, node.end_col_offset or 0)
            return start, end
        return super().span(anchor)

    def full_span(self, node: ast.AST) -> tuple[int, int]:
        """Like span(), but a decorated definition starts at its first decorator."""
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.decorator_list:
            first = node.decorator_list[0]
            start = self.source.offset_from_utf8(first.lineno, first.col_offset) - 1  # the `@`
            return start, self.span(node)[1]
        return self.span(node)

    def _def_keyword_offset(self, node: ast.AST) -> int:
        last = node.decorator_list[-1]
        offset = self.source.offset_from_utf8(last.end_lineno, last.end_col_offset)
        keyword = "class" if isinstance(node, ast.ClassDef) else ("async" if isinstance(node, ast.AsyncFunctionDef) else "def")
        found = self.text.find(keyword, offset)
        return found if found >= 0 else offset

    def header_span(self, node: ast.AST) -> tuple[int, int]:
        """The first line of a statement: where a finding about a `def` or a call sits."""
        start, end = self.span(node)
        line_end = self.text.find("\n", start)
        return start, min(end, line_end if line_end >= 0 else end)

    def refers_to(self, node: ast.AST, package: str, symbol: str) -> bool:
        return self.imports.refers_to(node, package, symbol)

    def calls(self) -> Iterable[ast.Call]:
        return (node for node in walk(self.tree) if isinstance(node, ast.Call))

    def calls_to(self, package: str, symbol: str) -> Iterable[ast.Call]:
        return (call for call in self.calls() if self.refers_to(call.func, package, symbol))

    def ensure_import(self, module: str, name: str) -> tuple[str, ImportChange | None]:
        """The local name of `module.name`, plus the import a fix needs when the file does not bind it yet (placed
        by libcst when the fix is applied: imports.py)."""
        for local, qualified in self.imports.names.items():
            if f"{module}.{name}" in qualified:
                return local, None
        for statement in self.tree.body:
            if isinstance(statement, ast.ImportFrom) and statement.module == module and statement.level == 0:
                if any(alias.name == "*" for alias in statement.names):
                    return name, None
        return name, ImportChange(module, name)

    def ensure_module(self, module: str) -> tuple[str, ImportChange | None]:
        """The local name of `import module` at top level, plus the import a fix needs when the file lacks it."""
        for statement in self.tree.body:
            if isinstance(statement, ast.Import):
                for alias in statement.names:
                    if alias.name == module:
                        return alias.asname or module, None
                    if alias.asname is None and alias.name.startswith(module + "."):
                        return module, None
        return module, ImportChange(module)

    def string_literal(self, text: str) -> str:
        """A Python string literal in the quote style the file already uses."""
        double = self.text.count('"')
        single = self.text.count("'")
        quote = "'" if single > double else '"'
        return quote + text.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


class TsxContext(FileContext):
    """A TS/JS/TSX/JSX file parsed with tree-sitter through ast-grep-py."""

    language = "tsx"

    @cached_property
    def root(self):
        from ast_grep_py import SgRoot

        grammar = "tsx" if self.path.suffix.lower() in (".tsx", ".jsx", ".js", ".mjs", ".cjs") else "typescript"
        return SgRoot(self.text, grammar).root()

    def span(self, anchor: Anchor) -> tuple[int, int]:
        if hasattr(anchor, "range") and callable(anchor.range):
            rng = anchor.range()
            return rng.start.index, rng.end.index
        return super().span(anchor)


class HtmlContext(FileContext):
    """An HTML file; `tags` lists start/end tags with offsets from the stdlib HTML parser."""

    language = "html"

    @cached_property
    def tags(self) -> list[HtmlTag]:
        return parse_html_tags(self.source)


class TextContext(FileContext):
    """Any other text file (Dockerfile, compose, Procfile, .sh, .http, .json)."""

    language = "text"


class HtmlTag:
    __slots__ = ("name", "attrs", "start", "end", "closing")

    def __init__(self, name: str, attrs: dict[str, str | None], start: int, end: int, closing: bool):
        self.name, self.attrs, self.start, self.end, self.closing = name, attrs, start, end, closing

    def range(self):  # lets a tag be used as an anchor
        return (self.start, self.end)


def parse_html_tags(source: SourceFile) -> list[HtmlTag]:
    from html.parser import HTMLParser

    tags: list[HtmlTag] = []

    class Collector(HTMLParser):
        def _offset(self) -> int:
            line, col = self.getpos()
            return source.offset(line, col)

        def handle_starttag(self, tag, attrs):
            start = self._offset()
            text = self.get_starttag_text() or ""
            tags.append(HtmlTag(tag, dict(attrs), start, start + len(text), False))

        def handle_startendtag(self, tag, attrs):
            self.handle_starttag(tag, attrs)

        def handle_endtag(self, tag):
            start = self._offset()
            end = source.text.find(">", start)
            tags.append(HtmlTag(tag, {}, start, end + 1 if end >= 0 else start, True))

    collector = Collector(convert_charrefs=True)
    collector.feed(source.text)
    collector.close()
    return tags


CONTEXT_TYPES: dict[str, type[FileContext]] = {
    "python": PythonContext,
    "tsx": TsxContext,
    "html": HtmlContext,
    "text": TextContext,
}


def context_for(source: SourceFile, project: Project) -> FileContext:
    return CONTEXT_TYPES[source.language](source, project)


class ProjectContext:
    """What a cross-file rule sees: the project and one cached context per file it asks for."""

    def __init__(self, project: Project, sources: dict[Path, SourceFile] | None = None):
        self.project = project
        self._sources = sources if sources is not None else {}
        self._contexts: dict[Path, FileContext] = {}
        self.rule: Reporter | None = None
        self._memos: dict[int, dict[str, object]] = {0: {}}
        self.memo: dict[str, object] = self._memos[0]  # facts rules derive once per run and view; cleared on fixes
        self.whole_memo: dict[str, object] = {}  # facts that no Python view changes (the front end's); cleared on fixes

    @property
    def model(self) -> ApplicationModel:
        return model_of(self.project)

    def view(self, index: int) -> None:
        """The checks now see view `index` of Scope.views(): its own memo, the same parsed files."""
        self.memo = self._memos.setdefault(index, {})

    def replace_sources(self, sources: dict[Path, SourceFile]) -> None:
        """Fixed files replace their old text; every other parsed file stays cached."""
        for path, source in sources.items():
            self._sources[path] = source
            self._contexts.pop(path, None)
        for memo in self._memos.values():
            memo.clear()
        self.whole_memo.clear()

    def context(self, path: Path) -> FileContext | None:
        """The file's context, or None when it cannot be read or decoded (reported by the per-file pass)."""
        if path not in self._contexts:
            source = self._sources.get(path)
            if source is None:
                try:
                    source = SourceFile.from_bytes(path, self.project.read_bytes(path), None)
                except SourceError:
                    return None
                self._sources[path] = source
            self._contexts[path] = context_for(source, self.project)
        ctx = self._contexts[path]
        ctx.rule = self.rule
        return ctx

    def parsed(self, path: Path) -> FileContext | None:
        """Like context(), but None for a Python file that does not parse."""
        ctx = self.context(path)
        if isinstance(ctx, PythonContext):
            try:
                ctx.tree  # noqa: B018 - parse now so rules can rely on it
            except SourceError:
                return None
        return ctx


_COMMENT_RE = re.compile(r"chatkit-fix:\s*ignore(?:\[([A-Za-z0-9_,\s]*)\])?")
_COMMENT_OPENERS = ("#", "//", "/*", "<!--", "{/*")


def suppressions(text: str) -> dict[int, set[str] | None]:
    """Line number -> suppressed codes (None: all), for `chatkit-fix: ignore[...]` inside a comment.

    A comment suppresses its own line and, when it stands alone on its line, the next line too.
    """
    if "chatkit-fix:" not in text:
        return {}
    result: dict[int, set[str] | None] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _COMMENT_RE.search(line)
        if not match:
            continue
        before = line[: match.start()]
        if not any(opener in before for opener in _COMMENT_OPENERS):
            continue
        codes = None if match.group(1) is None else {c.strip().upper() for c in match.group(1).split(",") if c.strip()}
        targets = [number]
        if before.strip() in _COMMENT_OPENERS:
            targets.append(number + 1)
        for target in targets:
            existing = result.get(target, set())
            result[target] = None if codes is None or existing is None else existing | codes
    return result


def is_suppressed(finding: Finding, table: dict[int, set[str] | None]) -> bool:
    if finding.line not in table:
        return False
    codes = table[finding.line]
    return codes is None or finding.code in codes
