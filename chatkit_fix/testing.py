"""Run a rule's own cases with ruff's invariants: it finds, it fixes to the expected text, the result parses, the
fixes converge and a second pass changes nothing; valid cases get no finding and no edit.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import Settings, load_settings
from .engine import Engine, RunResult, parses
from .project import Project
from .rules import Case, Rule, load_rules
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
    settings = settings or load_settings(root)
    project = Project.discover(root, settings, [root])
    return Engine(project, load_rules(), codes).check()


def run_case(rule: Rule, case: Case, root: Path) -> CaseRun:
    """Run one case in an empty folder and assert every invariant; returns the runs for extra assertions."""
    write_files(root, dict(case.files))
    codes = {rule.code}
    checked = check_rules(root, codes)
    assert not checked.errors, [e.message for e in checked.errors]
    own = [f for f in checked.findings if f.code == rule.code]
    if case.findings is not None:
        assert len(own) == case.findings, f"expected {case.findings} finding(s), got {[(f.line, f.message) for f in own]}"
    else:
        assert own, "expected at least one finding"
    for finding in own:
        assert finding.line >= 1 and finding.col >= 1
    applied = run_rules(root, codes, unsafe=case.unsafe)
    assert not applied.errors, [e.message for e in applied.errors]
    after = read_files(root, case.files)
    expected = dict(case.files) | dict(case.expected or {})
    for name, text in after.items():
        assert text == expected[name], f"{name} after apply:\n{text}\n--- expected:\n{expected[name]}"
        assert parses(SourceFile.from_bytes(root / name, text.encode()), text), f"{name} no longer parses"
    second = run_rules(root, codes, unsafe=case.unsafe)
    assert not second.fixed, f"second pass changed {[str(f.path) for f in second.fixed]}"
    if case.findings == 0:
        assert not applied.fixed
    return CaseRun(checked, applied, second, after)


def all_cases():
    """(rule, case, id) for every case of every registered rule: the harness parametrises over this."""
    for code, rule in load_rules().items():
        for index, case in enumerate(rule.valid):
            yield rule, case, f"{code}-valid-{index}{'-' + case.name.replace(' ', '_') if case.name else ''}"
        for index, case in enumerate(rule.invalid):
            yield rule, case, f"{code}-invalid-{index}{'-' + case.name.replace(' ', '_') if case.name else ''}"
