"""The front-end project model every CK1xx rule reads: front-end roots and their entries, the import graph, what is
reachable from a page, layout or entry, the ChatKit usages with their options resolved, and the scripts that load
chatkit.js. A small recogniser of the back end's ChatKit endpoints (paths, bearer-token auth) serves CK103 and CK108.

Code is read with ast-grep-py (tree-sitter TSX/TypeScript grammars) and HTML with the stdlib parser; no regular
expression ever runs over TSX. The model is built once per run and cached on the Project; it is rebuilt when any file
it read changes (the engine's fix passes update the project's bytes). Its first step is a byte search for "chatkit",
so a tree without ChatKit costs one `grep` and nothing more.

Reachability is computed backwards: from a file that mentions ChatKit, up through the files that import it (found by
a byte search for the module's name, then confirmed by parsing), until an entry: a Next page/layout, a pages-router
page, `index.html` or the module script it loads, `main.tsx`/`index.tsx`, or a Docusaurus theme component or page.
"""

from __future__ import annotations

import ast
import json
import os
import posixpath
import re
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from ..model import model_of
from ..project import inside, watch
from ..pyast import walk
from ..sources import HTML_SUFFIXES, SourceError, SourceFile

CDN_URL = "https://cdn.platform.openai.com/deployments/chatkit/chatkit.js"
REACT_PACKAGE = "@openai/chatkit-react"
NEXT_ENTRY_STEMS = ("page", "layout", "template", "default", "loading", "error", "not-found", "global-error")
CONVENTIONAL_ENTRIES = ("src/main", "src/index", "main", "index", "app/root", "app/entry.client")
DECLARATION_SUFFIXES = (".d.ts", ".d.mts", ".d.cts", ".d.tsx")  # type declarations: nothing in them runs or renders
# package.json fields of a package published for others to import
LIBRARY_FIELDS = ("exports", "module", "types", "typings")
# `<script type=…>` values whose content is JavaScript (JSON, import maps and templates are not)
INLINE_SCRIPT_TYPES = ("", "module", "text/javascript", "application/javascript", "text/ecmascript",
                       "application/ecmascript", "text/babel", "text/jsx")


_CHAT_KIT = re.compile(rb"hat[Kk]it")  # a literal prefix: one fast pass (lowering the bytes would copy them)
# ChatKit, chatkit, Chatkit, chatKit, CHATKIT
MENTIONS_CHATKIT = watch(("tsx", "html"), lambda data: _CHAT_KIT.search(data) is not None or b"HATKIT" in data)
# where a chatkit.js URL may be written: ChatKit named next to an absolute or protocol-relative URL
NAMES_A_CHATKIT_URL = watch(("tsx", "html"), (MENTIONS_CHATKIT, b"//"))
CONVENTIONAL_STEMS = frozenset(entry.rsplit("/", 1)[-1] for entry in CONVENTIONAL_ENTRIES)
RESOLVE_SUFFIXES = (".tsx", ".ts", ".jsx", ".js", ".mjs", ".cjs", ".mts", ".cts")
FUNCTION_KINDS = ("arrow_function", "function_expression", "function_declaration", "method_definition", "function")
WRAPPER_KINDS = ("parenthesized_expression", "as_expression", "satisfies_expression", "non_null_expression",
                 "type_assertion")
NEAR_MISS_HOSTS = ("cdn.jsdelivr.net", "unpkg.com", "esm.sh", "cdn.skypack.dev", "ga.jspm.io", "jspm.dev",
                   "cdnjs.cloudflare.com")


def _stem(name: str) -> str:
    return os.path.splitext(name)[0]  # as Path.stem: "page.test.tsx" -> "page.test"


def _suffix(name: str) -> str:
    return os.path.splitext(name)[1]


# ---- small helpers on ast-grep nodes ---------------------------------------------------------------------------------

# id -> tree of the files parsed with the plain TypeScript grammar, which has no JSX kinds: asking it for one raises,
# and with RUST_BACKTRACE set the first such error costs ~50 ms of backtrace capture (see ScriptFile)
_WITHOUT_JSX: dict[int, object] = {}


def find_all(node, kind: str) -> list:
    """`node.find_all(kind=...)`, empty when the grammar has no such kind (JSX kinds in `.ts` files)."""
    if kind.startswith("jsx_") and id(node.get_root()) in _WITHOUT_JSX:
        return []
    try:
        return node.find_all(kind=kind)
    except RuntimeError:
        return []


def span(node) -> tuple[int, int]:
    rng = node.range()
    return rng.start.index, rng.end.index


def first_line_span(text: str, node) -> tuple[int, int]:
    """The span of a node cut at the end of its first line: where a finding about a multi-line node sits."""
    start, end = span(node)
    line_end = text.find("\n", start)
    return start, (line_end if start < line_end < end else end)


def unwrap(node):
    """Strip parentheses, `as`, `satisfies`, `!` and type assertions around an expression."""
    while node is not None and node.kind() in WRAPPER_KINDS:
        inner = node.field("expression") if node.kind() != "parenthesized_expression" else None
        if inner is None:
            named = [c for c in node.named_children() if c.kind() != "comment"]
            inner = named[0] if named else None
        node = inner
    return node


def string_value(node) -> str | None:
    """The value of a string literal or a template string without substitutions."""
    if node is None:
        return None
    kind = node.kind()
    if kind == "string":
        return _literal_text(node)
    if kind == "template_string":
        if any(c.kind() == "template_substitution" for c in node.children()):
            return None
        return _literal_text(node)
    return None


def _literal_text(node) -> str:
    text = node.text()
    inner = text[1:-1] if len(text) >= 2 else ""
    if "\\" not in inner:
        return inner
    out, index = [], 0
    while index < len(inner):
        if inner[index] == "\\" and index + 1 < len(inner):
            out.append(inner[index + 1])
            index += 2
        else:
            out.append(inner[index])
            index += 1
    return "".join(out)


def string_content_span(node) -> tuple[int, int]:
    """Offsets of a string literal's content, without its quotes."""
    start, end = span(node)
    return start + 1, end - 1


def property_key(node) -> str | None:
    """The key of an object member (`pair`, shorthand, method), as text."""
    kind = node.kind()
    if kind == "pair":
        key = node.field("key")
        if key is None:
            return None
        if key.kind() in ("string", "template_string"):
            return string_value(key)
        if key.kind() == "computed_property_name":
            inner = [c for c in key.named_children()]
            return string_value(inner[0]) if inner else None
        return key.text()
    if kind == "shorthand_property_identifier":
        return node.text()
    if kind == "method_definition":
        name = node.field("name")
        return name.text() if name is not None else None
    return None


def key_literal(pair, quote: str) -> str | None:
    """The key of an object `pair` as a string literal, written with `quote` when it is a bare name; None when it is
    computed."""
    key = pair.field("key")
    if key.kind() == "string":
        return key.text()
    if key.kind() == "property_identifier":
        return f"{quote}{key.text()}{quote}"
    return None


def jsx_name(element) -> str:
    """`ChatKit`, `NS.ChatKit`, `openai-chatkit` for a JSX element (self-closing or not)."""
    opening = element if element.kind() in ("jsx_self_closing_element", "jsx_opening_element") else element.child(0)
    if opening is None:
        return ""
    name = opening.field("name")
    return name.text() if name is not None else ""


def opening_of(element):
    """The node holding a JSX element's attributes."""
    if element.kind() == "jsx_element":
        return element.field("open_tag") or element.child(0)
    return element


def jsx_attributes(element) -> dict[str, object]:
    """Attribute name -> attribute node (`jsx_attribute`), for the element's opening tag."""
    opening = opening_of(element)
    found: dict[str, object] = {}
    if opening is None:
        return found
    for child in opening.named_children():
        if child.kind() == "jsx_attribute":
            named = child.named_children()
            if named:
                found[named[0].text()] = child
    return found


def has_spread_attributes(element) -> bool:
    opening = opening_of(element)
    return opening is not None and any(c.kind() == "jsx_expression" for c in opening.named_children())


def attribute_value(attribute):
    """The value node of a JSX attribute (a string, or the expression inside `{...}`); None for a bare attribute."""
    named = attribute.named_children()
    if len(named) < 2:
        return None
    value = named[-1]
    if value.kind() == "jsx_expression":
        inner = [c for c in value.named_children() if c.kind() != "comment"]
        return inner[0] if inner else None
    return value


def is_function(node) -> bool:
    return node is not None and node.kind() in FUNCTION_KINDS


def function_body(function):
    return function.field("body")


def function_parameters(function) -> list[str]:
    """Parameter names of a function (`None`-free; a destructured parameter counts as '')."""
    params = function.field("parameters")
    if params is None:
        single = function.field("parameter")
        return [single.text()] if single is not None else []
    names = []
    for param in params.named_children():
        if param.kind() in ("required_parameter", "optional_parameter"):
            pattern = param.field("pattern")
            names.append(pattern.text() if pattern is not None and pattern.kind() == "identifier" else "")
        elif param.kind() == "identifier":
            names.append(param.text())
        elif param.kind() != "comment":
            names.append("")
    return names


def bound_names(function) -> set[str]:
    """Every name a function's parameters bind, destructured ones included (`({ token, api: { url } })`)."""
    params = function.field("parameters") or function.field("parameter")
    names: set[str] = set()
    if params is None:
        return names
    if params.kind() == "identifier":
        return {params.text()}
    for kind in ("identifier", "shorthand_property_identifier_pattern"):
        for node in find_all(params, kind):
            parent = node.parent()
            if parent is not None and parent.kind() in ("type_annotation", "pair_pattern") and node != parent.field("value"):
                continue
            if _in_default_value(node, params):
                continue  # `{ getToken = readStoredToken }` binds getToken, not readStoredToken
            names.add(node.text())
    return names


def _in_default_value(node, params) -> bool:
    """Whether `node` lies in the default value of a parameter (the right of `=` in the parameter list)."""
    child = node
    for parent in ancestors(node):
        if parent.kind() in ("object_assignment_pattern", "assignment_pattern") and child == parent.field("right"):
            return True
        if parent == params:
            return False
        child = parent
    return False


def ancestors(node) -> Iterator:
    current = node.parent()
    while current is not None:
        yield current
        current = current.parent()


def enclosing_function(node):
    for parent in ancestors(node):
        if parent.kind() in FUNCTION_KINDS:
            return parent
    return None


def statement_of(node):
    """The statement (a child of a block or the program) that contains `node`."""
    current = node
    for parent in ancestors(node):
        if parent.kind() in ("statement_block", "program", "switch_case", "class_body"):
            return current
        current = parent
    return current


def line_indent(text: str, offset: int) -> str:
    start = text.rfind("\n", 0, offset) + 1
    end = start
    while end < len(text) and text[end] in " \t":
        end += 1
    return text[start:end]


def at_line_start(text: str, offset: int) -> bool:
    start = text.rfind("\n", 0, offset) + 1
    return not text[start:offset].strip()


def indent_unit(text: str) -> str:
    """The file's indentation step: a tab, or the smallest run of leading spaces (2 when unknown)."""
    smallest = 0
    for line in text.splitlines():
        stripped = line.lstrip(" ")
        if line.startswith("\t"):
            return "\t"
        width = len(line) - len(stripped)
        if width and stripped and (not smallest or width < smallest):
            smallest = width
    return " " * (smallest if 2 <= smallest <= 8 else 2)


def quote_of(text: str) -> str:
    """The string quote the file prefers in import sources and attribute values."""
    return "'" if text.count("'") > text.count('"') else '"'


def is_typescript(path: Path) -> bool:
    return path.suffix.lower() in (".ts", ".tsx", ".mts", ".cts")


def uses_semicolons(text: str, root) -> bool:
    statements = [c for c in root.children() if c.kind() in ("import_statement", "lexical_declaration", "expression_statement")]
    if not statements:
        return True
    ending = sum(1 for s in statements if s.text().rstrip().endswith(";"))
    return ending * 2 >= len(statements)


