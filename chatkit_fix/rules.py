"""The rule API: a rule module creates one `Rule`, registers its checks with decorators and carries its own cases.

Rules describe what they match and what they change; reading, parsing, suppressions, fixing and writing belong to the
engine. Rule modules live in `chatkit_fix.codemods` and are found by walking that package, never imported by name.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from .bytetests import Trigger, matches
from .context import FileContext, ProjectContext
from .findings import Finding, Safety

FileCheck = Callable[[FileContext], Iterable[Finding]]
ProjectCheck = Callable[[ProjectContext], Iterable[Finding]]

REGISTRY: dict[str, Rule] = {}
_CODE = re.compile(r"^CK\d{3}$")


@dataclass(frozen=True)
class Expected:
    """One finding a case expects: the file it is in (relative to the case), where it starts (1-based line and
    column, as `check` prints them) and a text its message must contain."""

    path: str
    line: int
    col: int
    says: str


# how a case writes an expected finding: (line, col, says) in a one-file case, (path, line, col, says) in any case
FindingSpec = Union[tuple[int, int, str], tuple[str, int, int, str]]


@dataclass
class Case:
    """A fixture a rule carries: files before, files expected after `apply` (None: no change), the findings.

    A case is written either as one source (with `filename`) or as a mapping of relative paths to contents for
    cross-file rules. `unsafe` applies unsafe fixes too; such a case is also run without them, where the files must
    come out as `safe_fixed` (None: unchanged), which proves the unsafe part is not applied by a plain `apply`.
    """

    files: Mapping[str, str]
    expected: Mapping[str, str] | None = None
    findings: tuple[Expected, ...] = ()
    unsafe: bool = False
    name: str = ""
    safe_fixed: Mapping[str, str] | None = None


def Valid(source: str | Mapping[str, str], filename: str = "app.py", name: str = "") -> Case:  # noqa: N802
    """A case the rule must leave alone: no finding, no edit."""
    files = {filename: source} if isinstance(source, str) else dict(source)
    return Case(files=files, name=name)


def Invalid(  # noqa: N802
    source: str | Mapping[str, str],
    fixed: str | Mapping[str, str] | None = None,
    filename: str = "app.py",
    findings: Iterable[FindingSpec] = (),
    unsafe: bool = False,
    name: str = "",
    safe_fixed: str | Mapping[str, str] | None = None,
) -> Case:
    """A case with findings; `fixed` is the whole expected result (None: the rule reports without editing).

    `findings` lists every finding the rule must report, exactly: `(line, col, says)` in a one-file case, or
    `(path, line, col, says)`, where `says` is a text the message must contain.
    """
    files = {filename: source} if isinstance(source, str) else dict(source)
    expected = None if fixed is None else ({filename: fixed} if isinstance(fixed, str) else dict(fixed))
    safe = None if safe_fixed is None else ({filename: safe_fixed} if isinstance(safe_fixed, str) else dict(safe_fixed))
    return Case(files=files, expected=expected, findings=expected_findings(findings, files, name), unsafe=unsafe,
                name=name, safe_fixed=safe)


def expected_findings(specs: Iterable[FindingSpec], files: Mapping[str, str], name: str = "") -> tuple[Expected, ...]:
    """The findings of an Invalid case, checked for shape: a case that expects nothing in particular tests nothing."""
    found = []
    for spec in specs:
        if len(spec) == 3 and len(files) == 1:
            spec = (next(iter(files)), *spec)
        if len(spec) != 4 or not isinstance(spec[0], str) or spec[0] not in files:
            raise ValueError(f"case {name!r}: finding {spec!r} is not (line, col, says) of its one file nor "
                             "(path, line, col, says) of one of its files")
        path, line, col, says = spec
        if not (isinstance(line, int) and isinstance(col, int) and line >= 1 and col >= 1 and says):
            raise ValueError(f"case {name!r}: finding {spec!r} needs a line and column from 1 and a text to say")
        found.append(Expected(path, line, col, says))
    if not found:
        raise ValueError(f"case {name!r}: an invalid case lists every finding it expects (line, col, says)")
    return tuple(sorted(found, key=lambda e: (e.path, e.line, e.col)))


@dataclass
class Rule:
    """One entry of the catalogue (rules.md): identity, safety, documentation, triggers and checks."""

    code: str
    slug: str
    safety: Safety
    summary: str
    url: str
    languages: tuple[str, ...]
    triggers: tuple[Trigger, ...] = ()
    language_triggers: Mapping[str, tuple[Trigger, ...]] = field(default_factory=dict)
    accepts: Callable[[Path], bool] | None = None  # narrows the files of `languages` (by name, say)
    explanation: str = ""
    finding_triggers: tuple[Trigger, ...] | None = None
    anywhere: tuple[Trigger, ...] = ()
    file_checks: list[FileCheck] = field(default_factory=list)
    project_checks: list[ProjectCheck] = field(default_factory=list)
    valid: list[Case] = field(default_factory=list)
    invalid: list[Case] = field(default_factory=list)
    module: str = ""

    def __post_init__(self) -> None:
        if not _CODE.match(self.code):
            raise ValueError(f"rule code {self.code!r} is not of the form CKnnn")
        if self.code in REGISTRY and REGISTRY[self.code].module != self.module:
            raise ValueError(f"rule code {self.code} registered twice ({REGISTRY[self.code].module}, {self.module})")
        REGISTRY[self.code] = self

    # ---- registration ---------------------------------------------------------------------------------------------

    def check(self, func: FileCheck) -> FileCheck:
        """Register a per-file check: called with the file's context, yields findings."""
        self.file_checks.append(func)
        return func

    def check_project(self, func: ProjectCheck) -> ProjectCheck:
        """Register a cross-file check: called once per run with the project context."""
        self.project_checks.append(func)
        return func

    def cases(self, valid: Iterable[Case] = (), invalid: Iterable[Case] = ()) -> None:
        self.valid.extend(valid)
        self.invalid.extend(invalid)

    # ---- selection ------------------------------------------------------------------------------------------------

    def wants(self, path: Path, language: str) -> bool:
        """A file of one of the rule's languages that `accepts`, if the rule has it, takes."""
        return language in self.languages and (self.accepts is None or self.accepts(path))

    def triggered_by(self, memo: dict, language: str) -> bool:
        """The byte prefilter, from the file's note (`Project.note` answers every trigger of its language's rules in
        one read, so a needle shared by several rules is searched once)."""
        triggers = self.language_triggers.get(language, self.triggers)
        return not triggers or any(memo[trigger] for trigger in triggers)

    def may_report_in(self, path: Path, language: str, data: bytes) -> bool:
        """Whether this rule's project check could put a finding in this file (see `finding_triggers`).

        When a run names files rather than folders (an editor, `pass_filenames` in pre-commit), a project check that
        none of the named files could receive is skipped: it would only be filtered out at the end.
        """
        if not self.wants(path, language):
            return False
        return self.finding_triggers is None or matches(self.finding_triggers, data)


