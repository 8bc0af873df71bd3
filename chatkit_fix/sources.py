"""Source files as the engine sees them: decoded text plus everything needed to write the bytes back unchanged.

Rules work on `str` offsets (code points). The file's encoding, BOM and newline style are remembered so that a fixed
file differs from the original only where an edit was made.
"""

from __future__ import annotations

import bisect
import codecs
import io
import os
import re
import tokenize
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PYTHON_SUFFIXES = (".py", ".pyi")
SCRIPT_SUFFIXES = (".tsx", ".ts", ".jsx", ".js", ".mjs", ".cjs", ".mts", ".cts")
HTML_SUFFIXES = (".html", ".htm")
LANGUAGES = ("python", "tsx", "html", "text")  # what `language_of` answers


class SourceError(Exception):
    """A user file that cannot be read, decoded or parsed; reported as `path:line: cannot ...`."""

    def __init__(self, path: Path, message: str, line: int = 1):
        super().__init__(message)
        self.path = path
        self.line = line
        self.message = message


@lru_cache(maxsize=1 << 16)  # asked of every file several times per run
def language_of(path: Path) -> str:
    """The parser family for a path: python, tsx, html or text."""
    suffix = path.suffix.lower()
    if suffix in PYTHON_SUFFIXES:
        return "python"
    if suffix in SCRIPT_SUFFIXES:
        return "tsx"
    if suffix in HTML_SUFFIXES:
        return "html"
    return "text"


_NEWLINE = re.compile(r"\r\n|\r|\n")
NUL_MESSAGE = "not a text file: it holds a NUL byte"


def python_text_problem(data: bytes) -> tuple[int, str] | None:
    """(line, message) when a Python file's bytes are not source text, cheaply (most files are ASCII): a NUL byte, or
    bytes its encoding (UTF-8, or its PEP 263 cookie's) cannot decode. None when they are text."""
    nul = data.find(b"\x00")
    if nul >= 0:
        return data.count(b"\n", 0, nul) + 1, NUL_MESSAGE
    if data.isascii():
        return None
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        data.decode(encoding)
    except UnicodeDecodeError as exc:
        return data.count(b"\n", 0, exc.start) + 1, f"cannot decode as {encoding}: not a text file"
    except (SyntaxError, LookupError):
        return None  # a bad cookie: the parse reports it
    return None


@dataclass
class SourceFile:
    """One file's text with the facts needed to encode it back byte for byte."""

    path: Path
    text: str
    encoding: str = "utf-8"
    bom: bool = False
    newline: str = "\n"
    stat: os.stat_result | None = None
    original_bytes: bytes = b""
    _line_starts: list[int] | None = field(default=None, repr=False)

    @property
    def language(self) -> str:
        return language_of(self.path)

    @classmethod
    def read(cls, path: Path) -> SourceFile:
        try:
            stat = path.stat()
            data = path.read_bytes()
        except OSError as exc:
            raise SourceError(path, f"cannot read: {exc.strerror or exc}") from None
        return cls.from_bytes(path, data, stat)

    @classmethod
    def from_bytes(cls, path: Path, data: bytes, stat: os.stat_result | None = None) -> SourceFile:
        bom = data.startswith(codecs.BOM_UTF8)
        body = data[len(codecs.BOM_UTF8):] if bom else data
        encoding = "utf-8"
        if language_of(path) == "python" and not bom:
            try:
                encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
            except SyntaxError as exc:
                raise SourceError(path, f"cannot decode: {exc}") from None
            if encoding == "utf-8-sig":
                encoding = "utf-8"
        try:
            text = body.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            line = body[: getattr(exc, "start", 0)].count(b"\n") + 1
            raise SourceError(path, f"cannot decode as {encoding}: not a text file", line) from None
        if "\x00" in text:
            raise SourceError(path, NUL_MESSAGE, text[: text.index("\x00")].count("\n") + 1)
        match = _NEWLINE.search(text)
        newline = match.group(0) if match else "\n"
        return cls(path, text, encoding, bom, newline, stat, data)

    def encode(self, text: str) -> bytes:
        """Bytes for `text` in this file's encoding and BOM; fails loudly rather than writing a lossy file."""
        body = text.encode(self.encoding)
        return (codecs.BOM_UTF8 + body) if self.bom else body

    def with_text(self, text: str) -> SourceFile:
        return SourceFile(self.path, text, self.encoding, self.bom, self.newline, self.stat, self.original_bytes)

    def native_newlines(self, inserted: str) -> str:
        """Text written by a rule uses `\\n`; the file keeps its own line endings."""
        if self.newline == "\n":
            return inserted
        return inserted.replace("\r\n", "\n").replace("\n", self.newline)

    # ---- positions -----------------------------------------------------------------------------------------------

    @property
    def line_starts(self) -> list[int]:
        if self._line_starts is None:
            starts = [0]
            starts.extend(m.end() for m in _NEWLINE.finditer(self.text))
            self._line_starts = starts
        return self._line_starts

    def offset(self, line: int, col: int) -> int:
        """Offset of a 1-based line and 0-based code-point column."""
        starts = self.line_starts
        line = max(1, min(line, len(starts)))
        return min(starts[line - 1] + col, len(self.text))

    def offset_from_utf8(self, line: int, byte_col: int) -> int:
        """Offset of a 1-based line and a UTF-8 byte column, as the stdlib `ast` reports them."""
        start = self.offset(line, 0)
        line_text = self.line_text(line)
        prefix = line_text.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore")
        return start + len(prefix)

    def position(self, offset: int) -> tuple[int, int]:
        """1-based line and 0-based column of an offset."""
        index = bisect.bisect_right(self.line_starts, offset) - 1
        return index + 1, offset - self.line_starts[index]

    def line_text(self, line: int) -> str:
        """The text of a 1-based line without its line ending."""
        starts = self.line_starts
        if line < 1 or line > len(starts):
            return ""
        end = starts[line] if line < len(starts) else len(self.text)
        return self.text[starts[line - 1]:end].rstrip("\r\n")

    def indentation(self, line: int) -> str:
        text = self.line_text(line)
        return text[: len(text) - len(text.lstrip())]