def _jsonc(text: str):
    """Parse JSON with comments and trailing commas (tsconfig.json)."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        ch = text[i]
        if in_string:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if ch == '"':
                in_string = False
            i += 1
            continue
        if ch == '"':
            in_string = True
            out.append(ch)
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
        else:
            out.append(ch)
            i += 1
    cleaned = "".join(out)
    # drop trailing commas before } or ]
    result: list[str] = []
    in_string = False
    for index, ch in enumerate(cleaned):
        if in_string:
            result.append(ch)
            if ch == '"' and cleaned[index - 1] != "\\":
                in_string = False
            continue
        if ch == '"':
            in_string = True
        if ch == ",":
            rest = cleaned[index + 1:].lstrip()
            if rest.startswith(("}", "]")):
                continue
        result.append(ch)
    try:
        return json.loads("".join(result))
    except ValueError:
        return None


def classify_url(url: str) -> str | None:
    """'official' for the CDN URL, 'near-miss' for a wrong chatkit.js location, 'self-hosted' for a chatkit.js the
    project serves itself (a copy, or its own route proxying the CDN), None for anything else."""
    text = url.strip()
    if text.startswith("//"):
        text = "https:" + text
    if text == CDN_URL or text.startswith((CDN_URL + "?", CDN_URL + "#")):
        return "official"
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    path = parts.path.lower()
    if host.endswith("openai.com") and "chatkit" in path:
        return "near-miss"
    if host in NEAR_MISS_HOSTS and "@openai/chatkit" in path:
        return "near-miss"
    if posixpath.basename(path) == "chatkit.js" and (host or not parts.scheme):
        return "self-hosted"
    return None


def url_path(url: str) -> str | None:
    """The path of an absolute or root-relative URL, without query and trailing slash."""
    text = url.strip()
    if "://" in text:
        try:
            text = urlsplit(text).path or "/"
        except ValueError:
            return None
    elif text.startswith("//"):
        text = urlsplit("https:" + text).path or "/"
    text = text.split("?", 1)[0].split("#", 1)[0]
    if not text.startswith("/"):
        text = "/" + text
    return text.rstrip("/") or "/"


# ---- parsed files ----------------------------------------------------------------------------------------------------

@dataclass
class ImportRef:
    specifier: str
    kind: str  # static | reexport | dynamic | require | html
    names: dict[str, str] = field(default_factory=dict)  # local -> imported ("default", "*", or the name)
    node: object = None


class ScriptFile:
    """A TS/JS file: its text, tree and imports."""

    def __init__(self, path: Path, text: str):
        from ast_grep_py import SgRoot

        self.path = path
        self.text = text
        grammar = "typescript" if path.suffix.lower() in (".ts", ".mts", ".cts") else "tsx"
        tree = SgRoot(text, grammar)
        self.root = tree.root()
        if grammar == "typescript":  # held while this file is: its id cannot be reused meanwhile
            _WITHOUT_JSX[id(tree)] = tree
            weakref.finalize(self, _WITHOUT_JSX.pop, id(tree), None)

    @cached_property
    def imports(self) -> list[ImportRef]:
        refs: list[ImportRef] = []
        for node in self.root.children():
            kind = node.kind()
            if kind == "import_statement":
                source = node.field("source")
                spec = string_value(source)
                if spec is None:
                    continue
                refs.append(ImportRef(spec, "static", _import_names(node), node))
            elif kind == "export_statement":
                source = node.field("source")
                spec = string_value(source) if source is not None else None
                if spec is not None:
                    refs.append(ImportRef(spec, "reexport", {}, node))
        for call in find_all(self.root, "call_expression"):
            callee = call.field("function")
            if callee is None:
                continue
            args = call.field("arguments")
            first = args.named_children()[0] if args is not None and args.named_children() else None
            spec = string_value(first)
            if spec is None:
                continue
            if callee.kind() == "import":
                refs.append(ImportRef(spec, "dynamic", {}, call))
            elif callee.kind() == "identifier" and callee.text() == "require":
                refs.append(ImportRef(spec, "require", {}, call))
        return refs

    def imported_from(self, package: str) -> dict[str, str]:
        """Local name -> imported name for the static imports of `package`."""
        names: dict[str, str] = {}
        for ref in self.imports:
            if ref.specifier == package and ref.kind == "static":
                names.update(ref.names)
        return names

    def imports_package(self, package: str) -> bool:
        return any(ref.specifier == package for ref in self.imports)

    @cached_property
    def declared_names(self) -> set[str]:
        """Names declared anywhere in the file (variables, functions, classes, imports, parameters)."""
        names: set[str] = set()
        for kind in ("variable_declarator", "function_declaration", "class_declaration"):
            for node in find_all(self.root, kind):
                name = node.field("name")
                if name is not None and name.kind() == "identifier":
                    names.add(name.text())
        for ref in self.imports:
            names.update(ref.names)
        return names

    @cached_property
    def last_import(self):
        last = None
        for node in self.root.children():
            if node.kind() == "import_statement":
                last = node
        return last


def _import_names(statement) -> dict[str, str]:
    names: dict[str, str] = {}
    clause = next((c for c in statement.children() if c.kind() == "import_clause"), None)
    if clause is None:
        return names
    for child in clause.children():
        if child.kind() == "identifier":
            names[child.text()] = "default"
        elif child.kind() == "namespace_import":
            ident = next((c for c in child.children() if c.kind() == "identifier"), None)
            if ident is not None:
                names[ident.text()] = "*"
        elif child.kind() == "named_imports":
            for spec in child.children():
                if spec.kind() != "import_specifier":
                    continue
                idents = [c for c in spec.children() if c.kind() in ("identifier", "string")]
                if not idents:
                    continue
                imported = string_value(idents[0]) if idents[0].kind() == "string" else idents[0].text()
                local = idents[-1].text()
                names[local] = imported or local
    return names


class HtmlFile:
    """An HTML file: its tags (stdlib parser) and the module scripts it loads."""

    def __init__(self, path: Path, source: SourceFile):
        from ..context import parse_html_tags

        self.path = path
        self.text = source.text
        self.tags = parse_html_tags(source)

    @cached_property
    def imports(self) -> list[ImportRef]:
        refs = []
        for tag in self.tags:
            if tag.name == "script" and not tag.closing:
                src = tag.attrs.get("src")
                if src and "://" not in src and not src.startswith("//"):
                    refs.append(ImportRef(src, "html", {}, tag))
        if self.inline_script is not None:
            refs.extend(ref for ref in self.inline_script.imports if ref.kind in ("static", "dynamic"))
        return refs

    @cached_property
    def inline_script(self) -> ScriptFile | None:
        """The page's inline JavaScript as one script whose offsets are the page's own: everything outside the
        `<script>` elements is blanked (newlines kept), so a node's position is its position in the HTML file.
        Classic scripts share one global scope, as one program does; None when the page has no inline script."""
        pieces = []
        opened = None
        for tag in self.tags:
            if tag.name != "script":
                continue
            if not tag.closing:
                kind = (tag.attrs.get("type") or "").strip().lower()
                opened = tag if kind in INLINE_SCRIPT_TYPES and not tag.attrs.get("src") else None
            elif opened is not None:
                if self.text[opened.end:tag.start].strip():
                    pieces.append((opened.end, tag.start))
                opened = None
        if not pieces:
            return None
        blank = re.sub(r"[^\r\n]", " ", self.text)
        chars = list(blank)
        for start, end in pieces:
            chars[start:end] = self.text[start:end]
            if end < len(chars):
                chars[end] = ";"  # where `</script>` stood: one script's last statement never runs into the next
        return ScriptFile(self.path, "".join(chars))

    def attribute_span(self, tag, name: str) -> tuple[int, int] | None:
        """Offsets of an attribute's value inside a start tag."""
        value = tag.attrs.get(name)
        if value is None:
            return None
        segment = self.text[tag.start:tag.end]
        lowered = segment.lower()
        position = 0
        while True:
            index = lowered.find(name, position)
            if index < 0:
                return None
            rest = segment[index + len(name):]
            stripped = rest.lstrip()
            if stripped.startswith("="):
                after = stripped[1:].lstrip()
                offset = tag.start + index + len(name) + (len(rest) - len(after))
                if after[:1] in ("'", '"'):
                    return offset + 1, offset + 1 + len(value)
                return offset, offset + len(value)
            position = index + len(name)


# ---- front-end roots -------------------------------------------------------------------------------------------------

@dataclass
class FrontendRoot:
    path: Path
    dependencies: dict[str, str] = field(default_factory=dict)
    aliases: list[tuple[str, list[Path]]] = field(default_factory=list)  # ("@/*", [abs target pattern dirs])
    app_dirs: list[Path] = field(default_factory=list)
    pages_dirs: list[Path] = field(default_factory=list)
    html_files: list[Path] = field(default_factory=list)
    docusaurus_config: Path | None = None
    vite_config: Path | None = None
    next_config: Path | None = None
    package_name: str | None = None
    library: bool = False  # a package published for others to import (`exports`, `module`, `types`): not an app

    @property
    def is_next(self) -> bool:
        return "next" in self.dependencies or bool(self.app_dirs) or self.next_config is not None

    @property
    def uses_tailwind(self) -> bool:
        return "tailwindcss" in self.dependencies or "@tailwindcss/vite" in self.dependencies or \
            "@tailwindcss/postcss" in self.dependencies


# ---- ChatKit usages ------------------------------------------------------------------------------------------------

@dataclass
class Prop:
    """One member of a resolved object: where it is written and its value node (None for a method)."""

    key: str
    path: Path
    node: object  # pair | shorthand_property_identifier | method_definition
    value: object  # the value expression, or the method node

    @property
    def kind(self) -> str:
        return self.node.kind()


@dataclass
class ObjectValue:
    """An object literal resolved through consts, imports and spreads; `opaque` when some part is unknown."""

    path: Path | None
    node: object | None
    props: dict[str, Prop] = field(default_factory=dict)
    opaque: bool = False

    def get(self, key: str) -> Prop | None:
        return self.props.get(key)

    @property
    def literal(self) -> bool:
        return self.node is not None and self.node.kind() == "object"


@dataclass
class Usage:
    """A `useChatKit(options)` call or an `<openai-chatkit>` element's `setOptions(options)`."""

    path: Path
    call: object
    kind: str  # hook | setOptions
    options: ObjectValue
    api: ObjectValue | None
    bindings: dict = field(default_factory=dict)  # parameters bound while resolving it (see FrontendModel.bound)

    @property
    def hosted(self) -> bool:
        return self.api is not None and self.api.get("getClientSecret") is not None

    @property
    def custom(self) -> bool:
        return self.api is not None and self.api.get("url") is not None


@dataclass
class Element:
    """A rendered ChatKit: `<ChatKit>` (react), `<openai-chatkit>` (raw JSX or HTML) or `createElement`."""

    path: Path
    node: object  # ast-grep node, or an HtmlTag
    kind: str  # react | raw | created | html


@dataclass
class ScriptRef:
    """A place that names a chatkit.js URL (script tag, next/script, createElement, Docusaurus config, a const)."""

    path: Path
    span: tuple[int, int]  # the URL text (without quotes)
    url: str
    verdict: str  # official | near-miss | self-hosted
    loads: bool = True  # written where a script is loaded from (see `loads_script_from`), not any string naming it


@dataclass
class StrPart:
    text: str | None  # None: unknown at analysis time
    path: Path | None = None
    span: tuple[int, int] | None = None  # where this literal text sits (for fixes)


@dataclass
class Endpoint:
    """A back-end route whose handler reaches `ChatKitServer.process`."""

    paths: list[str]
    path: Path
    line: int
    requires_bearer: bool
    prefix_known: bool = True


# ---- the model -------------------------------------------------------------------------------------------------------