def rule(
    code: str,
    slug: str,
    safety: Safety,
    summary: str,
    url: str,
    languages: Iterable[str] = ("python",),
    triggers: Iterable[Trigger] = (),
    language_triggers: Mapping[str, Iterable[Trigger]] | None = None,
    accepts: Callable[[Path], bool] | None = None,
    module: str = "",
    explanation: str = "",
    finding_triggers: Iterable[Trigger] | None = None,
    anywhere: Iterable[Trigger] = (),
) -> Rule:
    """Create and register a rule; call as `rule(..., module=__name__, explanation=__doc__)` in a rule module.

    `triggers` gate the per-file checks: a file without any is never parsed for this rule; `language_triggers`
    replace them for the languages it names. `finding_triggers` (for
    project checks) are bytes any file that can receive a finding contains; None means any file can. Python rules see
    only the files in scope (scope.py); `anywhere` are bytes specific enough to ChatKit or MCP (a protocol message
    type, an MCP header) that a file holding one is in scope even when it imports nothing of the stack.
    """
    return Rule(
        code=code,
        slug=slug,
        safety=safety,
        summary=summary,
        url=url,
        languages=tuple(languages),
        triggers=tuple(triggers),
        language_triggers={language: tuple(found) for language, found in (language_triggers or {}).items()},
        accepts=accepts,
        module=module,
        explanation=(explanation or "").strip(),
        finding_triggers=None if finding_triggers is None else tuple(finding_triggers),
        anywhere=tuple(anywhere),
    )


_loaded = False


def load_rules() -> dict[str, Rule]:
    """Import every module of `chatkit_fix.codemods` once; each registers its rule."""
    global _loaded
    if not _loaded:
        from . import codemods

        for info in pkgutil.iter_modules(codemods.__path__, f"{codemods.__name__}."):
            if not info.name.rsplit(".", 1)[1].startswith("_"):
                importlib.import_module(info.name)
        _loaded = True
    return dict(sorted(REGISTRY.items()))


def selected_codes(
    all_codes: Iterable[str], select: Iterable[str], ignore: Iterable[str], extend_select: Iterable[str] = ()
) -> set[str]:
    """Resolve ruff-style selectors (codes, prefixes such as CK3 or CK30, or ALL); unknown selectors are errors."""
    codes = sorted(all_codes)

    def expand(selectors: Iterable[str], what: str) -> set[str]:
        chosen: set[str] = set()
        for selector in selectors:
            token = selector.strip().upper()
            if not token:
                continue
            if token == "ALL":
                chosen.update(codes)
                continue
            matched = {code for code in codes if code.startswith(token)}
            if not matched:
                raise ValueError(f"unknown rule selector {selector!r} in {what}; see `chatkit-fix rules`")
            chosen.update(matched)
        return chosen

    return (expand(select, "select") | expand(extend_select, "extend-select")) - expand(ignore, "ignore")


def describe(rule_: Rule) -> dict[str, Any]:
    """Rule metadata for output formats and docs."""
    return {
        "code": rule_.code,
        "slug": rule_.slug,
        "safety": rule_.safety.value,
        "summary": rule_.summary,
        "url": rule_.url,
        "languages": list(rule_.languages),
    }
