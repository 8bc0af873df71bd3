"""What a rule reports: a finding, its fix, and how safe that fix is (ruff's tiers)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .sources import SourceFile


class Safety(str, enum.Enum):
    """SAFE fixes run under `apply`; UNSAFE ones need `--unsafe-fixes`; REPORT rules never edit."""

    SAFE = "safe"
    UNSAFE = "unsafe"
    REPORT = "report"


@dataclass(frozen=True, order=True)
class Edit:
    """Replace text[start:end] with `text` (offsets in code points of the decoded file)."""

    start: int
    end: int
    text: str


@dataclass(frozen=True, order=True)
class ImportChange:
    """An import a fix needs: `from module import name` (`import module` when name is None), or with `remove` the
    import of it dropped once nothing uses it. libcst places it when the fix is applied (see imports.py)."""

    module: str
    name: str | None = None
    remove: bool = False


@dataclass
class Fix:
    """Edits and import changes that must be applied together; `complete` is False when a TODO marker stands in for
    code.

    A rule may offer a fix lazily (`ctx.finding(..., fix=lambda: [...])`): the Fix then has a `builder` and no edits
    yet. The engine either builds it (`engine.settle_fix`: apply, JSON output) or drops the builder and keeps the
    offer, `built` False, when the run shows no edits (a plain check).
    """

    edits: tuple[Edit, ...]
    safety: Safety
    description: str = ""
    complete: bool = True
    imports: tuple[ImportChange, ...] = ()
    built: bool = True
    builder: Callable[[], Fix | None] | None = field(default=None, repr=False, compare=False)


@dataclass
class Finding:
    code: str
    slug: str
    path: Path
    line: int
    col: int
    end_line: int
    end_col: int
    message: str
    hint: str = ""
    url: str = ""
    fix: Fix | None = None
    related: tuple[str, ...] = field(default=())
    fix_error: str = ""  # why the rule's lazy fix could not be built (the finding is then report-only)

    @property
    def fixable(self) -> bool:
        """A fix with edits, or one offered and not built in this run."""
        return self.fix is not None and (not self.fix.built or bool(self.fix.edits or self.fix.imports))

    def sort_key(self) -> tuple:
        return (str(self.path), self.line, self.col, self.code)


@dataclass
class FileError:
    """A file the engine could not handle; makes the run exit 2 but never stops the other files."""

    path: Path
    line: int
    message: str
    code: str = ""

    def render(self, display_path: str) -> str:
        return f"{display_path}:{self.line}: {self.message}"


@dataclass
class FixedFile:
    path: Path
    before: SourceFile
    after_text: str
    written: bool = False


@dataclass
class RunResult:
    findings: list[Finding] = field(default_factory=list)
    errors: list[FileError] = field(default_factory=list)
    fixed: list[FixedFile] = field(default_factory=list)
    applied: list[Finding] = field(default_factory=list)
    files_checked: int = 0

    @property
    def pending_fixes(self) -> int:
        return sum(1 for f in self.findings if f.fixable)