class FrontendModel:
    def __init__(self, project):
        self.project = project
        self._seen: dict[Path, bytes] = {}
        self._parsed: dict[Path, object] = {}
        self._edges: dict[Path, set[Path]] = {}
        self._reaching: dict[Path, frozenset[Path]] = {}
        self._root_files: dict[Path, list[Path]] = {}
        # (file, start of a function, parameter name) -> (file, expression): what a component's prop or a helper's
        # parameter stands for while one usage is resolved (see `bound`)
        self._bindings: dict[tuple[Path, int, str], tuple[Path, object]] = {}
        self.script_files = project.all_files_of("tsx")  # sources.SCRIPT_SUFFIXES
        self.html_files = project.all_files_of("html")  # sources.HTML_SUFFIXES
        self.file_set = set(self.script_files) | set(self.html_files)
        self.chatkit_files = [
            p for p in self.script_files + self.html_files
            if not p.name.endswith(DECLARATION_SUFFIXES) and project.holds(p, MENTIONS_CHATKIT)
        ]
        self._updates_seen = len(project.updates)

    # ---- bytes, freshness --------------------------------------------------------------------------------------

    def _bytes(self, path: Path) -> bytes:
        data = self.project.read_bytes(path)
        self._seen[path] = data
        return data

    def fresh(self) -> bool:
        """No front-end file changed since the model was built (a fix may make a layout name ChatKit)."""
        project = self.project
        if any(p in self.file_set for p in project.updates[self._updates_seen:]):
            return False
        read = project.read_bytes
        return all(read(path) is data for path, data in self._seen.items())

    @property
    def relevant(self) -> bool:
        return bool(self.chatkit_files)

    def source(self, path: Path) -> SourceFile | None:
        try:
            return SourceFile.from_bytes(path, self._bytes(path))
        except SourceError:
            return None

    def parse(self, path: Path):
        """The file's ScriptFile or HtmlFile (None when it cannot be decoded)."""
        if path not in self._parsed:
            source = self.source(path)
            if source is None:
                self._parsed[path] = None
            elif path.suffix.lower() in HTML_SUFFIXES:
                self._parsed[path] = HtmlFile(path, source)
            else:
                self._parsed[path] = ScriptFile(path, source.text)
        return self._parsed[path]

    def script(self, path: Path) -> ScriptFile | None:
        """The file's script: a TS/JS file's own, an HTML page's inline scripts (see HtmlFile.inline_script)."""
        parsed = self.parse(path)
        if isinstance(parsed, HtmlFile):
            return parsed.inline_script
        return parsed

    # ---- roots -------------------------------------------------------------------------------------------------

    @cached_property
    def roots(self) -> list[FrontendRoot]:
        folders = [Path(p) for p in self.project.frontend_roots] or [self.project.root]
        if self.project.root not in folders:
            folders.append(self.project.root)
        folders = sorted(set(folders), key=lambda p: len(p.parts))
        # each script and HTML file belongs to the deepest root holding it
        owned: dict[Path, list[Path]] = {folder: [] for folder in folders}
        deepest_first = [(folder, str(folder)) for folder in folders[::-1]]
        for path in self.script_files + self.html_files:
            text = str(path)
            owner = next((folder for folder, base in deepest_first if inside(text, base)), None)
            if owner is not None:
                owned[owner].append(path)
        return [self._make_root(folder, owned[folder]) for folder in folders]

    def root_of(self, path: Path) -> FrontendRoot:
        best = self.roots[0]
        for root in self.roots:
            if inside(path, root.path) and len(root.path.parts) >= len(best.path.parts):
                best = root
        return best

    def _make_root(self, folder: Path, owned: list[Path]) -> FrontendRoot:
        """The root at `folder`, owning the script and HTML files `owned` (those of no deeper root)."""
        root = FrontendRoot(folder)
        package = folder / "package.json"
        if package.is_file():
            try:
                document = json.loads(self.project.read_bytes(package) or b"{}")
            except ValueError:
                document = {}
            if isinstance(document, dict):
                for section in ("dependencies", "devDependencies", "peerDependencies"):
                    deps = document.get(section)
                    if isinstance(deps, dict):
                        root.dependencies.update({str(k): str(v) for k, v in deps.items()})
                if isinstance(document.get("name"), str):
                    root.package_name = document["name"]
                root.library = any(key in document for key in LIBRARY_FIELDS)
        # strings, not Path objects: the project root may own thousands of files (vendored packages)
        base = str(folder)
        files = [(path, *os.path.split(str(path))) for path in owned]
        at_root = {name: path for path, parent, name in files if parent == base}
        root.aliases = self._aliases(folder, at_root)
        for candidate in (folder / "app", folder / "src" / "app"):
            where = str(candidate)
            if any(parent == where and _stem(name) in ("layout", "page") and _suffix(name) in RESOLVE_SUFFIXES
                   for _, parent, name in files) or "next" in root.dependencies and any(
                    inside(parent, where) and _stem(name) == "page" for _, parent, name in files):
                root.app_dirs.append(candidate)
        is_docusaurus = False
        for name, path in at_root.items():
            if name.startswith("docusaurus.config."):
                root.docusaurus_config = path
                is_docusaurus = True
            elif name.startswith("vite.config."):
                root.vite_config = path
            elif name.startswith("next.config."):
                root.next_config = path
        for candidate in (folder / "pages", folder / "src" / "pages"):
            next_pages = ("next" in root.dependencies or root.next_config is not None) and not is_docusaurus
            docusaurus_pages = is_docusaurus and candidate == folder / "src" / "pages"
            if (next_pages or docusaurus_pages) and any(inside(parent, str(candidate)) for _, parent, _ in files):
                root.pages_dirs.append(candidate)
        # Next serves public/*.html as static files, not as the app's pages; elsewhere (CRA) public/index.html is the page
        root.html_files = [path for path, parent, name in files if _suffix(name).lower() in HTML_SUFFIXES and not (
            root.is_next and "public" in parent[len(base) + 1:].split(os.sep))]
        self._root_files[folder] = owned
        return root

    def files_of_root(self, root: FrontendRoot) -> list[Path]:
        return self._root_files.get(root.path, [])

    def _aliases(self, folder: Path, at_root: dict[str, Path]) -> list[tuple[str, list[Path]]]:
        """Import aliases of the root: tsconfig/jsconfig `paths`, vite's `resolve.alias`; `at_root` maps the names of
        the root's own script files to their paths."""
        aliases: list[tuple[str, list[Path]]] = []
        for name in ("tsconfig.json", "jsconfig.json", "tsconfig.app.json", "tsconfig.base.json"):
            config_path = folder / name
            if not config_path.is_file():
                continue
            document = _jsonc(self.project.read_bytes(config_path).decode("utf-8", "replace"))
            if not isinstance(document, dict):
                continue
            options = document.get("compilerOptions") or {}
            if not isinstance(options, dict):
                continue
            base = folder / str(options.get("baseUrl", "."))
            paths = options.get("paths") or {}
            if isinstance(paths, dict):
                for pattern, targets in paths.items():
                    if isinstance(targets, list):
                        aliases.append((str(pattern), [Path(os.path.normpath(base / str(t))) for t in targets]))
        vite = next((path for name, path in sorted(at_root.items()) if name.startswith("vite.config.")), None)
        if vite is not None:
            aliases.extend(self._vite_aliases(vite))
        return aliases

    def _vite_aliases(self, config: Path) -> list[tuple[str, list[Path]]]:
        script = self.script(config)
        if script is None:
            return []
        found = []
        for pair in find_all(script.root, "pair"):
            if property_key(pair) != "alias":
                continue
            value = unwrap(pair.field("value"))
            if value is None or value.kind() != "object":
                continue
            for member in value.named_children():
                if member.kind() != "pair":
                    continue
                key = property_key(member)
                strings = [string_value(s) for s in find_all(member.field("value"), "string")] if member.field("value") else []
                strings = [s for s in strings if s]
                if key and strings:
                    target = strings[-1].lstrip("/") if not strings[-1].startswith(".") else strings[-1]
                    found.append((key + "/*", [Path(os.path.normpath(config.parent / target / "*"))]))
        return found

    # ---- resolution of module specifiers -----------------------------------------------------------------------

    def resolve(self, importer: Path, specifier: str) -> Path | None:
        if specifier.startswith("."):
            return self._probe(Path(os.path.normpath(importer.parent / specifier)))
        root = self.root_of(importer)
        if importer.suffix.lower() in HTML_SUFFIXES and specifier.startswith("/"):
            return self._probe(Path(os.path.normpath(importer.parent / specifier.lstrip("/"))))
        for pattern, targets in root.aliases:
            if "*" in pattern:
                prefix, suffix = pattern.split("*", 1)
                if specifier.startswith(prefix) and specifier.endswith(suffix) and len(specifier) >= len(prefix) + len(suffix):
                    middle = specifier[len(prefix):len(specifier) - len(suffix)] if suffix else specifier[len(prefix):]
                    for target in targets:
                        found = self._probe(Path(str(target).replace("*", middle)))
                        if found is not None:
                            return found
            elif specifier == pattern:
                for target in targets:
                    found = self._probe(target)
                    if found is not None:
                        return found
        if specifier.startswith(("@/", "~/")):
            rest = specifier[2:]
            for base in (root.path / "src", root.path):
                found = self._probe(base / rest)
                if found is not None:
                    return found
        if specifier.startswith("/"):
            return self._probe(root.path / specifier.lstrip("/"))
        return None

    def _probe(self, base: Path) -> Path | None:
        if base in self.file_set:
            return base
        text = str(base)
        for suffix in RESOLVE_SUFFIXES:
            candidate = Path(text + suffix)
            if candidate in self.file_set:
                return candidate
        if base.suffix in (".js", ".jsx", ".mjs", ".cjs"):
            stem = str(base.with_suffix(""))
            for suffix in (".ts", ".tsx", ".mts", ".cts"):
                candidate = Path(stem + suffix)
                if candidate in self.file_set:
                    return candidate
        for suffix in RESOLVE_SUFFIXES:
            candidate = base / f"index{suffix}"
            if candidate in self.file_set:
                return candidate
        return None

    def edges(self, path: Path) -> set[Path]:
        """The project files `path` imports (statically, dynamically or as an HTML module script)."""
        if path not in self._edges:
            parsed = self.parse(path)
            targets: set[Path] = set()
            if parsed is not None:
                for ref in parsed.imports:
                    target = self.resolve(path, ref.specifier)
                    if target is not None and target != path:
                        targets.add(target)
            self._edges[path] = targets
        return self._edges[path]

    # ---- entries and reachability ------------------------------------------------------------------------------

    def is_entry(self, path: Path) -> bool:
        root = self.root_of(path)
        suffix = path.suffix.lower()
        if suffix in HTML_SUFFIXES:
            return path in root.html_files
        if suffix not in RESOLVE_SUFFIXES:
            return False
        stem = path.stem
        app_dir = next((app_dir for app_dir in root.app_dirs if inside(path, app_dir)), None)
        if stem in NEXT_ENTRY_STEMS and app_dir is not None:
            # a private folder (`_components/`) opts its subtree out of routing; route groups `(x)` are routed
            return not any(part.startswith("_") for part in path.parent.relative_to(app_dir).parts)
        for pages_dir in root.pages_dirs:
            if inside(path, pages_dir) and "api" not in path.relative_to(pages_dir).parts[:1]:
                return True
        if root.docusaurus_config is not None and inside(path, root.path / "src" / "theme"):
            return True
        if stem not in CONVENTIONAL_STEMS or root.app_dirs or root.library:
            return False  # a library's `src/index` is what importers load, not a page
        relative = path.relative_to(root.path).with_suffix("").as_posix() if inside(path, root.path) else ""
        return relative in CONVENTIONAL_ENTRIES

    def _has_entries(self, root: FrontendRoot) -> bool:
        cache = self.__dict__.setdefault("_root_has_entries", {})
        if root.path not in cache:
            cache[root.path] = any(self.is_entry(p) for p in self.files_of_root(root))
        return cache[root.path]

    def importers(self, target: Path) -> set[Path]:
        """Files of the same front-end root that import `target` (byte search for its name, then parse)."""
        root = self.root_of(target)
        needle = (target.parent.name if target.stem == "index" else target.stem).encode()
        found = set()
        for candidate in self.files_of_root(root):
            if candidate == target or candidate not in self.file_set:
                continue
            if needle and needle not in self._bytes(candidate):
                continue
            if target in self.edges(candidate):
                found.add(candidate)
        return found

    def entries_reaching(self, path: Path) -> frozenset[Path]:
        """The entries from which `path` is reachable through imports."""
        if path in self._reaching:
            return self._reaching[path]
        seen = {path}
        frontier = [path]
        entries: set[Path] = set()
        while frontier:
            current = frontier.pop()
            if self.is_entry(current):
                entries.add(current)
            for importer in self.importers(current):
                if importer not in seen:
                    seen.add(importer)
                    frontier.append(importer)
        root = self.root_of(path)
        if not entries and not self._has_entries(root):
            if root.library:
                # a library's code runs where an app imports the package
                self._reaching[path] = frozenset()  # provisional: libraries importing each other end here
                for importer in self.package_importers(root):
                    entries |= self.entries_reaching(importer)
            else:
                # a root with no recognisable entry (an unknown framework): files nothing imports stand in for entries
                entries = {p for p in seen if not self.importers(p)}
        result = frozenset(entries)
        self._reaching[path] = result
        return result

    def package_importers(self, library: FrontendRoot) -> list[Path]:
        """Files of the other roots that import the library by its package name (a workspace dependency)."""
        name = library.package_name
        if not name:
            return []
        needle = name.encode()
        found = []
        for root in self.roots:
            if root is library:
                continue
            for candidate in self.files_of_root(root):
                if needle not in self._bytes(candidate):
                    continue
                parsed = self.parse(candidate)
                if parsed is not None and any(ref.specifier == name or ref.specifier.startswith(name + "/")
                                              for ref in parsed.imports):
                    found.append(candidate)
        return found

    def reachable(self, path: Path) -> bool:
        return bool(self.entries_reaching(path))

    # ---- ChatKit in the code ----------------------------------------------------------------------------------

    @cached_property
    def depends_on_chatkit(self) -> bool:
        return any(REACT_PACKAGE in root.dependencies or "@openai/chatkit" in root.dependencies for root in self.roots)

    def chatkit_names(self, script: ScriptFile) -> tuple[set[str], set[str], set[str]]:
        """(ChatKit component names, useChatKit names, namespace names) bound in the file."""
        components, hooks, namespaces = set(), set(), set()
        for local, imported in script.imported_from(REACT_PACKAGE).items():
            if imported == "ChatKit":
                components.add(local)
            elif imported == "useChatKit":
                hooks.add(local)
            elif imported in ("*", "default"):
                namespaces.add(local)
        return components, hooks, namespaces

    def _dynamic_chatkit(self, script: ScriptFile) -> bool:
        return any(ref.specifier == REACT_PACKAGE and ref.kind in ("dynamic", "require") for ref in script.imports)

    @cached_property
    def all_elements(self) -> list[Element]:
        """Every rendered ChatKit in files mentioning ChatKit, reachable or not."""
        found: list[Element] = []
        for path in self.chatkit_files:
            parsed = self.parse(path)
            if isinstance(parsed, HtmlFile):
                found.extend(Element(path, tag, "html") for tag in parsed.tags if tag.name == "openai-chatkit" and not tag.closing)
                parsed = parsed.inline_script
            if parsed is None:
                continue
            components, _, namespaces = self.chatkit_names(parsed)
            dynamic = self._dynamic_chatkit(parsed)
            locally_defined = "ChatKit" in parsed.declared_names and "ChatKit" not in components
            for kind in ("jsx_self_closing_element", "jsx_opening_element"):
                for node in find_all(parsed.root, kind):
                    name = jsx_name(node)
                    element = node if kind == "jsx_self_closing_element" else node.parent()
                    if name == "openai-chatkit":
                        found.append(Element(path, element, "raw"))
                    elif name in components or any(name == f"{ns}.ChatKit" for ns in namespaces) or (dynamic or not components) and name == "ChatKit" and not locally_defined and \
                            (dynamic or self.depends_on_chatkit) and "control" in jsx_attributes(element) or dynamic and "control" in jsx_attributes(element) and "ChatKit" in name.rsplit(".", 1)[-1]:
                        found.append(Element(path, element, "react"))
            for call in find_all(parsed.root, "call_expression"):
                callee = call.field("function")
                if callee is not None and callee.kind() == "member_expression" and callee.field("property") is not None \
                        and callee.field("property").text() == "createElement":
                    args = call.field("arguments").named_children()
                    if args and string_value(args[0]) == "openai-chatkit":
                        found.append(Element(path, call, "created"))
        return found

    @cached_property
    def elements(self) -> list[Element]:
        """Rendered ChatKits in reachable code."""
        return [e for e in self.all_elements if self.reachable(e.path)]

    @property
    def jsx_elements(self) -> list[Element]:
        """The rendered ChatKits written as JSX elements: `<ChatKit>` and `<openai-chatkit>`."""
        return [e for e in self.elements if e.kind in ("react", "raw")]

    def dynamic_chatkit_files(self) -> list[Path]:
        return [p for p in self.chatkit_files if (s := self.script(p)) is not None and self._dynamic_chatkit(s)
                and self.reachable(p)]

    @cached_property
    def usages(self) -> list[Usage]:
        """`useChatKit(...)` and `setOptions(...)` calls in reachable code, options resolved. Options that come in as
        a component's props are resolved once per element rendering the component: one usage for each."""
        found: list[Usage] = []
        for path in self.chatkit_files:
            script = self.script(path)
            if script is None or not self.reachable(path):
                continue
            _, hooks, _ = self.chatkit_names(script)
            raw = "openai-chatkit" in self.parse(path).text  # an HTML page names it outside its scripts
            for call in find_all(script.root, "call_expression"):
                callee = call.field("function")
                if callee is None:
                    continue
                name = callee.text() if callee.kind() == "identifier" else None
                prop = callee.field("property").text() if callee.kind() == "member_expression" and callee.field("property") else None
                kind = None
                if name is not None and (name in hooks or name == "useChatKit") or prop == "useChatKit":
                    kind = "hook"
                elif prop == "setOptions" and raw:
                    kind = "setOptions"
                if kind is None:
                    continue
                args = [a for a in call.field("arguments").named_children() if a.kind() != "comment"]
                if not args:
                    continue
                usage = self._usage(path, call, kind, args[0], {})
                if usage.api is None or usage.api.opaque:
                    rendered = [self._usage(path, call, kind, args[0], bindings)
                                for bindings in self._component_bindings(path, call)]
                    found.extend(rendered or [usage])
                else:
                    found.append(usage)
        return found

    def _usage(self, path: Path, call, kind: str, argument, bindings: dict) -> Usage:
        with self.bound(bindings) as active:
            options = self.object_value(path, argument)
            api_prop = options.get("api")
            api = self.object_value(api_prop.path, api_prop.value) if api_prop is not None and api_prop.value is not None else None
            if api_prop is not None and api_prop.kind == "method_definition":
                api = None
            return Usage(path, call, kind, options, api, dict(active))

    @contextmanager
    def bound(self, bindings: dict):
        """Resolve with `bindings` (parameter -> argument): the helper calls met meanwhile add theirs (the first
        binding of a parameter wins); yields the bindings in force, restored afterwards."""
        saved = self._bindings
        self._bindings = {**bindings}
        try:
            yield self._bindings
        finally:
            self._bindings = saved

    def _component_bindings(self, path: Path, node) -> list[dict]:
        """For the component enclosing `node`, one set of prop bindings per JSX element rendering it."""
        component = enclosing_function(node)
        while component is not None and not _component_name(component):
            component = enclosing_function(component)
        if component is None:
            return []
        props = _prop_parameters(component)
        if not props:
            return []
        found = []
        for caller_path, element in self.elements_rendering(path, component):
            attributes = self._attribute_values(caller_path, element)
            bindings = {}
            for local, key in props.items():
                if key is None:
                    bindings[(path, span(component)[0], local)] = (caller_path, opening_of(element))
                elif key in attributes:
                    bindings[(path, span(component)[0], local)] = attributes[key]
            if bindings:
                found.append(bindings)
        return found

    def _attribute_values(self, path: Path, element) -> dict[str, tuple[Path, object]]:
        values: dict[str, tuple[Path, object]] = {}
        for name, attribute in jsx_attributes(element).items():
            value = attribute_value(attribute)
            if value is not None:
                values[name] = (path, value)
        return values

    def elements_rendering(self, path: Path, component) -> list[tuple[Path, object]]:
        """The JSX elements rendering a component: in its own file by its name, in the files importing it by the
        name they import it under."""
        name = _component_name(component)
        script = self.script(path)
        if not name or script is None:
            return []
        found = [(path, element) for element in jsx_elements_named(script, name)]
        default = _is_default_export(script, component, name)
        for importer in self.importers(path):
            importer_script = self.script(importer)
            if importer_script is None:
                continue
            for ref in importer_script.imports:
                if ref.kind != "static" or self.resolve(importer, ref.specifier) != path:
                    continue
                for local, imported in ref.names.items():
                    if imported == name or imported == "default" and default:
                        found.extend((importer, element) for element in jsx_elements_named(importer_script, local))
        return found

    # ---- value resolution --------------------------------------------------------------------------------------

    def declaration(self, path: Path, identifier, depth: int = 0):
        """(path, value node) of what an identifier refers to: a const's initialiser, a function, an import's export.

        A parameter resolves to what the bindings in force give it (see `bound`), else to None, as does anything
        not found.
        """
        if depth > 6 or identifier is None:
            return None
        name = identifier.text()
        script = self.script(path)
        if script is None:
            return None
        for scope in ancestors(identifier):
            kind = scope.kind()
            if kind in FUNCTION_KINDS and name in bound_names(scope):
                return self._bindings.get((path, span(scope)[0], name))
            if kind in ("statement_block", "program", "class_body"):
                found = _declared_in(scope, name)
                if found is not None:
                    return path, found
        for ref in script.imports:
            if ref.kind == "static" and name in ref.names:
                target = self.resolve(path, ref.specifier)
                if target is None:
                    return None
                return self.exported(target, ref.names[name], depth + 1)
        return None

    def exported(self, path: Path, name: str, depth: int = 0):
        """(path, node) of the export `name` ("default" for the default export) of a module."""
        script = self.script(path)
        if script is None or depth > 6:
            return None
        for node in script.root.children():
            if node.kind() != "export_statement":
                continue
            is_default = any(c.kind() == "default" for c in node.children())
            declaration = node.field("declaration")
            value = node.field("value")
            if name == "default" and is_default:
                if value is not None:
                    value = unwrap(value)
                    if value.kind() == "identifier":
                        found = _declared_in(script.root, value.text())
                        return (path, found) if found is not None else None
                    return path, value
                if declaration is not None:
                    return path, declaration
            if declaration is not None and name != "default":
                if declaration.kind() in ("function_declaration", "class_declaration"):
                    ident = declaration.field("name")
                    if ident is not None and ident.text() == name:
                        return path, declaration
                if declaration.kind() in ("lexical_declaration", "variable_declaration"):
                    for declarator in declaration.named_children():
                        if declarator.kind() == "variable_declarator" and declarator.field("name") is not None and \
                                declarator.field("name").text() == name:
                            value = declarator.field("value")
                            return (path, value) if value is not None else None
            clause = next((c for c in node.children() if c.kind() == "export_clause"), None)
            if clause is not None:
                for spec in clause.named_children():
                    idents = [c for c in spec.named_children()]
                    if not idents:
                        continue
                    local = idents[0].text()
                    exported_as = idents[-1].text()
                    if exported_as != name:
                        continue
                    source = node.field("source")
                    if source is not None:
                        target = self.resolve(path, string_value(source) or "")
                        return self.exported(target, local, depth + 1) if target else None
                    found = _declared_in(script.root, local)
                    if found is not None:
                        return path, found
                    for ref in script.imports:
                        if local in ref.names:
                            target = self.resolve(path, ref.specifier)
                            return self.exported(target, ref.names[local], depth + 1) if target else None
            source = node.field("source")
            if source is not None and any(c.kind() == "*" for c in node.children()) and clause is None:
                target = self.resolve(path, string_value(source) or "")
                if target is not None:
                    found = self.exported(target, name, depth + 1)
                    if found is not None:
                        return found
        if name == "default":
            return None
        found = _declared_in(script.root, name)
        return (path, found) if found is not None else None

    def resolve_expression(self, path: Path, node, depth: int = 0):
        """Follow identifiers and member accesses to the expression they stand for: (path, node)."""
        node = unwrap(node)
        if node is None or depth > 8:
            return path, node
        kind = node.kind()
        if kind in ("identifier", "shorthand_property_identifier"):
            found = self.declaration(path, node, depth)
            if found is None:
                return path, node
            target_path, target = found
            if target.kind() in ("function_declaration", "class_declaration"):
                return target_path, target
            return self.resolve_expression(target_path, target, depth + 1)
        if kind == "member_expression":
            obj = node.field("object")
            prop = node.field("property")
            if prop is not None and prop.kind() == "property_identifier" and obj is not None:
                base = self.object_value(path, obj, depth + 1)
                member = base.get(prop.text())
                if member is not None and member.value is not None and member.kind != "method_definition":
                    return self.resolve_expression(member.path, member.value, depth + 1)
            return path, node
        if kind == "call_expression":
            callee = node.field("function")
            if callee is not None and callee.text() in ("useMemo", "React.useMemo", "useCallback", "React.useCallback"):
                args = node.field("arguments").named_children()
                if args:
                    if callee.text().endswith("useCallback"):
                        return path, unwrap(args[0])
                    returned = returned_expression(args[0])
                    if returned is not None:
                        return self.resolve_expression(path, returned, depth + 1)
        return path, node

    def object_value(self, path: Path, node, depth: int = 0) -> ObjectValue:
        """The members of an object expression, resolved through consts, imports, spreads, helper calls (every object
        a helper may return: opaque when it has several) and a component's JSX attributes (its props)."""
        target_path, target = self.resolve_expression(path, node, depth)
        if target is not None and target.kind() in ("jsx_opening_element", "jsx_self_closing_element") and depth <= 8:
            props = ObjectValue(target_path, None)
            for key, (value_path, value) in self._attribute_values(target_path, target).items():
                props.props[key] = Prop(key, value_path, value, value)
            return props
        if target is not None and target.kind() == "call_expression" and depth <= 8:
            returned = self.returned_values(target_path, target, depth + 1)
            if returned:
                merged = ObjectValue(target_path, None, opaque=len(returned) > 1)
                for value_path, value in returned:
                    part = self.object_value(value_path, value, depth + 1)
                    merged.opaque = merged.opaque or part.opaque
                    merged.node = merged.node or part.node
                    merged.path = part.path if merged.node is part.node else merged.path
                    for key, prop in part.props.items():
                        merged.props.setdefault(key, prop)
                return merged
        if target is None or target.kind() != "object" or depth > 8:
            return ObjectValue(target_path, target, opaque=True)
        result = ObjectValue(target_path, target)
        for member in target.named_children():
            kind = member.kind()
            if kind == "spread_element":
                inner = [c for c in member.named_children() if c.kind() != "comment"]
                spread = self.object_value(target_path, inner[0], depth + 1) if inner else ObjectValue(None, None, opaque=True)
                result.opaque = result.opaque or spread.opaque
                for key, prop in spread.props.items():
                    result.props[key] = prop
                continue
            key = property_key(member)
            if key is None:
                if kind not in ("comment",):
                    result.opaque = True
                continue
            if kind == "pair":
                value = member.field("value")
            elif kind == "shorthand_property_identifier":
                value = member
            else:
                value = member
            result.props[key] = Prop(key, target_path, member, value)
        return result

    def returned_values(self, path: Path, call, depth: int = 0) -> list[tuple[Path, object]]:
        """What a call to a project function may return (each `return` with a value, `undefined`/`null` aside),
        its parameters bound to the call's arguments; [] when the callee is not a function of the project."""
        callee = call.field("function")
        if callee is None or callee.kind() not in ("identifier", "member_expression") or depth > 8:
            return []
        found = self.function_value(path, callee, depth + 1)
        if found is None:
            return []
        function_path, function = found
        params = function.field("parameters")
        args = [a for a in call.field("arguments").named_children() if a.kind() != "comment"]
        if params is not None:
            names = function_parameters(function)
            for index, name in enumerate(names):
                if name and index < len(args):
                    self._bindings.setdefault((function_path, span(function)[0], name), (path, args[index]))
        return [(function_path, value) for value in returned_expressions(function)
                if value.kind() not in ("undefined", "null") and value.text() != "undefined"]

    def string_parts(self, path: Path, node, depth: int = 0) -> list[StrPart]:
        """A string expression as literal parts and unknown parts (env variables, parameters)."""
        node = unwrap(node)
        if node is None or depth > 8:
            return [StrPart(None)]
        kind = node.kind()
        if kind == "string":
            start, end = string_content_span(node)
            return [StrPart(string_value(node), path, (start, end))]
        if kind == "template_string":
            parts: list[StrPart] = []
            for child in node.children():
                if child.kind() == "string_fragment":
                    parts.append(StrPart(child.text(), path, span(child)))
                elif child.kind() == "template_substitution":
                    inner = [c for c in child.named_children() if c.kind() != "comment"]
                    parts.extend(self.string_parts(path, inner[0], depth + 1) if inner else [StrPart(None)])
                elif child.kind() == "escape_sequence":
                    parts.append(StrPart(child.text(), None))
            return parts
        if kind == "binary_expression":
            operator = node.field("operator")
            op = operator.text() if operator is not None else ""
            left = node.field("left")
            right = node.field("right")
            if op == "+":
                return self.string_parts(path, left, depth + 1) + self.string_parts(path, right, depth + 1)
            if op in ("??", "||"):
                first = self.string_parts(path, left, depth + 1)
                if all(p.text is not None for p in first):
                    return first
                return self.string_parts(path, right, depth + 1)
            return [StrPart(None)]
        if kind in ("identifier", "member_expression", "shorthand_property_identifier"):
            target_path, target = self.resolve_expression(path, node, depth + 1)
            if target is None or target == node:
                return [StrPart(None)]
            return self.string_parts(target_path, target, depth + 1)
        return [StrPart(None)]

    def function_value(self, path: Path, node, depth: int = 0):
        """(path, function node) for a function expression, a reference to one, or a factory call returning one."""
        if node is None or depth > 6:
            return None
        if node.kind() == "method_definition":
            return path, node
        node = unwrap(node)
        if node is None:
            return None
        if is_function(node):
            return path, node
        if node.kind() in ("identifier", "member_expression", "shorthand_property_identifier"):
            target_path, target = self.resolve_expression(path, node, depth + 1)
            if target is None or target == node:
                return None
            return self.function_value(target_path, target, depth + 1)
        if node.kind() == "call_expression":
            callee = node.field("function")
            if callee is not None and callee.text() in ("useCallback", "React.useCallback"):
                args = node.field("arguments").named_children()
                return self.function_value(path, args[0], depth + 1) if args else None
            factory = self.function_value(path, callee, depth + 1) if callee is not None else None
            if factory is not None:
                factory_path, function = factory
                returned = returned_expression(function)
                if returned is not None:
                    return self.function_value(factory_path, returned, depth + 1)
        return None

    # ---- scripts that load chatkit.js -------------------------------------------------------------------------

    @cached_property
    def script_refs(self) -> list[ScriptRef]:
        """Every literal chatkit.js URL (official, near miss or self-hosted) in HTML script tags, and in the strings of
        reachable code, inline page scripts and framework configs."""
        refs: list[ScriptRef] = []
        for path in self.html_files:
            if not self.project.holds(path, MENTIONS_CHATKIT):
                continue
            parsed = self.parse(path)
            if parsed is None:
                continue
            for tag in parsed.tags:
                if tag.name == "script" and not tag.closing and tag.attrs.get("src"):
                    verdict = classify_url(tag.attrs["src"])
                    where = parsed.attribute_span(tag, "src")
                    if verdict and where:
                        refs.append(ScriptRef(path, where, tag.attrs["src"], verdict))
        for path in self.script_files + self.html_files:
            if not self.project.holds(path, NAMES_A_CHATKIT_URL) or not (
                    self.reachable(path) or self._is_framework_config(path)):
                continue
            script = self.script(path)
            if script is None:
                continue
            for kind in ("string", "template_string"):
                for node in find_all(script.root, kind):
                    value = string_value(node)
                    if not value or "chatkit" not in value.lower():
                        continue
                    verdict = classify_url(value)
                    if verdict:
                        refs.append(ScriptRef(path, string_content_span(node), value, verdict, loads_script_from(node)))
        return refs

    def _is_framework_config(self, path: Path) -> bool:
        root = self.root_of(path)
        return path == root.docusaurus_config or (
            path.parent in root.pages_dirs and path.stem in ("_document", "_app"))

    @cached_property
    def dynamic_script_loads(self) -> list[Path]:
        """Reachable files that load a script whose `src` is an expression naming chatkit (a const, an env var)."""
        found = []
        for path in self.chatkit_files:
            script = self.script(path)
            if script is None or not self.reachable(path):
                continue
            for kind in ("jsx_self_closing_element", "jsx_opening_element"):
                for node in find_all(script.root, kind):
                    if jsx_name(node) not in ("Script", "script"):
                        continue
                    src = jsx_attributes(node).get("src")
                    value = attribute_value(src) if src is not None else None
                    if value is not None and value.kind() not in ("string",) and "chatkit" in value.text().lower():
                        found.append(path)
            for node in find_all(script.root, "assignment_expression"):
                left = node.field("left")
                if left is not None and left.kind() == "member_expression" and left.field("property") is not None \
                        and left.field("property").text() == "src" and "chatkit" in node.text().lower():
                    found.append(path)
        return found

    # ---- layouts -------------------------------------------------------------------------------------------------

    def root_layouts(self, root: FrontendRoot) -> list[Path]:
        """The Next app router's root layouts: `app/layout.*`, else the top layouts of route groups."""
        layouts: list[Path] = []
        files = self.files_of_root(root)
        for app_dir in root.app_dirs:
            top = [p for p in files if p.parent == app_dir and p.stem == "layout" and p.suffix in RESOLVE_SUFFIXES]
            if top:
                layouts.extend(top[:1])
                continue
            groups = [p for p in files if p.stem == "layout" and p.suffix in RESOLVE_SUFFIXES and inside(p, app_dir)
                      and all(part.startswith("(") for part in p.parent.relative_to(app_dir).parts)]
            # the shallowest layout of each route group
            for layout in sorted(groups, key=lambda p: len(p.parts)):
                if not any(inside(layout.parent, other.parent) for other in layouts):
                    layouts.append(layout)
        return layouts

    def app_dir_of(self, path: Path) -> Path | None:
        for app_dir in self.root_of(path).app_dirs:
            if inside(path, app_dir):
                return app_dir
        return None

    # ---- front-end routes and proxies -----------------------------------------------------------------------

    def frontend_routes(self, root: FrontendRoot) -> list[tuple[str, bool, str]]:
        """(path, is_prefix, kind) served by the front end itself: Next route handlers ("handler": server code that
        may add credentials), Vite proxies and Next rewrites ("proxy": forwarded as sent)."""
        routes: list[tuple[str, bool, str]] = []
        files = self.files_of_root(root)
        for app_dir in root.app_dirs:
            for path in files:
                if path.stem == "route" and path.suffix in RESOLVE_SUFFIXES and inside(path, app_dir):
                    parts = [p for p in path.parent.relative_to(app_dir).parts if not p.startswith(("(", "@"))]
                    prefix = any(p.startswith("[") for p in parts)
                    clean = []
                    for part in parts:
                        if part.startswith("["):
                            break
                        clean.append(part)
                    routes.append(("/" + "/".join(clean), prefix, "handler"))
        for pages_dir in root.pages_dirs:
            api = pages_dir / "api"
            for path in files:
                if inside(path, api) and path.suffix in RESOLVE_SUFFIXES:
                    parts = list(path.relative_to(pages_dir).with_suffix("").parts)
                    if parts[-1] == "index":
                        parts.pop()
                    prefix = any(p.startswith("[") for p in parts)
                    parts = [p for p in parts if not p.startswith("[")]
                    routes.append(("/" + "/".join(parts), prefix, "handler"))
        for config in (root.vite_config, root.next_config):
            if config is None:
                continue
            script = self.script(config)
            if script is None:
                continue
            for pair in find_all(script.root, "pair"):
                key = property_key(pair)
                if key == "proxy":
                    value = unwrap(pair.field("value"))
                    if value is not None and value.kind() == "object":
                        for member in value.named_children():
                            proxy_key = property_key(member)
                            if proxy_key:
                                routes.append((proxy_key.lstrip("^").rstrip("/") or "/", True, "proxy"))
                elif key == "source":
                    value = string_value(pair.field("value"))
                    if value:
                        routes.append((value.split("/:", 1)[0].rstrip("/") or "/", True, "proxy"))
        return routes

    # ---- the back end -------------------------------------------------------------------------------------------

    @cached_property
    def endpoints(self) -> list[Endpoint]:
        return BackendScanner(self).endpoints()


