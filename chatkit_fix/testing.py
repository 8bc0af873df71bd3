"""Run a rule's own cases with ruff's invariants: it finds exactly the findings the case lists (where they start and
what they say), it fixes to the expected text, the result compiles, the fixes converge and a second pass changes
nothing; an unsafe fix is not applied without `--unsafe-fixes`; valid cases get no finding and no edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import Settings, load_settings
from .context import TODO_MARK
from .engine import Engine, parses
from .findings import RunResult
from .findings import Finding
from .project import Project
from .rules import Case, Expected, Rule, load_rules
from .sources import SourceFile


@dataclass
class CaseRun:
    check: RunResult
    apply: RunResult
    second: RunResult
    files: dict[str, str]


def write_files(root: Path, files: dict[str, str]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode("utf-8"))


def read_files(root: Path, names) -> dict[str, str]:
    return {name: (root / name).read_bytes().decode("utf-8") for name in names}


def run_rules(root: Path, codes: set[str], unsafe: bool = False, write: bool = True, settings: Settings | None = None):
    settings = settings or load_settings(root)
    project = Project.discover(root, settings, [root])
    engine = Engine(project, load_rules(), codes)
    return engine.apply(unsafe=unsafe, write=write)


def check_rules(root: Path, codes: set[str], settings: Settings | None = None) -> RunResult:
    """A check that builds every lazy fix, so the cases see the edits each finding offers."""
    settings = settings or load_settings(root)
    project = Project.discover(root, settings, [root])
    return Engine(project, load_rules(), codes, build_fixes=True).check()


def run_case(rule: Rule, case: Case, root: Path) -> CaseRun:
    """Run one case in an empty folder and assert every invariant; returns the runs for extra assertions."""
    write_files(root, dict(case.files))
    codes = {rule.code}
    checked = check_rules(root, codes)
    assert not checked.errors, [e.message for e in checked.errors]
    own = [f for f in checked.findings if f.code == rule.code]
    assert_findings(root, own, case.findings)
    unbuilt = [f"{f.line}:{f.col}: {f.fix_error}" for f in own if f.fix_error]
    assert not unbuilt, f"fixes that could not be built (the engine reports them without a fix): {unbuilt}"
    assert_regions_within_the_file(root, own)
    assert_todo_means_incomplete(own)
    applied = run_rules(root, codes, unsafe=case.unsafe)
    assert not applied.errors, [e.message for e in applied.errors]
    after = read_files(root, case.files)
    expected = dict(case.files) | dict(case.expected or {})
    for name, text in after.items():
        assert text == expected[name], f"{name} after apply:\n{text}\n--- expected:\n{expected[name]}"
        assert_compiles(root / name)
    second = run_rules(root, codes, unsafe=case.unsafe)
    assert not second.fixed, f"second pass changed {[str(f.path) for f in second.fixed]}"
    if not case.findings:
        assert not applied.fixed
    if case.unsafe:
        assert_unsafe_part_held_back(root, codes, case, expected)
    return CaseRun(checked, applied, second, after)


def assert_findings(root: Path, found: list[Finding], expected: tuple[Expected, ...]) -> None:
    """Exactly the expected findings: the same count, each at its (path, line, column), each message saying its text."""
    def anchor(path: Path, line: int, col: int) -> tuple[str, int, int]:
        return (path.relative_to(root).as_posix() if path.is_absolute() else path.as_posix(), line, col)

    got = sorted((*anchor(f.path, f.line, f.col), f.message) for f in found)
    shown = "\n".join(f"    {g!r}," for g in got) or "    (none)"
    wanted = sorted((e.path, e.line, e.col, e.says) for e in expected)
    assert [g[:3] for g in got] == [w[:3] for w in wanted], (
        f"expected findings at {[w[:3] for w in wanted]}, got:\n{shown}")
    unmatched = [g[3] for g in got]
    for path, line, col, says in wanted:
        # several findings may share an anchor: each expected text is matched to one message there
        here = [i for i, g in enumerate(got) if g[:3] == (path, line, col) and unmatched[i] is not None]
        match = next((i for i in here if says in unmatched[i]), None)
        assert match is not None, f"no finding at {path}:{line}:{col} says {says!r}; got:\n{shown}"
        unmatched[match] = None


def assert_regions_within_the_file(root: Path, found: list[Finding]) -> None:
    """Each finding's region (what SARIF and editors highlight) is whole lines and columns, ends no earlier than it
    starts, and lies within its file."""
    for finding in found:
        where = f"{finding.code} at {finding.path}:{finding.line}:{finding.col}"
        region = (finding.line, finding.col, finding.end_line, finding.end_col)
        assert all(type(n) is int and n >= 1 for n in region), f"{where}: region {region} is not 1-based integers"
        assert (finding.line, finding.col) <= (finding.end_line, finding.end_col), f"{where}: region {region} ends before it starts"
        lines = (root / finding.path).read_text(encoding="utf-8-sig").splitlines() or [""]
        assert finding.end_line <= len(lines) and finding.end_col <= len(lines[finding.end_line - 1]) + 1, (
            f"{where}: region {region} ends outside the file")


def assert_todo_means_incomplete(found: list[Finding]) -> None:
    """A fix that leaves a `chatkit-fix: TODO[CKnnn]` marker says it is incomplete (the finding stays open, and JSON
    output tells a tool so); a fix without one says it is complete."""
    for finding in found:
        if finding.fix is None:
            continue
        marker = TODO_MARK.format(code=finding.code)
        leaves_todo = any(marker in edit.text for edit in finding.fix.edits)
        assert finding.fix.complete != leaves_todo, (
            f"{finding.code} at {finding.line}:{finding.col}: complete={finding.fix.complete} for a fix that "
            f"{'leaves' if leaves_todo else 'leaves no'} TODO marker")


def assert_compiles(path: Path) -> None:
    """A Python file compiles as the interpreter would import it (`compile()`, which, unlike `ast.parse`, rejects
    duplicate parameters, duplicate keywords, `await` outside async functions...); other files parse in their language."""
    data = path.read_bytes()
    source = SourceFile.from_bytes(path, data)
    if source.language == "python":
        try:
            compile(data, str(path), "exec", dont_inherit=True)
        except SyntaxError as error:
            raise AssertionError(f"{path.name} does not compile after apply: {error}") from None
    else:
        assert parses(source, source.text), f"{path.name} no longer parses"


def assert_unsafe_part_held_back(root: Path, codes: set[str], case: Case, unsafe_result: dict[str, str]) -> None:
    """Without `--unsafe-fixes` the files come out as the case's `safe_fixed` (unchanged by default), and that is not
    already the unsafe result: the unsafe flag of the case is needed."""
    write_files(root, dict(case.files))
    held = run_rules(root, codes, unsafe=False)
    assert not held.errors, [e.message for e in held.errors]
    after = read_files(root, case.files)
    expected = dict(case.files) | dict(case.safe_fixed or {})
    for name, text in after.items():
        assert text == expected[name], (
            f"{name} after apply without --unsafe-fixes:\n{text}\n--- expected (the unsafe fix held back):\n{expected[name]}")
    if unsafe_result != dict(case.files):
        assert after != unsafe_result, "the case is marked unsafe but a plain apply already makes its whole fix"


def all_cases():
    """(rule, case, id) for every case of every registered rule: the harness parametrises over this."""
    for code, rule in load_rules().items():
        for index, case in enumerate(rule.valid):
            yield rule, case, f"{code}-valid-{index}{'-' + case.name.replace(' ', '_') if case.name else ''}"
        for index, case in enumerate(rule.invalid):
            yield rule, case, f"{code}-invalid-{index}{'-' + case.name.replace(' ', '_') if case.name else ''}"
