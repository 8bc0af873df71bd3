"""The ways one source file can be written that a fix must keep working in: CRLF line endings, a UTF-8 BOM, tabs for
indentation, no newline at the end and, for Python, a PEP 263 encoding cookie. `encode` writes a case's text in a set
of them; `decode` reads a fixed file back, asserting the file kept them, into text comparable with the case's LF
text; `write_case` and `fixed_files` run a case's fix on its files so written."""

from __future__ import annotations

import ast
import codecs
import io
import re
import tokenize
from pathlib import Path

VARIANTS = ("crlf", "bom", "tabs", "cookie", "no-final-newline")
TS_SUFFIXES = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs")

# a Latin-1 cookie and a Latin-1 byte after it: were the cookie pushed below line 2, Python would read the file as
# UTF-8 and fail on that byte
LATIN1_COOKIE = "# -*- coding: latin-1 -*-\n# ça va\n"
UTF8_COOKIE = "# -*- coding: utf-8 -*-\n# ça va\n"
LEADING_SPACES = re.compile(r"^( +)", re.MULTILINE)
LEADING_TABS = re.compile(r"^(\t+)", re.MULTILINE)


def _cookie(text: str, variants: frozenset[str]) -> tuple[str, str]:
    """(cookie lines, encoding): Latin-1 unless a BOM (which demands UTF-8) or the text cannot be Latin-1."""
    if "bom" in variants:
        return UTF8_COOKIE, "utf-8"
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return UTF8_COOKIE, "utf-8"
    return LATIN1_COOKIE, "latin-1"


def indent_unit(text: str) -> int:
    """The file's indentation step: 2 where a line is indented by exactly two spaces (front-end code), else 4."""
    return 2 if re.search(r"^  [^ ]", text, re.MULTILINE) else 4


def retab(text: str, unit: int) -> str:
    """Each leading run of `unit` spaces becomes a tab (a remainder stays spaces: continuation lines only)."""
    return LEADING_SPACES.sub(lambda m: "\t" * (len(m.group(1)) // unit) + " " * (len(m.group(1)) % unit), text)


def untab(text: str, unit: int) -> str:
    return LEADING_TABS.sub(lambda m: " " * unit * len(m.group(1)), text)


def encode(text: str, variants: frozenset[str]) -> bytes:
    """`text` (LF, UTF-8, spaces, final newline) written in `variants`."""
    encoding = "utf-8"
    if "tabs" in variants:
        text = retab(text, indent_unit(text))
    if "no-final-newline" in variants:
        text = text.rstrip("\n")
    if "cookie" in variants:
        cookie, encoding = _cookie(text, variants)
        text = cookie + text
    if "crlf" in variants:
        text = text.replace("\n", "\r\n")
    data = text.encode(encoding)
    return codecs.BOM_UTF8 + data if "bom" in variants else data


def decode(data: bytes, variants: frozenset[str], original: str) -> str:
    """A fixed file in `variants` back to LF text without cookie, BOM or tabs; asserts each variant is kept (one BOM,
    no bare LF in a CRLF file, the cookie on its first two lines so Python still honours it)."""
    encoding = "utf-8"
    if "bom" in variants:
        assert data.startswith(codecs.BOM_UTF8), "the BOM was lost"
        data = data[len(codecs.BOM_UTF8):]
        assert not data.startswith(codecs.BOM_UTF8), "a second BOM was written"
    if "cookie" in variants:
        cookie, encoding = _cookie(original, variants)
        first_two = b"\n".join(data.split(b"\n")[:2])
        assert cookie.splitlines()[0].encode() in first_two, "the encoding cookie is no longer on line 1 or 2"
    text = data.decode(encoding)
    if "crlf" in variants:
        bare = text.replace("\r\n", "").count("\n")
        assert not bare, f"{bare} line(s) end with LF in a CRLF file"
        text = text.replace("\r\n", "\n")
    if "cookie" in variants:
        text = text.replace(cookie, "", 1)
    if "no-final-newline" in variants:
        text = text.rstrip("\n") + "\n"
    if "tabs" in variants:
        text = untab(text, indent_unit(original))
    return text


def comparable(text: str, variants: frozenset[str]) -> str:
    """The case's expected LF text as `decode` returns a file written in `variants`."""
    return text.rstrip("\n") + "\n" if "no-final-newline" in variants else text


def same_code(got: str, wanted: str) -> bool:
    """The same syntax tree and the same comments: what `tabs` compares, where a line four columns narrower may
    stay unwrapped where the case's spaces wrap it."""
    def comments(text: str) -> list[str]:
        return [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT]

    return ast.dump(ast.parse(got)) == ast.dump(ast.parse(wanted)) and comments(got) == comments(wanted)


def is_python(name: str) -> bool:
    return name.endswith(".py")


def is_source(name: str) -> bool:
    """The files the variants apply to: Python and TypeScript/JavaScript (HTML, JSON and the rest stay as written)."""
    return is_python(name) or name.endswith(TS_SUFFIXES)


def of_file(name: str, variants: frozenset[str]) -> frozenset[str]:
    """The variants that apply to one file: a cookie is Python's; other files are written as the case has them."""
    if not is_source(name):
        return frozenset()
    return variants if is_python(name) else variants - {"cookie"}


def write_case(root: Path, files: dict[str, str], variants: frozenset[str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(encode(text, of_file(name, variants)))


def fixed_files(rule, case, variants: frozenset[str], root: Path) -> dict[str, bytes]:
    """The case's files after `apply` (unsafe fixes too when the case asks), written in `variants` first."""
    from chatkit_fix.testing import run_rules

    write_case(root, dict(case.files), variants)
    applied = run_rules(root, {rule.code}, unsafe=case.unsafe)
    assert not applied.errors, [e.message for e in applied.errors]
    return {name: (root / name).read_bytes() for name in case.files}