def returned_expression(function):
    """What a function returns: an arrow's expression body, or the value of its (last) `return` statement."""
    if function is None:
        return None
    body = function.field("body")
    if body is None:
        return None
    if body.kind() != "statement_block":
        return unwrap(body)
    returned = None
    for node in body.named_children():
        if node.kind() == "return_statement":
            inner = [c for c in node.named_children() if c.kind() != "comment"]
            if inner:
                returned = unwrap(inner[0])
    return returned


def returned_expressions(function) -> list:
    """Every value a function may return: an arrow's expression body, or each `return` with a value in its body
    (not in the functions nested in it)."""
    body = function.field("body")
    if body is None:
        return []
    if body.kind() != "statement_block":
        return [unwrap(body)]
    found = []
    for statement in find_all(body, "return_statement"):
        if enclosing_function(statement) != function:
            continue
        inner = [c for c in statement.named_children() if c.kind() != "comment"]
        if inner:
            found.append(unwrap(inner[0]))
    return found


def _component_name(function) -> str | None:
    """The name a React component is rendered by: its declaration's, or the const it is assigned to (capitalised)."""
    name = function.field("name") if function.kind() in ("function_declaration", "function_expression", "function") else None
    if name is None:
        parent = function.parent()
        while parent is not None and parent.kind() in ("call_expression", "arguments"):  # memo(…), forwardRef(…)
            parent = parent.parent()
        if parent is not None and parent.kind() == "variable_declarator":
            name = parent.field("name")
    text = name.text() if name is not None and name.kind() == "identifier" else ""
    return text if text[:1].isupper() else None


def _prop_parameters(component) -> dict[str, str | None]:
    """Local name -> prop key for a component's destructured props (`{ options, api: chatApi }`), or
    {props: None} when it takes the props object whole."""
    params = component.field("parameters")
    first = next((p for p in params.named_children() if p.kind() != "comment"), None) if params is not None else \
        component.field("parameter")
    if first is None:
        return {}
    pattern = first.field("pattern") if first.kind() in ("required_parameter", "optional_parameter") else first
    if pattern is None:
        return {}
    if pattern.kind() == "identifier":
        return {pattern.text(): None}
    if pattern.kind() != "object_pattern":
        return {}
    found: dict[str, str | None] = {}
    for member in pattern.named_children():
        kind = member.kind()
        if kind == "shorthand_property_identifier_pattern":
            found[member.text()] = member.text()
        elif kind == "object_assignment_pattern":
            left = member.field("left")
            if left is not None and left.kind() == "shorthand_property_identifier_pattern":
                found[left.text()] = left.text()
        elif kind == "pair_pattern":
            key, value = member.field("key"), member.field("value")
            if value is not None and value.kind() == "assignment_pattern":
                value = value.field("left")
            if key is not None and value is not None and value.kind() == "identifier":
                found[value.text()] = key.text()
    return found


def _is_default_export(script: ScriptFile, function, name: str) -> bool:
    for node in script.root.children():
        if node.kind() != "export_statement" or not any(c.kind() == "default" for c in node.children()):
            continue
        if node.field("declaration") == function or function.parent() == node:
            return True
        value = node.field("value")
        if value is not None and unwrap(value) is not None and unwrap(value).text() == name:
            return True
    return False


def loads_script_from(string) -> bool:
    """Whether a string literal is where a script is loaded from: a `<script>`/`<Script>` `src`, a `src:` member or
    a Docusaurus `scripts` entry, what `.src` is assigned or `setAttribute("src", …)` gets, a dynamic `import()`; or
    a constant used in one of those places. A link, a docs URL in a config or a string only logged is not."""
    parent = string.parent()
    if parent is None:
        return False
    kind = parent.kind()
    if kind == "jsx_expression":
        parent = parent.parent()
        kind = parent.kind() if parent is not None else ""
    if kind == "jsx_attribute":
        name = parent.named_children()[0].text() if parent.named_children() else ""
        element = parent.parent()
        return name == "src" and element is not None and jsx_name(element).lower() == "script"
    if kind == "pair":
        return property_key(parent) == "src" and parent.field("value") == string
    if kind == "array":
        holder = parent.parent()
        return holder is not None and holder.kind() == "pair" and property_key(holder) == "scripts"
    if kind == "assignment_expression":
        left = parent.field("left")
        return parent.field("right") == string and left is not None and left.kind() == "member_expression" and \
            left.field("property") is not None and left.field("property").text() == "src"
    if kind == "arguments":
        call = parent.parent()
        callee = call.field("function") if call is not None else None
        if callee is None:
            return False
        if callee.kind() == "import":
            return True
        args = [a for a in parent.named_children() if a.kind() != "comment"]
        return callee.kind() == "member_expression" and callee.field("property") is not None and \
            callee.field("property").text() == "setAttribute" and len(args) == 2 and args[1] == string and \
            string_value(args[0]) == "src"
    if kind == "variable_declarator" and parent.field("value") == string:
        name = parent.field("name")
        if name is None or name.kind() != "identifier":
            return False
        scope = next((a for a in ancestors(parent) if a.kind() in ("statement_block", "program")), None)
        return scope is not None and any(
            reference != name and loads_script_from(reference) for reference in find_all(scope, "identifier")
            if reference.text() == name.text())
    return False


def _declared_in(scope, name: str):
    """The initialiser (or the declaration) of `name` among a block's direct statements."""
    for statement in scope.named_children():
        kind = statement.kind()
        target = statement
        if kind == "export_statement":
            target = statement.field("declaration")
            if target is None:
                continue
            kind = target.kind()
        if kind in ("lexical_declaration", "variable_declaration"):
            for declarator in target.named_children():
                if declarator.kind() != "variable_declarator":
                    continue
                ident = declarator.field("name")
                if ident is not None and ident.kind() == "identifier" and ident.text() == name:
                    return declarator.field("value")
        elif kind in ("function_declaration", "class_declaration"):
            ident = target.field("name")
            if ident is not None and ident.text() == name:
                return target
    return None



# ---- the back end's ChatKit endpoints (stdlib ast) ---------------------------------------------------------------

ROUTE_METHODS = ("post", "api_route", "route", "put", "get")
AUTH_DEPENDENCY_CLASSES = ("HTTPBearer", "OAuth2PasswordBearer", "OAuth2AuthorizationCodeBearer", "APIKeyHeader",
                           "HTTPAuthorizationCredentials", "OpenIdConnect")


class BackendScanner:
    """Routes of FastAPI apps and routers (prefixes through `include_router`/`mount`) whose handlers call
    `process()`, and whether each requires a bearer token (reads `Authorization`, `HTTPBearer`, an auth `Depends`).

    Names are keyed by file ("path:name"), so several back ends with the same module names (`app.main` in each
    example of a monorepo) stay apart; an imported name resolves to the module file nearest to the importer.
    """

    def __init__(self, model: FrontendModel):
        self.model = model
        self.project = model.project
        self.modules: dict[Path, tuple[str, ast.Module, object]] = {}
        self.functions: dict[str, tuple[Path, ast.AST]] = {}  # key -> (file, def)
        self.routers: dict[str, dict] = {}  # key -> {"prefix": str, "app": bool, "deps": expr}
        self.includes: list[tuple[str, str, str | None]] = []  # (parent key, child key, prefix; None: computed)
        self.routes: list[tuple[str, str, ast.AST, Path, ast.AST]] = []  # (router key, path, handler, file, decorator)
        self.middleware_auth: set[str] = set()

    def endpoints(self) -> list[Endpoint]:
        needles = (b"APIRouter", b"FastAPI", b"include_router", b".process(", b"add_api_route")
        for path in self.project.files_of("python"):
            if any(n in self.model._bytes(path) for n in needles):
                self._load(path)
        for path in list(self.modules):
            self._scan(path)
        found: list[Endpoint] = []
        for router, route_path, handler, path, decorator in self.routes:
            if not self._reaches_process(path, handler, 0):
                continue
            prefixes = self._prefixes(router, set())
            known = bool(prefixes)
            if not prefixes:
                prefixes = [self.routers.get(router, {}).get("prefix", "")]
            full = sorted({_join(p, route_path) for p in prefixes})
            bearer = self._route_requires_bearer(path, handler, decorator, router)
            found.append(Endpoint(full, path, handler.lineno, bearer, known))
        return found

    def _load(self, path: Path):
        if path in self.modules:
            return self.modules[path]
        module = model_of(self.project).module(path)
        if module is None:
            return None
        entry = (module.name, module.tree, module.imports)
        self.modules[path] = entry
        for node in module.tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.functions[f"{path}:{node.name}"] = (path, node)
        return entry

    # ---- names ---------------------------------------------------------------------------------------------------

    def _module_file(self, dotted: str, near: Path) -> Path | None:
        """The file module `dotted` names when `near` imports it (its own service's module, never a neighbour's)."""
        resolved = model_of(self.project).services.resolve(dotted, near)
        return resolved if resolved is not None and self._load(resolved) is not None else None

    def _keys(self, path: Path, expr: ast.AST) -> set[str]:
        """The file-qualified keys an expression may name (`router`, `chatkit.router`, an imported name)."""
        _, _, imports = self.modules[path]
        keys: set[str] = set()
        dotted = _dotted(expr)
        if dotted is None:
            return keys
        head = dotted.split(".")[0]
        if head not in imports.names:
            keys.add(f"{path}:{dotted}")
            return keys
        for qualified in imports.qualnames(expr):
            parts = qualified.split(".")
            for cut in range(len(parts) - 1, 0, -1):
                target = self._module_file(".".join(parts[:cut]), path)
                if target is not None:
                    keys.add(f"{target}:{'.'.join(parts[cut:])}")
                    break
        return keys

    # ---- scanning -----------------------------------------------------------------------------------------------

    def _scan(self, path: Path) -> None:
        _, tree, _ = self.modules[path]
        for node in walk(tree):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.Call):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                func = node.value.func
                name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if name in ("APIRouter", "FastAPI", "Starlette"):
                    prefix = _str_kw(node.value, "prefix") or ""
                    deps = _kw(node.value, "dependencies")
                    for target in targets:
                        if isinstance(target, ast.Name):
                            self.routers[f"{path}:{target.id}"] = {"prefix": prefix, "app": name != "APIRouter", "deps": deps}
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for decorator in node.decorator_list:
                    if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
                        continue
                    method = decorator.func.attr
                    if method == "middleware" and _reads_authorization(node):
                        self.middleware_auth.update(self._keys(path, decorator.func.value))
                        continue
                    if method not in ROUTE_METHODS or method == "get":
                        continue
                    route_path = _str_arg(decorator, 0, "path")
                    if route_path is None:
                        continue
                    if method in ("api_route", "route"):
                        methods = _kw(decorator, "methods")
                        if methods is not None and "POST" not in ast.unparse(methods).upper():
                            continue
                    for owner in self._keys(path, decorator.func.value):
                        self.routes.append((owner, route_path, node, path, decorator))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                attr = node.func.attr
                if attr == "include_router" and node.args:
                    # None: a computed prefix (settings, environment), so where the router is served is unknown
                    prefix = _str_kw(node, "prefix") if _kw(node, "prefix") is not None else ""
                    for parent in self._keys(path, node.func.value):
                        for child in self._keys(path, node.args[0]):
                            self.includes.append((parent, child, prefix))
                elif attr == "mount" and len(node.args) >= 2:
                    prefix = _str_arg(node, 0, "path") or ""
                    for parent in self._keys(path, node.func.value):
                        for child in self._keys(path, node.args[1]):
                            self.includes.append((parent, child, prefix))
                elif attr == "add_api_route" and len(node.args) >= 2:
                    route_path = _str_arg(node, 0, "path")
                    handler = self._function(path, node.args[1])
                    if route_path is not None and handler is not None:
                        for owner in self._keys(path, node.func.value):
                            self.routes.append((owner, route_path, handler[1], handler[0], node))

    def _prefixes(self, router: str, seen: set[str]) -> list[str]:
        """Every full prefix a router is served under, from the apps that include it (empty: never included)."""
        if router in seen:
            return []
        seen = seen | {router}
        info = self.routers.get(router)
        own = info["prefix"] if info else ""
        if info and info["app"]:
            return [own]
        found: list[str] = []
        for parent, child, prefix in self.includes:
            if child == router and prefix is not None:
                parents = self._prefixes(parent, seen) or ([] if parent in self.routers else [""])
                found.extend(_join(_join(parent_prefix, prefix), own) for parent_prefix in parents)
        return found

    def _function(self, path: Path, expr: ast.AST):
        for key in self._keys(path, expr):
            if key in self.functions:
                return self.functions[key]
        return None

    def _reaches_process(self, path: Path, function: ast.AST, depth: int) -> bool:
        for node in walk(function):
            if isinstance(node, ast.Call):
                if isinstance(node.func, ast.Attribute) and node.func.attr == "process" and node.args:
                    return True
                if depth < 2:
                    callee = self._function(path, node.func)
                    if callee is not None and callee[1] is not function and self._reaches_process(callee[0], callee[1], depth + 1):
                        return True
        return False

    # ---- auth ---------------------------------------------------------------------------------------------------

    def _route_requires_bearer(self, path: Path, handler: ast.AST, decorator: ast.AST, router: str) -> bool:
        if _reads_authorization(handler):
            return True
        owners = [router, *self._owners(router, set())]
        if any(owner in self.middleware_auth for owner in owners):
            return True
        dependencies: list[ast.AST] = []
        args = handler.args
        for arg in args.args + args.kwonlyargs:
            annotation = arg.annotation
            if annotation is not None:
                if any(cls in ast.unparse(annotation) for cls in AUTH_DEPENDENCY_CLASSES):
                    return True
                dependencies.extend(n for n in walk(annotation) if isinstance(n, ast.Call))
            if arg.arg.lower() == "authorization":
                return True
        dependencies.extend(d for d in list(args.defaults) + list(args.kw_defaults) if isinstance(d, ast.Call))
        route_deps = _kw(decorator, "dependencies") if isinstance(decorator, ast.Call) else None
        if route_deps is not None:
            dependencies.extend(n for n in walk(route_deps) if isinstance(n, ast.Call))
        for owner in owners:
            deps = self.routers.get(owner, {}).get("deps")
            if deps is not None:
                owner_path = Path(owner.rsplit(":", 1)[0])
                if any(self._dependency_requires_bearer(owner_path, n, 0) for n in walk(deps) if isinstance(n, ast.Call)):
                    return True
        return any(self._dependency_requires_bearer(path, call, 0) for call in dependencies)

    def _owners(self, router: str, seen: set[str]) -> list[str]:
        found = []
        for parent, child, _ in self.includes:
            if child == router and parent not in seen:
                seen.add(parent)
                found.append(parent)
                found.extend(self._owners(parent, seen))
        return found

    def _dependency_requires_bearer(self, path: Path, call: ast.AST, depth: int) -> bool:
        if depth > 3 or not isinstance(call, ast.Call):
            return False
        name = _dotted(call.func) or ""
        if name.rsplit(".", 1)[-1] in AUTH_DEPENDENCY_CLASSES:
            return True
        if name.rsplit(".", 1)[-1] not in ("Depends", "Security") or not call.args:
            return False
        target = call.args[0]
        _, tree, _ = self.modules[path]
        if isinstance(target, ast.Name):
            for node in tree.body:
                assigned = isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == target.id for t in node.targets)
                if assigned and isinstance(node.value, ast.Call) and \
                        (_dotted(node.value.func) or "").rsplit(".", 1)[-1] in AUTH_DEPENDENCY_CLASSES:
                    return True
        function = self._function(path, target)
        if function is None:
            return False
        dep_path, dep = function
        if _reads_authorization(dep):
            return True
        args = dep.args
        for arg in args.args + args.kwonlyargs:
            if arg.annotation is not None and any(cls in ast.unparse(arg.annotation) for cls in AUTH_DEPENDENCY_CLASSES):
                return True
            if arg.arg.lower() == "authorization":
                return True
        for default in list(args.defaults) + list(args.kw_defaults):
            if isinstance(default, ast.Call) and self._dependency_requires_bearer(dep_path, default, depth + 1):
                return True
        return False


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _reads_authorization(function: ast.AST) -> bool:
    """The function reads the Authorization header (`headers.get("authorization")`, `headers["Authorization"]`)."""
    for node in walk(function):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.lower() == "authorization":
            return True
    return False


def _kw(call: ast.Call, name: str) -> ast.AST | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value
    return None


def _str_kw(call: ast.Call, name: str) -> str | None:
    value = _kw(call, name)
    return value.value if isinstance(value, ast.Constant) and isinstance(value.value, str) else None


def _str_arg(call: ast.Call, index: int, name: str) -> str | None:
    if len(call.args) > index and isinstance(call.args[index], ast.Constant) and isinstance(call.args[index].value, str):
        return call.args[index].value
    return _str_kw(call, name)


def _join(prefix: str, path: str) -> str:
    joined = posixpath.join("/" + prefix.strip("/"), path.lstrip("/")) if path else "/" + prefix.strip("/")
    return joined.rstrip("/") or "/"


# ---- the cache -------------------------------------------------------------------------------------------------------

_CACHE: dict[int, tuple[weakref.ref, FrontendModel]] = {}


def frontend_model(project) -> FrontendModel:
    """The project's front-end model, built once per run and rebuilt when a file it read has changed."""
    key = id(project)
    entry = _CACHE.get(key)
    if entry is not None:
        ref, model = entry
        if ref() is project and model.fresh():
            return model
    model = FrontendModel(project)
    for stale in [k for k, (r, _) in _CACHE.items() if r() is None]:
        del _CACHE[stale]
    _CACHE[key] = (weakref.ref(project), model)
    return model


def check_frontend(rule):
    """Decorate `check(pctx, model)` to run once per run on the project's front-end model, when the project has
    ChatKit front-end code (`model.relevant`): the project check of a front-end rule."""

    def register(check):
        @rule.check_project
        def check_project(pctx):
            model = frontend_model(pctx.project)
            if model.relevant:
                yield from check(pctx, model)

        return check

    return register


# ---- shared queries the rules use ----------------------------------------------------------------------------------

def url_match(path: str, route: str, prefix: bool) -> bool:
    route = route.rstrip("/") or "/"
    if prefix:
        return path == route or path.startswith(route.rstrip("/") + "/") or route == "/"
    return path == route


def known_url(parts: list[StrPart]) -> tuple[str | None, bool]:
    """(url text, complete) from string parts: the text after the last unknown part, and whether nothing was unknown."""
    if all(p.text is not None for p in parts):
        return "".join(p.text for p in parts), True
    last_unknown = max(i for i, p in enumerate(parts) if p.text is None)
    tail = "".join(p.text for p in parts[last_unknown + 1:] if p.text is not None)
    return (tail or None), False



# ---- edits shared by the CK1xx fixes -------------------------------------------------------------------------------

def endpoints_near(model: FrontendModel, path: Path) -> list[Endpoint]:
    """The ChatKit endpoints of the back end that belongs with a front-end file: in a monorepo with several back
    ends, those sharing the longest folder prefix with it."""
    endpoints = model.endpoints
    if len(endpoints) <= 1:
        return list(endpoints)

    def closeness(endpoint: Endpoint) -> int:
        return len(os.path.commonpath([str(endpoint.path), str(path)]))

    best = max(closeness(e) for e in endpoints)
    return [e for e in endpoints if closeness(e) == best]


def ensure_import(ctx, script: ScriptFile, module: str, name: str, default: bool = False,
                  preferred: str | None = None):
    """(local name, edit or None) for `name` from `module`: reuses an existing import, extends a named import, or
    adds a line after the last import (before the first statement when there is none)."""
    text = script.text
    quote = quote_of(" ".join(ref.node.text() for ref in script.imports if ref.kind == "static") or text)
    semi = ";" if uses_semicolons(text, script.root) else ""
    for ref in script.imports:
        if ref.kind != "static" or ref.specifier != module:
            continue
        for local, imported in ref.names.items():
            if imported == ("default" if default else name):
                return local, None
    local = preferred or name
    if local in script.declared_names:
        local = f"ChatKit{name[:1].upper()}{name[1:]}" if not name.startswith("ChatKit") else f"{name}Fn"
    if not default:
        for ref in script.imports:
            if ref.kind != "static" or ref.specifier != module:
                continue
            named = next((n for n in find_all(ref.node, "named_imports")), None)
            if named is None:
                continue
            specifiers = [c for c in named.named_children() if c.kind() == "import_specifier"]
            alias = f"{name} as {local}" if local != name else name
            if specifiers:
                return local, ctx.insert(span(specifiers[-1])[1], f", {alias}")
    clause = local if default else ("{ " + (f"{name} as {local}" if local != name else name) + " }")
    line = f"import {clause} from {quote}{module}{quote}{semi}"
    last = script.last_import
    if last is not None:
        return local, ctx.insert(span(last)[1], "\n" + line)
    first = None
    for node in script.root.named_children():
        if node.kind() == "comment":
            continue
        if node.kind() == "expression_statement" and node.named_children() and node.named_children()[0].kind() == "string":
            continue  # "use client"
        first = node
        break
    if first is None:
        return local, ctx.insert(len(text), ("\n" if text and not text.endswith("\n") else "") + line + "\n")
    start = span(first)[0]
    start = text.rfind("\n", 0, start) + 1
    return local, ctx.insert(start, line + "\n\n")


def insert_first_child(ctx, text: str, element, child: str):
    """An edit putting `child` first inside a JSX element, on its own line, in the element's indentation."""
    if element.kind() != "jsx_element":
        return None
    children = element.children()
    opening, closing = children[0], children[-1]
    open_end = span(opening)[1]
    close_start = span(closing)[0]
    inner = text[open_end:close_start]
    if "\n" in inner:
        stripped = inner.lstrip(" \t")
        if stripped.startswith(("\n", "\r")):
            first_line_start = open_end + (len(inner) - len(inner.lstrip()))
            child_indent = line_indent(text, first_line_start) if inner.strip() else \
                line_indent(text, span(element)[0]) + indent_unit(text)
            return ctx.insert(open_end, "\n" + child_indent + child)
    element_indent = line_indent(text, span(element)[0])
    child_indent = element_indent + indent_unit(text)
    body = inner.strip()
    replacement = "\n" + child_indent + child + ("\n" + child_indent + body if body else "") + "\n" + element_indent
    return ctx.replace((open_end, close_start), replacement)


def jsx_elements_named(script: ScriptFile, name: str) -> list:
    """Every JSX element (with children or self-closing) whose tag is `name`."""
    found = []
    for node in find_all(script.root, "jsx_opening_element"):
        if jsx_name(node) == name:
            found.append(node.parent())
    for node in find_all(script.root, "jsx_self_closing_element"):
        if jsx_name(node) == name:
            found.append(node)
    return found


def relative(model: FrontendModel, path: Path) -> str:
    return model.project.relative(path)


def append_member(ctx, text: str, obj, member: str):
    """An edit adding `member` (e.g. `fetch: authenticatedFetch`) as the last member of an object literal."""
    start, end = span(obj)
    members = [c for c in obj.named_children() if c.kind() != "comment"]
    close = end - 1
    if not members:
        return ctx.replace((start, end), "{ " + member + " }")
    last = members[-1]
    last_end = span(last)[1]
    between = text[last_end:close]
    trailing_comma = between.lstrip().startswith(",")
    comma = last_end + between.index(",") + 1 if trailing_comma else None
    if "\n" in text[start:end] and at_line_start(text, span(last)[0]):
        indent = line_indent(text, span(last)[0])
        if comma is not None:
            return ctx.insert(comma, "\n" + indent + member + ",")
        return ctx.insert(last_end, ",\n" + indent + member)
    if comma is not None:
        return ctx.insert(comma, " " + member + ",")
    return ctx.insert(last_end, ", " + member)


def token_getter(project) -> str | None:
    """`[tool.chatkit-fix] token-getter`: where the front end gets its bearer token."""
    return project.settings.token_getter


def top_level_statement(node):
    """The direct child of the program that contains `node`."""
    current = node
    for parent in ancestors(node):
        if parent.kind() == "program":
            return current
        current = parent
    return current


def free_name(script: ScriptFile, wanted: str, alternative: str) -> str:
    return wanted if wanted not in script.declared_names else alternative


def fetch_function(model: FrontendModel, usage: Usage):
    """(path, function node) of a usage's custom `api.fetch`, in its three shapes: an arrow or function property, a
    method shorthand, a reference to a named function (or a factory call returning one). None when there is none
    or it cannot be resolved (the global `fetch`, a parameter)."""
    if usage.api is None:
        return None
    prop = usage.api.get("fetch")
    if prop is None:
        return None
    if prop.kind == "method_definition":
        return prop.path, prop.node
    with model.bound(usage.bindings):
        return model.function_value(prop.path, prop.value)


def fetch_functions(model: FrontendModel) -> Iterator[tuple[Path, object]]:
    """(path, function node) of every custom `api.fetch` of the usages (see `fetch_function`), each function once."""
    seen = set()
    for usage in model.usages:
        found = fetch_function(model, usage)
        if found is None:
            continue
        path, function = found
        key = (path, span(function))
        if key not in seen:
            seen.add(key)
            yield path, function


class FetchFlow:
    """How ChatKit's request flows through a custom `api.fetch(input, init)`: what is `init` (the parameter or a copy
    of it) and what holds its body (`init.body`, a local or an inner helper's parameter it flows into, its string
    conversion). CK104 and CK110 read it."""

    def __init__(self, function):
        self.function = function
        params = function_parameters(function)
        self.init = params[1] if len(params) > 1 and params[1] else None
        self.values: dict[str, list] = {}  # local name -> every value it is given (declaration, assignments)
        for declarator in find_all(function, "variable_declarator"):
            name = declarator.field("name")
            if name is not None and name.kind() == "identifier" and declarator.field("value") is not None:
                self.values.setdefault(name.text(), []).append(declarator.field("value"))
        for assignment in find_all(function, "assignment_expression"):
            left = assignment.field("left")
            if left is not None and left.kind() == "identifier" and assignment.field("right") is not None:
                self.values.setdefault(left.text(), []).append(assignment.field("right"))
        self.helpers: dict[str, object] = {}  # inner function name -> function
        for name, values in self.values.items():
            for value in values:
                if is_function(unwrap(value)):
                    self.helpers[name] = unwrap(value)
        for declaration in find_all(function, "function_declaration"):
            if declaration.field("name") is not None:
                self.helpers[declaration.field("name").text()] = declaration

    def is_init(self, node, seen=frozenset()) -> bool:
        """ChatKit's init or a copy of it (`{ ...init }`, `Object.assign({}, init)`)."""
        node = unwrap(node)
        if node is None:
            return False
        kind = node.kind()
        if kind == "identifier":
            name = node.text()
            if name == self.init:
                return True
            return name not in seen and any(self.is_init(v, seen | {name}) for v in self.values.get(name, ()))
        if kind == "object":
            return any(m.kind() == "spread_element" and m.named_children() and self.is_init(m.named_children()[0], seen)
                       for m in node.named_children())
        if kind == "call_expression" and (node.field("function") is not None and node.field("function").text() == "Object.assign"):
            return any(self.is_init(a, seen) for a in node.field("arguments").named_children())
        return False

    def is_body(self, node, seen=frozenset()) -> bool:
        """Whether `node` holds the request body: `init.body` (of init or a copy), or a value flowing from it."""
        node = unwrap(node)
        if node is None:
            return False
        kind = node.kind()
        if kind == "member_expression":
            prop = node.field("property")
            return prop is not None and prop.text() == "body" and self.is_init(node.field("object"), seen)
        if kind == "identifier":
            name = node.text()
            if name in seen:
                return False
            seen = seen | {name}
            if any(self.is_body(v, seen) for v in self.values.get(name, ())):
                return True
            return self._parameter_fed_body(node, seen)
        if kind == "ternary_expression":
            return self.is_body(node.field("consequence"), seen) or self.is_body(node.field("alternative"), seen)
        if kind == "binary_expression" and node.field("operator") is not None and \
                node.field("operator").text() in ("??", "||", "&&"):
            return self.is_body(node.field("left"), seen) or self.is_body(node.field("right"), seen)
        if kind == "call_expression":
            callee = node.field("function")
            args = [a for a in node.field("arguments").named_children() if a.kind() != "comment"]
            if callee is not None and callee.text() == "String" and args:
                return self.is_body(args[0], seen)
            if callee is not None and callee.kind() == "member_expression" and \
                    callee.field("property").text() in ("toString", "trim", "valueOf"):
                return self.is_body(callee.field("object"), seen)
        return False

    def _parameter_fed_body(self, identifier, seen) -> bool:
        """A parameter of an inner helper that some call inside the fetch gives the body."""
        for name, helper in self.helpers.items():
            if helper == self.function:
                continue
            params = function_parameters(helper)
            if identifier.text() not in params or not _within(identifier, helper):
                continue
            index = params.index(identifier.text())
            for call in find_all(self.function, "call_expression"):
                callee = call.field("function")
                if callee is None or callee.kind() != "identifier" or callee.text() != name:
                    continue
                args = [a for a in call.field("arguments").named_children() if a.kind() != "comment"]
                if index < len(args) and self.is_body(args[index], seen):
                    return True
        return False


    # ---- an attachment upload -------------------------------------------------------------------------------------

    def on_upload(self, node, seen=frozenset()):
        """The value of an expression of the fetch when ChatKit uploads an attachment: the body is a FormData and
        ChatKit's headers carry no Content-Type (the browser adds the multipart boundary). UPLOAD for the body,
        ABSENT for a missing header (null), a str, a bool, or None when it cannot be told."""
        node = unwrap(node)
        if node is None:
            return None
        kind = node.kind()
        if kind in ("true", "false"):
            return kind == "true"
        if kind in ("null", "undefined"):
            return ABSENT
        if kind in ("string", "template_string"):
            return string_value(node)
        if kind == "number":
            try:
                return float(node.text())
            except ValueError:
                return None
        if kind not in ("binary_expression", "unary_expression", "ternary_expression") and self.is_body(node):
            return UPLOAD
        if kind == "identifier":
            name = node.text()
            values = self.values.get(name, ())
            if name in seen or len(values) != 1:
                return None
            return self.on_upload(values[0], seen | {name})
        if kind == "unary_expression":
            operator = node.child(0).text() if node.child(0) is not None else ""
            value = self.on_upload(node.field("argument"), seen)
            if operator == "!":
                truth = truthy(value)
                return None if truth is None else not truth
            if operator == "typeof":
                return "object" if value in (UPLOAD, ABSENT) else None
            if operator == "-" and isinstance(value, float):
                return -value
            return None
        if kind == "binary_expression":
            return self._binary_on_upload(node, seen)
        if kind == "ternary_expression":
            truth = truthy(self.on_upload(node.field("condition"), seen))
            if truth is not None:
                return self.on_upload(node.field("consequence" if truth else "alternative"), seen)
            consequence = self.on_upload(node.field("consequence"), seen)
            return consequence if consequence == self.on_upload(node.field("alternative"), seen) else None
        if kind == "call_expression":
            callee = node.field("function")
            args = [a for a in node.field("arguments").named_children() if a.kind() != "comment"]
            if callee is None or callee.kind() != "member_expression" or not args:
                return None
            method = callee.field("property").text()
            header = (string_value(unwrap(args[0])) or "").lower()
            if method == "has" and header == "content-type":
                return False
            if method == "get" and header == "content-type":
                return ABSENT
            target = self.on_upload(callee.field("object"), seen)
            needle = string_value(unwrap(args[0]))
            if target is ABSENT and "?." in callee.text():
                return ABSENT
            if isinstance(target, str) and needle is not None:
                if method == "includes":
                    return needle in target
                if method == "startsWith":
                    return target.startswith(needle)
                if method == "indexOf":
                    return float(target.find(needle))
        return None

    def _binary_on_upload(self, node, seen):
        operator = node.field("operator").text() if node.field("operator") is not None else ""
        left = self.on_upload(node.field("left"), seen)
        if operator in ("&&", "||", "??"):
            if operator == "??":
                return self.on_upload(node.field("right"), seen) if left is ABSENT else left
            truth = truthy(left)
            if truth is None:
                right = truthy(self.on_upload(node.field("right"), seen))
                # `x && false` is false and `x || true` is true whatever x is
                return right if (operator == "&&" and right is False or operator == "||" and right is True) else None
            if truth == (operator == "||"):
                return left
            return self.on_upload(node.field("right"), seen)
        right = self.on_upload(node.field("right"), seen)
        if operator == "instanceof":
            if left is UPLOAD:
                return node.field("right").text() == "FormData"
            return None
        if operator in ("===", "==", "!==", "!="):
            if left is None or right is None:
                return None
            if left is UPLOAD or right is UPLOAD:
                equal = left is right
            elif left is ABSENT or right is ABSENT:
                equal = left is right
            else:
                equal = left == right
            return equal if operator in ("===", "==") else not equal
        if operator in (">", ">=", "<", "<=") and isinstance(left, float) and isinstance(right, float):
            return {">": left > right, ">=": left >= right, "<": left < right, "<=": left <= right}[operator]
        return None


UPLOAD = object()  # FetchFlow.on_upload: the FormData body of an attachment upload
ABSENT = object()  # FetchFlow.on_upload: a value that is not there (null, a header not sent)


def truthy(value) -> bool | None:
    if value is None:
        return None
    if value is UPLOAD:
        return True
    if value is ABSENT:
        return False
    return bool(value)


def _within(node, ancestor) -> bool:
    start, end = span(ancestor)
    node_start, node_end = span(node)
    return start <= node_start and node_end <= end


def identifiers_in(node, name: str) -> list:
    return [n for n in find_all(node, "identifier") if n.text() == name] + \
        [n for n in find_all(node, "shorthand_property_identifier") if n.text() == name]


def is_guarded(function, name: str) -> bool:
    """Whether a function tests `name` somewhere (`if (token)`, `token ? … : …`, `token && …`)."""
    for statement in find_all(function, "if_statement"):
        condition = statement.field("condition")
        if condition is not None and identifiers_in(condition, name):
            return True
    for ternary in find_all(function, "ternary_expression"):
        condition = ternary.field("condition")
        if condition is not None and identifiers_in(condition, name):
            return True
    for binary in find_all(function, "binary_expression"):
        operator = binary.field("operator")
        if operator is not None and operator.text() in ("&&", "||", "??") and identifiers_in(binary.field("left"), name) \
                and operator.text() == "&&":
            return True
    return False


def declared_in_function(function) -> set[str]:
    names = set(function_parameters(function))
    for declarator in find_all(function, "variable_declarator"):
        name = declarator.field("name")
        if name is not None and name.kind() == "identifier":
            names.add(name.text())
    return names


SIMPLE_KINDS = ("identifier", "member_expression", "call_expression", "true", "false", "this", "subscript_expression",
                "non_null_expression")


def condition_text(node) -> str:
    """A condition as text that stays correct before `&&` or `?`."""
    inner = unwrap(node) if node.kind() == "parenthesized_expression" else node
    if inner.kind() in SIMPLE_KINDS or inner.kind() == "unary_expression":
        return inner.text()
    return f"({inner.text()})"


def negated_text(node) -> str:
    """`!x` for a condition, `x` for `!x`."""
    inner = unwrap(node) if node.kind() == "parenthesized_expression" else node
    if inner.kind() == "unary_expression" and inner.child(0) is not None and inner.child(0).text() == "!":
        argument = inner.field("argument")
        if argument is not None:
            return condition_text(argument)
    if inner.kind() in SIMPLE_KINDS:
        return "!" + inner.text()
    return f"!({inner.text()})"


def jsx_ancestors(element) -> Iterator[tuple[str, object]]:
    """Walk up from a JSX element inside its component: ('element', jsx_element) for each enclosing JSX element,
    ('conditional', node) for an `&&`/ternary that mounts it conditionally. Callbacks such as `.map(x => …)` inside
    JSX are crossed; the walk stops at the component's function."""
    child = element
    for node in ancestors(element):
        kind = node.kind()
        if kind == "jsx_element":
            if child.kind() not in ("jsx_opening_element", "jsx_closing_element"):
                yield "element", node
        elif kind == "binary_expression" and node.field("operator") is not None and \
                node.field("operator").text() in ("&&", "||", "??") and node.field("right") == child or kind == "ternary_expression" and node.field("condition") != child:
            yield "conditional", node
        elif kind in FUNCTION_KINDS:
            parent = node.parent()
            if parent is None or parent.kind() != "arguments":
                return
        elif kind in ("program", "class_body"):
            return
        child = node
    return
